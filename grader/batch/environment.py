"""Is the grading environment sound? Before a batch, each lesson's solution is graded exactly as the class
will be; during it, errors that most submissions of a lesson share, cell for cell, are reported at once."""

from __future__ import annotations

import importlib.util
from collections import Counter
from concurrent.futures import Executor, as_completed
from pathlib import Path

from grader.batch.worker import GradingJob, grade_job
from grader.grading.scores import first_line, notebook_errors
from grader.grading.verification import LessonCases
from grader.paths import ROOT, solution_notebook
from grader.results import Submission
from grader.settings import GradingSettings

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
            f"  {e.exercise_id}: {e.score:g}/{e.max_score:g}: {first_line(e.message)}"
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
