"""Learners' attempts, from the journal: a changed notebook graded into the same OUT is one more line, so
the journal holds each learner's graded attempts in order."""

from __future__ import annotations

import json
from pathlib import Path

from grader.results import JOURNAL


def load_journal(out: Path) -> list[dict]:
    """Every line of OUT/journal.jsonl, oldest first (none when there is no journal); a line cut short by a
    killed run is left out."""
    path = out / JOURNAL
    if not path.is_file():
        return []
    entries = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            entries.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return entries


def history(journal: list[dict], lesson_order: list[str]) -> list[dict]:
    """Per learner and lesson graded more than once (a changed notebook graded again), each attempt's score
    and what changed from the attempt before: exercises gained or lost, named mistakes fixed."""
    attempts: dict[tuple[str, str], list[dict]] = {}
    for entry in journal:
        found = attempts.setdefault((entry["student_id"], entry["assignment"]), [])
        # The same notebook graded again (``--regrade``) is one attempt, its latest grading.
        if found and found[-1]["notebook_sha256"] == entry["notebook_sha256"]:
            found[-1] = entry
        else:
            found.append(entry)
    history = []
    for (student, lesson), entries in attempts.items():
        if len(entries) < 2:
            continue
        results = [entry["result"] for entry in entries]
        history.append(
            {
                "student_id": student,
                "assignment": lesson,
                "scores": [result["score"] for result in results],
                "max_score": results[-1]["max_score"],
                "changes": [
                    _changes(before, after) for before, after in zip(results, results[1:], strict=False)
                ],
            }
        )
    order = {lesson: position for position, lesson in enumerate(lesson_order)}
    return sorted(history, key=lambda row: (order.get(row["assignment"], len(order)), row["student_id"]))


def _changes(before: dict, after: dict) -> dict:
    full = [
        {e["exercise_id"] for e in result["exercises"] if e["score"] >= e["max_score"]}
        for result in (before, after)
    ]
    mistakes = [
        {(e["exercise_id"], e["mistake"]) for e in result["exercises"] if e.get("mistake")}
        for result in (before, after)
    ]
    return {
        "gained": sorted(full[1] - full[0]),
        "lost": sorted(full[0] - full[1]),
        "mistakes_fixed": [
            f"{exercise}: {mistake}" for exercise, mistake in sorted(mistakes[0] - mistakes[1])
        ],
        "new_mistakes": [f"{exercise}: {mistake}" for exercise, mistake in sorted(mistakes[1] - mistakes[0])],
    }
