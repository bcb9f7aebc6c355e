"""``python -m grader report OUT``: the page a teacher reads after grading a class.

Reads what ``python -m grader autograde`` wrote to OUT (``grades.csv``, ``results.json``) and writes
``OUT/report/``: ``index.html``, the PNG plots it shows and ``summary.json``, the numbers behind every plot.
The plots are drawn from ``summary.json`` as read back from disk, so that file is exactly what they show.

The page embeds the PNGs as data URIs, so ``index.html`` is one file that can be mailed or uploaded on its
own; the PNG files next to it are for slides and anyone who wants a picture alone.
"""

from __future__ import annotations

import base64
import csv
import html
import io
import json
import math
import statistics
import sys
from collections import Counter
from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from matplotlib.ticker import MaxNLocator, PercentFormatter

from course_lib.registry import get_exercise, lesson_exercises
from grader.paths import lessons

GRADES_COLUMNS = ("assignment", "student_id", "score", "max_score")
MOST_FREQUENT_MISTAKES_PLOTTED = 20
PLOTS = {
    "scores": "Scores per lesson",
    "pass_rates": "Pass rate per exercise",
    "mistakes": "Most frequent diagnosed mistakes",
}


class ReportInputError(Exception):
    """OUT lacks a file the report is made from, or the file is not what autograde writes."""


def report(out: Path) -> int:
    """The command: write the report, say where it is and print the headline."""
    try:
        page = write_report(out)
    except ReportInputError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    summary = json.loads((page.parent / "summary.json").read_text())
    print(f"report: {page}")
    for line in headline_lines(summary):
        print(f"  {line}")
    return 0


def write_report(out: Path) -> Path:
    """Write ``OUT/report/`` (index.html, PNGs, summary.json) and return the page's path."""
    out = Path(out)
    summary = summarise(load_grades(out), load_results(out))
    folder = out / "report"
    folder.mkdir(parents=True, exist_ok=True)
    # A plot with nothing to show this time must not survive from an earlier report.
    for stale in folder.glob("*.png"):
        stale.unlink()
    summary_file = folder / "summary.json"
    summary_file.write_text(json.dumps(summary, indent=1) + "\n")
    # Drawn from the file as written, so summary.json is exactly what the plots show.
    images = draw_plots(json.loads(summary_file.read_text()), folder)
    page = folder / "index.html"
    page.write_text(render_page(summary, images, out), encoding="utf-8")
    return page


# --- reading OUT -------------------------------------------------------------------------------------


def load_results(out: Path) -> list[dict]:
    path = out / "results.json"
    try:
        results = json.loads(_read_input(path))
    except json.JSONDecodeError as error:
        raise ReportInputError(
            f"{path} is not valid JSON ({error.msg} at line {error.lineno}); grade the class again"
        ) from None
    if not isinstance(results, list):
        raise ReportInputError(f"{path} should hold a list of submissions, as autograde writes it")
    return results


def load_grades(out: Path) -> list[dict[str, str]]:
    path = out / "grades.csv"
    reader = csv.DictReader(io.StringIO(_read_input(path)))
    rows = list(reader)
    missing = [column for column in GRADES_COLUMNS if column not in (reader.fieldnames or [])]
    if missing:
        raise ReportInputError(
            f"{path} lacks the column(s) {', '.join(missing)} of nbgrader's CSV export; grade the class again"
        )
    return rows


def _read_input(path: Path) -> str:
    if not path.is_file():
        raise ReportInputError(
            f"{path} not found: `python -m grader autograde SUBMISSIONS --out {path.parent}` writes it"
        )
    return path.read_text(encoding="utf-8")


# --- the numbers -------------------------------------------------------------------------------------


def summarise(grades: list[dict[str, str]], results: list[dict]) -> dict:
    """Every number the page shows. Scores come from grades.csv (nbgrader's grades), but only of
    submissions listed in results.json: nbgrader's export also gives a 0 to every student who handed
    nothing in, and those are counted as not handed in rather than as scores. Files autograde skipped
    (results.json's entries with ``skipped``) are listed apart."""
    skipped = [entry for entry in results if "skipped" in entry]
    results = [entry for entry in results if "skipped" not in entry]
    handed_in = {(result["student_id"], result["assignment"]) for result in results}
    order = _lesson_order(grades, results)
    submissions = {
        lesson: [result for result in results if result["assignment"] == lesson] for lesson in order
    }
    grade_rows = {lesson: [row for row in grades if row["assignment"] == lesson] for lesson in order}
    scores = {
        lesson: [float(row["score"]) for row in rows if (row["student_id"], lesson) in handed_in]
        for lesson, rows in grade_rows.items()
    }
    max_scores = {lesson: _max_score(lesson, grade_rows[lesson], submissions[lesson]) for lesson in order}
    students = {row["student_id"] for row in grades} | {student for student, _ in handed_in}
    pass_rates = [entry for lesson in order for entry in _pass_rates(lesson, submissions[lesson])]
    return {
        "students": len(students),
        "submissions": len(results),
        "lessons": [
            _lesson_headline(lesson, submissions[lesson], scores[lesson], max_scores[lesson], students)
            for lesson in order
        ],
        "score_histograms": {
            lesson: _histogram(scores[lesson], max_scores[lesson]) for lesson in order if scores[lesson]
        },
        "pass_rates": pass_rates,
        "mistakes": _mistakes(results, [entry["exercise_id"] for entry in pass_rates]),
        "flagged": _flagged(results, order),
        "skipped": [{"file": entry["skipped"], "reason": entry["reason"]} for entry in skipped],
        "warnings": _warnings(grades, handed_in),
    }


def _lesson_order(grades: list[dict[str, str]], results: list[dict]) -> list[str]:
    course = lessons()
    seen = {row["assignment"] for row in grades} | {result["assignment"] for result in results}
    return course + sorted(seen - set(course))


def _max_score(lesson: str, grade_rows: list[dict[str, str]], submissions: list[dict]) -> float:
    recorded = [float(row["max_score"]) for row in grade_rows] + [float(s["max_score"]) for s in submissions]
    return max(recorded, default=float(sum(exercise.points for exercise in lesson_exercises(lesson))))


def _lesson_headline(
    lesson: str, submissions: list[dict], scores: list[float], max_score: float, students: set[str]
) -> dict:
    return {
        "lesson": lesson,
        "submissions": len(submissions),
        "not_handed_in": len(students - {submission["student_id"] for submission in submissions}),
        "mean": statistics.fmean(scores) if scores else None,
        "median": statistics.median(scores) if scores else None,
        "max_score": max_score,
        "problems": sum(1 for submission in submissions if submission.get("problem")),
        "flagged": sum(1 for submission in submissions if submission.get("flags")),
    }


def _histogram(scores: list[float], max_score: float) -> dict:
    """One bin per point, ``[k, k+1)``; the last bin also holds full marks."""
    edges = list(range(max(1, math.ceil(max_score)) + 1))
    counts, _ = np.histogram(np.clip(scores, 0, edges[-1]), bins=edges)
    return {"bin_edges": edges, "counts": counts.tolist()}


def _pass_rates(lesson: str, submissions: list[dict]) -> list[dict]:
    """Share of the lesson's submissions that earned each exercise's full points; a submission that
    could not be graded has no exercises and so counts as failing them all."""
    if not submissions:
        return []
    entries = []
    for exercise_id in _exercise_order(lesson, submissions):
        passed = sum(1 for submission in submissions if _earned_full_points(submission, exercise_id))
        entries.append(
            {
                "lesson": lesson,
                "exercise_id": exercise_id,
                "passed": passed,
                "submissions": len(submissions),
                "rate": passed / len(submissions),
            }
        )
    return entries


def _exercise_order(lesson: str, submissions: list[dict]) -> list[str]:
    # Exercises the registry no longer knows (results of an older course version) still get their bar.
    known = [exercise.id for exercise in lesson_exercises(lesson)]
    seen = [exercise["exercise_id"] for submission in submissions for exercise in submission["exercises"]]
    return list(dict.fromkeys(known + seen))


def _earned_full_points(submission: dict, exercise_id: str) -> bool:
    return any(
        exercise["exercise_id"] == exercise_id and exercise["score"] >= exercise["max_score"]
        for exercise in submission["exercises"]
    )


def _mistakes(results: list[dict], exercise_order: list[str]) -> list[dict]:
    """Diagnosed mistakes, most frequent first; ties in course order."""
    diagnosed = [
        exercise for result in results for exercise in result["exercises"] if exercise.get("mistake")
    ]
    counts = Counter((exercise["exercise_id"], exercise["mistake"]) for exercise in diagnosed)
    messages = {(exercise["exercise_id"], exercise["mistake"]): exercise["message"] for exercise in diagnosed}
    rank = {exercise_id: position for position, exercise_id in enumerate(exercise_order)}
    entries = [
        {
            "exercise_id": exercise_id,
            "mistake_id": mistake_id,
            "count": count,
            "diagnosis": _diagnosis(exercise_id, mistake_id, messages[exercise_id, mistake_id]),
        }
        for (exercise_id, mistake_id), count in counts.items()
    ]
    return sorted(
        entries, key=lambda e: (-e["count"], rank.get(e["exercise_id"], len(rank)), e["mistake_id"])
    )


def _diagnosis(exercise_id: str, mistake_id: str, message_seen: str) -> str:
    try:
        return get_exercise(exercise_id).mistake(mistake_id).diagnosis
    except KeyError:
        # A mistake the registry does not (or no longer) know: the learner's message is the best words.
        return message_seen


def _flagged(results: list[dict], lesson_order: list[str]) -> list[dict]:
    """Submissions a teacher should open: possible tampering, a grading problem, or a grader's note."""
    flagged = [
        {
            "student_id": result["student_id"],
            "assignment": result["assignment"],
            "score": result["score"],
            "max_score": result["max_score"],
            "problem": result.get("problem"),
            "flags": result.get("flags") or [],
            "notes": result.get("notes") or [],
        }
        for result in results
        if result.get("problem") or result.get("flags") or result.get("notes")
    ]
    return sorted(flagged, key=lambda row: (lesson_order.index(row["assignment"]), row["student_id"]))


def _warnings(grades: list[dict[str, str]], handed_in: set[tuple[str, str]]) -> list[str]:
    in_grades = {(row["student_id"], row["assignment"]) for row in grades}
    return [
        f"{student} / {lesson} is in results.json but not in grades.csv: its score is left out of the "
        "score statistics (were the two files written by different grading runs?)"
        for student, lesson in sorted(handed_in - in_grades)
    ]


def headline_lines(summary: dict) -> list[str]:
    if not summary["submissions"]:
        return ["no submissions: results.json lists none, so there is nothing to summarise yet"]
    lines = [f"{summary['students']} student(s), {summary['submissions']} submission(s)"]
    for lesson in summary["lessons"]:
        if lesson["submissions"]:
            lines.append(
                f"{lesson['lesson']}: {lesson['submissions']} submission(s), "
                f"mean {_points(lesson['mean'])}, median {_points(lesson['median'])} "
                f"of {lesson['max_score']:g}"
            )
    if summary["flagged"]:
        lines.append(f"{len(summary['flagged'])} submission(s) flagged: see the report's table of them")
    if summary.get("skipped"):
        lines.append(f"{len(summary['skipped'])} file(s) skipped, not graded: see the report's last table")
    return lines


def _points(value: float | None) -> str:
    return "—" if value is None else f"{value:.3g}"


def _rounded(value: float | None) -> float | str:
    return "—" if value is None else round(value, 2)


# --- the plots ---------------------------------------------------------------------------------------


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


# --- the page ----------------------------------------------------------------------------------------

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
img { max-width: 100%; border: 1px solid #eee; }
"""


def render_page(summary: dict, images: dict[str, bytes], out: Path) -> str:
    sections = [_headline_section(summary)]
    if summary["submissions"]:
        sections += [
            _scores_section(summary, images),
            _pass_rates_section(summary, images),
            _mistakes_section(summary, images),
            _flagged_section(summary),
        ]
    sections.append(_skipped_section(summary))
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>Class report: {_text(str(out))}</title><style>{STYLE}</style></head><body>"
        "<h1>Attention, from smoothing to GPT: class report</h1>"
        f'<p class="source">Made from grades.csv and results.json in {_text(str(out.resolve()))}; '
        "the numbers behind every plot are in summary.json next to this page.</p>"
        + "".join(sections)
        + "</body></html>\n"
    )


def _headline_section(summary: dict) -> str:
    if not summary["submissions"]:
        return (
            '<p class="banner"><strong>No submissions.</strong> results.json lists none, so there is nothing '
            "to summarise yet. Did <code>python -m grader autograde</code> find the notebooks "
            "(<code>&lt;student_id&gt;/&lt;assignment&gt;/&lt;assignment&gt;.ipynb</code>)?</p>"
        )
    rows = [
        [
            entry["lesson"],
            entry["submissions"],
            entry["not_handed_in"],
            _rounded(entry["mean"]),
            _rounded(entry["median"]),
            entry["max_score"],
            entry["problems"],
            entry["flagged"],
        ]
        if entry["submissions"]
        else [entry["lesson"], 0, entry["not_handed_in"], "no submissions", "", entry["max_score"], "", ""]
        for entry in summary["lessons"]
    ]
    warnings = "".join(f'<p class="banner">{_text(warning)}</p>' for warning in summary["warnings"])
    return (
        f'<p class="headline"><strong>{summary["students"]}</strong> students, '
        f"<strong>{summary['submissions']}</strong> submissions</p>"
        + warnings
        + _table(
            ["lesson", "handed in", "not handed in", "mean", "median", "max", "problems", "flagged"], rows
        )
    )


def _scores_section(summary: dict, images: dict[str, bytes]) -> str:
    return (
        f"<h2>{PLOTS['scores']}</h2>"
        '<p class="note">One bar per point (a score of 6.5 counts in the bar from 6 to 7; full marks in the '
        "last bar), from grades.csv. Students who did not hand a lesson in are not counted.</p>"
        + _image("scores", images)
    )


def _pass_rates_section(summary: dict, images: dict[str, bytes]) -> str:
    rows = [
        [
            entry["lesson"],
            entry["exercise_id"],
            f"{entry['passed']} / {entry['submissions']}",
            _percent(entry),
        ]
        for entry in summary["pass_rates"]
    ]
    return (
        f"<h2>{PLOTS['pass_rates']}</h2>"
        "<p class=\"note\">Share of a lesson's submissions that earned the exercise's full points. "
        "A notebook that could not be graded counts as failing every exercise.</p>"
        + _image("pass_rates", images)
        + _table(["lesson", "exercise", "full points", "pass rate"], rows)
    )


def _mistakes_section(summary: dict, images: dict[str, bytes]) -> str:
    if not summary["mistakes"]:
        return (
            f"<h2>{PLOTS['mistakes']}</h2><p>No diagnosed mistakes: every lost point was either a function "
            "not written yet or a wrong answer that matches no known mistake.</p>"
        )
    rows = [
        [entry["count"], entry["exercise_id"], entry["mistake_id"], entry["diagnosis"]]
        for entry in summary["mistakes"]
    ]
    return (
        f"<h2>{PLOTS['mistakes']}</h2>"
        + _image("mistakes", images)
        + _table(["submissions", "exercise", "mistake", "what the learner was told"], rows)
    )


def _flagged_section(summary: dict) -> str:
    title = "<h2>Flagged submissions</h2>"
    if not summary["flagged"]:
        return title + "<p>None: no possible tampering, no grading problems, no notes.</p>"
    rows = [
        [
            entry["student_id"],
            entry["assignment"],
            f"{entry['score']:g} / {entry['max_score']:g}",
            entry["problem"] or "",
            "\n".join(entry["flags"]),
            "\n".join(entry["notes"]),
        ]
        for entry in summary["flagged"]
    ]
    return (
        title
        + '<p class="note">Possible tampering (flags), notebooks that could not be graded (problem) and the '
        "grader's notes. Open the learner's feedback in feedback/&lt;student&gt;/&lt;lesson&gt;.html.</p>"
        + _table(["student", "lesson", "score", "problem", "flags", "notes"], rows)
    )


def _skipped_section(summary: dict) -> str:
    title = "<h2>Skipped files</h2>"
    if not summary.get("skipped"):
        return title + "<p>None: every notebook in the submissions folder was graded.</p>"
    rows = [[entry["file"], entry["reason"]] for entry in summary["skipped"]]
    return (
        title
        + '<p class="note">Notebooks in the submissions folder that were not graded: nobody got points for '
        "them. Move or rename a file to &lt;student&gt;/&lt;lesson&gt;/&lt;lesson&gt;.ipynb and grade again "
        "to grade it.</p>"
        + _table(["file", "why it was skipped"], rows)
    )


def _image(name: str, images: dict[str, bytes]) -> str:
    if name not in images:
        return '<p class="note">Nothing to plot.</p>'
    encoded = base64.b64encode(images[name]).decode("ascii")
    return f'<p><img src="data:image/png;base64,{encoded}" alt="{PLOTS[name]}" title="{name}.png"></p>'


def _table(headers: list[str], rows: list[list]) -> str:
    head = "".join(f"<th>{_text(header)}</th>" for header in headers)
    body = "".join("<tr>" + "".join(_cell(value) for value in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _cell(value: str | float) -> str:
    if isinstance(value, (int, float)):
        return f'<td class="number">{value:g}</td>'
    return f'<td class="text">{_text(value)}</td>'


def _percent(entry: dict) -> str:
    return f"{100 * entry['rate']:.0f}%"


def _text(value: str) -> str:
    return html.escape(value, quote=True)
