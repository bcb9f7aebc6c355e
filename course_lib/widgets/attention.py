"""Lesson 03's explorers: what a chosen word attends to, and why the scores are divided by sqrt(d)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import cache

import ipywidgets as widgets
import numpy as np
from matplotlib.figure import Figure

from course_lib.widgets import interactive_figure


def attention_explorer(
    words: Sequence[str],
    x: np.ndarray,
    projections: tuple[np.ndarray, np.ndarray, np.ndarray],
    project_fn: Callable,
    attention_fn: Callable,
    mask_fn: Callable,
    word: str | None = None,
) -> widgets.VBox:
    """Pick a word and see its attention weights over the sentence, with or without the causal mask.

    ``project_fn``, ``attention_fn`` and ``mask_fn`` are the learner's ``project_qkv``,
    ``scaled_dot_product_attention`` and ``causal_mask``.
    """
    chosen = widgets.Dropdown(options=list(words), value=word or words[len(words) // 2], description="word")
    causal = widgets.Checkbox(value=False, description="causal mask")
    figure = Figure(figsize=(11, 4), layout="constrained")
    bars_ax, matrix_ax = figure.subplots(1, 2, width_ratios=(1.4, 1))
    positions = np.arange(len(words))
    bars = bars_ax.bar(positions, np.zeros(len(words)), color="tab:purple")
    bars_ax.set_xticks(positions, words)
    bars_ax.set_ylim(0, 1.05)
    bars_ax.set_ylabel("attention weight")
    matrix = matrix_ax.imshow(np.zeros((len(words), len(words))), vmin=0, vmax=1, cmap="viridis")
    matrix_ax.set_xticks(positions, words, rotation=45, ha="right")
    matrix_ax.set_yticks(positions, words)
    matrix_ax.set_xlabel("key (looked at)")
    matrix_ax.set_ylabel("query (looking)")
    figure.colorbar(matrix, ax=matrix_ax, fraction=0.046)
    marker = matrix_ax.axhline(0, color="crimson", lw=2)

    def draw() -> None:
        q, k, v = project_fn(x, *projections)
        mask = np.asarray(mask_fn(len(words))) if causal.value else None
        _, weights = attention_fn(q, k, v, mask)
        row = words.index(chosen.value)
        for index, (bar, weight) in enumerate(zip(bars, weights[row], strict=True)):
            bar.set_height(weight)
            bar.set_alpha(1.0 if mask is None or mask[row, index] else 0.25)
        bars_ax.set_title(
            f'"{chosen.value}" looks at: '
            + ", ".join(f"{words[i]} {weights[row, i]:.0%}" for i in np.argsort(weights[row])[::-1][:3]),
            fontsize=10,
        )
        matrix.set_data(weights)
        marker.set_ydata([row, row])

    uses = ["project_qkv", "scaled_dot_product_attention", "causal_mask"]
    return interactive_figure([chosen, causal], figure, draw, uses)


@cache
def _random_scores(dim: int, n_pairs: int = 4000, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.einsum("nd,nd->n", rng.normal(size=(n_pairs, dim)), rng.normal(size=(n_pairs, dim)))


def scale_explorer(softmax_fn: Callable) -> widgets.VBox:
    """Slide the dimension d: dot products of random vectors spread like sqrt(d) and saturate the softmax,
    unless they are divided by sqrt(d)."""
    dims = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024]
    dim = widgets.SelectionSlider(options=dims, value=16, description="d")
    scaled = widgets.Checkbox(value=False, description="divide by sqrt(d)")
    figure = Figure(figsize=(11, 3.6), layout="constrained")
    spread_ax, weights_ax = figure.subplots(1, 2)
    spread_ax.set_xlim(-100, 100)
    # Drawn once; each redraw moves these bars to the new histogram, which costs far less than clearing the
    # axes and drawing a new one, and gives the same picture.
    *_, spread_bars = spread_ax.hist(_random_scores(dim.value), bins=60, color="tab:blue")
    weights_bars = weights_ax.bar(np.arange(8), np.zeros(8), color="tab:orange")
    weights_ax.set_ylim(0, 1.05)
    weights_ax.set_xlabel("key")
    weights_ax.set_ylabel("softmax weight")

    def draw() -> None:
        divisor = np.sqrt(dim.value) if scaled.value else 1.0
        scores = _random_scores(dim.value) / divisor
        counts, edges = np.histogram(scores, bins=len(spread_bars))
        widths = np.diff(edges)
        lefts = (edges[:-1] + 0.5 * widths) - widths / 2  # as Axes.hist computes them, to the last bit
        for bar, left, width, count in zip(spread_bars, lefts, widths, counts.astype(float), strict=True):
            bar.set_bounds(left, 0.0, width, count)
        # The counts axis fits the new bars, as after a fresh hist. The bars span exactly these corners;
        # measuring them one by one (relim) would cost a sixth of the redraw.
        spread_ax.ignore_existing_data_limits = True
        spread_ax.update_datalim([(edges[0], 0.0), (edges[-1], counts.max())])
        spread_ax.autoscale_view()
        spread_ax.set_xlabel("score q · k" + (" / sqrt(d)" if scaled.value else ""))
        spread_ax.set_title(f"4000 random pairs, d={dim.value}: spread (std) {scores.std():.1f}", fontsize=10)
        weights = np.asarray(softmax_fn(scores[:8], axis=-1))
        for bar, weight in zip(weights_bars, weights, strict=True):
            bar.set_height(weight)
        weights_ax.set_title(f"softmax of 8 of those scores: largest weight {weights.max():.0%}", fontsize=10)

    return interactive_figure([dim, scaled], figure, draw, ["softmax"])
