"""``check``: the learner's button. Runs an exercise's visible cases and prints a pass or a diagnosis."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from course_lib import casefile
from course_lib.checking import ExerciseFailed, Verdict, evaluate, failure, learner_namespace
from course_lib.policy import forbidden_uses, source_of
from course_lib.registry import Exercise, get_exercise


def policy_verdict(exercise: Exercise, source: str) -> Verdict | None:
    """A failing verdict when the answer calls a library function the exercise asks the learner to write."""
    used = forbidden_uses(source, exercise.forbidden)
    if not used:
        return None
    listed = ", ".join(f"`{use}`" for use in used)
    return failure(
        exercise,
        f"your answer uses {listed}, the library's version of what this exercise asks you to write "
        "yourself. Write it with basic operations instead (the exercise text says which).",
    )


def run_check(exercise_id: str, learner: Callable[..., Any]) -> Verdict:
    """The verdict on the visible cases. A wrong answer whose earlier helpers (the registry's ``uses``)
    are wrong themselves is *deferred*: it cannot be judged until they are fixed, and the grader judges it
    with correct helpers in their place."""
    exercise = get_exercise(exercise_id)
    policy = policy_verdict(exercise, source_of(learner))
    if policy is not None:
        return policy
    verdict = evaluate(exercise, learner, casefile.load(exercise.lesson)[exercise.id])
    if verdict.passed or verdict.unwritten:
        return verdict
    broken = [name for name in exercise.uses if _helper_fails(name, learner)]
    if not broken:
        return verdict
    listed = " and ".join(f"`{get_exercise(name).target}`" for name in broken)
    return Verdict(
        exercise.id,
        passed=False,
        deferred=True,
        message=(
            f"⚠ {exercise.id}: not judged yet. It calls your {listed}, which fails its own check, so its "
            f"results cannot be right yet. Fix {listed} first, then run this check again. (When grading, "
            f"`{exercise.target}` is judged with a correct {listed} in place of yours.)"
        ),
    )


def _helper_fails(exercise_id: str, learner: Callable[..., Any]) -> bool:
    """Does the learner's own version of an earlier exercise, as the failing answer sees it, fail?"""
    helper = learner_namespace(learner).get(get_exercise(exercise_id).target)
    return helper is not None and not run_check(exercise_id, helper).passed


def check(exercise_id: str, learner: Callable[..., Any]) -> bool:
    """Check ``learner`` against the visible cases of exercise ``exercise_id``.

    Prints a short confirmation when every case passes; otherwise raises ``ExerciseFailed`` whose message
    says which case failed and, when the mistake is a known one, what probably went wrong. When the answer
    depends on an earlier function that is itself wrong, it says so and returns False instead.
    """
    verdict = run_check(exercise_id, learner)
    if verdict.deferred:
        print(verdict.message)
        return False
    if not verdict.passed:
        raise ExerciseFailed(verdict)
    print(verdict.message)
    return True
