"""Lesson 06's training clears its bar with correct code, every time, and fails it with broken code.

Each run trains the lesson's own model with the lesson's seeds and budget (about 10 s each on 2 cores).
"""

from unittest import mock

import pytest
import torch
import torch.nn.functional as F

from course_lib import BigramBaseline, make_corpus, model_accuracy
from course_lib.exercises.training import ACCURACY_BAR
from course_lib.registry import get_exercise
from grader.reference import load_reference

STEPS, CONTEXT_LENGTH, BATCH_SIZE = 500, 32, 32


@pytest.fixture(scope="module")
def lesson():
    return load_reference("06_gpt")


@pytest.fixture(scope="module")
def corpus():
    return make_corpus(seed=0)


def _train(lesson, corpus, *, get_batch=None, seed=0):
    """The lesson's training cell, with an optional broken piece swapped in."""
    get_batch = get_batch or lesson["get_batch"]
    train_data = torch.tensor(corpus.train_ids())
    torch.manual_seed(seed)
    model = lesson["GPT"](len(corpus.vocabulary), CONTEXT_LENGTH, 64, 4, 2, 256)
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3)
    starts_generator = torch.Generator().manual_seed(seed)
    model.train()
    for _ in range(STEPS):
        starts = torch.randint(len(train_data) - CONTEXT_LENGTH, (BATCH_SIZE,), generator=starts_generator)
        lesson["train_step"](model, optimizer, *get_batch(train_data, starts, CONTEXT_LENGTH))
    return model.eval()


def test_correct_code_clears_the_bar_and_beats_the_bigram(lesson, corpus):
    accuracy = model_accuracy(_train(lesson, corpus), corpus)
    bigram = model_accuracy(BigramBaseline(torch.tensor(corpus.train_ids()), len(corpus.vocabulary)), corpus)
    assert accuracy >= ACCURACY_BAR
    assert accuracy - bigram >= 0.5
    assert bigram < 0.4, "the corpus must not be solvable from the previous word alone"


@pytest.mark.parametrize("seed", [1, 2])
def test_the_bar_does_not_depend_on_a_lucky_seed(lesson, corpus, seed):
    assert model_accuracy(_train(lesson, corpus, seed=seed), corpus) >= ACCURACY_BAR


def test_unshifted_targets_do_not_clear_the_bar(lesson, corpus):
    def copy_targets(data, starts, context_length):
        x = torch.stack([data[start : start + context_length] for start in starts])
        return x, x.clone()

    assert model_accuracy(_train(lesson, corpus, get_batch=copy_targets), corpus) < ACCURACY_BAR


def test_a_model_that_sees_the_future_does_not_clear_the_bar(lesson, corpus):
    fused_attention = F.scaled_dot_product_attention

    def without_mask(q, k, v, is_causal=False):
        return fused_attention(q, k, v, is_causal=False)

    with mock.patch.object(F, "scaled_dot_product_attention", without_mask):
        accuracy = model_accuracy(_train(lesson, corpus), corpus)
    assert accuracy < ACCURACY_BAR


def _check_message(model) -> str | None:
    exercise = get_exercise("trained_model")
    return exercise.judge((exercise.probe(model.eval()),))


def test_the_check_says_so_when_the_model_was_never_trained(lesson, corpus):
    torch.manual_seed(0)
    message = _check_message(lesson["GPT"](len(corpus.vocabulary), CONTEXT_LENGTH, 64, 4, 2, 256))
    assert message is not None and "has not been trained yet" in message


def test_the_check_passes_a_trained_model(lesson, corpus):
    assert _check_message(_train(lesson, corpus)) is None


def test_demo_prompt_is_never_trained_on(corpus):
    assert not any(" ".join(s.words).startswith("Sarah lies still on the bed") for s in corpus.train)
    assert any(" ".join(s.words).startswith("Sarah lies still on the bed") for s in corpus.heldout)
    assert not {s.words for s in corpus.train} & {s.words for s in corpus.heldout}
