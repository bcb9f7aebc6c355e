"""Plotting helpers shared by the lessons: series, weight rows and heatmaps, on matplotlib."""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.ticker import MaxNLocator


def plot_series(times, series: dict[str, np.ndarray], ax=None, title: str | None = None):
    """Draw several series over the same time axis; ``series`` maps a legend label to values."""
    if ax is None:
        _, ax = plt.subplots(figsize=(9, 3))
    for label, values in series.items():
        style = {"marker": ".", "linestyle": "none", "alpha": 0.5} if "noisy" in label.lower() else {}
        ax.plot(times, values, label=label, **style)
    ax.set_xlabel("time step")
    ax.legend(loc="best", fontsize=9)
    if title:
        ax.set_title(title)
    return ax


def heatmap(
    matrix,
    ax=None,
    title: str | None = None,
    xlabel: str = "key (neighbour)",
    ylabel: str = "query (point being smoothed)",
    xticklabels: Sequence[str] | None = None,
    yticklabels: Sequence[str] | None = None,
    cmap: str = "viridis",
):
    """Show a matrix as colours, row 0 at the top, with a colour bar."""
    matrix = np.asarray(matrix)
    if ax is None:
        _, ax = plt.subplots(figsize=(4.5, 4))
    image = ax.imshow(matrix, cmap=cmap, aspect="auto", interpolation="nearest")
    ax.figure.colorbar(image, ax=ax, fraction=0.046)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    if xticklabels is not None:
        ax.set_xticks(range(len(xticklabels)), xticklabels, rotation=45, ha="right")
    if yticklabels is not None:
        ax.set_yticks(range(len(yticklabels)), yticklabels)
    if title:
        ax.set_title(title)
    return ax
