"""Lesson 01's explorer: Gaussian smoothing with a width slider and a point to inspect."""

from __future__ import annotations

from collections.abc import Callable

import ipywidgets as widgets
import numpy as np
from matplotlib.figure import Figure

from course_lib.widgets import interactive_figure


def _distance(series: np.ndarray, signal: np.ndarray) -> float:
    """Root-mean-square difference between two series, as lesson 01 measures a smoothing."""
    return float(np.sqrt(np.mean((series - signal) ** 2)))


def smoothing_explorer(
    times: np.ndarray,
    noisy: np.ndarray,
    weights_fn: Callable[..., np.ndarray],
    clean: np.ndarray | None = None,
    sigma: float = 3.0,
) -> widgets.VBox:
    """Sliders for the kernel width and the inspected point over a Gaussian smoothing of ``noisy``.

    ``weights_fn(query_times, key_times, sigma)`` is the learner's ``gaussian_weights``.
    """
    sigma_slider = widgets.FloatSlider(value=sigma, min=0.3, max=15.0, step=0.1, description="sigma")
    point_slider = widgets.IntSlider(value=len(times) // 2, min=0, max=len(times) - 1, description="inspect")

    figure = Figure(figsize=(11, 5), layout="constrained")
    panels = figure.subplot_mosaic(
        [["series", "matrix"], ["weights", "matrix"]], width_ratios=(2.2, 1), height_ratios=(2, 1)
    )
    series_ax, weights_ax, matrix_ax = panels["series"], panels["weights"], panels["matrix"]
    weights_ax.sharex(series_ax)
    series_ax.plot(times, noisy, ".", alpha=0.4, label="noisy readings")
    if clean is not None:
        series_ax.plot(times, clean, "--", color="gray", label="hidden signal")
    (smoothed_line,) = series_ax.plot(times, noisy, lw=2, label="smoothed")
    (inspected_marker,) = series_ax.plot([], [], "o", ms=10, mfc="none", mew=2, color="crimson")
    series_ax.legend(loc="upper right")
    series_ax.set_ylabel("reading")
    weights_bars = weights_ax.bar(times, np.zeros_like(times), width=1.0, color="crimson")
    weights_ax.set_xlabel("time step")
    weights_ax.set_ylabel("weight")
    matrix_image = matrix_ax.imshow(
        np.eye(len(times)), cmap="viridis", aspect="auto", interpolation="nearest"
    )
    inspected_row = matrix_ax.axhline(0, color="crimson", lw=1)
    matrix_ax.set_title("the whole weight matrix", fontsize=10)
    matrix_ax.set_xlabel("key (neighbour)")
    matrix_ax.set_ylabel("query (point being smoothed)")

    raw_distance = _distance(noisy, clean) if clean is not None else None

    def draw() -> None:
        weights = np.asarray(weights_fn(times, times, sigma_slider.value))
        smoothed = weights @ noisy
        point = point_slider.value
        smoothed_line.set_ydata(smoothed)
        inspected_marker.set_data([times[point]], [smoothed[point]])
        for bar, height in zip(weights_bars, weights[point], strict=True):
            bar.set_height(height)
        weights_ax.set_ylim(0, max(1e-3, float(weights[point].max())) * 1.1)
        weights_ax.set_title(
            f"weights of point {point} over its neighbours: it keeps {weights[point, point]:.0%} for itself"
            f" (they sum to {weights[point].sum():.3f})",
            fontsize=10,
        )
        if clean is not None:
            series_ax.set_title(
                f"sigma {sigma_slider.value:.1f}: distance to the hidden signal (RMS) "
                f"{_distance(smoothed, clean):.3f}, raw readings {raw_distance:.3f}",
                fontsize=10,
            )
        matrix_image.set_data(weights)
        matrix_image.set_clim(0, max(1e-3, float(weights.max())))
        inspected_row.set_ydata([point, point])

    uses = [getattr(weights_fn, "__name__", "gaussian_weights")]
    return interactive_figure([sigma_slider, point_slider], figure, draw, uses)
