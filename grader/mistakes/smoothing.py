"""Known wrong answers to lesson 01's exercises."""

from functools import partial

import numpy as np


def _moving_average(n_points, half_width, *, reach=0, renormalise=True):
    distance = np.abs(np.arange(n_points)[:, None] - np.arange(n_points)[None, :])
    inside = (distance <= half_width + reach).astype(float)
    if renormalise:
        return inside / inside.sum(axis=1, keepdims=True)
    return inside / (2 * half_width + 1)


def _gaussian(query_times, key_times, sigma, *, scale=None, power=2, axis=1, stable=True, normalise=True):
    distance = np.abs(query_times[:, None] - key_times[None, :]) ** power
    logits = -distance / (2 * sigma**2 if scale is None else scale(sigma))
    if stable:
        logits = logits - logits.max(axis=1, keepdims=True)
    weights = np.exp(logits)
    return weights / weights.sum(axis=axis, keepdims=True) if normalise else weights


MISTAKES = {
    "moving_average_weights": {
        "not_renormalised_at_edges": partial(_moving_average, renormalise=False),
        "window_too_narrow": partial(_moving_average, reach=-1),
        "window_too_wide": partial(_moving_average, reach=1),
    },
    "gaussian_weights": {
        "normalised_over_columns": partial(_gaussian, axis=0),
        "not_normalised": partial(_gaussian, stable=False, normalise=False),
        "sigma_as_variance": partial(_gaussian, scale=lambda sigma: 2 * sigma),
        "missing_half": partial(_gaussian, scale=lambda sigma: sigma**2),
        "distance_not_squared": partial(_gaussian, power=1),
        "underflow": partial(_gaussian, stable=False),
    },
    "smooth": {
        "weights_transposed": lambda weights, values: weights.T @ values,
        "elementwise_product": lambda weights, values: (weights * values).sum(axis=0),
    },
}
