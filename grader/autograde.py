"""``python -m grader autograde SUBMISSIONS --out OUT``: grade a class with nbgrader, explain every score.

SUBMISSIONS is nbgrader's submitted layout, ``<student_id>/<assignment_id>/<assignment_id>.ipynb``.
OUT receives ``grades.csv`` (nbgrader's export format), ``results.json`` (per exercise: points and the
diagnosis) and ``feedback/<student_id>/<assignment_id>.html``.
"""

from __future__ import annotations

import html
import multiprocessing
import os
import shutil
import sys
import tempfile
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import nbformat

from course_lib.check import policy_verdict
from course_lib.registry import lesson_exercises
from course_lib.verify import VERIFY_DIR_ENV, VERIFY_INPUTS_ENV
from grader.course import Course, NbgraderError
from grader.execute import RECORDINGS_DELETED
from grader.intake import prepare
from grader.paths import lessons
from grader.sandbox import Limits, Sandbox, describe_isolation, die_with_parent
from grader.verification import (
    LessonCases,
    Verification,
    answer_sources,
    helpers_of,
    recorded_outputs_of,
    verify_with_correct_helpers,
)


@dataclass
class ExerciseResult:
    exercise_id: str
    score: float
    max_score: float
    message: str
    mistake: str | None = None
    """The registry's id of the diagnosed mistake, when the outputs match a known one."""


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
    kernel_threads: int | None = None
    """Threads a kernel's numerical libraries may use (None: their default, every core). Kernels graded side
    by side each get their share, instead of all spinning on every core."""
    feedback_by_worker: bool = True
    """Whether the worker makes the feedback page. On one machine the writer makes it instead, from the
    class gradebook, with the CPU time the workers leave idle while their kernels start and stop; on a
    cluster each worker makes its own, so that the one writer does not hold many workers back."""


@dataclass(frozen=True)
class Submission:
    student_id: str
    assignment: str
    notebook: Path


@dataclass(frozen=True)
class SkippedFile:
    """A file under SUBMISSIONS that is not graded, and why: recorded in results.json and the report."""

    path: str
    """The file's path relative to SUBMISSIONS."""
    reason: str


def find_submissions(folder: Path) -> tuple[list[Submission], list[SkippedFile]]:
    """The submissions under ``folder`` and every notebook there that does not fit the layout, with why."""
    known = set(lessons())
    found, skipped = [], []
    for notebook in sorted(folder.rglob("*.ipynb")):
        relative = notebook.relative_to(folder)
        # Folders starting with a dot are Jupyter's checkpoints, an LMS's or a version control's own.
        if any(part.startswith(".") for part in relative.parts[:-1]):
            continue
        if len(relative.parts) != 3:
            skipped.append(
                SkippedFile(str(relative), "not in a <student_id>/<lesson>/ folder, so nobody's submission")
            )
            continue
        student_id, assignment = relative.parts[0], relative.parts[1]
        if notebook.stem != assignment:
            skipped.append(
                SkippedFile(
                    str(relative), f"in a folder for {assignment}, the notebook must be {assignment}.ipynb"
                )
            )
        elif assignment not in known:
            skipped.append(
                SkippedFile(
                    str(relative),
                    f"{assignment!r} is not a lesson of this course ({', '.join(sorted(known))})",
                )
            )
        else:
            found.append(Submission(student_id, assignment, notebook))
    return found, skipped


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
            error = errors[0]
            # A failed check's message is the check's own words, which need no exception name in front.
            messages[grade_id] = (
                error.evalue if error.ename == "ExerciseFailed" else f"{error.ename}: {error.evalue}"
            )
        else:
            messages[grade_id] = "".join(
                output.get("text", "") for output in cell.outputs if output.output_type == "stream"
            ).strip()
    return messages


def cells_that_deleted_recordings(autograded: Path) -> list[int]:
    """The cells, counted from 1, during which learner code deleted the files the kernel records in."""
    metadata = nbformat.read(autograded, as_version=4).metadata
    return list(metadata.get("attention_grader", {}).get(RECORDINGS_DELETED, []))


def _recordings_deleted_message(cells: list[int]) -> str:
    listed = ", ".join(map(str, cells))
    return (
        f"the grader found none of this exercise's results: your notebook deleted the files the grader keeps "
        f"in /tmp (while cell(s) {listed} ran, for example with `rm -rf /tmp/*`), these among them. Leave "
        "/tmp alone and this exercise is graded as usual"
    )


@dataclass
class GradedSubmission:
    """What grading one notebook produces, as plain data: a worker on any machine returns it whole, and the
    one process that owns the output folder and the gradebook writes it."""

    result: SubmissionResult
    cell_grades: dict[str, tuple[float | None, float | None]] = field(default_factory=dict)
    """nbgrader's ``{grade_id: (auto_score, manual_score)}``; empty when nbgrader could not grade."""
    feedback_html: str | None = None
    autograded_notebook: str | None = None


def grade_one(
    course_root: Path, submission: Submission, lesson_cases: LessonCases, settings: GradingSettings
) -> GradedSubmission:
    """Grade one submission in the nbgrader course at ``course_root`` (a copy of the batch's template):
    nbgrader in a sandboxed kernel, then verification outside it."""
    student, lesson = submission.student_id, submission.assignment
    result = SubmissionResult(student, lesson)
    graded = GradedSubmission(result)
    exercises = lesson_exercises(lesson)
    result.max_score = float(sum(exercise.points for exercise in exercises))
    scratch = course_root.parent / "sandbox"
    # Learner code can write (and so empty, with ``rm -rf /tmp/*``) only the folder the kernel records in;
    # the inputs are read-only to it, and each cell's recordings are moved, as soon as it ends, to a folder
    # it cannot see.
    inputs, recording, recorded = (course_root.parent / name for name in ("inputs", "recording", "recorded"))
    lesson_cases.write_inputs(inputs)
    course = Course(
        course_root,
        _kernel_sandbox(course_root, scratch, inputs, recording, student, lesson, settings),
        cell_timeout=settings.limits.cell_seconds,
        notebook_timeout=settings.limits.notebook_seconds,
        recordings=(recording, recorded),
    )
    # Intake: nbgrader grades the notebook as repaired by grader/intake.py, and so does everything below.
    intake = prepare(submission.notebook, course.released(lesson))
    result.notes = intake.notes
    if intake.unreadable is not None:
        course.submit(student, lesson, submission.notebook)
        result.problem = f"not graded: {intake.unreadable}"
        return graded
    submission = replace(submission, notebook=course.submit(student, lesson, intake.notebook))
    try:
        autograded = course.autograde(lesson, student)
    except NbgraderError as error:
        result.problem = f"nbgrader could not grade this notebook: {_last_line(str(error))}"
        return graded
    scores = {
        grade_id: (manual if manual is not None else auto) or 0.0
        for grade_id, (auto, manual) in course.cell_grades(lesson, student).items()
    }
    messages = exercise_messages(autograded) if autograded.exists() else {}
    cells_that_deleted = cells_that_deleted_recordings(autograded) if autograded.exists() else []
    passed_in_notebook = {exercise.id for exercise in exercises if scores.get(exercise.test_cell_id, 0.0) > 0}
    verifications = _verify(
        lesson, exercises, submission, lesson_cases, recorded, scratch, settings, passed_in_notebook
    )
    answers = answer_sources(submission.notebook)
    for exercise in exercises:
        nbgrader_score = float(scores.get(exercise.test_cell_id, 0.0))
        verification = verifications[exercise.id]
        policy = policy_verdict(exercise, answers.get(f"answer_{exercise.id}", ""))
        if policy is not None:
            verification = Verification(exercise.id, False, policy.message, True, policy.mistake_id)
        score = nbgrader_score if verification.passed else 0.0
        message = messages.get(
            exercise.test_cell_id, "this exercise's test cell is missing from the notebook"
        )
        if verification.passed and verification.correct_helpers:
            # The notebook's own check said it could not judge; the grader could, with correct helpers.
            listed = " and ".join(f"`{name}`" for name in verification.correct_helpers)
            message = f"{verification.message} (judged with a correct {listed} in place of yours)"
        if nbgrader_score > 0 and not verification.passed:
            message = verification.message
            course.override_score(lesson, student, exercise.test_cell_id, score)
            if cells_that_deleted and not recorded_outputs_of(recorded, exercise.id):
                message = _recordings_deleted_message(cells_that_deleted)
            elif not verification.visible_passed:
                result.flags.append(
                    f"{exercise.id}: the notebook's own test passed, but its outputs fail the visible cases "
                    "when checked outside the notebook (possible tampering)"
                )
        mistake = None if score else verification.mistake_id or exercise.mistake_named_in(message)
        result.exercises.append(ExerciseResult(exercise.id, score, float(exercise.points), message, mistake))
    result.score = sum(exercise.score for exercise in result.exercises)
    graded.cell_grades = course.cell_grades(lesson, student)
    graded.autograded_notebook = autograded.read_text(encoding="utf-8") if autograded.exists() else None
    if settings.feedback_by_worker:
        graded.feedback_html = feedback_page(course, result)
    return graded


def _kernel_sandbox(
    course_root, scratch, inputs, recording, student, lesson, settings: GradingSettings
) -> dict:
    return {
        "sandbox_folder": str(scratch),
        "kernel_folder": str(course_root / "autograded" / student / lesson),
        "recording_folder": str(recording),
        "read_only_folders": str(inputs),
        "hidden_folders": os.pathsep.join(str(path) for path in settings.hidden_folders),
        "sandbox_environment": {
            VERIFY_DIR_ENV: str(recording),
            VERIFY_INPUTS_ENV: str(inputs),
            **_thread_limits(settings.kernel_threads),
        },
        "limits": asdict(settings.limits),
    }


def _thread_limits(threads: int | None) -> dict[str, str]:
    if threads is None:
        return {}
    return {name: str(threads) for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")}


def _verify(
    lesson, exercises, submission, lesson_cases, recorded, scratch, settings, passed_in_notebook: set[str]
) -> dict[str, Verification]:
    """Each exercise's verification. One that failed while an exercise it calls failed too is verified again
    with the grader's version of that helper, so that one mistake costs one exercise; but only where the
    notebook's own test passed: elsewhere the exercise scores 0 either way, and its diagnosis comes from
    that test's message, not from outputs spoilt by the wrong helper."""
    verifications = {exercise.id: lesson_cases.verify(exercise, recorded) for exercise in exercises}
    failed = {exercise_id for exercise_id, verification in verifications.items() if not verification.passed}
    dependents = [
        exercise.id for exercise in exercises if exercise.id in failed and set(exercise.uses) & failed
    ]
    for exercise_id in dependents:
        if exercise_id not in passed_in_notebook:
            verifications[exercise_id] = replace(verifications[exercise_id], mistake_id=None)
    dependents = [exercise_id for exercise_id in dependents if exercise_id in passed_in_notebook]
    if dependents:
        sandbox = Sandbox(
            writable=[scratch / "helpers"], hidden=settings.hidden_folders, limits=settings.limits
        )
        verifications.update(
            verify_with_correct_helpers(
                lesson, dependents, submission.notebook, lesson_cases, sandbox, scratch / "helpers"
            )
        )
        # Named: the helpers that are still wrong, not those that only failed through them.
        still_failing = {name for name, verified in verifications.items() if not verified.passed}
        for exercise_id in dependents:
            replaced = helpers_of([exercise_id]) & still_failing
            verifications[exercise_id] = replace(
                verifications[exercise_id],
                correct_helpers=tuple(exercise.target for exercise in exercises if exercise.id in replaced),
            )
    return verifications


FEEDBACK_STYLE = (
    ".attention-message { white-space: pre-wrap; overflow-wrap: anywhere; font-family: monospace; }"
    " .output_subarea pre { white-space: pre-wrap; overflow-wrap: anywhere; }"
)
"""Messages wrap, on the summary and in the notebook's outputs below it, instead of running off the page."""


def feedback_page(course: Course, result: SubmissionResult) -> str | None:
    """nbgrader's feedback page for ``result``'s notebook, graded in ``course``, with a summary of every
    exercise's points and diagnosis on top; None, and the reason in ``result.problem``, if nbgrader fails."""
    try:
        nbgrader_page = course.feedback(result.assignment, result.student_id)
    except NbgraderError as error:
        result.problem = f"feedback could not be generated: {_last_line(str(error))}"
        return None
    rows = "".join(
        f"<tr><td>{html.escape(e.exercise_id)}</td><td>{e.score:g} / {e.max_score:g}</td>"
        f'<td class="attention-message">{html.escape(e.message)}</td></tr>'
        for e in result.exercises
    )
    notes = "".join(f"<li>{html.escape(note)}</li>" for note in result.notes)
    summary = (
        f"<style>{FEEDBACK_STYLE}</style>"
        '<section id="attention-summary" style="margin:1em;font-family:sans-serif">'
        f"<h2>{html.escape(result.assignment)}: {result.score:g} / {result.max_score:g}</h2>"
        + (f'<p>About your notebook itself:</p><ul id="attention-notes">{notes}</ul>' if notes else "")
        + f"<table border=1 cellpadding=4><tr><th>exercise</th><th>points</th><th>what we found</th></tr>"
        f"{rows}</table></section>"
    )
    page = nbgrader_page.read_text(encoding="utf-8")
    return page.replace("<body>", "<body>" + summary, 1) if "<body>" in page else summary + page


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else text


@dataclass(frozen=True)
class GradingJob:
    """One submission to grade, self-contained so that it can travel to a worker on another machine."""

    submission: Submission
    notebook: bytes
    lesson_cases: LessonCases
    settings: GradingSettings
    template: Path
    """An nbgrader course with the lessons generated (``grader.batch.build_template``)."""


def grade_job(job: GradingJob) -> GradedSubmission:
    """Grade one submission in a scratch folder of its own, removed afterwards: what it produced comes back
    as data, so workers never share a gradebook or an output folder."""
    if multiprocessing.current_process().daemon:
        raise RuntimeError(
            "this grading worker is a daemonic process, which may not start the child process each notebook "
            "is graded in; start Dask workers with DASK_DISTRIBUTED__WORKER__DAEMON=False"
        )
    scratch = Path(tempfile.mkdtemp(prefix="attention-grading-"))
    try:
        course_root = scratch / "course"
        shutil.copytree(template_for(job.template, job.submission.assignment), course_root)
        notebook = scratch / "submitted.ipynb"
        notebook.write_bytes(job.notebook)
        submission = Submission(job.submission.student_id, job.submission.assignment, notebook)
        # The scratch course holds the solution notebook and a gradebook: hidden from learner code wherever
        # the temporary folder is (only /tmp is replaced by the sandbox's own).
        settings = replace(job.settings, hidden_folders=[*job.settings.hidden_folders, scratch])
        return grade_with_deadline(course_root, submission, job.lesson_cases, settings)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


_templates_built_here: dict[str, Path] = {}


def template_for(template: Path, lesson: str) -> Path:
    """The batch's template course, or, on a machine that cannot see it (a remote Dask worker), one built
    here once per lesson."""
    if (template / "gradebook.db").is_file():
        return template
    if lesson not in _templates_built_here:
        folder = Path(tempfile.mkdtemp(prefix="attention-template-")) / "course"
        Course(folder).add_lesson(lesson)
        _templates_built_here[lesson] = folder
    return _templates_built_here[lesson]


def grade_with_deadline(
    course_root: Path, submission: Submission, lesson_cases: LessonCases, settings: GradingSettings
) -> GradedSubmission:
    """``grade_one`` in a child process that is killed, with its sandbox, when grading takes far longer
    than it can: the notebook's cells stop at their own limit (keeping the points before it), so only a
    grading step that hangs gets here, and it cannot stall the batch."""
    context = multiprocessing.get_context("fork")
    receiver, sender = context.Pipe(duplex=False)
    child = context.Process(
        target=_grade_and_send, args=(sender, course_root, submission, lesson_cases, settings), daemon=True
    )
    child.start()
    sender.close()
    seconds = settings.limits.grading_deadline
    if receiver.poll(seconds):
        try:
            graded = receiver.recv()
        except EOFError:
            graded = None
    else:
        graded = None
    child.join(timeout=5)
    if child.is_alive():
        child.kill()
        child.join()
    if graded is None:
        result = SubmissionResult(submission.student_id, submission.assignment)
        result.max_score = float(sum(exercise.points for exercise in lesson_exercises(submission.assignment)))
        result.problem = (
            f"grading this notebook did not finish within {seconds} s (its cells' limit of "
            f"{settings.limits.notebook_seconds} s, plus time to start, verify and write it up); scored 0 — "
            "please tell your instructor, who can grade it again with higher limits"
        )
        graded = GradedSubmission(result)
    return graded


def _grade_and_send(sender, course_root, submission, lesson_cases, settings) -> None:
    die_with_parent()
    sender.send(grade_one(course_root, submission, lesson_cases, settings))


def autograde(
    submissions: Path,
    out: Path,
    limits: Limits | None = None,
    workers: int | None = None,
    scheduler: str | None = None,
    regrade: bool = False,
    lesson: str | None = None,
    naming: str | None = None,
) -> int:
    """Grade the notebooks in ``submissions`` (nbgrader's submitted layout, or an LMS's zip of one
    ``lesson``'s notebooks named as ``naming`` says) into ``out``."""
    from grader.batch import grade_batch, write_outputs
    from grader.report import write_report

    submissions, out = submissions.resolve(), out.resolve()
    hidden = [submissions, out]
    if submissions.is_file():
        collected = _collect(submissions, lesson, naming, out / "collected")
        if collected is None:
            return 2
        submissions = collected
    found, skipped = find_submissions(submissions)
    for file in skipped:
        print(f"skipped {submissions / file.path}: {file.reason}")
    if not found:
        print(
            f"no submissions found under {submissions} "
            "(expected <student_id>/<assignment>/<assignment>.ipynb)"
        )
        return 1
    if scheduler is None:
        workers = workers or os.cpu_count() or 1
    settings = GradingSettings(
        limits or Limits(),
        hidden_folders=hidden,
        kernel_threads=None if scheduler else max(1, (os.cpu_count() or 1) // workers),
        feedback_by_worker=scheduler is not None,
    )
    if scheduler is None:
        print(f"learner code runs in: {describe_isolation()}")
    batch = grade_batch(
        found, out, settings, workers=workers, scheduler=scheduler, regrade=regrade, check_environment=True
    )
    if batch.environment_problem is not None:
        print(f"autograde: STOPPED, {batch.environment_problem}", file=sys.stderr)
        return 4
    write_outputs(batch, out, skipped)
    print(f"class report: {write_report(out)}")
    for warning in batch.warnings:
        print(warning, file=sys.stderr)
    if batch.unfinished:
        print(
            f"{len(batch.unfinished)} submission(s) could not be graded because a grading worker was lost; "
            "what finished is saved: run the same command again to grade the rest"
        )
        return 3
    print(f"graded {len(batch.results)} submission(s): {out / 'grades.csv'}, feedback in {out / 'feedback'}")
    return 0


def _collect(archive: Path, lesson: str | None, naming: str | None, folder: Path) -> Path | None:
    """An LMS's zip laid out as nbgrader's submitted folder (``grader.collect``); None, said why, if not."""
    from grader.collect import CollectError, collect_archive

    if lesson is None:
        print(f"{archive} is a file: to grade an LMS's zip of submissions, say which lesson with --lesson")
        return None
    shutil.rmtree(folder, ignore_errors=True)
    try:
        collected = collect_archive(archive, lesson, folder, naming)
    except CollectError as error:
        print(f"autograde: {error}")
        return None
    for note in collected.notes:
        print(f"note: {note}")
    return collected.folder


def summary_line(result: SubmissionResult) -> str:
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
