"""Lesson 03, queries, keys and values: projections, the causal mask, scaled dot-product attention."""

from __future__ import annotations

import numpy as np

from course_lib.registry import Case, Exercise, Mistake, register

LESSON = "03_qkv"


def _projection_cases(rng: np.random.Generator) -> list[Case]:
    def case(shape, d_k, d_v):
        d_model = shape[-1]
        return {
            "x": rng.normal(size=shape),
            "w_q": rng.normal(size=(d_model, d_k)),
            "w_k": rng.normal(size=(d_model, d_k)),
            "w_v": rng.normal(size=(d_model, d_v)),
        }

    return [case((4, 3), 3, 3), case((5, 6), 2, 4), case((2, 3, 4), 3, 5)]


register(
    Exercise(
        id="project_qkv",
        lesson=LESSON,
        target="project_qkv",
        points=2,
        make_cases=_projection_cases,
        output="a tuple (Q, K, V) of float arrays: x @ w_q, x @ w_k, x @ w_v",
        mistakes=(
            Mistake(
                "wrong_order",
                "Your three arrays come back in the wrong order. Return them as (Q, K, V): queries from "
                "w_q, keys from w_k, values from w_v.",
            ),
            Mistake(
                "one_matrix_for_all",
                "You used the same weight matrix for all three projections. Each role has its own matrix: "
                "Q = x @ w_q, K = x @ w_k, V = x @ w_v.",
            ),
        ),
    )
)


def _mask_cases(rng: np.random.Generator) -> list[Case]:
    return [{"n": 1}, {"n": 4}, {"n": int(rng.integers(5, 9))}]


register(
    Exercise(
        id="causal_mask",
        lesson=LESSON,
        target="causal_mask",
        points=2,
        make_cases=_mask_cases,
        output="a boolean array of shape (n, n): [i, j] is True when word i may look at word j (j <= i)",
        catalogue=("mask_triangle",),
        mistakes=(
            Mistake(
                "upper_triangle",
                "Your mask lets each word see the words *after* it (upper triangle) instead of before it. "
                "Word i may look at word j when j <= i: the lower triangle, `np.tril`.",
                kind="mask_triangle",
            ),
            Mistake(
                "excludes_itself",
                "Your mask hides the diagonal, so a word cannot look at itself and the first word sees "
                "nothing at all. Allow j <= i, not j < i.",
            ),
        ),
    )
)


def _attention_inputs(rng, batch, n_q, n_k, d_k, d_v, shift=0.0) -> Case:
    return {
        "q": rng.normal(size=(*batch, n_q, d_k)) + shift,
        "k": rng.normal(size=(*batch, n_k, d_k)) + shift,
        "v": rng.normal(size=(*batch, n_k, d_v)),
    }


def _attention_cases(rng: np.random.Generator) -> list[Case]:
    causal = np.tril(np.ones((4, 4), dtype=bool))
    with_empty_row = np.array(
        [[True, False, True, False, False], [False] * 5, [True, True, True, True, False]], dtype=bool
    )
    return [
        {**_attention_inputs(rng, (), 4, 4, 4, 4), "mask": None},
        {**_attention_inputs(rng, (), 2, 5, 16, 3), "mask": None},
        {**_attention_inputs(rng, (3,), 4, 4, 8, 6), "mask": causal},
        {**_attention_inputs(rng, (), 3, 5, 4, 2), "mask": with_empty_row},
        {**_attention_inputs(rng, (2,), 3, 4, 8, 2, shift=100.0), "mask": None},
    ]


register(
    Exercise(
        id="scaled_dot_product_attention",
        lesson=LESSON,
        target="scaled_dot_product_attention",
        points=4,
        forbidden=("scaled_dot_product_attention",),
        given=("softmax",),
        catalogue=(
            "softmax_axis",
            "scale",
            "mask_after_softmax",
            "mask_filled_with_zero",
            "mask_triangle",
            "fully_masked_rows",
            "overflow",
        ),
        make_cases=_attention_cases,
        output=(
            "a tuple (output, weights): output of shape (..., n_queries, d_v) and weights of shape "
            "(..., n_queries, n_keys), floats, each row of weights summing to 1 (or all 0 when every key "
            "of that row is masked)"
        ),
        mistakes=(
            Mistake(
                "no_scale",
                "You forgot the scale: divide the scores Q @ K^T by sqrt(d_k), the size of the last axis of "
                "q and k, before the softmax.",
                kind="scale",
            ),
            Mistake(
                "scaled_by_d_v",
                "You scaled by the square root of the *value* dimension. The scale belongs to the dot "
                "products of queries with keys: use d_k = q.shape[-1].",
                kind="scale",
            ),
            Mistake(
                "scaled_by_d",
                "You divided the scores by d_k itself. Divide by its square root, np.sqrt(d_k): that keeps "
                "the spread of the scores about 1 whatever the dimension.",
                kind="scale",
            ),
            Mistake(
                "softmax_over_queries",
                "The weights in each row should sum to 1 over the keys (axis=-1); yours sum to 1 over the "
                "queries (axis=-2): softmax along the wrong axis?",
                kind="softmax_axis",
            ),
            Mistake(
                "mask_after_softmax",
                "You applied the mask after the softmax, so the allowed weights no longer sum to 1. Mask the "
                "*scores* (set forbidden ones to -np.inf) and then take the softmax.",
                kind="mask_after_softmax",
            ),
            Mistake(
                "masked_filled_with_zero",
                "You set the masked scores to 0. A score of 0 is not 'forbidden': exp(0) = 1, so masked "
                "keys still get weight. Set them to -np.inf, whose exp is 0: "
                "`np.where(mask, scores, -np.inf)`.",
                kind="mask_filled_with_zero",
            ),
            Mistake(
                "fully_masked_row_nan",
                "A row whose keys are all masked comes out as nan: its scores are all -inf, and your "
                "softmax computes -inf - (-inf) or 0 / 0. Such a row must get all-zero weights (and a zero "
                "output): use the `softmax` given above, which handles it.",
                kind="fully_masked_rows",
            ),
            Mistake(
                "large_negative_fill",
                "You filled masked scores with a large negative number. That works until every key of a row "
                "is masked: then all its scores are equal and the row gets uniform weights. Use -np.inf; "
                "the given softmax turns a row of -inf into zeros.",
                kind="fully_masked_rows",
            ),
            Mistake(
                "unstable_softmax",
                "Your softmax overflows when the scores are large (here q and k are shifted by +100): "
                "exp(big) is inf. Use the stable `softmax` given above, which subtracts each row's maximum.",
                kind="overflow",
            ),
            Mistake(
                "mask_inverted",
                "Your mask is inverted: True means *may attend*, so keep the scores where the mask is True "
                "and set them to -np.inf where it is False: `np.where(mask, scores, -np.inf)`.",
                kind="mask_triangle",
            ),
        ),
    )
)


def _entropy_cases(rng: np.random.Generator) -> list[Case]:
    random_rows = rng.uniform(0.1, 1.0, size=(3, 5))
    return [
        {"weights": np.full((2, 4), 0.25)},
        {"weights": random_rows / random_rows.sum(axis=-1, keepdims=True)},
        {"weights": np.array([[1.0, 0.0, 0.0], [0.5, 0.5, 0.0], [0.0, 0.0, 1.0]])},
        {"weights": np.tile(np.eye(4), (2, 1, 1)) * 0.5 + 0.125},
    ]


register(
    Exercise(
        id="attention_entropy",
        lesson=LESSON,
        target="attention_entropy",
        points=2,
        make_cases=_entropy_cases,
        output="an array of shape weights.shape[:-1], float: the entropy (natural log) of each row",
        mistakes=(
            Mistake(
                "nan_at_zero",
                "A weight of exactly 0 gives 0 * log(0) = 0 * -inf = nan. By convention 0 * log 0 = 0: "
                "compute the terms only where the weight is positive, e.g. with np.where or np.log(w, "
                "where=w > 0, out=np.zeros_like(w)).",
            ),
            Mistake(
                "log2",
                "You measured in bits (log base 2). Use the natural logarithm, np.log.",
            ),
            Mistake(
                "missing_minus",
                "Your entropies are negative: H = -sum w log w, with a minus sign in front.",
            ),
            Mistake(
                "wrong_axis",
                "You summed over the wrong axis. Each row (the last axis) is one word's weights; sum over "
                "axis=-1.",
            ),
        ),
    )
)
