"""Screening a graded class for shared work: answers with long rare stretches in common, and learners whose
code returns the same unusual wrong numbers.

Answer code is compared the way MOSS compares programs (Schleimer, Wilkerson and Aiken, *Winnowing: local
algorithms for document fingerprinting*, 2003): each answer becomes a stream of normalised tokens (a
learner's own names, numbers, strings, comments and layout do not count), every k tokens in a row are
hashed, and winnowing keeps the smallest hash of each window as the answer's fingerprints. What the
released starter code already contains is removed first. Short exercises converge honestly (there are only
so many ways to write ``weights @ values``), so a shared fingerprint weighs by how rare it is in the class:
one that most of the class shares counts for nothing.

Identical *wrong* outputs on the same hidden cases are evidence on their own, unless the mistake is a
known, named one that many learners make independently.

The result is a list of pairs worth a look, strongest first, with the reason. It accuses nobody.
"""

from __future__ import annotations

import ast
import builtins
import hashlib
import io
import keyword
import math
import tokenize
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from itertools import combinations

import nbformat

from grader.paths import NOTEBOOKS
from grader.reference import is_answer_cell

K_TOKENS = 6
"""Tokens per hashed stretch: about one short statement (``scores = q @ k.T / np.sqrt(d)`` is 12)."""
WINDOW = 4
"""Winnowing window: any shared stretch of K_TOKENS + WINDOW - 1 tokens leaves a fingerprint in both."""
WORTH_A_LOOK = 0.85
"""A pair is listed when its rarity-weighted shared code is at least this share of the smaller answer set.
On generated lesson-03 classes of 20 (tests/test_similarity.py), a renamed and reflowed copy scored 0.9
to 1.0 and the closest pair of honest learners 0.6 to 0.81, over 40 classes."""
MIN_SHARED_WEIGHT = 12.0
"""... and the shared fingerprints weigh at least this much (a few rare statements), so that a pair of
tiny answers is never listed for a line or two in common."""
COMMON_SHARE = 0.5
"""A fingerprint that at least this share of the class has weighs nothing: it is the natural way to write
that code. Rarer ones weigh more, up to log(class size * COMMON_SHARE) for one only a pair has."""

_LAYOUT = frozenset(
    {tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT, tokenize.ENDMARKER}
)
_KNOWN_MODULES = frozenset({"np", "numpy", "torch", "nn", "F", "math"})


def released_starters(lesson: str) -> dict[str, str]:
    """Exercise id -> the starter code of its answer cell in the released notebook."""
    notebook = nbformat.read(NOTEBOOKS / f"{lesson}.ipynb", as_version=4)
    return {
        cell.metadata["nbgrader"]["grade_id"].removeprefix("answer_"): cell.source
        for cell in notebook.cells
        if is_answer_cell(cell)
    }


def normalised_tokens(source: str, given_names: frozenset[str] = frozenset()) -> list[str]:
    """``source`` as tokens in which the learner's choices of names, strings and layout do not count.

    The names a learner invents become ``N``; kept are Python's keywords and builtins, attribute names
    after a dot (``.sum``, ``.transpose``), the usual module names, and ``given_names`` (the exercise's
    own: the function and its parameters), which say what the code *does*. Strings become ``S``; numbers
    stay (``axis=-2`` is not ``axis=-1``). Comments, line breaks and indentation are dropped. Code that
    does not tokenize (a learner's syntax error) gives the tokens read before the error.
    """
    tokens: list[str] = []
    previous = ""
    try:
        for token in tokenize.generate_tokens(io.StringIO(_without_magics(source)).readline):
            text = _normal_form(token, previous, given_names)
            if text is not None:
                tokens.append(text)
                previous = token.string
    except (tokenize.TokenError, IndentationError, SyntaxError):
        pass
    return tokens


def _without_magics(source: str) -> str:
    return "\n".join(line for line in source.splitlines() if not line.lstrip().startswith(("%", "!")))


def _normal_form(token: tokenize.TokenInfo, previous: str, given_names: frozenset[str]) -> str | None:
    kind, text = token.type, token.string
    if kind in _LAYOUT:
        return None
    if kind == tokenize.STRING or kind in _F_STRING_TOKENS:
        return "S"
    if kind == tokenize.NAME and not (
        keyword.iskeyword(text)
        or text in _BUILTINS
        or text in _KNOWN_MODULES
        or text in given_names
        or previous == "."
    ):
        return "N"
    return text


def given_names(starter: str) -> frozenset[str]:
    """The names the starter code defines for everyone: its functions, classes and their parameters."""
    try:
        tree = ast.parse(_without_magics(starter))
    except SyntaxError:
        return frozenset()
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.arg):
            names.add(node.arg)
    return frozenset(names)


# Python 3.12 splits f-strings into tokens of their own; 3.11 reads one STRING.
_F_STRING_TOKENS = {
    getattr(tokenize, name)
    for name in ("FSTRING_START", "FSTRING_MIDDLE", "FSTRING_END")
    if hasattr(tokenize, name)
}
_BUILTINS = frozenset(dir(builtins))


def fingerprints(tokens: list[str], k: int = K_TOKENS, window: int = WINDOW) -> set[int]:
    """The winnowed hashes of ``tokens``' k-grams: in each window of ``window`` consecutive k-gram hashes,
    the smallest, so a long enough shared stretch always leaves one."""
    hashes = [_stable_hash(" ".join(tokens[start : start + k])) for start in range(len(tokens) - k + 1)]
    if len(hashes) <= window:
        return set(hashes)
    return {min(hashes[start : start + window]) for start in range(len(hashes) - window + 1)}


def _stable_hash(text: str) -> int:
    # Python's hash() of a str changes from process to process; a screening must be reproducible.
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "big")


@dataclass(frozen=True)
class SharedWork:
    """A pair of learners worth a look, and why."""

    first: str
    second: str
    strength: float
    """0 to 1 for shared code (the rarity-weighted share of the smaller answer set); above 1 when identical
    wrong outputs are the evidence, so those come first."""
    reasons: tuple[str, ...]
    exercises: tuple[str, ...] = field(default=())
    """The exercises whose answers or outputs they share, for showing the code side by side."""


def screen(
    answers: Mapping[str, Mapping[str, str]],
    starters: Mapping[str, str],
    wrong_outputs: Mapping[str, Mapping[str, str]] | None = None,
) -> list[SharedWork]:
    """The pairs of learners worth a look, strongest first.

    ``answers``: learner -> exercise -> the answer cell's source. ``starters``: exercise -> the released
    answer cell's source (its fingerprints do not count). ``wrong_outputs``: learner -> exercise -> a digest
    of the outputs on the hidden cases, only for answers that are wrong without a named mistake.
    """
    found: dict[tuple[str, str], SharedWork] = {}
    for pair, work in _shared_code(answers, starters).items():
        found[pair] = work
    for pair, work in _shared_wrong_outputs(wrong_outputs or {}).items():
        earlier = found.get(pair)
        if earlier is not None:
            work = SharedWork(
                *pair,
                strength=work.strength + earlier.strength,
                reasons=work.reasons + earlier.reasons,
                exercises=tuple(sorted(set(work.exercises) | set(earlier.exercises))),
            )
        found[pair] = work
    return sorted(found.values(), key=lambda work: (-work.strength, work.first, work.second))


def _shared_code(
    answers: Mapping[str, Mapping[str, str]], starters: Mapping[str, str]
) -> dict[tuple[str, str], SharedWork]:
    prints: dict[str, set[tuple[str, int]]] = {}
    for learner, cells in answers.items():
        prints[learner] = set()
        for exercise, source in cells.items():
            starter = starters.get(exercise, "")
            names = given_names(starter)
            given = fingerprints(normalised_tokens(starter, names))
            own = fingerprints(normalised_tokens(source, names)) - given
            prints[learner] |= {(exercise, value) for value in own}
    weights = _rarity_weights(prints)
    totals = {learner: sum(weights[item] for item in items) for learner, items in prints.items()}
    found = {}
    for first, second in combinations(sorted(prints), 2):
        shared = prints[first] & prints[second]
        shared_weight = sum(weights[item] for item in shared)
        smaller = min(totals[first], totals[second])
        if shared_weight < MIN_SHARED_WEIGHT or smaller == 0:
            continue
        strength = shared_weight / smaller
        if strength < WORTH_A_LOOK:
            continue
        exercises = tuple(sorted({exercise for exercise, _ in shared}))
        reason = (
            f"{strength:.0%} of the rarer code in their answers is shared "
            f"({', '.join(exercises)}), with names, comments and layout set aside"
        )
        found[(first, second)] = SharedWork(first, second, strength, (reason,), exercises)
    return found


def _rarity_weights(prints: Mapping[str, set[tuple[str, int]]]) -> dict[tuple[str, int], float]:
    """Each fingerprint's weight: log(COMMON_SHARE * class size / learners having it), at least 0."""
    counts = Counter(item for items in prints.values() for item in items)
    common = COMMON_SHARE * max(1, len(prints))
    return {item: max(0.0, math.log(common / count)) for item, count in counts.items()}


def _shared_wrong_outputs(
    wrong_outputs: Mapping[str, Mapping[str, str]],
) -> dict[tuple[str, str], SharedWork]:
    groups: dict[tuple[str, str], list[str]] = {}
    for learner, digests in wrong_outputs.items():
        for exercise, digest in digests.items():
            groups.setdefault((exercise, digest), []).append(learner)
    size = max(1, len(wrong_outputs))
    found: dict[tuple[str, str], SharedWork] = {}
    for (exercise, _), learners in sorted(groups.items()):
        # A wrong answer that much of the class returns is a shared misconception, not shared work.
        if len(learners) < 2 or len(learners) > max(2, COMMON_SHARE * size / 5):
            continue
        for pair in combinations(sorted(learners), 2):
            reason = f"the same unusual wrong numbers on every hidden case of {exercise}"
            earlier = found.get(pair)
            reasons = (earlier.reasons if earlier else ()) + (reason,)
            exercises = (earlier.exercises if earlier else ()) + (exercise,)
            found[pair] = SharedWork(*pair, strength=1.0 + len(reasons), reasons=reasons, exercises=exercises)
    return found
