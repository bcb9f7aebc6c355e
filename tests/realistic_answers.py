# ruff: noqa: E501 - each answer is one learner's code in a string, kept whole to stay readable as code
"""Whole answers written as learners write them (loops, einsum, their own names), right and wrong.

Each wrong answer is tagged with the mistake its check must name; each right one must pass. They are not
the registry's implementations of the mistakes: those prove a diagnosis can fire, these that it fires on
the code learners really write.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

from tests.learner_notebook import released_answer

PASS = "pass"
UNWRITTEN = "        # YOUR CODE HERE\n        raise NotImplementedError()"


def _released(lesson: str, grade_id: str, forward: str) -> str:
    """The class as released, its ``forward`` written as ``forward`` says (a template for str.format)."""
    released = released_answer(lesson, grade_id)
    if UNWRITTEN not in released:
        raise LookupError(
            f"the released {grade_id} has no unwritten forward to fill in; update this template"
        )
    return released.replace(UNWRITTEN, forward)


def _template(text: str, **defaults: str):
    """A maker of answers from ``text``: the parts it is given, ``defaults`` for the rest."""
    return lambda **parts: text.format(**{**defaults, **parts})


@dataclass(frozen=True)
class Answer:
    lesson: str
    exercise_id: str
    expected: str
    """The mistake id the check must name, or PASS."""
    source: str

    @property
    def label(self) -> str:
        return f"{self.exercise_id}-{self.expected}-{zlib.crc32(self.source.encode()) % 10**4}"


def _answers(lesson: str, exercise_id: str, table: list[tuple[str, str]]) -> list[Answer]:
    return [Answer(lesson, exercise_id, expected, source) for expected, source in table]


MOVING_AVERAGE = _answers(
    "01_smoothing",
    "moving_average_weights",
    [
        (
            PASS,
            """
def moving_average_weights(n_points, half_width):
    w = np.zeros((n_points, n_points))
    for i in range(n_points):
        lo, hi = max(0, i - half_width), min(n_points, i + half_width + 1)
        w[i, lo:hi] = 1.0 / (hi - lo)
    return w
""",
        ),
        (
            "not_renormalised_at_edges",
            """
def moving_average_weights(n_points, half_width):
    w = np.zeros((n_points, n_points))
    for i in range(n_points):
        for j in range(n_points):
            if abs(i - j) <= half_width:
                w[i, j] = 1 / (2 * half_width + 1)
    return w
""",
        ),
        (
            "window_too_narrow",
            """
def moving_average_weights(n_points, half_width):
    idx = np.arange(n_points)
    w = (np.abs(idx[:, None] - idx[None, :]) < half_width).astype(float)
    return w / w.sum(axis=1, keepdims=True)
""",
        ),
    ],
)

GAUSSIAN = _answers(
    "01_smoothing",
    "gaussian_weights",
    [
        (
            PASS,
            """
def gaussian_weights(query_times, key_times, sigma):
    d2 = np.subtract.outer(query_times, key_times) ** 2
    logits = -d2 / (2 * sigma * sigma)
    w = np.exp(logits - logits.max(axis=1, keepdims=True))
    return w / w.sum(axis=1, keepdims=True)
""",
        ),
        (
            "underflow",
            """
def gaussian_weights(query_times, key_times, sigma):
    w = np.exp(-((query_times[:, None] - key_times[None, :]) ** 2) / (2 * sigma**2))
    return w / w.sum(axis=1, keepdims=True)
""",
        ),
        (
            "sigma_as_variance",
            """
def gaussian_weights(query_times, key_times, sigma):
    d = (query_times[:, None] - key_times[None, :]) ** 2 / (2 * sigma)
    w = np.exp(-(d - d.min(axis=1, keepdims=True)))
    return w / w.sum(axis=1, keepdims=True)
""",
        ),
        (
            "not_normalised",
            """
def gaussian_weights(query_times, key_times, sigma):
    return np.exp(-((query_times[:, None] - key_times[None, :]) ** 2) / (2 * sigma**2))
""",
        ),
    ],
)

SMOOTH = _answers(
    "01_smoothing",
    "smooth",
    [
        (PASS, 'def smooth(weights, values):\n    return np.einsum("ij,j...->i...", weights, values)\n'),
        ("weights_transposed", "def smooth(weights, values):\n    return weights.T @ values\n"),
    ],
)


SOFTMAX = _answers(
    "02_lookup",
    "softmax",
    [
        (
            PASS,
            """
def softmax(x, axis=-1):
    biggest = np.max(x, axis=axis, keepdims=True)
    e = np.exp(x - biggest)
    return e / np.sum(e, axis=axis, keepdims=True)
""",
        ),
        (
            "no_max_subtraction",
            """
def softmax(x, axis=-1):
    e = np.exp(x)
    return e / np.sum(e, axis=axis, keepdims=True)
""",
        ),
        (
            "global_max",
            """
def softmax(x, axis=-1):
    e = np.exp(x - np.max(x))
    return e / e.sum(axis=axis, keepdims=True)
""",
        ),
        (
            "ignores_axis",
            """
def softmax(x, axis=-1):
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)
""",
        ),
        (
            "normalised_over_everything",
            """
def softmax(x, axis=-1):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum()
""",
        ),
    ],
)

SOFT_LOOKUP = _answers(
    "02_lookup",
    "soft_lookup",
    [
        (
            PASS,
            """
def soft_lookup(queries, keys, values, temperature):
    scores = np.einsum("qd,kd->qk", queries, keys) / temperature
    return softmax(scores, axis=1) @ values
""",
        ),
        (
            "temperature_multiplied",
            """
def soft_lookup(queries, keys, values, temperature):
    return softmax(similarity_scores(queries, keys) * temperature) @ values
""",
        ),
        (
            "unstable_softmax",
            """
def soft_lookup(queries, keys, values, temperature):
    w = np.exp(similarity_scores(queries, keys) / temperature)
    w = w / w.sum(axis=1, keepdims=True)
    return w @ values
""",
        ),
        (
            "softmax_over_queries",
            """
def soft_lookup(queries, keys, values, temperature):
    return softmax(similarity_scores(queries, keys) / temperature, axis=0) @ values
""",
        ),
        (
            "no_temperature",
            """
def soft_lookup(queries, keys, values, temperature):
    return softmax(queries @ keys.T) @ values
""",
        ),
    ],
)

SIMILARITY_AND_HARD = _answers(
    "02_lookup",
    "similarity_scores",
    [
        (
            PASS,
            """
def similarity_scores(queries, keys):
    out = np.zeros((len(queries), len(keys)))
    for i, q in enumerate(queries):
        for j, k in enumerate(keys):
            out[i, j] = np.dot(q, k)
    return out
""",
        ),
        (
            "transposed",
            """
def similarity_scores(queries, keys):
    return keys @ queries.T
""",
        ),
        (
            "cosine",
            """
def similarity_scores(queries, keys):
    q = queries / np.linalg.norm(queries, axis=1, keepdims=True)
    k = keys / np.linalg.norm(keys, axis=1, keepdims=True)
    return q @ k.T
""",
        ),
    ],
) + _answers(
    "02_lookup",
    "hard_lookup",
    [
        (
            PASS,
            """
def hard_lookup(queries, keys, values):
    return values[similarity_scores(queries, keys).argmax(axis=1)]
""",
        ),
        (
            "argmin",
            """
def hard_lookup(queries, keys, values):
    return values[np.argmin(similarity_scores(queries, keys), axis=-1)]
""",
        ),
    ],
)

_SDPA = """
def scaled_dot_product_attention(q, k, v, mask=None):
    d_k = q.shape[-1]
    scores = {scores}
{masking}
{weights}
    return weights @ v, weights
"""
_MASK_INF = "    if mask is not None:\n        scores = np.where(mask, scores, -np.inf)"
_STANDARD = "np.matmul(q, np.swapaxes(k, -1, -2)) / np.sqrt(d_k)"


def _sdpa(scores=_STANDARD, masking=_MASK_INF, weights="    weights = softmax(scores, axis=-1)"):
    return _SDPA.format(scores=scores, masking=masking, weights=weights)


SDPA = _answers(
    "03_qkv",
    "scaled_dot_product_attention",
    [
        (PASS, _sdpa(scores='np.einsum("...qd,...kd->...qk", q, k) / d_k**0.5')),
        (
            PASS,
            _sdpa(masking="    if mask is not None:\n        scores = scores + np.where(mask, 0.0, -np.inf)"),
        ),
        ("no_scale", _sdpa(scores="q @ np.swapaxes(k, -1, -2)")),
        ("scaled_by_d_v", _sdpa(scores="q @ np.swapaxes(k, -1, -2) / np.sqrt(v.shape[-1])")),
        ("scaled_by_d", _sdpa(scores="q @ np.swapaxes(k, -1, -2) / d_k")),
        ("softmax_over_queries", _sdpa(weights="    weights = softmax(scores, axis=-2)")),
        (
            "mask_after_softmax",
            _sdpa(
                masking="",
                weights="    weights = softmax(scores, axis=-1)\n    if mask is not None:\n        weights = weights * mask",
            ),
        ),
        (
            "masked_filled_with_zero",
            _sdpa(masking="    if mask is not None:\n        scores = scores * mask"),
        ),
        (
            "large_negative_fill",
            _sdpa(masking="    if mask is not None:\n        scores = np.where(mask, scores, -1e9)"),
        ),
        (
            "unstable_softmax",
            _sdpa(weights="    e = np.exp(scores)\n    weights = e / e.sum(axis=-1, keepdims=True)"),
        ),
        (
            "fully_masked_row_nan",
            _sdpa(
                weights=(
                    "    e = np.exp(scores - scores.max(axis=-1, keepdims=True))\n"
                    "    weights = e / e.sum(axis=-1, keepdims=True)"
                )
            ),
        ),
        (
            "mask_inverted",
            _sdpa(masking="    if mask is not None:\n        scores = np.where(mask, -np.inf, scores)"),
        ),
    ],
)

CAUSAL_MASK = _answers(
    "03_qkv",
    "causal_mask",
    [
        (PASS, "def causal_mask(n):\n    return np.triu(np.ones((n, n)), k=1) == 0\n"),
        (
            PASS,
            "def causal_mask(n):\n    return np.array([[j <= i for j in range(n)] for i in range(n)], dtype=bool)\n",
        ),
        ("upper_triangle", "def causal_mask(n):\n    return np.triu(np.ones((n, n), dtype=bool))\n"),
        ("excludes_itself", "def causal_mask(n):\n    return np.tril(np.ones((n, n)), -1).astype(bool)\n"),
    ],
)

SPLIT_MERGE = _answers(
    "04_multihead",
    "split_heads",
    [
        (PASS, "def split_heads(x, n_heads):\n    return torch.stack(x.chunk(n_heads, dim=-1), dim=1)\n"),
        (
            PASS,
            "def split_heads(x, n_heads):\n    b, t, c = x.shape\n    return x.reshape(b, t, n_heads, -1).permute(0, 2, 1, 3)\n",
        ),
        (
            "view_without_transpose",
            "def split_heads(x, n_heads):\n    b, t, c = x.shape\n    return x.view(b, n_heads, t, c // n_heads)\n",
        ),
        (
            "heads_not_moved",
            "def split_heads(x, n_heads):\n    b, t, c = x.shape\n    return x.reshape(b, t, n_heads, c // n_heads)\n",
        ),
    ],
) + _answers(
    "04_multihead",
    "merge_heads",
    [
        (PASS, "def merge_heads(x):\n    return torch.cat(x.unbind(dim=1), dim=-1)\n"),
        (
            PASS,
            "def merge_heads(x):\n    b, h, t, d = x.shape\n    return x.transpose(1, 2).contiguous().view(b, t, h * d)\n",
        ),
        (
            "reshape_without_transpose",
            "def merge_heads(x):\n    b, h, t, d = x.shape\n    return x.reshape(b, t, h * d)\n",
        ),
        (
            "heads_interleaved",
            "def merge_heads(x):\n    b, h, t, d = x.shape\n    return x.permute(0, 2, 3, 1).reshape(b, t, h * d)\n",
        ),
    ],
)

_MHA = _released(
    "04_multihead",
    "answer_multi_head_attention",
    """
        B, T, C = x.shape
        hs = C // self.n_heads
        q, k, v = self.qkv(x).chunk(3, dim=-1)
{split}
        att = {scores}
{mask}
{softmax}
        y = att @ v
{merge}
        return {out}, att
""",
)
_SPLIT = "        q, k, v = (t.view(B, T, self.n_heads, hs).transpose(1, 2) for t in (q, k, v))"
_MHA_MASK = (
    "        if causal:\n"
    "            future = torch.triu(torch.ones(T, T, dtype=torch.bool), diagonal=1)\n"
    "            att = att.masked_fill(future, float('-inf'))"
)
_MHA_PARTS = {
    "split": _SPLIT,
    "scores": "(q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(hs))",
    "mask": _MHA_MASK,
    "softmax": "        att = torch.softmax(att, dim=-1)",
    "merge": "        y = y.transpose(1, 2).contiguous().view(B, T, C)",
    "out": "self.proj(y)",
}


_mha = _template(_MHA, **_MHA_PARTS)


_MHA_WRONG = [
    (PASS, _mha()),
    (PASS, _mha(scores='torch.einsum("bhqd,bhkd->bhqk", q, k) / hs**0.5')),
    (
        PASS,
        _mha(
            split="        q, k, v = (split_heads(t, self.n_heads) for t in (q, k, v))",
            merge="        y = merge_heads(y)",
        ),
    ),
    ("scale_by_d_model", _mha(scores="q @ k.transpose(-2, -1) / math.sqrt(C)")),
    ("no_scale", _mha(scores="q @ k.transpose(-2, -1)")),
    (
        "causal_mask_upper",
        _mha(
            mask=(
                "        if causal:\n"
                "            past = torch.tril(torch.ones(T, T), diagonal=-1).bool()\n"
                "            att = att.masked_fill(past, float('-inf'))"
            )
        ),
    ),
    (
        "causal_mask_upper",
        _mha(
            mask=(
                "        if causal:\n"
                "            att = att.masked_fill(torch.tril(torch.ones(T, T)).bool(), float('-inf'))"
            )
        ),
    ),
    ("causal_mask_ignored", _mha(mask="")),
    (
        "mask_after_softmax",
        _mha(
            mask="",
            softmax=(
                "        att = torch.softmax(att, dim=-1)\n"
                "        if causal:\n"
                "            att = att * torch.tril(torch.ones(T, T))"
            ),
        ),
    ),
    (
        "masked_filled_with_zero",
        _mha(
            mask=(
                "        if causal:\n"
                "            att = att.masked_fill(torch.triu(torch.ones(T, T, dtype=torch.bool), 1), 0.0)"
            )
        ),
    ),
    ("unstable_softmax", _mha(softmax="        att = att.exp() / att.exp().sum(dim=-1, keepdim=True)")),
    ("softmax_over_queries", _mha(softmax="        att = torch.softmax(att, dim=2)")),
    (
        "split_without_transpose",
        _mha(split="        q, k, v = (t.reshape(B, self.n_heads, T, hs) for t in (q, k, v))"),
    ),
    ("merge_without_transpose", _mha(merge="        y = y.reshape(B, T, C)")),
    ("merge_heads_interleaved", _mha(merge="        y = y.permute(0, 2, 3, 1).reshape(B, T, C)")),
    ("no_output_projection", _mha(out="y")),
    (
        "dropout_left_on",
        _mha(softmax="        att = nn.functional.dropout(torch.softmax(att, dim=-1), p=0.1)"),
    ),
]
MHA = _answers("04_multihead", "multi_head_attention", _MHA_WRONG)

_LOOP = """
def attention_heads_loop(x, qkv_weight, qkv_bias, proj_weight, proj_bias, n_heads, causal):
    C = x.shape[-1]
    hs = C // n_heads
    w_q, w_k, w_v = qkv_weight.chunk(3)
    b_q, b_k, b_v = qkv_bias.chunk(3)
    heads = []
    for h in {order}:
{slices}
        q = x @ wq.T + {bias}bq
        k = x @ wk.T + {bias}bk
        v = x @ wv.T + {bias}bv
        att = {scores}
        if causal:
            T = x.shape[1]
{mask}
{softmax}
        heads.append(att @ v)
    return {join} @ proj_weight.T + proj_bias
"""
_LOOP_PARTS = {
    "order": "range(n_heads)",
    "slices": (
        "        s = slice(h * hs, (h + 1) * hs)\n"
        "        wq, wk, wv, bq, bk, bv = w_q[s], w_k[s], w_v[s], b_q[s], b_k[s], b_v[s]"
    ),
    "bias": "",
    "scores": "q @ k.transpose(-2, -1) / math.sqrt(hs)",
    "mask": "            att = att.masked_fill(torch.triu(torch.ones(T, T, dtype=torch.bool), 1), float('-inf'))",
    "softmax": "        att = torch.softmax(att, dim=-1)",
    "join": "torch.cat(heads, dim=-1)",
}


_loop = _template(_LOOP, **_LOOP_PARTS)


LOOP = _answers(
    "04_multihead",
    "attention_heads_loop",
    [
        (PASS, _loop()),
        (PASS, _loop(scores='torch.einsum("btd,bsd->bts", q, k) / hs**0.5')),
        (
            "strided_head_slices",
            _loop(
                slices=(
                    "        wq, wk, wv = w_q[h::n_heads], w_k[h::n_heads], w_v[h::n_heads]\n"
                    "        bq, bk, bv = b_q[h::n_heads], b_k[h::n_heads], b_v[h::n_heads]"
                )
            ),
        ),
        (
            "qkv_packed_per_head",
            _loop(
                slices=(
                    "        rows = slice(3 * h * hs, 3 * (h + 1) * hs)\n"
                    "        wq, wk, wv = qkv_weight[rows].chunk(3)\n"
                    "        bq, bk, bv = qkv_bias[rows].chunk(3)"
                )
            ),
        ),
        ("qkv_bias_forgotten", _loop(bias="0 * ")),
        ("heads_concatenated_interleaved", _loop(join="torch.stack(heads, dim=-1).reshape(x.shape)")),
        ("heads_concatenated_reversed", _loop(order="reversed(range(n_heads))")),
        ("scale_by_d_model", _loop(scores="q @ k.transpose(-2, -1) / math.sqrt(C)")),
        ("no_scale", _loop(scores="q @ k.transpose(-2, -1)")),
        (
            "causal_mask_upper",
            _loop(
                mask="            att = att.masked_fill(torch.tril(torch.ones(T, T), -1).bool(), float('-inf'))"
            ),
        ),
        (
            "mask_after_softmax",
            _loop(
                mask="            pass",
                softmax=(
                    "        att = torch.softmax(att, dim=-1)\n"
                    "        if causal:\n"
                    "            att = att.masked_fill(torch.triu(torch.ones(T, T, dtype=torch.bool), 1), 0.0)"
                ),
            ),
        ),
        ("masked_filled_with_zero", _loop(mask="            att = att * torch.tril(torch.ones(T, T))")),
        ("softmax_over_queries", _loop(softmax="        att = torch.softmax(att, dim=-2)")),
        (
            "unstable_softmax",
            _loop(softmax="        att = torch.exp(att) / torch.exp(att).sum(-1, keepdim=True)"),
        ),
    ],
)

_COPY = """
def copy_to_torch(attention):
    mha = nn.MultiheadAttention(attention.d_model, attention.n_heads{options})
    with torch.no_grad():
        mha.in_proj_weight.copy_(attention.qkv.weight)
        mha.out_proj.weight.copy_(attention.proj.weight{transpose})
{biases}
    return mha
"""
_BIASES = (
    "        mha.in_proj_bias.copy_(attention.qkv.bias)\n        mha.out_proj.bias.copy_(attention.proj.bias)"
)


def _copy(options=", batch_first=True", transpose="", biases=_BIASES):
    return _COPY.format(options=options, transpose=transpose, biases=biases)


COPY = _answers(
    "04_multihead",
    "copy_to_torch",
    [
        (PASS, _copy()),
        (PASS, _copy(options=", batch_first=True, dtype=torch.float64")),
        ("not_batch_first", _copy(options="")),
        ("biases_not_copied", _copy(biases="")),
        ("out_proj_transposed", _copy(transpose=".T")),
    ],
)

_FF = _released(
    "05_decoder",
    "answer_feed_forward",
    """
        h = self.fc(x)
        {body}
        return self.proj(h)
""",
)
FEED_FORWARD = _answers(
    "05_decoder",
    "feed_forward",
    [
        (PASS, _FF.format(body="h = 0.5 * h * (1 + torch.erf(h / math.sqrt(2)))")),
        (PASS, _FF.format(body="h = nn.GELU()(h)")),
        ("relu_instead_of_gelu", _FF.format(body="h = torch.relu(h)")),
        ("no_activation", _FF.format(body="pass")),
        ("gelu_tanh_approximation", _FF.format(body="h = nn.GELU(approximate='tanh')(h)")),
        ("dropout_left_on", _FF.format(body="h = F.dropout(F.gelu(h), p=0.1)")),
    ],
)

_LN = _released(
    "05_decoder",
    "answer_layer_norm",
    """
        mu = x.mean(-1, keepdim=True)
        {body}
""",
)
LAYER_NORM = _answers(
    "05_decoder",
    "layer_norm",
    [
        (
            PASS,
            _LN.format(
                body="var = torch.var(x, dim=-1, unbiased=False, keepdim=True)\n        return self.weight * (x - mu) * torch.rsqrt(var + self.eps) + self.bias"
            ),
        ),
        (
            PASS,
            _LN.format(
                body="var = x.var(-1, correction=0, keepdim=True)\n        return (x - mu) / (var + self.eps).sqrt() * self.weight + self.bias"
            ),
        ),
        (
            "unbiased_variance",
            _LN.format(
                body="var = x.var(-1, keepdim=True)\n        return (x - mu) / torch.sqrt(var + self.eps) * self.weight + self.bias"
            ),
        ),
        (
            "eps_outside_sqrt",
            _LN.format(
                body="sd = ((x - mu) ** 2).mean(-1, keepdim=True).sqrt()\n        return (x - mu) / (sd + self.eps) * self.weight + self.bias"
            ),
        ),
        (
            "std_plus_eps",
            _LN.format(
                body="return self.weight * (x - mu) / (x.std(-1, keepdim=True) + self.eps) + self.bias"
            ),
        ),
        (
            "no_affine",
            _LN.format(
                body="var = ((x - mu) ** 2).mean(-1, keepdim=True)\n        return (x - mu) / torch.sqrt(var + self.eps)"
            ),
        ),
        (
            "normalised_over_sequence",
            _LN.format(
                body="mu = x.mean(1, keepdim=True)\n        var = x.var(1, unbiased=False, keepdim=True)\n        return (x - mu) / torch.sqrt(var + self.eps) * self.weight + self.bias"
            ),
        ),
    ],
)

_BLOCK = _released(
    "05_decoder",
    "answer_decoder_block",
    """
{body}
""",
)
BLOCK = _answers(
    "05_decoder",
    "decoder_block",
    [
        (
            PASS,
            _BLOCK.format(
                body="        a, w = self.attn(self.ln1(x), causal=True)\n        h = x + a\n        return h + self.mlp(self.ln2(h)), w"
            ),
        ),
        (
            "post_norm",
            _BLOCK.format(
                body="        a, w = self.attn(x, causal=True)\n        x = self.ln1(x + a)\n        x = self.ln2(x + self.mlp(x))\n        return x, w"
            ),
        ),
        (
            "no_residual",
            _BLOCK.format(
                body="        a, w = self.attn(self.ln1(x), causal=True)\n        return self.mlp(self.ln2(a)), w"
            ),
        ),
        (
            "not_causal",
            _BLOCK.format(
                body="        a, w = self.attn(self.ln1(x))\n        x = x + a\n        return x + self.mlp(self.ln2(x)), w"
            ),
        ),
        (
            "one_norm_for_both",
            _BLOCK.format(
                body="        a, w = self.attn(self.ln1(x), causal=True)\n        x = x + a\n        return x + self.mlp(self.ln1(x)), w"
            ),
        ),
        (
            "mlp_on_attention_input",
            _BLOCK.format(
                body="        a, w = self.attn(self.ln1(x), causal=True)\n        return x + a + self.mlp(self.ln2(x)), w"
            ),
        ),
        (
            "dropout_left_on",
            _BLOCK.format(
                body="        a, w = self.attn(self.ln1(x), causal=True)\n        x = x + F.dropout(a, 0.1)\n        return x + self.mlp(self.ln2(x)), w"
            ),
        ),
    ],
)

_GPT = _released(
    "05_decoder",
    "answer_gpt",
    """
        B, T = idx.shape
{embed}
        maps = []
        for block in self.blocks:
{loop}
            maps.append(w)
{end}
""",
)
_GPT_PARTS = {
    "embed": "        h = self.token_embedding(idx) + self.position_embedding(torch.arange(T).unsqueeze(0))",
    "loop": "            h, w = block(h)",
    "end": "        return self.head(self.ln_f(h)), torch.stack(maps)",
}


_gpt = _template(_GPT, **_GPT_PARTS)


GPT = _answers(
    "05_decoder",
    "gpt",
    [
        (PASS, _gpt()),
        (PASS, _gpt(embed="        h = self.token_embedding(idx) + self.position_embedding.weight[:T]")),
        ("no_position_embedding", _gpt(embed="        h = self.token_embedding(idx)")),
        (
            "positions_reversed",
            _gpt(
                embed="        h = self.token_embedding(idx) + self.position_embedding(torch.arange(T - 1, -1, -1))"
            ),
        ),
        ("no_final_norm", _gpt(end="        return self.head(h), torch.stack(maps)")),
        (
            "blocks_not_chained",
            _gpt(
                embed="        e = self.token_embedding(idx) + self.position_embedding(torch.arange(T))",
                loop="            h, w = block(e)",
            ),
        ),
        (
            "softmax_on_logits",
            _gpt(end="        return torch.softmax(self.head(self.ln_f(h)), dim=-1), torch.stack(maps)"),
        ),
        (
            "dropout_left_on",
            _gpt(
                embed="        h = F.dropout(self.token_embedding(idx) + self.position_embedding(torch.arange(T)), 0.1)"
            ),
        ),
    ],
)

NEXT_TOKEN = _answers(
    "05_decoder",
    "next_token_probabilities",
    [
        (
            PASS,
            "def next_token_probabilities(logits, temperature=1.0):\n    return F.softmax(logits[:, -1] / temperature, dim=-1)\n",
        ),
        (
            PASS,
            "def next_token_probabilities(logits, temperature=1.0):\n    z = logits[:, -1, :] / temperature\n    z = z - z.max(dim=-1, keepdim=True).values\n    return z.exp() / z.exp().sum(-1, keepdim=True)\n",
        ),
        (
            "unstable_softmax",
            "def next_token_probabilities(logits, temperature=1.0):\n    e = torch.exp(logits[:, -1, :] / temperature)\n    return e / e.sum(dim=-1, keepdim=True)\n",
        ),
        (
            "first_position",
            "def next_token_probabilities(logits, temperature=1.0):\n    return torch.softmax(logits[:, 0, :] / temperature, dim=-1)\n",
        ),
        (
            "temperature_multiplied",
            "def next_token_probabilities(logits, temperature=1.0):\n    return torch.softmax(logits[:, -1, :] * temperature, dim=-1)\n",
        ),
        (
            "softmax_over_batch",
            "def next_token_probabilities(logits, temperature=1.0):\n    return torch.softmax(logits[:, -1, :] / temperature, dim=0)\n",
        ),
        (
            "softmax_over_positions",
            "def next_token_probabilities(logits, temperature=1.0):\n    return torch.softmax(logits / temperature, dim=1)[:, -1]\n",
        ),
        (
            "no_temperature",
            "def next_token_probabilities(logits, temperature=1.0):\n    return torch.softmax(logits[:, -1], dim=-1)\n",
        ),
    ],
)

GET_BATCH = _answers(
    "06_gpt",
    "get_batch",
    [
        (
            PASS,
            "def get_batch(data, starts, context_length):\n    offsets = torch.arange(context_length)\n    return data[starts[:, None] + offsets], data[starts[:, None] + offsets + 1]\n",
        ),
        (
            "targets_not_shifted",
            "def get_batch(data, starts, context_length):\n    x = torch.stack([data[s:s + context_length] for s in starts])\n    return x, x.clone()\n",
        ),
        (
            "shifted_the_wrong_way",
            "def get_batch(data, starts, context_length):\n    x = torch.stack([data[s:s + context_length] for s in starts])\n    y = torch.stack([data[s - 1:s - 1 + context_length] for s in starts])\n    return x, y\n",
        ),
    ],
)

_CE = "def cross_entropy(logits, targets):\n{body}\n"
CROSS_ENTROPY = _answers(
    "06_gpt",
    "cross_entropy",
    [
        (
            PASS,
            _CE.format(
                body="    lp = logits - logits.logsumexp(-1, keepdim=True)\n    return -(F.one_hot(targets, logits.shape[-1]) * lp).sum(-1).mean()"
            ),
        ),
        (
            PASS,
            _CE.format(
                body="    flat = logits.reshape(-1, logits.shape[-1])\n    t = targets.reshape(-1)\n    lp = flat - torch.logsumexp(flat, dim=1, keepdim=True)\n    return -lp[torch.arange(len(t)), t].mean()"
            ),
        ),
        (
            "log_of_softmax",
            _CE.format(
                body="    p = torch.softmax(logits, dim=-1)\n    return -torch.log(p.gather(-1, targets.unsqueeze(-1))).mean()"
            ),
        ),
        (
            "unstable_log_softmax",
            _CE.format(
                body="    p = torch.exp(logits) / torch.exp(logits).sum(-1, keepdim=True)\n    return -torch.log(p).gather(-1, targets[..., None]).mean()"
            ),
        ),
        (
            "sum_instead_of_mean",
            _CE.format(
                body="    lp = logits - torch.logsumexp(logits, -1, keepdim=True)\n    return -lp.gather(-1, targets[..., None]).sum()"
            ),
        ),
        (
            "missing_minus",
            _CE.format(
                body="    lp = logits - torch.logsumexp(logits, -1, keepdim=True)\n    return lp.gather(-1, targets[..., None]).mean()"
            ),
        ),
        (
            "softmax_over_positions",
            _CE.format(
                body="    lp = logits - torch.logsumexp(logits, 1, keepdim=True)\n    return -lp.gather(-1, targets[..., None]).mean()"
            ),
        ),
    ],
)

_STEP = "def train_step(model, optimizer, x, y):\n{body}\n"
TRAIN_STEP = _answers(
    "06_gpt",
    "train_step",
    [
        (
            PASS,
            _STEP.format(
                body="    logits, _ = model(x)\n    loss = F.cross_entropy(logits.view(-1, logits.size(-1)), y.view(-1))\n    model.zero_grad(set_to_none=True)\n    loss.backward()\n    optimizer.step()\n    return float(loss)"
            ),
        ),
        (
            "no_zero_grad",
            _STEP.format(
                body="    logits, _ = model(x)\n    loss = F.cross_entropy(logits.flatten(0, 1), y.flatten())\n    loss.backward()\n    optimizer.step()\n    return loss.item()"
            ),
        ),
        (
            "no_step",
            _STEP.format(
                body="    logits, _ = model(x)\n    loss = F.cross_entropy(logits.flatten(0, 1), y.flatten())\n    loss.backward()\n    optimizer.zero_grad()\n    optimizer.step()\n    return loss.item()"
            ),
        ),
    ],
)

_GEN = """
def generate(model, idx, n_new_tokens, temperature=0.0, generator=None):
    for _ in range(n_new_tokens):
        logits, _ = model(idx[:, -model.context_length:])
        logits = logits[:, {position}, :]
        if temperature == 0:
            nxt = torch.argmax(logits, dim=-1, keepdim=True)
        else:
            nxt = {pick}
        idx = torch.cat((idx, nxt), dim=1)
    return idx
"""
_SAMPLE = "torch.multinomial(F.softmax(logits / temperature, dim=-1), num_samples=1, generator=generator)"
GENERATE = _answers(
    "06_gpt",
    "generate",
    [
        (PASS, _GEN.format(position="-1", pick=_SAMPLE)),
        ("first_position", _GEN.format(position="0", pick=_SAMPLE)),
        (
            "temperature_multiplied",
            _GEN.format(position="-1", pick=_SAMPLE.replace("/ temperature", "* temperature")),
        ),
        (
            "always_greedy",
            _GEN.format(position="-1", pick="torch.argmax(logits / temperature, dim=-1, keepdim=True)"),
        ),
        ("generator_not_used", _GEN.format(position="-1", pick=_SAMPLE.replace(", generator=generator", ""))),
    ],
)

_ATTENTION_STEP = _template(
    """
def attention_step(attn, x, past_keys, past_values):
    B, T, C = x.shape
    H = attn.n_heads
    hs = C // H
    q, k, v = attn.qkv(x).split(C, dim=2)
    q = {split}
    k = {split_k}
    v = {split_v}
    K = torch.cat((past_keys, k), dim=2)
    V = torch.cat((past_values, v), dim=2)
    P = past_keys.size(2)
{attend}
    y = {merge}
    return attn.proj(y), {cache}
""",
    split="q.view(B, T, H, hs).transpose(1, 2)",
    split_k="k.view(B, T, H, hs).transpose(1, 2)",
    split_v="v.view(B, T, H, hs).transpose(1, 2)",
    attend="""    att = (q @ K.transpose(-2, -1)) / math.sqrt(hs)
    mask = torch.tril(torch.ones(T, P + T, dtype=torch.bool), diagonal=P)
    att = att.masked_fill(~mask, float("-inf"))
    att = F.softmax(att, dim=-1)
    y = att @ V""",
    merge="y.transpose(1, 2).contiguous().view(B, T, C)",
    cache="K, V",
)
_ATTEND = """    att = (q @ {keys}.transpose(-2, -1)){scale}
    mask = {mask}
    att = {masking}
    y = att @ {values}"""


def _attend(**parts: str) -> str:
    defaults = {
        "keys": "K",
        "values": "V",
        "scale": " / math.sqrt(hs)",
        "mask": "torch.tril(torch.ones(T, P + T, dtype=torch.bool), diagonal=P)",
        "masking": 'F.softmax(att.masked_fill(~mask, float("-inf")), dim=-1)',
    }
    return _ATTEND.format(**{**defaults, **parts})


ATTENTION_STEP = _answers(
    "06_gpt",
    "attention_step",
    [
        (PASS, _ATTENTION_STEP()),
        (
            PASS,
            """
def attention_step(attn, x, past_keys, past_values):
    n_heads, d_model = attn.n_heads, attn.d_model
    d_head = d_model // n_heads
    n_past, n_new = past_keys.shape[2], x.shape[1]
    qkv = attn.qkv(x)
    outputs, keys, values = [], [], []
    for h in range(n_heads):
        q = qkv[..., h * d_head:(h + 1) * d_head]
        k = torch.cat([past_keys[:, h], qkv[..., d_model + h * d_head:d_model + (h + 1) * d_head]], dim=1)
        v = torch.cat([past_values[:, h], qkv[..., 2 * d_model + h * d_head:2 * d_model + (h + 1) * d_head]], dim=1)
        scores = torch.einsum("bqd,bkd->bqk", q, k) / d_head ** 0.5
        for i in range(n_new):
            scores[:, i, n_past + i + 1:] = float("-inf")
        outputs.append(torch.einsum("bqk,bkd->bqd", scores.softmax(dim=-1), v))
        keys.append(k)
        values.append(v)
    return attn.proj(torch.cat(outputs, dim=-1)), torch.stack(keys, dim=1), torch.stack(values, dim=1)
""",
        ),
        (
            PASS,
            _ATTENTION_STEP(
                attend="""    mask = torch.ones(T, P + T, dtype=torch.bool).tril(P)
    y = F.scaled_dot_product_attention(q, K, V, attn_mask=mask)"""
            ),
        ),
        ("mask_not_shifted", _ATTENTION_STEP(attend=_attend(mask="torch.tril(torch.ones(T, P + T)).bool()"))),
        ("mask_not_shifted", _ATTENTION_STEP(attend="    y, _ = attention(q, K, V, causal=True)")),
        ("no_mask", _ATTENTION_STEP(attend="    y, _ = attention(q, K, V)")),
        (
            "mask_triangle_swapped",
            _ATTENTION_STEP(
                attend=_attend(mask="torch.triu(torch.ones(T, P + T, dtype=torch.bool), diagonal=P)")
            ),
        ),
        (
            "mask_after_softmax",
            _ATTENTION_STEP(attend=_attend(masking="F.softmax(att, dim=-1).masked_fill(~mask, 0.0)")),
        ),
        (
            "mask_filled_with_zero",
            _ATTENTION_STEP(attend=_attend(masking="F.softmax(att.masked_fill(~mask, 0), dim=-1)")),
        ),
        (
            "softmax_over_queries",
            _ATTENTION_STEP(
                attend=_attend(masking='F.softmax(att.masked_fill(~mask, float("-inf")), dim=2)')
            ),
        ),
        ("scaled_by_d_model", _ATTENTION_STEP(attend=_attend(scale=" / math.sqrt(C)"))),
        ("no_scale", _ATTENTION_STEP(attend=_attend(scale=""))),
        (
            "split_without_transpose",
            _ATTENTION_STEP(
                split="q.reshape(B, H, T, hs)",
                split_k="k.reshape(B, H, T, hs)",
                split_v="v.reshape(B, H, T, hs)",
            ),
        ),
        ("merge_without_transpose", _ATTENTION_STEP(merge="y.reshape(B, T, C)")),
        ("new_keys_not_returned", _ATTENTION_STEP(cache="past_keys, past_values")),
        (
            "new_keys_not_attended",
            _ATTENTION_STEP(
                attend="""    att = (q @ past_keys.transpose(-2, -1)) / math.sqrt(hs)
    att = F.softmax(att, dim=-1)
    y = att @ past_values"""
            ),
        ),
    ],
)

ANSWERS: list[Answer] = [
    *MOVING_AVERAGE,
    *GAUSSIAN,
    *SMOOTH,
    *SOFTMAX,
    *SOFT_LOOKUP,
    *SIMILARITY_AND_HARD,
    *SDPA,
    *CAUSAL_MASK,
    *SPLIT_MERGE,
    *MHA,
    *LOOP,
    *COPY,
    *FEED_FORWARD,
    *LAYER_NORM,
    *BLOCK,
    *GPT,
    *NEXT_TOKEN,
    *GET_BATCH,
    *CROSS_ENTROPY,
    *TRAIN_STEP,
    *GENERATE,
    *ATTENTION_STEP,
]
