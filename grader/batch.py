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
import importlib.util
import json
import multiprocessing
import os
import shutil
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import Executor, ProcessPoolExecutor, as_completed
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path

import nbformat
import numpy as np
from tqdm import tqdm

from grader.autograde import (
    ExerciseResult,
    GradedSubmission,
    GradingJob,
    GradingSettings,
    SkippedFile,
    Submission,
    SubmissionResult,
    feedback_page,
    grade_job,
    summary_line,
)
from grader.course import Course
from grader.paths import ROOT, solution_notebook
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
    environment_problem: str | None = None
    """Why nothing was graded: the grading environment fails a lesson's own solution."""
    warnings: list[str] = field(default_factory=list)
    """Failures many submissions share, which point at the grading environment."""


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
    check_environment: bool = False,
) -> Batch:
    """Grade every submission in ``found`` not graded by an earlier run of the same batch in ``out``.

    With ``check_environment``, each lesson to grade first has its solution graded in the very same
    workers and sandbox; if one does not earn full marks, nothing is graded or written (not even the
    journal of an earlier run is cleared) and ``Batch.environment_problem`` says why."""
    out.mkdir(parents=True, exist_ok=True)
    journal = Journal(out / JOURNAL)
    lessons = sorted({submission.assignment for submission in found})
    template = build_template(out / "template", lessons)
    earlier = {} if regrade else journal.entries()
    fingerprints = {submission: fingerprint(submission) for submission in found}
    resumed = {
        submission: entry
        for submission in found
        if (entry := earlier.get((submission.student_id, submission.assignment))) is not None
        and entry["notebook_sha256"] == fingerprints[submission]
    }
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
        if regrade:
            journal.clear()
        course = fresh_course(template, out / "nbgrader")
        finished: dict[Submission, SubmissionResult] = {}
        for submission, entry in resumed.items():
            course.record_grades(submission.assignment, submission.student_id, _grades_of(entry))
            finished[submission] = result_from_dict(entry["result"])
        if finished:
            print(
                f"resuming: {len(finished)} of {len(found)} submission(s) already graded in {journal.path} "
                "(--regrade starts over)"
            )
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
        unfinished, failed, common_failures = [], 0, CommonFailures()
        progress = tqdm(total=len(found), initial=len(finished), unit="notebook", desc="grading")
        with progress:
            for future in as_completed(futures):
                # Dropped at once: a future holds its notebook's result (the autograded notebook, the
                # feedback page) for as long as it is referenced, and a class has hundreds.
                submission = futures.pop(future)
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
                warning = common_failures.add(submission.assignment, graded.autograded_notebook)
                if warning is not None:
                    progress.write(warning)
                failed += graded.result.problem is not None
                progress.set_postfix(failed=failed, refresh=False)
                progress.update()
    results = [finished[submission] for submission in found if submission in finished]
    return Batch(results, unfinished, course.root, warnings=common_failures.warnings)


SOLUTION_CHECK_STUDENT = "solution-check"
"""The student id a lesson's solution is graded under before the batch, to check the environment."""


def environment_problem(
    pool: Executor, lesson_cases: dict[str, LessonCases], settings: GradingSettings, template: Path
) -> str | None:
    """Each lesson's solution graded exactly as the class will be; in words, every lesson where it does not
    earn full marks and why (the first failing cell, the error), or None when all do."""
    futures = {
        pool.submit(
            grade_job,
            GradingJob(
                Submission(SOLUTION_CHECK_STUDENT, lesson, solution_notebook(lesson)),
                solution_notebook(lesson).read_bytes(),
                cases,
                settings,
                template,
            ),
        ): lesson
        for lesson, cases in sorted(lesson_cases.items())
    }
    problems = []
    for future in as_completed(futures):
        lesson = futures[future]
        try:
            graded = future.result()
        except Exception as error:  # a worker that cannot grade the solution cannot grade the class either
            problems.append(f"{lesson}: grading its solution failed: {type(error).__name__}: {error}")
            continue
        result = graded.result
        if result.score == result.max_score and not result.problem and not result.flags:
            continue
        lines = [f"{lesson}: its solution earns {result.score:g} of {result.max_score:g} points here"]
        lines += [f"  {result.problem}"] if result.problem else []
        lines += [f"  flagged: {flag}" for flag in result.flags]
        lines += [f"  first error: {error}" for error in notebook_errors(graded.autograded_notebook)[:1]]
        lines += [
            f"  {e.exercise_id}: {e.score:g}/{e.max_score:g}: {_first_line(e.message)}"
            for e in result.exercises
            if e.score < e.max_score
        ]
        problems.append("\n".join(lines))
    if not problems:
        return None
    return (
        "the grading environment is broken: a lesson's own solution does not earn full marks in it, so "
        "nothing was graded and no grade was written.\n"
        + "\n".join(sorted(problems))
        + "\n"
        + _course_lib_hint(problems)
    )


def notebook_errors(autograded_notebook: str | None, in_tests: bool = True) -> list[str]:
    """The errors an autograded notebook shows, first to last, as "cell N (its first line): Error: why";
    with ``in_tests`` False, only those outside the graded test cells."""
    if autograded_notebook is None:
        return []
    notebook = nbformat.reads(autograded_notebook, as_version=4)
    return [
        f"cell {number} ({_first_line(cell.source)!r}): {output.ename}: {_first_line(output.evalue)}"
        for number, cell in enumerate(notebook.cells, start=1)
        if cell.cell_type == "code" and (in_tests or not cell.metadata.get("nbgrader", {}).get("grade"))
        for output in cell.outputs
        if output.output_type == "error"
    ]


def _course_lib_hint(problems: list[str]) -> str:
    """Where learner code imports course_lib from, which the sandbox must show: the cause seen most."""
    spec = importlib.util.find_spec("course_lib")
    origin = Path(spec.origin).parent if spec and spec.origin else None
    visible = ROOT / "course_lib"
    if origin is not None and origin.resolve() != visible.resolve():
        return (
            f"course_lib is imported from {origin} here, but learner code's sandbox shows only {visible} "
            "(and the Python installation): install the course from this checkout "
            f"(pip install -e {ROOT}) or grade from the checkout course_lib comes from."
        )
    if any("course_lib" in problem or "'check' is not defined" in problem for problem in problems):
        return (
            f"learner code imports course_lib from {visible}, which the sandbox shows read-only: check that "
            "this Python finds it there (python -c 'import course_lib; print(course_lib.__file__)')."
        )
    return "run `python -m grader validate LESSON` to see each lesson's solution graded step by step."


class CommonFailures:
    """Errors outside the test cells that many submissions of a lesson share, cell for cell: a released
    notebook runs without any, so the same one in most of a class points at the grading environment."""

    MINIMUM = 3

    def __init__(self):
        self.graded: Counter[str] = Counter()
        self.errors: Counter[tuple[str, str]] = Counter()
        self.warned: set[tuple[str, str]] = set()
        self.warnings: list[str] = []

    def add(self, lesson: str, autograded_notebook: str | None) -> str | None:
        """Count one graded submission; a loud warning the first time an error is common enough."""
        self.graded[lesson] += 1
        warning = None
        for error in set(notebook_errors(autograded_notebook, in_tests=False)):
            key = (lesson, error)
            self.errors[key] += 1
            count = self.errors[key]
            if key not in self.warned and count >= self.MINIMUM and 2 * count > self.graded[lesson]:
                self.warned.add(key)
                warning = (
                    f"WARNING: {count} of {self.graded[lesson]} submissions of {lesson} so far fail the same "
                    f"way, in the same cell: {error}. The grading environment is the likely cause, not the "
                    "learners: stop the batch (Ctrl-C; it resumes) and check it."
                )
                self.warnings.append(warning)
        return warning


def _first_line(text: str) -> str:
    return next((line.strip() for line in text.splitlines() if line.strip()), "")


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


def write_outputs(batch: Batch, out: Path, skipped: list[SkippedFile] = ()) -> None:
    """grades.csv (nbgrader's export of the gradebook) and results.json: every exercise's points and why,
    then one entry per file that was not graded, ``{"skipped": path, "reason": ...}``."""
    Course(batch.course_root).export_csv(out / "grades.csv")
    document = [asdict(result) for result in batch.results]
    document += [{"skipped": file.path, "reason": file.reason} for file in skipped]
    (out / "results.json").write_text(json.dumps(document, indent=1) + "\n")
