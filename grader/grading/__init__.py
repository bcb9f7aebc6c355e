"""One submission, graded: a list of named steps over one ``Grading`` (``context``), the way nbgrader
composes its preprocessors.

1. ``take_in``: intake repairs the notebook's shape and notes what it found (``intake``).
2. ``run_nbgrader``: nbgrader's autograde runs it in the sandboxed kernel (``grader.course``).
3. ``read_scores``: the gradebook's cell scores and each test cell's message (``scores``).
4. ``verify_outputs``: the recorded outputs judged outside the kernel, on fresh hidden cases
   (``verification``).
5. ``verify_with_grader_helpers``: an exercise whose helper failed, recorded again with the grader's
   helper (``correct_helpers``).
6. ``apply_policy``: an answer that calls the function it is to write fails.
7. ``settle_scores``: nbgrader's points kept only where verification agrees; flags for tampering.
8. ``write_up``: the cell grades, autograded notebook and feedback page, as data for the batch's writer.

The steps are in ``steps``; each may read and change the ``Grading`` and the submission's own scratch
folders, nothing else.
"""

from __future__ import annotations

from pathlib import Path

from grader.grading.context import Grading
from grader.grading.steps import (
    apply_policy,
    read_scores,
    run_nbgrader,
    settle_scores,
    take_in,
    verify_outputs,
    verify_with_grader_helpers,
    write_up,
)
from grader.grading.verification import LessonCases
from grader.results import GradedSubmission, Submission
from grader.settings import GradingSettings

STEPS = (
    take_in,
    run_nbgrader,
    read_scores,
    verify_outputs,
    verify_with_grader_helpers,
    apply_policy,
    settle_scores,
    write_up,
)


def grade_one(
    course_root: Path, submission: Submission, lesson_cases: LessonCases, settings: GradingSettings
) -> GradedSubmission:
    """Grade one submission in the nbgrader course at ``course_root`` (a copy of the batch's template)."""
    grading = Grading.start(course_root, submission, lesson_cases, settings)
    for step in STEPS:
        step(grading)
        if grading.finished:
            break
    return grading.graded
