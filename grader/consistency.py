"""Does a solution notebook agree with the exercise registry? Checked before releasing or validating."""

from __future__ import annotations

import nbformat

from course_lib.registry import lesson_exercises
from grader.mistakes import mistakes_for
from grader.paths import solution_notebook
from grader.reference import load_reference


def lesson_problems(lesson: str) -> list[str]:
    """Everything that would make the lesson's grading unsound, in words; empty when all is well."""
    notebook = nbformat.read(solution_notebook(lesson), as_version=4)
    test_cells = {
        cell.metadata["nbgrader"]["grade_id"]: cell
        for cell in notebook.cells
        if cell.metadata.get("nbgrader", {}).get("grade")
    }
    problems = []
    exercises = lesson_exercises(lesson)
    if not exercises:
        problems.append(f"{lesson}: the registry has no exercises for this lesson")
    reference = load_reference(lesson)
    for exercise in exercises:
        cell = test_cells.pop(exercise.test_cell_id, None)
        if cell is None:
            problems.append(
                f"{lesson}: no test cell with grade_id {exercise.test_cell_id!r} for {exercise.id}"
            )
        else:
            points = cell.metadata["nbgrader"].get("points")
            if points != exercise.points:
                problems.append(
                    f"{lesson}: test cell {exercise.test_cell_id} is worth {points} points, "
                    f"the registry says {exercise.points}"
                )
            if "### BEGIN HIDDEN TESTS" not in cell.source:
                problems.append(f"{lesson}: test cell {exercise.test_cell_id} has no hidden tests")
        if exercise.judge is None and exercise.target not in reference:
            problems.append(f"{lesson}: no answer cell defines `{exercise.target}`")
        implemented = set(mistakes_for(exercise.id))
        declared = {mistake.id for mistake in exercise.mistakes}
        for missing in sorted(declared - implemented):
            problems.append(f"{exercise.id}: mistake {missing!r} has no implementation in grader/mistakes")
        for extra in sorted(implemented - declared):
            problems.append(f"{exercise.id}: grader/mistakes implements {extra!r}, which the registry lacks")
    for grade_id in test_cells:
        problems.append(f"{lesson}: test cell {grade_id!r} grades no registered exercise")
    return problems
