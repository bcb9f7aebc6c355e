"""How much faster does ``python -m grader autograde`` grade a class than plain, sequential nbgrader?

Makes N learner submissions from the course's own notebooks (a mix of correct, partly wrong and
unanswered ones over lessons 01-05), then, in the same run and on the same submissions, times

* plain nbgrader: ``nbgrader autograde <lesson>`` for each lesson, one notebook after another, with no
  sandbox and no verification (nbgrader's own course directory, set up beforehand and not timed);
* ours: ``python -m grader autograde SUBMISSIONS --out OUT --workers W`` with the sandbox and the
  out-of-kernel verification on, setting up its own nbgrader course included, plus feedback pages and the
  class report, which plain nbgrader does not make.

Prints both times, the ratio (plain / ours) and both totals so they can be compared.
Run: `.venv/bin/python bench/grade_speed.py [--submissions 42] [--workers 2] [--lessons 01_smoothing ...]`.
"""

from __future__ import annotations

import argparse
import csv
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat

from grader.paths import NBGRADER_CONFIG, ROOT, solution_notebook

LESSONS = ("01_smoothing", "02_lookup", "03_qkv", "04_multihead", "05_decoder")
# One wrong answer per lesson, as an answer-cell edit: (grade_id, old text, new text).
WRONG = {
    "01_smoothing": ("answer_gaussian_weights", "(2 * sigma**2)", "(2 * sigma)"),
    "02_lookup": ("answer_softmax", "x - x.max(axis=axis, keepdims=True)", "x"),
    "03_qkv": ("answer_scaled_dot_product_attention", " / np.sqrt(q.shape[-1])", ""),
    "04_multihead": (
        "answer_multi_head_attention",
        "(split_heads(t, self.n_heads) for t",
        "(t.reshape(t.shape[0], self.n_heads, t.shape[1], -1) for t",
    ),
    "05_decoder": (
        "answer_layer_norm",
        "((x - mean) ** 2).mean(dim=-1, keepdim=True)",
        "x.var(dim=-1, keepdim=True)",
    ),
}
KINDS = ("correct", "partly_wrong", "unanswered")


def learner_notebook(lesson: str, kind: str) -> nbformat.NotebookNode:
    """The released notebook with the solution's answers filled in (one of them wrong), or untouched."""
    notebook = nbformat.read(ROOT / "notebooks" / f"{lesson}.ipynb", as_version=4)
    if kind == "unanswered":
        return notebook
    solution = nbformat.read(solution_notebook(lesson), as_version=4)
    answers = {
        cell.metadata["nbgrader"]["grade_id"]: cell.source
        for cell in solution.cells
        if cell.metadata.get("nbgrader", {}).get("solution")
    }
    if kind == "partly_wrong":
        grade_id, old, new = WRONG[lesson]
        assert old in answers[grade_id], f"the solution of {grade_id} changed; update this benchmark"
        answers[grade_id] = answers[grade_id].replace(old, new)
    for cell in notebook.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id in answers:
            cell.source = answers[grade_id]
    return notebook


def make_submissions(folder: Path, count: int, lessons: tuple[str, ...] = LESSONS) -> list[tuple[str, str]]:
    made = []
    for number in range(count):
        lesson, kind = lessons[number % len(lessons)], KINDS[(number // len(lessons)) % len(KINDS)]
        student = f"learner{number:03d}"
        target = folder / student / lesson / f"{lesson}.ipynb"
        target.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(learner_notebook(lesson, kind), target)
        made.append((student, lesson))
    return made


def plain_nbgrader(submissions: Path, course: Path) -> float:
    """Seconds plain nbgrader takes to autograde every lesson's submissions, one after another."""
    shutil.copyfile(NBGRADER_CONFIG, course / "nbgrader_config.py")
    lessons = sorted({path.name for path in submissions.glob("*/*")})
    for lesson in lessons:
        (course / "source" / lesson).mkdir(parents=True)
        shutil.copyfile(solution_notebook(lesson), course / "source" / lesson / f"{lesson}.ipynb")
        _nbgrader(course, "generate_assignment", lesson)
    shutil.copytree(submissions, course / "submitted")
    started = time.perf_counter()
    for lesson in lessons:
        _nbgrader(course, "autograde", lesson)
    return time.perf_counter() - started


def _nbgrader(course: Path, *arguments: str) -> None:
    command = [sys.executable, "-m", "nbgrader", *arguments, "--create"]
    if arguments[0] == "generate_assignment":
        command.remove("--create")
    # nbgrader runs the ``alembic`` command when it creates a gradebook: it must find the environment's.
    path = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    finished = subprocess.run(
        command, cwd=course, capture_output=True, text=True, env={**os.environ, "PATH": path}
    )
    if finished.returncode != 0:
        sys.exit(f"nbgrader {' '.join(arguments)} failed:\n{finished.stderr[-3000:]}")


def ours(submissions: Path, out: Path, workers: int) -> float:
    command = [sys.executable, "-m", "grader", "autograde", str(submissions), "--out", str(out)]
    started = time.perf_counter()
    finished = subprocess.run(
        [*command, "--workers", str(workers)], cwd=ROOT, capture_output=True, text=True
    )
    elapsed = time.perf_counter() - started
    if finished.returncode != 0:
        sys.exit(f"python -m grader autograde failed:\n{finished.stdout[-3000:]}{finished.stderr[-3000:]}")
    return elapsed


def total_points(grades_csv: Path, graded: set[tuple[str, str]]) -> float:
    with grades_csv.open() as table:
        return sum(
            float(row["score"])
            for row in csv.DictReader(table)
            if (row["student_id"], row["assignment"]) in graded
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--submissions", type=int, default=42)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--lessons", nargs="+", choices=LESSONS, default=LESSONS, help="the lessons to make submissions of"
    )
    args = parser.parse_args()
    lessons = tuple(args.lessons)
    with tempfile.TemporaryDirectory(prefix="attention-bench-") as scratch:
        scratch = Path(scratch)
        graded = set(make_submissions(scratch / "submitted", args.submissions, lessons))
        (scratch / "plain").mkdir()
        plain_seconds = plain_nbgrader(scratch / "submitted", scratch / "plain")
        subprocess.run(
            [sys.executable, "-m", "nbgrader", "export", "--to", str(scratch / "plain.csv")],
            cwd=scratch / "plain",
            capture_output=True,
            check=True,
        )
        our_seconds = ours(scratch / "submitted", scratch / "ours", args.workers)
        plain_points = total_points(scratch / "plain.csv", graded)
        our_points = total_points(scratch / "ours" / "grades.csv", graded)
    print(f"{args.submissions} submissions over lessons {', '.join(lessons)} ({', '.join(KINDS)})")
    print(f"plain nbgrader autograde, sequential, no sandbox:   {plain_seconds:7.1f} s")
    print(f"python -m grader autograde, {args.workers} workers, sandbox on: {our_seconds:7.1f} s")
    print(f"ratio plain / ours: {plain_seconds / our_seconds:.2f}")
    print(f"points awarded: plain nbgrader {plain_points:g}, ours {our_points:g}")


if __name__ == "__main__":
    main()
