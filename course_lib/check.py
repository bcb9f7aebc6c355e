"""``check``: the learner's button. Runs an exercise's visible cases and prints a pass or a diagnosis."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

from course_lib import casefile
from course_lib.checking import ExerciseFailed, Verdict, evaluate
from course_lib.registry import get_exercise


def run_check(exercise_id: str, learner: Callable[..., Any]) -> Verdict:
    exercise = get_exercise(exercise_id)
    cases = casefile.load(exercise.lesson)[exercise.id]
    verdict = evaluate(exercise, learner, cases)
    if verdict.passed:
        return verdict
    broken = [name for name in exercise.uses if _helper_fails(name, learner)]
    if not broken:
        return verdict
    listed = " and ".join(f"`{name}`" for name in broken)
    note = f"\n  Note: this function calls your {listed}, which fails its own check: fix that first."
    return replace(verdict, message=verdict.message + note)


def _helper_fails(exercise_id: str, learner: Callable[..., Any]) -> bool:
    """Does the learner's own version of an earlier exercise, as the failing function sees it, fail?"""
    helper = getattr(learner, "__globals__", {}).get(get_exercise(exercise_id).target)
    return helper is not None and not run_check(exercise_id, helper).passed


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
