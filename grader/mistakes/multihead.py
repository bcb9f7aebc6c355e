"""Known wrong answers to lesson 04's exercises (float64, weights injected by the case)."""

import math
from functools import partial

import torch
import torch.nn.functional as F
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


def _masked_softmax(scores, causal, *, mask="ok", softmax="torch", dim=-1):
    """Causal masking and softmax as the mistakes do them: ``mask`` "ok", "ignored", "upper" (tril/triu
    swapped), "upper_strict" (the diagonal hidden too, so the last row is all -inf), "after" (applied to
    the weights), "zero" (masked scores filled with 0); ``softmax`` "torch" or "naive" (exp / sum)."""
    if causal and mask != "ignored":
        ones = torch.ones(scores.shape[-2:], dtype=torch.bool)
        allowed = {
            "upper": torch.triu(ones),
            "upper_strict": torch.triu(ones, diagonal=1),
        }.get(mask, torch.tril(ones))
        if mask != "after":
            scores = scores.masked_fill(~allowed, 0.0 if mask == "zero" else float("-inf"))
    if softmax == "naive":
        weights = scores.exp() / scores.exp().sum(dim=dim, keepdim=True)
    else:
        weights = torch.softmax(scores, dim=dim)
    if causal and mask == "after":
        weights = weights * allowed
    return weights


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
        softmax="torch",
        softmax_dim=-1,
    ):
        super().__init__()
        self.d_model, self.n_heads = d_model, n_heads
        self.qkv = nn.Linear(d_model, 3 * d_model)
        self.proj = nn.Linear(d_model, d_model)
        self.scale_dim, self.split, self.merge, self.project = scale_dim, split, merge, project
        self.mask, self.softmax, self.softmax_dim = mask, softmax, softmax_dim

    def forward(self, x, causal=False):
        q, k, v = (_split(t, self.n_heads, mode=self.split) for t in self.qkv(x).split(self.d_model, dim=-1))
        scale = {"model": self.d_model, "none": 1}.get(self.scale_dim, self.d_model // self.n_heads)
        scores = q @ k.transpose(-2, -1) / math.sqrt(scale)
        weights = _masked_softmax(scores, causal, mask=self.mask, softmax=self.softmax, dim=self.softmax_dim)
        merged = _merge(weights @ v, mode=self.merge)
        return (self.proj(merged) if self.project else merged), weights


def with_dropout(module_class):
    """``module_class`` with dropout left on: ``F.dropout`` drops values even in eval mode."""

    class WithDropout(module_class):
        def forward(self, *args, **kwargs):
            output = super().forward(*args, **kwargs)
            if isinstance(output, tuple):
                return (F.dropout(output[0], 0.1), *output[1:])
            return F.dropout(output, 0.1)

    return WithDropout


def _heads_loop(
    x,
    qkv_weight,
    qkv_bias,
    proj_weight,
    proj_bias,
    n_heads,
    causal,
    *,
    rows="contiguous",
    bias=True,
    join="cat",
    scale_dim="head",
    **softmax_options,
):
    d_model = x.shape[-1]
    d_head = d_model // n_heads
    outputs = []
    for head in range(n_heads):
        if rows == "packed_per_head":
            block = slice(3 * head * d_head, 3 * (head + 1) * d_head)
            parts = zip(qkv_weight[block].split(d_head), qkv_bias[block].split(d_head), strict=True)
        else:
            heads = (
                slice(head, d_model, n_heads)
                if rows == "strided"
                else slice(head * d_head, (head + 1) * d_head)
            )
            parts = (
                (
                    qkv_weight[part * d_model : (part + 1) * d_model][heads],
                    qkv_bias[part * d_model : (part + 1) * d_model][heads],
                )
                for part in range(3)
            )
        q, k, v = (x @ weight.T + (part_bias if bias else 0.0) for weight, part_bias in parts)
        scale = {"model": d_model, "none": 1}.get(scale_dim, d_head)
        scores = q @ k.transpose(-2, -1) / math.sqrt(scale)
        outputs.append(_masked_softmax(scores, causal, **softmax_options) @ v)
    if join == "interleaved":
        joined = torch.stack(outputs, dim=-1).flatten(-2)
    else:
        joined = torch.cat(outputs[::-1] if join == "reversed" else outputs, dim=-1)
    return joined @ proj_weight.T + proj_bias


def _copy_to_torch(attention, *, batch_first=True, biases=True, out_transposed=False):
    layer = nn.MultiheadAttention(attention.d_model, attention.n_heads, batch_first=batch_first).double()
    with torch.no_grad():
        layer.in_proj_weight.copy_(attention.qkv.weight)
        layer.out_proj.weight.copy_(attention.proj.weight.T if out_transposed else attention.proj.weight)
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
        "no_scale": partial(_MultiHeadAttention, scale_dim="none"),
        "split_without_transpose": partial(_MultiHeadAttention, split="no_transpose"),
        "merge_without_transpose": partial(_MultiHeadAttention, merge="no_transpose"),
        "no_output_projection": partial(_MultiHeadAttention, project=False),
        "causal_mask_ignored": partial(_MultiHeadAttention, mask="ignored"),
        "causal_mask_upper": (
            partial(_MultiHeadAttention, mask="upper"),
            partial(_MultiHeadAttention, mask="upper_strict"),
        ),
        "merge_heads_interleaved": partial(_MultiHeadAttention, merge="interleaved"),
        "mask_after_softmax": partial(_MultiHeadAttention, mask="after"),
        "masked_filled_with_zero": partial(_MultiHeadAttention, mask="zero"),
        "softmax_over_queries": partial(_MultiHeadAttention, softmax_dim=-2),
        "unstable_softmax": partial(_MultiHeadAttention, softmax="naive"),
        "dropout_left_on": with_dropout(_MultiHeadAttention),
    },
    "attention_heads_loop": {
        "strided_head_slices": partial(_heads_loop, rows="strided"),
        "qkv_bias_forgotten": partial(_heads_loop, bias=False),
        "qkv_packed_per_head": partial(_heads_loop, rows="packed_per_head"),
        "heads_concatenated_interleaved": partial(_heads_loop, join="interleaved"),
        "heads_concatenated_reversed": partial(_heads_loop, join="reversed"),
        "scale_by_d_model": partial(_heads_loop, scale_dim="model"),
        "no_scale": partial(_heads_loop, scale_dim="none"),
        "causal_mask_upper": (partial(_heads_loop, mask="upper"), partial(_heads_loop, mask="upper_strict")),
        "mask_after_softmax": partial(_heads_loop, mask="after"),
        "masked_filled_with_zero": partial(_heads_loop, mask="zero"),
        "softmax_over_queries": partial(_heads_loop, dim=-2),
        "unstable_softmax": partial(_heads_loop, softmax="naive"),
    },
    "copy_to_torch": {
        "not_batch_first": partial(_copy_to_torch, batch_first=False),
        "biases_not_copied": partial(_copy_to_torch, biases=False),
        "out_proj_transposed": partial(_copy_to_torch, out_transposed=True),
    },
}
