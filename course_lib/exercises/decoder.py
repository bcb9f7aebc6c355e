"""Lesson 05, decoder blocks: feed-forward, LayerNorm, positions, the pre-norm block, a small GPT."""

from __future__ import annotations

import numpy as np

from course_lib.exercises.torch_support import call_function, call_module, linear_state
from course_lib.registry import DROPOUT_LEFT_ON, Case, Exercise, Mistake, register

LESSON = "05_decoder"
RTOL, ATOL = 1e-6, 1e-8


def _module_case(init, state, **inputs) -> Case:
    return {"init": init, "state": state, "inputs": inputs}


def _feed_forward_state(rng, d_model, d_hidden, prefix="") -> dict[str, np.ndarray]:
    return {
        **linear_state(rng, f"{prefix}fc", d_model, d_hidden),
        **linear_state(rng, f"{prefix}proj", d_hidden, d_model),
    }


def _feed_forward_cases(rng: np.random.Generator) -> list[Case]:
    def case(batch, seq_len, d_model, d_hidden):
        return _module_case(
            {"d_model": d_model, "d_hidden": d_hidden},
            _feed_forward_state(rng, d_model, d_hidden),
            x=rng.normal(size=(batch, seq_len, d_model)),
        )

    return [case(1, 3, 4, 16), case(2, 5, 6, 10), case(3, 2, 8, 32)]


register(
    Exercise(
        id="feed_forward",
        lesson=LESSON,
        target="FeedForward",
        points=2,
        make_cases=_feed_forward_cases,
        call=call_module,
        rtol=RTOL,
        atol=ATOL,
        output="forward(x) returns a tensor of the same shape as x: proj(gelu(fc(x)))",
        catalogue=("training_mode",),
        mistakes=(
            Mistake(
                "relu_instead_of_gelu",
                "You used ReLU. This course's feed-forward network uses GELU (GPT-2 used it too, in its "
                "tanh approximation; here the exact form): `torch.nn.functional.gelu(x)`.",
            ),
            Mistake(
                "no_activation",
                "There is no nonlinearity between the two linear layers, and two linear layers in a row "
                "are just one linear layer. Apply GELU to the output of `fc` before `proj`.",
            ),
            Mistake(
                "gelu_tanh_approximation",
                "You used GELU's tanh approximation. This course uses the exact GELU, PyTorch's default: "
                '`F.gelu(x)`, without `approximate="tanh"`.',
            ),
            DROPOUT_LEFT_ON,
        ),
    )
)


def _layer_norm_cases(rng: np.random.Generator) -> list[Case]:
    def case(shape, scale=1.0, shift=0.0, eps=1e-5):
        d_model = shape[-1]
        return _module_case(
            {"d_model": d_model, "eps": eps},
            {"weight": rng.normal(1.0, 0.3, size=d_model), "bias": rng.normal(0.0, 0.3, size=d_model)},
            x=rng.normal(shift, scale, size=shape),
        )

    return [
        case((2, 3, 4)),
        case((1, 5, 8), scale=10.0, shift=50.0),
        case((3, 2, 6), scale=0.003),
        case((2, 4, 5), eps=0.1),
    ]


register(
    Exercise(
        id="layer_norm",
        lesson=LESSON,
        target="LayerNorm",
        points=3,
        forbidden=("layer_norm", "LayerNorm"),
        make_cases=_layer_norm_cases,
        call=call_module,
        rtol=RTOL,
        atol=ATOL,
        output="forward(x) returns a tensor of the same shape as x, normalised over the last dimension",
        catalogue=("layer_norm_variance",),
        mistakes=(
            Mistake(
                "unbiased_variance",
                "You used the unbiased variance (dividing by d_model - 1). LayerNorm divides by d_model: "
                "`x.var(dim=-1, unbiased=False, keepdim=True)`, or `((x - mean) ** 2).mean(...)`.",
                kind="layer_norm_variance",
            ),
            Mistake(
                "eps_outside_sqrt",
                "You added eps outside the square root. It belongs inside: (x - mean) / sqrt(var + eps).",
                kind="layer_norm_variance",
            ),
            Mistake(
                "std_plus_eps",
                "You divided by `x.std(...) + eps`. Two things differ from LayerNorm there: `std` is the "
                "unbiased standard deviation (it divides by d_model - 1; LayerNorm divides by d_model), and "
                "eps belongs inside the square root: (x - mean) / sqrt(var + eps) with "
                "var = ((x - mean) ** 2).mean(dim=-1, keepdim=True).",
                kind="layer_norm_variance",
            ),
            Mistake(
                "no_affine",
                "You normalised but did not apply the learned scale and shift: multiply by `self.weight` "
                "and add `self.bias`.",
            ),
            Mistake(
                "normalised_over_sequence",
                "You normalised over the wrong dimension. Each word's vector is normalised on its own: "
                "mean and variance over the last dimension, dim=-1.",
            ),
        ),
    )
)


def _position_cases(rng: np.random.Generator) -> list[Case]:
    return [
        {"n_positions": 4, "d_model": 2},
        {"n_positions": 6, "d_model": 8},
        {"n_positions": int(rng.integers(10, 30)), "d_model": 16},
    ]


register(
    Exercise(
        id="sinusoidal_positions",
        lesson=LESSON,
        target="sinusoidal_positions",
        points=2,
        make_cases=_position_cases,
        call=call_function,
        rtol=1e-5,
        atol=1e-6,
        output="a float tensor of shape (n_positions, d_model)",
        mistakes=(
            Mistake(
                "sin_cos_swapped",
                "Sine and cosine are swapped: even dimensions (0, 2, 4, ...) take the sine, odd ones the "
                "cosine.",
            ),
            Mistake(
                "odd_dims_own_frequency",
                "Each pair of dimensions (2i, 2i + 1) shares one frequency 1 / 10000**(2i / d_model). "
                "Yours gives dimension 2i + 1 an exponent of its own.",
            ),
            Mistake(
                "halves_not_interleaved",
                "You put all the sines in the first half and the cosines in the second. Here they "
                "alternate: dimension 2i is a sine, dimension 2i + 1 the cosine of the same frequency.",
            ),
        ),
    )
)


def _attention_state(rng, d_model, prefix) -> dict[str, np.ndarray]:
    return {
        **linear_state(rng, f"{prefix}qkv", d_model, 3 * d_model),
        **linear_state(rng, f"{prefix}proj", d_model, d_model),
    }


def _norm_state(rng, d_model, prefix) -> dict[str, np.ndarray]:
    return {
        f"{prefix}.weight": rng.normal(1.0, 0.2, size=d_model),
        f"{prefix}.bias": rng.normal(0.0, 0.2, size=d_model),
    }


def _block_state(rng, d_model, d_hidden, prefix="") -> dict[str, np.ndarray]:
    return {
        **_norm_state(rng, d_model, f"{prefix}ln1"),
        **_attention_state(rng, d_model, f"{prefix}attn."),
        **_norm_state(rng, d_model, f"{prefix}ln2"),
        **_feed_forward_state(rng, d_model, d_hidden, f"{prefix}mlp."),
    }


def _block_cases(rng: np.random.Generator) -> list[Case]:
    def case(batch, seq_len, d_model, n_heads, d_hidden):
        return _module_case(
            {"d_model": d_model, "n_heads": n_heads, "d_hidden": d_hidden},
            _block_state(rng, d_model, d_hidden),
            x=rng.normal(size=(batch, seq_len, d_model)),
        )

    return [case(1, 4, 4, 2, 8), case(2, 5, 6, 3, 12), case(3, 3, 8, 2, 16)]


register(
    Exercise(
        id="decoder_block",
        lesson=LESSON,
        target="Block",
        points=4,
        make_cases=_block_cases,
        call=call_module,
        rtol=RTOL,
        atol=ATOL,
        output="forward(x) returns (x, weights): x of the input's shape, weights (batch, n_heads, seq, seq)",
        uses=("layer_norm", "feed_forward"),
        given=("MultiHeadAttention",),
        catalogue=("training_mode",),
        mistakes=(
            Mistake(
                "post_norm",
                "You normalised after adding the residual (post-norm, as in the 2017 paper). This course "
                "builds the pre-norm block of GPT-2: x = x + attn(ln1(x)), then x = x + mlp(ln2(x)).",
            ),
            Mistake(
                "no_residual",
                "The residual connections are missing: add each sub-layer's output to its input, "
                "x = x + attn(ln1(x)) and x = x + mlp(ln2(x)).",
            ),
            Mistake(
                "residual_after_norm",
                "You added the residual to the *normalised* x. The residual stream carries x itself: "
                "x = x + attn(ln1(x)), not ln1(x) + attn(ln1(x)).",
            ),
            Mistake(
                "not_causal",
                "Your block lets a word see the future: changing the word at position t + 1 changes the "
                "output at position t. Call the attention with causal=True.",
            ),
            Mistake(
                "one_norm_for_both",
                "You used `ln1` before both sub-layers. Each has its own LayerNorm with its own learned "
                "scale and shift: attn(ln1(x)), then mlp(ln2(x)).",
            ),
            Mistake(
                "mlp_on_attention_input",
                "Your feed-forward network reads the block's input, not the result of the attention step. "
                "The two steps come one after the other: x = x + attn(ln1(x)), then x = x + mlp(ln2(x)) "
                "with the *new* x.",
            ),
            DROPOUT_LEFT_ON,
        ),
    )
)


def _gpt_state(rng, vocab_size, context_length, d_model, n_layers, d_hidden) -> dict[str, np.ndarray]:
    state = {
        "token_embedding.weight": rng.normal(size=(vocab_size, d_model)),
        "position_embedding.weight": rng.normal(size=(context_length, d_model)),
        **_norm_state(rng, d_model, "ln_f"),
        "head.weight": rng.normal(size=(vocab_size, d_model)) / np.sqrt(d_model),
    }
    for layer in range(n_layers):
        state.update(_block_state(rng, d_model, d_hidden, f"blocks.{layer}."))
    return state


def _gpt_cases(rng: np.random.Generator) -> list[Case]:
    def case(batch, seq_len, vocab_size, context_length, d_model, n_heads, n_layers, d_hidden):
        init = {
            "vocab_size": vocab_size,
            "context_length": context_length,
            "d_model": d_model,
            "n_heads": n_heads,
            "n_layers": n_layers,
            "d_hidden": d_hidden,
        }
        state = _gpt_state(rng, vocab_size, context_length, d_model, n_layers, d_hidden)
        return _module_case(init, state, idx=rng.integers(0, vocab_size, size=(batch, seq_len)))

    return [
        case(2, 5, 11, 8, 8, 2, 2, 16),
        case(1, 8, 7, 8, 4, 1, 1, 8),
        case(3, 3, 13, 6, 6, 3, 3, 12),
    ]


register(
    Exercise(
        id="gpt",
        lesson=LESSON,
        target="GPT",
        points=4,
        make_cases=_gpt_cases,
        call=call_module,
        rtol=1e-5,
        atol=1e-7,
        output=(
            "forward(idx) returns (logits, attention): logits (batch, seq_len, vocab_size), attention "
            "(n_layers, batch, n_heads, seq_len, seq_len)"
        ),
        uses=("decoder_block", "layer_norm"),
        given=("MultiHeadAttention",),
        catalogue=("training_mode",),
        mistakes=(
            Mistake(
                "no_position_embedding",
                "The position embeddings are missing: add `self.position_embedding(positions)` for "
                "positions 0 .. seq_len - 1 to the token embeddings.",
            ),
            Mistake(
                "no_final_norm",
                "You skipped the final LayerNorm: apply `self.ln_f` after the last block, before `head`.",
            ),
            Mistake(
                "positions_reversed",
                "Your positions run backwards. The first word is position 0: `torch.arange(seq_len)`.",
            ),
            Mistake(
                "blocks_not_chained",
                "Each block must read the previous block's output, but yours all read the embeddings (only "
                "the last one's output is used): write `x, weights = block(x)` in the loop.",
            ),
            Mistake(
                "softmax_on_logits",
                "You returned probabilities (a softmax of the logits). `forward` returns the raw logits, "
                "`self.head(...)`: the loss and the sampling take the softmax themselves.",
            ),
            DROPOUT_LEFT_ON,
        ),
    )
)


def _probability_cases(rng: np.random.Generator) -> list[Case]:
    # The last three overflow a naive exp() at their temperature: logits / temperature passes 709.
    return [
        {"logits": rng.normal(size=(1, 3, 5)), "temperature": 1.0},
        {"logits": rng.normal(size=(2, 4, 6)) * 5, "temperature": 0.5},
        {"logits": rng.normal(size=(3, 2, 4)) + 1000.0, "temperature": 1.0},
        {"logits": rng.normal(size=(2, 3, 5)) + 2000.0, "temperature": 2.0},
        {"logits": rng.normal(size=(2, 2, 6)) * 3 + 500.0, "temperature": 0.3},
    ]


register(
    Exercise(
        id="next_token_probabilities",
        lesson=LESSON,
        target="next_token_probabilities",
        points=2,
        make_cases=_probability_cases,
        call=call_function,
        rtol=RTOL,
        atol=ATOL,
        output="a tensor of shape (batch, vocab_size): for each sequence, probabilities summing to 1",
        catalogue=("softmax_axis", "overflow"),
        mistakes=(
            Mistake(
                "first_position",
                "You used the logits of the first position. The next word is predicted from the *last* "
                "position: `logits[:, -1, :]`.",
            ),
            Mistake(
                "temperature_multiplied",
                "Divide the logits by the temperature; you multiplied. A low temperature must sharpen "
                "the distribution.",
            ),
            Mistake(
                "softmax_over_batch",
                "Each sequence's probabilities must sum to 1 over the vocabulary (dim=-1); yours are "
                "normalised over the batch.",
                kind="softmax_axis",
            ),
            Mistake(
                "softmax_over_positions",
                "You took the softmax over the positions (dim=1) and then the last position. The "
                "probabilities are over the vocabulary: take `logits[:, -1, :]` and the softmax along "
                "dim=-1.",
                kind="softmax_axis",
            ),
            Mistake(
                "no_temperature",
                "You ignored the temperature: divide the logits by it before the softmax.",
            ),
            Mistake(
                "unstable_softmax",
                "Your probabilities overflow for large logits (here in the hundreds or thousands, divided "
                "by the temperature): exp() of them is inf. Use `torch.softmax(..., dim=-1)`, or subtract "
                "the maximum first.",
                kind="overflow",
            ),
        ),
    )
)
