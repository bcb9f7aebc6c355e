"""Test cases with their answers: the registry's inputs, the reference's outputs, the mistakes' outputs."""

from __future__ import annotations

import numpy as np

from course_lib.checking import CheckCase, as_output, outputs_match
from course_lib.registry import Exercise
from grader.mistakes import mistakes_for
from grader.reference import reference_for


def build_cases(exercise: Exercise, rng: np.random.Generator) -> list[CheckCase]:
    if exercise.judge is not None:
        return []  # judged by a property of the learner's object, not by comparing outputs
    reference = reference_for(exercise)
    cases = []
    for number, inputs in enumerate(exercise.make_cases(rng), start=1):
        expected = as_output(exercise.run(reference, inputs))
        mistake_outputs = {}
        for mistake_id, wrong in mistakes_for(exercise.id).items():
            try:
                with np.errstate(all="ignore"):  # some mistakes overflow or divide by 0: that is their point
                    output = as_output(exercise.run(wrong, inputs))
            except Exception:  # a mistake that cannot even run on this case tells nothing here
                continue
            if not outputs_match(output, expected, exercise):
                mistake_outputs[mistake_id] = output
        cases.append(CheckCase(f"case {number}", inputs, expected, mistake_outputs))
    return cases
