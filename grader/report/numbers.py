"""The numbers of the class report, from what ``autograde`` wrote to OUT (``grades.csv``,
``results.json``): everything the page and its plots show, as one JSON-ready dict."""

from __future__ import annotations

import csv
import io
import json
import math
import statistics
from collections import Counter
from pathlib import Path

import numpy as np

from course_lib.case_kinds import kind_name
from course_lib.registry import get_exercise, lesson_exercises
from grader.paths import lessons
from grader.results import JOURNAL, SIMILARITY

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
        "mistakes": _mistakes(results, [entry["exercise_id"] for entry in pass_rates]),
        "case_kinds": _case_kinds(results, [entry["exercise_id"] for entry in pass_rates]),
        "history": _history(journal, order),
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


def _mistakes(results: list[dict], exercise_order: list[str]) -> list[dict]:
    """Diagnosed mistakes, most frequent first; ties in course order."""
    diagnosed = [
        exercise for result in results for exercise in result["exercises"] if exercise.get("mistake")
    ]
    counts = Counter((exercise["exercise_id"], exercise["mistake"]) for exercise in diagnosed)
    handed_in = Counter(exercise["exercise_id"] for result in results for exercise in result["exercises"])
    messages = {(exercise["exercise_id"], exercise["mistake"]): exercise["message"] for exercise in diagnosed}
    rank = {exercise_id: position for position, exercise_id in enumerate(exercise_order)}
    entries = [
        {
            "exercise_id": exercise_id,
            "mistake_id": mistake_id,
            "count": count,
            "share": count / handed_in[exercise_id],
            "diagnosis": _diagnosis(exercise_id, mistake_id, messages[exercise_id, mistake_id]),
        }
        for (exercise_id, mistake_id), count in counts.items()
    ]
    return sorted(
        entries, key=lambda e: (-e["count"], rank.get(e["exercise_id"], len(rank)), e["mistake_id"])
    )


def _case_kinds(results: list[dict], exercise_order: list[str]) -> list[dict]:
    """Per exercise and kind of case, how many of its partly right answers (wrong, but right on at least
    one case) fail a case of that kind: most often first. An answer that fails every case (unwritten, or
    wrong throughout) says nothing about one kind of case."""
    partly_right = [
        exercise
        for result in results
        for exercise in result["exercises"]
        if exercise["score"] < exercise["max_score"] and 0 < exercise.get("cases_passed", 0)
    ]
    answers = Counter(exercise["exercise_id"] for exercise in partly_right)
    failing = Counter(
        (exercise["exercise_id"], kind) for exercise in partly_right for kind in exercise["failed_case_kinds"]
    )
    rank = {exercise_id: position for position, exercise_id in enumerate(exercise_order)}
    entries = [
        {
            "exercise_id": exercise_id,
            "kind": kind,
            "kind_name": kind_name(kind),
            "failing": count,
            "partly_right_answers": answers[exercise_id],
            "share": count / answers[exercise_id],
        }
        for (exercise_id, kind), count in failing.items()
    ]
    return sorted(entries, key=lambda e: (-e["share"], rank.get(e["exercise_id"], len(rank)), e["kind"]))


def _history(journal: list[dict], lesson_order: list[str]) -> list[dict]:
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


def _diagnosis(exercise_id: str, mistake_id: str, message_seen: str) -> str:
    try:
        return get_exercise(exercise_id).mistake(mistake_id).diagnosis
    except KeyError:
        # A mistake the registry does not (or no longer) know: the learner's message is the best words.
        return message_seen


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
