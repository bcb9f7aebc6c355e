"""Test cases with their answers: the registry's inputs, the reference's outputs, the mistakes' outputs."""

from __future__ import annotations

import numpy as np

from course_lib.checking import CheckCase, as_output, mistake_of, outputs_match
from course_lib.registry import Exercise
from grader.mistakes import mistake_variants
from grader.reference import reference_for


def build_cases(exercise: Exercise, rng: np.random.Generator) -> list[CheckCase]:
    if exercise.judge is not None:
        return []  # judged by a property of the learner's object, not by comparing outputs
    reference = reference_for(exercise)
    cases = []
    for number, inputs in enumerate(exercise.make_cases(rng), start=1):
        expected = as_output(exercise.run(reference, inputs))
        mistake_outputs = {}
        for key, wrong in mistake_variants(exercise.id).items():
            if exercise.mistake(mistake_of(key)).random_output:
                continue  # its output is random: recognised by running the answer twice, not by an output
            output = _output_of(exercise, wrong, inputs)
            if output is not None and not outputs_match(output, expected, exercise):
                mistake_outputs[key] = output
        cases.append(CheckCase(f"case {number}", inputs, expected, mistake_outputs))
    return cases


def _output_of(exercise: Exercise, wrong, inputs):
    try:
        with np.errstate(all="ignore"):  # some mistakes overflow or divide by 0: that is their point
            return as_output(exercise.run(wrong, inputs))
    except Exception:  # a mistake that cannot even run on this case tells nothing here
        return None
