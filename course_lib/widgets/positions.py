"""Lesson 05's explorer: the sinusoidal position table, one dimension at a time."""

from __future__ import annotations

import ipywidgets as widgets
import numpy as np
from matplotlib.figure import Figure

from course_lib.widgets import interactive_figure


def position_explorer(positions) -> widgets.VBox:
    """``positions`` (n_positions, d_model): the heatmap of the whole table, and the column chosen by the
    slider drawn as a curve over the positions, to show each dimension's own frequency."""
    table = np.asarray(positions.detach() if hasattr(positions, "detach") else positions, dtype=float)
    n_positions, d_model = table.shape
    dimension = widgets.IntSlider(value=0, min=0, max=d_model - 1, description="dimension")
    figure = Figure(figsize=(11, 4), layout="constrained")
    table_ax, curve_ax = figure.subplots(1, 2, width_ratios=(1.2, 1))
    table_ax.imshow(table, aspect="auto", cmap="RdBu", vmin=-1, vmax=1, interpolation="nearest")
    table_ax.set_xlabel("dimension")
    table_ax.set_ylabel("position")
    table_ax.set_title("position encodings: one row per position", fontsize=10)
    marker = table_ax.axvline(0, color="black", lw=1.5)
    (curve,) = curve_ax.plot(np.arange(n_positions), table[:, 0], ".-")
    curve_ax.set_ylim(-1.1, 1.1)
    curve_ax.set_xlabel("position")

    def draw() -> None:
        column = dimension.value
        marker.set_xdata([column, column])
        curve.set_ydata(table[:, column])
        kind = "sine" if column % 2 == 0 else "cosine"
        curve_ax.set_title(f"dimension {column} ({kind}) across positions", fontsize=10)

    return interactive_figure([dimension], figure, draw, [])
