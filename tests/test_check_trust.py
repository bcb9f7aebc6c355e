"""Checks a learner can trust: right answers written another way pass, and a failure says what and where."""

import numpy as np
import pytest
import torch

from course_lib import check
from course_lib.check import run_check
from course_lib.checking import CheckCase, ExerciseFailed, as_output, evaluate
from course_lib.registry import Exercise
from course_lib.widgets import demo_error_text, needs_exercise
from tests.learner_notebook import learner_namespace, released_answer

NATURAL_COPY = """
def copy_to_torch(attention):
    layer = nn.MultiheadAttention(attention.d_model, attention.n_heads, batch_first=True)
    with torch.no_grad():
        layer.in_proj_weight.copy_(attention.qkv.weight)
        layer.in_proj_bias.copy_(attention.qkv.bias)
        layer.out_proj.weight.copy_(attention.proj.weight)
        layer.out_proj.bias.copy_(attention.proj.bias)
    return layer
"""


def test_the_natural_float32_copy_to_torch_passes(capsys):
    namespace = learner_namespace("04_multihead", {"answer_copy_to_torch": NATURAL_COPY})
    assert check("copy_to_torch", namespace["copy_to_torch"]) is True
    assert "✔ copy_to_torch: all" in capsys.readouterr().out


def test_float64_numbers_rounded_through_float32_are_named_as_such():
    namespace = learner_namespace(
        "04_multihead",
        {
            "answer_copy_to_torch": NATURAL_COPY
            + "\n_copy = copy_to_torch\ncopy_to_torch = lambda a: _copy(a).double()\n"
        },
    )
    verdict = run_check("copy_to_torch", namespace["copy_to_torch"])
    assert not verdict.passed
    assert "the precision of float32" in verdict.message


TOY = Exercise(
    id="toy_scale",
    lesson="toy",
    target="scale_values",
    points=1,
    make_cases=lambda rng: [],
    output="an array like x",
    rtol=1e-6,
    atol=1e-9,
)
VALUES = np.array([1e6, 1e-3, 5.0])
TOY_CASES = [CheckCase("case 1", {"x": VALUES}, as_output(VALUES))]


def test_the_worst_value_is_the_one_furthest_outside_its_tolerance():
    # index 0 is off by 0.5 (within 1e-6 * 1e6 = 1), index 1 by 1e-7 (a hundred times its tolerance)
    verdict = evaluate(TOY, lambda x: x + np.array([0.5, 1e-7, 0.0]), TOY_CASES)
    assert "1 of its 3 values are wrong" in verdict.message
    assert "The worst at index (1,): expected 0.001, got 0.0010001." in verdict.message


def test_the_message_shows_enough_digits_to_see_the_difference():
    five = [CheckCase("case 1", {"x": np.array([5.0])}, as_output(np.array([5.0])))]
    verdict = evaluate(TOY, lambda x: x + 4e-5, five)
    assert "expected 5, got 5.00004." in verdict.message
    assert "float32" not in verdict.message


def test_messages_name_what_the_learner_wrote_not_the_exercise_id():
    namespace = learner_namespace("04_multihead")
    with pytest.raises(ExerciseFailed) as failure:
        check("multi_head_attention", namespace["split_heads"])
    assert str(failure.value).startswith("✘ MultiHeadAttention:")


DEMO = """
class LayerNorm:
    def __call__(self, x):
        raise NotImplementedError()

class Block:
    def __call__(self, x):
        return LayerNorm()(x)

def broken(x):
    return [1, 2][x]
"""


def _demo_namespace():
    namespace = {"__name__": "__main__"}
    exec(DEMO, namespace)
    return namespace


def test_a_demo_names_the_unwritten_function_it_reaches(capsys):
    namespace = _demo_namespace()
    with needs_exercise("Block"):
        namespace["Block"]()(0)
    out = capsys.readouterr().out
    assert "This cell uses `Block`, which needs your `LayerNorm`: `LayerNorm` is not written yet." in out


def test_a_demo_catches_any_error_of_the_learners_code(capsys):
    namespace = _demo_namespace()
    with needs_exercise("GPT", "broken"):
        namespace["broken"](5)
    out = capsys.readouterr().out
    assert out.startswith("This cell uses `GPT` and `broken`: `broken` raised IndexError")


def test_a_demo_error_outside_learner_code_lists_every_name():
    try:
        raise ValueError("shapes do not match")
    except ValueError as error:
        text = demo_error_text(error, ("GPT", "next_token_probabilities", "Block"))
    assert text.startswith(
        "This cell uses `GPT`, `next_token_probabilities` and `Block`, and it stopped with"
    )


def test_a_missing_given_cell_is_named():
    namespace = learner_namespace("03_qkv", skip=("given",))
    verdict = run_check("scaled_dot_product_attention", namespace["scaled_dot_product_attention"])
    assert 'calls `softmax`, which this notebook gives you in a cell marked "given"' in verdict.message


def test_an_unwritten_answer_is_told_to_be_written():
    namespace = learner_namespace(
        "05_decoder", {"answer_decoder_block": released_answer("05_decoder", "answer_decoder_block")}
    )
    verdict = run_check("decoder_block", namespace["Block"])
    assert verdict.unwritten and not verdict.deferred
    assert "`Block` is not written yet" in verdict.message


@pytest.mark.parametrize(
    ("lesson", "unwritten", "target", "callers"),
    [
        ("02_lookup", "similarity_scores", "similarity_scores", ("soft_lookup", "hard_lookup")),
        ("05_decoder", "feed_forward", "FeedForward", ("decoder_block", "gpt")),
        ("05_decoder", "layer_norm", "LayerNorm", ("decoder_block", "gpt")),
    ],
)
def test_an_unwritten_helper_defers_the_exercises_that_call_it(lesson, unwritten, target, callers, capsys):
    grade_id = f"answer_{unwritten}"
    namespace = learner_namespace(lesson, {grade_id: released_answer(lesson, grade_id)})
    with pytest.raises(ExerciseFailed, match="is not written yet"):
        check(unwritten, namespace[target])
    for caller in callers:
        verdict = run_check(
            caller,
            namespace[
                {
                    "soft_lookup": "soft_lookup",
                    "hard_lookup": "hard_lookup",
                    "decoder_block": "Block",
                    "gpt": "GPT",
                }[caller]
            ],
        )
        assert verdict.deferred, verdict.message
        assert f"not judged yet. It calls your `{target}`, which is not written yet" in verdict.message


def test_a_helper_that_raises_defers_its_callers():
    broken = released_answer("05_decoder", "answer_feed_forward").replace(
        "raise NotImplementedError()", "return self.proj(self.fc(x).relu()) @ x"
    )
    namespace = learner_namespace("05_decoder", {"answer_feed_forward": broken})
    verdict = run_check("decoder_block", namespace["Block"])
    assert verdict.deferred and "your `FeedForward`, which fails its own check" in verdict.message


def test_torch_is_left_as_it_was():
    assert torch.get_default_dtype() == torch.float32


def test_a_view_of_a_transposed_tensor_gets_a_hint():
    namespace = learner_namespace(
        "04_multihead",
        {
            "answer_merge_heads": (
                "def merge_heads(x):\n"
                "    b, h, t, d = x.shape\n"
                "    return x.transpose(1, 2).view(b, t, h * d)\n"
            )
        },
    )
    verdict = run_check("merge_heads", namespace["merge_heads"])
    assert "use `.reshape(...)`, or `.contiguous().view(...)`" in verdict.message


def test_sampling_from_an_overflowing_softmax_gets_a_hint():
    answer = """
def generate(model, idx, n_new_tokens, temperature=0.0, generator=None):
    for _ in range(n_new_tokens):
        logits = model(idx[:, -model.context_length:])[0][:, -1, :]
        if temperature == 0:
            token = logits.argmax(-1, keepdim=True)
        else:
            e = torch.exp(logits / temperature)
            token = torch.multinomial(e / e.sum(-1, keepdim=True), 1, generator=generator)
        idx = torch.cat([idx, token], dim=1)
    return idx
"""
    namespace = learner_namespace("06_gpt", {"answer_generate": answer})
    verdict = run_check("generate", namespace["generate"])
    assert "a softmax written as exp / sum overflows for large logits" in verdict.message
