"""Interactive explorers: ipywidgets controls over a matplotlib figure that uses the learner's functions.

Each explorer draws its figure once and, when a control moves, updates the data of the existing artists
and shows the figure again: cheaper than building a new figure for every move. The picture is put into the
Output widget's ``outputs`` directly (not captured with ``with out:``), so it replaces the previous one in
a single update, and the kernel itself can tell what is on show.
"""

from __future__ import annotations

import asyncio
import base64
import io
from collections.abc import Callable, Sequence
from contextlib import contextmanager

import ipywidgets as widgets
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from PIL import Image

from course_lib.checking import culprit_of


@contextmanager
def needs_exercise(*names: str):
    """Run a demo that uses the learner's functions (``names``); if one of them is not written yet or
    fails, say which one and what to do, instead of showing a traceback."""
    figures_before = set(plt.get_fignums())
    try:
        yield
    except Exception as error:  # the learner's code may raise anything: explain it, keep the notebook going
        # A figure opened before the failing function was called would show up as empty axes.
        for number in set(plt.get_fignums()) - figures_before:
            plt.close(number)
        print(demo_error_text(error, names))


def listed_names(names: Sequence[str]) -> str:
    """`a`; `a` and `b`; `a`, `b` and `c`."""
    quoted = [f"`{name}`" for name in names]
    return quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " and " + quoted[-1]


def demo_error_text(error: BaseException, names: Sequence[str]) -> str:
    """What a learner reads when a demo cell using ``names`` stops with ``error``."""
    culprit = culprit_of(error, names)
    uses = f"This cell uses {listed_names(names)}"
    if culprit is not None and culprit not in names:
        uses += f", which need{'s' if len(names) == 1 else ''} your `{culprit}`"
    if culprit is None:
        return (
            f"{uses}, and it stopped with {type(error).__name__}: {error}. Make sure each of them passes "
            "its check above, then run this cell again."
        )
    if isinstance(error, NotImplementedError):
        return (
            f"{uses}: `{culprit}` is not written yet. Write it in its exercise above, run that cell, then "
            "run this one again."
        )
    return (
        f"{uses}: `{culprit}` raised {type(error).__name__}: {error}. Its check above says what is wrong; "
        "fix it there, run that cell, then run this one again."
    )


PNG_DPI = 80


def figure_png(figure: Figure, lay_out: bool = True) -> bytes:
    """``figure`` as a PNG at PNG_DPI: the same pixels as ``figure.savefig(format="png", dpi=PNG_DPI)``, or,
    with ``lay_out=False``, painted with its axes where they are, without running its layout engine first.

    Faster than savefig, which a slider needs: savefig renders a figure that has a layout engine twice (once
    to lay it out, once to paint), where one Agg draw does both; and the PNG is compressed lightly, because it
    travels only from the kernel to the browser on the same machine.
    """
    canvas = figure.canvas if isinstance(figure.canvas, FigureCanvasAgg) else FigureCanvasAgg(figure)
    figure.set_dpi(PNG_DPI)
    engine = figure.get_layout_engine()
    if lay_out or engine is None:
        canvas.draw()
    else:
        figure.set_layout_engine("none")
        try:
            canvas.draw()
        finally:
            figure.set_layout_engine(engine)
    width, height = canvas.get_width_height(physical=True)
    buffer = io.BytesIO()
    Image.frombuffer("RGBA", (width, height), canvas.buffer_rgba(), "raw", "RGBA", 0, 1).save(
        buffer, format="png", compress_level=1
    )
    return buffer.getvalue()


def _show_png(out: widgets.Output, png: bytes, figure: Figure) -> None:
    out.outputs = (
        {
            "output_type": "display_data",
            "data": {"image/png": base64.b64encode(png).decode("ascii"), "text/plain": repr(figure)},
            "metadata": {},
        },
    )


def show_figure(out: widgets.Output, figure: Figure) -> None:
    _show_png(out, figure_png(figure), figure)


# How far the layout may move an axes before the figure is painted again: the layout solver's own floating
# point noise, and the last steps of a layout that converges over several draws (rotated tick labels), move
# axes by far less than a pixel's colour can show.
LAYOUT_TOLERANCE_PX = 1e-3
# How long the layout of a changed figure waits: long enough for the browser to receive and paint the picture
# first, instead of competing with it for the CPU. A further change within that time makes it unnecessary.
LAYOUT_DELAY_S = 0.15


def _axes_boxes_px(figure: Figure) -> np.ndarray:
    boxes = [ax.get_position(original=True).transformed(figure.transFigure) for ax in figure.axes]
    return np.array([box.bounds for box in boxes])


def lay_out_and_reshow(out: widgets.Output, figure: Figure) -> None:
    """Run ``figure``'s layout engine, and paint and show the figure again if that moved an axes."""
    engine = figure.get_layout_engine()
    if engine is None:
        return
    shown_boxes = _axes_boxes_px(figure)
    engine.execute(figure)
    if not np.allclose(_axes_boxes_px(figure), shown_boxes, rtol=0, atol=LAYOUT_TOLERANCE_PX):
        _show_png(out, figure_png(figure, lay_out=False), figure)


def show_changed_figure(out: widgets.Output, figure: Figure) -> asyncio.TimerHandle | None:
    """Show ``figure`` again after its data changed, as soon as possible.

    The layout (constrained layout measures every tick label and title) costs about as much as the painting,
    and a slider move seldom changes it. So the figure is painted and shown at once with its axes where the
    last picture had them, and laid out afterwards (``lay_out_and_reshow``): LAYOUT_DELAY_S later on the
    kernel's event loop, which handles the widgets' messages; at once where no event loop runs (plain Python).
    Returns the pending layout, for a further change to cancel. Once the controls rest, the picture on show is
    the one ``show_figure`` would make, to LAYOUT_TOLERANCE_PX.
    """
    _show_png(out, figure_png(figure, lay_out=False), figure)
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        lay_out_and_reshow(out, figure)
        return None
    return loop.call_later(LAYOUT_DELAY_S, lay_out_and_reshow, out, figure)


def show_text(out: widgets.Output, text: str) -> None:
    out.outputs = ({"output_type": "stream", "name": "stdout", "text": text + "\n"},)


def learner_error_text(error: BaseException, uses: Sequence[str]) -> str:
    name = culprit_of(error, uses)
    listed = f"`{name}`" if name else " or ".join(f"`{used}`" for used in uses)
    if isinstance(error, NotImplementedError):
        return f"This plot uses {listed}: write it in the exercise above and run its cell."
    return f"{listed} raised {type(error).__name__}: {error}"


def interactive_figure(
    controls: Sequence[widgets.ValueWidget],
    figure: Figure,
    draw: Callable[[], None],
    uses: Sequence[str],
) -> widgets.VBox:
    """Redraw ``figure`` with ``draw()`` whenever a control changes; ``uses`` names the learner's functions
    that ``draw`` calls, so that an error in one of them is reported by name instead of breaking the plot."""
    out = widgets.Output()
    pending_layout: list[asyncio.TimerHandle] = []  # of the picture on show, while it waits for its turn

    def redraw(change=None) -> None:
        for waiting in pending_layout:  # this redraw lays the figure out anew
            waiting.cancel()
        pending_layout.clear()
        try:
            draw()
        except Exception as error:  # the learner's code may raise anything: show it, keep the sliders alive
            show_text(out, learner_error_text(error, uses))
            return
        if change is None:  # the first picture: there is no layout on show yet to start from
            show_figure(out, figure)
        elif layout := show_changed_figure(out, figure):
            pending_layout.append(layout)

    for control in controls:
        control.observe(redraw, names="value")
    redraw()
    return widgets.VBox([widgets.HBox(list(controls)), out])
