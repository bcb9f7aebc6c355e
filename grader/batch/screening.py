"""Screening a graded class for shared work (``grader.similarity``), lesson by lesson, into
``OUT/similarity.json``, which the class report shows: pairs worth a look, with their code side by side."""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import asdict
from pathlib import Path

from grader.results import SIMILARITY, SubmissionResult
from grader.similarity import released_starters, screen


def screen_class(
    results: list[SubmissionResult], answers: dict[tuple[str, str], dict[str, str]]
) -> list[dict]:
    """Per lesson, the pairs of learners worth a look, strongest first, each with the answers they share.
    ``answers``: (student, lesson) -> exercise id -> the answer cell as graded."""
    by_lesson: dict[str, list[SubmissionResult]] = defaultdict(list)
    for result in results:
        by_lesson[result.assignment].append(result)
    found = []
    for lesson, graded in sorted(by_lesson.items()):
        learners = {result.student_id: answers.get((result.student_id, lesson), {}) for result in graded}
        wrong_outputs = {
            result.student_id: {e.exercise_id: e.output_digest for e in result.exercises if e.output_digest}
            for result in graded
        }
        for work in screen(learners, released_starters(lesson), wrong_outputs):
            shared = {
                exercise: [learners[work.first].get(exercise, ""), learners[work.second].get(exercise, "")]
                for exercise in work.exercises
            }
            found.append({"lesson": lesson, **asdict(work), "answers": shared})
    return found


def write_screening(out: Path, found: list[dict] | None) -> None:
    """``OUT/similarity.json``: the pairs, or ``{"screened": false}`` when the instructor turned it off."""
    document = {"screened": False} if found is None else {"screened": True, "pairs": found}
    (out / SIMILARITY).write_text(json.dumps(document, indent=1) + "\n")
