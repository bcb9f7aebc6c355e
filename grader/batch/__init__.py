"""Grading a whole class: many workers, one writer, and a journal that makes a killed run resumable.

Each submission is graded by a worker (``worker``: a local process pool by default, or the workers of a
Dask cluster), in a scratch nbgrader course of its own, and comes back as plain data. Only this process
writes (``writer``): first the feedback page and the autograded notebook, then one line in the journal
(``journal``, flushed to disk), then the gradebook. nbgrader's sqlite gradebook therefore never sees two
writers, and a run killed at any moment loses at most the submissions that were still being graded: the
same command run again rebuilds the gradebook from the journal and grades only what is missing. Before any
of it, ``environment`` grades each lesson's solution in the same workers to check the grading environment.
"""

from __future__ import annotations

from concurrent.futures import Future, as_completed
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from tqdm import tqdm

from grader.batch.environment import CommonFailures, environment_problem
from grader.batch.journal import JOURNAL, Journal, fingerprint, result_of
from grader.batch.worker import GradingJob, build_template, executor, grade_job
from grader.batch.writer import Writer
from grader.course import Course
from grader.grading.verification import LessonCases
from grader.results import SkippedFile, Submission, SubmissionResult
from grader.settings import GradingSettings

__all__ = ["JOURNAL", "Batch", "CommonFailures", "Journal", "grade_batch"]


@dataclass
class Batch:
    results: list[SubmissionResult] = field(default_factory=list)
    """One per submission that is graded, in the order the submissions were found."""
    unfinished: list[Submission] = field(default_factory=list)
    """Submissions whose worker was lost; a rerun grades them."""
    course: Course | None = None
    """The class's nbgrader course, in OUT/nbgrader."""
    environment_problem: str | None = None
    """Why nothing was graded: the grading environment fails a lesson's own solution."""
    warnings: list[str] = field(default_factory=list)
    """Failures many submissions share, which point at the grading environment."""


def grade_batch(
    found: list[Submission],
    out: Path,
    settings: GradingSettings,
    workers: int | None = None,
    scheduler: str | None = None,
    regrade: bool = False,
    check_environment: bool = False,
    skipped: list[SkippedFile] = (),
    screen_similarity: bool = True,
    course: Path | None = None,
) -> Batch:
    """Grade every submission in ``found`` not graded by an earlier run of the same batch in ``out``, then
    write grades.csv, results.json (with the ``skipped`` files) and, with ``screen_similarity``, the
    class's screening for shared work. Given the instructor's nbgrader ``course``, its gradebook and
    folders receive the grades, autograded notebooks and feedback (``Writer``).

    With ``check_environment``, each lesson to grade first has its solution graded in the very same
    workers and sandbox; if one does not earn full marks, nothing is graded or written (not even the
    journal of an earlier run is cleared) and ``Batch.environment_problem`` says why."""
    out.mkdir(parents=True, exist_ok=True)
    journal = Journal(out / JOURNAL)
    template = build_template(out / "template", sorted({submission.assignment for submission in found}))
    fingerprints = {submission: fingerprint(submission) for submission in found}
    resumed = _graded_earlier(found, fingerprints, {} if regrade else journal.entries())
    # Later lessons take longer (lesson 06 trains a model): started first, they do not keep one worker busy
    # alone at the end while the others have nothing left to do.
    pending = sorted(
        (submission for submission in found if submission not in resumed),
        key=lambda submission: submission.assignment,
        reverse=True,
    )
    rng = np.random.default_rng()
    lesson_cases = {lesson: LessonCases(lesson, rng) for lesson in {s.assignment for s in pending}}
    with executor(workers, scheduler) as pool:
        if check_environment and pending:
            problem = environment_problem(pool, lesson_cases, settings, template)
            if problem is not None:
                return Batch(environment_problem=problem)
        writer = Writer(out, template, journal, not settings.feedback_by_worker, course)
        finished: dict[Submission, SubmissionResult] = {}
        for submission, entry in resumed.items():
            writer.resume(entry)
            finished[submission] = result_of(entry)
        if finished:
            print(
                f"resuming: {len(finished)} of {len(found)} submission(s) already graded in {journal.path} "
                "(--regrade starts over)"
            )
        futures = {
            pool.submit(grade_job, _job(submission, lesson_cases, settings, template)): submission
            for submission in pending
        }
        batch = _collect(futures, writer, fingerprints, finished, total=len(found))
    batch.results = [finished[submission] for submission in found if submission in finished]
    writer.finish(batch.results, skipped, screen_similarity)
    return batch


def _graded_earlier(
    found: list[Submission], fingerprints: dict[Submission, str], earlier: dict[tuple[str, str], dict]
) -> dict[Submission, dict]:
    """The journal entry of each submission an earlier run graded, unless its notebook has changed since."""
    return {
        submission: entry
        for submission in found
        if (entry := earlier.get((submission.student_id, submission.assignment))) is not None
        and entry["notebook_sha256"] == fingerprints[submission]
    }


def _job(submission, lesson_cases, settings, template) -> GradingJob:
    cases = lesson_cases[submission.assignment]
    return GradingJob(submission, submission.notebook.read_bytes(), cases, settings, template)


def _collect(
    futures: dict[Future, Submission],
    writer: Writer,
    fingerprints: dict[Submission, str],
    finished: dict[Submission, SubmissionResult],
    total: int,
) -> Batch:
    """Save each graded submission as its worker returns it, with a progress bar and its summary line."""
    batch = Batch(course=writer.course)
    common_failures, failed = CommonFailures(), 0
    with tqdm(total=total, initial=len(finished), unit="notebook", desc="grading") as progress:
        for future in as_completed(futures):
            # Dropped at once: a future holds its notebook's result (the autograded notebook, the
            # feedback page) for as long as it is referenced, and a class has hundreds.
            submission = futures.pop(future)
            try:
                graded = future.result()
            except Exception as error:  # the worker itself was lost; its notebook is graded on a rerun
                batch.unfinished.append(submission)
                progress.write(f"{submission.student_id} {submission.assignment}: worker lost ({error})")
                progress.update()
                continue
            writer.save(graded, fingerprints[submission])
            finished[submission] = graded.result
            progress.write(graded.result.summary_line())
            warning = common_failures.add(submission.assignment, graded.autograded_notebook)
            if warning is not None:
                progress.write(warning)
            failed += graded.result.problem is not None
            progress.set_postfix(failed=failed, refresh=False)
            progress.update()
    batch.warnings = common_failures.warnings
    return batch
