"""Lesson 02's explorers: a temperature slider over the weights, and a 2-D query you can move."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import ipywidgets as widgets
import numpy as np
from matplotlib.figure import Figure

from course_lib.widgets import interactive_figure


def _temperature_slider(value: float = 1.0) -> widgets.FloatLogSlider:
    return widgets.FloatLogSlider(value=value, base=10, min=-2, max=2, step=0.05, description="temperature")


def temperature_explorer(
    query: np.ndarray,
    keys: np.ndarray,
    key_labels: Sequence[str],
    scores_fn: Callable[..., np.ndarray],
    softmax_fn: Callable[..., np.ndarray],
) -> widgets.VBox:
    """The weights one query gives every key, redrawn as the temperature slider moves.

    ``scores_fn`` and ``softmax_fn`` are the learner's ``similarity_scores`` and ``softmax``.
    """
    temperature = _temperature_slider()
    figure = Figure(figsize=(9, 3.8), layout="constrained")
    ax = figure.subplots()
    positions = np.arange(len(key_labels))
    bars = ax.bar(positions, np.zeros(len(key_labels)), color="tab:blue")
    ax.axhline(1 / len(key_labels), color="gray", ls="--", lw=1, label="uniform: 1 / n_keys")
    ax.set_xticks(positions, key_labels, rotation=25, ha="right")
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("weight")
    ax.legend(loc="upper right")

    def draw() -> None:
        scores = np.asarray(scores_fn(query[None, :], keys))[0]
        weights = np.asarray(softmax_fn(scores / temperature.value, axis=-1))
        best = int(np.argmax(weights))
        for index, (bar, weight) in enumerate(zip(bars, weights, strict=True)):
            bar.set_height(weight)
            bar.set_color("crimson" if index == best else "tab:blue")
        ax.set_title(
            f"temperature {temperature.value:.2g}: the top key takes {weights[best]:.0%} of the weight",
            fontsize=10,
        )

    return interactive_figure([temperature], figure, draw, ["similarity_scores", "softmax"])


def query_explorer(
    keys: np.ndarray,
    key_labels: Sequence[str],
    scores_fn: Callable[..., np.ndarray],
    softmax_fn: Callable[..., np.ndarray],
) -> widgets.VBox:
    """Move a 2-D query with two sliders; each key's dot grows with the weight the query gives it."""
    query_x = widgets.FloatSlider(value=1.0, min=-2.5, max=2.5, step=0.05, description="query x")
    query_y = widgets.FloatSlider(value=0.0, min=-2.5, max=2.5, step=0.05, description="query y")
    temperature = _temperature_slider()

    figure = Figure(figsize=(6.5, 5.5), layout="constrained")
    ax = figure.subplots()
    ax.set_xlim(-2.7, 2.7)
    ax.set_ylim(-2.7, 2.7)
    ax.set_aspect("equal")
    ax.axhline(0, color="lightgray", lw=0.8)
    ax.axvline(0, color="lightgray", lw=0.8)
    dots = ax.scatter(keys[:, 0], keys[:, 1], s=np.full(len(keys), 50.0), c="tab:blue", alpha=0.7)
    labels = [
        ax.annotate(label, key, textcoords="offset points", xytext=(8, 8), fontsize=9)
        for label, key in zip(key_labels, keys, strict=True)
    ]
    arrow = ax.annotate(
        "", xy=(1, 0), xytext=(0, 0), arrowprops={"arrowstyle": "->", "color": "crimson", "lw": 2}
    )
    ax.set_title("move the query (red arrow) with the sliders; dot area = weight", fontsize=10)

    def draw() -> None:
        query = np.array([query_x.value, query_y.value])
        scores = np.asarray(scores_fn(query[None, :], keys))[0]
        weights = np.asarray(softmax_fn(scores / temperature.value, axis=-1))
        dots.set_sizes(30 + 1500 * weights)
        for label, name, weight in zip(labels, key_labels, weights, strict=True):
            label.set_text(f"{name}: {weight:.2f}")
        arrow.xy = (query_x.value, query_y.value)

    controls = [query_x, query_y, temperature]
    return interactive_figure(controls, figure, draw, ["similarity_scores", "softmax"])
