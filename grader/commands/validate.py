"""``python -m grader validate``: is every lesson sound to hand out and to grade?

For each lesson: the solution notebook agrees with the registry; the reference passes its visible and
hidden cases, a stub fails them, and every known mistake is caught *and named*; through nbgrader, the
solution's answers, handed in as a learner would (in the released notebook), earn full marks, the released
notebook earns 0, and neither shows an error outside the graded test cells.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import nbformat
import numpy as np

from course_lib import casefile
from course_lib.checking import evaluate, mistake_of
from course_lib.registry import CATALOGUE, Exercise, lesson_exercises
from grader.batch import grade_batch
from grader.cases import build_cases
from grader.consistency import lesson_problems
from grader.grading.scores import notebook_errors
from grader.mistakes import mistake_variants
from grader.paths import NOTEBOOKS, lessons, solution_notebook
from grader.reference import answer_sources, reference_for
from grader.results import Submission
from grader.settings import GradingSettings


def _stub(**_inputs):
    raise NotImplementedError()


def exercise_problems(exercise: Exercise) -> list[str]:
    """Reference passes, stub fails, each known mistake is diagnosed as itself: visible and fresh cases."""
    return exercise_report(exercise)[0]


def exercise_report(exercise: Exercise) -> tuple[list[str], dict[str, str]]:
    """The exercise's problems, and for each known mistake how its check fares: "caught and named", or
    what goes wrong (every implementation of it, on the visible and on fresh hidden cases)."""
    if exercise.judge is not None:
        return [], {}  # no reference object to judge here; grading the solution notebook covers it
    problems = []
    suites = {
        "visible": casefile.load(exercise.lesson)[exercise.id],
        "hidden": build_cases(exercise, np.random.default_rng()),
    }
    for suite, cases in suites.items():
        verdict = evaluate(exercise, reference_for(exercise), cases)
        if not verdict.passed:
            problems.append(f"{exercise.id}: the reference fails its {suite} cases: {verdict.message}")
        if evaluate(exercise, _stub, cases).passed:
            problems.append(f"{exercise.id}: a stub passes the {suite} cases")
    outcomes = {mistake.id: "caught and named" for mistake in exercise.mistakes}
    for key, wrong in mistake_variants(exercise.id).items():
        mistake_id = mistake_of(key)
        for suite, cases in suites.items():
            with np.errstate(all="ignore"):
                verdict = evaluate(exercise, wrong, cases)
            if verdict.passed:
                problems.append(f"{exercise.id}: mistake {key!r} passes the {suite} cases")
                outcomes[mistake_id] = f"NOT CAUGHT on the {suite} cases"
            elif verdict.mistake_id != mistake_id and suite == "visible":
                problems.append(
                    f"{exercise.id}: mistake {key!r} is caught but not named; the learner reads: "
                    f"{verdict.message}"
                )
                outcomes[mistake_id] = "caught, NOT NAMED"
    return problems, outcomes


def uncovered_catalogue(exercise: Exercise) -> list[str]:
    """A problem for each catalogue entry the exercise says can occur that none of its mistakes names."""
    kinds = {mistake.kind for mistake in exercise.mistakes}
    return [
        f"{exercise.id}: no mistake names {CATALOGUE[kind]!r}, which can occur in it"
        for kind in exercise.catalogue
        if kind not in kinds
    ]


def coverage_lines(exercise: Exercise, outcomes: dict[str, str]) -> list[str]:
    """The catalogue of common mistakes against ``exercise``: each entry that can occur in it, the
    mistakes that name it and how their checks fare; then its other known mistakes."""
    if exercise.judge is not None:
        return [f"{exercise.id} (`{exercise.target}`): judged by a measurement, no mistakes to name"]
    lines = [f"{exercise.id} (`{exercise.target}`):"]
    for kind in exercise.catalogue:
        naming = [mistake.id for mistake in exercise.mistakes if mistake.kind == kind]
        status = "; ".join(f"{mistake_id}: {outcomes[mistake_id]}" for mistake_id in naming)
        lines.append(f"    {CATALOGUE[kind]:<60} {status or 'NO MISTAKE NAMES IT'}")
    others = [mistake.id for mistake in exercise.mistakes if mistake.kind not in exercise.catalogue]
    if others:
        lines.append("    other mistakes: " + "; ".join(f"{m}: {outcomes[m]}" for m in others))
    return lines


def graded_problems(lesson: str, scratch: Path) -> list[str]:
    """Grade the solution and the released notebook as learners are graded (sandbox and verification)."""
    max_score = sum(exercise.points for exercise in lesson_exercises(lesson))
    expected = {"solution": max_score, "released": 0}
    submissions = [
        Submission("solution", lesson, all_right_submission(lesson, scratch / "all-right")),
        Submission("released", lesson, NOTEBOOKS / f"{lesson}.ipynb"),
    ]
    started = time.perf_counter()
    batch = grade_batch(submissions, scratch, GradingSettings(hidden_folders=[scratch]))
    print(f"  graded the solution and the released notebook in {time.perf_counter() - started:.1f} s")
    problems = [
        f"{lesson}: the {submission.student_id} notebook was not graded: its grading worker was lost"
        for submission in batch.unfinished
    ]
    for result in batch.results:
        student = result.student_id
        if result.score != expected[student] or result.problem or result.flags:
            details = [f"{e.exercise_id}: {e.message}" for e in result.exercises if e.score < e.max_score]
            details = details if student == "solution" else []
            details += [result.problem] if result.problem else []
            summary = f"{lesson}: the {student} notebook earns {result.score:g} points"
            problems.append(
                f"{summary}, expected {expected[student]}"
                + "".join(f"\n    {detail}" for detail in details + result.flags)
            )
        autograded = batch.course.notebook("autograded", lesson, student)
        for error in notebook_errors(autograded.read_text(encoding="utf-8"), in_tests=False):
            problems.append(
                f"{lesson}: the {student} notebook has an error outside the graded tests, {error}"
            )
    return problems


def all_right_submission(lesson: str, folder: Path) -> Path:
    """What a learner who writes every answer as the solution does hands in: the released notebook with
    the solution's answer cells (its test cells are the released ones, as in every learner's notebook)."""
    answers = answer_sources(solution_notebook(lesson))
    notebook = nbformat.read(NOTEBOOKS / f"{lesson}.ipynb", as_version=4)
    for cell in notebook.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id in answers:
            cell.source = answers[grade_id]
    path = folder / f"{lesson}.ipynb"
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(notebook, path)
    return path


def validate(selected: list[str] | None = None) -> int:
    chosen = selected or lessons()
    unknown = sorted(set(chosen) - set(lessons()))
    if unknown:
        print(f"validate: unknown lesson(s) {', '.join(unknown)}; the course has {', '.join(lessons())}")
        return 2
    problems = []
    for lesson in chosen:
        print(f"validating {lesson}")
        lesson_found = lesson_problems(lesson)
        if not lesson_found:
            print("  the catalogue of common mistakes, exercise by exercise:")
            for exercise in lesson_exercises(lesson):
                exercise_found, outcomes = exercise_report(exercise)
                lesson_found += exercise_found + uncovered_catalogue(exercise)
                print("\n".join(f"    {line}" for line in coverage_lines(exercise, outcomes)))
            with tempfile.TemporaryDirectory(prefix="attention-validate-") as scratch:
                lesson_found += graded_problems(lesson, Path(scratch))
        for problem in lesson_found:
            print(f"  PROBLEM {problem}")
        problems += lesson_found
    print("validate: all lessons sound" if not problems else f"validate: {len(problems)} problem(s)")
    return 1 if problems else 0
