"""The notebooks run top to bottom in a real kernel, fast; the sliders redraw what they show."""

import time

import nbformat
import pytest
from nbclient import NotebookClient

from grader.paths import ROOT, lessons


def _execute(notebook: nbformat.NotebookNode, allow_errors: bool = False) -> float:
    started = time.perf_counter()
    NotebookClient(
        notebook,
        timeout=300,
        kernel_name="python3",
        allow_errors=allow_errors,
        resources={"metadata": {"path": str(ROOT)}},
    ).execute()
    return time.perf_counter() - started


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
    notebook = nbformat.read(ROOT / "solutions" / f"{lesson}.ipynb", as_version=4)
    seconds = _execute(notebook)
    assert _errors(notebook) == []
    print(f"{lesson}: ran in {seconds:.1f} s")


@pytest.mark.parametrize("lesson", lessons())
def test_released_notebook_fails_only_in_its_test_cells(lesson):
    notebook = nbformat.read(ROOT / "notebooks" / f"{lesson}.ipynb", as_version=4)
    _execute(notebook, allow_errors=True)
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
