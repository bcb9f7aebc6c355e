"""Known wrong answers to lesson 06's exercises."""

import math
from functools import partial

import torch
import torch.nn.functional as F


def _get_batch(data, starts, context_length, *, target_offset=1):
    x = torch.stack([data[start : start + context_length] for start in starts])
    y = torch.stack(
        [data[start + target_offset : start + target_offset + context_length] for start in starts]
    )
    return x, y


def _cross_entropy(logits, targets, *, reduce="mean", stable=True, dim=-1, sign=-1.0, log_of_softmax=False):
    if log_of_softmax:
        log_probabilities = torch.log(torch.softmax(logits, dim=dim))
    elif stable:
        log_probabilities = logits - torch.logsumexp(logits, dim=dim, keepdim=True)
    else:
        log_probabilities = torch.log(torch.exp(logits) / torch.exp(logits).sum(dim=dim, keepdim=True))
    picked = log_probabilities.gather(-1, targets[..., None])[..., 0]
    return sign * (picked.sum() if reduce == "sum" else picked.mean())


def _train_step(model, optimizer, x, y, *, order="ok"):
    if order != "no_zero_grad":
        optimizer.zero_grad()
    logits, _ = model(x)
    loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1))
    loss.backward()
    if order != "no_step":
        optimizer.step()
    return loss.item()


def _generate(
    model,
    idx,
    n_new_tokens,
    temperature=0.0,
    generator=None,
    *,
    position=-1,
    multiply=False,
    sample=True,
    seeded=True,
):
    for _ in range(n_new_tokens):
        logits, _ = model(idx[:, -model.context_length :])
        last = logits[:, position, :]
        if temperature == 0.0 or not sample:
            next_token = last.argmax(dim=-1, keepdim=True)
        else:
            scaled = last * temperature if multiply else last / temperature
            next_token = torch.multinomial(
                torch.softmax(scaled, dim=-1), 1, generator=generator if seeded else None
            )
        idx = torch.cat([idx, next_token], dim=1)
    return idx


def _attention_step(
    attn,
    x,
    past_keys,
    past_values,
    *,
    mask="shifted",
    fill=float("-inf"),
    mask_after=False,
    softmax_dim=-1,
    scale_by="d_head",
    split_transposed=True,
    merge_transposed=True,
    return_new=True,
    attend_new=True,
):
    batch, n_new, _ = x.shape
    n_heads, d_model = attn.n_heads, attn.d_model
    d_head = d_model // n_heads

    def heads(t):
        if split_transposed:
            return t.view(batch, n_new, n_heads, d_head).transpose(1, 2)
        return t.reshape(batch, n_heads, n_new, d_head)

    q, k, v = (heads(t) for t in attn.qkv(x).split(d_model, dim=-1))
    keys, values = torch.cat([past_keys, k], dim=2), torch.cat([past_values, v], dim=2)
    attended_keys, attended_values = (keys, values) if attend_new else (past_keys, past_values)
    n_past, n_keys = past_keys.shape[2], attended_keys.shape[2]
    scale = {"d_head": math.sqrt(d_head), "d_model": math.sqrt(d_model), "none": 1.0}[scale_by]
    scores = q @ attended_keys.transpose(-2, -1) / scale
    ones = torch.ones(n_new, n_keys, dtype=torch.bool)
    allowed = {
        "shifted": ones.tril(diagonal=n_past),
        "not_shifted": ones.tril(),
        "swapped": ones.triu(diagonal=n_past),
        "none": ones,
    }[mask]
    if mask_after:
        weights = torch.softmax(scores, dim=softmax_dim).masked_fill(~allowed, 0.0)
    else:
        weights = torch.softmax(scores.masked_fill(~allowed, fill), dim=softmax_dim)
    out = weights @ attended_values
    if merge_transposed:
        out = out.transpose(1, 2)
    merged = out.reshape(batch, n_new, d_model)
    return (attn.proj(merged), keys, values) if return_new else (attn.proj(merged), past_keys, past_values)


MISTAKES = {
    "get_batch": {
        "targets_not_shifted": partial(_get_batch, target_offset=0),
        "shifted_the_wrong_way": partial(_get_batch, target_offset=-1),
    },
    "cross_entropy": {
        "sum_instead_of_mean": partial(_cross_entropy, reduce="sum"),
        "unstable_log_softmax": partial(_cross_entropy, stable=False),
        "softmax_over_positions": partial(_cross_entropy, dim=1),
        "missing_minus": partial(_cross_entropy, sign=1.0),
        "log_of_softmax": partial(_cross_entropy, log_of_softmax=True),
    },
    "train_step": {
        "no_zero_grad": partial(_train_step, order="no_zero_grad"),
        "no_step": partial(_train_step, order="no_step"),
    },
    "generate": {
        "first_position": partial(_generate, position=0),
        "temperature_multiplied": partial(_generate, multiply=True),
        "always_greedy": partial(_generate, sample=False),
        "generator_not_used": partial(_generate, seeded=False),
    },
    "attention_step": {
        "mask_not_shifted": partial(_attention_step, mask="not_shifted"),
        "no_mask": partial(_attention_step, mask="none"),
        "mask_triangle_swapped": partial(_attention_step, mask="swapped"),
        "mask_after_softmax": partial(_attention_step, mask_after=True),
        "mask_filled_with_zero": partial(_attention_step, fill=0.0),
        "softmax_over_queries": partial(_attention_step, softmax_dim=-2),
        "scaled_by_d_model": partial(_attention_step, scale_by="d_model"),
        "no_scale": partial(_attention_step, scale_by="none"),
        "split_without_transpose": partial(_attention_step, split_transposed=False),
        "merge_without_transpose": partial(_attention_step, merge_transposed=False),
        "new_keys_not_returned": partial(_attention_step, return_new=False),
        "new_keys_not_attended": partial(_attention_step, attend_new=False),
    },
}
