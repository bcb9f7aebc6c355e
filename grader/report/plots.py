"""The class report's plots, drawn from its summary (``numbers.summarise``) as read back from disk."""

from __future__ import annotations

import math
from pathlib import Path

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from matplotlib.ticker import MaxNLocator, PercentFormatter

MOST_FREQUENT_MISTAKES_PLOTTED = 20
PLOTS = {
    "scores": "Scores per lesson",
    "pass_rates": "Pass rate per exercise",
    "mistakes": "Most frequent diagnosed mistakes",
}


def draw_plots(summary: dict, folder: Path) -> dict[str, bytes]:
    """Draw every plot that has data into ``folder``; returns the PNG bytes by plot name."""
    drawers = {"scores": _draw_scores, "pass_rates": _draw_pass_rates, "mistakes": _draw_mistakes}
    images = {}
    for name, draw in drawers.items():
        figure = draw(summary)
        if figure is not None:
            target = folder / f"{name}.png"
            figure.savefig(target, dpi=110)
            images[name] = target.read_bytes()
    return images


def _figure(width: float, height: float) -> Figure:
    figure = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def _draw_scores(summary: dict) -> Figure | None:
    histograms = summary["score_histograms"]
    if not histograms:
        return None
    headline = {entry["lesson"]: entry for entry in summary["lessons"]}
    columns = min(3, len(histograms))
    rows = math.ceil(len(histograms) / columns)
    figure = _figure(4.2 * columns, 3.2 * rows)
    axes = list(figure.subplots(rows, columns, squeeze=False).flat)
    for ax, (lesson, histogram) in zip(axes[: len(histograms)], histograms.items(), strict=True):
        edges = histogram["bin_edges"]
        ax.bar(edges[:-1], histogram["counts"], width=1, align="edge", color="C0", edgecolor="white")
        numbers = headline[lesson]
        ax.axvline(numbers["mean"], color="black", linestyle="--", linewidth=1)
        ax.set_title(
            f"{lesson}: {numbers['submissions']} handed in\n"
            f"mean (dashed) {numbers['mean']:.3g} of {numbers['max_score']:g}",
            fontsize="medium",
        )
        ax.set(xlabel="score", ylabel="submissions", xlim=(edges[0], edges[-1]))
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    for unused in axes[len(histograms) :]:
        unused.set_visible(False)
    return figure


def _draw_pass_rates(summary: dict) -> Figure | None:
    entries = summary["pass_rates"]
    if not entries:
        return None
    colours = {lesson: f"C{i}" for i, lesson in enumerate(dict.fromkeys(e["lesson"] for e in entries))}
    figure = _figure(8, 1.2 + 0.3 * len(entries))
    ax = figure.subplots()
    positions = range(len(entries))
    ax.barh(positions, [e["rate"] for e in entries], color=[colours[e["lesson"]] for e in entries])
    for position, entry in enumerate(entries):
        ax.text(entry["rate"] + 0.01, position, f"{entry['passed']}/{entry['submissions']}", va="center")
    ax.set_yticks(list(positions), [entry["exercise_id"] for entry in entries])
    ax.invert_yaxis()
    ax.set(xlim=(0, 1.12), xlabel="submissions with the exercise's full points")
    ax.xaxis.set_major_formatter(PercentFormatter(xmax=1))
    ax.legend(
        handles=[Patch(color=colour, label=lesson) for lesson, colour in colours.items()],
        loc="lower right",
        fontsize="small",
    )
    return figure


def _draw_mistakes(summary: dict) -> Figure | None:
    entries = summary["mistakes"][:MOST_FREQUENT_MISTAKES_PLOTTED]
    if not entries:
        return None
    figure = _figure(8, 1.2 + 0.3 * len(entries))
    ax = figure.subplots()
    positions = range(len(entries))
    ax.barh(positions, [entry["count"] for entry in entries], color="C3")
    ax.set_yticks(list(positions), [f"{e['exercise_id']}: {e['mistake_id']}" for e in entries])
    ax.invert_yaxis()
    ax.set(xlabel="submissions with this mistake")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    if len(summary["mistakes"]) > len(entries):
        ax.set_title(f"the {len(entries)} most frequent of {len(summary['mistakes'])}", fontsize="medium")
    return figure
