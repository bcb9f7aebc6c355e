"""Implementations of the known mistakes, one module per lesson, keyed by exercise id then mistake id.

Each registry ``Mistake`` has exactly one implementation here (a test makes sure), so that a check can
recognise the mistake from its output and the project can prove every diagnosis fires.
"""

from collections.abc import Callable
from typing import Any

from grader.mistakes import attention, cross_attention, decoder, lookup, multihead, smoothing, training

MISTAKES: dict[str, dict[str, Callable[..., Any]]] = {
    **smoothing.MISTAKES,
    **lookup.MISTAKES,
    **attention.MISTAKES,
    **multihead.MISTAKES,
    **decoder.MISTAKES,
    **cross_attention.MISTAKES,
    **training.MISTAKES,
}


def mistakes_for(exercise_id: str) -> dict[str, Callable[..., Any]]:
    return MISTAKES.get(exercise_id, {})
