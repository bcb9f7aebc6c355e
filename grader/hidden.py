"""The hidden tests: the learner's function on fresh cases, judged against the reference.

Called from the ``### BEGIN HIDDEN TESTS`` part of each test cell of the solution notebooks; nbgrader
removes that part from the learner's copy and puts it back when it autogrades.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import Any

import numpy as np

from course_lib.checking import ExerciseFailed, Verdict, evaluate
from course_lib.registry import get_exercise
from grader.cases import build_cases


def run_hidden(exercise_id: str, learner: Callable[..., Any], seed: int | None = None) -> Verdict:
    exercise = get_exercise(exercise_id)
    rng = np.random.default_rng(secrets.randbits(64) if seed is None else seed)
    return evaluate(exercise, learner, build_cases(exercise, rng))


def check_hidden(exercise_id: str, learner: Callable[..., Any]) -> None:
    verdict = run_hidden(exercise_id, learner)
    if not verdict.passed:
        raise ExerciseFailed(verdict)
