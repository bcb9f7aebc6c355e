"""Reading what nbgrader's run left in the autograded notebook: each test cell's message, the errors, and
the cells during which learner code deleted the kernel's recordings."""

from __future__ import annotations

import nbformat

from grader.course.execute import RECORDINGS_DELETED


def exercise_messages(notebook: nbformat.NotebookNode) -> dict[str, str]:
    """What each graded test cell of the run ``notebook`` printed: the pass line or the diagnosis."""
    messages = {}
    for cell in notebook.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if not cell.metadata.get("nbgrader", {}).get("grade") or cell.cell_type != "code":
            continue
        errors = [output for output in cell.outputs if output.output_type == "error"]
        if errors:
            error = errors[0]
            # A failed check's message is the check's own words, which need no exception name in front.
            messages[grade_id] = (
                error.evalue if error.ename == "ExerciseFailed" else f"{error.ename}: {error.evalue}"
            )
        else:
            messages[grade_id] = "".join(
                output.get("text", "") for output in cell.outputs if output.output_type == "stream"
            ).strip()
    return messages


def cells_that_deleted_recordings(notebook: nbformat.NotebookNode) -> list[int]:
    """The cells, counted from 1, during which learner code deleted the files the kernel records in."""
    return list(notebook.metadata.get("attention_grader", {}).get(RECORDINGS_DELETED, []))


def notebook_errors(autograded_notebook: str | None, in_tests: bool = True) -> list[str]:
    """The errors an autograded notebook shows, first to last, as "cell N (its first line): Error: why";
    with ``in_tests`` False, only those outside the graded test cells."""
    if autograded_notebook is None:
        return []
    notebook = nbformat.reads(autograded_notebook, as_version=4)
    return [
        f"cell {number} ({first_line(cell.source)!r}): {output.ename}: {first_line(output.evalue)}"
        for number, cell in enumerate(notebook.cells, start=1)
        if cell.cell_type == "code" and (in_tests or not cell.metadata.get("nbgrader", {}).get("grade"))
        for output in cell.outputs
        if output.output_type == "error"
    ]


def first_line(text: str) -> str:
    return next((line.strip() for line in text.splitlines() if line.strip()), "")
