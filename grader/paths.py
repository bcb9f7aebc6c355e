"""Where the course's files are. The grader works on a checkout of the course repository."""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(os.environ.get("ATTENTION_COURSE_ROOT", Path(__file__).resolve().parent.parent))
SOLUTIONS = ROOT / "solutions"
NOTEBOOKS = ROOT / "notebooks"
NBGRADER_CONFIG = Path(__file__).resolve().parent / "course" / "nbgrader_config.py"


def lessons() -> list[str]:
    """Lesson ids (= nbgrader assignment ids), the stems of the solution notebooks, in course order."""
    return sorted(path.stem for path in SOLUTIONS.glob("*.ipynb"))


def solution_notebook(lesson: str) -> Path:
    path = SOLUTIONS / f"{lesson}.ipynb"
    if not path.exists():
        raise FileNotFoundError(f"no solution notebook for lesson {lesson!r} at {path}")
    return path
