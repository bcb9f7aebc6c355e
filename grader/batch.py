"""Grading a whole class: many workers, one writer, and a journal that makes a killed run resumable.

Each submission is graded by ``grader.autograde.grade_job`` on a worker (a local process pool by default,
or the workers of a Dask cluster), in a scratch nbgrader course of its own, and comes back as plain data.
Only this process writes: first the feedback page and the autograded notebook, then one line in the
journal (``OUT/journal.jsonl``, flushed to disk), then the gradebook. nbgrader's sqlite gradebook therefore
never sees two writers, and a run killed at any moment loses at most the submissions that were still being
graded: the same command run again rebuilds the gradebook from the journal and grades only what is missing.
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
import shutil
from collections.abc import Iterator
from concurrent.futures import Executor, ProcessPoolExecutor, as_completed
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
from tqdm import tqdm

from grader.autograde import (
    ExerciseResult,
    GradedSubmission,
    GradingJob,
    GradingSettings,
    Submission,
    SubmissionResult,
    feedback_page,
    grade_job,
    summary_line,
)
from grader.course import Course
from grader.sandbox import die_with_parent
from grader.verification import LessonCases

JOURNAL = "journal.jsonl"


@dataclass
class Batch:
    results: list[SubmissionResult] = field(default_factory=list)
    """One per submission that is graded, in the order the submissions were found."""
    unfinished: list[Submission] = field(default_factory=list)
    """Submissions whose worker was lost; a rerun grades them."""
    course_root: Path | None = None


def fingerprint(submission: Submission) -> str:
    return hashlib.sha256(submission.notebook.read_bytes()).hexdigest()


class Journal:
    """Finished submissions, one JSON line each, appended and flushed to disk one at a time."""

    def __init__(self, path: Path):
        self.path = path

    def entries(self) -> dict[tuple[str, str], dict]:
        """The latest entry of every (student, lesson); a line cut short by a kill is dropped."""
        if not self.path.is_file():
            return {}
        data = self.path.read_bytes()
        complete = data[: data.rfind(b"\n") + 1]
        if complete != data:
            self.path.write_bytes(complete)
        entries = {}
        for line in complete.splitlines():
            entry = json.loads(line)
            entries[(entry["student_id"], entry["assignment"])] = entry
        return entries

    def append(self, entry: dict) -> None:
        with self.path.open("ab") as journal:
            journal.write(json.dumps(entry).encode() + b"\n")
            journal.flush()
            os.fsync(journal.fileno())

    def clear(self) -> None:
        self.path.unlink(missing_ok=True)


def build_template(folder: Path, lessons: list[str]) -> Path:
    """An nbgrader course with ``lessons`` generated and nobody in its gradebook: what each worker copies."""
    shutil.rmtree(folder, ignore_errors=True)
    course = Course(folder)
    for lesson in lessons:
        course.add_lesson(lesson)
    return folder


def fresh_course(template: Path, folder: Path) -> Course:
    """The instructor's nbgrader course in OUT: the template's lessons and an empty gradebook. Autograded
    notebooks already there (from an interrupted run) stay."""
    for part in ("source", "release"):
        shutil.rmtree(folder / part, ignore_errors=True)
        shutil.copytree(template / part, folder / part)
    shutil.copyfile(template / "gradebook.db", folder / "gradebook.db")
    return Course(folder)


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


def grade_batch(
    found: list[Submission],
    out: Path,
    settings: GradingSettings,
    workers: int | None = None,
    scheduler: str | None = None,
    regrade: bool = False,
) -> Batch:
    """Grade every submission in ``found`` not graded by an earlier run of the same batch in ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    journal = Journal(out / JOURNAL)
    if regrade:
        journal.clear()
    lessons = sorted({submission.assignment for submission in found})
    template = build_template(out / "template", lessons)
    course = fresh_course(template, out / "nbgrader")
    earlier = journal.entries()
    fingerprints = {submission: fingerprint(submission) for submission in found}
    finished: dict[Submission, SubmissionResult] = {}
    for submission in found:
        entry = earlier.get((submission.student_id, submission.assignment))
        if entry is not None and entry["notebook_sha256"] == fingerprints[submission]:
            course.record_grades(submission.assignment, submission.student_id, _grades_of(entry))
            finished[submission] = result_from_dict(entry["result"])
    # Later lessons take longer (lesson 06 trains a model): started first, they do not keep one worker busy
    # alone at the end while the others have nothing left to do.
    pending = sorted(
        (submission for submission in found if submission not in finished),
        key=lambda submission: submission.assignment,
        reverse=True,
    )
    if finished:
        print(
            f"resuming: {len(finished)} of {len(found)} submission(s) already graded in {journal.path} "
            "(--regrade starts over)"
        )
    rng = np.random.default_rng()
    lesson_cases = {lesson: LessonCases(lesson, rng) for lesson in {s.assignment for s in pending}}
    unfinished = []
    with executor(workers, scheduler) as pool:
        futures = {
            pool.submit(
                grade_job,
                GradingJob(
                    submission,
                    submission.notebook.read_bytes(),
                    lesson_cases[submission.assignment],
                    settings,
                    template,
                ),
            ): submission
            for submission in pending
        }
        failed = 0
        progress = tqdm(total=len(found), initial=len(finished), unit="notebook", desc="grading")
        with progress:
            for future in as_completed(futures):
                submission = futures[future]
                try:
                    graded = future.result()
                except Exception as error:  # the worker itself was lost; its notebook is graded on a rerun
                    unfinished.append(submission)
                    progress.write(f"{submission.student_id} {submission.assignment}: worker lost ({error})")
                    progress.update()
                    continue
                _save(graded, fingerprints[submission], out, course, journal, not settings.feedback_by_worker)
                finished[submission] = graded.result
                progress.write(summary_line(graded.result))
                failed += graded.result.problem is not None
                progress.set_postfix(failed=failed, refresh=False)
                progress.update()
    results = [finished[submission] for submission in found if submission in finished]
    return Batch(results, unfinished, course.root)


def _save(
    graded: GradedSubmission, sha256: str, out: Path, course: Course, journal: Journal, make_feedback: bool
) -> None:
    """Write what grading one notebook produced (and its feedback page, if ``make_feedback``); the journal
    line last, so that a run killed before it grades the notebook again and rebuilds the gradebook
    without it."""
    result = graded.result
    student, lesson = result.student_id, result.assignment
    course.record_grades(lesson, student, graded.cell_grades)
    feedback = graded.feedback_html
    if graded.autograded_notebook is not None:
        notebook = course.root / "autograded" / student / lesson / f"{lesson}.ipynb"
        notebook.parent.mkdir(parents=True, exist_ok=True)
        notebook.write_text(graded.autograded_notebook, encoding="utf-8")
        if make_feedback and graded.cell_grades:
            feedback = feedback_page(course, result)
    if feedback is not None:
        page = out / "feedback" / student / f"{lesson}.html"
        page.parent.mkdir(parents=True, exist_ok=True)
        page.write_text(feedback, encoding="utf-8")
    journal.append(
        {
            "student_id": student,
            "assignment": lesson,
            "notebook_sha256": sha256,
            "result": asdict(result),
            "cell_grades": graded.cell_grades,
        }
    )


def _grades_of(entry: dict) -> dict[str, tuple[float | None, float | None]]:
    return {grade_id: tuple(scores) for grade_id, scores in entry["cell_grades"].items()}


def result_from_dict(data: dict) -> SubmissionResult:
    exercises = [ExerciseResult(**exercise) for exercise in data.get("exercises", [])]
    return SubmissionResult(**{**data, "exercises": exercises})


def write_outputs(batch: Batch, out: Path) -> None:
    """grades.csv (nbgrader's export of the gradebook) and results.json (every exercise's points and why)."""
    Course(batch.course_root).export_csv(out / "grades.csv")
    document = [asdict(result) for result in batch.results]
    (out / "results.json").write_text(json.dumps(document, indent=1) + "\n")
