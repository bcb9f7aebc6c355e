"""Lesson 06's training text: short sentences whose last word depends on context several words back.

Every sentence reads ``<name> <action> <setting> [<filler>] , feeling <feeling> .``, for example
"Tom naps quietly on the sofa today , feeling sleepy .". The word just before the feeling is always
"feeling", and before that always ",", so the previous word alone (a bigram) cannot tell *which* feeling
comes next; the situation, four to nine words back, can.

Each kind of feeling has its own actions and settings, and a situation is any action of a kind with any
setting of the same kind. Some settings belong to several kinds ("in the park" follows a win as well as a
loss; "at home" follows every kind), so there the action alone decides. Names and fillers belong to every
kind.

**Held out: compositions, not sentences.** For each kind, some (action, setting) pairs never occur in the
training text, with any name or filler; every action and every setting of theirs does occur there, with other
partners. The held-out sentences are exactly those pairs, so a model can only complete them by combining
what it learned about the parts. "Sarah lies still on the bed , feeling" is one of them. The same seed
always gives the same corpus.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache

FEELINGS: dict[str, tuple[str, ...]] = {
    "rest": ("tired", "sleepy", "exhausted"),
    "win": ("happy", "proud"),
    "loss": ("sad", "upset"),
    "fear": ("scared", "nervous"),
    "hunger": ("hungry", "starving"),
}

NEUTRAL_SETTING = "at home"
"""A setting of every kind of situation: on its own it says nothing about the feeling."""

ACTIONS: dict[str, tuple[str, ...]] = {
    "rest": ("lies still", "rests", "naps quietly", "sits still", "lies down"),
    "win": (
        "won the prize",
        "wins the race",
        "gets the top award",
        "scores the winning goal",
        "won the game",
    ),
    "loss": ("lost the keys", "misses the last bus", "broke the old vase", "lost the game", "lost the race"),
    "fear": ("hears a strange noise", "walks alone", "sees a big dog", "hears thunder"),
    "hunger": ("has not eaten", "smells fresh bread", "skipped lunch", "waits for dinner"),
}

SETTINGS: dict[str, tuple[str, ...]] = {
    "rest": ("on the bed", "on the sofa", "on the couch", "in the armchair", NEUTRAL_SETTING),
    "win": ("at the fair", "in the park", "at school", "on sports day", NEUTRAL_SETTING),
    "loss": ("on the way home", "in the park", "at school", "at the fair", NEUTRAL_SETTING),
    "fear": ("in the dark", "in the forest", "near the gate", "outside the window", NEUTRAL_SETTING),
    "hunger": ("in the kitchen", "at school", "on the way home", "after a long walk", NEUTRAL_SETTING),
}

NAMES = ("Sarah", "Tom", "Maya", "Leo", "Nina", "Omar", "Ella", "Ben", "Ava", "Sam")
FILLERS = ("", "today", "again", "now", "tonight", "at last")
DEMO_PROMPT = "Sarah lies still on the bed , feeling"
"""The lesson's question: its action and setting are a held-out pair."""
HELDOUT_NAMES_PER_PAIR_AND_FILLER = 2


def heldout_pairs(category: str) -> list[tuple[str, str]]:
    """The (action, setting) pairs of ``category`` that never occur in training: action ``i`` with setting
    ``i``. Every kind has at least as many settings as actions, so each action loses one setting and each
    setting at most one action: every part still occurs in training, with other partners.
    ``heldout_pairs("rest")[0]`` is ("lies still", "on the bed"), the demo prompt's."""
    actions, settings = ACTIONS[category], SETTINGS[category]
    return [(action, settings[i]) for i, action in enumerate(actions)]


@dataclass(frozen=True)
class Sentence:
    words: tuple[str, ...]
    category: str
    action: str = ""
    setting: str = ""

    @property
    def prompt(self) -> tuple[str, ...]:
        """The words up to and including "feeling": what the model sees before it must guess."""
        return self.words[: self.words.index("feeling") + 1]

    @property
    def situation(self) -> tuple[str, ...]:
        """The words after the name, up to the comma: action, setting and filler."""
        return self.words[1 : self.words.index(",")]


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

    def heldout_ids(self) -> list[int]:
        """All held-out sentences, one after the other, as one long list of token ids."""
        return self.encode([word for sentence in self.heldout for word in sentence.words])

    def category_of(self, word: str) -> str | None:
        return next((name for name, words in FEELINGS.items() if word in words), None)


@cache
def make_corpus(seed: int = 0) -> Corpus:
    """Training: every (name, action, setting, filler) of every kind whose (action, setting) pair is not held
    out, once, with a random feeling of its kind, shuffled. Held out: every held-out pair with every filler,
    each under ``HELDOUT_NAMES_PER_PAIR_AND_FILLER`` random names, and the demo prompt's sentence."""
    rng = random.Random(seed)

    def sentence(name: str, category: str, action: str, setting: str, filler: str) -> Sentence:
        situation = f"{action} {setting} {filler}".split()
        feeling = rng.choice(FEELINGS[category])
        return Sentence((name, *situation, ",", "feeling", feeling, "."), category, action, setting)

    train, heldout = [], []
    for category in FEELINGS:
        held = heldout_pairs(category)
        for action, setting in itertools.product(ACTIONS[category], SETTINGS[category]):
            if (action, setting) not in held:
                train += [sentence(n, category, action, setting, f) for n in NAMES for f in FILLERS]
                continue
            for filler in FILLERS:
                names = rng.sample(NAMES, HELDOUT_NAMES_PER_PAIR_AND_FILLER)
                heldout += [sentence(n, category, action, setting, filler) for n in names]
    demo = DEMO_PROMPT.split()
    if not any(s.prompt == tuple(demo) for s in heldout):
        heldout.append(sentence(demo[0], "rest", "lies still", "on the bed", ""))
    rng.shuffle(train)
    vocabulary = sorted({word for s in train + heldout for word in s.words})
    return Corpus(tuple(vocabulary), tuple(train), tuple(heldout))


def by_prompt_length(sentences: Sequence[Sentence]) -> dict[int, list[int]]:
    """The indices of ``sentences`` grouped by the length of their prompts, to batch them without padding."""
    groups: dict[int, list[int]] = {}
    for index, sentence in enumerate(sentences):
        groups.setdefault(len(sentence.prompt), []).append(index)
    return groups


def predict_heldout(predict_next: Callable[[list[list[int]]], list[int]], corpus: Corpus) -> list[int]:
    """``predict_next``'s next token after every held-out prompt, in the order of ``corpus.heldout``.

    ``predict_next`` takes a batch of prompts *of equal length* (token ids) and returns one predicted token
    id per prompt; prompts are grouped by length so no padding is needed.
    """
    predictions = [0] * len(corpus.heldout)
    for indices in by_prompt_length(corpus.heldout).values():
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
