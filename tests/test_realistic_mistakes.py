"""The checks on whole answers written as learners write them: right ones pass, wrong ones are named."""

import numpy as np
import pytest

from course_lib.check import run_check
from course_lib.registry import get_exercise
from tests.learner_notebook import learner_namespace
from tests.realistic_answers import ANSWERS, PASS, Answer


def verdict_on(answer: Answer):
    exercise = get_exercise(answer.exercise_id)
    namespace = learner_namespace(answer.lesson, {exercise.answer_cell_id: answer.source})
    with np.errstate(all="ignore"):
        return run_check(answer.exercise_id, namespace[exercise.target])


@pytest.mark.parametrize("answer", [a for a in ANSWERS if a.expected == PASS], ids=lambda a: a.label)
def test_a_right_answer_written_another_way_passes(answer):
    verdict = verdict_on(answer)
    assert verdict.passed, verdict.message


@pytest.mark.parametrize("answer", [a for a in ANSWERS if a.expected != PASS], ids=lambda a: a.label)
def test_a_realistic_wrong_answer_is_caught_and_named(answer):
    verdict = verdict_on(answer)
    assert not verdict.passed and not verdict.deferred, verdict.message
    assert verdict.mistake_id == answer.expected, verdict.message
    assert get_exercise(answer.exercise_id).mistake(answer.expected).diagnosis in verdict.message
