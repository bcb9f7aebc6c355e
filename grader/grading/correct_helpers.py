"""Verifying again with correct helpers: one wrong helper costs only its own points.

An exercise that calls an earlier exercise's function (the registry's ``uses``) fails with a wrong helper
even when its own code is right. When that helper failed, the exercise is recorded again in a fresh
sandboxed process where the helpers are the grader's own, and judged on those recordings.
"""

from __future__ import annotations

import ast
import json
import sys
from dataclasses import replace
from pathlib import Path

import nbformat

from course_lib.registry import get_exercise
from grader.grading.verification import LessonCases, Verification
from grader.paths import solution_notebook
from grader.reference import (
    answer_sources,
    is_answer_cell,
    reference_cells,
    reference_import_statements,
    without_magics,
)
from grader.sandbox import Sandbox, run_sandboxed


def verify_with_correct_helpers(
    lesson: str,
    exercise_ids: list[str],
    submitted: Path,
    lesson_cases: LessonCases,
    sandbox: Sandbox,
    folder: Path,
) -> dict[str, Verification]:
    """Re-record ``exercise_ids`` in fresh sandboxed processes, with their helpers replaced by references:
    one process per group of exercises none of which calls another (a Block re-recorded beside the GPT that
    calls it would be the grader's Block)."""
    solution = nbformat.read(solution_notebook(lesson), as_version=4)
    learner_answers = answer_sources(submitted)
    verified: dict[str, Verification] = {}
    for number, group in enumerate(independent_groups(exercise_ids)):
        job_folder = folder / f"job{number}"
        job_folder.mkdir(parents=True, exist_ok=True)
        lesson_cases.write_inputs(job_folder)
        helper_cells = {f"answer_{helper}" for helper in helpers_of(group)}
        cells = []
        for cell in reference_cells(solution):
            grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
            cells.append(cell.source if not is_answer_cell(cell) else learner_answers.get(grade_id, ""))
        cells += [
            cell.source
            for cell in reference_cells(solution)
            if cell.metadata.get("nbgrader", {}).get("grade_id") in helper_cells
        ]
        imports = imports_used(reference_import_statements(solution), cells)
        job = job_folder / "job.json"
        job.write_text(
            json.dumps({"cells": [imports, *cells], "record": group, "directory": str(job_folder)})
        )
        run_sandboxed(sandbox, verification_command(job), job_folder)
        # The in-kernel check of an exercise re-recorded here ran it with the learner's faulty helper and
        # deferred its verdict instead of passing it; with the grader's helper the visible cases are another
        # computation, so failing them here contradicts nothing the notebook claimed (no tampering flag).
        verified |= {
            exercise_id: replace(
                lesson_cases.verify(get_exercise(exercise_id), job_folder),
                visible_passed=True,
            )
            for exercise_id in group
        }
    return verified


def independent_groups(exercise_ids: list[str]) -> list[list[str]]:
    """``exercise_ids`` in as few groups as possible where no member calls another, even indirectly."""
    groups: list[list[str]] = []
    for exercise_id in exercise_ids:
        group = next(
            (
                group
                for group in groups
                if exercise_id not in helpers_of(group) and not helpers_of([exercise_id]) & set(group)
            ),
            None,
        )
        if group is None:
            groups.append([exercise_id])
        else:
            group.append(exercise_id)
    return groups


def helpers_of(exercise_ids: list[str]) -> set[str]:
    """The earlier exercises ``exercise_ids`` call, directly or through one another (a GPT calls Block,
    which calls FeedForward): a correct helper that calls the learner's unwritten one is no help."""
    found: set[str] = set()
    waiting = [helper for exercise_id in exercise_ids for helper in get_exercise(exercise_id).uses]
    while waiting:
        helper = waiting.pop()
        if helper not in found:
            found.add(helper)
            waiting += get_exercise(helper).uses
    return found


def imports_used(statements: str, cells: list[str]) -> str:
    """The import statements among ``statements`` that bind a name ``cells`` use (a star import always)."""
    used = set()
    for source in cells:
        try:
            tree = ast.parse(without_magics(source))
        except SyntaxError:  # a learner's broken cell uses nothing; running it reports the error
            continue
        used |= {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)}
    kept = [
        ast.unparse(statement)
        for statement in ast.parse(statements).body
        if any(
            alias.name == "*" or (alias.asname or alias.name.split(".")[0]) in used
            for alias in statement.names
        )
    ]
    return "\n".join(kept)


def verification_command(job: Path) -> list[str]:
    """The command running a verification job: course_lib loads only the modules the job's code uses."""
    return [sys.executable, "-m", "course_lib.verify", str(job)]
