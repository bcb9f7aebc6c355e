"""``python -m grader autograde SUBMISSIONS --out OUT``: grade a class with nbgrader, explain every score.

SUBMISSIONS is nbgrader's submitted layout, ``<student_id>/<assignment_id>/<assignment_id>.ipynb``.
OUT receives ``grades.csv`` (nbgrader's export format), ``results.json`` (per exercise: points and the
diagnosis) and ``feedback/<student_id>/<assignment_id>.html``.
"""

from __future__ import annotations

import html
import json
import multiprocessing
import os
import shutil
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import nbformat
import numpy as np

from course_lib.check import policy_verdict
from course_lib.registry import lesson_exercises
from course_lib.verify import VERIFY_DIR_ENV
from grader.course import Course, NbgraderError
from grader.intake import prepare
from grader.paths import lessons
from grader.sandbox import Limits, Sandbox
from grader.verification import LessonCases, Verification, answer_sources, verify_with_correct_helpers


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
    flags: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    """What intake found wrong with the notebook's shape and did about it (grader/intake.py)."""


@dataclass(frozen=True)
class GradingSettings:
    limits: Limits = field(default_factory=Limits)
    hidden_folders: list[Path] = field(default_factory=list)
    """Folders learner code must not see: the submissions and the grading output (with the gradebook)."""


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


def grade_one(
    workspace: Path, submission: Submission, out: Path, lesson_cases: LessonCases, settings: GradingSettings
) -> SubmissionResult:
    """Grade one submission: nbgrader in a sandboxed kernel, then verification outside it."""
    student, lesson = submission.student_id, submission.assignment
    result = SubmissionResult(student, lesson)
    exercises = lesson_exercises(lesson)
    result.max_score = float(sum(exercise.points for exercise in exercises))
    scratch = workspace / "sandboxes" / f"{student}--{lesson}"
    shutil.rmtree(scratch, ignore_errors=True)
    recorded = scratch / "recorded"
    lesson_cases.write_inputs(recorded)
    course = Course(
        workspace,
        _kernel_sandbox(workspace, scratch, recorded, student, lesson, settings),
        cell_timeout=settings.limits.cell_seconds,
    )
    # Intake: nbgrader grades the notebook as repaired by grader/intake.py, and so does everything below.
    intake = prepare(submission.notebook, course.released(lesson))
    result.notes = intake.notes
    if intake.unreadable is not None:
        course.submit(student, lesson, submission.notebook)
        result.problem = f"not graded: {intake.unreadable}"
        return result
    submission = replace(submission, notebook=course.submit(student, lesson, intake.notebook))
    try:
        autograded = course.autograde(lesson, student)
    except NbgraderError as error:
        result.problem = f"nbgrader could not grade this notebook: {_last_line(str(error))}"
        return result
    scores = course.cell_scores(lesson, student)
    messages = exercise_messages(autograded) if autograded.exists() else {}
    verifications = _verify(lesson, exercises, submission, lesson_cases, recorded, scratch, settings)
    answers = answer_sources(submission.notebook)
    for exercise in exercises:
        nbgrader_score = float(scores.get(exercise.test_cell_id, (0.0, exercise.points))[0] or 0.0)
        verification = verifications[exercise.id]
        policy = policy_verdict(exercise, answers.get(f"answer_{exercise.id}", ""))
        if policy is not None:
            verification = Verification(exercise.id, False, policy.message, visible_passed=True)
        score = nbgrader_score if verification.passed else 0.0
        message = messages.get(
            exercise.test_cell_id, "this exercise's test cell is missing from the notebook"
        )
        if nbgrader_score > 0 and not verification.passed:
            message = verification.message
            course.override_score(lesson, student, exercise.test_cell_id, score)
            if not verification.visible_passed:
                result.flags.append(
                    f"{exercise.id}: the notebook's own test passed, but its outputs fail the visible cases "
                    "when checked outside the notebook (possible tampering)"
                )
        result.exercises.append(ExerciseResult(exercise.id, score, float(exercise.points), message))
    result.score = sum(exercise.score for exercise in result.exercises)
    try:
        _write_feedback(
            course.feedback(lesson, student), result, out / "feedback" / student / f"{lesson}.html"
        )
    except NbgraderError as error:
        result.problem = f"feedback could not be generated: {_last_line(str(error))}"
    return result


def _kernel_sandbox(workspace, scratch, recorded, student, lesson, settings: GradingSettings) -> dict:
    return {
        "sandbox_folder": str(scratch),
        "kernel_folder": str(workspace / "autograded" / student / lesson),
        "hidden_folders": os.pathsep.join(str(path) for path in settings.hidden_folders),
        "sandbox_environment": {VERIFY_DIR_ENV: str(recorded)},
        "limits": asdict(settings.limits),
    }


def _verify(
    lesson, exercises, submission, lesson_cases, recorded, scratch, settings
) -> dict[str, Verification]:
    verifications = {exercise.id: lesson_cases.verify(exercise, recorded) for exercise in exercises}
    failed = {exercise_id for exercise_id, verification in verifications.items() if not verification.passed}
    dependents = [
        exercise.id for exercise in exercises if exercise.id in failed and set(exercise.uses) & failed
    ]
    if dependents:
        sandbox = Sandbox(
            writable=[scratch / "helpers"], hidden=settings.hidden_folders, limits=settings.limits
        )
        verifications.update(
            verify_with_correct_helpers(
                lesson, dependents, submission.notebook, lesson_cases, sandbox, scratch / "helpers"
            )
        )
    return verifications


def _write_feedback(nbgrader_page: Path, result: SubmissionResult, target: Path) -> None:
    """nbgrader's feedback page, with a summary of every exercise's points and diagnosis on top."""
    rows = "".join(
        f"<tr><td>{html.escape(e.exercise_id)}</td><td>{e.score:g} / {e.max_score:g}</td>"
        f"<td><pre>{html.escape(e.message)}</pre></td></tr>"
        for e in result.exercises
    )
    notes = "".join(f"<li>{html.escape(note)}</li>" for note in result.notes)
    summary = (
        '<section id="attention-summary" style="margin:1em;font-family:sans-serif">'
        f"<h2>{html.escape(result.assignment)}: {result.score:g} / {result.max_score:g}</h2>"
        + (f'<p>About your notebook itself:</p><ul id="attention-notes">{notes}</ul>' if notes else "")
        + f"<table border=1 cellpadding=4><tr><th>exercise</th><th>points</th><th>what we found</th></tr>"
        f"{rows}</table></section>"
    )
    page = nbgrader_page.read_text(encoding="utf-8")
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(page.replace("<body>", "<body>" + summary, 1) if "<body>" in page else summary + page)


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else text


def grade_all(
    found: list[Submission], workspace: Path, out: Path, settings: GradingSettings
) -> list[SubmissionResult]:
    """Grade ``found`` in a fresh nbgrader course at ``workspace``; cases are drawn anew for this run."""
    shutil.rmtree(workspace, ignore_errors=True)
    course = Course(workspace)
    rng = np.random.default_rng()
    lesson_cases = {}
    for lesson in sorted({submission.assignment for submission in found}):
        course.add_lesson(lesson)
        lesson_cases[lesson] = LessonCases(lesson, rng)
    results = []
    for submission in found:
        result = grade_with_deadline(
            workspace, submission, out, lesson_cases[submission.assignment], settings
        )
        results.append(result)
        print(_summary_line(result))
    return results


def grade_with_deadline(
    workspace: Path, submission: Submission, out: Path, lesson_cases: LessonCases, settings: GradingSettings
) -> SubmissionResult:
    """``grade_one`` in a child process that is killed, with its sandbox, past the notebook's wall-clock
    limit: a kernel that hangs or dies without a word cannot stall the batch."""
    context = multiprocessing.get_context("fork")
    receiver, sender = context.Pipe(duplex=False)
    child = context.Process(
        target=_grade_and_send, args=(sender, workspace, submission, out, lesson_cases, settings), daemon=True
    )
    child.start()
    sender.close()
    seconds = settings.limits.notebook_seconds
    if receiver.poll(seconds):
        try:
            result = receiver.recv()
        except EOFError:
            result = None
    else:
        result = None
    child.join(timeout=5)
    if child.is_alive():
        child.kill()
        child.join()
    if result is None:
        result = SubmissionResult(submission.student_id, submission.assignment)
        result.max_score = float(sum(exercise.points for exercise in lesson_exercises(submission.assignment)))
        result.problem = (
            f"the notebook did not finish within {seconds} s (it hangs, or its kernel died); scored 0 — "
            "run it top to bottom yourself to find the cell that never ends"
        )
    return result


def _grade_and_send(sender, workspace, submission, out, lesson_cases, settings) -> None:
    sender.send(grade_one(workspace, submission, out, lesson_cases, settings))


def autograde(submissions: Path, out: Path, limits: Limits | None = None) -> int:
    submissions, out = submissions.resolve(), out.resolve()
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
    settings = GradingSettings(limits or Limits(), hidden_folders=[submissions, out])
    workspace = out / "nbgrader"
    results = grade_all(found, workspace, out, settings)
    Course(workspace).export_csv(out / "grades.csv")
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
    for flag in result.flags:
        line += f"  FLAGGED: {flag}"
    for note in result.notes:
        line += f"  NOTE: {note}"
    return line
