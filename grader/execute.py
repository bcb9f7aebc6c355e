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
import signal
import time

from jupyter_core.utils import run_sync
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbformat.v4 import new_output
from nbgrader.preprocessors import Execute
from nbgrader.utils import is_grade
from traitlets import Integer, default

MAX_OUTPUT_CHARS = 2_000_000
"""Characters of output kept per cell (stream text and display data; errors are always kept)."""
MAX_OUTPUTS = 2_000
"""Outputs kept per cell: a loop flushing one character at a time makes many tiny ones."""
TRUNCATED_NOTE = (
    f"\n[output truncated by the grader: a cell keeps at most {MAX_OUTPUT_CHARS:,} characters "
    f"in {MAX_OUTPUTS:,} outputs]\n"
)


class GuardedExecute(Execute):
    """nbgrader's Execute step that stops at a dead or stuck kernel and caps output while it arrives."""

    notebook_timeout = Integer(
        None,
        allow_none=True,
        help="Wall-clock seconds all the notebook's cells may take together (None: no limit). A cell still "
        "running when they are up is interrupted, and the cells after it are not run.",
    ).tag(config=True)

    fault: str | None = None
    """What stopped this notebook, with ``{cell}`` where the cell it happened in is to be named."""

    def preprocess(self, nb, resources=None, km=None):
        self.fault = None
        self.budget_ends = None if self.notebook_timeout is None else time.monotonic() + self.notebook_timeout
        return super().preprocess(nb, resources, km)

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
        what_happened = self.fault.format(cell="this cell") + "; cells after it were not run"
        cell.outputs.append(_error(ename, what_happened))
        return cell, resources

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
        if msg["msg_type"] != "error":
            content = msg["content"]
            self.output_chars += len(content.get("text", "")) + sum(
                len(str(value)) for value in content.get("data", {}).values()
            )
            if self.output_chars > MAX_OUTPUT_CHARS or len(outs) >= MAX_OUTPUTS:
                if not self.output_truncated:
                    outs.append(new_output("stream", name="stderr", text=TRUNCATED_NOTE))
                    self.output_truncated = True
                return None
        return super().output(outs, msg, display_id, cell_index)

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
