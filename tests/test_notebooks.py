"""The notebooks run top to bottom in a real kernel, fast; the sliders redraw what they show."""

import nbformat
import pytest

from grader.paths import ROOT, lessons
from tests.conftest import execute_notebook, executed_solution


def _errors(notebook: nbformat.NotebookNode) -> list[str]:
    return [
        f"cell {index}: {output.ename}: {output.evalue}"
        for index, cell in enumerate(notebook.cells)
        if cell.cell_type == "code"
        for output in cell.outputs
        if output.output_type == "error"
    ]


@pytest.mark.parametrize("lesson", lessons())
def test_solution_notebook_runs_without_errors(lesson):
    notebook, seconds = executed_solution(lesson)
    assert _errors(notebook) == []
    print(f"{lesson}: ran in {seconds:.1f} s")


@pytest.mark.parametrize("lesson", lessons())
def test_released_notebook_fails_only_in_its_test_cells(lesson):
    notebook = nbformat.read(ROOT / "notebooks" / f"{lesson}.ipynb", as_version=4)
    execute_notebook(notebook, allow_errors=True)
    outside = [
        f"cell {index}: {output.ename}"
        for index, cell in enumerate(notebook.cells)
        if cell.cell_type == "code" and not cell.metadata.get("nbgrader", {}).get("grade")
        for output in cell.outputs
        if output.output_type == "error"
    ]
    assert outside == []
    failing_tests = [cell for cell in notebook.cells if cell.metadata.get("nbgrader", {}).get("grade")]
    assert failing_tests and all(any(o.output_type == "error" for o in c.outputs) for c in failing_tests)
