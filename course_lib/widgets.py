"""Interactive explorers built from ipywidgets sliders and a matplotlib figure.

Each explorer draws its figure once and, when a slider moves, updates the data of the existing artists
and shows the figure again: cheaper than building a new figure for every move. The picture is put into the
Output widget's ``outputs`` directly (not captured with ``with out:``), so it replaces the previous one in
a single update, and the kernel itself can tell what is on show.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Callable
from contextlib import contextmanager

import ipywidgets as widgets
import numpy as np
from matplotlib.figure import Figure

from course_lib.checking import describe_inputs


@contextmanager
def needs_exercise(*names: str):
    """Run a demo that uses the learner's functions; if one is not written yet, say so instead of failing."""
    try:
        yield
    except NotImplementedError:
        listed = ", ".join(f"`{name}`" for name in names)
        print(
            f"This cell uses {listed}. Write it in the exercise above, run its cell, then run this one again."
        )


def show_figure(out: widgets.Output, figure: Figure) -> None:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=80)
    png = base64.b64encode(buffer.getvalue()).decode("ascii")
    out.outputs = (
        {
            "output_type": "display_data",
            "data": {"image/png": png, "text/plain": repr(figure)},
            "metadata": {},
        },
    )


def show_text(out: widgets.Output, text: str) -> None:
    out.outputs = ({"output_type": "stream", "name": "stdout", "text": text + "\n"},)


def _show_learner_error(out: widgets.Output, function_name: str, error: Exception, inputs: dict) -> None:
    if isinstance(error, NotImplementedError):
        show_text(out, f"Write `{function_name}` in the exercise above and run its cell: this plot uses it.")
    else:
        show_text(
            out,
            f"`{function_name}` raised {type(error).__name__}: {error}\n  inputs: {describe_inputs(inputs)}",
        )


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
    sigma_slider = widgets.FloatSlider(
        value=sigma, min=0.3, max=15.0, step=0.1, description="sigma", continuous_update=True
    )
    point_slider = widgets.IntSlider(
        value=len(times) // 2, min=0, max=len(times) - 1, description="inspect", continuous_update=True
    )
    out = widgets.Output()

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

    def redraw(_change=None) -> None:
        inputs = {"query_times": times, "key_times": times, "sigma": sigma_slider.value}
        try:
            weights = np.asarray(weights_fn(**inputs))
        except Exception as error:  # any learner error becomes a message next to the sliders
            _show_learner_error(out, getattr(weights_fn, "__name__", "weights_fn"), error, inputs)
            return
        smoothed = weights @ noisy
        point = point_slider.value
        smoothed_line.set_ydata(smoothed)
        inspected_marker.set_data([times[point]], [smoothed[point]])
        for bar, height in zip(weights_bars, weights[point], strict=True):
            bar.set_height(height)
        weights_ax.set_ylim(0, max(1e-3, float(weights[point].max())) * 1.1)
        matrix_image.set_data(weights)
        matrix_image.set_clim(0, max(1e-3, float(weights.max())))
        inspected_row.set_ydata([point, point])
        weights_ax.set_title(
            f"weights of point {point} over its neighbours (they sum to {weights[point].sum():.3f})",
            fontsize=10,
        )
        show_figure(out, figure)

    sigma_slider.observe(redraw, names="value")
    point_slider.observe(redraw, names="value")
    redraw()
    return widgets.VBox([widgets.HBox([sigma_slider, point_slider]), out])
