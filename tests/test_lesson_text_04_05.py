"""What lessons 04 and 05 say is true: the numbers their text states about their own outputs, the library
behaviour it describes, what each exercise text promises about its check, and that the cross-attention
check is fair (a right answer written another way passes, wrong ones fail and are named)."""

import math
import re

import nbformat
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from course_lib import casefile
from course_lib.check import run_check
from course_lib.checking import evaluate
from course_lib.registry import get_exercise, lesson_exercises
from grader.cases import build_cases
from grader.paths import ROOT
from grader.reference import load_reference
from tests.conftest import executed_solution, tagged_output

LESSONS = ("04_multihead", "05_decoder")


def _markdown(lesson: str) -> str:
    notebook = nbformat.read(ROOT / "solutions" / f"{lesson}.ipynb", as_version=4)
    return "\n".join(cell.source for cell in notebook.cells if cell.cell_type == "markdown")


def _exercise_texts(lesson: str) -> dict[str, str]:
    """Each exercise's text: the markdown between the previous graded cell and its answer cell."""
    notebook = nbformat.read(ROOT / "solutions" / f"{lesson}.ipynb", as_version=4)
    texts, pending = {}, []
    for cell in notebook.cells:
        nbgrader = cell.metadata.get("nbgrader", {})
        if cell.cell_type == "markdown":
            pending.append(cell.source)
        elif nbgrader.get("solution"):
            texts[nbgrader["grade_id"].removeprefix("answer_")] = "\n".join(pending)
            pending = []
        elif nbgrader.get("grade"):
            pending = []
    return texts


# --- every exercise text says what the check refuses, and stands below its heading -----------------------


@pytest.mark.parametrize("lesson", LESSONS)
def test_each_exercise_text_names_the_library_calls_its_check_refuses(lesson):
    texts = _exercise_texts(lesson)
    for exercise in lesson_exercises(lesson):
        for name in exercise.forbidden:
            assert name in texts[exercise.id], f"{exercise.id}'s text does not say that {name} is refused"


@pytest.mark.parametrize("lesson", LESSONS)
def test_each_exercise_specification_follows_its_heading(lesson):
    for exercise_id, text in _exercise_texts(lesson).items():
        heading = text.rfind("### Exercise")
        assert heading >= 0, f"{exercise_id} has no exercise heading right above it"
        assert re.search(r"\*\*returns?\*\*", text[heading:], re.IGNORECASE), (
            f"{exercise_id}: what it returns is not said below its heading"
        )


def test_given_init_and_written_forward_are_told_apart():
    for lesson in LESSONS:
        for exercise_id, text in _exercise_texts(lesson).items():
            if "forward(self" in text:
                assert "**Given**" in text and "**You write**" in text, exercise_id


# --- lesson 04 -------------------------------------------------------------------------------------------


def test_04_the_direct_view_deals_out_the_start_of_the_sentence():
    printed = tagged_output(executed_solution("04_multihead")[0], "head-split-demo")
    assert "round trip exact: True" in printed
    assert "head 1, split_heads:    [[2.0, 3.0], [10.0, 11.0], [18.0, 19.0]]" in printed
    assert "head 1, direct view:    [[6.0, 7.0], [8.0, 9.0], [10.0, 11.0]]" in printed
    assert "numbers 6 to 11" in " ".join(_markdown("04_multihead").split())


def test_04_loop_and_batched_are_one_model_and_both_are_timed():
    printed = tagged_output(executed_solution("04_multihead")[0], "loop-vs-batched")
    assert "loop == batched: True" in printed
    assert re.search(r"loop [\d.]+ ms, batched [\d.]+ ms per call", printed)


def test_04_both_mask_conventions_as_the_lesson_states_them():
    notebook = executed_solution("04_multihead")[0]
    assert "(attn_mask True = future, forbidden): True" in tagged_output(notebook, "library-layer")
    assert "(attn_mask True = allowed): True" in tagged_output(notebook, "sdpa-mask")
    # And independently of the notebook: nn.MultiheadAttention forbids True, F.sdpa lets True take part.
    torch.manual_seed(0)
    q, k, v = torch.randn(3, 1, 2, 5, 4, dtype=torch.float64).unbind(0)
    allowed = torch.tril(torch.ones(5, 5, dtype=torch.bool))
    scores = (q @ k.transpose(-2, -1) / 2).masked_fill(~allowed, float("-inf"))
    by_hand = torch.softmax(scores, dim=-1) @ v
    assert torch.allclose(F.scaled_dot_product_attention(q, k, v, attn_mask=allowed), by_hand)
    assert torch.allclose(F.scaled_dot_product_attention(q, k, v, is_causal=True), by_hand)
    layer = nn.MultiheadAttention(4, 1, batch_first=True, dtype=torch.float64)
    x = torch.randn(1, 5, 4, dtype=torch.float64)
    with torch.no_grad():
        forbidden, _ = layer(x, x, x, attn_mask=~allowed)
        wq, wk, wv = layer.in_proj_weight.split(4)
        bq, bk, bv = layer.in_proj_bias.split(4)
        qx, kx, vx = x @ wq.T + bq, x @ wk.T + bk, x @ wv.T + bv
        masked = (qx @ kx.transpose(-2, -1) / 2).masked_fill(~allowed, float("-inf"))
        expected = layer.out_proj(torch.softmax(masked, dim=-1) @ vx)
    assert torch.allclose(forbidden, expected)


def test_04_library_layer_defaults_the_lesson_states():
    layer = nn.MultiheadAttention(8, 2)
    assert layer.batch_first is False, "the lesson says the default layout is (seq_len, batch, d_model)"
    assert layer.in_proj_weight.dtype == torch.float32, "the lesson says a new layer holds float32 weights"


def test_04_a_float32_copy_agrees_only_to_about_seven_digits():
    """The reason the lesson gives for building the library layer at the weights' dtype."""
    copy_to_torch = load_reference("04_multihead")["copy_to_torch"]
    mha_class = load_reference("04_multihead")["MultiHeadAttention"]
    torch.manual_seed(0)
    ours = mha_class(8, 2).double()
    with torch.no_grad():  # weights with more digits than float32 holds, as the checks' injected ones
        for parameter in ours.parameters():
            parameter.copy_(torch.randn(parameter.shape, dtype=torch.float64) / 3)
    x = torch.randn(2, 5, 8, dtype=torch.float64)
    float32 = nn.MultiheadAttention(8, 2, batch_first=True)
    with torch.no_grad():
        float32.in_proj_weight.copy_(ours.qkv.weight)
        float32.in_proj_bias.copy_(ours.qkv.bias)
        float32.out_proj.weight.copy_(ours.proj.weight)
        float32.out_proj.bias.copy_(ours.proj.bias)
        expected = ours(x)[0]
        rounded = float32.double()(x, x, x)[0]
        exact = copy_to_torch(ours)(x, x, x)[0]
    error = (rounded - expected).abs().max().item() / expected.abs().max().item()
    assert 1e-9 < error < 1e-5
    assert torch.allclose(exact, expected, rtol=1e-12, atol=1e-12)
    assert "dtype=attention.qkv.weight.dtype" in _exercise_texts("04_multihead")["copy_to_torch"]


# --- lesson 05 -------------------------------------------------------------------------------------------


def test_05_exact_gelu_and_gpt2s_tanh_form_differ_by_less_than_a_thousandth():
    printed = tagged_output(executed_solution("05_decoder")[0], "gelu-gap")
    gap = float(re.search(r"on \[-8, 8\]: ([\d.e+-]+)", printed).group(1))
    assert 1e-5 < gap < 1e-3
    x = torch.linspace(-8, 8, 1001, dtype=torch.float64)
    assert torch.allclose(F.gelu(x), x * 0.5 * (1 + torch.erf(x / math.sqrt(2)))), "default GELU is exact"


def test_05_position_dot_products_depend_only_on_the_offset():
    printed = tagged_output(executed_solution("05_decoder")[0], "position-offsets")
    rows = re.findall(
        r"offset +(\d+): .* from ([\d.-]+) to ([\d.-]+);  sum of cos\(k w_i\) = ([\d.-]+)", printed
    )
    assert [int(row[0]) for row in rows] == [1, 4, 16]
    for _, low, high, formula in rows:
        assert abs(float(high) - float(low)) <= 2e-4 and abs(float(low) - float(formula)) <= 2e-4
    # ...but once added to word vectors and projected, scores are not a function of the offset alone.
    table = load_reference("05_decoder")["sinusoidal_positions"](12, 8).double()
    generator = torch.Generator().manual_seed(0)
    words = torch.randn(12, 8, dtype=torch.float64, generator=generator)
    w_q, w_k = torch.randn(2, 8, 8, dtype=torch.float64, generator=generator)
    scores = ((words + table) @ w_q) @ ((words + table) @ w_k).T
    offset_one = torch.diagonal(scores, offset=1)
    assert offset_one.max() - offset_one.min() > 1.0


def test_05_positions_break_the_permutation_property_and_the_block_is_causal():
    notebook = executed_solution("05_decoder")[0]
    printed = tagged_output(notebook, "permutation")
    assert "without positions: True" in printed and "with positions:    False" in printed
    printed = tagged_output(notebook, "no-peeking")
    assert "earlier positions unchanged: True" in printed and "last position changed:       True" in printed


def test_05_untrained_gpt_prints_its_probability_range_beside_uniform():
    printed = tagged_output(executed_solution("05_decoder")[0], "untrained-gpt")
    low, high = (
        float(x) for x in re.search(r"smallest ([\d.]+), largest ([\d.]+), uniform 0.100", printed).groups()
    )
    assert 0 < low < 0.1 < high < 1


def test_05_the_given_attention_takes_any_numbers_of_queries_and_keys():
    attention = load_reference("05_decoder")["attention"]
    q, k, v = torch.randn(2, 3, 3, 4), torch.randn(2, 3, 6, 4), torch.randn(2, 3, 6, 5)
    output, weights = attention(q, k, v)
    assert output.shape == (2, 3, 3, 5) and weights.shape == (2, 3, 3, 6)
    assert torch.allclose(weights.sum(-1), torch.ones(2, 3, 3))


def test_05_cross_attention_picture_reads_the_word_of_the_same_meaning():
    printed = tagged_output(executed_solution("05_decoder")[0], "cross-attention-picture")
    assert re.findall(r"(\w+) reads '(\w+)' with weight ([\d.]+)", printed) == [
        ("the", "le", "0.97"),
        ("black", "noir", "0.97"),
        ("cat", "chat", "0.97"),
    ]
    (cell,) = [
        c
        for c in executed_solution("05_decoder")[0].cells
        if "cross-attention-picture" in c.metadata.get("tags", [])
    ]
    assert any("image/png" in output.get("data", {}) for output in cell.outputs), "the heatmap is drawn"


def test_05_text_keeps_lesson_06_promises_modest():
    text = " ".join(_markdown("05_decoder").split())
    assert "trains this model" not in text and "Gather, synthesize" not in text
    assert "Lesson 06 trains a GPT built from these same pieces" in text


# --- the cross-attention check is fair --------------------------------------------------------------------


def _inline_cross_attention(x_target, x_source, w_q, w_k, w_v):
    q, k, v = x_target @ w_q, x_source @ w_k, x_source @ w_v
    scores = torch.einsum("bqd,bkd->bqk", q, k) / q.shape[-1] ** 0.5
    scores = scores - scores.amax(dim=-1, keepdim=True)
    weights = scores.exp() / scores.exp().sum(dim=-1, keepdim=True)
    return torch.einsum("bqk,bkd->bqd", weights, v), weights


def _library_cross_attention(x_target, x_source, w_q, w_k, w_v):
    q, k, v = x_target @ w_q, x_source @ w_k, x_source @ w_v
    weights = torch.softmax(q @ k.mT / math.sqrt(w_q.shape[1]), dim=-1)
    return F.scaled_dot_product_attention(q, k, v), weights


@pytest.mark.parametrize("answer", [_inline_cross_attention, _library_cross_attention])
def test_cross_attention_written_another_way_passes_visible_and_hidden_cases(answer):
    exercise = get_exercise("cross_attention")
    assert run_check("cross_attention", answer).passed
    hidden = build_cases(exercise, np.random.default_rng(7))
    assert evaluate(exercise, answer, hidden).passed


def test_cross_attention_cases_cover_what_the_text_promises():
    cases = [case.inputs for case in casefile.load("05_decoder")["cross_attention"]]
    assert any(c["x_target"].shape[1] != c["x_source"].shape[1] for c in cases)
    assert any(c["x_target"].shape[0] > 1 for c in cases)
    assert any(c["w_v"].shape[1] != c["w_k"].shape[1] for c in cases)
    assert any(c["x_target"].shape[2] != c["x_source"].shape[2] for c in cases)


def _given_attention(*arguments, **options):
    return load_reference("05_decoder")["attention"](*arguments, **options)


def _masked(x_target, x_source, w_q, w_k, w_v):
    return _given_attention(x_target @ w_q, x_source @ w_k, x_source @ w_v, causal=True)


def _swapped(x_target, x_source, w_q, w_k, w_v):
    return _given_attention(x_source @ w_q, x_target @ w_k, x_target @ w_v)


def _self_attention(x_target, x_source, w_q, w_k, w_v):
    return _given_attention(x_target @ w_q, x_target @ w_k, x_target @ w_v)


@pytest.mark.parametrize(
    ("mistake_id", "wrong"),
    [("causal_mask", _masked), ("sequences_swapped", _swapped), ("keys_values_from_target", _self_attention)],
)
def test_cross_attention_names_mistakes_made_with_the_given_attention(mistake_id, wrong):
    verdict = run_check("cross_attention", wrong)
    assert not verdict.passed and verdict.mistake_id == mistake_id, verdict.message
