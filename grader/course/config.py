"""nbgrader's configuration for one course folder: the course's ``nbgrader_config.py``, plus, when the
notebooks are learners', the sandbox their kernels run in. The one place the grader's settings become
traitlets config."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from traitlets.config import Config, PyFileConfigLoader

from grader.paths import NBGRADER_CONFIG
from grader.sandbox import Sandbox

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
