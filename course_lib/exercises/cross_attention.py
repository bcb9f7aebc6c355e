"""Lesson 05, section 6: cross-attention, queries from one sequence and keys and values from another."""

from __future__ import annotations

import numpy as np

# Imported first so that lesson 05's exercises are registered in the lesson's order, this one last.
from course_lib.exercises import decoder  # noqa: F401
from course_lib.exercises.torch_support import call_function
from course_lib.registry import Case, Exercise, Mistake, register

LESSON = "05_decoder"


def _cross_attention_cases(rng: np.random.Generator) -> list[Case]:
    def case(batch, n_target, n_source, d_target, d_source, d_k, d_v):
        return {
            "x_target": rng.normal(size=(batch, n_target, d_target)),
            "x_source": rng.normal(size=(batch, n_source, d_source)),
            "w_q": rng.normal(size=(d_target, d_k)) / np.sqrt(d_target),
            "w_k": rng.normal(size=(d_source, d_k)) / np.sqrt(d_source),
            "w_v": rng.normal(size=(d_source, d_v)) / np.sqrt(d_source),
        }

    # The first case has equal widths, so that taking q, k or v from the wrong sequence still runs and is
    # named; the later ones have the two sequences at different widths, d_v != d_k, and one target word.
    return [
        case(2, 3, 5, 6, 6, 4, 3),
        case(1, 4, 2, 5, 7, 3, 6),
        case(3, 6, 4, 8, 8, 8, 2),
        case(2, 1, 6, 4, 5, 2, 5),
    ]


register(
    Exercise(
        id="cross_attention",
        lesson=LESSON,
        target="cross_attention",
        points=3,
        make_cases=_cross_attention_cases,
        call=call_function,
        catalogue=("softmax_axis", "scale"),
        given=("attention",),
        rtol=1e-6,
        atol=1e-8,
        output=(
            "(output, weights): output (batch, n_target, d_v), weights (batch, n_target, n_source) with "
            "rows summing to 1"
        ),
        mistakes=(
            Mistake(
                "sequences_swapped",
                "You took the queries from the source and the keys and values from the target. It is the "
                "other way round: the target words ask (q = x_target @ w_q) and the source words answer "
                "(k = x_source @ w_k, v = x_source @ w_v), so the weights have one row per target word.",
            ),
            Mistake(
                "keys_values_from_target",
                "Your keys and values come from the target sequence, which makes this self-attention. In "
                "cross-attention they come from the other sequence: k = x_source @ w_k, v = x_source @ w_v.",
            ),
            Mistake(
                "causal_mask",
                "You applied a causal mask. Cross-attention needs none: the whole source is known before "
                "the target is written, so every target word may read every source word (the causal mask "
                "belongs to the decoder's self-attention).",
            ),
            Mistake(
                "scale_by_d_target",
                "You divided the scores by the square root of x_target's width. A score is the dot product "
                "of a query and a key, vectors of length d_k: divide by sqrt(d_k), w_q.shape[1].",
                kind="scale",
            ),
            Mistake(
                "scale_by_d_v",
                "You divided the scores by sqrt(d_v), the width of the values. Scale by the length of the "
                "vectors being compared, the queries and keys: sqrt(d_k), w_q.shape[1].",
                kind="scale",
            ),
            Mistake(
                "softmax_over_targets",
                "The weights in each row should sum to 1 over the source words (dim=-1); yours sum to 1 "
                "over the target words: softmax along the wrong dimension?",
                kind="softmax_axis",
            ),
        ),
    )
)
