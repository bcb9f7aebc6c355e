"""Lesson 02, lookup: from dictionaries to soft search."""

from __future__ import annotations

import numpy as np

from course_lib.registry import Case, Exercise, Mistake, register

LESSON = "02_lookup"


def _scores_cases(rng: np.random.Generator) -> list[Case]:
    return [
        {"queries": rng.normal(size=(3, 3)), "keys": rng.normal(size=(3, 3))},
        {"queries": rng.normal(size=(2, 4)), "keys": rng.normal(size=(5, 4))},
        {"queries": rng.normal(size=(6, 2)), "keys": rng.normal(size=(3, 2))},
        {"queries": rng.normal(size=(1, 5)), "keys": 3.0 * rng.normal(size=(4, 5))},
    ]


register(
    Exercise(
        id="similarity_scores",
        lesson=LESSON,
        target="similarity_scores",
        points=2,
        make_cases=_scores_cases,
        output="an array of shape (n_queries, n_keys), float: entry [i, j] = queries[i] · keys[j]",
        mistakes=(
            Mistake(
                "transposed",
                "Your scores are transposed: row i must belong to query i and column j to key j, so the "
                "result is `queries @ keys.T`, not `keys @ queries.T`.",
            ),
            Mistake(
                "cosine",
                "You normalised the vectors (cosine similarity). Here the score is the plain dot product: "
                "a longer key vector is meant to score higher.",
            ),
        ),
    )
)


def _softmax_cases(rng: np.random.Generator) -> list[Case]:
    rows = rng.normal(size=(3, 5))
    return [
        {"x": rng.normal(size=6), "axis": -1},
        {"x": rows, "axis": -1},
        {"x": rows, "axis": 0},
        {"x": rows + 1000.0, "axis": -1},
        {"x": np.array([[1.0, 2.0, 3.0], [-2000.0, -1000.0, -1500.0]]), "axis": -1},
        {"x": rng.normal(size=(2, 3, 4)) * 1000.0, "axis": 1},
        {"x": np.array([[0.0, -np.inf, 1.0], [2.0, 2.0, -np.inf]]), "axis": -1},
    ]


register(
    Exercise(
        id="softmax",
        lesson=LESSON,
        target="softmax",
        points=3,
        forbidden=("softmax", "log_softmax"),
        catalogue=("softmax_axis", "overflow"),
        make_cases=_softmax_cases,
        output="an array of the same shape as x, float, summing to 1 along `axis`",
        mistakes=(
            Mistake(
                "no_max_subtraction",
                "Large inputs overflow: exp(1000) is inf in float64, and inf / inf is nan. Subtract the "
                "maximum along `axis` (with keepdims=True) before exponentiating; it cancels out.",
                kind="overflow",
            ),
            Mistake(
                "global_max",
                "You subtracted the maximum of the *whole* array. When one row's values are far below "
                "another's, every exp(...) in that row underflows to 0 and you get 0 / 0 = nan. Subtract "
                "each slice's own maximum: `x.max(axis=axis, keepdims=True)`.",
                kind="overflow",
            ),
            Mistake(
                "ignores_axis",
                "Your softmax always normalises along the last axis, whatever `axis` says. Pass `axis` "
                "(and keepdims=True) to both the max and the sum.",
                kind="softmax_axis",
            ),
            Mistake(
                "normalised_over_everything",
                "You divided by the sum of the whole array, so only the total is 1. Each slice along "
                "`axis` must sum to 1 on its own: `e.sum(axis=axis, keepdims=True)`.",
                kind="softmax_axis",
            ),
        ),
    )
)


def _lookup_inputs(rng: np.random.Generator, n_queries: int, n_keys: int, dim: int, value_dim: int) -> Case:
    return {
        "queries": rng.normal(size=(n_queries, dim)),
        "keys": rng.normal(size=(n_keys, dim)),
        "values": rng.normal(size=(n_keys, value_dim)),
    }


def _soft_lookup_cases(rng: np.random.Generator) -> list[Case]:
    return [
        {**_lookup_inputs(rng, 4, 4, 3, 3), "temperature": 1.0},
        {**_lookup_inputs(rng, 2, 5, 3, 4), "temperature": 0.5},
        {**_lookup_inputs(rng, 3, 6, 2, 1), "temperature": 4.0},
        {**_lookup_inputs(rng, 2, 3, 4, 2), "temperature": 0.001},
        # scores of 1 to 3 at temperature 0.001: exp(3000) overflows unless the maximum is subtracted
        {
            "queries": np.array([[1.0, 2.0], [-1.0, 0.5]]),
            "keys": np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]),
            "values": rng.normal(size=(3, 2)),
            "temperature": 0.001,
        },
    ]


register(
    Exercise(
        id="soft_lookup",
        lesson=LESSON,
        target="soft_lookup",
        points=3,
        uses=("similarity_scores", "softmax"),
        catalogue=("softmax_axis", "overflow"),
        make_cases=_soft_lookup_cases,
        output="an array of shape (n_queries, value_dim), float: one blended value per query",
        mistakes=(
            Mistake(
                "temperature_multiplied",
                "You multiplied the scores by the temperature. Divide them: a *low* temperature must make "
                "the weights sharper, a high one flatter.",
            ),
            Mistake(
                "softmax_over_queries",
                "Your weights sum to 1 over the queries (down each column). Each query spreads its "
                "attention over the keys, so take the softmax along the keys: axis=-1.",
                kind="softmax_axis",
            ),
            Mistake(
                "unstable_softmax",
                "Your weights overflow at a low temperature: the scores divided by 0.001 are in the "
                "thousands, and exp(1000) is inf. Use your `softmax` from above, which subtracts each "
                "row's maximum first.",
                kind="overflow",
            ),
            Mistake(
                "no_temperature",
                "You ignored the temperature. Divide the scores by it before the softmax.",
            ),
        ),
    )
)


def _hard_lookup_cases(rng: np.random.Generator) -> list[Case]:
    return [
        _lookup_inputs(rng, 4, 4, 3, 3),
        _lookup_inputs(rng, 2, 5, 3, 4),
        _lookup_inputs(rng, 6, 3, 2, 1),
    ]


register(
    Exercise(
        id="hard_lookup",
        lesson=LESSON,
        target="hard_lookup",
        points=2,
        uses=("similarity_scores",),
        make_cases=_hard_lookup_cases,
        output=(
            "an array of shape (n_queries, value_dim), float: for each query, the value of its "
            "best-scoring key"
        ),
        mistakes=(
            Mistake(
                "argmax_over_queries",
                "You took the argmax over the queries (axis=0). Each query picks its own best key: "
                "argmax over the keys, axis=-1 of the scores.",
            ),
            Mistake(
                "argmin",
                "You picked the key with the *lowest* score. A lookup wants the best match: argmax.",
            ),
        ),
    )
)
