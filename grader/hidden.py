"""The hidden tests: the learner's function on fresh cases, judged against the reference.

Called from the ``### BEGIN HIDDEN TESTS`` part of each test cell of the solution notebooks; nbgrader
removes that part from the learner's copy and puts it back when it autogrades.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from contextlib import contextmanager
from typing import Any

import numpy as np

from course_lib.checking import ExerciseFailed, Verdict, evaluate, learner_namespace
from course_lib.registry import Exercise, get_exercise
from grader.cases import build_cases
from grader.reference import reference_for


@contextmanager
def correct_helpers(exercise: Exercise, learner: Any):
    """While grading ``exercise``, the learner's earlier functions it calls (``uses``) are the references,
    so that one wrong helper costs the points of its own exercise only."""
    namespace = learner_namespace(learner)
    targets = {get_exercise(name).target: reference_for(get_exercise(name)) for name in exercise.uses}
    saved = {name: namespace[name] for name in targets if name in namespace}
    namespace.update(targets)
    try:
        yield
    finally:
        for name in targets:
            namespace.pop(name, None)
        namespace.update(saved)


def run_hidden(exercise_id: str, learner: Callable[..., Any], seed: int | None = None) -> Verdict:
    exercise = get_exercise(exercise_id)
    rng = np.random.default_rng(secrets.randbits(64) if seed is None else seed)
    cases = build_cases(exercise, rng)
    with correct_helpers(exercise, learner):
        return evaluate(exercise, learner, cases)


def check_hidden(exercise_id: str, learner: Callable[..., Any]) -> None:
    verdict = run_hidden(exercise_id, learner)
    if not verdict.passed:
        raise ExerciseFailed(verdict)
