"""Out-of-kernel verification: the learner's recorded outputs judged in the grader's own process.

For every graded exercise of a submission the grader draws fresh hidden cases (a new seed on every grading
run), hands only their *inputs* to the sandbox (``inputs.json``), and reads back what the learner's code
returned (``<exercise>.npz``, loaded with ``allow_pickle=False``). The comparison with the reference
happens here. An exercise keeps nbgrader's points only if this verification passes too; when nbgrader
passed a test cell whose *visible* cases fail here, the learner's process said something untrue, and the
submission is flagged for the instructor.

An exercise that calls an earlier exercise's function (the registry's ``uses``) is, when that helper
failed, verified a second time in a fresh sandboxed process where the helper is the grader's own, so one
wrong helper costs only its own points.
"""

from __future__ import annotations

import ast
import json
import math
import sys
import zipfile
from dataclasses import dataclass, replace
from pathlib import Path

import nbformat
import numpy as np

from course_lib import casefile
from course_lib.checking import CheckCase, Output, judge_recorded
from course_lib.registry import Exercise, get_exercise, lesson_exercises
from course_lib.verify import INPUTS_FILE
from grader.cases import build_cases
from grader.paths import ROOT, solution_notebook
from grader.reference import is_answer_cell, reference_cells, reference_import_statements, without_magics
from grader.sandbox import Sandbox, run_sandboxed

MAX_RECORDED_BYTES = 256 * 2**20


@dataclass(frozen=True)
class Verification:
    exercise_id: str
    passed: bool
    message: str
    visible_passed: bool
    """Whether the visible cases (those the in-kernel check also runs) pass here."""
    mistake_id: str | None = None
    """The registry's name for the mistake found, when the outputs match a known one."""
    correct_helpers: tuple[str, ...] = ()
    """The functions replaced by the grader's own for this verification (the targets of ``uses``)."""


class LessonCases:
    """The cases one grading run uses for a lesson: the visible ones, then fresh hidden ones."""

    def __init__(self, lesson: str, rng: np.random.Generator):
        self.lesson = lesson
        visible = casefile.load(lesson)
        self.cases: dict[str, tuple[list[CheckCase], list[CheckCase]]] = {
            exercise.id: (visible.get(exercise.id, []), build_cases(exercise, rng))
            for exercise in lesson_exercises(lesson)
        }

    def write_inputs(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        document = {
            exercise_id: [casefile.encode_inputs(case.inputs) for case in visible + hidden]
            for exercise_id, (visible, hidden) in self.cases.items()
        }
        (folder / INPUTS_FILE).write_text(json.dumps(document))

    def verify(self, exercise: Exercise, folder: Path) -> Verification:
        visible, hidden = self.cases[exercise.id]
        recorded = read_recorded(folder, exercise.id, max(1, len(visible) + len(hidden)))
        if exercise.judge is not None:
            verdict = judge_recorded(exercise, [], recorded)
            return Verification(
                exercise.id, verdict.passed, verdict.message, verdict.passed, verdict.mistake_id
            )
        visible_verdict = judge_recorded(exercise, visible, recorded[: len(visible)])
        verdict = judge_recorded(exercise, visible + hidden, recorded)
        return Verification(
            exercise.id, verdict.passed, verdict.message, visible_verdict.passed, verdict.mistake_id
        )


def recorded_outputs_of(folder: Path, exercise_id: str) -> bool:
    """Whether the kernel recorded anything for ``exercise_id`` in ``folder``."""
    return (folder / f"{exercise_id}.npz").is_file()


def read_recorded(folder: Path, exercise_id: str, n_cases: int) -> list[Output | str | None]:
    """What the sandbox recorded for each case: a tuple of arrays, an error message, or None."""
    arrays_file, errors_file = folder / f"{exercise_id}.npz", folder / f"{exercise_id}.errors.json"
    recorded: list[Output | str | None] = [None] * n_cases
    if not arrays_file.is_file() or arrays_file.stat().st_size > MAX_RECORDED_BYTES:
        return recorded
    try:
        if unpacked_bytes(arrays_file) > MAX_RECORDED_BYTES:
            return recorded
        items: dict[int, dict[int, np.ndarray]] = {}
        with np.load(arrays_file, allow_pickle=False) as archive:
            for name in archive.files:
                case, item = (int(part) for part in name.removeprefix("case").split("_item"))
                items.setdefault(case, {})[item] = archive[name]
        errors = json.loads(errors_file.read_text()) if errors_file.is_file() else {}
    except (OSError, ValueError, KeyError, json.JSONDecodeError, zipfile.BadZipFile):
        return recorded  # unreadable or forged: treated as nothing recorded
    for case in range(n_cases):
        if case in items:
            recorded[case] = tuple(items[case][item] for item in sorted(items[case]))
        elif str(case) in errors:
            recorded[case] = str(errors[str(case)])[:2000]
    return recorded


def unpacked_bytes(arrays_file: Path) -> int:
    """The memory an .npz's arrays would take once loaded, by its zip directory and every array's header,
    before anything is unpacked: a small file the learner's process wrote can unpack to gigabytes (a zip
    bomb), and numpy allocates each array as its header says before reading it."""
    total = 0
    with zipfile.ZipFile(arrays_file) as archive:
        for member in archive.infolist():
            with archive.open(member) as stream:
                version = np.lib.format.read_magic(stream)
                if version == (1, 0):
                    shape, _, dtype = np.lib.format.read_array_header_1_0(stream)
                else:
                    shape, _, dtype = np.lib.format.read_array_header_2_0(stream)
            total += max(member.file_size, math.prod(shape) * dtype.itemsize)
    return total


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
        run_sandboxed(sandbox, verification_command(job, imports), job_folder)
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


# course_lib's __init__ loads the plots, the widgets and torch for learners (1.7 s), which a verification
# job needs only when its code uses one of the names it exports. Otherwise the job imports the package's
# modules it needs without it, as a bare package.
_WITHOUT_PACKAGE_INIT = """
import sys, types
from pathlib import Path
package = types.ModuleType("course_lib")
package.__path__ = [sys.argv[1]]
sys.modules["course_lib"] = package
from course_lib.verify import run_job
run_job(Path(sys.argv[2]))
"""


def verification_command(job: Path, imports: str) -> list[str]:
    """The command running a verification job, with course_lib's __init__ only if ``imports`` need it."""
    needs_package = any(
        (isinstance(statement, ast.ImportFrom) and statement.module == "course_lib")
        or (
            isinstance(statement, ast.Import) and any(alias.name == "course_lib" for alias in statement.names)
        )
        for statement in ast.parse(imports).body
    )
    if needs_package:
        return [sys.executable, "-m", "course_lib.verify", str(job)]
    return [sys.executable, "-c", _WITHOUT_PACKAGE_INIT, str(ROOT / "course_lib"), str(job)]


def answer_sources(notebook_path: Path) -> dict[str, str]:
    try:
        notebook = nbformat.read(notebook_path, as_version=4)
    except Exception:  # an unreadable submission has no answers to re-run
        return {}
    return {
        cell.metadata["nbgrader"]["grade_id"]: cell.source
        for cell in notebook.cells
        if is_answer_cell(cell) and "grade_id" in cell.metadata.get("nbgrader", {})
    }
