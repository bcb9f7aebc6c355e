"""Reference implementations: the answer cells of the solution notebooks, run in the grader's process.

The solution notebook is the one place a reference answer is written. Here we take its import statements,
the cells of code it hands the learner ready-made (tagged ``given``, e.g. a helper the answers call) and
its nbgrader answer cells (``solution: true``), execute them in notebook order, and hand out the
functions they define.
"""

from __future__ import annotations

import ast
from functools import cache
from pathlib import Path
from typing import Any

import nbformat

from grader.paths import solution_notebook

GIVEN_TAG = "given"


def is_answer_cell(cell: nbformat.NotebookNode) -> bool:
    nbgrader = cell.metadata.get("nbgrader", {})
    return cell.cell_type == "code" and bool(nbgrader.get("solution")) and not nbgrader.get("grade")


def reference_cells(notebook: nbformat.NotebookNode) -> list[nbformat.NotebookNode]:
    return [
        cell
        for cell in notebook.cells
        if is_answer_cell(cell) or (cell.cell_type == "code" and GIVEN_TAG in cell.metadata.get("tags", []))
    ]


def without_magics(source: str) -> str:
    """``source`` without its IPython magics and shell escapes, which are not Python."""
    return "\n".join(line for line in source.splitlines() if not line.lstrip().startswith(("%", "!")))


def reference_import_statements(notebook: nbformat.NotebookNode) -> str:
    statements = []
    for cell in notebook.cells:
        if cell.cell_type != "code":
            continue
        # IPython magics and shell escapes never import anything we need.
        for node in ast.parse(without_magics(cell.source)).body:
            if isinstance(node, ast.Import | ast.ImportFrom):
                statements.append(ast.unparse(node))
    return "\n".join(statements)


@cache
def load_reference(lesson: str) -> dict[str, Any]:
    """The names defined by lesson ``lesson``'s answer cells, as the solution notebook defines them."""
    path = solution_notebook(lesson)
    notebook = nbformat.read(path, as_version=4)
    namespace: dict[str, Any] = {"__name__": f"reference_{lesson}"}
    exec(compile(reference_import_statements(notebook), f"{path}:imports", "exec"), namespace)
    for index, cell in enumerate(reference_cells(notebook)):
        name = cell.metadata.get("nbgrader", {}).get("grade_id", f"given cell {index}")
        exec(compile(cell.source, f"{path}:{name}", "exec"), namespace)
    return namespace


def reference_for(exercise) -> Any:
    namespace = load_reference(exercise.lesson)
    if exercise.target not in namespace:
        raise LookupError(
            f"the solution notebook of {exercise.lesson} defines no `{exercise.target}` in its answer cells"
        )
    return namespace[exercise.target]


def answer_sources(notebook_path: Path) -> dict[str, str]:
    """Each answer cell's source in the notebook at ``notebook_path``, by grade id (none if unreadable)."""
    try:
        notebook = nbformat.read(notebook_path, as_version=4)
    except Exception:  # an unreadable submission has no answers to re-run
        return {}
    return {
        cell.metadata["nbgrader"]["grade_id"]: cell.source
        for cell in notebook.cells
        if is_answer_cell(cell) and "grade_id" in cell.metadata.get("nbgrader", {})
    }
