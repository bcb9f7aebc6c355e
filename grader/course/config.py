"""nbgrader's configuration for one course folder: the course's ``nbgrader_config.py``, plus, when the
notebooks are learners', the sandbox their kernels run in. The one place the grader's settings become
traitlets config."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor
from nbgrader.converters import Autograde
from nbgrader.preprocessors import ClearHiddenTests, Execute, GetGrades, SaveAutoGrades
from traitlets.config import Config, PyFileConfigLoader

from grader.paths import NBGRADER_CONFIG
from grader.sandbox import Sandbox
from grader.settings import Limits

GRADEBOOK = "gradebook.db"


@dataclass(frozen=True)
class KernelSandbox:
    """Where a submission's kernel runs and records its outputs."""

    sandbox: Sandbox
    working_folder: Path
    """The folder the notebook runs in, one of the sandbox's writable folders."""
    recording_folder: Path
    """The folder the kernel records outputs in for the grader (``course_lib.verify``)."""
    kept_recordings_folder: Path
    """Where each recording is moved after its cell, out of learner code's reach."""


GUARDED_EXECUTE = "grader.course.execute.GuardedExecute"
VERIFIED_EXECUTE = "grader.grading.preprocessor.VerifiedExecute"
SAVE_FINDINGS = "grader.grading.preprocessor.SaveFindings"


def nbgrader_settings(c: Config, execute: str = GUARDED_EXECUTE) -> None:
    """The course's settings of nbgrader, onto the config ``c``, with ``execute`` as nbgrader's Execute
    step: GuardedExecute where the grader verifies afterwards, VerifiedExecute where nbgrader's own
    autograde (formgrader's button) is to grade as the grader does."""
    c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
    # The grader's own cell limit, so that nbgrader run on its own stops a cell where the grader would.
    c.Execute.timeout = Limits().cell_seconds
    # The outputs are all in by then, and a kernel that is asked to quit takes a tenth of a second to do so.
    c.Execute.shutdown_kernel = "immediate"
    # nbgrader's feedback page, its templates compiled once rather than for every page.
    c.GenerateFeedback.exporter_class = "grader.course.feedback.FeedbackExporter"
    # nbgrader's feedback shows each test cell whole, its hidden part included (nbgrader issue #917): cleared
    # here as in the released notebook, so a page never shows what the learner was not meant to see.
    c.GenerateFeedback.preprocessors = [GetGrades, ClearHiddenTests, CSSHTMLHeaderPreprocessor]
    # The guarded Execute caps each cell's output while it arrives and says so; nbgrader's LimitOutput would
    # then cut it again at 1,000 lines and drop every output after them, that note included.
    c.LimitOutput.max_lines = -1
    # nbgrader's autograde steps with ``execute`` for its Execute: a kernel that dies or hangs then costs
    # only the points after it, instead of the whole notebook.
    steps = []
    for step in Autograde.class_traits()["autograde_preprocessors"].default():
        steps.append(execute if step is Execute else step)
        # VerifiedExecute's findings go into the gradebook once SaveAutoGrades has made its rows.
        if step is SaveAutoGrades and execute == VERIFIED_EXECUTE:
            steps.append(SAVE_FINDINGS)
    c.Autograde.autograde_preprocessors = steps


def course_config(root: Path, kernel: KernelSandbox | None = None) -> Config:
    """The course's nbgrader config for the folder ``root``; with ``kernel``, notebooks run in its sandbox
    under its limits (without, in an ordinary kernel: the instructor's own solution notebooks)."""
    config = PyFileConfigLoader(NBGRADER_CONFIG.name, path=str(NBGRADER_CONFIG.parent)).load_config()
    config.CourseDirectory.root = str(root)
    config.CourseDirectory.db_url = f"sqlite:///{root / GRADEBOOK}"
    if kernel is not None:
        limits = kernel.sandbox.limits
        config.Execute.timeout = limits.cell_seconds
        config.GuardedExecute.notebook_timeout = limits.notebook_seconds
        config.GuardedExecute.recording_folder = str(kernel.recording_folder)
        config.GuardedExecute.kept_recordings_folder = str(kernel.kept_recordings_folder)
        config.Execute.kernel_manager_class = "grader.course.kernel.SandboxedKernelManager"
        config.SandboxedKernelManager.sandbox = kernel.sandbox
        config.SandboxedKernelManager.working_folder = str(kernel.working_folder)
    return config
