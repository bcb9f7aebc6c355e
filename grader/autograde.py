"""``python -m grader autograde SUBMISSIONS --out OUT``: grade a class with nbgrader, explain every score.

SUBMISSIONS is nbgrader's submitted layout, ``<student_id>/<assignment_id>/<assignment_id>.ipynb``.
OUT receives ``grades.csv`` (nbgrader's export format), ``results.json`` (per exercise: points and the
diagnosis) and ``feedback/<student_id>/<assignment_id>.html``.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import asdict, dataclass, field
from pathlib import Path

import nbformat

from course_lib.registry import lesson_exercises
from grader.course import Course, NbgraderError
from grader.paths import lessons


@dataclass
class ExerciseResult:
    exercise_id: str
    score: float
    max_score: float
    message: str


@dataclass
class SubmissionResult:
    student_id: str
    assignment: str
    score: float = 0.0
    max_score: float = 0.0
    exercises: list[ExerciseResult] = field(default_factory=list)
    problem: str | None = None


@dataclass(frozen=True)
class Submission:
    student_id: str
    assignment: str
    notebook: Path


def find_submissions(folder: Path) -> tuple[list[Submission], list[str]]:
    """The submissions under ``folder`` and, in words, every file that does not fit the layout."""
    known = set(lessons())
    found, ignored = [], []
    for notebook in sorted(folder.glob("*/*/*.ipynb")):
        student_id, assignment = notebook.parent.parent.name, notebook.parent.name
        if notebook.stem != assignment:
            ignored.append(f"{notebook}: expected the file to be named {assignment}.ipynb")
        elif assignment not in known:
            ignored.append(
                f"{notebook}: {assignment!r} is not a lesson of this course ({', '.join(sorted(known))})"
            )
        elif not student_id.startswith("."):
            found.append(Submission(student_id, assignment, notebook))
    return found, ignored


def exercise_messages(autograded: Path) -> dict[str, str]:
    """What each graded test cell printed: the pass line or the diagnosis, keyed by grade_id."""
    notebook = nbformat.read(autograded, as_version=4)
    messages = {}
    for cell in notebook.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if not cell.metadata.get("nbgrader", {}).get("grade") or cell.cell_type != "code":
            continue
        errors = [output for output in cell.outputs if output.output_type == "error"]
        if errors:
            messages[grade_id] = f"{errors[0].ename}: {errors[0].evalue}"
        else:
            messages[grade_id] = "".join(
                output.get("text", "") for output in cell.outputs if output.output_type == "stream"
            ).strip()
    return messages


def unreadable_reason(notebook: Path) -> str | None:
    """Why ``notebook`` is not a notebook nbgrader can grade, in words; None when it reads fine."""
    try:
        text = notebook.read_bytes().decode("utf-8")
        if not text.strip():
            return "the file is empty"
        document = json.loads(text)
        if not isinstance(document, dict) or "cells" not in document:
            return "the file is JSON but not a Jupyter notebook (it has no cells)"
        nbformat.reads(text, as_version=4)
    except UnicodeDecodeError as error:
        return f"the file is not UTF-8 text ({error.reason} at byte {error.start})"
    except json.JSONDecodeError as error:
        return f"the file is not valid JSON ({error.msg} at line {error.lineno}, column {error.colno})"
    except Exception as error:  # nbformat raises several kinds for "JSON, but not a notebook"
        return f"the file is not a Jupyter notebook ({type(error).__name__}: {_last_line(str(error))})"
    return None


def grade_one(course: Course, submission: Submission, out: Path) -> SubmissionResult:
    result = SubmissionResult(submission.student_id, submission.assignment)
    exercises = lesson_exercises(submission.assignment)
    result.max_score = float(sum(exercise.points for exercise in exercises))
    course.submit(submission.student_id, submission.assignment, submission.notebook)
    reason = unreadable_reason(submission.notebook)
    if reason is not None:
        result.problem = f"not graded: {reason}"
        return result
    try:
        autograded = course.autograde(submission.assignment, submission.student_id)
    except NbgraderError as error:
        result.problem = f"nbgrader could not grade this notebook: {_last_line(str(error))}"
        return result
    scores = course.cell_scores(submission.assignment, submission.student_id)
    messages = exercise_messages(autograded) if autograded.exists() else {}
    for exercise in exercises:
        score, _ = scores.get(exercise.test_cell_id, (0.0, exercise.points))
        message = messages.get(
            exercise.test_cell_id, "this exercise's test cell is missing from the notebook"
        )
        result.exercises.append(
            ExerciseResult(exercise.id, float(score or 0.0), float(exercise.points), message)
        )
    result.score = sum(exercise.score for exercise in result.exercises)
    try:
        feedback = course.feedback(submission.assignment, submission.student_id)
        target = out / "feedback" / submission.student_id / f"{submission.assignment}.html"
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(feedback, target)
    except NbgraderError as error:
        result.problem = f"feedback could not be generated: {_last_line(str(error))}"
    return result


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else text


def autograde(submissions: Path, out: Path) -> int:
    found, ignored = find_submissions(submissions)
    for line in ignored:
        print(f"skipped {line}")
    if not found:
        print(
            f"no submissions found under {submissions} "
            "(expected <student_id>/<assignment>/<assignment>.ipynb)"
        )
        return 1
    out.mkdir(parents=True, exist_ok=True)
    workspace = out / "nbgrader"
    shutil.rmtree(workspace, ignore_errors=True)
    course = Course(workspace)
    for lesson in sorted({submission.assignment for submission in found}):
        course.add_lesson(lesson)
    results = []
    for submission in found:
        result = grade_one(course, submission, out)
        results.append(result)
        print(_summary_line(result))
    course.export_csv(out / "grades.csv")
    (out / "results.json").write_text(json.dumps([asdict(result) for result in results], indent=1) + "\n")
    print(f"graded {len(results)} submission(s): {out / 'grades.csv'}, feedback in {out / 'feedback'}")
    return 0


def _summary_line(result: SubmissionResult) -> str:
    line = f"{result.student_id:>16} {result.assignment:<16} {result.score:g}/{result.max_score:g}"
    lost = [exercise.exercise_id for exercise in result.exercises if exercise.score < exercise.max_score]
    if lost:
        line += f"  lost points on: {', '.join(lost)}"
    if result.problem:
        line += f"  PROBLEM: {result.problem}"
    return line
