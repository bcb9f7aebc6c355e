"""The class report: the page a teacher reads after grading a class.

Made from what ``python -m grader autograde`` wrote to OUT (``grades.csv``, ``results.json``, and when
they are there ``journal.jsonl`` and ``similarity.json``), it is ``OUT/report/``: ``index.html``, the PNG
plots it shows and ``summary.json``, the numbers behind every table and plot (``numbers``, with
``misconceptions`` and ``history``). The plots (``plots``) are drawn from ``summary.json`` as read back
from disk, so that file is exactly what they show; the page (``page``, a Jinja template) embeds them, and
the PNG files next to it are for slides and anyone who wants a picture alone.
"""

from __future__ import annotations

import json
from pathlib import Path

from grader.report.history import load_journal
from grader.report.numbers import ReportInputError, load_grades, load_results, load_similarity, summarise
from grader.report.page import render_page
from grader.report.plots import draw_plots

__all__ = ["ReportInputError", "write_report"]


def write_report(out: Path) -> Path:
    """Write ``OUT/report/`` (index.html, PNGs, summary.json) and return the page's path."""
    out = Path(out)
    summary = summarise(load_grades(out), load_results(out), load_journal(out), load_similarity(out))
    folder = out / "report"
    folder.mkdir(parents=True, exist_ok=True)
    # A plot with nothing to show this time must not survive from an earlier report.
    for stale in folder.glob("*.png"):
        stale.unlink()
    summary_file = folder / "summary.json"
    summary_file.write_text(json.dumps(summary, indent=1) + "\n")
    images = draw_plots(json.loads(summary_file.read_text()), folder)
    page = folder / "index.html"
    page.write_text(render_page(summary, images, out), encoding="utf-8")
    return page
