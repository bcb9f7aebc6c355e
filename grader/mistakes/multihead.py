"""Known wrong answers to lesson 04's exercises (float64, weights injected by the case)."""

import math
from functools import partial

import torch
from torch import nn


def _split(x, n_heads, *, mode="ok"):
    batch, seq_len, d_model = x.shape
    d_head = d_model // n_heads
    if mode == "no_transpose":
        return x.reshape(batch, n_heads, seq_len, d_head)
    if mode == "not_moved":
        return x.reshape(batch, seq_len, n_heads, d_head)
    return x.view(batch, seq_len, n_heads, d_head).transpose(1, 2)


def _merge(x, *, mode="ok"):
    batch, n_heads, seq_len, d_head = x.shape
    if mode == "no_transpose":
        return x.reshape(batch, seq_len, n_heads * d_head)
    if mode == "interleaved":
        return x.permute(0, 2, 3, 1).reshape(batch, seq_len, n_heads * d_head)
    return x.transpose(1, 2).reshape(batch, seq_len, n_heads * d_head)


class _MultiHeadAttention(nn.Module):
    def __init__(
        self,
        d_model,
        n_heads,
        *,
        scale_dim="head",
        split="ok",
        merge="ok",
        project=True,
        mask="ok",
        softmax_dim=-1,
    ):
        super().__init__()
        self.d_model, self.n_heads = d_model, n_heads
        self.qkv = nn.Linear(d_model, 3 * d_model)
        self.proj = nn.Linear(d_model, d_model)
        self.scale_dim, self.split, self.merge, self.project = scale_dim, split, merge, project
        self.mask, self.softmax_dim = mask, softmax_dim

    def forward(self, x, causal=False):
        q, k, v = (_split(t, self.n_heads, mode=self.split) for t in self.qkv(x).split(self.d_model, dim=-1))
        scale = self.d_model if self.scale_dim == "model" else self.d_model // self.n_heads
        scores = q @ k.transpose(-2, -1) / math.sqrt(scale)
        if causal and self.mask != "ignored":
            ones = torch.ones(scores.shape[-2:], dtype=torch.bool)
            allowed = torch.tril(ones) if self.mask == "ok" else torch.triu(ones)
            scores = scores.masked_fill(~allowed, float("-inf"))
        weights = torch.softmax(scores, dim=self.softmax_dim)
        merged = _merge(weights @ v, mode=self.merge)
        return (self.proj(merged) if self.project else merged), weights


def _heads_loop(
    x, qkv_weight, qkv_bias, proj_weight, proj_bias, n_heads, causal, *, strided=False, bias=True
):
    d_model = x.shape[-1]
    d_head = d_model // n_heads
    outputs = []
    for head in range(n_heads):
        rows = slice(head, d_model, n_heads) if strided else slice(head * d_head, (head + 1) * d_head)
        q, k, v = (
            x @ qkv_weight[part * d_model : (part + 1) * d_model][rows].T
            + (qkv_bias[part * d_model : (part + 1) * d_model][rows] if bias else 0.0)
            for part in range(3)
        )
        scores = q @ k.transpose(-2, -1) / math.sqrt(d_head)
        if causal:
            ones = torch.ones(scores.shape[-2:], dtype=torch.bool)
            scores = scores.masked_fill(~torch.tril(ones), float("-inf"))
        outputs.append(torch.softmax(scores, dim=-1) @ v)
    return torch.cat(outputs, dim=-1) @ proj_weight.T + proj_bias


def _copy_to_torch(attention, *, batch_first=True, biases=True):
    layer = nn.MultiheadAttention(attention.d_model, attention.n_heads, batch_first=batch_first).double()
    with torch.no_grad():
        layer.in_proj_weight.copy_(attention.qkv.weight)
        layer.out_proj.weight.copy_(attention.proj.weight)
        if biases:
            layer.in_proj_bias.copy_(attention.qkv.bias)
            layer.out_proj.bias.copy_(attention.proj.bias)
    return layer


MISTAKES = {
    "split_heads": {
        "view_without_transpose": partial(_split, mode="no_transpose"),
        "heads_not_moved": partial(_split, mode="not_moved"),
    },
    "merge_heads": {
        "reshape_without_transpose": partial(_merge, mode="no_transpose"),
        "heads_interleaved": partial(_merge, mode="interleaved"),
    },
    "multi_head_attention": {
        "scale_by_d_model": partial(_MultiHeadAttention, scale_dim="model"),
        "split_without_transpose": partial(_MultiHeadAttention, split="no_transpose"),
        "merge_without_transpose": partial(_MultiHeadAttention, merge="no_transpose"),
        "no_output_projection": partial(_MultiHeadAttention, project=False),
        "causal_mask_ignored": partial(_MultiHeadAttention, mask="ignored"),
        "causal_mask_upper": partial(_MultiHeadAttention, mask="upper"),
        "softmax_over_queries": partial(_MultiHeadAttention, softmax_dim=-2),
    },
    "attention_heads_loop": {
        "strided_head_slices": partial(_heads_loop, strided=True),
        "qkv_bias_forgotten": partial(_heads_loop, bias=False),
    },
    "copy_to_torch": {
        "not_batch_first": partial(_copy_to_torch, batch_first=False),
        "biases_not_copied": partial(_copy_to_torch, biases=False),
    },
}
