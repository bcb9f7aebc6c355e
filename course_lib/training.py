"""Lesson 06's companions: a bigram baseline, a toy model for the checks, accuracy, the experiments of
"where did it look?" (feeling probabilities, heads knocked out) and a live loss plot."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager

import ipywidgets as widgets
import torch
import torch.nn.functional as F
from matplotlib.figure import Figure
from torch import nn

from course_lib.corpus import (
    FEELINGS,
    Corpus,
    Sentence,
    by_prompt_length,
    predict_heldout,
    prediction_accuracy,
)
from course_lib.widgets import show_figure


class BigramBaseline(nn.Module):
    """Predicts each word from the previous word only, by counting pairs in the training text.

    It answers like a GPT does, ``(logits, None)`` for ``idx`` of shape (batch, seq_len), so the same
    accuracy code and sampling code work for both.
    """

    def __init__(self, train_ids: torch.Tensor, vocab_size: int):
        super().__init__()
        counts = torch.ones(vocab_size, vocab_size)  # add-one smoothing: no pair is impossible
        counts.index_put_((train_ids[:-1], train_ids[1:]), torch.ones(len(train_ids) - 1), accumulate=True)
        self.register_buffer("log_probabilities", (counts / counts.sum(dim=1, keepdim=True)).log())

    def forward(self, idx: torch.Tensor):
        return self.log_probabilities[idx], None


class ToyLanguageModel(nn.Module):
    """A small causal model for checking ``train_step`` and ``generate`` without a whole GPT.

    The score of the next token is ``own[token] + mean of past[earlier tokens]``, so it depends on the
    whole (causal) context, and, like a GPT with learned positions, it refuses sequences longer than
    ``context_length``.
    """

    def __init__(self, vocab_size: int, context_length: int):
        super().__init__()
        self.context_length = context_length
        self.own = nn.Embedding(vocab_size, vocab_size)
        self.past = nn.Embedding(vocab_size, vocab_size)

    def forward(self, idx: torch.Tensor):
        seq_len = idx.shape[1]
        if seq_len > self.context_length:
            raise ValueError(
                f"the model got {seq_len} tokens but its context_length is {self.context_length}: crop the "
                "input to its last context_length tokens before calling the model"
            )
        running_mean = self.past(idx).cumsum(dim=1) / torch.arange(1, seq_len + 1, device=idx.device)[:, None]
        return self.own(idx) + running_mean, None


def heldout_predictions(model: nn.Module, corpus: Corpus) -> list[int]:
    """The model's greedy next word after every held-out prompt, in corpus order."""
    was_training = model.training
    model.eval()

    def predict(prompts: list[list[int]]) -> list[int]:
        with torch.no_grad():
            logits, _ = model(torch.tensor(prompts))
        return logits[:, -1].argmax(dim=-1).tolist()

    try:
        return predict_heldout(predict, corpus)
    finally:
        model.train(was_training)


def model_accuracy(model: nn.Module, corpus: Corpus) -> float:
    """Share of held-out sentences whose next word after "feeling" (greedy) is a feeling of the right kind."""
    return prediction_accuracy(heldout_predictions(model, corpus), corpus)


def feeling_probabilities(model: nn.Module, corpus: Corpus, prompt: str) -> dict[str, float]:
    """For each kind of feeling, the probability the model gives the next word after ``prompt`` being one of
    that kind's words (e.g. "rest": P(tired) + P(sleepy) + P(exhausted))."""
    with torch.no_grad():
        logits, _ = model(torch.tensor([corpus.encode(prompt)]))
    probabilities = torch.softmax(logits[0, -1], dim=-1)
    return {kind: float(probabilities[corpus.encode(words)].sum()) for kind, words in FEELINGS.items()}


def feeling_loss(model: nn.Module, corpus: Corpus, sentences: Sequence[Sentence]) -> float:
    """Cross-entropy at the feeling word alone: the mean of -log p(the sentence's feeling | its prompt)."""
    total = 0.0
    for group in by_prompt_length(sentences).values():
        prompts = torch.tensor([corpus.encode(sentences[i].prompt) for i in group])
        feelings = torch.tensor(corpus.encode([sentences[i].words[len(sentences[i].prompt)] for i in group]))
        with torch.no_grad():
            logits, _ = model(prompts)
        total += float(F.cross_entropy(logits[:, -1], feelings, reduction="sum"))
    return total / len(sentences)


def keep_top(logits: torch.Tensor, top_k: int = 0, top_p: float = 1.0) -> torch.Tensor:
    """``logits`` with every word that top-k or top-p sampling leaves out set to -inf, so that a softmax
    gives it probability 0 and it is never drawn: outside the ``top_k`` highest logits (0: keep all), and
    outside the smallest set of most probable words whose probabilities reach ``top_p`` (1: keep all).
    The probabilities are those of ``softmax(logits)``: divide by the temperature first."""
    kept = logits
    if top_k > 0:
        kth_highest = torch.topk(logits, min(top_k, logits.shape[-1]), dim=-1).values[..., -1:]
        kept = kept.masked_fill(logits < kth_highest, float("-inf"))
    if top_p < 1.0:
        ordered, order = kept.sort(dim=-1, descending=True)
        probabilities = torch.softmax(ordered, dim=-1)
        # A word is left out when the words ranked above it already reach top_p.
        reached_before = probabilities.cumsum(dim=-1) - probabilities >= top_p
        kept = kept.masked_fill(reached_before.scatter(-1, order, reached_before), float("-inf"))
    return kept


@contextmanager
def heads_knocked_out(model: nn.Module, heads: Iterable[tuple[int, int]]) -> Iterator[None]:
    """Inside the ``with`` block, each (layer, head) in ``heads`` contributes nothing: its part of the merged
    heads is set to zero before the block's output projection ``attn.proj``, as if the head had gathered
    nothing. Works with any model whose ``blocks[layer].attn`` has ``d_model``, ``n_heads`` and ``proj``."""
    handles = []

    def zeroing(columns: list[slice]):
        def hook(module: nn.Module, inputs: tuple[torch.Tensor, ...]):
            merged = inputs[0].clone()
            for part in columns:
                merged[..., part] = 0
            return (merged, *inputs[1:])

        return hook

    by_layer: dict[int, list[slice]] = {}
    for layer, head in heads:
        attention = model.blocks[layer].attn
        d_head = attention.d_model // attention.n_heads
        by_layer.setdefault(layer, []).append(slice(head * d_head, (head + 1) * d_head))
    try:
        for layer, columns in by_layer.items():
            handles.append(model.blocks[layer].attn.proj.register_forward_pre_hook(zeroing(columns)))
        yield
    finally:
        for handle in handles:
            handle.remove()


class LossPlot:
    """Loss curves that redraw in place while a training loop runs: the training loss at every step and,
    when given, a held-out loss now and then.

    ``plot = LossPlot(); display(plot.widget)``, then ``plot.add(step, loss)`` at every step (it redraws
    every ``every`` steps) and ``plot.add_heldout(step, loss)`` whenever the held-out loss is measured.
    """

    def __init__(self, title: str = "training and held-out loss", every: int = 25):
        self.widget = widgets.Output()
        self.steps: list[int] = []
        self.losses: list[float] = []
        self.heldout_steps: list[int] = []
        self.heldout_losses: list[float] = []
        self.every = every
        self.figure = Figure(figsize=(7, 3), layout="constrained")
        self.ax = self.figure.subplots()
        (self.line,) = self.ax.plot([], [], label="training batch", color="tab:blue", linewidth=1)
        (self.heldout_line,) = self.ax.plot([], [], "o-", label="held-out", color="tab:orange", markersize=3)
        self.ax.set_xlabel("step")
        self.ax.set_ylabel("cross-entropy")
        self.ax.set_title(title, fontsize=10)
        self.ax.legend(loc="upper right")

    def add(self, step: int, loss: float) -> None:
        self.steps.append(step)
        self.losses.append(loss)
        if len(self.steps) % self.every == 0:
            self.redraw()

    def add_heldout(self, step: int, loss: float) -> None:
        self.heldout_steps.append(step)
        self.heldout_losses.append(loss)

    def redraw(self) -> None:
        self.line.set_data(self.steps, self.losses)
        self.heldout_line.set_data(self.heldout_steps, self.heldout_losses)
        self.ax.relim()
        self.ax.autoscale_view()
        show_figure(self.widget, self.figure)


class AttentionLayer(nn.Module):
    """The parts of lesson 05's ``MultiHeadAttention`` that a KV-cache step reads (``qkv``, ``proj``,
    ``d_model``, ``n_heads``), for checking ``attention_step`` whatever the learner's own class looks like."""

    def __init__(self, d_model: int, n_heads: int):
        super().__init__()
        self.d_model, self.n_heads = d_model, n_heads
        self.qkv = nn.Linear(d_model, 3 * d_model)
        self.proj = nn.Linear(d_model, d_model)

    def forward(self, x: torch.Tensor):
        raise TypeError(
            "attention_step should not call the whole layer (that would attend over x alone, without the "
            "cache): use its parts, attn.qkv(x) for the queries, keys and values and attn.proj for the output"
        )
