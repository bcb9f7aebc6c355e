"""Known wrong answers to lesson 02's exercises."""

from functools import partial

import numpy as np


def _softmax(x, axis=-1, *, shift="slice", norm_axis="axis"):
    if shift == "slice":
        x = x - x.max(axis=axis, keepdims=True)
    elif shift == "global":
        x = x - x.max()
    exps = np.exp(x)
    return exps / exps.sum(axis=None if norm_axis is None else axis, keepdims=norm_axis is not None)


def _cosine_scores(queries, keys):
    unit = lambda m: m / np.linalg.norm(m, axis=-1, keepdims=True)  # noqa: E731
    return unit(queries) @ unit(keys).T


def _soft_lookup(queries, keys, values, temperature, *, scale=lambda s, t: s / t, axis=-1, shift="slice"):
    return _softmax(scale(queries @ keys.T, temperature), axis=axis, shift=shift) @ values


def _hard_lookup(queries, keys, values, *, pick=np.argmax, axis=-1):
    return np.eye(len(keys))[pick(queries @ keys.T, axis=axis)] @ values


MISTAKES = {
    "similarity_scores": {
        "transposed": lambda queries, keys: keys @ queries.T,
        "cosine": _cosine_scores,
    },
    "softmax": {
        "no_max_subtraction": partial(_softmax, shift=None),
        "global_max": partial(_softmax, shift="global"),
        "ignores_axis": lambda x, axis=-1: _softmax(x, axis=-1),
        "normalised_over_everything": partial(_softmax, norm_axis=None),
    },
    "soft_lookup": {
        "temperature_multiplied": partial(_soft_lookup, scale=lambda s, t: s * t),
        "softmax_over_queries": partial(_soft_lookup, axis=0),
        "no_temperature": partial(_soft_lookup, scale=lambda s, t: s),
        "unstable_softmax": partial(_soft_lookup, shift=None),
    },
    "hard_lookup": {
        "argmax_over_queries": partial(_hard_lookup, axis=0),
        "argmin": partial(_hard_lookup, pick=np.argmin),
    },
}
