"""The grading pipeline on real notebooks, through nbgrader: full marks, 0, one exercise lost exactly."""

import csv
import html
import json
import re
import subprocess

import pytest

from course_lib.registry import get_exercise, lesson_exercises
from grader.course.feedback import FEEDBACK_STYLE
from tests.conftest import make_submission, run_grader, solution_answers

LESSONS = ("01_smoothing", "02_lookup", "03_qkv", "04_multihead", "05_decoder")
WRONG = {
    # student: (lesson, exercise, answer-cell edit, mistake the feedback must name)
    "carol": ("01_smoothing", "gaussian_weights", ("(2 * sigma**2)", "(2 * sigma)"), "sigma_as_variance"),
    "dave": ("01_smoothing", "smooth", ("weights @ values", "weights.T @ values"), "weights_transposed"),
    "erin": (
        "03_qkv",
        "scaled_dot_product_attention",
        (" / np.sqrt(q.shape[-1])", ""),
        "no_scale",
    ),
    "frank": (
        "03_qkv",
        "scaled_dot_product_attention",
        ("softmax(scores, axis=-1)", "softmax(scores, axis=-2)"),
        "softmax_over_queries",
    ),
    # a wrong helper costs its own points only: soft_lookup calls this softmax, Block and GPT this LayerNorm
    "gina": ("02_lookup", "softmax", ("x - x.max(axis=axis, keepdims=True)", "x"), "no_max_subtraction"),
    "hank": (
        "04_multihead",
        "multi_head_attention",
        ("(split_heads(t, self.n_heads) for t", "(t.reshape(t.shape[0], self.n_heads, t.shape[1], -1) for t"),
        "split_without_transpose",
    ),
    "ivy": (
        "05_decoder",
        "layer_norm",
        ("((x - mean) ** 2).mean(dim=-1, keepdim=True)", "x.var(dim=-1, keepdim=True)"),
        "unbiased_variance",
    ),
}


def _max_score(lesson: str) -> float:
    return float(sum(exercise.points for exercise in lesson_exercises(lesson)))


def _autograde(submissions, out) -> subprocess.CompletedProcess:
    return run_grader("autograde", submissions, "--out", out)


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    submissions = tmp_path_factory.mktemp("submitted")
    for lesson in LESSONS:
        make_submission(submissions, "alice", lesson, solution_answers(lesson))
        make_submission(submissions, "bob", lesson, {})
    for student, (lesson, exercise_id, (old, new), _) in WRONG.items():
        answers = solution_answers(lesson)
        grade_id = f"answer_{exercise_id}"
        assert old in answers[grade_id], f"the solution of {exercise_id} changed; update this test"
        answers[grade_id] = answers[grade_id].replace(old, new)
        make_submission(submissions, student, lesson, answers)
    out = tmp_path_factory.mktemp("out")
    result = _autograde(submissions, out)
    assert result.returncode == 0, result.stdout + result.stderr
    return out


def _grades(out):
    with open(out / "grades.csv", newline="") as handle:
        return {(row["student_id"], row["assignment"]): row for row in csv.DictReader(handle)}


def _results(out):
    entries = json.loads((out / "results.json").read_text())
    return {(entry["student_id"], entry["assignment"]): entry for entry in entries}


def test_solutions_earn_full_marks_and_stubs_zero(graded):
    grades = _grades(graded)
    for lesson in LESSONS:
        assert float(grades[("alice", lesson)]["score"]) == _max_score(lesson)
        assert float(grades[("bob", lesson)]["max_score"]) == _max_score(lesson)
        assert float(grades[("bob", lesson)]["score"]) == 0.0


def test_wrong_answers_lose_exactly_their_exercise(graded):
    grades, results = _grades(graded), _results(graded)
    for student, (lesson, exercise_id, _, _) in WRONG.items():
        expected = _max_score(lesson) - get_exercise(exercise_id).points
        assert float(grades[(student, lesson)]["score"]) == expected, student
        exercises = results[(student, lesson)]["exercises"]
        assert [e["exercise_id"] for e in exercises if e["score"] < e["max_score"]] == [exercise_id]


def test_feedback_names_the_mistake(graded):
    for student, (lesson, exercise_id, _, mistake_id) in WRONG.items():
        page = html.unescape((graded / "feedback" / student / f"{lesson}.html").read_text())
        assert get_exercise(exercise_id).mistake(mistake_id).diagnosis in page, student


def test_feedback_shows_a_checks_message_whole_and_wrapped(graded):
    """The summary's messages and the notebook's outputs wrap instead of running off the page, and a
    failed check reads as the check's words, without the exception's name."""
    for student, (lesson, _, _, _) in WRONG.items():
        page = (graded / "feedback" / student / f"{lesson}.html").read_text()
        assert FEEDBACK_STYLE in page and '<td class="attention-message">' in page, student
        assert "ExerciseFailed" not in html.unescape(re.sub(r"<[^>]+>", "", page)), student
        message = _results(graded)[(student, lesson)]["exercises"]
        assert not any(e["message"].startswith("ExerciseFailed") for e in message), student


def test_feedback_shows_the_visible_check_but_never_the_hidden_tests(graded):
    pages = sorted((graded / "feedback").glob("*/*.html"))
    assert pages
    for page in pages:
        text = html.unescape(re.sub(r"<[^>]+>", "", page.read_text()))  # code is highlighted span by span
        assert "check(" in text, page
        assert "HIDDEN TESTS" not in text and "record(" not in text, page


def test_feedback_tells_the_stub_to_write_its_functions(graded):
    page = html.unescape((graded / "feedback" / "bob" / "01_smoothing.html").read_text())
    assert "is not written yet" in page


def test_grades_csv_uses_nbgrader_export_columns(graded):
    with open(graded / "grades.csv", newline="") as handle:
        header = next(csv.reader(handle))
    assert header[:4] == ["assignment", "duedate", "timestamp", "student_id"]
    assert {"score", "max_score", "raw_score"} <= set(header)


def test_validate_passes():
    result = run_grader("validate", timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "all lessons sound" in result.stdout


def test_unreadable_notebook_gets_a_row_and_a_reason(tmp_path):
    lesson = "01_smoothing"
    make_submission(tmp_path / "submitted", "erin", lesson, solution_answers(lesson))
    broken = tmp_path / "submitted" / "frank" / lesson / f"{lesson}.ipynb"
    broken.parent.mkdir(parents=True)
    broken.write_text('{"cells": [ this is not json')
    out = tmp_path / "out"
    result = _autograde(tmp_path / "submitted", out)
    assert result.returncode == 0, result.stdout + result.stderr
    grades = _grades(out)
    assert float(grades[("frank", lesson)]["score"]) == 0.0
    assert float(grades[("erin", lesson)]["score"]) == _max_score(lesson)
    assert "not valid JSON" in _results(out)[("frank", lesson)]["problem"]
    assert "frank" in result.stdout and "PROBLEM" in result.stdout
