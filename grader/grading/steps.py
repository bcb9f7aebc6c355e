"""The steps of grading one submission, in the order ``grader.grading.STEPS`` runs them. Each reads and
writes only the ``Grading`` it is given (and the submission's scratch folders); a step that finds nothing
left to grade calls ``grading.stop`` with the reason, and the steps after it do not run."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import nbformat

from course_lib.check import policy_verdict
from course_lib.registry import Exercise
from grader.course import NbgraderError
from grader.course.feedback import feedback_page
from grader.grading.context import Grading
from grader.grading.correct_helpers import helpers_of, verify_with_correct_helpers
from grader.grading.intake import prepare
from grader.grading.scores import cells_that_deleted_recordings, exercise_messages
from grader.grading.verification import Verification, recorded_outputs_of
from grader.reference import answer_sources
from grader.results import ExerciseResult, Findings
from grader.sandbox import Sandbox


def take_in(grading: Grading) -> None:
    """Intake (``grader.grading.intake``): nbgrader grades the notebook as repaired there, and so does every
    step after this one; what was repaired becomes the result's notes."""
    intake = prepare(grading.submission.notebook, grading.course.released(grading.lesson))
    grading.result.notes = intake.notes
    if intake.unreadable is not None:
        grading.course.submit(grading.student, grading.lesson, grading.submission.notebook)
        grading.stop(f"not graded: {intake.unreadable}")
        return
    submitted = grading.course.submit(grading.student, grading.lesson, intake.notebook)
    grading.submission = replace(grading.submission, notebook=submitted)
    grading.answers = answers_of(submitted, grading.exercises)


def answers_of(notebook: Path, exercises: list[Exercise]) -> dict[str, str]:
    """Each exercise's answer cell in ``notebook``, by exercise id (those it has)."""
    sources = answer_sources(notebook)
    return {e.id: sources[e.answer_cell_id] for e in exercises if e.answer_cell_id in sources}


def run_nbgrader(grading: Grading) -> None:
    """nbgrader's autograde, its kernel in the sandbox: the notebook runs, its test cells score points."""
    try:
        grading.autograded = grading.course.autograde(grading.lesson, grading.student)
    except NbgraderError as error:
        grading.stop(f"nbgrader could not grade this notebook: {error.last_line}")


def read_scores(grading: Grading) -> None:
    """Each graded cell's score from the gradebook, and each test cell's message from the notebook."""
    grading.scores = {
        grade_id: (manual if manual is not None else auto) or 0.0
        for grade_id, (auto, manual) in grading.course.cell_grades(grading.lesson, grading.student).items()
    }
    if grading.autograded.exists():
        autograded = nbformat.read(grading.autograded, as_version=4)
        grading.messages = exercise_messages(autograded)
        grading.cells_that_deleted_recordings = cells_that_deleted_recordings(autograded)


def verify_outputs(grading: Grading) -> None:
    """Every exercise's recorded outputs judged here, outside learner code's reach, on the visible and the
    hidden cases (``grader.grading.verification``)."""
    grading.verifications = {
        exercise.id: grading.lesson_cases.verify(exercise, grading.folders.recorded)
        for exercise in grading.exercises
    }


def verify_with_grader_helpers(grading: Grading) -> None:
    """An exercise that failed while an exercise it calls failed too is verified again with the grader's
    version of that helper, so that one mistake costs one exercise; but only where the notebook's own test
    passed: elsewhere the exercise scores 0 either way, and its diagnosis comes from that test's message,
    not from outputs spoilt by the wrong helper."""
    verifications = grading.verifications
    failed = {exercise_id for exercise_id, verification in verifications.items() if not verification.passed}
    dependents = [
        exercise.id for exercise in grading.exercises if exercise.id in failed and set(exercise.uses) & failed
    ]
    for exercise_id in dependents:
        if not _passed_in_notebook(grading, exercise_id):
            verifications[exercise_id] = replace(verifications[exercise_id], mistake_id=None)
    dependents = [exercise_id for exercise_id in dependents if _passed_in_notebook(grading, exercise_id)]
    if not dependents:
        return
    folder = grading.folders.sandbox / "helpers"
    sandbox = Sandbox(
        writable=[folder], hidden=grading.settings.hidden_folders, limits=grading.settings.limits
    )
    verifications.update(
        verify_with_correct_helpers(
            grading.lesson, dependents, grading.submission.notebook, grading.lesson_cases, sandbox, folder
        )
    )
    # Named: the helpers that are still wrong, not those that only failed through them.
    still_failing = {name for name, verified in verifications.items() if not verified.passed}
    for exercise_id in dependents:
        replaced = helpers_of([exercise_id]) & still_failing
        verifications[exercise_id] = replace(
            verifications[exercise_id],
            correct_helpers=tuple(
                exercise.target for exercise in grading.exercises if exercise.id in replaced
            ),
        )


def apply_policy(grading: Grading) -> None:
    """An answer that calls what its exercise forbids (the library function it is to write) fails, whatever
    its outputs (``course_lib.policy``)."""
    for exercise in grading.exercises:
        policy = policy_verdict(exercise, grading.answers.get(exercise.id, ""))
        if policy is not None:
            grading.verifications[exercise.id] = Verification(
                exercise.id, False, policy.message, True, policy.mistake_id
            )


@dataclass(frozen=True)
class Settled:
    """One exercise's outcome once nbgrader and the verification are both in."""

    score: float
    message: str
    overridden: bool
    """nbgrader passed the test cell, the verification did not: its score is to be taken away."""
    flag: str | None = None
    """Possible tampering, in words for the instructor."""


def settle(grading: Grading, exercise: Exercise) -> Settled:
    """nbgrader's points stand only where verification passed too; a notebook whose own check passed what
    the visible cases fail here is flagged, unless learner code deleted the recordings itself."""
    nbgrader_score = float(grading.scores.get(exercise.test_cell_id, 0.0))
    verification = grading.verifications[exercise.id]
    message = grading.messages.get(
        exercise.test_cell_id, "this exercise's test cell is missing from the notebook"
    )
    if verification.passed and verification.correct_helpers:
        # The notebook's own check said it could not judge; the grader could, with correct helpers.
        listed = " and ".join(f"`{name}`" for name in verification.correct_helpers)
        message = f"{verification.message} (judged with a correct {listed} in place of yours)"
    if verification.passed or nbgrader_score == 0:
        return Settled(nbgrader_score if verification.passed else 0.0, message, overridden=False)
    deleted = grading.cells_that_deleted_recordings
    if deleted and not recorded_outputs_of(grading.folders.recorded, exercise.id):
        return Settled(0.0, recordings_deleted_message(deleted), overridden=True)
    flag = None
    if not verification.visible_passed:
        flag = (
            f"{exercise.id}: the notebook's own test passed, but its outputs fail the visible cases "
            "when checked outside the notebook (possible tampering)"
        )
    return Settled(0.0, verification.message, overridden=True, flag=flag)


def settle_scores(grading: Grading) -> None:
    """Each exercise's points and message (``settle``), the gradebook's score overridden where
    verification took nbgrader's points away."""
    result = grading.result
    for exercise in grading.exercises:
        verification = grading.verifications[exercise.id]
        settled = settle(grading, exercise)
        if settled.overridden:
            grading.course.override_score(grading.lesson, grading.student, exercise.test_cell_id, 0.0)
        if settled.flag:
            result.flags.append(settled.flag)
        score, message = settled.score, settled.message
        # The mistake the learner read about: the message's, else the one found on the hidden cases.
        mistake = None if score else exercise.mistake_named_in(message) or verification.mistake_id
        result.exercises.append(
            ExerciseResult(
                exercise.id,
                score,
                float(exercise.points),
                message,
                mistake,
                failed_case_kinds=list(verification.failed_case_kinds),
                cases_passed=verification.cases_passed,
                cases=verification.cases,
                output_digest=None if score or mistake else verification.hidden_output_digest,
            )
        )
    result.score = sum(exercise.score for exercise in result.exercises)
    # Beside each answer in the feedback page too, whichever process makes it.
    grading.course.record_findings(grading.lesson, grading.student, Findings.of(result))


def write_up(grading: Grading) -> None:
    """What the batch's writer stores: the gradebook's cell grades, the autograded notebook, the answers
    and, where the worker makes it, the feedback page."""
    graded = grading.graded
    graded.answers = grading.answers
    graded.cell_grades = grading.course.cell_grades(grading.lesson, grading.student)
    if grading.autograded.exists():
        graded.autograded_notebook = grading.autograded.read_text(encoding="utf-8")
    if grading.settings.feedback_by_worker:
        graded.feedback_html = feedback_page(grading.course, grading.result)


def _passed_in_notebook(grading: Grading, exercise_id: str) -> bool:
    exercise = next(exercise for exercise in grading.exercises if exercise.id == exercise_id)
    return grading.scores.get(exercise.test_cell_id, 0.0) > 0


def recordings_deleted_message(cells: list[int]) -> str:
    listed = ", ".join(map(str, cells))
    return (
        f"the grader found none of this exercise's results: your notebook deleted the files the grader keeps "
        f"in /tmp (while cell(s) {listed} ran, for example with `rm -rf /tmp/*`), these among them. Leave "
        "/tmp alone and this exercise is graded as usual"
    )
