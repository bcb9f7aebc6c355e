"""Implementations of the known mistakes, one module per lesson, keyed by exercise id then mistake id.

Each registry ``Mistake`` has one implementation here, or several (a tuple): the different outputs real
wrong code of that kind returns (a naive softmax gives a row of nan where a careful one gives zeros), so
that a check recognises the mistake whichever way it was written, and the project can prove every diagnosis
fires (a test makes sure each registry mistake has its implementations, and each implementation a mistake).
"""

from collections.abc import Callable
from typing import Any

from grader.mistakes import attention, cross_attention, decoder, lookup, multihead, smoothing, training

Implementation = Callable[..., Any]

MISTAKES: dict[str, dict[str, Implementation | tuple[Implementation, ...]]] = {
    **smoothing.MISTAKES,
    **lookup.MISTAKES,
    **attention.MISTAKES,
    **multihead.MISTAKES,
    **decoder.MISTAKES,
    **cross_attention.MISTAKES,
    **training.MISTAKES,
}


def mistakes_for(exercise_id: str) -> dict[str, tuple[Implementation, ...]]:
    """Each known mistake of the exercise, with its implementations."""
    return {
        mistake_id: implementations if isinstance(implementations, tuple) else (implementations,)
        for mistake_id, implementations in MISTAKES.get(exercise_id, {}).items()
    }


def mistake_variants(exercise_id: str) -> dict[str, Implementation]:
    """Every implementation of the exercise's mistakes, keyed ``mistake_id`` for the first and
    ``mistake_id/2``, ``mistake_id/3`` ... for the others (``course_lib.checking.mistake_of`` reads them)."""
    return {
        mistake_id if number == 1 else f"{mistake_id}/{number}": implementation
        for mistake_id, implementations in mistakes_for(exercise_id).items()
        for number, implementation in enumerate(implementations, start=1)
    }
