"""Interactive explorers: ipywidgets controls over a matplotlib figure that uses the learner's functions.

Each explorer draws its figure once and, when a control moves, updates the data of the existing artists
and shows the figure again: cheaper than building a new figure for every move. The picture is put into the
Output widget's ``outputs`` directly (not captured with ``with out:``), so it replaces the previous one in
a single update, and the kernel itself can tell what is on show.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Callable, Sequence
from contextlib import contextmanager

import ipywidgets as widgets
import matplotlib.pyplot as plt
from matplotlib.figure import Figure


@contextmanager
def needs_exercise(*names: str):
    """Run a demo that uses the learner's functions; if one is not written yet, say so instead of failing."""
    figures_before = set(plt.get_fignums())
    try:
        yield
    except NotImplementedError:
        # A figure opened before the unwritten function was called would show up as empty axes.
        for number in set(plt.get_fignums()) - figures_before:
            plt.close(number)
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


def _culprit(error: BaseException, uses: Sequence[str]) -> str | None:
    """The learner function the error came from, found among the traceback's frames."""
    frames, traceback = [], error.__traceback__
    while traceback is not None:
        frames.append(traceback.tb_frame.f_code.co_name)
        traceback = traceback.tb_next
    return next((name for name in frames if name in uses), uses[0] if len(uses) == 1 else None)


def learner_error_text(error: BaseException, uses: Sequence[str]) -> str:
    name = _culprit(error, uses)
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

    def redraw(_change=None) -> None:
        try:
            draw()
        except Exception as error:  # the learner's code may raise anything: show it, keep the sliders alive
            show_text(out, learner_error_text(error, uses))
            return
        show_figure(out, figure)

    for control in controls:
        control.observe(redraw, names="value")
    redraw()
    return widgets.VBox([widgets.HBox(list(controls)), out])
