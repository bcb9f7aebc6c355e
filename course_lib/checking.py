"""Run a learner's function on test cases and say, precisely, what is right or wrong.

The same ``evaluate`` serves the learner's visible check (cases read from ``course_lib/cases``) and the
grader's hidden tests (fresh cases, expectations computed by the grader's references).
"""

from __future__ import annotations

import copy
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from course_lib.registry import Case, Exercise

Output = tuple[np.ndarray, ...]


@dataclass
class CheckCase:
    """One call of the learner's function and every answer we know for it."""

    name: str
    inputs: Case
    expected: Output
    mistake_outputs: dict[str, Output] = field(default_factory=dict)


@dataclass(frozen=True)
class Verdict:
    exercise_id: str
    passed: bool
    message: str
    mistake_id: str | None = None
    case_name: str | None = None
    deferred: bool = False
    """Not judged: the answer calls one of the learner's earlier functions, which is wrong itself."""
    unwritten: bool = False
    """The learner has not written the answer yet (it raises NotImplementedError)."""


class ExerciseFailed(AssertionError):
    """A failed check. Shown in a notebook as its message alone, without a traceback."""

    def __init__(self, verdict: Verdict):
        super().__init__(verdict.message)
        self.verdict = verdict

    def _render_traceback_(self) -> list[str]:
        # IPython calls this instead of printing the stack: the learner needs the diagnosis, not our frames.
        return [f"\x1b[31m{line}\x1b[0m" for line in str(self).splitlines()]


def as_output(value: Any) -> Output:
    """A learner's return value as a tuple of numpy arrays (one array, or one per returned item)."""
    items = value if isinstance(value, tuple | list) and not _is_number_list(value) else (value,)
    return tuple(_to_numpy(item) for item in items)


def _is_number_list(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(item, int | float) for item in value)


def _to_numpy(item: Any) -> np.ndarray:
    if hasattr(item, "detach"):  # a torch tensor, without importing torch here
        item = item.detach().cpu().numpy()
    array = np.asarray(item)
    if array.dtype.kind not in "biufc":  # bool, integers, floats, complex
        raise TypeError(f"cannot read a {type(item).__name__} as an array of numbers")
    return array


def learner_namespace(learner: Any) -> dict[str, Any]:
    """The global namespace the learner's function or class was defined in (the notebook's, in a kernel)."""
    if hasattr(learner, "__globals__"):
        return learner.__globals__
    for member in vars(learner).values() if isinstance(learner, type) else ():
        if hasattr(member, "__globals__"):
            return member.__globals__
    return {}


def describe_inputs(inputs: Mapping[str, Any]) -> str:
    parts = []
    for name, value in inputs.items():
        if isinstance(value, np.ndarray):
            parts.append(f"{name}: array of shape {value.shape}")
        elif isinstance(value, Mapping):
            parts.append(f"{name}: {{{describe_inputs(value)}}}")
        else:
            parts.append(f"{name}={value!r}")
    return ", ".join(parts)


def evaluate(exercise: Exercise, learner: Callable[..., Any], cases: list[CheckCase]) -> Verdict:
    """Check ``learner`` on every case; stop at the first failure and explain it."""
    if not callable(learner):
        return failure(
            exercise,
            f"`{exercise.target}` should be a function, but it is a {type(learner).__name__}.",
        )
    if exercise.judge is not None:
        return _judge(exercise, learner)
    for case in cases:
        inputs = copy.deepcopy(case.inputs)
        try:
            # Warnings would land on stderr, and nbgrader fails any test cell that writes to stderr;
            # what matters (nan, overflow) is diagnosed from the result instead.
            with warnings.catch_warnings(), np.errstate(all="ignore"):
                warnings.simplefilter("ignore")
                returned = exercise.run(learner, inputs)
        except NotImplementedError:
            verdict = failure(
                exercise,
                f"`{exercise.target}` is not written yet: replace `raise NotImplementedError()` "
                "with your code, run that cell, then run this check again.",
            )
            return replace(verdict, unwritten=True)
        except Exception as error:  # the learner's code may raise anything; we report it, not crash
            return failure(exercise, f"`{exercise.target}` raised {type(error).__name__}: {error}", case)
        problem = _compare(exercise, case, returned)
        if problem is None and _mutated(case.inputs, inputs):
            problem = (
                f"`{exercise.target}` changed the arrays it was given. Compute a new array instead "
                "of writing into its inputs (for example use `x = x / total`, not `x /= total`).",
                None,
            )
        if problem is not None:
            message, mistake_id = problem
            return failure(exercise, message, case, mistake_id)
    return Verdict(
        exercise.id,
        passed=True,
        message=f"✔ {exercise.id}: all {len(cases)} cases pass. Well done!",
    )


def judge_recorded(
    exercise: Exercise, cases: list[CheckCase], recorded: list[Output | str | None]
) -> Verdict:
    """The verdict on outputs recorded elsewhere (``course_lib.verify``): one per case, an error message
    for a case that raised, or None for a case with no output at all."""
    if exercise.judge is not None:
        output = recorded[0] if recorded else None
        if not isinstance(output, tuple):
            return failure(
                exercise, f"checking `{exercise.target}` failed: {output or 'nothing was recorded'}"
            )
        problem = exercise.judge(output)
        return (
            failure(exercise, problem) if problem else Verdict(exercise.id, True, f"✔ {exercise.id}: passes.")
        )
    for case, output in zip(cases, recorded, strict=True):
        if output is None:
            return failure(
                exercise, "no output was recorded for this case (the notebook stopped early?)", case
            )
        if isinstance(output, str):
            return failure(exercise, f"`{exercise.target}` raised {output}", case)
        problem = _compare(exercise, case, output)
        if problem is not None:
            return failure(exercise, problem[0], case, problem[1])
    return Verdict(exercise.id, passed=True, message=f"✔ {exercise.id}: all {len(cases)} cases pass.")


def _judge(exercise: Exercise, learner: Any) -> Verdict:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            problem = exercise.judge(as_output(exercise.probe(learner)))
    except NotImplementedError:
        return replace(
            failure(exercise, f"`{exercise.target}` is not ready yet: finish the exercises above."),
            unwritten=True,
        )
    except Exception as error:  # the learner's object may fail in any way; report it
        return failure(exercise, f"checking `{exercise.target}` raised {type(error).__name__}: {error}")
    if problem is not None:
        return failure(exercise, problem)
    return Verdict(exercise.id, passed=True, message=f"✔ {exercise.id}: passes. Well done!")


def _compare(exercise: Exercise, case: CheckCase, returned: Any) -> tuple[str, str | None] | None:
    if returned is None:
        return f"`{exercise.target}` returned None. Did you forget the `return` statement?", None
    try:
        actual = as_output(returned)
    except TypeError as error:
        return f"`{exercise.target}` should return {exercise.output}; {error}.", None
    expected = case.expected
    mistake_id = _matching_mistake(case, actual, exercise)
    if len(actual) != len(expected):
        return (
            f"`{exercise.target}` should return {len(expected)} value(s) ({exercise.output}), "
            f"but it returned {len(actual)}.",
            None,
        )
    for index, (want, got) in enumerate(zip(expected, actual, strict=True)):
        which = f"item {index} of the result" if len(expected) > 1 else "the result"
        if got.shape != want.shape:
            if mistake_id is not None:
                return exercise.mistake(mistake_id).diagnosis, mistake_id
            hint = " It looks transposed." if got.shape == want.shape[::-1] and got.ndim >= 2 else ""
            return (
                f"{which} has shape {got.shape}, but it should have shape {want.shape} "
                f"({exercise.output}).{hint}",
                None,
            )
        if np.issubdtype(want.dtype, np.floating) and not np.issubdtype(got.dtype, np.floating):
            return f"{which} has dtype {got.dtype}; it should hold floats ({want.dtype}).", None
        if want.dtype == bool and got.dtype != bool:
            return (
                f"{which} has dtype {got.dtype}; it should be a boolean array (True or False), "
                "e.g. the result of a comparison, or `.astype(bool)`.",
                None,
            )
        if np.all(np.isfinite(want)) and not np.all(np.isfinite(got)):
            if mistake_id is not None:
                return exercise.mistake(mistake_id).diagnosis, mistake_id
            return (
                f"{which} contains nan or inf. Look for a division by zero or an overflow: "
                "an exponential of a large number, or a sum that is 0.",
                None,
            )
    if _close(expected, actual, exercise):
        return None
    if mistake_id is not None:
        return exercise.mistake(mistake_id).diagnosis, mistake_id
    return _describe_difference(exercise, expected, actual), None


def _close(expected: Output, actual: Output, exercise: Exercise) -> bool:
    return all(
        np.allclose(got, want, rtol=exercise.rtol, atol=exercise.atol, equal_nan=True)
        for want, got in zip(expected, actual, strict=True)
    )


def outputs_match(first: Output, second: Output, exercise: Exercise) -> bool:
    """Same number of items, same shapes, equal within the exercise's tolerances."""
    same_shapes = len(first) == len(second) and all(
        a.shape == b.shape for a, b in zip(first, second, strict=True)
    )
    return same_shapes and _close(first, second, exercise)


def _matching_mistake(case: CheckCase, actual: Output, exercise: Exercise) -> str | None:
    return next(
        (
            mistake_id
            for mistake_id, wrong in case.mistake_outputs.items()
            if outputs_match(wrong, actual, exercise)
        ),
        None,
    )


def _describe_difference(exercise: Exercise, expected: Output, actual: Output) -> str:
    for index, (want, got) in enumerate(zip(expected, actual, strict=True)):
        error = np.abs(got.astype(float) - want.astype(float))
        tolerance = exercise.atol + exercise.rtol * np.abs(want)
        if np.all(np.nan_to_num(error, nan=np.inf) <= tolerance):
            continue
        worst = np.unravel_index(np.nanargmax(np.where(np.isnan(error), np.inf, error)), error.shape)
        where = f" at index {tuple(int(i) for i in worst)}" if got.ndim else ""
        which = f"item {index} of the result" if len(expected) > 1 else "the result"
        wrong = int(np.sum(~(error <= tolerance)))
        return (
            f"{which} has the right shape but {wrong} of its {want.size} values are wrong. "
            f"The worst{where}: expected {want[worst]:.6g}, got {got[worst]:.6g}."
        )
    return "the result differs from the expected one."


def _mutated(original: Case, passed: Case) -> bool:
    return any(
        isinstance(value, np.ndarray) and not np.array_equal(value, passed[name], equal_nan=True)
        for name, value in original.items()
    )


def failure(
    exercise: Exercise,
    detail: str,
    case: CheckCase | None = None,
    mistake_id: str | None = None,
) -> Verdict:
    lines = [f"✘ {exercise.id}: {detail}"]
    if case is not None:
        lines.append(f"  (failing case: {case.name}; inputs {describe_inputs(case.inputs)})")
    return Verdict(
        exercise.id,
        passed=False,
        message="\n".join(lines),
        mistake_id=mistake_id,
        case_name=case.name if case else None,
    )
