"""A lesson's notebook as a learner's kernel holds it, without a kernel: its imports, given cells and answer
cells run in one namespace called ``__main__``, with some answers replaced by a learner's own."""

from __future__ import annotations

from typing import Any

import nbformat

from grader.paths import NOTEBOOKS, solution_notebook
from grader.reference import is_answer_cell, reference_cells, reference_import_statements


def released_answer(lesson: str, grade_id: str) -> str:
    """The answer cell ``grade_id`` as the learner receives it: unwritten."""
    notebook = nbformat.read(NOTEBOOKS / f"{lesson}.ipynb", as_version=4)
    return next(
        cell.source
        for cell in notebook.cells
        if cell.metadata.get("nbgrader", {}).get("grade_id") == grade_id
    )


def learner_namespace(
    lesson: str, answers: dict[str, str] | None = None, skip: tuple[str, ...] = ()
) -> dict[str, Any]:
    """The names a kernel holds after running the lesson's solution cells with ``answers`` (by grade_id) in
    place of the solution's; ``skip``: grade ids, or "given", of cells the learner has not run."""
    answers = answers or {}
    notebook = nbformat.read(solution_notebook(lesson), as_version=4)
    namespace: dict[str, Any] = {"__name__": "__main__"}
    exec(compile(reference_import_statements(notebook), "imports", "exec"), namespace)
    for cell in reference_cells(notebook):
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id") if is_answer_cell(cell) else "given"
        if grade_id in skip:
            continue
        exec(compile(answers.get(grade_id, cell.source), f"<cell {grade_id}>", "exec"), namespace)
    return namespace
