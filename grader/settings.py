"""The grader's settings, each field with its help: the command line is generated from these fields, and
every other part of the grader (sandbox, nbgrader's config, the batch) reads the dataclasses themselves."""

from __future__ import annotations

import argparse
import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar


def setting(default: Any, help: str) -> Any:
    """A field that the command line offers as an option, ``--field-name``, with ``help``."""
    return field(default=default, metadata={"help": help})


@dataclass(frozen=True)
class Limits:
    """What one submission may use while it is graded."""

    cpu_seconds: int = setting(600, "CPU seconds one submission's kernel may use")
    memory_mb: int = setting(6144, "address space of one kernel, in MiB")
    processes: int = setting(256, "processes and threads a sandbox may add to those already running")
    file_size_mb: int = setting(512, "largest file learner code may write, in MiB")
    cell_seconds: int = setting(180, "wall-clock limit of one notebook cell, in seconds")
    job_seconds: int = setting(300, "wall-clock limit of one verification process, in seconds")
    notebook_seconds: int = setting(
        1200, "wall-clock limit of all the cells of one notebook together, in seconds"
    )

    @property
    def grading_deadline(self) -> int:
        """Seconds after which grading one notebook is abandoned: its cells' limit, one verification
        process, and two minutes for starting kernels and writing results."""
        return self.notebook_seconds + self.job_seconds + 120


@dataclass(frozen=True)
class GradingSettings:
    """How a batch grades each of its submissions: made by ``autograde`` from its options and the machine."""

    limits: Limits = field(default_factory=Limits)
    hidden_folders: list[Path] = field(default_factory=list)
    """Folders learner code must not see: the submissions and the grading output (with the gradebook)."""
    kernel_threads: int | None = None
    """Threads a kernel's numerical libraries may use (None: their default, every core). Kernels graded side
    by side each get their share, instead of all spinning on every core."""
    feedback_by_worker: bool = True
    """Whether the worker makes the feedback page. On one machine the writer makes it instead, from the
    class gradebook, with the CPU time the workers leave idle while their kernels start and stop; on a
    cluster each worker makes its own, so that the one writer does not hold many workers back."""


Settings = TypeVar("Settings")


def add_options(parser: argparse.ArgumentParser, settings: type) -> None:
    """One option per field of ``settings`` made with ``setting``, its default shown in its help."""
    for option in dataclasses.fields(settings):
        if "help" in option.metadata:
            parser.add_argument(
                "--" + option.name.replace("_", "-"),
                type=type(option.default),
                default=option.default,
                help=option.metadata["help"] + " (%(default)s)",
            )


def from_options(options: argparse.Namespace, settings: type[Settings]) -> Settings:
    """``settings`` with the values ``add_options``'s options were given."""
    return settings(
        **{
            option.name: getattr(options, option.name)
            for option in dataclasses.fields(settings)
            if "help" in option.metadata
        }
    )
