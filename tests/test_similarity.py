"""Screening for shared work, on generated classes of lesson 03: copies with renamed variables and reflowed
code are found; a class writing the answers independently, in the natural styles, is left alone."""

import random

import pytest

from grader.similarity import fingerprints, normalised_tokens, released_starters, screen

LESSON = "03_qkv"

# Each answer is assembled from natural choices, the way independent learners differ: which operations,
# in which order, through which intermediate names.
PROJECT = [
    ["", "    x = np.asarray(x)\n", "    assert x.shape[-1] == w_q.shape[0]\n"],
    [
        "    return x @ w_q, x @ w_k, x @ w_v\n",
        "    {a} = x @ w_q\n    {b} = x @ w_k\n    {c} = x @ w_v\n    return {a}, {b}, {c}\n",
        "    {a} = np.matmul(x, w_q)\n    {b} = np.matmul(x, w_k)\n    {c} = np.matmul(x, w_v)\n"
        "    return ({a}, {b}, {c})\n",
        "    return tuple(x @ w for w in (w_q, w_k, w_v))\n",
        "    return np.dot(x, w_q), np.dot(x, w_k), np.dot(x, w_v)\n",
        "    {a}, {b}, {c} = [x @ w for w in [w_q, w_k, w_v]]\n    return {a}, {b}, {c}\n",
    ],
]
MASK = [
    ["", "    n = int(n)\n"],
    [
        "    return np.tril(np.ones((n, n), dtype=bool))\n",
        "    return np.tril(np.ones((n, n))).astype(bool)\n",
        "    {a} = np.tril(np.ones((n, n)))\n    return {a} == 1\n",
        "    {a} = np.arange(n)\n    return {a}[None, :] <= {a}[:, None]\n",
        "    {a} = np.arange(n)\n    return {a}[:, None] >= {a}[None, :]\n",
        "    {a} = np.zeros((n, n), dtype=bool)\n    for i in range(n):\n        for j in range(i + 1):\n"
        "            {a}[i, j] = True\n    return {a}\n",
        "    {a} = np.zeros((n, n), dtype=bool)\n    for i in range(n):\n        {a}[i, : i + 1] = True\n"
        "    return {a}\n",
        "    return ~np.triu(np.ones((n, n), dtype=bool), k=1)\n",
        "    return np.tri(n, dtype=bool)\n",
    ],
]
SDPA = [
    [
        "    {d} = q.shape[-1]\n",
        "    {d} = k.shape[-1]\n",
        "    {d} = q.shape[-1]\n    {sc} = np.sqrt({d})\n",
        "",
    ],
    [
        "    {s} = q @ np.swapaxes(k, -1, -2) / {root}\n",
        "    {s} = np.matmul(q, np.swapaxes(k, -2, -1)) / {root}\n",
        "    {s} = (q @ k.swapaxes(-1, -2)) / {root}\n",
        "    {s} = np.einsum('...qd,...kd->...qk', q, k) / {root}\n",
        "    {s} = q @ np.moveaxis(k, -1, -2)\n    {s} = {s} / {root}\n",
        "    {kt} = np.swapaxes(k, -1, -2)\n    {s} = np.matmul(q, {kt}) / {root}\n",
    ],
    [
        "    if mask is not None:\n        {s} = np.where(mask, {s}, -np.inf)\n",
        "    if mask is not None:\n        {s} = np.where(mask == False, -np.inf, {s})\n",
        "    if mask is not None:\n        {s} = {s}.copy()\n        {s}[..., ~mask] = -np.inf\n",
        "    if mask is not None:\n        {s} = np.where(np.asarray(mask, dtype=bool), {s}, -np.inf)\n",
        "    if mask is not None:\n        {s} = np.where(~mask, -np.inf, {s})\n",
    ],
    [
        "    {w} = softmax({s})\n    return {w} @ v, {w}\n",
        "    {w} = softmax({s}, axis=-1)\n    {o} = {w} @ v\n    return {o}, {w}\n",
        "    {w} = softmax({s})\n    {o} = np.matmul({w}, v)\n    return ({o}, {w})\n",
        "    {w} = softmax({s}, axis=-1)\n    return np.einsum('...qk,...kd->...qd', {w}, v), {w}\n",
        "    {w} = softmax({s})\n    {o} = {w} @ v\n    return {o}, {w}\n",
    ],
]
ENTROPY = [
    ["", "    weights = np.asarray(weights, dtype=float)\n"],
    [
        "    {t} = np.where(weights > 0, weights * np.log(np.where(weights > 0, weights, 1)), 0)\n"
        "    return -{t}.sum(axis=-1)\n",
        "    {l} = np.log(weights, where=weights > 0, out=np.zeros_like(weights))\n"
        "    return -np.sum(weights * {l}, axis=-1)\n",
        "    {p} = np.clip(weights, 1e-300, None)\n    return -(weights * np.log({p})).sum(-1)\n",
        "    {l} = np.zeros_like(weights)\n    {l}[weights > 0] = np.log(weights[weights > 0])\n"
        "    return -np.sum(weights * {l}, axis=-1)\n",
        "    with np.errstate(divide='ignore', invalid='ignore'):\n        {t} = weights * np.log(weights)\n"
        "    return -np.nansum({t}, axis=-1)\n",
        "    {t} = -weights * np.log(weights + 1e-300)\n    return {t}.sum(axis=-1)\n",
        "    {p} = np.where(weights == 0, 1.0, weights)\n"
        "    return -np.sum(weights * np.log({p}), axis=-1)\n",
    ],
]
PARTS = {
    "project_qkv": ("def project_qkv(x, w_q, w_k, w_v):\n", PROJECT),
    "causal_mask": ("def causal_mask(n):\n", MASK),
    "scaled_dot_product_attention": ("def scaled_dot_product_attention(q, k, v, mask=None):\n", SDPA),
    "attention_entropy": ("def attention_entropy(weights):\n", ENTROPY),
}
NAMES = {
    "a": ["q_", "queries", "mat", "idx", "allowed", "res", "m"],
    "b": ["k_", "keys", "key_mat", "kk"],
    "c": ["v_", "values", "val", "vv"],
    "d": ["d", "d_k", "dim", "dk", "depth"],
    "s": ["scores", "s", "logits", "att", "similarity", "raw"],
    "w": ["weights", "w", "attn", "probs", "p_attn"],
    "o": ["out", "output", "result", "context"],
    "t": ["terms", "plogp", "t", "contrib"],
    "l": ["logs", "log_w", "lw", "logp"],
    "p": ["safe", "clipped", "w_safe"],
    "sc": ["scale", "root", "norm"],
    "kt": ["k_t", "kT", "keys_t"],
}


def independent_answers(rng: random.Random) -> dict[str, str]:
    """One learner's lesson-03 answers, each choice and name their own."""
    names = {key: rng.choice(options) for key, options in NAMES.items()}
    answers = {}
    for exercise, (header, choice_points) in PARTS.items():
        chosen = [rng.choice(alternatives) for alternatives in choice_points]
        body = "".join(chosen).format(**names, root=_square_root(chosen[0], names))
        comment = rng.choice(["", "    # my answer\n", "    # scores -> softmax -> mix\n"])
        answers[exercise] = header + comment + body
    return answers


def _square_root(first_line: str, names: dict[str, str]) -> str:
    """How the attention answer divides, given what its first line computed (if anything)."""
    if "np.sqrt" in first_line:
        return names["sc"]
    return f"np.sqrt({names['d']})" if first_line else "np.sqrt(q.shape[-1])"


def renamed_and_reflowed(answers: dict[str, str]) -> dict[str, str]:
    """What a copier hands in: the same code, other names, comments and blank lines, one call reflowed."""
    copied = {}
    for exercise, source in answers.items():
        for old, new in (("scores", "zz"), ("weights =", "ww ="), ("out", "res2"), ("logits", "lg")):
            source = source.replace(old, new)
        source = source.replace("\n    return", "\n\n    # done\n    return").replace(", ", ",\n        ", 1)
        copied[exercise] = source
    return copied


@pytest.fixture(scope="module")
def starters():
    return released_starters(LESSON)


def honest_class(size: int, seed: int) -> dict[str, dict[str, str]]:
    rng = random.Random(seed)
    return {f"learner{number:02d}": independent_answers(rng) for number in range(size)}


def test_names_comments_and_layout_do_not_count():
    first = "def f(x):\n    total = x.sum(axis=-1)  # sum\n    return x / total\n"
    second = "def f(x):\n\n    s = x.sum(\n        axis=-1\n    )\n    return x / s\n"
    assert normalised_tokens(first) == normalised_tokens(second)
    assert normalised_tokens(first) != normalised_tokens(first.replace("sum", "mean"))
    assert normalised_tokens(first) != normalised_tokens(first.replace("-1", "-2"))


def test_a_shared_stretch_always_leaves_a_fingerprint_in_both():
    shared = "    scores = q @ np.swapaxes(k, -1, -2) / np.sqrt(d)\n    w = softmax(scores)\n"
    first = fingerprints(normalised_tokens("def f(q, k):\n    a = 1\n" + shared + "    return w\n"))
    second = fingerprints(normalised_tokens("def g(q, k, v):\n    b = q + k\n    c = b * 2\n" + shared))
    assert first & second


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_class_writing_independently_is_not_listed(starters, seed):
    assert screen(honest_class(20, seed), starters) == []


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_copy_with_renamed_variables_and_reflowed_code_is_listed(starters, seed):
    answers = honest_class(20, seed)
    answers["copier"] = renamed_and_reflowed(answers["learner07"])
    listed = screen(answers, starters)
    assert [(work.first, work.second) for work in listed] == [("copier", "learner07")]
    assert "shared" in listed[0].reasons[0]


def test_the_starter_code_shared_by_everyone_counts_for_nothing(starters):
    unanswered = {f"learner{number}": dict(starters) for number in range(6)}
    assert screen(unanswered, starters) == []


def test_the_same_unusual_wrong_outputs_are_listed_with_that_reason(starters):
    answers = honest_class(20, 4)
    wrong = {learner: {} for learner in answers}
    wrong["learner03"]["scaled_dot_product_attention"] = "digest-of-odd-numbers"
    wrong["learner11"]["scaled_dot_product_attention"] = "digest-of-odd-numbers"
    wrong["learner05"]["scaled_dot_product_attention"] = "another-wrong-answer"
    listed = screen(answers, starters, wrong)
    assert [(work.first, work.second) for work in listed] == [("learner03", "learner11")]
    assert "same unusual wrong numbers" in listed[0].reasons[0]


def test_a_wrong_answer_much_of_the_class_returns_is_a_misconception_not_shared_work(starters):
    answers = honest_class(20, 5)
    wrong = {learner: {"attention_entropy": "the-common-wrong-answer"} for learner in list(answers)[:8]}
    assert screen(answers, starters, wrong) == []
