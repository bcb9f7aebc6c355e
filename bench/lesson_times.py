"""How long does each lesson take, run top to bottom headless, and do the times its text states hold here?

Runs every solution notebook in a fresh kernel, as a learner's Run All would, and prints the seconds of
each, the whole course's, lesson 06's slowest sections, and the ratio of each time the text states to the
time measured on this machine (1.0: the text is right here; the text speaks of a 2-core computer).
Run: `.venv/bin/python -m bench.lesson_times [--lessons 06_gpt ...]`.
"""

from __future__ import annotations

import argparse
import re
import time

import nbformat
from nbclient import NotebookClient

from grader.paths import ROOT, lessons

# Lesson 06's sections that train a model, by the tag of their cell.
TRAINING_CELLS = {"training": "the GPT", "ablations": "five ablations", "real_text": "the character model"}
STATED_LESSON_SECONDS = {"06_gpt": 60}  # "in about a minute" (the issue and README)


def run_timed(notebook: nbformat.NotebookNode) -> tuple[float, dict[str, float]]:
    """Run ``notebook`` in place; its total seconds and the seconds of each tagged training cell."""
    client = NotebookClient(
        notebook, timeout=900, kernel_name="python3", resources={"metadata": {"path": str(ROOT)}}
    )
    cell_seconds: dict[str, float] = {}
    started = time.perf_counter()
    with client.setup_kernel():
        for index, cell in enumerate(notebook.cells):
            if cell.cell_type != "code":
                continue
            cell_started = time.perf_counter()
            client.execute_cell(cell, index)
            for tag in set(cell.metadata.get("tags", [])) & TRAINING_CELLS.keys():
                cell_seconds[tag] = time.perf_counter() - cell_started
    return time.perf_counter() - started, cell_seconds


def stated_training_seconds(notebook: nbformat.NotebookNode) -> int | None:
    text = "\n".join(cell.source for cell in notebook.cells if cell.cell_type == "markdown")
    found = re.search(r"about (\d+) s on a\s+2-core computer", text)
    return int(found.group(1)) if found else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--lessons", nargs="+", default=lessons())
    args = parser.parse_args()

    total = 0.0
    for lesson in args.lessons:
        notebook = nbformat.read(ROOT / "solutions" / f"{lesson}.ipynb", as_version=4)
        stated = stated_training_seconds(notebook)
        seconds, cells = run_timed(notebook)
        total += seconds
        line = f"{lesson:<14} {seconds:6.1f} s"
        if (stated_lesson := STATED_LESSON_SECONDS.get(lesson)) is not None:
            line += f"   stated about {stated_lesson} s, ratio {stated_lesson / seconds:.2f}"
        print(line, flush=True)
        for tag, name in TRAINING_CELLS.items():
            if tag in cells:
                detail = f"    {name:<20} {cells[tag]:6.1f} s"
                if tag == "training" and stated is not None:
                    detail += f"   stated about {stated} s, ratio {stated / cells[tag]:.2f}"
                print(detail, flush=True)
    print(f"{'whole course':<14} {total:6.1f} s")


if __name__ == "__main__":
    main()
