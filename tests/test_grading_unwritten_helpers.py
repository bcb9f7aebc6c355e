"""One unwritten function costs one exercise: the exercises that call it are judged with a correct one."""

import json

import nbformat
import pytest

from course_lib.registry import get_exercise, lesson_exercises
from tests.conftest import make_submission, run_grader, solution_answers

UNWRITTEN = {
    # student: (lesson, the exercise left unwritten, the exercises that call it)
    "lena": ("02_lookup", "similarity_scores", ("soft_lookup", "hard_lookup")),
    "max": ("05_decoder", "feed_forward", ("decoder_block", "gpt")),
    "nora": ("05_decoder", "layer_norm", ("decoder_block", "gpt")),
}
TWO_WRONG = "olga"
"""Gets LayerNorm wrong and Block wrong too: Block loses its points though its check was deferred, the GPT
(judged with the grader's Block and LayerNorm) keeps its, and nothing is flagged as tampering."""
DELETED_ANSWER = "nora"
"""Deletes the answer cell instead of leaving it unwritten: intake puts back the released, empty one."""


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    submissions = tmp_path_factory.mktemp("submitted")
    for student, (lesson, unwritten, _) in UNWRITTEN.items():
        answers = solution_answers(lesson)
        del answers[get_exercise(unwritten).answer_cell_id]
        path = make_submission(submissions, student, lesson, answers)
        if student == DELETED_ANSWER:
            notebook = nbformat.read(path, as_version=4)
            notebook.cells = [
                cell
                for cell in notebook.cells
                if cell.metadata.get("nbgrader", {}).get("grade_id") != get_exercise(unwritten).answer_cell_id
            ]
            nbformat.write(notebook, path)
    answers = solution_answers("05_decoder")
    answers["answer_layer_norm"] = answers["answer_layer_norm"].replace(
        "((x - mean) ** 2).mean(dim=-1, keepdim=True)", "x.var(dim=-1, keepdim=True)"
    )
    answers["answer_decoder_block"] = answers["answer_decoder_block"].replace(", causal=True)", ")")
    make_submission(submissions, TWO_WRONG, "05_decoder", answers)
    out = tmp_path_factory.mktemp("out")
    graded = run_grader("autograde", submissions, "--out", out)
    assert graded.returncode == 0, graded.stdout + graded.stderr
    entries = json.loads((out / "results.json").read_text())
    return {entry["student_id"]: entry for entry in entries}


@pytest.mark.parametrize("student", sorted(UNWRITTEN))
def test_only_the_unwritten_exercise_loses_its_points(results, student):
    lesson, unwritten, _ = UNWRITTEN[student]
    entry = results[student]
    lost = [e["exercise_id"] for e in entry["exercises"] if e["score"] < e["max_score"]]
    assert lost == [unwritten], entry["exercises"]
    assert entry["score"] == sum(e.points for e in lesson_exercises(lesson)) - get_exercise(unwritten).points
    assert not entry["flags"], entry["flags"]


@pytest.mark.parametrize("student", sorted(UNWRITTEN))
def test_the_messages_say_what_is_unwritten(results, student):
    _, unwritten, callers = UNWRITTEN[student]
    messages = {e["exercise_id"]: e["message"] for e in results[student]["exercises"]}
    target = get_exercise(unwritten).target
    assert f"`{target}` is not written yet" in messages[unwritten]
    for caller in callers:
        assert messages[caller].startswith(f"✔ {get_exercise(caller).target}:"), messages[caller]
        assert f"judged with a correct `{target}` in place of yours" in messages[caller], messages[caller]
        assert f"`{get_exercise(caller).target}` is not written yet" not in messages[caller]


def test_a_wrong_answer_with_a_wrong_helper_loses_its_own_points_only(results):
    entry = results[TWO_WRONG]
    lost = [e["exercise_id"] for e in entry["exercises"] if e["score"] < e["max_score"]]
    assert lost == ["layer_norm", "decoder_block"], entry["exercises"]
    assert not entry["flags"], entry["flags"]
    block = next(e for e in entry["exercises"] if e["exercise_id"] == "decoder_block")
    assert block["mistake"] == "not_causal", block
