"""Intake: a submitted notebook made fit for nbgrader, with a plain note for everything found on the way.

Learners' notebooks arrive in every shape. nbgrader 0.9.6 copes silently with some (a graded cell turned
into markdown, an edited test cell, older format-4 versions), scores others 0 (a deleted test cell; a test
cell moved above its answer, with a bare NameError), and fails on the rest: a copied graded cell (its
``DeduplicateIds`` leaves an empty marking that its own ``CheckCellMetadata`` then rejects with "nbgrader
update ."), a cell marked with a grade id this lesson does not have, a marking that lost its points or
schema version. Format 3 notebooks were turned away as "not a notebook".

``prepare`` repairs what can be repaired without earning the learner points their own code does not earn,
and says what it found and did, one sentence per thing, naming the exercise.
"""

from __future__ import annotations

import ast
import copy
import json
import warnings
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from nbformat import validator
from nbformat.notebooknode import NotebookNode
from nbgrader.utils import is_grade, is_locked, is_solution

from course_lib.registry import Exercise, get_exercise, lesson_exercises
from grader.reference import without_magics

CURRENT_FORMAT = (nbformat.current_nbformat, nbformat.current_nbformat_minor)
MARKING_FIELDS = ("grade", "solution", "locked", "points")
"""The parts of a cell's nbgrader marking that decide how it is graded."""
NEW_CELL = {
    "code": nbformat.v4.new_code_cell,
    "markdown": nbformat.v4.new_markdown_cell,
    "raw": nbformat.v4.new_raw_cell,
}


@dataclass
class Intake:
    notebook: NotebookNode | None
    """What nbgrader grades: the submission, repaired; None when the file is not a notebook."""
    notes: list[str] = field(default_factory=list)
    """One sentence per thing found in the submission and what was done about it."""
    unreadable: str | None = None
    """Why the file cannot be graded at all, in words; None when it can."""


class Unreadable(Exception):
    """The file is not a notebook that can be graded; the message says why, in words."""


def prepare(notebook_path: Path, released_path: Path) -> Intake:
    """The submission at ``notebook_path``, ready for nbgrader, checked against the released notebook."""
    try:
        notebook, saved_as = read_notebook(notebook_path)
    except Unreadable as error:
        return Intake(None, unreadable=str(error))
    released = nbformat.read(released_path, as_version=4)
    notes: list[str] = []
    try:
        notes += _format_notes(saved_as)
        notes += _sources_as_text(notebook)
        if notebook.nbformat_minor != CURRENT_FORMAT[1]:
            notebook = nbformat.v4.upgrade(notebook)
        repair = _Repair(_normalized(notebook), released, lesson_exercises(released_path.stem))
        notes += repair.run()
        # Cells put back from the released notebook bring its cell ids, which a learner's copy may share.
        notebook = _normalized(repair.notebook)
    except Exception as error:  # a shape no step foresaw costs this one submission, with the reason
        return Intake(
            None,
            notes,
            unreadable=f"the grader could not check this notebook's cells ({type(error).__name__}: "
            f"{_first_line(str(error))}); please show it to your instructor",
        )
    # nbgrader refuses a notebook that does not follow the format, with only "see the above traceback".
    try:
        nbformat.validate(notebook)
    except nbformat.ValidationError as error:
        return Intake(
            None,
            notes,
            unreadable=f"the notebook does not follow the Jupyter notebook format ({_where(error)}: "
            f"{error.message}); open it in Jupyter, save it and hand it in again",
        )
    return Intake(notebook, notes)


def _sources_as_text(notebook: NotebookNode) -> list[str]:
    """Each cell's source made text, as the format requires: a list of lines joined (as Jupyter writes
    them, silently), a number read as its digits, anything else emptied, each of the last two with a note."""
    notes = []
    for number, cell in enumerate(notebook.cells, start=1):
        source = cell.get("source", "")
        if isinstance(source, str):
            continue
        if isinstance(source, list) and all(isinstance(line, str) for line in source):
            cell.source = "".join(source)
        elif isinstance(source, int | float) and not isinstance(source, bool):
            cell.source = repr(source)
            notes.append(
                f"cell {number}'s content is the number {source!r} rather than text (the file was edited "
                f"outside Jupyter?): it was read as the text `{source!r}`"
            )
        else:
            cell.source = ""
            notes.append(
                f"cell {number}'s content is {_shown(source)} rather than text (the file was edited outside "
                "Jupyter?): it was read as an empty cell"
            )
    return notes


def _where(error: nbformat.ValidationError) -> str:
    """Where in the notebook a format error is, in words: "in cell 3 (outputs, 0)", or "in its metadata"."""
    path = list(error.absolute_path)
    if len(path) >= 2 and path[0] == "cells" and isinstance(path[1], int):
        inside = f" ({', '.join(map(str, path[2:]))})" if path[2:] else ""
        return f"in cell {path[1] + 1}{inside}"
    return f"in its {', '.join(map(str, path))}" if path else "in the notebook as a whole"


def read_notebook(path: Path) -> tuple[NotebookNode, tuple[int, int]]:
    """The notebook at ``path`` as format 4, and the format version it was saved in."""
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as error:
        raise Unreadable(f"the file is not UTF-8 text ({error.reason} at byte {error.start})") from None
    if not text.strip():
        raise Unreadable("the file is empty")
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        raise Unreadable(
            f"the file is not valid JSON ({error.msg} at line {error.lineno}, column {error.colno})"
        ) from None
    except RecursionError:
        raise Unreadable("the file is JSON nested far too deeply to be a notebook") from None
    # Format 3 keeps its cells in worksheets.
    if not isinstance(document, dict) or not {"cells", "worksheets"} & document.keys():
        raise Unreadable("the file is JSON but not a Jupyter notebook (it has no cells)")
    major, minor = nbformat.reader.get_version(document)
    if not isinstance(major, int) or major not in nbformat.versions:
        raise Unreadable(
            f"the file says it is notebook format {major!r}, which does not exist "
            f"(Jupyter writes format {CURRENT_FORMAT[0]}; formats 1 to 3 are older)"
        )
    if not isinstance(minor, int):
        raise Unreadable(f"the file says it is notebook format {major}.{minor!r}, which is not a version")
    try:
        notebook = nbformat.convert(nbformat.reader.reads(text), CURRENT_FORMAT[0])
    except Exception as error:  # nbformat raises several kinds for "JSON, but not a notebook"
        raise Unreadable(
            f"the file is not a Jupyter notebook ({type(error).__name__}: {_first_line(str(error))})"
        ) from None
    return notebook, (major, minor)


def _format_notes(saved_as: tuple[int, int]) -> list[str]:
    saved = "{}.{}".format(*saved_as)
    current = "{}.{}".format(*CURRENT_FORMAT)
    if saved_as < CURRENT_FORMAT:
        return [f"saved in notebook format {saved} (an older Jupyter): converted to format {current}"]
    if saved_as > CURRENT_FORMAT:
        return [
            f"saved in notebook format {saved}, newer than this grader knows: graded as format {current}, "
            "from the parts that format has"
        ]
    return []


def _normalized(notebook: NotebookNode) -> NotebookNode:
    """``notebook`` with missing or duplicate cell ids replaced and metadata the format forbids removed."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # each repair is also announced as a warning
        _, document = validator.normalize(notebook, *CURRENT_FORMAT, strip_invalid_metadata=True)
    return nbformat.from_dict(document)


class _Repair:
    """The graded cells of one submission checked against the released notebook, step by step."""

    def __init__(self, notebook: NotebookNode, released: NotebookNode, exercises: list[Exercise]):
        self.notebook = notebook
        self.released = {_grade_id(cell): cell for cell in released.cells if _is_graded(cell)}
        self.released_ids = {cell.id for cell in released.cells}
        self.released_sources = {cell.source for cell in released.cells}
        self.exercises = [exercise for exercise in exercises if exercise.answer_cell_id in self.released]
        self.names = {}
        for exercise in self.exercises:
            self.names[exercise.answer_cell_id] = f"the answer cell of `{exercise.id}`"
            self.names[exercise.test_cell_id] = f"the test cell of `{exercise.id}`"
        # Every submitted cell stays referenced here, even when left out, so that no cell made later can
        # reuse its id() and inherit its position.
        self.submitted = list(notebook.cells)
        self.position = {id(cell): number for number, cell in enumerate(self.submitted, start=1)}
        """Where each submitted cell was, counting from 1 at the top, as the learner sees the notebook."""
        self.marked_when_submitted = {id(cell) for cell in self.submitted if "nbgrader" in cell.metadata}
        self.notes: list[str] = []

    @property
    def cells(self) -> list[NotebookNode]:
        return self.notebook.cells

    def run(self) -> list[str]:
        self._drop_foreign_markings()
        self._keep_one_copy_of_each_graded_cell()
        self._restore_markings()
        self._restore_answer_cells()
        self._restore_test_cells()
        self._run_tests_after_their_answers()
        self._note_order()
        self._note_added_cells()
        return self.notes

    def _drop_foreign_markings(self) -> None:
        for cell in self.cells:
            if "nbgrader" not in cell.metadata or _grade_id(cell) in self.released:
                continue
            if isinstance(cell.metadata.nbgrader, dict) and _is_graded(cell):
                self.notes.append(
                    f"cell {self._at(cell)} is marked as the graded cell `{_grade_id(cell)}`, which this "
                    "lesson does not have (copied from another notebook?): it ran as an ordinary cell"
                )
            del cell.metadata["nbgrader"]

    def _keep_one_copy_of_each_graded_cell(self) -> None:
        copies = defaultdict(list)
        for cell in self.cells:
            if (grade_id := _grade_id(cell)) is not None:
                copies[grade_id].append(cell)
        for grade_id, found in copies.items():
            if len(found) == 1:
                continue
            # The learner's latest work: copies still as released are usually the cell copied before
            # writing in it. Only one copy is kept, so that no other copy can redefine the graded one.
            written = [cell for cell in found if cell.source != self.released[grade_id].source]
            kept = (written or found)[-1]
            left_out = {id(cell) for cell in found if cell is not kept}
            self.notebook.cells = [cell for cell in self.cells if id(cell) not in left_out]
            others = "the other copy was" if len(found) == 2 else f"the other {len(found) - 1} copies were"
            self.notes.append(
                f"{self._name(grade_id)} appears {len(found)} times "
                f"(cells {_listed([self._at(cell) for cell in found])}): graded cell {self._at(kept)}, "
                f"the last copy {'you changed' if written else 'of them'}; {others} left out"
            )

    def _restore_markings(self) -> None:
        for index, cell in enumerate(self.cells):
            grade_id = _grade_id(cell)
            if grade_id is None:
                continue
            released = self.released[grade_id]
            changes = [
                f"{key} {_shown(cell.metadata.nbgrader.get(key))} instead of "
                f"{_shown(released.metadata.nbgrader.get(key))}"
                for key in MARKING_FIELDS
                if cell.metadata.nbgrader.get(key) != released.metadata.nbgrader.get(key)
            ]
            if changes:
                self.notes.append(
                    f"the nbgrader marking of {self._name(grade_id)} had been changed "
                    f"({', '.join(changes)}): it was graded with the released marking"
                )
            cell.metadata.nbgrader = copy.deepcopy(released.metadata.nbgrader)
            if cell.cell_type != released.cell_type:
                self.notes.append(
                    f"{self._name(grade_id)} had been turned into a {cell.cell_type} cell: it was turned "
                    f"back into a {released.cell_type} cell and graded as one"
                )
                restored = NEW_CELL[released.cell_type](cell.source, metadata=cell.metadata, id=cell.id)
                self.position[id(restored)] = self.position[id(cell)]
                self.cells[index] = cell = restored
            if is_locked(released) and cell.source != released.source:
                self.notes.append(
                    f"{self._name(grade_id)} had been edited: it was graded as released (its content is "
                    "the instructor's)"
                )
                cell.source = released.source

    def _restore_answer_cells(self) -> None:
        for exercise in self.exercises:
            if self._find(exercise.answer_cell_id) is not None:
                continue
            marking = self.released[exercise.answer_cell_id].metadata.nbgrader
            definitions = [
                cell
                for cell in self.cells
                if cell.cell_type == "code"
                and "nbgrader" not in cell.metadata
                and cell.source not in self.released_sources  # the instructor's code earns nothing
                and _defines(cell.source, exercise.target)
            ]
            if definitions:
                adopted = definitions[-1]
                adopted.metadata.nbgrader = copy.deepcopy(marking)
                self.notes.append(
                    f"{self._name(exercise.answer_cell_id)} is missing, but cell {self._at(adopted)} defines "
                    f"`{exercise.target}` without nbgrader's marking (a copy of the answer cell?): that cell "
                    "was graded as your answer"
                )
                continue
            stub = copy.deepcopy(self.released[exercise.answer_cell_id])
            test = self._find(exercise.test_cell_id)
            # Right above the test, so that the test judges the empty answer and nothing else.
            self.cells.insert(self._index(test) if test is not None else self._released_place(stub), stub)
            self.notes.append(
                f"{self._name(exercise.answer_cell_id)} was deleted, and no other cell defines "
                f"`{exercise.target}`: that exercise scores 0 (the released, empty answer cell was put back "
                "in its place)"
            )

    def _restore_test_cells(self) -> None:
        for exercise in self.exercises:
            if exercise.test_cell_id not in self.released or self._find(exercise.test_cell_id) is not None:
                continue
            test = copy.deepcopy(self.released[exercise.test_cell_id])
            self.cells.insert(self._released_place(test), test)
            self.notes.append(
                f"{self._name(exercise.test_cell_id)} was deleted (or lost its nbgrader marking): the "
                "released test cell was put back below your answer, and the exercise graded as usual"
            )

    def _run_tests_after_their_answers(self) -> None:
        for exercise in self.exercises:
            test = self._find(exercise.test_cell_id)
            if test is None:
                continue
            needed = [exercise, *(get_exercise(used_id) for used_id in exercise.uses)]
            answers = [(needs, cell) for needs in needed if (cell := self._find(needs.answer_cell_id))]
            provider, last = max(answers, key=lambda answer: self._index(answer[1]))
            if self._index(test) > self._index(last):
                continue
            del self.cells[self._index(test)]
            self.cells.insert(self._index(last) + 1, test)
            self.notes.append(
                f"{self._name(exercise.test_cell_id)} was above {self._name(provider.answer_cell_id)}, so it "
                f"would have run before `{provider.target}` was defined: it was moved to just below it"
            )

    def _note_order(self) -> None:
        present = [_grade_id(cell) for cell in self.cells if _grade_id(cell) is not None]
        if present != [grade_id for grade_id in self.released if grade_id in present]:
            self.notes.append(
                "the graded cells are not in the released order: each test still runs after the answers it "
                "needs, so they were graded where they are"
            )

    def _note_added_cells(self) -> None:
        added = [
            self._at(cell)
            for cell in self.cells
            if cell.cell_type == "code"
            and "nbgrader" not in cell.metadata
            and id(cell) in self.position
            and id(cell) not in self.marked_when_submitted
            and cell.id not in self.released_ids
            and cell.source not in self.released_sources
        ]
        if len(added) == 1:
            self.notes.append(
                f"code cell {added[0]} is not in the released notebook (you added it, or rewrote a released "
                "cell): it ran with the rest of your notebook, as you wrote it"
            )
        elif added:
            self.notes.append(
                f"code cells {_listed(added)} are not in the released notebook (you added them, or rewrote "
                "released cells): they ran with the rest of your notebook, as you wrote them"
            )

    def _find(self, grade_id: str) -> NotebookNode | None:
        return next((cell for cell in self.cells if _grade_id(cell) == grade_id), None)

    def _index(self, cell: NotebookNode) -> int:
        # By identity: two cells with the same content are still two cells.
        return next(index for index, candidate in enumerate(self.cells) if candidate is cell)

    def _released_place(self, cell: NotebookNode) -> int:
        """Where a released graded cell goes back: below the graded cell the released notebook has
        before it, else above the one it has after it, else at the end."""
        order = list(self.released)
        position = order.index(_grade_id(cell))
        for grade_id in reversed(order[:position]):
            if (neighbour := self._find(grade_id)) is not None:
                return self._index(neighbour) + 1
        for grade_id in order[position + 1 :]:
            if (neighbour := self._find(grade_id)) is not None:
                return self._index(neighbour)
        return len(self.cells)

    def _name(self, grade_id: str) -> str:
        return self.names.get(grade_id, f"the graded cell `{grade_id}`")

    def _at(self, cell: NotebookNode) -> int:
        return self.position[id(cell)]


def _grade_id(cell: NotebookNode) -> str | None:
    marking = cell.metadata.get("nbgrader")
    grade_id = marking.get("grade_id") if isinstance(marking, dict) else None
    return grade_id if isinstance(grade_id, str) else None


def _is_graded(cell: NotebookNode) -> bool:
    return bool(is_grade(cell) or is_solution(cell) or is_locked(cell))


def _defines(source: str, name: str) -> bool:
    """Whether ``source`` defines ``name`` at the top level: a function, a class or an assignment."""
    try:
        tree = ast.parse(without_magics(source))
    except (SyntaxError, ValueError, RecursionError):
        return False
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            targets = [ast.Name(node.name)]
        elif isinstance(node, ast.Assign):
            targets = node.targets
        elif isinstance(node, ast.AnnAssign):
            targets = [node.target]
        else:
            continue
        if any(isinstance(target, ast.Name) and target.id == name for target in targets):
            return True
    return False


def _shown(value: object) -> str:
    return "missing" if value is None else repr(value)


def _listed(numbers: list[int]) -> str:
    words = [str(number) for number in numbers]
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def _first_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[0] if lines else text
