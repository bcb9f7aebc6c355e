"""The grading pipeline on real notebooks, through nbgrader: full marks, 0, one exercise lost exactly."""

import csv
import html
import json
import subprocess
import sys

import pytest

from course_lib.registry import get_exercise
from grader.paths import ROOT
from tests.conftest import make_submission, solution_answers

LESSON = "01_smoothing"
WRONG = {
    # student: (exercise, answer-cell edit, mistake the feedback must name)
    "carol": ("gaussian_weights", ("(2 * sigma**2)", "(2 * sigma)"), "sigma_as_variance"),
    "dave": ("smooth", ("weights @ values", "weights.T @ values"), "weights_transposed"),
}


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    answers = solution_answers(LESSON)
    submissions = tmp_path_factory.mktemp("submitted")
    make_submission(submissions, "alice", LESSON, answers)
    make_submission(submissions, "bob", LESSON, {})
    for student, (exercise_id, (old, new), _) in WRONG.items():
        edited = dict(answers)
        grade_id = f"answer_{exercise_id}"
        assert old in edited[grade_id]
        edited[grade_id] = edited[grade_id].replace(old, new)
        make_submission(submissions, student, LESSON, edited)
    out = tmp_path_factory.mktemp("out")
    result = subprocess.run(
        [sys.executable, "-m", "grader", "autograde", str(submissions), "--out", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return out


def _grades(out):
    with open(out / "grades.csv", newline="") as handle:
        return {row["student_id"]: row for row in csv.DictReader(handle)}


def test_grades_csv_has_nbgrader_columns_and_expected_scores(graded):
    grades = _grades(graded)
    full = float(
        sum(get_exercise(e).points for e in ("moving_average_weights", "gaussian_weights", "smooth"))
    )
    assert set(grades) == {"alice", "bob", "carol", "dave"}
    for row in grades.values():
        assert row["assignment"] == LESSON
        assert float(row["max_score"]) == full
    assert float(grades["alice"]["score"]) == full
    assert float(grades["bob"]["score"]) == 0.0
    for student, (exercise_id, _, _) in WRONG.items():
        assert float(grades[student]["score"]) == full - get_exercise(exercise_id).points


def test_wrong_answers_lose_exactly_their_exercise(graded):
    results = {entry["student_id"]: entry for entry in json.loads((graded / "results.json").read_text())}
    for student, (exercise_id, _, _) in WRONG.items():
        lost = [e["exercise_id"] for e in results[student]["exercises"] if e["score"] < e["max_score"]]
        assert lost == [exercise_id]


def test_feedback_names_the_mistake(graded):
    for student, (exercise_id, _, mistake_id) in WRONG.items():
        page = html.unescape((graded / "feedback" / student / f"{LESSON}.html").read_text())
        assert get_exercise(exercise_id).mistake(mistake_id).diagnosis in page


def test_feedback_tells_the_stub_to_write_its_functions(graded):
    page = html.unescape((graded / "feedback" / "bob" / f"{LESSON}.html").read_text())
    assert "is not written yet" in page


def test_validate_passes():
    result = subprocess.run(
        [sys.executable, "-m", "grader", "validate"], cwd=ROOT, capture_output=True, text=True, timeout=600
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "all lessons sound" in result.stdout


def test_unreadable_notebook_gets_a_row_and_a_reason(tmp_path):
    answers = solution_answers(LESSON)
    make_submission(tmp_path / "submitted", "erin", LESSON, answers)
    broken = tmp_path / "submitted" / "frank" / LESSON / f"{LESSON}.ipynb"
    broken.parent.mkdir(parents=True)
    broken.write_text('{"cells": [ this is not json')
    out = tmp_path / "out"
    result = subprocess.run(
        [sys.executable, "-m", "grader", "autograde", str(tmp_path / "submitted"), "--out", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    grades = _grades(out)
    assert float(grades["frank"]["score"]) == 0.0
    assert float(grades["erin"]["score"]) == float(grades["erin"]["max_score"])
    results = {entry["student_id"]: entry for entry in json.loads((out / "results.json").read_text())}
    assert "not valid JSON" in results["frank"]["problem"]
    assert "frank" in result.stdout and "PROBLEM" in result.stdout
