"""Every registered exercise is sound: the reference passes, stubs fail, each known mistake is named."""

import numpy as np
import pytest

from course_lib import check
from course_lib.checking import ExerciseFailed, evaluate, mistake_of
from course_lib.registry import all_exercises, get_exercise
from grader.cases import build_cases
from grader.commands.validate import exercise_problems, uncovered_catalogue
from grader.consistency import lesson_problems
from grader.mistakes import mistake_variants
from grader.paths import lessons
from grader.reference import reference_for

EXERCISES = all_exercises()
COMPARED = [exercise for exercise in EXERCISES if exercise.judge is None]
"""Exercises judged by comparing outputs with a reference (not by a property, like the trained model)."""
MISTAKES = [(exercise.id, key) for exercise in EXERCISES for key in mistake_variants(exercise.id)]
"""Every implementation of every known mistake: ``mistake_id``, or ``mistake_id/2`` for its second."""


@pytest.mark.parametrize("lesson", lessons())
def test_solution_notebook_matches_registry(lesson):
    assert lesson_problems(lesson) == []


@pytest.mark.parametrize("exercise", EXERCISES, ids=lambda exercise: exercise.id)
def test_exercise_is_sound(exercise):
    assert exercise_problems(exercise) == []


@pytest.mark.parametrize("exercise", COMPARED, ids=lambda exercise: exercise.id)
def test_check_prints_a_pass_for_the_reference(exercise, capsys):
    assert check(exercise.id, reference_for(exercise)) is True
    assert "all" in capsys.readouterr().out


@pytest.mark.parametrize(("exercise_id", "key"), MISTAKES)
def test_check_names_each_known_mistake(exercise_id, key):
    exercise = get_exercise(exercise_id)
    with np.errstate(all="ignore"), pytest.raises(ExerciseFailed) as failure:
        check(exercise_id, mistake_variants(exercise_id)[key])
    assert exercise.mistake(mistake_of(key)).diagnosis in str(failure.value)


@pytest.mark.parametrize(("exercise_id", "key"), MISTAKES)
def test_hidden_cases_fail_each_known_mistake(exercise_id, key):
    exercise = get_exercise(exercise_id)
    with np.errstate(all="ignore"):
        verdict = evaluate(
            exercise, mistake_variants(exercise_id)[key], build_cases(exercise, np.random.default_rng(7))
        )
    assert not verdict.passed


@pytest.mark.parametrize("exercise", EXERCISES, ids=lambda exercise: exercise.id)
def test_the_catalogue_entries_an_exercise_lists_are_each_named_by_a_mistake(exercise):
    assert uncovered_catalogue(exercise) == []
    assert all(mistake.kind in (None, *exercise.catalogue) for mistake in exercise.mistakes), (
        "a mistake of a catalogue kind the exercise does not list"
    )


def test_every_compared_exercise_declares_mistakes():
    assert all(exercise.mistakes for exercise in COMPARED)


def test_unknown_exercise_lists_the_known_ones():
    with pytest.raises(KeyError, match="gaussian_weights"):
        get_exercise("gausian_weights")


def test_check_points_to_a_broken_helper_the_answer_calls(capsys):
    from grader.reference import load_reference

    namespace = dict(load_reference("02_lookup"))
    exec(
        "def soft_lookup(queries, keys, values, temperature):\n"
        "    return softmax(similarity_scores(queries, keys) / temperature, axis=-1) @ values\n",
        namespace,
    )
    namespace["softmax"] = mistake_variants("softmax")["no_max_subtraction"]
    with np.errstate(all="ignore"):
        assert check("soft_lookup", namespace["soft_lookup"]) is False
        assert "calls your `softmax`, which fails its own check" in capsys.readouterr().out
    namespace["softmax"] = load_reference("02_lookup")["softmax"]
    assert check("soft_lookup", namespace["soft_lookup"])


def test_a_wrong_answer_with_correct_helpers_is_not_deferred():
    from grader.reference import load_reference

    namespace = dict(load_reference("02_lookup"))
    exec(
        "def soft_lookup(queries, keys, values, temperature):\n"
        "    return softmax(similarity_scores(queries, keys) * temperature, axis=-1) @ values\n",
        namespace,
    )
    with pytest.raises(ExerciseFailed, match="multiplied the scores by the temperature"):
        check("soft_lookup", namespace["soft_lookup"])
