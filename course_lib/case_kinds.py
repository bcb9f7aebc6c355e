"""Kinds of test case, by what their inputs hold: what a wrong answer that fails one of them mishandles.

The class report counts, per exercise and kind, how many wrong answers fail a case of that kind (a third of
the class failing "a row where every key is masked" says what to reteach). Kinds are read from the inputs
themselves, so every exercise's cases have them without being labelled by hand.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from course_lib.registry import Case

LARGE = 50.0
"""An input this large, or larger, in size: where a softmax or log-probability that does not subtract the
maximum starts to lose digits, and soon overflows."""
QUERY_KEY_PAIRS = (("q", "k"), ("queries", "keys"), ("query_times", "key_times"), ("x_target", "x_source"))


def _data(case: Case) -> dict[str, np.ndarray]:
    """The case's arrays a learner's code works on: its own, and a module's ``inputs`` (not its weights)."""
    found = {**case, **case.get("inputs", {})}
    return {name: np.asarray(value) for name, value in found.items() if isinstance(value, np.ndarray)}


def _floats(case: Case) -> list[np.ndarray]:
    return [array for array in _data(case).values() if np.issubdtype(array.dtype, np.floating)]


def _large(case: Case) -> bool:
    return any(np.any(np.abs(array[np.isfinite(array)]) >= LARGE) for array in _floats(case))


def _infinite(case: Case) -> bool:
    return any(np.any(np.isinf(array)) for array in _floats(case))


def _fully_masked_row(case: Case) -> bool:
    mask = _data(case).get("mask")
    return mask is not None and mask.dtype == bool and bool(np.any(~mask.any(axis=-1)))


def _queries_differ_from_keys(case: Case) -> bool:
    data = _data(case)
    return any(
        queries in data and keys in data and _sequence_length(data[queries]) != _sequence_length(data[keys])
        for queries, keys in QUERY_KEY_PAIRS
    )


def _sequence_length(array: np.ndarray) -> int:
    """Positions along the sequence: rows of a (..., n, d) array, entries of a 1-d one."""
    return array.shape[-2] if array.ndim >= 2 else array.size


def _causal(case: Case) -> bool:
    return bool(case.get("causal") or case.get("inputs", {}).get("causal"))


def _float32(case: Case) -> bool:
    return any(array.dtype == np.float32 for array in _floats(case))


CASE_KINDS: dict[str, tuple[str, Callable[[Case], bool]]] = {
    "large_values": (f"inputs of {LARGE:g} or more in size", _large),
    "infinite_values": ("inputs holding -inf or inf", _infinite),
    "fully_masked_row": ("a row where every key is masked", _fully_masked_row),
    "queries_differ_from_keys": ("a different number of queries and keys", _queries_differ_from_keys),
    "causal": ("the causal mask on", _causal),
    "float32": ("float32 inputs", _float32),
}
"""Each kind's id, its name in words, and whether a case is of that kind. ``batched`` (below) is the one
kind that depends on the other cases too."""
BATCHED = "batched"
BATCHED_NAME = "more dimensions than the simplest case"


def case_kinds(cases: list[Case]) -> list[tuple[str, ...]]:
    """The kinds of each of an exercise's ``cases``. A case is ``batched`` when its first input array has
    more dimensions than the first input array of the exercise's smallest case."""
    first = [next(iter(_data(case).values()), np.zeros(0)) for case in cases]
    fewest = min((array.ndim for array in first), default=0)
    return [
        tuple(kind for kind, (_, is_of_kind) in CASE_KINDS.items() if is_of_kind(case))
        + ((BATCHED,) if array.ndim > fewest else ())
        for case, array in zip(cases, first, strict=True)
    ]


def kind_name(kind: str) -> str:
    """The words for ``kind``, as the class report shows it."""
    return BATCHED_NAME if kind == BATCHED else CASE_KINDS[kind][0] if kind in CASE_KINDS else kind
