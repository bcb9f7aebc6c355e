import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat

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
