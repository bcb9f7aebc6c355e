"""Known wrong answers to lesson 06's exercises."""

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
}
