"""nbgrader's own autograde (what formgrader's Autograde button runs), with the course's
``VerifiedExecute``, grades as ``python -m grader autograde`` does: the same scores, the mistake named,
the learner who makes ``np.allclose`` always agree flagged."""

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbgrader.api import Gradebook

from course_lib.registry import get_exercise
from grader.course import Course
from grader.grading.preprocessor import FAILED_VERIFICATION
from tests.conftest import make_submission, run_grader, solution_answers

LESSON = "01_smoothing"
WRONG = ("(2 * sigma**2)", "(2 * sigma)")  # sigma_as_variance in gaussian_weights
TAMPERING = "import numpy\nnumpy.allclose = lambda *args, **kwargs: True\n"
COURSE_CONFIG = (
    "from grader.grading.preprocessor import use_verified_execute\n\nuse_verified_execute(get_config())\n"
)


def _answers(student: str) -> dict[str, str]:
    answers = solution_answers(LESSON)
    if student != "alice":
        answers["answer_gaussian_weights"] = answers["answer_gaussian_weights"].replace(*WRONG)
    if student == "tom":
        answers["answer_moving_average_weights"] = TAMPERING + answers["answer_moving_average_weights"]
    return answers


@pytest.fixture(scope="module")
def graded_both_ways(tmp_path_factory):
    course = tmp_path_factory.mktemp("course")
    Course(course).add_lesson(LESSON)
    (course / "nbgrader_config.py").write_text(COURSE_CONFIG)
    for student in ("alice", "bob", "tom"):
        make_submission(course / "submitted", student, LESSON, _answers(student))
    # nbgrader runs the ``alembic`` command when it needs a gradebook: it must find the environment's.
    path = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    nbgrader = subprocess.run(
        [sys.executable, "-m", "nbgrader", "autograde", LESSON, "--create"],
        cwd=course,
        capture_output=True,
        text=True,
        env={**os.environ, "PATH": path},
        timeout=900,
    )
    assert nbgrader.returncode == 0, nbgrader.stdout + nbgrader.stderr
    out = tmp_path_factory.mktemp("out")
    ours = run_grader("autograde", course / "submitted", "--out", out)
    assert ours.returncode == 0, ours.stdout + ours.stderr
    return course, out


def test_nbgrader_and_the_grader_give_the_same_scores(graded_both_ways):
    course, out = graded_both_ways
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        in_nbgrader = {s: gradebook.find_submission(LESSON, s).score for s in ("alice", "bob", "tom")}
    with open(out / "grades.csv") as table:
        ours = {row["student_id"]: float(row["score"]) for row in csv.DictReader(table)}
    assert in_nbgrader == ours
    points = get_exercise("gaussian_weights").points
    assert in_nbgrader["alice"] - in_nbgrader["bob"] == points
    assert in_nbgrader["tom"] == in_nbgrader["bob"]  # tampering earns nothing


def _test_cell_errors(course, student: str) -> dict[str, list]:
    notebook = nbformat.read(course / "autograded" / student / LESSON / f"{LESSON}.ipynb", as_version=4)
    return {
        cell.metadata["nbgrader"]["grade_id"]: [o for o in cell.outputs if o.output_type == "error"]
        for cell in notebook.cells
        if cell.metadata.get("nbgrader", {}).get("grade")
    }, notebook.metadata


def test_the_mistake_is_named_and_the_tampering_flagged(graded_both_ways):
    course, out = graded_both_ways
    errors, _ = _test_cell_errors(course, "bob")
    diagnosis = get_exercise("gaussian_weights").mistake("sigma_as_variance").diagnosis
    assert diagnosis in errors["test_gaussian_weights"][0].evalue
    errors, metadata = _test_cell_errors(course, "tom")
    taken_away = errors["test_gaussian_weights"]
    assert [error.ename for error in taken_away] == [FAILED_VERIFICATION]
    assert "possible tampering" in taken_away[0].evalue
    assert metadata["attention_grader"]["flags"] == [
        flag
        for result in json.loads((out / "results.json").read_text())
        if result["student_id"] == "tom"
        for flag in result["flags"]
    ]
    assert not _test_cell_errors(course, "alice")[0]["test_gaussian_weights"]


def _findings_in_gradebook(course, student: str) -> tuple[dict[str, str | None], bool]:
    """Each answer cell's automatic comment, and the flag, as formgrader shows them."""
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        notebook = gradebook.find_submission_notebook(LESSON, LESSON, student)
        return {comment.name: comment.auto_comment for comment in notebook.comments}, notebook.flagged


def test_formgrader_shows_the_diagnosis_as_a_comment_and_the_tamperer_flagged(graded_both_ways):
    course, _ = graded_both_ways
    comments, flagged = _findings_in_gradebook(course, "bob")
    diagnosis = get_exercise("gaussian_weights").mistake("sigma_as_variance").diagnosis
    assert diagnosis in comments["answer_gaussian_weights"] and not flagged
    assert comments["answer_moving_average_weights"] is None  # right: nothing to say
    comments, flagged = _findings_in_gradebook(course, "tom")
    assert flagged and diagnosis in comments["answer_gaussian_weights"]
    comments, flagged = _findings_in_gradebook(course, "alice")
    assert not flagged and set(comments.values()) == {None}
