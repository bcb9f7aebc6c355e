"""What a grading worker does: grade one submission in a scratch course of its own, in a child process with
a deadline, and send back plain data. The workers are a local process pool or a Dask cluster's."""

from __future__ import annotations

import multiprocessing
import os
import shutil
import tempfile
from collections.abc import Iterator
from concurrent.futures import Executor, ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

from course_lib.registry import lesson_exercises
from grader.course import Course
from grader.grading import grade_one
from grader.grading.verification import LessonCases
from grader.results import GradedSubmission, Submission, SubmissionResult
from grader.sandbox import die_with_parent
from grader.settings import GradingSettings


@dataclass(frozen=True)
class GradingJob:
    """One submission to grade, self-contained so that it can travel to a worker on another machine."""

    submission: Submission
    notebook: bytes
    lesson_cases: LessonCases
    settings: GradingSettings
    template: Path
    """An nbgrader course with the lessons generated (``build_template``)."""


@contextmanager
def executor(workers: int | None, scheduler: str | None) -> Iterator[Executor]:
    """Dask's executor for the cluster at ``scheduler``, or a pool of ``workers`` local processes."""
    if scheduler:
        from distributed import Client

        with Client(scheduler) as client:
            yield client.get_executor(pure=False)
        return
    context = multiprocessing.get_context("fork")
    size = workers or os.cpu_count() or 1
    with ProcessPoolExecutor(size, mp_context=context, initializer=die_with_parent) as pool:
        yield pool


def build_template(folder: Path, lessons: list[str]) -> Path:
    """An nbgrader course with ``lessons`` generated and nobody in its gradebook: what each worker copies."""
    shutil.rmtree(folder, ignore_errors=True)
    course = Course(folder)
    for lesson in lessons:
        course.add_lesson(lesson)
    return folder


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
    if Course.is_course(template):
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
    graded, problem = None, None
    if receiver.poll(seconds):
        try:
            graded = receiver.recv()
        except EOFError:  # the child died without a word: killed, or out of memory
            problem = "the process grading this notebook died"
    else:
        problem = (
            f"grading this notebook did not finish within {seconds} s (its cells' limit of "
            f"{settings.limits.notebook_seconds} s, plus time to start, verify and write it up), so it may "
            "need higher limits"
        )
    child.join(timeout=5)
    if child.is_alive():
        child.kill()
        child.join()
    if graded is None:
        if child.exitcode:
            problem += f" (exit code {child.exitcode})"
        graded = _not_graded(submission, problem)
    return graded


def _not_graded(submission: Submission, problem: str) -> GradedSubmission:
    result = SubmissionResult(submission.student_id, submission.assignment)
    result.max_score = float(sum(exercise.points for exercise in lesson_exercises(submission.assignment)))
    result.problem = f"{problem}; scored 0 — please tell your instructor, who can grade it again"
    return GradedSubmission(result)


def _grade_and_send(sender, course_root, submission, lesson_cases, settings) -> None:
    die_with_parent()
    try:
        graded = grade_one(course_root, submission, lesson_cases, settings)
    except Exception as error:  # a fault of the grader's own: said, with its reason, not taken for a timeout
        graded = _not_graded(
            submission, f"the grader failed on this notebook ({type(error).__name__}: {error})"
        )
    sender.send(graded)
