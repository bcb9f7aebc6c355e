"""The grader inside nbgrader's own autograde: what formgrader's Autograde button and a plain
``nbgrader autograde`` run, one notebook at a time, when the course's ``nbgrader_config.py`` says

    from grader.grading.preprocessor import use_verified_execute
    use_verified_execute(get_config())

``VerifiedExecute`` is nbgrader's Execute step made to grade as ``python -m grader autograde`` does. The
notebook runs in the sandboxed kernel (``GuardedExecute``), which records each exercise's outputs on fresh
hidden cases; then, in nbgrader's process, the grading steps ``verify_outputs``,
``verify_with_grader_helpers`` and ``apply_policy`` judge them, and a test cell that nbgrader would pass
but the verification fails gets an error output that says why (``settle``). nbgrader's own SaveAutoGrades
then scores it 0 and its feedback shows the reason; a flag for possible tampering is in that output too,
and in the notebook's metadata (``attention_grader``, ``flags``).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import asdict
from pathlib import Path

import nbformat
import numpy as np
from nbformat.v4 import new_output
from nbgrader.api import Gradebook
from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets.config import Config

from course_lib.registry import lesson_exercises
from grader.course.config import VERIFIED_EXECUTE, KernelSandbox, nbgrader_settings
from grader.course.execute import GuardedExecute
from grader.course.folder import record_findings
from grader.course.kernel import SandboxedKernelManager
from grader.grading.context import Folders, Grading, kernel_sandbox
from grader.grading.scores import exercise_messages
from grader.grading.steps import answers_of, apply_policy, settle, verify_outputs, verify_with_grader_helpers
from grader.grading.verification import LessonCases
from grader.results import Findings, Submission, SubmissionResult
from grader.settings import GradingSettings

FAILED_VERIFICATION = "VerificationFailed"
FINDINGS = "findings"
"""Where ``VerifiedExecute`` leaves its findings in the notebook's metadata for ``SaveFindings``."""
"""The error name of the output that takes a test cell's points away."""


def use_verified_execute(c: Config) -> None:
    """The course's nbgrader settings, onto an instructor's config ``c``, with ``VerifiedExecute``."""
    nbgrader_settings(c, execute=VERIFIED_EXECUTE)


class VerifiedExecute(GuardedExecute):
    """nbgrader's Execute, in the sandbox, with the grader's verification of the recorded outputs."""

    def preprocess(self, nb, resources=None, km=None):
        scratch = Path(tempfile.mkdtemp(prefix="attention-verified-"))
        try:
            grading = self._grading(nb, resources, scratch)
            self.recording_folder = str(grading.folders.recording)
            self.kept_recordings_folder = str(grading.folders.recorded)
            working_folder = Path(resources.get("metadata", {}).get("path") or os.getcwd())
            self.kernel = kernel_sandbox(grading.folders, working_folder, grading.settings)
            nb, resources = super().preprocess(nb, resources, km)
            grading.cells_that_deleted_recordings = self.cells_that_deleted_recordings
            _verify_in_notebook(nb, grading)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
        return nb, resources

    def create_kernel_manager(self):
        kernel: KernelSandbox = self.kernel
        name = self.kernel_name or self.nb.metadata.get("kernelspec", {}).get("name")
        self.km = SandboxedKernelManager(
            config=self.config,
            sandbox=kernel.sandbox,
            working_folder=str(kernel.working_folder),
            **({"kernel_name": name} if name else {}),
        )
        return self.km

    def _grading(self, nb, resources, scratch: Path) -> Grading:
        """What the grading steps need, for the notebook nbgrader is about to run."""
        lesson, student = resources["nbgrader"]["assignment"], resources["nbgrader"]["student"]
        submitted = scratch / "submitted.ipynb"
        nbformat.write(nb, submitted)
        folders = Folders.beside(scratch / "course")
        lesson_cases = LessonCases(lesson, np.random.default_rng())
        lesson_cases.write_inputs(folders.inputs)
        exercises = lesson_exercises(lesson)
        # Learner code sees neither the course (the gradebook, everyone's notebooks) nor this scratch.
        settings = GradingSettings(hidden_folders=[_course_root(self.config), scratch])
        grading = Grading(
            Submission(student, lesson, submitted),
            lesson_cases,
            settings,
            folders,
            None,
            exercises,
            SubmissionResult(student, lesson),
        )
        grading.answers = answers_of(submitted, exercises)
        return grading


def _course_root(config: Config) -> Path:
    root = config.CourseDirectory.get("root") if "CourseDirectory" in config else None
    return Path(root or os.getcwd()).resolve()


def _verify_in_notebook(nb, grading: Grading) -> None:
    """Verify every exercise; a test cell nbgrader would pass that verification fails gets an error."""
    cells = {cell.metadata.get("nbgrader", {}).get("grade_id"): cell for cell in nb.cells}
    grading.scores = {
        exercise.test_cell_id: 0.0 if _has_error(cells.get(exercise.test_cell_id)) else float(exercise.points)
        for exercise in grading.exercises
    }
    for step in (verify_outputs, verify_with_grader_helpers, apply_policy):
        step(grading)
    grading.messages = exercise_messages(nb)
    flags, comments = [], {}
    for exercise in grading.exercises:
        settled = settle(grading, exercise)
        comments[exercise.answer_cell_id] = None if settled.score >= exercise.points else settled.message
        if not settled.overridden:
            continue
        text = settled.message + (f"\n[flagged for the instructor: {settled.flag}]" if settled.flag else "")
        cells[exercise.test_cell_id].outputs.append(
            new_output(
                "error", ename=FAILED_VERIFICATION, evalue=text, traceback=[f"{FAILED_VERIFICATION}: {text}"]
            )
        )
        flags += [settled.flag] if settled.flag else []
    found = nb.metadata.setdefault("attention_grader", {})
    found[FINDINGS] = asdict(Findings(comments, flagged=bool(flags)))
    if flags:
        found["flags"] = flags


class SaveFindings(NbGraderPreprocessor):
    """After nbgrader's SaveAutoGrades: what ``VerifiedExecute`` found, into the gradebook, where formgrader
    shows it (each diagnosis as its answer cell's comment, the notebook flagged), as the grader's own
    autograde records it."""

    def preprocess(self, nb, resources):
        found = nb.metadata.get("attention_grader", {}).get(FINDINGS)
        if found is not None:
            nbgrader = resources["nbgrader"]
            with Gradebook(nbgrader["db_url"]) as gradebook:
                record_findings(gradebook, nbgrader["assignment"], nbgrader["student"], Findings(**found))
                gradebook.db.commit()
        return nb, resources


def _has_error(cell) -> bool:
    return cell is None or any(output.output_type == "error" for output in cell.get("outputs", []))
