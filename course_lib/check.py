"""``check``: the learner's button. Runs an exercise's visible cases and prints a pass or a diagnosis."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from course_lib import casefile
from course_lib.checking import ExerciseFailed, Verdict, evaluate
from course_lib.registry import get_exercise


def run_check(exercise_id: str, learner: Callable[..., Any]) -> Verdict:
    exercise = get_exercise(exercise_id)
    cases = casefile.load(exercise.lesson)[exercise.id]
    return evaluate(exercise, learner, cases)


def check(exercise_id: str, learner: Callable[..., Any]) -> bool:
    """Check ``learner`` against the visible cases of exercise ``exercise_id``.

    Prints a short confirmation when every case passes; otherwise raises ``ExerciseFailed`` whose message
    says which case failed and, when the mistake is a known one, what probably went wrong.
    """
    verdict = run_check(exercise_id, learner)
    if not verdict.passed:
        raise ExerciseFailed(verdict)
    print(verdict.message)
    return True
