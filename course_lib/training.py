"""Lesson 06's companions: a bigram baseline, a toy model for the checks, accuracy and a live loss plot."""

from __future__ import annotations

import ipywidgets as widgets
import torch
from matplotlib.figure import Figure
from torch import nn

from course_lib.corpus import Corpus, predict_heldout, prediction_accuracy
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


class LossPlot:
    """A loss curve that redraws in place while a training loop runs.

    ``plot = LossPlot(); display(plot.widget)``, then ``plot.add(step, loss)`` at every step; it redraws
    every ``every`` steps.
    """

    def __init__(self, title: str = "training loss", every: int = 25):
        self.widget = widgets.Output()
        self.steps: list[int] = []
        self.losses: list[float] = []
        self.every = every
        self.figure = Figure(figsize=(7, 3), layout="constrained")
        self.ax = self.figure.subplots()
        (self.line,) = self.ax.plot([], [])
        self.ax.set_xlabel("step")
        self.ax.set_ylabel("cross-entropy")
        self.ax.set_title(title, fontsize=10)

    def add(self, step: int, loss: float) -> None:
        self.steps.append(step)
        self.losses.append(loss)
        if len(self.steps) % self.every == 0:
            self.redraw()

    def redraw(self) -> None:
        self.line.set_data(self.steps, self.losses)
        self.ax.relim()
        self.ax.autoscale_view()
        show_figure(self.widget, self.figure)
