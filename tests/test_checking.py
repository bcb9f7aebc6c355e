"""course_lib.checking: what a learner reads for each kind of wrong answer."""

import numpy as np
import pytest

from course_lib.checking import CheckCase, ExerciseFailed, as_output, evaluate
from course_lib.registry import Exercise, Mistake


def _row_normalise(matrix):
    return matrix / matrix.sum(axis=1, keepdims=True)


MATRIX = np.arange(1.0, 7.0).reshape(2, 3)
EXERCISE = Exercise(
    id="normalise_rows",
    lesson="toy",
    target="normalise_rows",
    points=1,
    make_cases=lambda rng: [{"matrix": MATRIX}],
    output="an array of shape (n, m) whose rows sum to 1",
    mistakes=(Mistake("columns", "you normalised the columns"),),
)
CASES = [
    CheckCase(
        "case 1",
        {"matrix": MATRIX},
        as_output(_row_normalise(MATRIX)),
        {"columns": as_output(MATRIX / MATRIX.sum(axis=0, keepdims=True))},
    )
]


def test_right_answer_passes():
    verdict = evaluate(EXERCISE, _row_normalise, CASES)
    assert verdict.passed, verdict.message
    assert "all 1 cases pass" in verdict.message


def test_known_mistake_is_named():
    verdict = evaluate(EXERCISE, lambda matrix: matrix / matrix.sum(axis=0, keepdims=True), CASES)
    assert not verdict.passed
    assert verdict.mistake_id == "columns"
    assert "you normalised the columns" in verdict.message


@pytest.mark.parametrize(
    ("learner", "expected_words"),
    [
        (lambda matrix: None, "forget the `return`"),
        (lambda matrix: _row_normalise(matrix).T, "It looks transposed"),
        (lambda matrix: matrix / 0.0, "contains nan or inf"),
        (lambda matrix: (_ for _ in ()).throw(ValueError("boom")), "raised ValueError: boom"),
        (lambda matrix: _row_normalise(matrix) + 0.1, "6 of its 6 values are wrong"),
        (lambda matrix: np.round(_row_normalise(matrix) * 10).astype(int), "should hold floats"),
        (lambda matrix: "not numbers", "cannot read a str"),
    ],
)
def test_wrong_answers_get_specific_messages(learner, expected_words):
    with np.errstate(divide="ignore", invalid="ignore"):
        verdict = evaluate(EXERCISE, learner, CASES)
    assert not verdict.passed
    assert verdict.mistake_id is None
    assert expected_words in verdict.message


def test_stub_is_told_to_write_the_function():
    def stub(matrix):
        raise NotImplementedError()

    verdict = evaluate(EXERCISE, stub, CASES)
    assert not verdict.passed and "not written yet" in verdict.message


def test_writing_into_the_inputs_is_reported():
    def in_place(matrix):
        matrix /= matrix.sum(axis=1, keepdims=True)
        return matrix

    verdict = evaluate(EXERCISE, in_place, CASES)
    assert not verdict.passed and "changed the arrays it was given" in verdict.message
    assert CASES[0].inputs["matrix"][0, 0] == 1.0, "the shared case must not be modified"


def test_not_a_function():
    assert "should be a function" in evaluate(EXERCISE, 42, CASES).message


def test_failure_renders_in_ipython_without_a_traceback():
    verdict = evaluate(EXERCISE, lambda matrix: None, CASES)
    rendered = ExerciseFailed(verdict)._render_traceback_()
    assert any("forget the `return`" in line for line in rendered)
    assert not any("Traceback" in line for line in rendered)


def test_a_method_is_known_by_its_class_also_where_code_has_no_qualname():
    from types import SimpleNamespace

    from course_lib.checking import _owner

    class LayerNorm:
        pass

    python_310_code = SimpleNamespace(co_name="forward")  # 3.10's code objects lack co_qualname
    frame = SimpleNamespace(f_code=python_310_code, f_locals={"self": LayerNorm(), "x": 1})
    assert _owner(frame) == "LayerNorm"
    assert _owner(SimpleNamespace(f_code=python_310_code, f_locals={})) == "forward"
