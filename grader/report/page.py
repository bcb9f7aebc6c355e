"""The class report's page: ``templates/report.html.j2``, filled in from the summary, its plots embedded
as data URIs so that ``index.html`` is one file that can be mailed or uploaded on its own."""

from __future__ import annotations

import base64
from pathlib import Path

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from grader.report.plots import PLOTS

STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; color: #222; margin: 2em auto;
       max-width: 1100px; padding: 0 1em; line-height: 1.45; }
h1 { margin-bottom: 0.2em; } h2 { margin-top: 2em; border-bottom: 2px solid #ddd; padding-bottom: 0.2em; }
.source, .note { color: #666; font-size: 0.9em; }
.headline { font-size: 1.2em; } .headline strong { font-size: 1.4em; }
.banner { background: #fff4d6; border: 1px solid #e0c060; padding: 0.8em 1em; border-radius: 4px; }
table { border-collapse: collapse; margin: 1em 0; font-size: 0.92em; }
th, td { border: 1px solid #ddd; padding: 0.35em 0.7em; text-align: left; vertical-align: top; }
th { background: #f2f4f7; } tr:nth-child(even) td { background: #fafbfc; }
td.number { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.text { white-space: pre-wrap; max-width: 42em; }
td.code pre { margin: 0; font-size: 0.85em; white-space: pre-wrap; max-width: 36em; }
img { max-width: 100%; border: 1px solid #eee; }
"""


def _lesson_row(entry: dict) -> list:
    if not entry["submissions"]:
        return [entry["lesson"], 0, entry["not_handed_in"], "no submissions", "", entry["max_score"], "", ""]
    return [
        entry["lesson"],
        entry["submissions"],
        entry["not_handed_in"],
        _rounded(entry["mean"]),
        _rounded(entry["median"]),
        entry["max_score"],
        entry["problems"],
        entry["flagged"],
    ]


def _pass_rate_row(entry: dict) -> list:
    return [
        entry["lesson"],
        entry["exercise_id"],
        f"{entry['passed']} / {entry['submissions']}",
        f"{100 * entry['rate']:.0f}%",
    ]


def _mistake_row(entry: dict) -> list:
    share = f"{100 * entry['share']:.0f}%"
    return [entry["count"], share, entry["exercise_id"], entry["mistake_id"], entry["diagnosis"]]


def _case_kind_row(entry: dict) -> list:
    failing = f"{entry['failing']} / {entry['partly_right_answers']}"
    return [entry["exercise_id"], entry["kind_name"], failing, f"{100 * entry['share']:.0f}%"]


def _history_row(entry: dict) -> list:
    scores = " → ".join(f"{score:g}" for score in entry["scores"]) + f" of {entry['max_score']:g}"
    lines = []
    for attempt, change in enumerate(entry["changes"], start=2):
        said = [
            f"{words} {', '.join(change[key])}"
            for key, words in (
                ("gained", "gained"),
                ("lost", "lost"),
                ("mistakes_fixed", "fixed"),
                ("new_mistakes", "new mistake"),
            )
            if change[key]
        ]
        lines.append(f"attempt {attempt}: {'; '.join(said) or 'no exercise changed'}")
    return [entry["student_id"], entry["assignment"], scores, "\n".join(lines)]


def _flagged_row(entry: dict) -> list:
    return [
        entry["student_id"],
        entry["assignment"],
        f"{entry['score']:g} / {entry['max_score']:g}",
        entry["problem"] or "",
        "\n".join(entry["flags"]),
        "\n".join(entry["notes"]),
    ]


def _skipped_row(entry: dict) -> list:
    return [entry["file"], entry["reason"]]


def _rounded(value: float | None) -> float | str:
    return "—" if value is None else round(value, 2)


_templates = Environment(
    loader=PackageLoader("grader.report"),
    autoescape=select_autoescape(["j2"]),
    undefined=StrictUndefined,
)
_templates.filters.update(
    lesson_row=_lesson_row,
    pass_rate_row=_pass_rate_row,
    mistake_row=_mistake_row,
    case_kind_row=_case_kind_row,
    history_row=_history_row,
    flagged_row=_flagged_row,
    skipped_row=_skipped_row,
)


def render_page(summary: dict, images: dict[str, bytes], out: Path) -> str:
    encoded = {name: base64.b64encode(png).decode("ascii") for name, png in images.items()}
    return _templates.get_template("report.html.j2").render(
        summary=summary, images=encoded, plots=PLOTS, out=out, style=STYLE
    )
