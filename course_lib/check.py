"""``check``: the learner's button. Runs an exercise's visible cases and prints a pass or a diagnosis."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from course_lib import casefile
from course_lib.checking import ExerciseFailed, Verdict, evaluate, failure, learner_namespace
from course_lib.policy import forbidden_uses, source_of
from course_lib.registry import Exercise, get_exercise, lesson_exercises
from course_lib.verify import record_wrong_answer


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
    """The verdict on the visible cases. A wrong answer whose earlier helpers (the registry's ``uses``, or
    the learner's function it failed in) are unwritten or wrong themselves is *deferred*: it cannot be
    judged until they are fixed, and the grader judges it with correct helpers in their place."""
    exercise = get_exercise(exercise_id)
    policy = policy_verdict(exercise, source_of(learner))
    if policy is not None:
        return policy
    verdict = evaluate(exercise, learner, casefile.load(exercise.lesson)[exercise.id])
    if verdict.passed or verdict.unwritten:
        return verdict
    waits_for = _faulty_helpers(exercise, learner, verdict.raised_in)
    if not waits_for:
        return verdict
    listed = " and ".join(f"your `{target}`, which {fault}" for target, fault in waits_for)
    names = " and ".join(f"`{target}`" for target, _ in waits_for)
    return Verdict(
        exercise.id,
        passed=False,
        deferred=True,
        waits_for=waits_for,
        message=(
            f"⚠ {exercise.target}: not judged yet. It calls {listed}, so its results cannot be right yet. "
            f"Get {names} to pass {'its' if len(waits_for) == 1 else 'their'} check first, then run this "
            f"check again. (When grading, `{exercise.target}` is judged with a correct {names} in place of "
            "yours.)"
        ),
    )


def _faulty_helpers(
    exercise: Exercise, learner: Callable[..., Any], raised_in: str | None
) -> tuple[tuple[str, str], ...]:
    """The learner's earlier functions at fault, with what is wrong with each: the helpers the answer is
    meant to call and the one it failed in, and for a helper that is not judged itself, what it waits for."""
    helpers = [get_exercise(name) for name in exercise.uses]
    helpers += [
        other
        for other in lesson_exercises(exercise.lesson)
        if other.target == raised_in and other.id != exercise.id and other not in helpers
    ]
    namespace = learner_namespace(learner)
    faults: dict[str, str] = {}
    for helper in helpers:
        if helper.target not in namespace:
            continue
        verdict = run_check(helper.id, namespace[helper.target])
        if verdict.deferred:
            faults.update(dict(verdict.waits_for))
        elif verdict.unwritten:
            faults[helper.target] = "is not written yet"
        elif not verdict.passed:
            faults[helper.target] = "fails its own check"
    return tuple(faults.items())


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
        record_wrong_answer(exercise_id, learner)
        raise ExerciseFailed(verdict)
    print(verdict.message)
    return True
