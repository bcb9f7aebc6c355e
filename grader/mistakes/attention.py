"""Known wrong answers to lesson 03's exercises."""

from functools import partial

import numpy as np


def _softmax(scores, axis=-1, *, stable=True, empty_rows="zeros"):
    """``empty_rows="nan"``: what a plain ``exp / sum`` (or ``x - x.max()`` first) gives a row of -inf."""
    finite_max = np.where(np.isfinite(scores), scores, -np.inf).max(axis=axis, keepdims=True)
    shift = np.where(np.isfinite(finite_max), finite_max, 0.0) if stable else 0.0
    exps = np.exp(scores - shift)
    totals = exps.sum(axis=axis, keepdims=True)
    if empty_rows == "nan":
        return exps / totals
    return np.divide(exps, totals, out=np.zeros_like(exps), where=totals > 0)


def _attention(
    q,
    k,
    v,
    mask=None,
    *,
    scale=np.sqrt,
    scale_dim="k",
    axis=-1,
    fill=-np.inf,
    after=False,
    invert=False,
    stable=True,
    empty_rows="zeros",
):
    d = q.shape[-1] if scale_dim == "k" else v.shape[-1]
    scores = q @ np.swapaxes(k, -1, -2) / scale(d)
    if mask is not None and not after:
        scores = np.where(~mask if invert else mask, scores, fill)
    weights = _softmax(scores, axis=axis, stable=stable, empty_rows=empty_rows)
    if mask is not None and after:
        weights = weights * mask
    return weights @ v, weights


def _entropy(weights, *, log=np.log, sign=-1.0, axis=-1, safe=True):
    if safe:
        terms = np.where(weights > 0, weights * log(np.where(weights > 0, weights, 1.0)), 0.0)
    else:
        terms = weights * log(weights)
    return sign * terms.sum(axis=axis)


MISTAKES = {
    "project_qkv": {
        "wrong_order": lambda x, w_q, w_k, w_v: (x @ w_q, x @ w_v, x @ w_k),
        "one_matrix_for_all": lambda x, w_q, w_k, w_v: (x @ w_q, x @ w_q, x @ w_q),
    },
    "causal_mask": {
        "upper_triangle": lambda n: np.triu(np.ones((n, n), dtype=bool)),
        "excludes_itself": lambda n: np.tril(np.ones((n, n), dtype=bool), k=-1),
    },
    "scaled_dot_product_attention": {
        "no_scale": partial(_attention, scale=lambda d: 1.0),
        "scaled_by_d_v": partial(_attention, scale_dim="v"),
        "scaled_by_d": partial(_attention, scale=lambda d: d),
        "softmax_over_queries": partial(_attention, axis=-2),
        "mask_after_softmax": partial(_attention, after=True),
        "masked_filled_with_zero": partial(_attention, fill=0.0),
        "fully_masked_row_nan": partial(_attention, empty_rows="nan"),
        "large_negative_fill": partial(_attention, fill=-1e9),
        # a naive exp / sum gives nan on a fully masked row too; a careful one, zeros
        "unstable_softmax": (
            partial(_attention, stable=False, empty_rows="nan"),
            partial(_attention, stable=False),
        ),
        "mask_inverted": partial(_attention, invert=True),
    },
    "attention_entropy": {
        "nan_at_zero": partial(_entropy, safe=False),
        "log2": partial(_entropy, log=np.log2),
        "missing_minus": partial(_entropy, sign=1.0),
        "wrong_axis": partial(_entropy, axis=-2),
    },
}
