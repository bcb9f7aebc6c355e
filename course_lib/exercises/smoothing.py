"""Lesson 01, smoothing: the exercises, their cases and the mistakes we can name."""

from __future__ import annotations

import numpy as np

from course_lib.registry import Case, Exercise, Mistake, register

LESSON = "01_smoothing"


def _moving_average_cases(rng: np.random.Generator) -> list[Case]:
    fixed = [
        {"n_points": 6, "half_width": 1},
        {"n_points": 7, "half_width": 2},
        {"n_points": 5, "half_width": 0},
        {"n_points": 4, "half_width": 10},
    ]
    drawn = [{"n_points": int(rng.integers(8, 20)), "half_width": int(rng.integers(1, 5))} for _ in range(2)]
    return fixed + drawn


register(
    Exercise(
        id="moving_average_weights",
        lesson=LESSON,
        target="moving_average_weights",
        points=2,
        make_cases=_moving_average_cases,
        output="an array of shape (n_points, n_points), float, each row summing to 1",
        mistakes=(
            Mistake(
                "not_renormalised_at_edges",
                "Near the ends of the series a point has fewer neighbours, but your weights there are still "
                "1 / (2 * half_width + 1), so the first and last rows sum to less than 1. Divide each row by "
                "the number of neighbours it really has.",
            ),
            Mistake(
                "window_too_narrow",
                "Your window is one step too narrow on each side: a neighbour exactly `half_width` steps "
                "away belongs in the average. Use `abs(i - j) <= half_width`, not `<`.",
            ),
            Mistake(
                "window_too_wide",
                "Your window is one step too wide on each side: only neighbours at most `half_width` steps "
                "away belong in the average. Use `abs(i - j) <= half_width`.",
            ),
        ),
    )
)


def _gaussian_cases(rng: np.random.Generator) -> list[Case]:
    grid = np.arange(8, dtype=float)
    keys = np.sort(rng.uniform(0.0, 10.0, size=9))
    queries = rng.uniform(0.0, 10.0, size=5)
    return [
        {"query_times": grid, "key_times": grid, "sigma": 1.0},
        {"query_times": grid, "key_times": grid, "sigma": 2.5},
        {"query_times": queries, "key_times": keys, "sigma": 1.5},
        {"query_times": queries + 1000.0, "key_times": keys + 1000.0, "sigma": 0.7},
        {"query_times": np.array([0.5, 3.5]), "key_times": grid, "sigma": 0.01},
    ]


register(
    Exercise(
        id="gaussian_weights",
        lesson=LESSON,
        target="gaussian_weights",
        points=3,
        make_cases=_gaussian_cases,
        output=(
            "an array of shape (len(query_times), len(key_times)), float: one row per point being "
            "smoothed, one column per neighbour, each row summing to 1"
        ),
        mistakes=(
            Mistake(
                "normalised_over_columns",
                "Each *row* should sum to 1 (a row holds the weights one point gives its neighbours), but "
                "yours sum to 1 down each *column*: normalise along axis=1, e.g. "
                "`w / w.sum(axis=1, keepdims=True)`.",
            ),
            Mistake(
                "not_normalised",
                "Your weights have the right shape (a Gaussian bump) but the rows do not sum to 1. Divide "
                "each row by its sum so the result is a weighted *average*.",
            ),
            Mistake(
                "sigma_as_variance",
                "You divided by 2 * sigma, using sigma as a variance. sigma is the standard deviation (the "
                "width of the bump in time steps): divide the squared distance by 2 * sigma**2.",
            ),
            Mistake(
                "missing_half",
                "Your bump is too narrow by a factor of sqrt(2): the Gaussian is "
                "exp(-d**2 / (2 * sigma**2)); you left out the 2.",
            ),
            Mistake(
                "distance_not_squared",
                "You used the distance itself, not its square: the Gaussian is exp(-d**2 / (2 * sigma**2)) "
                "with d = query_time - key_time.",
            ),
            Mistake(
                "underflow",
                "With a narrow bump (small sigma) every exp(...) in a row can underflow to 0, and 0 / 0 is "
                "nan. Subtract each row's smallest squared distance before exponentiating: it cancels when "
                "you normalise, and the nearest neighbour then gets exp(0) = 1.",
            ),
        ),
    )
)


def _smooth_cases(rng: np.random.Generator) -> list[Case]:
    def row_normalised(shape: tuple[int, int]) -> np.ndarray:
        weights = rng.uniform(0.0, 1.0, size=shape)
        return weights / weights.sum(axis=1, keepdims=True)

    return [
        {"weights": row_normalised((6, 6)), "values": rng.normal(size=6)},
        {"weights": row_normalised((3, 7)), "values": rng.normal(size=7)},
        {"weights": row_normalised((5, 4)), "values": rng.normal(size=(4, 2))},
        {"weights": np.eye(4), "values": np.array([1.0, -2.0, 3.0, 0.5])},
    ]


register(
    Exercise(
        id="smooth",
        lesson=LESSON,
        target="smooth",
        points=2,
        make_cases=_smooth_cases,
        output=(
            "an array of shape (n_queries,) for values of shape (n_keys,), or (n_queries, d) for values "
            "of shape (n_keys, d), float"
        ),
        mistakes=(
            Mistake(
                "weights_transposed",
                "You used the weights transposed. Row i of `weights` holds what point i takes from each "
                "neighbour, so the smoothed value i is sum over j of weights[i, j] * values[j]: "
                "`weights @ values`.",
            ),
            Mistake(
                "elementwise_product",
                "You multiplied element by element and summed over the wrong axis. The smoothed value i "
                "is sum over j of weights[i, j] * values[j] — exactly the matrix product `weights @ values`.",
            ),
        ),
    )
)
