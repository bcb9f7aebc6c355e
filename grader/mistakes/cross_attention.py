"""Known wrong answers to lesson 05's cross-attention exercise, written as a learner would write them."""

import math
from functools import partial

import torch


def _cross_attention(
    x_target,
    x_source,
    w_q,
    w_k,
    w_v,
    *,
    swapped=False,
    kv_from_target=False,
    causal=False,
    scale="d_k",
    softmax_dim=-1,
):
    asking, answering = (x_source, x_target) if swapped else (x_target, x_source)
    if kv_from_target:
        answering = x_target
    q, k, v = asking @ w_q, answering @ w_k, answering @ w_v
    width = {"d_k": q.shape[-1], "d_target": x_target.shape[-1], "d_v": v.shape[-1]}[scale]
    scores = q @ k.transpose(-2, -1) / math.sqrt(width)
    if causal:
        allowed = torch.tril(torch.ones(scores.shape[-2:], dtype=torch.bool))
        scores = scores.masked_fill(~allowed, float("-inf"))
    weights = torch.softmax(scores, dim=softmax_dim)
    return weights @ v, weights


MISTAKES = {
    "cross_attention": {
        "sequences_swapped": partial(_cross_attention, swapped=True),
        "keys_values_from_target": partial(_cross_attention, kv_from_target=True),
        "causal_mask": partial(_cross_attention, causal=True),
        "scale_by_d_target": partial(_cross_attention, scale="d_target"),
        "scale_by_d_v": partial(_cross_attention, scale="d_v"),
        "softmax_over_targets": partial(_cross_attention, softmax_dim=-2),
    },
}
