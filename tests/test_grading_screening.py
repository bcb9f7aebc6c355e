"""A graded class is screened for shared work: results.json carries each wrong answer's digest and the
kinds of case it fails, similarity.json the pairs worth a look, and the instructor can turn it off."""

import json

import pytest

from tests.conftest import make_submission, run_grader, solution_answers

LESSON = "01_smoothing"
SIGMA_CUBED_INLINE = """def gaussian_weights(query_times, key_times, sigma):
    scaled_distance = (query_times[:, None] - key_times[None, :]) ** 2 / (2 * sigma**3)
    scores = np.exp(-(scaled_distance - scaled_distance.min(axis=1, keepdims=True)))
    return scores / scores.sum(axis=1, keepdims=True)
"""
SIGMA_CUBED_IN_STEPS = """def gaussian_weights(query_times, key_times, sigma):
    # my own way: differences first, then logits
    difference = np.subtract.outer(query_times, key_times)
    logits = -(difference**2) / (2 * sigma ** 3)
    logits = logits - logits.max(axis=1, keepdims=True)
    unnormalised = np.exp(logits)
    return unnormalised / np.sum(unnormalised, axis=1, keepdims=True)
"""
SIGMA_AS_VARIANCE = SIGMA_CUBED_INLINE.replace("(2 * sigma**3)", "(2 * sigma)")
ANSWERS = {
    "ana": None,  # the solution
    "ben": "",  # gaussian_weights unwritten
    "cid": SIGMA_CUBED_INLINE,
    "dora": SIGMA_CUBED_IN_STEPS,  # the same unusual wrong numbers, written another way
    "eli": SIGMA_AS_VARIANCE,  # a named mistake many make on their own
}


def _class(folder, students):
    for student in students:
        answers = solution_answers(LESSON)
        if ANSWERS[student] == "":
            del answers["answer_gaussian_weights"]
        elif ANSWERS[student] is not None:
            answers["answer_gaussian_weights"] = ANSWERS[student]
        make_submission(folder, student, LESSON, answers)
    return folder


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    submissions = _class(tmp_path_factory.mktemp("submitted"), ANSWERS)
    out = tmp_path_factory.mktemp("out")
    run = run_grader("autograde", submissions, "--out", out)
    assert run.returncode == 0, run.stdout + run.stderr
    results = {entry["student_id"]: entry for entry in json.loads((out / "results.json").read_text())}
    return out, results


def _gaussian(results, student) -> dict:
    return next(e for e in results[student]["exercises"] if e["exercise_id"] == "gaussian_weights")


def test_only_wrong_answers_without_a_named_mistake_get_a_digest_of_their_numbers(graded):
    _, results = graded
    assert (
        _gaussian(results, "cid")["output_digest"] == _gaussian(results, "dora")["output_digest"] is not None
    )
    assert _gaussian(results, "eli")["mistake"] == "sigma_as_variance"
    for student in ("ana", "ben", "eli"):
        assert _gaussian(results, student)["output_digest"] is None, student


def test_each_answer_says_how_many_cases_it_passes_and_the_kinds_it_fails(graded):
    _, results = graded
    right, wrong = _gaussian(results, "ana"), _gaussian(results, "cid")
    assert right["cases_passed"] == right["cases"] > 0 and right["failed_case_kinds"] == []
    assert wrong["cases_passed"] < wrong["cases"] and wrong["failed_case_kinds"]


def test_the_pair_with_the_same_unusual_wrong_numbers_is_worth_a_look(graded):
    out, _ = graded
    screening = json.loads((out / "similarity.json").read_text())
    assert screening["screened"] is True
    assert [(pair["first"], pair["second"]) for pair in screening["pairs"]] == [("cid", "dora")]
    pair = screening["pairs"][0]
    assert "the same unusual wrong numbers on every hidden case of gaussian_weights" in pair["reasons"]
    assert pair["answers"]["gaussian_weights"] == [SIGMA_CUBED_INLINE, SIGMA_CUBED_IN_STEPS]
    assert "01_smoothing: cid and dora" in (out / "report" / "index.html").read_text()


def test_turned_off_nothing_is_screened(tmp_path):
    submissions = _class(tmp_path / "submitted", ["cid", "dora"])
    run = run_grader("autograde", submissions, "--out", tmp_path / "out", "--no-similarity")
    assert run.returncode == 0, run.stdout + run.stderr
    assert json.loads((tmp_path / "out" / "similarity.json").read_text()) == {"screened": False}
    assert (
        "Screening for similar work was turned off"
        in (tmp_path / "out" / "report" / "index.html").read_text()
    )
