"""Lesson 04, multi-head attention, in PyTorch."""

from __future__ import annotations

from typing import Any

import numpy as np

from course_lib.exercises.torch_support import call_function, call_module, linear_state, to_torch
from course_lib.registry import DROPOUT_LEFT_ON, Case, Exercise, Mistake, register

LESSON = "04_multihead"
RTOL, ATOL = 1e-6, 1e-8


def _split_cases(rng: np.random.Generator) -> list[Case]:
    return [
        {"x": rng.normal(size=(1, 3, 4)), "n_heads": 2},
        {"x": rng.normal(size=(2, 5, 6)), "n_heads": 3},
        {"x": rng.normal(size=(3, 4, 8)), "n_heads": 1},
        {"x": rng.normal(size=(2, 2, 12)), "n_heads": 4},
    ]


register(
    Exercise(
        id="split_heads",
        lesson=LESSON,
        target="split_heads",
        points=2,
        make_cases=_split_cases,
        call=call_function,
        rtol=RTOL,
        atol=ATOL,
        output="a tensor of shape (batch, n_heads, seq_len, d_model // n_heads)",
        catalogue=("split_heads",),
        mistakes=(
            Mistake(
                "view_without_transpose",
                "You reshaped straight to (batch, n_heads, seq_len, d_head). That cuts the sequence into "
                "pieces instead of cutting each word's vector into heads: first view as (batch, seq_len, "
                "n_heads, d_head), then `.transpose(1, 2)`.",
                kind="split_heads",
            ),
            Mistake(
                "heads_not_moved",
                "You split each vector into heads but left the heads on axis 2: the result must be "
                "(batch, n_heads, seq_len, d_head), so `.transpose(1, 2)` after the view.",
                kind="split_heads",
            ),
        ),
    )
)


def _merge_cases(rng: np.random.Generator) -> list[Case]:
    return [
        {"x": rng.normal(size=shape)} for shape in [(1, 2, 3, 2), (2, 3, 5, 2), (2, 4, 4, 3), (1, 1, 3, 5)]
    ]


register(
    Exercise(
        id="merge_heads",
        lesson=LESSON,
        target="merge_heads",
        points=2,
        make_cases=_merge_cases,
        call=call_function,
        rtol=RTOL,
        atol=ATOL,
        output="a tensor of shape (batch, seq_len, n_heads * d_head)",
        catalogue=("merge_heads",),
        mistakes=(
            Mistake(
                "reshape_without_transpose",
                "You reshaped without moving the heads back next to d_head, which mixes words together. "
                "Transpose to (batch, seq_len, n_heads, d_head) first: `x.transpose(1, 2)`, then reshape.",
                kind="merge_heads",
            ),
            Mistake(
                "heads_interleaved",
                "Your heads are merged in the wrong order: the merged vector must hold head 0's d_head "
                "numbers, then head 1's, and so on. Transpose to (batch, seq_len, n_heads, d_head) and "
                "reshape; do not move d_head in front of the heads.",
                kind="merge_heads",
            ),
        ),
    )
)


def _attention_state(rng: np.random.Generator, d_model: int) -> dict[str, np.ndarray]:
    return {**linear_state(rng, "qkv", d_model, 3 * d_model), **linear_state(rng, "proj", d_model, d_model)}


OVERFLOWING = 300.0
"""A scale for x at which the attention scores reach the thousands: exp() of them overflows float64."""


def _mha_cases(rng: np.random.Generator) -> list[Case]:
    def case(batch, seq_len, d_model, n_heads, causal, scale=1.0):
        return {
            "init": {"d_model": d_model, "n_heads": n_heads},
            "state": _attention_state(rng, d_model),
            "inputs": {"x": scale * rng.normal(size=(batch, seq_len, d_model)), "causal": causal},
        }

    return [
        case(1, 3, 4, 2, False),
        case(2, 5, 6, 3, False),
        case(2, 4, 8, 4, True),
        case(3, 6, 8, 2, True),
        case(1, 2, 5, 1, True),
        case(2, 4, 8, 2, True, scale=OVERFLOWING),
    ]


SCALE_BY_D_MODEL = Mistake(
    "scale_by_d_model",
    "You scaled the scores by sqrt(d_model). Each head compares vectors of length d_head, so divide by "
    "sqrt(d_head) = sqrt(d_model // n_heads).",
    kind="scale",
)
NO_SCALE = Mistake(
    "no_scale",
    "You forgot the scale: divide each head's scores q @ k^T by sqrt(d_head), d_head = d_model // n_heads, "
    "before the softmax.",
    kind="scale",
)
CAUSAL_MASK_UPPER = Mistake(
    "causal_mask_upper",
    "Your causal mask hides the past and shows the future (tril/triu swapped). Position t may see "
    "positions <= t: mask the scores where key index > query index, e.g. "
    "`scores.masked_fill(torch.triu(ones, diagonal=1).bool(), float('-inf'))`.",
    kind="mask_triangle",
)
SOFTMAX_OVER_QUERIES = Mistake(
    "softmax_over_queries",
    "The weights in each row should sum to 1 over the keys (dim=-1); yours sum to 1 over the queries: "
    "softmax along the wrong dimension?",
    kind="softmax_axis",
)
UNSTABLE_SOFTMAX = Mistake(
    "unstable_softmax",
    "Your softmax overflows when the scores are large (here x is scaled by 300, so scores reach the "
    "thousands and exp() of them is inf). Use `torch.softmax(scores, dim=-1)`, or subtract each row's "
    "maximum before exponentiating.",
    kind="overflow",
)
MASK_AFTER_SOFTMAX = Mistake(
    "mask_after_softmax",
    "You applied the causal mask after the softmax, so each row's allowed weights no longer sum to 1. "
    "Mask the *scores* (set future ones to -inf) and then take the softmax.",
    kind="mask_after_softmax",
)
MASKED_FILLED_WITH_ZERO = Mistake(
    "masked_filled_with_zero",
    "You filled the masked scores with 0, and exp(0) = 1: the future still gets weight. Fill them with "
    "`float('-inf')`.",
    kind="mask_filled_with_zero",
)

MHA_MISTAKES = (
    SCALE_BY_D_MODEL,
    NO_SCALE,
    Mistake(
        "split_without_transpose",
        "Your heads are split with a reshape/view but no transpose, so each 'head' holds pieces of "
        "different words. View as (batch, seq_len, n_heads, d_head), then `.transpose(1, 2)`.",
        kind="split_heads",
    ),
    Mistake(
        "merge_without_transpose",
        "You merged the heads with a reshape but no transpose, so the merged vectors mix different words. "
        "Transpose back to (batch, seq_len, n_heads, d_head) before reshaping.",
        kind="merge_heads",
    ),
    Mistake(
        "merge_heads_interleaved",
        "Your heads are merged in the wrong order: the merged vector must hold head 0's d_head numbers, "
        "then head 1's, and so on, as `self.proj` expects. Transpose to (batch, seq_len, n_heads, d_head) "
        "and reshape; do not move d_head in front of the heads.",
        kind="merge_heads",
    ),
    Mistake(
        "no_output_projection",
        "You left out the output projection: after merging the heads, apply `self.proj`.",
    ),
    Mistake(
        "causal_mask_ignored",
        "With causal=True the output at position t must not depend on later positions, but yours does: the "
        "mask is not applied. Set the scores above the diagonal to -inf before the softmax.",
    ),
    CAUSAL_MASK_UPPER,
    MASK_AFTER_SOFTMAX,
    MASKED_FILLED_WITH_ZERO,
    SOFTMAX_OVER_QUERIES,
    UNSTABLE_SOFTMAX,
    DROPOUT_LEFT_ON,
)
ATTENTION_CATALOGUE = (
    "softmax_axis",
    "scale",
    "mask_after_softmax",
    "mask_filled_with_zero",
    "mask_triangle",
    "overflow",
)

register(
    Exercise(
        id="multi_head_attention",
        lesson=LESSON,
        target="MultiHeadAttention",
        points=4,
        forbidden=("MultiheadAttention", "scaled_dot_product_attention"),
        make_cases=_mha_cases,
        call=call_module,
        rtol=RTOL,
        atol=ATOL,
        output=(
            "forward(x, causal) returns (output, weights): output (batch, seq_len, d_model), weights "
            "(batch, n_heads, seq_len, seq_len)"
        ),
        uses=("split_heads", "merge_heads"),
        catalogue=(*ATTENTION_CATALOGUE, "split_heads", "merge_heads", "training_mode"),
        mistakes=MHA_MISTAKES,
    )
)


def _loop_cases(rng: np.random.Generator) -> list[Case]:
    def case(batch, seq_len, d_model, n_heads, causal, scale=1.0):
        state = _attention_state(rng, d_model)
        return {
            "x": scale * rng.normal(size=(batch, seq_len, d_model)),
            "qkv_weight": state["qkv.weight"],
            "qkv_bias": state["qkv.bias"],
            "proj_weight": state["proj.weight"],
            "proj_bias": state["proj.bias"],
            "n_heads": n_heads,
            "causal": causal,
        }

    return [
        case(1, 3, 4, 2, False),
        case(2, 5, 6, 3, True),
        case(2, 4, 8, 4, True),
        case(1, 4, 6, 2, True, scale=OVERFLOWING),
    ]


register(
    Exercise(
        id="attention_heads_loop",
        lesson=LESSON,
        target="attention_heads_loop",
        points=2,
        forbidden=("MultiheadAttention", "scaled_dot_product_attention"),
        make_cases=_loop_cases,
        call=call_function,
        rtol=RTOL,
        atol=ATOL,
        output="a tensor of shape (batch, seq_len, d_model), equal to the batched module's output",
        catalogue=(*ATTENTION_CATALOGUE, "head_slices"),
        mistakes=(
            Mistake(
                "strided_head_slices",
                "You gave head h every n_heads-th row of the weights. Head h owns a *contiguous* block: "
                "rows h * d_head to (h + 1) * d_head of each of the q, k and v parts.",
                kind="head_slices",
            ),
            Mistake(
                "qkv_packed_per_head",
                "You took head h's q, k and v from one block of 3 * d_head rows, as if the weights were "
                "packed head by head. They are packed part by part: rows 0 .. d_model - 1 are every "
                "head's q, then come the k rows, then the v rows; head h owns rows h * d_head to "
                "(h + 1) * d_head of each part.",
                kind="head_slices",
            ),
            Mistake(
                "heads_concatenated_interleaved",
                "Your heads are joined in the wrong order: `torch.stack(heads, dim=-1)` and a reshape "
                "interleave their numbers. Concatenate them one after the other, head 0 first: "
                "`torch.cat(heads, dim=-1)`.",
                kind="head_slices",
            ),
            Mistake(
                "heads_concatenated_reversed",
                "Your heads are joined in reverse order: head 0's output must come first. Loop over "
                "`range(n_heads)` and `torch.cat` the outputs in that order.",
                kind="head_slices",
            ),
            SCALE_BY_D_MODEL,
            NO_SCALE,
            CAUSAL_MASK_UPPER,
            MASK_AFTER_SOFTMAX,
            MASKED_FILLED_WITH_ZERO,
            SOFTMAX_OVER_QUERIES,
            UNSTABLE_SOFTMAX,
            Mistake(
                "qkv_bias_forgotten",
                "You sliced the weights correctly but left out the biases: each head's q, k and v get the "
                "matching slice of `qkv_bias` added.",
            ),
        ),
    )
)


class ProjectionWeights:
    """What ``copy_to_torch`` receives: the layers and sizes of a MultiHeadAttention, without forward()."""

    def __init__(self, d_model: int, n_heads: int, state: dict[str, np.ndarray]):
        import torch

        self.d_model, self.n_heads = d_model, n_heads
        self.qkv = torch.nn.Linear(d_model, 3 * d_model).double()
        self.proj = torch.nn.Linear(d_model, d_model).double()
        with torch.no_grad():
            for name, array in state.items():
                layer, parameter = name.split(".")
                getattr(getattr(self, layer), parameter).copy_(torch.from_numpy(array))


def _run_copy_to_torch(learner: Any, case: Case) -> Any:
    import torch

    holder = ProjectionWeights(case["init"]["d_model"], case["init"]["n_heads"], case["state"])
    library_layer = learner(holder)
    if not isinstance(library_layer, torch.nn.MultiheadAttention):
        raise TypeError(
            f"it should return a torch.nn.MultiheadAttention, not a {type(library_layer).__name__}"
        )
    # Run at the layer's own dtype: a float32 layer (PyTorch's default) holding the copied weights is a
    # right answer, compared at float32's precision; converting it would keep its rounded weights anyway.
    library_layer = library_layer.eval()
    inputs = to_torch(case["inputs"])
    x = inputs["x"].to(library_layer.in_proj_weight.dtype)
    seq_len = x.shape[1]
    mask = (
        torch.triu(torch.ones(seq_len, seq_len, dtype=torch.bool), diagonal=1) if inputs["causal"] else None
    )
    with torch.no_grad():
        output, _ = library_layer(x, x, x, attn_mask=mask, need_weights=False)
    return output


register(
    Exercise(
        id="copy_to_torch",
        lesson=LESSON,
        target="copy_to_torch",
        points=2,
        make_cases=_mha_cases,
        call=_run_copy_to_torch,
        rtol=RTOL,
        atol=ATOL,
        output=(
            "a torch.nn.MultiheadAttention(d_model, n_heads, batch_first=True) holding the same weights; "
            "called on x it must give your module's output"
        ),
        mistakes=(
            Mistake(
                "not_batch_first",
                "Your layer treats axis 0 as the sequence. Our tensors are (batch, seq_len, d_model): create "
                "it with `batch_first=True`.",
            ),
            Mistake(
                "biases_not_copied",
                "You copied the weights but not the biases: copy `qkv.bias` into `in_proj_bias` and "
                "`proj.bias` into `out_proj.bias` as well.",
            ),
            Mistake(
                "out_proj_transposed",
                "You copied the output projection's weight transposed. `nn.Linear` and `out_proj` store "
                "their weights the same way, (out_features, in_features): copy `proj.weight` as it is.",
            ),
        ),
    )
)
