"""Lesson 06's explorer: what a trained model says next, at the temperature, top-k and top-p you choose."""

from __future__ import annotations

from collections.abc import Callable

import ipywidgets as widgets
import numpy as np
import torch
from matplotlib.figure import Figure

from course_lib.corpus import Corpus
from course_lib.training import keep_top
from course_lib.widgets import interactive_figure


class _Filtered(torch.nn.Module):
    """``model`` whose logits leave out what top-k and top-p leave out at ``temperature``, so that the
    learner's ``generate`` samples as top-k / top-p sampling does (greedy picks are unchanged)."""

    def __init__(self, model: torch.nn.Module, temperature: float, top_k: int, top_p: float):
        super().__init__()
        self.model, self.temperature, self.top_k, self.top_p = model, temperature, top_k, top_p
        self.context_length = model.context_length

    def forward(self, idx: torch.Tensor):
        logits, attention = self.model(idx)
        if self.temperature == 0:
            return logits, attention
        # generate divides by the temperature again: the words left out stay at -inf.
        kept = keep_top(logits / self.temperature, self.top_k, self.top_p) * self.temperature
        return kept, attention


def completion_explorer(
    model: torch.nn.Module,
    corpus: Corpus,
    generate_fn: Callable,
    prompt: str,
    n_samples: int = 6,
    n_new_tokens: int = 3,
) -> widgets.VBox:
    """Sliders for the temperature, "draw" (a new random seed), top-k (0: off) and top-p (1: off) over the
    model's next-word probabilities for ``prompt`` and a few sampled completions. ``generate_fn`` is the
    learner's ``generate``."""
    temperature = widgets.FloatSlider(value=1.0, min=0.0, max=3.0, step=0.05, description="temperature")
    top_k = widgets.IntSlider(value=0, min=0, max=20, description="top-k")
    top_p = widgets.FloatSlider(value=1.0, min=0.05, max=1.0, step=0.05, description="top-p")
    draw_number = widgets.IntSlider(value=0, min=0, max=20, description="draw")
    prompt_ids = torch.tensor([corpus.encode(prompt)])
    with torch.no_grad():
        logits, _ = model.eval()(prompt_ids)
    last_logits = logits[0, -1]

    figure = Figure(figsize=(11, 3.8), layout="constrained")
    bars_ax, text_ax = figure.subplots(1, 2, width_ratios=(1, 1.1))
    text_ax.axis("off")
    top = torch.topk(last_logits, 8).indices.tolist()
    positions = np.arange(len(top))
    bars = bars_ax.barh(positions, np.zeros(len(top)), color="tab:green")
    bars_ax.set_yticks(positions, [corpus.vocabulary[i] for i in top])
    bars_ax.invert_yaxis()
    bars_ax.set_xlim(0, 1)
    bars_ax.set_xlabel("probability of the next word")
    listing = text_ax.text(0, 1, "", va="top", family="monospace", fontsize=10)

    def draw() -> None:
        t = temperature.value
        probabilities = (
            torch.nn.functional.one_hot(last_logits.argmax(), len(last_logits)).float()
            if t == 0
            else torch.softmax(keep_top(last_logits / t, top_k.value, top_p.value), dim=-1)
        )
        for bar, token in zip(bars, top, strict=True):
            bar.set_width(float(probabilities[token]))
        bars_ax.set_title(
            f'"{prompt} …"\ntemperature {t:.2f}, top-k {top_k.value or "off"}, '
            f"top-p {top_p.value:.2f}" + (" (off)" if top_p.value >= 1 else ""),
            fontsize=10,
        )
        generator = torch.Generator().manual_seed(draw_number.value)
        sampler = _Filtered(model, t, top_k.value, top_p.value)
        with torch.no_grad():
            samples = generate_fn(sampler, prompt_ids.repeat(n_samples, 1), n_new_tokens, t, generator)
        lines = [corpus.decode(row[prompt_ids.shape[1] :].tolist()) for row in samples]
        listing.set_text("sampled continuations:\n\n" + "\n".join(f"… {line}" for line in lines))

    # "draw" sits by the temperature: both change the samples; top-k and top-p then narrow what is drawn.
    return interactive_figure([temperature, draw_number, top_k, top_p], figure, draw, ["generate"])
