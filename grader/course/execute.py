"""nbgrader's Execute, made to survive learner code that kills, hangs or floods its kernel.

A fault costs only the points after it. When the kernel dies in a cell, a cell outlives its wall-clock
limit and ignores the interrupt (the kernel is then shut down), or the notebook's cells together use up
their wall-clock budget (``notebook_timeout``), execution stops there instead of failing the whole
notebook: that cell says in words what happened, every graded cell after it gets an error saying
it was not run (nbgrader scores a test cell without an error as passed), and the preprocessors after this
one save the points of the cells before. Output is capped while it arrives, because nbclient keeps every
output message in the grader's memory and nbgrader's LimitOutput trims only afterwards.
"""

from __future__ import annotations

import math
import os
import signal
import time
from pathlib import Path

from jupyter_core.utils import run_sync
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbformat.v4 import new_output
from nbgrader.preprocessors import Execute
from nbgrader.utils import is_grade
from traitlets import Integer, Unicode, default

MAX_OUTPUT_CHARS = 2_000_000
"""Characters of output kept per cell (stream text and display data; errors are always kept)."""
MAX_OUTPUTS = 2_000
"""Outputs kept per cell: a loop flushing one character at a time makes many tiny ones."""
TRUNCATED_NOTE = (
    f"\n[output truncated by the grader: a cell keeps at most {MAX_OUTPUT_CHARS:,} characters "
    f"in {MAX_OUTPUTS:,} outputs]\n"
)


GARBLED_MESSAGE_ERRORS = ("Invalid Signature", "Duplicate Signature")
"""How jupyter_client's Session rejects a message it cannot authenticate: one the kernel sent half of."""


RECORDING_MARK = ".kept-by-the-grader"
"""A file the grader puts in the recording folder: gone after a cell, that cell deleted the folder's files."""
RECORDINGS_DELETED = "cells_that_deleted_recordings"
"""The autograded notebook's metadata key (under ``attention_grader``) listing those cells, from 1."""


class GuardedExecute(Execute):
    """nbgrader's Execute step that stops at a dead or stuck kernel and caps output while it arrives."""

    notebook_timeout = Integer(
        None,
        allow_none=True,
        help="Wall-clock seconds all the notebook's cells may take together (None: no limit). A cell still "
        "running when they are up is interrupted, and the cells after it are not run.",
    ).tag(config=True)

    recording_folder = Unicode(
        "",
        help="The folder the kernel records outputs in for the grader (course_lib.verify), which learner "
        "code can write, and so also empty.",
    ).tag(config=True)
    kept_recordings_folder = Unicode(
        "", help="Where each recording is moved after its cell, out of learner code's reach."
    ).tag(config=True)

    fault: str | None = None
    """What stopped this notebook, with ``{cell}`` where the cell it happened in is to be named."""

    def preprocess(self, nb, resources=None, km=None):
        self.fault = None
        self.budget_ends = None if self.notebook_timeout is None else time.monotonic() + self.notebook_timeout
        self.cells_that_deleted_recordings: list[int] = []
        self._mark_recording_folder()
        nb, resources = super().preprocess(nb, resources, km)
        if self.cells_that_deleted_recordings:
            grader_notes = nb.metadata.setdefault("attention_grader", {})
            grader_notes[RECORDINGS_DELETED] = self.cells_that_deleted_recordings
        return nb, resources

    def preprocess_cell(self, cell, resources, index):
        budget_left = self._budget_left()
        if self.fault is None and cell.cell_type == "code" and budget_left == 0:
            self.fault = f"the notebook ran past {self._budget_words()}"
        if self.fault is not None:
            if is_grade(cell) and cell.cell_type == "code":
                cell.outputs = [_error("NotRun", "not run: " + self.fault.format(cell="an earlier cell"))]
            return cell, resources
        self.output_chars, self.output_truncated = 0, False
        self.cell_limit, self.limit_words = self.timeout, f"its wall-clock limit of {self.timeout} s"
        if budget_left is not None and (self.timeout is None or budget_left < self.timeout):
            self.cell_limit, self.limit_words = budget_left, self._budget_words()
        self.error_on_timeout = {
            "ename": "CellTimeoutError",
            "evalue": f"this cell was still running after {self.limit_words} and was interrupted",
            "traceback": [],
        }
        try:
            return self._run_cell(cell, resources, index)
        finally:
            self._keep_recordings(index)

    def _run_cell(self, cell, resources, index):
        try:
            return super().preprocess_cell(cell, resources, index)
        except DeadKernelError:
            self.fault = f"the kernel died while running {{cell}} ({self._exit_status()})"
            ename = "DeadKernelError"
        except CellTimeoutError:
            run_sync(self.km.shutdown_kernel)(now=True)
            self.fault = (
                f"{{cell}} was still running after {self.limit_words} and did not stop when interrupted, so "
                "the kernel was shut down"
            )
            ename = "CellTimeoutError"
        except ValueError as error:
            if not str(error).startswith(GARBLED_MESSAGE_ERRORS):
                raise
            run_sync(self.km.shutdown_kernel)(now=True)
            self.fault = (
                "the kernel's messages to the grader arrived garbled while running {cell}, so the kernel was "
                "shut down (this happens when code starts so many processes or threads that the kernel, "
                "at the grader's process limit, cannot start its own)"
            )
            ename = "KernelMessagesGarbled"
        what_happened = self.fault.format(cell="this cell") + "; cells after it were not run"
        cell.outputs.append(_error(ename, what_happened))
        return cell, resources

    def _mark_recording_folder(self) -> None:
        if self.recording_folder:
            folder = Path(self.recording_folder)
            folder.mkdir(parents=True, exist_ok=True)
            (folder / RECORDING_MARK).write_text("the grader keeps its recordings here\n")

    def _keep_recordings(self, index: int) -> None:
        """Move what the cell recorded out of learner code's reach, and note the cell if it deleted the
        folder's contents (learner code clearing ``/tmp``): recordings missing after it are then the
        learner's own doing, not tampering."""
        if not self.recording_folder:
            return
        folder, kept = Path(self.recording_folder), Path(self.kept_recordings_folder)
        kept.mkdir(parents=True, exist_ok=True)
        if not (folder / RECORDING_MARK).is_file():
            self.cells_that_deleted_recordings.append(index + 1)
            self._mark_recording_folder()
        for path in folder.iterdir():
            # Only regular files: a symbolic link planted there could point at the grader's own files.
            if path.name != RECORDING_MARK and path.is_file() and not path.is_symlink():
                os.replace(path, kept / path.name)

    @default("timeout_func")
    def _limit_of_this_cell(self):
        return lambda cell: self.cell_limit

    def _budget_left(self) -> int | None:
        """Whole seconds left of the notebook's budget (at least 1 while any is left); None: no budget."""
        if self.budget_ends is None:
            return None
        left = self.budget_ends - time.monotonic()
        return max(1, math.ceil(left)) if left > 0 else 0

    def _budget_words(self) -> str:
        return f"the wall-clock limit of {self.notebook_timeout} s for all the notebook's cells together"

    def on_cell_executed(self, **kwargs):
        cell, reply = kwargs["cell"], kwargs["execute_reply"]["content"]
        if reply["status"] == "error" and reply["ename"] == self.error_on_timeout["ename"]:
            # Before the KeyboardInterrupt the kernel reports: the reason is what a learner should read first.
            errors = [i for i, output in enumerate(cell.outputs) if output.output_type == "error"]
            position = errors[0] if errors else len(cell.outputs)
            cell.outputs.insert(position, _error(reply["ename"], reply["evalue"]))
        super().on_cell_executed(**kwargs)

    def output(self, outs, msg, display_id, cell_index):
        if msg["msg_type"] == "error":
            return super().output(outs, msg, display_id, cell_index)
        if self.output_truncated:
            return None
        content = msg["content"]
        room = MAX_OUTPUT_CHARS - self.output_chars
        size = len(content.get("text", ""))
        size += sum(len(str(value)) for value in content.get("data", {}).values())
        self.output_chars += size
        if size <= room and len(outs) < MAX_OUTPUTS:
            return super().output(outs, msg, display_id, cell_index)
        # Past the cap: text keeps its beginning, as much as fits, so the learner sees what the code printed.
        kept = None
        if msg["msg_type"] == "stream" and room > 0 and len(outs) < MAX_OUTPUTS:
            beginning = {**msg, "content": {**content, "text": content["text"][:room]}}
            kept = super().output(outs, beginning, display_id, cell_index)
        outs.append(new_output("stream", name="stderr", text=TRUNCATED_NOTE))
        self.output_truncated = True
        return kept

    def _exit_status(self) -> str:
        code = run_sync(self.km.provisioner.poll)() if self.km and self.km.provisioner else None
        if code is None:
            return "exit status unknown"
        # A signal shows as a negative code, or through bubblewrap as 128 + its number, like in a shell.
        number = -code if code < 0 else code - 128
        if number in signal.valid_signals():
            return f"exit code {code}: {signal.strsignal(number)} ({signal.Signals(number).name})"
        return f"exit code {code}"


def _error(ename: str, evalue: str):
    return new_output("error", ename=ename, evalue=evalue, traceback=[f"{ename}: {evalue}"])
