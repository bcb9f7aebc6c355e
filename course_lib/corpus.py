"""Lesson 06's training text: short sentences whose last word depends on context several words back.

Every sentence reads ``<name> <situation> [<filler>] , feeling <feeling> .``: the word just before the
feeling is always "feeling", and before that always ",", so the previous word alone (a bigram) cannot
tell *which* feeling comes next; the situation, four to nine words back, can. Names, places and fillers
are shared by all situations. The same seed always gives the same corpus.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass

FEELINGS: dict[str, tuple[str, ...]] = {
    "rest": ("tired", "sleepy", "exhausted"),
    "win": ("happy", "proud"),
    "loss": ("sad", "upset"),
    "fear": ("scared", "nervous"),
    "hunger": ("hungry", "starving"),
}

SITUATIONS: dict[str, tuple[str, ...]] = {
    "rest": (
        "lies still on the bed",
        "rests on the sofa after a long walk",
        "naps quietly on the couch",
        "lies down on the bed after work",
        "sits still in the old armchair",
        "stays in bed all morning",
    ),
    "win": (
        "won the prize at the fair",
        "wins the race in the park",
        "gets the top award at school",
        "scores the winning goal",
        "won the game in the park",
    ),
    "loss": (
        "lost the keys on the way home",
        "misses the last bus home",
        "broke the old vase",
        "lost the game in the park",
        "lost the race at school",
    ),
    "fear": (
        "hears a strange noise in the dark",
        "walks alone in the dark forest",
        "sees a big dog near the gate",
        "hears thunder outside the window",
    ),
    "hunger": (
        "has not eaten since the morning",
        "smells fresh bread in the kitchen",
        "skipped lunch at school",
        "waits for dinner in the kitchen",
    ),
}

NAMES = ("Sarah", "Tom", "Maya", "Leo", "Nina", "Omar", "Ella", "Ben", "Ava", "Sam")
FILLERS = ("", "today", "again", "now", "tonight", "at last")
DEMO_PROMPT = "Sarah lies still on the bed , feeling"
"""The lesson's question. Every sentence that starts like this is held out from training."""


@dataclass(frozen=True)
class Sentence:
    words: tuple[str, ...]
    category: str

    @property
    def prompt(self) -> tuple[str, ...]:
        """The words up to and including "feeling": what the model sees before it must guess."""
        return self.words[: self.words.index("feeling") + 1]


@dataclass(frozen=True)
class Corpus:
    vocabulary: tuple[str, ...]
    train: tuple[Sentence, ...]
    heldout: tuple[Sentence, ...]

    def encode(self, words: Sequence[str] | str) -> list[int]:
        index = {word: i for i, word in enumerate(self.vocabulary)}
        words = words.split() if isinstance(words, str) else words
        unknown = [word for word in words if word not in index]
        if unknown:
            raise KeyError(f"not in the vocabulary: {unknown}; the model knows {len(self.vocabulary)} words")
        return [index[word] for word in words]

    def decode(self, ids: Sequence[int]) -> str:
        return " ".join(self.vocabulary[int(i)] for i in ids)

    def train_ids(self) -> list[int]:
        """All training sentences, one after the other, as one long list of token ids."""
        return self.encode([word for sentence in self.train for word in sentence.words])

    def category_of(self, word: str) -> str | None:
        return next((name for name, words in FEELINGS.items() if word in words), None)


def _all_sentences() -> list[tuple[str, str, str, str]]:
    return [
        (name, category, situation, filler)
        for category, situations in SITUATIONS.items()
        for name, situation, filler in itertools.product(NAMES, situations, FILLERS)
    ]


def make_corpus(seed: int = 0, heldout_share: float = 0.15, copies: int = 3) -> Corpus:
    """Every (name, situation, filler) combination, each written ``copies`` times with a random feeling of
    its category, shuffled; a share of the combinations (and every demo-prompt sentence) held out."""
    rng = random.Random(seed)
    combinations = _all_sentences()
    rng.shuffle(combinations)
    n_heldout = int(len(combinations) * heldout_share)

    demo_start = DEMO_PROMPT.split(" ,")[0]
    demo = [combo for combo in combinations if f"{combo[0]} {combo[2]}" == demo_start]
    others = [combo for combo in combinations if f"{combo[0]} {combo[2]}" != demo_start]
    cut = max(0, n_heldout - len(demo))
    heldout_combos, train_combos = demo + others[:cut], others[cut:]

    def sentence(name: str, category: str, situation: str, filler: str) -> Sentence:
        words = [
            name,
            *situation.split(),
            *filler.split(),
            ",",
            "feeling",
            rng.choice(FEELINGS[category]),
            ".",
        ]
        return Sentence(tuple(words), category)

    train = [sentence(*combo) for combo in train_combos for _ in range(copies)]
    rng.shuffle(train)
    heldout = [sentence(*combo) for combo in heldout_combos]
    vocabulary = sorted({word for s in train + heldout for word in s.words})
    return Corpus(tuple(vocabulary), tuple(train), tuple(heldout))


def predict_heldout(predict_next: Callable[[list[list[int]]], list[int]], corpus: Corpus) -> list[int]:
    """``predict_next``'s next token after every held-out prompt, in the order of ``corpus.heldout``.

    ``predict_next`` takes a batch of prompts *of equal length* (token ids) and returns one predicted token
    id per prompt; prompts are grouped by length so no padding is needed.
    """
    by_length: dict[int, list[int]] = {}
    for index, sentence in enumerate(corpus.heldout):
        by_length.setdefault(len(sentence.prompt), []).append(index)
    predictions = [0] * len(corpus.heldout)
    for indices in by_length.values():
        batch = [corpus.encode(corpus.heldout[index].prompt) for index in indices]
        for index, predicted in zip(indices, predict_next(batch), strict=True):
            predictions[index] = int(predicted)
    return predictions


def prediction_accuracy(predictions: Sequence[int], corpus: Corpus) -> float:
    """Share of held-out sentences whose predicted word after "feeling" is a feeling of the right kind."""
    if len(predictions) != len(corpus.heldout):
        raise ValueError(f"expected {len(corpus.heldout)} predictions, one per held-out sentence")
    correct = sum(
        0 <= predicted < len(corpus.vocabulary)
        and corpus.category_of(corpus.vocabulary[predicted]) == sentence.category
        for predicted, sentence in zip(predictions, corpus.heldout, strict=True)
    )
    return correct / len(corpus.heldout)
