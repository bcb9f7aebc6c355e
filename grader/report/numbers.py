"""The numbers of the class report, from what ``autograde`` wrote to OUT (``grades.csv``,
``results.json``): everything the page and its plots show, as one JSON-ready dict."""

from __future__ import annotations

import csv
import io
import json
import math
import statistics
from pathlib import Path

import numpy as np

from course_lib.registry import lesson_exercises
from grader.paths import lessons
from grader.report.history import history
from grader.report.misconceptions import case_kinds, mistakes
from grader.results import SIMILARITY

GRADES_COLUMNS = ("assignment", "student_id", "score", "max_score")


class ReportInputError(Exception):
    """OUT lacks a file the report is made from, or the file is not what autograde writes."""


def load_results(out: Path) -> list[dict]:
    path = out / "results.json"
    try:
        results = json.loads(_read_input(path))
    except json.JSONDecodeError as error:
        raise ReportInputError(
            f"{path} is not valid JSON ({error.msg} at line {error.lineno}); grade the class again"
        ) from None
    if not isinstance(results, list):
        raise ReportInputError(f"{path} should hold a list of submissions, as autograde writes it")
    return results


def load_grades(out: Path) -> list[dict[str, str]]:
    path = out / "grades.csv"
    reader = csv.DictReader(io.StringIO(_read_input(path)))
    rows = list(reader)
    missing = [column for column in GRADES_COLUMNS if column not in (reader.fieldnames or [])]
    if missing:
        raise ReportInputError(
            f"{path} lacks the column(s) {', '.join(missing)} of nbgrader's CSV export; grade the class again"
        )
    return rows


def _read_input(path: Path) -> str:
    if not path.is_file():
        raise ReportInputError(
            f"{path} not found: `python -m grader autograde SUBMISSIONS --out {path.parent}` writes it"
        )
    return path.read_text(encoding="utf-8")


def load_similarity(out: Path) -> dict | None:
    """OUT/similarity.json, or None when this OUT has none (graded before screening existed)."""
    path = out / SIMILARITY
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None


def summarise(
    grades: list[dict[str, str]],
    results: list[dict],
    journal: list[dict] = (),
    similarity: dict | None = None,
) -> dict:
    """Every number the page shows. Scores come from grades.csv (nbgrader's grades), but only of
    submissions listed in results.json: nbgrader's export also gives a 0 to every student who handed
    nothing in, and those are counted as not handed in rather than as scores. Files autograde skipped
    (results.json's entries with ``skipped``) are listed apart."""
    skipped = [entry for entry in results if "skipped" in entry]
    results = [entry for entry in results if "skipped" not in entry]
    handed_in = {(result["student_id"], result["assignment"]) for result in results}
    order = _lesson_order(grades, results)
    submissions = {
        lesson: [result for result in results if result["assignment"] == lesson] for lesson in order
    }
    grade_rows = {lesson: [row for row in grades if row["assignment"] == lesson] for lesson in order}
    scores = {
        lesson: [float(row["score"]) for row in rows if (row["student_id"], lesson) in handed_in]
        for lesson, rows in grade_rows.items()
    }
    max_scores = {lesson: _max_score(lesson, grade_rows[lesson], submissions[lesson]) for lesson in order}
    students = {row["student_id"] for row in grades} | {student for student, _ in handed_in}
    pass_rates = [entry for lesson in order for entry in _pass_rates(lesson, submissions[lesson])]
    return {
        "students": len(students),
        "submissions": len(results),
        "lessons": [
            _lesson_headline(lesson, submissions[lesson], scores[lesson], max_scores[lesson], students)
            for lesson in order
        ],
        "score_histograms": {
            lesson: _histogram(scores[lesson], max_scores[lesson]) for lesson in order if scores[lesson]
        },
        "pass_rates": pass_rates,
        "mistakes": mistakes(results, [entry["exercise_id"] for entry in pass_rates]),
        "case_kinds": case_kinds(results, [entry["exercise_id"] for entry in pass_rates]),
        "history": history(journal, order),
        "similarity": similarity,
        "flagged": _flagged(results, order),
        "skipped": [{"file": entry["skipped"], "reason": entry["reason"]} for entry in skipped],
        "warnings": _warnings(grades, handed_in),
    }


def _lesson_order(grades: list[dict[str, str]], results: list[dict]) -> list[str]:
    course = lessons()
    seen = {row["assignment"] for row in grades} | {result["assignment"] for result in results}
    return course + sorted(seen - set(course))


def _max_score(lesson: str, grade_rows: list[dict[str, str]], submissions: list[dict]) -> float:
    recorded = [float(row["max_score"]) for row in grade_rows] + [float(s["max_score"]) for s in submissions]
    return max(recorded, default=float(sum(exercise.points for exercise in lesson_exercises(lesson))))


def _lesson_headline(
    lesson: str, submissions: list[dict], scores: list[float], max_score: float, students: set[str]
) -> dict:
    return {
        "lesson": lesson,
        "submissions": len(submissions),
        "not_handed_in": len(students - {submission["student_id"] for submission in submissions}),
        "mean": statistics.fmean(scores) if scores else None,
        "median": statistics.median(scores) if scores else None,
        "max_score": max_score,
        "problems": sum(1 for submission in submissions if submission.get("problem")),
        "flagged": sum(1 for submission in submissions if submission.get("flags")),
    }


def _histogram(scores: list[float], max_score: float) -> dict:
    """One bin per point, ``[k, k+1)``; the last bin also holds full marks."""
    edges = list(range(max(1, math.ceil(max_score)) + 1))
    counts, _ = np.histogram(np.clip(scores, 0, edges[-1]), bins=edges)
    return {"bin_edges": edges, "counts": counts.tolist()}


def _pass_rates(lesson: str, submissions: list[dict]) -> list[dict]:
    """Share of the lesson's submissions that earned each exercise's full points; a submission that
    could not be graded has no exercises and so counts as failing them all."""
    if not submissions:
        return []
    entries = []
    for exercise_id in _exercise_order(lesson, submissions):
        passed = sum(1 for submission in submissions if _earned_full_points(submission, exercise_id))
        entries.append(
            {
                "lesson": lesson,
                "exercise_id": exercise_id,
                "passed": passed,
                "submissions": len(submissions),
                "rate": passed / len(submissions),
            }
        )
    return entries


def _exercise_order(lesson: str, submissions: list[dict]) -> list[str]:
    # Exercises the registry no longer knows (results of an older course version) still get their bar.
    known = [exercise.id for exercise in lesson_exercises(lesson)]
    seen = [exercise["exercise_id"] for submission in submissions for exercise in submission["exercises"]]
    return list(dict.fromkeys(known + seen))


def _earned_full_points(submission: dict, exercise_id: str) -> bool:
    return any(
        exercise["exercise_id"] == exercise_id and exercise["score"] >= exercise["max_score"]
        for exercise in submission["exercises"]
    )


def _flagged(results: list[dict], lesson_order: list[str]) -> list[dict]:
    """Submissions a teacher should open: possible tampering, a grading problem, or a grader's note."""
    flagged = [
        {
            "student_id": result["student_id"],
            "assignment": result["assignment"],
            "score": result["score"],
            "max_score": result["max_score"],
            "problem": result.get("problem"),
            "flags": result.get("flags") or [],
            "notes": result.get("notes") or [],
        }
        for result in results
        if result.get("problem") or result.get("flags") or result.get("notes")
    ]
    return sorted(flagged, key=lambda row: (lesson_order.index(row["assignment"]), row["student_id"]))


def _warnings(grades: list[dict[str, str]], handed_in: set[tuple[str, str]]) -> list[str]:
    in_grades = {(row["student_id"], row["assignment"]) for row in grades}
    return [
        f"{student} / {lesson} is in results.json but not in grades.csv: its score is left out of the "
        "score statistics (were the two files written by different grading runs?)"
        for student, lesson in sorted(handed_in - in_grades)
    ]


def headline_lines(summary: dict) -> list[str]:
    if not summary["submissions"]:
        return ["no submissions: results.json lists none, so there is nothing to summarise yet"]
    lines = [f"{summary['students']} student(s), {summary['submissions']} submission(s)"]
    for lesson in summary["lessons"]:
        if lesson["submissions"]:
            lines.append(
                f"{lesson['lesson']}: {lesson['submissions']} submission(s), "
                f"mean {_points(lesson['mean'])}, median {_points(lesson['median'])} "
                f"of {lesson['max_score']:g}"
            )
    if summary["flagged"]:
        lines.append(f"{len(summary['flagged'])} submission(s) flagged: see the report's table of them")
    if summary.get("skipped"):
        lines.append(f"{len(summary['skipped'])} file(s) skipped, not graded: see the report's last table")
    return lines


def _points(value: float | None) -> str:
    return "—" if value is None else f"{value:.3g}"
