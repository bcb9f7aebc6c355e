"""Lesson 06, a tiny GPT: batches, the loss, a training step, generation, and the trained model itself."""

from __future__ import annotations

from typing import Any

import numpy as np

from course_lib.exercises.torch_support import build_module, call_function, linear_state, to_torch
from course_lib.registry import Case, Exercise, Mistake, register

LESSON = "06_gpt"
ACCURACY_BAR = 0.9
"""Share of held-out sentences the trained model must complete with a feeling of the right kind."""
UNTRAINED_BELOW = 0.2
"""Held-out accuracy under which a model has most likely not been trained: untrained lesson-06 models get
0-8 % on the held-out compositions (seeds 0-4), the bigram baseline 22 %."""


def _batch_cases(rng: np.random.Generator) -> list[Case]:
    return [
        {"data": np.arange(20), "starts": np.array([1, 5, 10]), "context_length": 4},
        {"data": np.arange(100, 130), "starts": np.array([3]), "context_length": 8},
        {
            "data": rng.integers(0, 50, size=64),
            "starts": rng.integers(1, 64 - 9, size=5),
            "context_length": 8,
        },
    ]


register(
    Exercise(
        id="get_batch",
        lesson=LESSON,
        target="get_batch",
        points=2,
        make_cases=_batch_cases,
        call=call_function,
        output="a tuple (x, y) of integer tensors, both (len(starts), context_length); y is x shifted by one",
        catalogue=("targets_not_shifted",),
        mistakes=(
            Mistake(
                "targets_not_shifted",
                "Your targets are the inputs themselves, so the model would learn to copy the current word. "
                "The target at each position is the *next* word: y = data[start + 1 : start + 1 + "
                "context_length].",
                kind="targets_not_shifted",
            ),
            Mistake(
                "shifted_the_wrong_way",
                "Your targets are shifted backwards (the previous word). The target at each position is the "
                "next word: y starts one step *after* x.",
                kind="targets_not_shifted",
            ),
        ),
    )
)


def _loss_cases(rng: np.random.Generator) -> list[Case]:
    def case(batch, seq_len, vocab, shift=0.0, spread=1.0):
        return {
            "logits": rng.normal(size=(batch, seq_len, vocab)) * spread + shift,
            "targets": rng.integers(0, vocab, size=(batch, seq_len)),
        }

    # shift=1000 overflows exp(); spread=2000 leaves most probabilities below float64's smallest number,
    # so the log of a softmax is -inf there.
    # Always one target 2000 below the other logits: its softmax probability is 0 in float64 on every draw.
    far_below = case(1, 2, 4)
    far_below["logits"][..., 0] -= 2000.0
    far_below["targets"][:] = 0
    return [
        case(1, 3, 5),
        case(2, 4, 7),
        case(3, 2, 6, shift=1000.0),
        case(2, 3, 4, spread=200.0),
        case(2, 3, 5, spread=2000.0),
        far_below,
    ]


register(
    Exercise(
        id="cross_entropy",
        lesson=LESSON,
        target="cross_entropy",
        points=3,
        forbidden=("cross_entropy", "log_softmax", "nll_loss", "CrossEntropyLoss", "NLLLoss", "LogSoftmax"),
        make_cases=_loss_cases,
        call=call_function,
        output="a 0-dimensional float tensor: the mean, over every position, of -log p(target)",
        catalogue=("softmax_axis", "overflow"),
        mistakes=(
            Mistake(
                "sum_instead_of_mean",
                "You summed the losses of all positions; take their mean, so the loss does not grow with "
                "the batch size.",
            ),
            Mistake(
                "unstable_log_softmax",
                "Your loss overflows for large logits: log(exp(x) / sum(exp(x))) computes exp(1000). Use "
                "log p = x - logsumexp(x): `logits - torch.logsumexp(logits, dim=-1, keepdim=True)`.",
                kind="overflow",
            ),
            Mistake(
                "log_of_softmax",
                "Your loss is inf for widely spread logits: the softmax of a logit far below the largest "
                "is smaller than float64 can hold, it becomes 0, and log(0) = -inf. Compute the "
                "log-probabilities directly, never as the log of a probability: "
                "`logits - torch.logsumexp(logits, dim=-1, keepdim=True)`.",
                kind="overflow",
            ),
            Mistake(
                "softmax_over_positions",
                "You normalised over the positions. The probabilities at each position are over the "
                "vocabulary: the last dimension.",
                kind="softmax_axis",
            ),
            Mistake(
                "missing_minus",
                "Your loss is negative: cross-entropy is *minus* the mean log-probability of the targets.",
            ),
        ),
    )
)


def _toy_state(rng: np.random.Generator, vocab_size: int) -> dict[str, np.ndarray]:
    return {
        "own.weight": rng.normal(size=(vocab_size, vocab_size)),
        "past.weight": rng.normal(size=(vocab_size, vocab_size)),
    }


def _train_cases(rng: np.random.Generator) -> list[Case]:
    def case(vocab, batch, seq_len, lr):
        return {
            "init": {"vocab_size": vocab, "context_length": seq_len},
            "state": _toy_state(rng, vocab),
            "batches": {
                "x1": rng.integers(0, vocab, size=(batch, seq_len)),
                "y1": rng.integers(0, vocab, size=(batch, seq_len)),
                "x2": rng.integers(0, vocab, size=(batch, seq_len)),
                "y2": rng.integers(0, vocab, size=(batch, seq_len)),
            },
            "lr": lr,
        }

    return [case(5, 2, 3, 0.5), case(8, 3, 4, 0.1)]


def _run_train_step(learner: Any, case: Case) -> Any:
    import torch

    from course_lib.training import ToyLanguageModel

    model = build_module(ToyLanguageModel, case["init"], case["state"]).train()
    optimizer = torch.optim.SGD(model.parameters(), lr=case["lr"], momentum=0.9)
    batches = to_torch(case["batches"])
    first = learner(model, optimizer, batches["x1"], batches["y1"])
    second = learner(model, optimizer, batches["x2"], batches["y2"])
    losses = [float(loss) for loss in (first, second)]
    return np.array(losses), model.own.weight.detach(), model.past.weight.detach()


register(
    Exercise(
        id="train_step",
        lesson=LESSON,
        target="train_step",
        points=3,
        make_cases=_train_cases,
        call=_run_train_step,
        rtol=1e-6,
        atol=1e-8,
        output=(
            "train_step returns the loss as a Python float; after two calls (two batches) the model's "
            "weights must be those of two correct SGD steps"
        ),
        mistakes=(
            Mistake(
                "no_zero_grad",
                "Your second step also used the first step's gradients: PyTorch *adds* new gradients to "
                "old ones. Call `optimizer.zero_grad()` before `loss.backward()`.",
            ),
            Mistake(
                "no_step",
                "The weights never change: call `optimizer.step()` after `loss.backward()`, and do not "
                "clear the gradients in between. The order is zero_grad, forward, loss, backward, step.",
            ),
        ),
    )
)


def _generate_cases(rng: np.random.Generator) -> list[Case]:
    def case(vocab, batch, prompt_len, n_new, temperature, seed, context_length, scale=1.0):
        return {
            "init": {"vocab_size": vocab, "context_length": context_length},
            "state": {name: scale * weight for name, weight in _toy_state(rng, vocab).items()},
            "idx": rng.integers(0, vocab, size=(batch, prompt_len)),
            "n_new_tokens": n_new,
            "temperature": temperature,
            "seed": seed,
        }

    return [
        case(6, 1, 2, 4, 0.0, 0, 8),
        case(9, 3, 3, 5, 0.0, 0, 4),
        case(7, 2, 2, 6, 1.0, 11, 5),
        case(7, 2, 3, 4, 0.3, 12, 8),
        # logits in the thousands: a softmax written as exp / sum overflows, torch.softmax does not
        case(6, 2, 2, 3, 1.0, 13, 8, scale=1000.0),
    ]


def _run_generate(learner: Any, case: Case) -> Any:
    import torch

    from course_lib.training import ToyLanguageModel

    model = build_module(ToyLanguageModel, case["init"], case["state"])
    generator = torch.Generator().manual_seed(case["seed"])
    with torch.no_grad():
        return learner(model, to_torch(case["idx"]), case["n_new_tokens"], case["temperature"], generator)


register(
    Exercise(
        id="generate",
        lesson=LESSON,
        target="generate",
        points=3,
        make_cases=_generate_cases,
        call=_run_generate,
        output="an integer tensor (batch, prompt_length + n_new_tokens): the prompt, then the new tokens",
        mistakes=(
            Mistake(
                "first_position",
                "You chose the next token from the logits of the first position. The prediction for the "
                "next token sits at the *last* position: `logits[:, -1, :]`.",
            ),
            Mistake(
                "temperature_multiplied",
                "Divide the logits by the temperature before the softmax; you multiplied.",
            ),
            Mistake(
                "always_greedy",
                "At a temperature above 0 you still picked the most likely token. Only temperature 0 is "
                "greedy; otherwise sample: `torch.multinomial(probabilities, 1, generator=generator)`.",
            ),
            Mistake(
                "generator_not_used",
                "Your samples do not follow the `generator` you were given, so the same seed does not give "
                "the same text. Pass it on: `torch.multinomial(probabilities, 1, generator=generator)`.",
                random_output=True,
            ),
        ),
    )
)


def _heldout_predictions(model: Any) -> np.ndarray:
    """The model's greedy next word after "feeling" for every held-out sentence, in corpus order."""
    import torch

    from course_lib.corpus import make_corpus
    from course_lib.training import heldout_predictions

    if not isinstance(model, torch.nn.Module):
        raise TypeError(f"`model` should be your trained GPT (a torch.nn.Module), not {type(model).__name__}")
    return np.array(heldout_predictions(model, make_corpus()))


def _judge_predictions(predictions: tuple[np.ndarray, ...]) -> str | None:
    from course_lib.corpus import make_corpus, prediction_accuracy

    accuracy = prediction_accuracy(predictions[0].tolist(), make_corpus())
    if accuracy >= ACCURACY_BAR:
        return None
    if_it_trained = "are the targets shifted by one (get_batch), and does the loss fall in the plot?"
    if accuracy < UNTRAINED_BELOW:
        return (
            f"your model gets only {accuracy:.0%} of the held-out feelings right (the bar is "
            f"{ACCURACY_BAR:.0%}), about what a model that was never trained gets: it looks like it has not "
            "been trained yet. Run the training cell to the end (it needs get_batch and train_step to pass "
            f"their checks), then run this check again. If it did train: {if_it_trained}"
        )
    return (
        f"your model completes {accuracy:.0%} of the held-out sentences with the right kind of feeling; "
        f"the bar is {ACCURACY_BAR:.0%}. Did the training cell run to the end? If it did: {if_it_trained}"
    )


register(
    Exercise(
        id="trained_model",
        lesson=LESSON,
        target="model",
        points=4,
        make_cases=lambda rng: [],
        probe=_heldout_predictions,
        judge=_judge_predictions,
        output=f"a trained GPT that gets at least {ACCURACY_BAR:.0%} of the held-out feelings right",
    )
)


def _attention_step_cases(rng: np.random.Generator) -> list[Case]:
    def case(batch, n_past, n_new, d_model, n_heads):
        d_head = d_model // n_heads
        return {
            "init": {"d_model": d_model, "n_heads": n_heads},
            "state": {
                **linear_state(rng, "qkv", d_model, 3 * d_model),
                **linear_state(rng, "proj", d_model, d_model),
            },
            "x": rng.normal(size=(batch, n_new, d_model)),
            "past_keys": rng.normal(size=(batch, n_heads, n_past, d_head)),
            "past_values": rng.normal(size=(batch, n_heads, n_past, d_head)),
        }

    return [
        case(2, 0, 4, 8, 2),  # the prompt, read into an empty cache
        case(1, 5, 1, 12, 3),  # one generation step
        case(2, 3, 3, 8, 4),  # several new positions after a cache: the mask must be shifted
        case(3, 6, 2, 6, 2),
    ]


def _run_attention_step(learner: Any, case: Case) -> Any:
    import torch

    from course_lib.training import AttentionLayer

    layer = build_module(AttentionLayer, case["init"], case["state"])
    inputs = to_torch({name: case[name] for name in ("x", "past_keys", "past_values")})
    with torch.no_grad():
        return learner(layer, **inputs)


_MASK_NOT_SHIFTED = (
    "The new positions do not see the right keys: your mask treats the first new position as position 0. "
    "The new positions come after the n_past cached ones, so new position i may attend to keys "
    "0 .. n_past + i: `torch.ones(n_new, n_past + n_new, dtype=torch.bool).tril(diagonal=n_past)`."
)

register(
    Exercise(
        id="attention_step",
        lesson=LESSON,
        target="attention_step",
        points=4,
        make_cases=_attention_step_cases,
        call=_run_attention_step,
        given=("attention",),
        output=(
            "a tuple (output, keys, values): output (batch, n_new, d_model); keys and values "
            "(batch, n_heads, n_past + n_new, d_head), the cached ones followed by the new ones"
        ),
        catalogue=(
            "softmax_axis",
            "scale",
            "mask_after_softmax",
            "mask_filled_with_zero",
            "mask_triangle",
            "split_heads",
            "merge_heads",
        ),
        mistakes=(
            Mistake("mask_not_shifted", _MASK_NOT_SHIFTED),
            Mistake(
                "no_mask",
                "The new positions see positions after them: when several positions are new (the prompt, "
                "read into an empty cache), each may attend only to the cached keys and to the new ones "
                "up to itself. Mask the scores with "
                "`torch.ones(n_new, n_past + n_new, dtype=torch.bool).tril(diagonal=n_past)`.",
            ),
            Mistake(
                "mask_triangle_swapped",
                "Your mask lets each new position see the positions after it instead of those before: "
                "use tril (keep the lower triangle, shifted by n_past), not triu.",
                kind="mask_triangle",
            ),
            Mistake(
                "mask_after_softmax",
                "You masked after the softmax, so the remaining weights no longer sum to 1. Fill the "
                "masked scores with -inf *before* the softmax.",
                kind="mask_after_softmax",
            ),
            Mistake(
                "mask_filled_with_zero",
                "You filled the masked scores with 0, and exp(0) = 1 still gives those keys weight. Fill "
                'them with `float("-inf")`.',
                kind="mask_filled_with_zero",
            ),
            Mistake(
                "softmax_over_queries",
                "Your softmax runs over the new positions (the queries). Each query's weights are over the "
                "keys, cached and new: `torch.softmax(scores, dim=-1)`.",
                kind="softmax_axis",
            ),
            Mistake(
                "scaled_by_d_model",
                "You divided the scores by sqrt(d_model). Each head compares vectors of d_head = "
                "d_model // n_heads numbers: divide by sqrt(d_head).",
                kind="scale",
            ),
            Mistake(
                "no_scale",
                "Your scores are not scaled: divide q @ k^T by sqrt(d_head).",
                kind="scale",
            ),
            Mistake(
                "split_without_transpose",
                "Your heads are cut out of the wrong numbers: viewing (batch, n_new, d_model) directly as "
                "(batch, n_heads, n_new, d_head) mixes positions and heads. View it as "
                "(batch, n_new, n_heads, d_head), then `.transpose(1, 2)`.",
                kind="split_heads",
            ),
            Mistake(
                "merge_without_transpose",
                "Your heads are merged in the wrong order: (batch, n_heads, n_new, d_head) reshaped "
                "directly to (batch, n_new, d_model) mixes positions and heads. `.transpose(1, 2)` first, "
                "then reshape.",
                kind="merge_heads",
            ),
            Mistake(
                "new_keys_not_returned",
                "The keys and values you return are only the cached ones: append the new positions' keys "
                "and values (`torch.cat([past_keys, k], dim=2)`), or the next step will not see them.",
            ),
            Mistake(
                "new_keys_not_attended",
                "Your new positions attend only to the cached keys: a position also attends to itself "
                "(and the new positions before it). Append the new keys and values first, then attend.",
            ),
        ),
    )
)
