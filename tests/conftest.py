import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

from grader.paths import ROOT


def solution_answers(lesson: str) -> dict[str, str]:
    """The solution notebook's answer cells, by grade_id, for building learner submissions."""
    notebook = nbformat.read(ROOT / "solutions" / f"{lesson}.ipynb", as_version=4)
    return {
        cell.metadata["nbgrader"]["grade_id"]: cell.source
        for cell in notebook.cells
        if cell.metadata.get("nbgrader", {}).get("solution")
    }


def make_submission(folder: Path, student: str, lesson: str, answers: dict[str, str]) -> Path:
    """A learner's notebook: the released one with the given answer cells filled in."""
    notebook = nbformat.read(ROOT / "notebooks" / f"{lesson}.ipynb", as_version=4)
    for cell in notebook.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id in answers:
            cell.source = answers[grade_id]
    target = folder / student / lesson / f"{lesson}.ipynb"
    target.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(notebook, target)
    return target


def copy_course(destination: Path) -> Path:
    """A copy of the course's solutions and notebooks, for tests that edit them."""
    for folder in ("solutions", "notebooks"):
        shutil.copytree(ROOT / folder, destination / folder)
    return destination


def run_grader(
    *arguments, timeout: int = 900, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess:
    """``python -m grader ARGUMENTS`` from the repository root, its output captured as text; ``env``: the
    environment variables to change."""
    return subprocess.run(
        [sys.executable, "-m", "grader", *map(str, arguments)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
    )


def execute_notebook(notebook: nbformat.NotebookNode, allow_errors: bool = False) -> float:
    """Run ``notebook`` in place in a fresh kernel from the repository root; the seconds it took."""
    started = time.perf_counter()
    NotebookClient(
        notebook,
        timeout=300,
        kernel_name="python3",
        allow_errors=allow_errors,
        resources={"metadata": {"path": str(ROOT)}},
    ).execute()
    return time.perf_counter() - started


_EXECUTED: dict[str, tuple[nbformat.NotebookNode, float]] = {}


def executed_solution(lesson: str) -> tuple[nbformat.NotebookNode, float]:
    """Lesson ``lesson``'s solution notebook run top to bottom once per test session, and its run time.
    Tests that pin what a lesson's text says about its own outputs read them from here."""
    if lesson not in _EXECUTED:
        notebook = nbformat.read(ROOT / "solutions" / f"{lesson}.ipynb", as_version=4)
        _EXECUTED[lesson] = notebook, execute_notebook(notebook)
    return _EXECUTED[lesson]


def tagged_output(notebook: nbformat.NotebookNode, tag: str) -> str:
    """The printed text of the one code cell tagged ``tag`` (a cell that computes a number the text
    states), for a test to check that the sentence beside it still holds."""
    cells = [cell for cell in notebook.cells if tag in cell.metadata.get("tags", [])]
    if len(cells) != 1:
        raise LookupError(f"expected one cell tagged {tag!r}, found {len(cells)}")
    return "".join(
        output.get("text", "")
        if output.output_type == "stream"
        else output.get("data", {}).get("text/plain", "")
        for output in cells[0].outputs
    )
