"""Known wrong answers to lesson 05's exercises. The parts a mistake does not touch are built correctly."""

from functools import partial

import torch
import torch.nn.functional as F
from torch import nn

from grader.mistakes.multihead import _MultiHeadAttention, with_dropout


class _FeedForward(nn.Module):
    def __init__(self, d_model, d_hidden, *, activation=F.gelu):
        super().__init__()
        self.fc, self.proj, self.activation = (
            nn.Linear(d_model, d_hidden),
            nn.Linear(d_hidden, d_model),
            activation,
        )

    def forward(self, x):
        return self.proj(self.activation(self.fc(x)))


class _LayerNorm(nn.Module):
    def __init__(self, d_model, eps=1e-5, *, unbiased=False, eps_outside=False, affine=True, dim=-1):
        # unbiased and eps_outside together: dividing by x.std(...) + eps
        super().__init__()
        self.weight, self.bias = nn.Parameter(torch.ones(d_model)), nn.Parameter(torch.zeros(d_model))
        self.eps, self.unbiased, self.eps_outside, self.affine, self.dim = (
            eps,
            unbiased,
            eps_outside,
            affine,
            dim,
        )

    def forward(self, x):
        mean = x.mean(dim=self.dim, keepdim=True)
        var = x.var(dim=self.dim, keepdim=True, unbiased=self.unbiased)
        scale = torch.sqrt(var) + self.eps if self.eps_outside else torch.sqrt(var + self.eps)
        normalised = (x - mean) / scale
        return normalised * self.weight + self.bias if self.affine else normalised


def _positions(n_positions, d_model, *, swap=False, odd_own=False, halves=False):
    position = torch.arange(n_positions, dtype=torch.float64)[:, None]
    dims = torch.arange(d_model)
    exponent = (dims if odd_own else dims - dims % 2) / d_model
    angles = position / 10000 ** exponent[None, :]
    if halves:
        half = torch.arange(0, d_model, 2) / d_model
        angles_half = position / 10000 ** half[None, :]
        return torch.cat([torch.sin(angles_half), torch.cos(angles_half)], dim=-1)
    even = (dims % 2 == 0)[None, :]
    first, second = (torch.cos, torch.sin) if swap else (torch.sin, torch.cos)
    return torch.where(even, first(angles), second(angles))


class _Block(nn.Module):
    def __init__(self, d_model, n_heads, d_hidden, *, style="pre", causal=True):
        # style: "pre" (right), "post", "no_residual", "residual_after_norm", "one_norm" (ln1 twice),
        # "parallel" (the feed-forward reads the block's input, not the attended x)
        super().__init__()
        self.ln1, self.attn = _LayerNorm(d_model), _MultiHeadAttention(d_model, n_heads)
        self.ln2, self.mlp = _LayerNorm(d_model), _FeedForward(d_model, d_hidden)
        self.style, self.causal = style, causal

    def forward(self, x):
        if self.style == "post":
            attended, weights = self.attn(x, causal=self.causal)
            x = self.ln1(x + attended)
            return self.ln2(x + self.mlp(x)), weights
        attended, weights = self.attn(self.ln1(x), causal=self.causal)
        if self.style == "no_residual":
            x = attended
            return self.mlp(self.ln2(x)), weights
        if self.style == "residual_after_norm":
            x = self.ln1(x) + attended
            return self.ln2(x) + self.mlp(self.ln2(x)), weights
        if self.style == "parallel":
            return x + attended + self.mlp(self.ln2(x)), weights
        x = x + attended
        second_norm = self.ln1 if self.style == "one_norm" else self.ln2
        return x + self.mlp(second_norm(x)), weights


class _GPT(nn.Module):
    def __init__(
        self,
        vocab_size,
        context_length,
        d_model,
        n_heads,
        n_layers,
        d_hidden,
        *,
        positions="ok",
        final_norm=True,
        chained=True,
        probabilities=False,
    ):
        super().__init__()
        self.token_embedding = nn.Embedding(vocab_size, d_model)
        self.position_embedding = nn.Embedding(context_length, d_model)
        self.blocks = nn.ModuleList(_Block(d_model, n_heads, d_hidden) for _ in range(n_layers))
        self.ln_f = _LayerNorm(d_model)
        self.head = nn.Linear(d_model, vocab_size, bias=False)
        self.positions, self.final_norm = positions, final_norm
        self.chained, self.probabilities = chained, probabilities

    def forward(self, idx):
        seq_len = idx.shape[1]
        x = self.token_embedding(idx)
        if self.positions == "ok":
            x = x + self.position_embedding(torch.arange(seq_len))
        elif self.positions == "reversed":
            x = x + self.position_embedding(torch.arange(seq_len).flip(0))
        maps, embedded = [], x
        for block in self.blocks:
            x, weights = block(x if self.chained else embedded)
            maps.append(weights)
        if self.final_norm:
            x = self.ln_f(x)
        logits = self.head(x)
        return (torch.softmax(logits, dim=-1) if self.probabilities else logits), torch.stack(maps)


def _next_probabilities(
    logits, temperature, *, position=-1, multiply=False, dim=-1, use_temperature=True, naive=False
):
    last = logits[:, position, :]
    scaled = (last * temperature if multiply else last / temperature) if use_temperature else last
    if naive:
        return scaled.exp() / scaled.exp().sum(dim=dim, keepdim=True)
    return torch.softmax(scaled, dim=dim)


def _next_probabilities_over_positions(logits, temperature):
    return torch.softmax(logits / temperature, dim=1)[:, -1, :]


MISTAKES = {
    "feed_forward": {
        "relu_instead_of_gelu": partial(_FeedForward, activation=F.relu),
        "no_activation": partial(_FeedForward, activation=lambda x: x),
        "gelu_tanh_approximation": partial(_FeedForward, activation=partial(F.gelu, approximate="tanh")),
        "dropout_left_on": with_dropout(_FeedForward),
    },
    "layer_norm": {
        "unbiased_variance": partial(_LayerNorm, unbiased=True),
        "eps_outside_sqrt": partial(_LayerNorm, eps_outside=True),
        "no_affine": partial(_LayerNorm, affine=False),
        "normalised_over_sequence": partial(_LayerNorm, dim=-2),
        "std_plus_eps": partial(_LayerNorm, unbiased=True, eps_outside=True),
    },
    "sinusoidal_positions": {
        "sin_cos_swapped": partial(_positions, swap=True),
        "odd_dims_own_frequency": partial(_positions, odd_own=True),
        "halves_not_interleaved": partial(_positions, halves=True),
    },
    "decoder_block": {
        "post_norm": partial(_Block, style="post"),
        "no_residual": partial(_Block, style="no_residual"),
        "residual_after_norm": partial(_Block, style="residual_after_norm"),
        "not_causal": partial(_Block, causal=False),
        "one_norm_for_both": partial(_Block, style="one_norm"),
        "mlp_on_attention_input": partial(_Block, style="parallel"),
        "dropout_left_on": with_dropout(_Block),
    },
    "gpt": {
        "no_position_embedding": partial(_GPT, positions="none"),
        "no_final_norm": partial(_GPT, final_norm=False),
        "positions_reversed": partial(_GPT, positions="reversed"),
        "blocks_not_chained": partial(_GPT, chained=False),
        "softmax_on_logits": partial(_GPT, probabilities=True),
        "dropout_left_on": with_dropout(_GPT),
    },
    "next_token_probabilities": {
        "first_position": partial(_next_probabilities, position=0),
        "temperature_multiplied": partial(_next_probabilities, multiply=True),
        "softmax_over_batch": partial(_next_probabilities, dim=0),
        "softmax_over_positions": _next_probabilities_over_positions,
        "no_temperature": partial(_next_probabilities, use_temperature=False),
        "unstable_softmax": partial(_next_probabilities, naive=True),
    },
}
