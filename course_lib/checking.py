"""Run a learner's function on test cases and say, precisely, what is right or wrong.

The same ``evaluate`` serves the learner's visible check (cases read from ``course_lib/cases``) and the
grader's hidden tests (fresh cases, expectations computed by the grader's references).
"""

from __future__ import annotations

import copy
import warnings
from collections.abc import Callable, Mapping, Sequence
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
    """Not judged: the answer calls one of the learner's earlier functions, which is wrong or unwritten."""
    unwritten: bool = False
    """The learner has not written the answer yet (its own code raises NotImplementedError)."""
    raised_in: str | None = None
    """The learner's function or class, other than the answer, that raised while the answer ran."""
    waits_for: tuple[tuple[str, str], ...] = ()
    """For a deferred verdict: each of the learner's functions at fault, with what is wrong with it."""


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


LEARNER_MODULES = ("__main__", "__learner__")
"""The module names learner code runs under: a notebook kernel's, and the grader's verification job's."""


def culprit_of(
    error: BaseException, names: Sequence[str] = (), namespace: Mapping[str, Any] | None = None
) -> str | None:
    """The learner's function or class the error came from: the innermost frame of its traceback that runs
    learner code (a notebook's functions and methods, not the cell itself: code of ``namespace``, or of a
    notebook) or one of ``names``. A class's method counts as its class: an error in ``LayerNorm.forward``
    is ``LayerNorm``'s."""
    found, traceback = None, error.__traceback__
    while traceback is not None:
        code = traceback.tb_frame.f_code
        owner = code.co_name if code.co_name in names else _owner(traceback.tb_frame)
        frame_globals = traceback.tb_frame.f_globals
        in_notebook = frame_globals is namespace or frame_globals.get("__name__") in LEARNER_MODULES
        if code.co_name != "<module>" and (in_notebook or owner in names):
            found = owner
        traceback = traceback.tb_next
    if found is None and len(names) == 1 and isinstance(error, NotImplementedError):
        return names[0]
    return found


def _owner(frame: Any) -> str:
    """The function a frame runs, or for a method its class. Python 3.10's code objects have no
    ``co_qualname``; there a method is known by its ``self``."""
    qualname = getattr(frame.f_code, "co_qualname", None)
    if qualname is not None:
        return qualname.split(".")[0]
    instance = frame.f_locals.get("self")
    return type(instance).__name__ if instance is not None else frame.f_code.co_name


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
    outputs: dict[str, Output | None] = {}

    def output_of(other: CheckCase) -> Output | None:
        """The answer's output on another case, run only when a diagnosis needs it."""
        if other.name not in outputs:
            outputs[other.name] = _output_or_none(exercise, learner, other)
        return outputs[other.name]

    for case in cases:
        inputs = copy.deepcopy(case.inputs)
        try:
            returned = _run_quietly(exercise, learner, inputs)
        except Exception as error:  # the learner's code may raise anything; we report it, not crash
            return _raised(exercise, learner, case, error)
        problem = _compare(exercise, case, returned)
        if problem is None and _mutated(case.inputs, inputs):
            problem = (
                f"`{exercise.target}` changed the arrays it was given. Compute a new array instead "
                "of writing into its inputs (for example use `x = x / total`, not `x /= total`).",
                [],
            )
        if problem is not None:
            message, candidates = problem
            if not candidates and _gives_different_results(exercise, learner, case, returned):
                return failure(exercise, _random_output_message(exercise), case, _random_output_id(exercise))
            return _diagnosed(exercise, case, message, candidates, cases, output_of)
    return Verdict(
        exercise.id,
        passed=True,
        message=f"✔ {exercise.target}: all {len(cases)} cases pass. Well done!",
    )


def _run_quietly(exercise: Exercise, learner: Callable[..., Any], inputs: Case) -> Any:
    # Warnings would land on stderr, and nbgrader fails any test cell that writes to stderr;
    # what matters (nan, overflow) is diagnosed from the result instead.
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        return exercise.run(learner, inputs)


def _output_or_none(exercise: Exercise, learner: Callable[..., Any], case: CheckCase) -> Output | None:
    try:
        return as_output(_run_quietly(exercise, learner, copy.deepcopy(case.inputs)))
    except Exception:  # a case the answer cannot run tells nothing about which mistake it makes
        return None


RERUNS = 5
"""How many times a wrong answer is run again to see whether its output is random: dropout on a small
output can draw the same mask twice (one time in ten for twelve values), but hardly five times running."""


def _gives_different_results(exercise: Exercise, learner: Any, case: CheckCase, returned: Any) -> bool:
    """Does running the same case again give another result (dropout left on, unseeded sampling)?"""
    try:
        first = as_output(returned)
    except TypeError:
        return False
    for _ in range(RERUNS):
        again = _output_or_none(exercise, learner, case)
        if again is None:
            return False
        if not outputs_match(first, again, exercise):
            return True
    return False


def _random_output_id(exercise: Exercise) -> str | None:
    return next((mistake.id for mistake in exercise.mistakes if mistake.random_output), None)


def _random_output_message(exercise: Exercise) -> str:
    mistake_id = _random_output_id(exercise)
    if mistake_id is not None:
        return exercise.mistake(mistake_id).diagnosis
    return (
        f"`{exercise.target}` gives a different result each time it runs on the same inputs. Something "
        "random is left in it: it must compute the same answer every time."
    )


def _raised(exercise: Exercise, learner: Any, case: CheckCase, error: Exception) -> Verdict:
    """The verdict on a case that raised: the answer unwritten, a helper it calls unwritten or failing (the
    verdict names that helper in ``raised_in``), a given cell not run, or a bug of its own."""
    culprit = culprit_of(error, (exercise.target,), learner_namespace(learner))
    own_name = getattr(learner, "__qualname__", exercise.target).split(".")[0]
    own = culprit in (None, exercise.target, own_name)
    if isinstance(error, NotImplementedError) and own:
        verdict = failure(
            exercise,
            f"`{exercise.target}` is not written yet: replace `raise NotImplementedError()` "
            "with your code, run that cell, then run this check again.",
        )
        return replace(verdict, unwritten=True)
    if isinstance(error, NotImplementedError):
        return replace(
            failure(exercise, f"`{exercise.target}` calls your `{culprit}`, which is not written yet."),
            raised_in=culprit,
        )
    if isinstance(error, NameError) and error.name in exercise.given:
        return failure(
            exercise,
            f"`{exercise.target}` calls `{error.name}`, which this notebook gives you in a cell marked "
            f'"given" above your answer; that cell has not run yet. Run it (or run all the cells above '
            "this one), then your answer's cell, then this check again.",
        )
    if isinstance(error, NameError) and error.name in _helper_targets(exercise):
        return failure(
            exercise,
            f"`{exercise.target}` calls `{error.name}`, which is not defined yet: run the cell where you "
            f"wrote `{error.name}`, then your answer's cell, then this check again.",
        )
    where = "" if own else f" inside your `{culprit}`"
    detail = f"`{exercise.target}` raised {type(error).__name__}{where}: {error}{_hint_for(error)}"
    verdict = failure(exercise, detail, case)
    return verdict if own else replace(verdict, raised_in=culprit)


NONCONTIGUOUS_VIEW = "view size is not compatible with input tensor's size and stride"
"""PyTorch's words when ``.view`` meets a tensor whose memory is not laid out in order (after a
``transpose``, ``chunk`` or ``split``): an error learners meet in every multi-head exercise."""


def _hint_for(error: Exception) -> str:
    if "probability tensor contains either `inf`, `nan` or element < 0" in str(error):
        return (
            " (the probabilities you sample from hold nan or inf: a softmax written as exp / sum overflows "
            "for large logits; use `torch.softmax(logits / temperature, dim=-1)`)"
        )
    if NONCONTIGUOUS_VIEW in str(error):
        return (
            " (`.view` only works on a tensor laid out in order in memory, and a transposed or split one "
            "is not: use `.reshape(...)`, or `.contiguous().view(...)`)"
        )
    return ""


def _helper_targets(exercise: Exercise) -> set[str]:
    from course_lib.registry import get_exercise

    return {get_exercise(helper).target for helper in exercise.uses}


def _diagnosed(
    exercise: Exercise,
    case: CheckCase,
    message: str,
    candidates: list[str],
    cases: list[CheckCase],
    output_of: Callable[[CheckCase], Output | None],
) -> Verdict:
    """The failure on ``case``, naming the known mistake its output matches. When several match there, the
    one whose outputs agree with the answer's on the most cases: two mistakes can give the same result on
    one case (a row of nan) and differ on the next."""
    if not candidates:
        return failure(exercise, message, case)
    if len(candidates) == 1:
        return failure(exercise, exercise.mistake(candidates[0]).diagnosis, case, candidates[0])

    def agreement(mistake_id: str) -> int:
        return sum(_agrees_with_mistake(exercise, other, output_of(other), mistake_id) for other in cases)

    chosen = max(candidates, key=agreement)  # max keeps the first of equals: the registry's order
    return failure(exercise, exercise.mistake(chosen).diagnosis, case, chosen)


def _agrees_with_mistake(exercise: Exercise, case: CheckCase, actual: Output | None, mistake_id: str) -> bool:
    if actual is None:
        return False
    wrong = [output for key, output in case.mistake_outputs.items() if mistake_of(key) == mistake_id]
    references = wrong or [case.expected]  # a mistake with no output stored for a case is right there
    return any(_outputs_alike(reference, actual, exercise) for reference in references)


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
        if problem:
            return failure(exercise, problem)
        return Verdict(exercise.id, True, f"✔ {exercise.target}: passes.")
    outputs = {case.name: output for case, output in zip(cases, recorded, strict=True)}
    for case, output in zip(cases, recorded, strict=True):
        if output is None:
            return failure(
                exercise, "no output was recorded for this case (the notebook stopped early?)", case
            )
        if isinstance(output, str):
            return failure(exercise, f"`{exercise.target}` raised {output}", case)
        problem = _compare(exercise, case, output)
        if problem is not None:

            def output_of(other: CheckCase) -> Output | None:
                recorded_output = outputs.get(other.name)
                return recorded_output if isinstance(recorded_output, tuple) else None

            return _diagnosed(exercise, case, problem[0], problem[1], cases, output_of)
    return Verdict(exercise.id, passed=True, message=f"✔ {exercise.target}: all {len(cases)} cases pass.")


def case_passes(exercise: Exercise, case: CheckCase, recorded: Output | str | None) -> bool:
    """Whether one recorded output (``judge_recorded``'s kind) is right on ``case``."""
    return isinstance(recorded, tuple) and _compare(exercise, case, recorded) is None


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
    return Verdict(exercise.id, passed=True, message=f"✔ {exercise.target}: passes. Well done!")


def _compare(exercise: Exercise, case: CheckCase, returned: Any) -> tuple[str, list[str]] | None:
    """None when ``returned`` is right; otherwise what is wrong with it, in general words, and the known
    mistakes whose outputs it matches (whose diagnoses say it better)."""
    if returned is None:
        return f"`{exercise.target}` returned None. Did you forget the `return` statement?", []
    try:
        actual = as_output(returned)
    except TypeError as error:
        return f"`{exercise.target}` should return {exercise.output}; {error}.", []
    expected = case.expected
    candidates = _matching_mistakes(case, actual, exercise)
    if len(actual) != len(expected):
        return (
            f"`{exercise.target}` should return {len(expected)} value(s) ({exercise.output}), "
            f"but it returned {len(actual)}.",
            [],
        )
    for index, (want, got) in enumerate(zip(expected, actual, strict=True)):
        which = f"item {index} of the result" if len(expected) > 1 else "the result"
        if got.shape != want.shape:
            hint = " It looks transposed." if got.shape == want.shape[::-1] and got.ndim >= 2 else ""
            return (
                f"{which} has shape {got.shape}, but it should have shape {want.shape} "
                f"({exercise.output}).{hint}",
                candidates,
            )
        if np.issubdtype(want.dtype, np.floating) and not np.issubdtype(got.dtype, np.floating):
            return f"{which} has dtype {got.dtype}; it should hold floats ({want.dtype}).", []
        if want.dtype == bool and got.dtype != bool:
            return (
                f"{which} has dtype {got.dtype}; it should be a boolean array (True or False), "
                "e.g. the result of a comparison, or `.astype(bool)`.",
                [],
            )
        if np.all(np.isfinite(want)) and not np.all(np.isfinite(got)):
            return (
                f"{which} contains nan or inf. Look for a division by zero or an overflow: "
                "an exponential of a large number, or a sum that is 0.",
                candidates,
            )
    if _close(expected, actual, exercise):
        return None
    return _describe_difference(exercise, expected, actual), candidates


FLOAT32_RTOL, FLOAT32_ATOL = 1e-5, 1e-6
"""The tolerances a float32 result is held to: float32 keeps about 7 significant digits, and an answer the
exercise text allows to work in float32 is as right as its dtype lets it be."""


def tolerances(exercise: Exercise, *arrays: np.ndarray) -> tuple[float, float]:
    """``(rtol, atol)`` for comparing ``arrays``: the exercise's, loosened to float32's when one of them
    holds float32 (or less precise) numbers, so that a comparison happens at the learner's dtype."""
    low_precision = any(
        np.issubdtype(array.dtype, np.floating) and np.finfo(array.dtype).bits <= 32 for array in arrays
    )
    if low_precision:
        return max(exercise.rtol, FLOAT32_RTOL), max(exercise.atol, FLOAT32_ATOL)
    return exercise.rtol, exercise.atol


def _close(expected: Output, actual: Output, exercise: Exercise) -> bool:
    return all(
        np.allclose(got, want, *tolerances(exercise, want, got), equal_nan=True)
        for want, got in zip(expected, actual, strict=True)
    )


def outputs_match(first: Output, second: Output, exercise: Exercise) -> bool:
    """Same number of items, same shapes, equal within the exercise's tolerances."""
    same_shapes = len(first) == len(second) and all(
        a.shape == b.shape for a, b in zip(first, second, strict=True)
    )
    return same_shapes and _close(first, second, exercise)


def mistake_of(key: str) -> str:
    """The mistake id of a stored mistake output: ``id``, or ``id/variant`` for one of the several outputs
    that real wrong code of the same kind returns (a row of nan or of zeros, say)."""
    return key.split("/")[0]


def _outputs_alike(wrong: Output, actual: Output, exercise: Exercise) -> bool:
    """Does ``actual`` match a known wrong output: equal within tolerance, where a nan and an inf count as
    the same failure (an overflow gives one or the other, depending on how the code divides)?"""
    if len(wrong) != len(actual) or any(a.shape != b.shape for a, b in zip(wrong, actual, strict=True)):
        return False
    for want, got in zip(wrong, actual, strict=True):
        if not np.issubdtype(got.dtype, np.number) or not np.issubdtype(want.dtype, np.number):
            if not np.array_equal(want, got):
                return False
            continue
        both_broken = ~np.isfinite(want) & ~np.isfinite(got)
        close = np.isclose(got, want, *tolerances(exercise, want, got), equal_nan=True)
        if not np.all(close | both_broken):
            return False
    return True


def _matching_mistakes(case: CheckCase, actual: Output, exercise: Exercise) -> list[str]:
    matching = [
        mistake_of(key)
        for key, wrong in case.mistake_outputs.items()
        if _outputs_alike(wrong, actual, exercise)
    ]
    return list(dict.fromkeys(matching))


def _describe_difference(exercise: Exercise, expected: Output, actual: Output) -> str:
    for index, (want, got) in enumerate(zip(expected, actual, strict=True)):
        rtol, atol = tolerances(exercise, want, got)
        want_float, got_float = want.astype(float), got.astype(float)
        error = np.abs(got_float - want_float)
        tolerance = atol + rtol * np.abs(want_float)
        # How many times its tolerance each value misses by: the worst is the one furthest out of bounds,
        # not the one with the largest absolute error (which, for large values, may be within bounds).
        excess = np.where(np.isnan(error), np.inf, error / tolerance)
        if np.all(excess <= 1):
            continue
        worst = np.unravel_index(np.argmax(excess), excess.shape)
        where = f" at index {tuple(int(i) for i in worst)}" if got.ndim else ""
        which = f"item {index} of the result" if len(expected) > 1 else "the result"
        wrong = int(np.sum(excess > 1))
        shown_want, shown_got = _distinct_digits(want_float[worst], got_float[worst])
        message = (
            f"{which} has the right shape but {wrong} of its {want.size} values are wrong. "
            f"The worst{where}: expected {shown_want}, got {shown_got}."
        )
        if got.dtype == np.float64 and _float32_rounding(want_float, error):
            message += (
                " Your numbers agree to about 7 significant digits, the precision of float32: part of "
                "your computation runs in float32 although the inputs are float64 (a tensor or layer "
                "created without a dtype, or float64 numbers copied into a float32 one). Work in the "
                "inputs' dtype throughout (e.g. `dtype=x.dtype`), or in float32 throughout."
            )
        return message
    return "the result differs from the expected one."


def _float32_rounding(want: np.ndarray, error: np.ndarray) -> bool:
    """Are the errors no bigger than float32's rounding leaves (a few units in its 7th digit, relative to
    each value and to the largest, since a small result can come out of a sum of large float32 terms)?"""
    scale = np.max(np.abs(want), initial=0.0)
    return bool(np.all(error <= 1e-6 * np.abs(want) + 1e-7 * scale))


def _distinct_digits(want: float, got: float) -> tuple[str, str]:
    """``want`` and ``got`` written with the fewest significant digits (at least 6) that tell them apart."""
    for digits in range(6, 18):
        shown = f"{want:.{digits}g}", f"{got:.{digits}g}"
        if shown[0] != shown[1]:
            return shown
    return shown


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
    lines = [f"✘ {exercise.target}: {detail}"]
    if case is not None:
        lines.append(f"  (failing case: {case.name}; inputs {describe_inputs(case.inputs)})")
    return Verdict(
        exercise.id,
        passed=False,
        message="\n".join(lines),
        mistake_id=mistake_id,
        case_name=case.name if case else None,
    )
