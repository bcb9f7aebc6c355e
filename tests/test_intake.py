"""Malformed submissions: each gets a clear note and the points its intact cells earn.

Unit tests of ``grader.grading.intake.prepare`` on lesson 01 built into every shape learners hand in, then one
batch of the same shapes through ``python -m grader autograde``.
"""

import copy
import csv
import html
import json

import nbformat
import pytest

from course_lib.registry import get_exercise, lesson_exercises
from grader.grading import intake as intake_module
from grader.grading.intake import prepare
from grader.paths import NOTEBOOKS
from tests.conftest import make_submission, run_grader, solution_answers

LESSON = "01_smoothing"
RELEASED = NOTEBOOKS / f"{LESSON}.ipynb"
RELEASED_ORDER = [
    "answer_moving_average_weights",
    "test_moving_average_weights",
    "answer_smooth",
    "test_smooth",
    "answer_gaussian_weights",
    "test_gaussian_weights",
]


def _grade_id(cell):
    return cell.metadata.get("nbgrader", {}).get("grade_id")


def _graded(notebook) -> list[str]:
    return [_grade_id(cell) for cell in notebook.cells if _grade_id(cell)]


def _index(notebook, grade_id) -> int:
    return next(index for index, cell in enumerate(notebook.cells) if _grade_id(cell) == grade_id)


def _cell(notebook, grade_id):
    return notebook.cells[_index(notebook, grade_id)]


def _released():
    return nbformat.read(RELEASED, as_version=4)


def _number(grade_id) -> int:
    """The cell number (from 1, as notes count) of a graded cell in the released notebook."""
    return _index(_released(), grade_id) + 1


def _filled(tmp_path, answers=None):
    """The learner's notebook with every answer written (the solution's, unless ``answers`` says)."""
    path = make_submission(tmp_path / "filled", "learner", LESSON, answers or solution_answers(LESSON))
    return nbformat.read(path, as_version=4)


def _prepare(tmp_path, notebook, version=nbformat.NO_CONVERT):
    path = tmp_path / "submitted.ipynb"
    nbformat.write(notebook, path, version=version)
    return prepare(path, RELEASED)


def _prepare_text(tmp_path, text: str | bytes):
    path = tmp_path / "submitted.ipynb"
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    return prepare(path, RELEASED)


# Malformations, shared by the unit tests and the batch. Each takes the filled notebook and changes it.


def delete_cell(grade_id):
    def change(notebook):
        del notebook.cells[_index(notebook, grade_id)]

    return change


def copy_answer_then_write_in_the_copy(notebook):
    """The learner copied the (still empty) answer cell of smooth and wrote the answer in the copy below."""
    stub = copy.deepcopy(_cell(_released(), "answer_smooth"))
    stub.id = "copied-stub"
    notebook.cells.insert(_index(notebook, "answer_smooth"), stub)


def move_test_above_answer(notebook):
    test = notebook.cells.pop(_index(notebook, "test_smooth"))
    notebook.cells.insert(_index(notebook, "answer_smooth"), test)


def retype(grade_id, cell_type):
    def change(notebook):
        index = _index(notebook, grade_id)
        cell = notebook.cells[index]
        new_cell = {"markdown": nbformat.v4.new_markdown_cell, "raw": nbformat.v4.new_raw_cell}[cell_type]
        notebook.cells[index] = new_cell(cell.source, metadata=cell.metadata, id=cell.id)

    return change


def strip_marking(grade_id):
    """The learner copied the cell's content into a fresh cell (no nbgrader marking) and deleted the cell."""

    def change(notebook):
        del _cell(notebook, grade_id).metadata["nbgrader"]

    return change


def add_cells(notebook):
    notebook.cells.insert(0, nbformat.v4.new_markdown_cell("My notes"))
    notebook.cells.insert(2, nbformat.v4.new_code_cell("scratch = 1"))
    notebook.cells.insert(_index(notebook, "answer_smooth") + 1, nbformat.v4.new_code_cell("print(scratch)"))
    notebook.cells.append(nbformat.v4.new_code_cell("print('the end')"))


def foreign_marking(notebook):
    """A graded cell copied in from another lesson's notebook."""
    stranger = copy.deepcopy(_cell(notebook, "answer_smooth"))
    stranger.id = "stranger"
    stranger.metadata.nbgrader["grade_id"] = "answer_softmax"
    stranger.source = "def softmax(x):\n    return x"
    notebook.cells.insert(3, stranger)


def damage_marking(notebook):
    del _cell(notebook, "test_smooth").metadata.nbgrader["points"]
    del _cell(notebook, "answer_smooth").metadata.nbgrader["schema_version"]


def old_jupyterlab(notebook):
    """Format 4.2 without cell ids, an old kernelspec and language_info, metadata of Notebook 5."""
    notebook.nbformat_minor = 2
    notebook.metadata = {
        "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
        "language_info": {"name": "python", "version": "3.6.9", "pygments_lexer": "ipython3"},
    }
    for cell in notebook.cells:
        del cell["id"]
        if cell.cell_type == "code":
            cell.metadata.update(collapsed=False, scrolled=True)


def new_jupyterlab(notebook):
    """A newer minor format, another kernel, metadata keys this nbformat does not know."""
    notebook.nbformat_minor = 99
    notebook.metadata["kernelspec"] = {"display_name": "Course env", "language": "python", "name": "course"}
    notebook.metadata["language_info"] = {"name": "python", "version": "3.13.1"}
    notebook.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {"state": {}}}
    for cell in notebook.cells:
        cell.metadata["jp-MarkdownHeadingCollapsed"] = True
        cell.metadata["execution"] = {"iopub.status.busy": "2026-01-01T00:00:00Z"}


def _wrong(exercise_id, old, new):
    answers = solution_answers(LESSON)
    assert old in answers[f"answer_{exercise_id}"], f"the solution of {exercise_id} changed; update this test"
    answers[f"answer_{exercise_id}"] = answers[f"answer_{exercise_id}"].replace(old, new)
    return answers


WRONG_SMOOTH = _wrong("smooth", "weights @ values", "weights.T @ values")
WRONG_GAUSSIAN = _wrong("gaussian_weights", "(2 * sigma**2)", "(2 * sigma)")


# --- unit tests of prepare -----------------------------------------------------------------------------


def test_an_intact_notebook_passes_unchanged_without_notes(tmp_path):
    submitted = _filled(tmp_path)
    intake = _prepare(tmp_path, submitted)
    assert intake.unreadable is None and intake.notes == []
    assert [cell.source for cell in intake.notebook.cells] == [cell.source for cell in submitted.cells]
    assert [cell.id for cell in intake.notebook.cells] == [cell.id for cell in submitted.cells]


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"\xff\xfe{}", "not UTF-8 text"),
        ("  \n", "the file is empty"),
        ('{"cells": [ this is not json', "not valid JSON (Expecting value at line 1"),
        ("[1, 2, 3]", "JSON but not a Jupyter notebook (it has no cells)"),
        ('{"cells": ' + "[" * 100_000, "nested far too deeply"),
        ('{"nbformat": 5, "nbformat_minor": 0, "metadata": {}, "cells": []}', "notebook format 5, which"),
        ('{"nbformat": [4], "nbformat_minor": 0, "metadata": {}, "cells": []}', "notebook format [4], which"),
        ('{"nbformat": 4, "nbformat_minor": "five", "metadata": {}, "cells": []}', "4.'five', which is not"),
        ('{"nbformat": 4, "nbformat_minor": 5, "cells": []}', "not a Jupyter notebook (ValidationError"),
    ],
)
def test_a_file_that_is_not_a_notebook_says_why(tmp_path, content, reason):
    intake = _prepare_text(tmp_path, content)
    assert intake.notebook is None
    assert reason in intake.unreadable


def test_a_shape_no_repair_foresaw_costs_its_submission_with_the_reason(tmp_path, monkeypatch):
    def unforeseen(self):
        raise KeyError("outputs")

    monkeypatch.setattr(intake_module._Repair, "run", unforeseen)
    intake = _prepare(tmp_path, _filled(tmp_path))
    assert intake.notebook is None
    assert intake.unreadable == (
        "the grader could not check this notebook's cells (KeyError: 'outputs'); please show it to your "
        "instructor"
    )


def test_a_deleted_answer_cell_scores_0_and_its_empty_cell_goes_back_above_the_test(tmp_path):
    submitted = _filled(tmp_path)
    delete_cell("answer_smooth")(submitted)
    intake = _prepare(tmp_path, submitted)
    assert intake.notes == [
        "the answer cell of `smooth` was deleted, and no other cell defines `smooth`: that exercise scores 0 "
        "(the released, empty answer cell was put back in its place)"
    ]
    assert _graded(intake.notebook) == RELEASED_ORDER
    assert _cell(intake.notebook, "answer_smooth").source == _cell(_released(), "answer_smooth").source
    assert _index(intake.notebook, "test_smooth") == _index(intake.notebook, "answer_smooth") + 1


def test_a_deleted_test_cell_is_put_back_below_its_answer(tmp_path):
    submitted = _filled(tmp_path)
    delete_cell("test_smooth")(submitted)
    intake = _prepare(tmp_path, submitted)
    assert intake.notes == [
        "the test cell of `smooth` was deleted (or lost its nbgrader marking): the released test cell was "
        "put back below your answer, and the exercise graded as usual"
    ]
    assert _index(intake.notebook, "test_smooth") == _index(intake.notebook, "answer_smooth") + 1
    released_test = _cell(_released(), "test_smooth")
    assert _cell(intake.notebook, "test_smooth").metadata.nbgrader == released_test.metadata.nbgrader
    assert _cell(intake.notebook, "answer_smooth").source == solution_answers(LESSON)["answer_smooth"]


def test_answer_and_test_both_deleted_come_back_in_the_released_order(tmp_path):
    submitted = _filled(tmp_path)
    delete_cell("answer_smooth")(submitted)
    delete_cell("test_smooth")(submitted)
    intake = _prepare(tmp_path, submitted)
    assert _graded(intake.notebook) == RELEASED_ORDER
    assert len(intake.notes) == 2


def test_of_a_copied_answer_cell_the_copy_written_in_is_graded_and_the_stub_left_out(tmp_path):
    submitted = _filled(tmp_path)
    copy_answer_then_write_in_the_copy(submitted)
    intake = _prepare(tmp_path, submitted)
    assert intake.notes == [
        f"the answer cell of `smooth` appears 2 times (cells {_number('answer_smooth')} and "
        f"{_number('answer_smooth') + 1}): graded cell {_number('answer_smooth') + 1}, the last copy you "
        "changed; the other copy was left out"
    ]
    assert _graded(intake.notebook) == RELEASED_ORDER
    assert len(intake.notebook.cells) == len(submitted.cells) - 1
    assert _cell(intake.notebook, "answer_smooth").source == solution_answers(LESSON)["answer_smooth"]


def test_a_copy_written_in_above_the_test_wins_over_a_later_untouched_copy(tmp_path):
    submitted = _filled(tmp_path)
    stub = copy.deepcopy(_cell(_released(), "answer_smooth"))
    stub.id = "copied-stub"
    submitted.cells.insert(_index(submitted, "test_smooth") + 1, stub)
    intake = _prepare(tmp_path, submitted)
    assert f"graded cell {_number('answer_smooth')}, the last copy you changed" in intake.notes[0]
    assert _cell(intake.notebook, "answer_smooth").source == solution_answers(LESSON)["answer_smooth"]
    assert _graded(intake.notebook) == RELEASED_ORDER


def test_of_untouched_copies_of_a_test_cell_the_last_is_kept(tmp_path):
    submitted = _filled(tmp_path)
    test_copy = copy.deepcopy(_cell(submitted, "test_smooth"))
    test_copy.id = "copied-test"
    submitted.cells.append(test_copy)
    intake = _prepare(tmp_path, submitted)
    assert intake.notes[0] == (
        f"the test cell of `smooth` appears 2 times (cells {_number('test_smooth')} and "
        f"{len(submitted.cells)}): graded cell {len(submitted.cells)}, the last copy of them; "
        "the other copy was left out"
    )
    assert _graded(intake.notebook).count("test_smooth") == 1
    assert _index(intake.notebook, "test_smooth") == len(intake.notebook.cells) - 1


def test_a_test_cell_above_its_answer_is_moved_below_it(tmp_path):
    submitted = _filled(tmp_path)
    move_test_above_answer(submitted)
    intake = _prepare(tmp_path, submitted)
    assert intake.notes == [
        "the test cell of `smooth` was above the answer cell of `smooth`, so it would have run before "
        "`smooth` was defined: it was moved to just below it"
    ]
    assert _graded(intake.notebook) == RELEASED_ORDER


def test_a_test_cell_above_an_answer_it_uses_is_moved_below_that_answer(tmp_path):
    # lesson 02: soft_lookup calls the learner's softmax
    released = nbformat.read(NOTEBOOKS / "02_lookup.ipynb", as_version=4)
    notebook = copy.deepcopy(released)
    start = _index(notebook, "answer_softmax")
    softmax_exercise = notebook.cells[start : start + 2]
    del notebook.cells[start : start + 2]
    notebook.cells[_index(notebook, "test_soft_lookup") + 1 : 0] = softmax_exercise
    path = tmp_path / "02_lookup.ipynb"
    nbformat.write(notebook, path)
    intake = prepare(path, NOTEBOOKS / "02_lookup.ipynb")
    assert intake.notes[0] == (
        "the test cell of `soft_lookup` was above the answer cell of `softmax`, so it would have run before "
        "`softmax` was defined: it was moved to just below it"
    )
    graded = _graded(intake.notebook)
    assert graded.index("test_soft_lookup") == graded.index("answer_softmax") + 1


def test_swapped_exercises_whose_tests_follow_their_answers_stay_where_they_are(tmp_path):
    submitted = _filled(tmp_path)
    cells = submitted.cells
    first = _index(submitted, "answer_moving_average_weights")
    last = _index(submitted, "answer_gaussian_weights")
    cells[first : first + 2], cells[last : last + 2] = cells[last : last + 2], cells[first : first + 2]
    intake = _prepare(tmp_path, submitted)
    assert intake.notes == [
        "the graded cells are not in the released order: each test still runs after the answers it needs, so "
        "they were graded where they are"
    ]
    assert _graded(intake.notebook) == _graded(submitted) != RELEASED_ORDER


@pytest.mark.parametrize("grade_id", ["answer_smooth", "test_smooth"])
@pytest.mark.parametrize("cell_type", ["markdown", "raw"])
def test_a_graded_cell_turned_into_text_is_turned_back_into_code(tmp_path, grade_id, cell_type):
    submitted = _filled(tmp_path)
    retype(grade_id, cell_type)(submitted)
    intake = _prepare(tmp_path, submitted)
    kind = grade_id.split("_")[0]
    assert intake.notes == [
        f"the {kind} cell of `smooth` had been turned into a {cell_type} cell: it was turned back into a "
        "code cell and graded as one"
    ]
    cell = _cell(intake.notebook, grade_id)
    assert cell.cell_type == "code" and cell.outputs == []
    assert cell.source == _cell(submitted, grade_id).source


def test_added_code_cells_are_listed_and_kept(tmp_path):
    submitted = _filled(tmp_path)
    add_cells(submitted)
    intake = _prepare(tmp_path, submitted)
    assert intake.notes == [
        f"code cells 3, {_number('answer_smooth') + 3} and {len(submitted.cells)} are not in the released "
        "notebook (you added them, or rewrote released cells): they ran with the rest of your notebook, as "
        "you wrote them"
    ]
    assert [cell.source for cell in intake.notebook.cells] == [cell.source for cell in submitted.cells]


def test_an_answer_copied_into_a_fresh_cell_is_graded_as_the_answer(tmp_path):
    submitted = _filled(tmp_path, WRONG_GAUSSIAN)
    strip_marking("answer_gaussian_weights")(submitted)
    intake = _prepare(tmp_path, submitted)
    assert intake.notes == [
        f"the answer cell of `gaussian_weights` is missing, but cell {_number('answer_gaussian_weights')} "
        "defines `gaussian_weights` without nbgrader's marking (a copy of the answer cell?): that cell was "
        "graded as your answer"
    ]
    answer = _cell(intake.notebook, "answer_gaussian_weights")
    assert answer.source == WRONG_GAUSSIAN["answer_gaussian_weights"]
    assert answer.metadata.nbgrader == _cell(_released(), "answer_gaussian_weights").metadata.nbgrader


def test_of_several_fresh_cells_defining_the_function_the_last_is_graded_and_its_test_moved_below(tmp_path):
    submitted = _filled(tmp_path)
    strip_marking("answer_smooth")(submitted)
    later = nbformat.v4.new_code_cell("def smooth(weights, values):\n    return values")
    submitted.cells.insert(_index(submitted, "test_smooth") + 1, later)
    intake = _prepare(tmp_path, submitted)
    assert f"cell {_number('test_smooth') + 1} defines `smooth`" in intake.notes[0]
    assert _cell(intake.notebook, "answer_smooth").source == later.source
    assert _graded(intake.notebook) == RELEASED_ORDER


@pytest.mark.parametrize(
    ("source", "adopted"),
    [
        ("%time\nsmooth = lambda weights, values: weights @ values", True),
        ("smooth: object = None", True),
        ("class smooth:\n    pass", True),
        ("for smooth in range(3):\n    pass", False),
        ("print(smooth)", False),
        ("def smooth(", False),
    ],
)
def test_only_a_cell_that_defines_the_function_is_graded_as_its_answer(tmp_path, source, adopted):
    submitted = _filled(tmp_path)
    answer = _cell(submitted, "answer_smooth")
    answer.source = source
    del answer.metadata["nbgrader"]
    intake = _prepare(tmp_path, submitted)
    assert ("that cell was graded as your answer" in intake.notes[0]) is adopted
    assert (_cell(intake.notebook, "answer_smooth").source == source) is adopted


def test_an_unmarked_copy_of_released_code_is_never_graded_as_the_answer(tmp_path):
    submitted = _filled(tmp_path)
    answer = _cell(submitted, "answer_smooth")
    answer.source = _cell(_released(), "answer_smooth").source
    del answer.metadata["nbgrader"]
    intake = _prepare(tmp_path, submitted)
    assert intake.notes[0].startswith("the answer cell of `smooth` was deleted")


def test_a_marking_from_another_lesson_is_removed(tmp_path):
    submitted = _filled(tmp_path)
    foreign_marking(submitted)
    intake = _prepare(tmp_path, submitted)
    assert intake.notes == [
        "cell 4 is marked as the graded cell `answer_softmax`, which this lesson does not have (copied from "
        "another notebook?): it ran as an ordinary cell"
    ]
    assert "nbgrader" not in intake.notebook.cells[3].metadata
    assert _graded(intake.notebook) == RELEASED_ORDER


def test_a_damaged_marking_is_replaced_by_the_released_one(tmp_path):
    submitted = _filled(tmp_path)
    damage_marking(submitted)
    _cell(submitted, "test_gaussian_weights").metadata.nbgrader["points"] = 50
    intake = _prepare(tmp_path, submitted)
    assert intake.notes == [
        "the nbgrader marking of the test cell of `smooth` had been changed (points missing instead of 2): "
        "it was graded with the released marking",
        "the nbgrader marking of the test cell of `gaussian_weights` had been changed (points 50 instead of "
        "3): it was graded with the released marking",
    ]
    released = _released()
    for grade_id in RELEASED_ORDER:
        marking = _cell(released, grade_id).metadata.nbgrader
        assert _cell(intake.notebook, grade_id).metadata.nbgrader == marking


def test_an_edited_test_cell_is_graded_as_released(tmp_path):
    submitted = _filled(tmp_path)
    _cell(submitted, "test_smooth").source = "print('all good')"
    intake = _prepare(tmp_path, submitted)
    assert intake.notes == [
        "the test cell of `smooth` had been edited: it was graded as released (its content is the "
        "instructor's)"
    ]
    assert _cell(intake.notebook, "test_smooth").source == _cell(_released(), "test_smooth").source


@pytest.mark.parametrize("minor", [0, 1, 2, 3, 4, 99])
def test_other_format_4_versions_are_read_as_4_5(tmp_path, minor):
    submitted = _filled(tmp_path)
    submitted.nbformat_minor = minor
    if minor < 5:
        for cell in submitted.cells:
            del cell["id"]
    intake = _prepare(tmp_path, submitted)
    newer = ", newer than this grader knows: graded as format 4.5, from the parts that format has"
    older = " (an older Jupyter): converted to format 4.5"
    assert intake.notes == [f"saved in notebook format 4.{minor}{newer if minor > 5 else older}"]
    assert (intake.notebook.nbformat, intake.notebook.nbformat_minor) == (4, 5)
    nbformat.validate(intake.notebook)
    assert len({cell.id for cell in intake.notebook.cells}) == len(submitted.cells)
    assert _graded(intake.notebook) == RELEASED_ORDER


def test_a_format_3_notebook_is_converted(tmp_path):
    submitted = _filled(tmp_path)
    intake = _prepare(tmp_path, submitted, version=3)
    assert intake.notes == ["saved in notebook format 3.0 (an older Jupyter): converted to format 4.5"]
    nbformat.validate(intake.notebook)
    assert _graded(intake.notebook) == RELEASED_ORDER
    assert _cell(intake.notebook, "answer_smooth").source == solution_answers(LESSON)["answer_smooth"]


@pytest.mark.parametrize("change", [old_jupyterlab, new_jupyterlab])
def test_metadata_of_other_jupyterlab_versions_grades_without_further_notes(tmp_path, change):
    submitted = _filled(tmp_path)
    change(submitted)
    intake = _prepare(tmp_path, submitted)
    assert len(intake.notes) == 1 and intake.notes[0].startswith("saved in notebook format 4.")
    nbformat.validate(intake.notebook)
    assert _graded(intake.notebook) == RELEASED_ORDER


@pytest.mark.filterwarnings("error")
def test_metadata_the_format_forbids_and_missing_or_duplicate_cell_ids_are_repaired_silently(tmp_path):
    submitted = _filled(tmp_path)
    submitted.cells[3].metadata["collapsed"] = "yes"
    submitted.cells[4].id = submitted.cells[3].id
    del submitted.cells[5]["id"]
    intake = _prepare_text(tmp_path, json.dumps(submitted))  # nbformat.write would repair the ids itself
    assert intake.notes == []
    nbformat.validate(intake.notebook)
    assert len({cell.id for cell in intake.notebook.cells}) == len(submitted.cells)
    assert "collapsed" not in intake.notebook.cells[3].metadata


# --- one batch through the grader ------------------------------------------------------------------------

BATCH = {
    # student: (answers, malformation, exercises that lose their points, what the note says)
    "intact": (None, None, [], None),
    "answer_deleted": (None, delete_cell("answer_smooth"), ["smooth"], "answer cell of `smooth` was deleted"),
    "test_deleted": (None, delete_cell("test_smooth"), [], "test cell of `smooth` was deleted"),
    "test_deleted_wrong": (WRONG_SMOOTH, delete_cell("test_smooth"), ["smooth"], "test cell of `smooth` was"),
    "answer_copied": (None, copy_answer_then_write_in_the_copy, [], "appears 2 times"),
    "test_above": (None, move_test_above_answer, [], "was moved to just below it"),
    "answer_markdown": (None, retype("answer_gaussian_weights", "markdown"), [], "turned into a markdown"),
    "answer_fresh_cell_wrong": (
        WRONG_GAUSSIAN,
        strip_marking("answer_gaussian_weights"),
        ["gaussian_weights"],
        "that cell was graded as your answer",
    ),
    "cells_added": (None, add_cells, [], "are not in the released notebook"),
    "foreign_marking": (None, foreign_marking, [], "which this lesson does not have"),
    "damaged_marking": (None, damage_marking, [], "points missing instead of 2"),
    "format_3": (None, "format 3", [], "notebook format 3.0"),
    "old_lab": (None, old_jupyterlab, [], "notebook format 4.2"),
    "new_lab": (None, new_jupyterlab, [], "notebook format 4.99"),
}


def _build_batch(folder):
    for student, (answers, malformation, _, _) in BATCH.items():
        path = make_submission(folder, student, LESSON, answers or solution_answers(LESSON))
        notebook = nbformat.read(path, as_version=4)
        if malformation == "format 3":
            nbformat.write(notebook, path, version=3)
            continue
        if malformation is not None:
            malformation(notebook)
        nbformat.write(notebook, path)


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    submissions, out = tmp_path_factory.mktemp("submitted"), tmp_path_factory.mktemp("out")
    _build_batch(submissions)
    result = run_grader("autograde", submissions, "--out", out, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    return out, result.stdout


def test_each_malformed_submission_earns_what_its_intact_cells_earn(batch):
    out, _ = batch
    with open(out / "grades.csv", newline="") as handle:
        scores = {row["student_id"]: float(row["score"]) for row in csv.DictReader(handle)}
    results = {entry["student_id"]: entry for entry in json.loads((out / "results.json").read_text())}
    full = sum(exercise.points for exercise in lesson_exercises(LESSON))
    for student, (_, _, lost, _) in BATCH.items():
        expected = full - sum(get_exercise(exercise_id).points for exercise_id in lost)
        assert scores[student] == expected, (student, results[student])
        assert results[student]["score"] == expected, student
        assert results[student]["problem"] is None, student
        assert [e["exercise_id"] for e in results[student]["exercises"] if e["score"] == 0] == lost, student


def test_each_malformed_submission_carries_its_note(batch):
    out, stdout = batch
    results = {entry["student_id"]: entry for entry in json.loads((out / "results.json").read_text())}
    for student, (_, _, _, note) in BATCH.items():
        notes = results[student]["notes"]
        if note is None:
            assert notes == [], student
            continue
        assert any(note in line for line in notes), (student, notes)
        page = html.unescape((out / "feedback" / student / f"{LESSON}.html").read_text())
        assert note in page, student
        summary = next(line for line in stdout.splitlines() if line.split()[:1] == [student])
        assert f"NOTE: {notes[0]}" in summary, student
