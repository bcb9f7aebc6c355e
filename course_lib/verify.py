"""Recording a learner's outputs for the grader, which compares them outside the learner's process.

While grading, the learner's code runs in a sandbox and can change anything in its own process, including
numpy, torch and IPython. So the sandbox never decides whether an answer is right: ``record`` only runs the
learner's function on the inputs the grader supplied (fresh ones on every grading run) and writes the raw
outputs as plain arrays, and the grader compares them with its references in its own process.

Three ways in:
- ``record(exercise_id, obj)``, called by the hidden part of each test cell while nbgrader runs the notebook;
- ``record_wrong_answer(exercise_id, obj)``, called by ``check`` before it raises (the hidden part of the
  test cell then never runs), so that the class report sees what wrong answers return too;
- ``python -m course_lib.verify JOB.json``, a fresh process that runs only the learner's answer cells (with
  some earlier helpers replaced by the grader's versions) and records chosen exercises.

Outside grading (no ``ATTENTION_VERIFY_DIR`` in the environment) ``record`` does nothing.
"""

from __future__ import annotations

import copy
import json
import os
import signal
import sys
import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager, redirect_stderr, redirect_stdout
from pathlib import Path
from typing import Any

import numpy as np

from course_lib import casefile
from course_lib.checking import as_output
from course_lib.registry import get_exercise

VERIFY_DIR_ENV = "ATTENTION_VERIFY_DIR"
VERIFY_INPUTS_ENV = "ATTENTION_VERIFY_INPUTS"
"""The folder holding ``inputs.json`` while a notebook is graded: a read-only one, which learner code that
clears ``/tmp`` cannot empty. Without it, the inputs are read from the recording folder."""
INPUTS_FILE = "inputs.json"


def record(exercise_id: str, learner: Any, directory: str | os.PathLike | None = None) -> None:
    directory = directory or os.environ.get(VERIFY_DIR_ENV)
    if not directory:
        return
    directory = Path(directory)
    # Learner code may have emptied the folder (``rm -rf /tmp/*``); the recording still has a place.
    directory.mkdir(parents=True, exist_ok=True)
    inputs_folder = Path(os.environ.get(VERIFY_INPUTS_ENV) or directory)
    exercise = get_exercise(exercise_id)
    inputs = json.loads((inputs_folder / INPUTS_FILE).read_text()).get(exercise_id, [])
    arrays: dict[str, np.ndarray] = {}
    errors: dict[int, str] = {}
    cases = [casefile.decode_inputs(case) for case in inputs]
    if exercise.probe is not None:
        runs = [lambda: exercise.probe(learner)]
    else:
        runs = [lambda case=case: exercise.run(learner, copy.deepcopy(case)) for case in cases]
    for index, run in enumerate(runs):
        try:
            with warnings.catch_warnings(), np.errstate(all="ignore"):
                warnings.simplefilter("ignore")
                output = as_output(run())
        except Exception as error:  # a wrong answer may raise anything; the grader reports it
            errors[index] = f"{type(error).__name__}: {error}"
            continue
        for item, array in enumerate(output):
            arrays[f"case{index}_item{item}"] = np.asarray(array)
    np.savez(directory / f"{exercise_id}.npz", **arrays)
    (directory / f"{exercise_id}.errors.json").write_text(json.dumps(errors))


WRONG_ANSWER_SECONDS = 2
"""How long recording a wrong answer may take: it runs the answer on the hidden cases, which the notebook
would otherwise not have run at all, so a wrong answer that is also slow must not cost the cells after it
(every exercise's reference runs its hidden cases in well under a second)."""


class _OutOfTime(BaseException):
    """Raised by the alarm; not an Exception, so that ``record``'s handling of a failing case lets it by."""


def record_wrong_answer(exercise_id: str, learner: Any) -> None:
    """While grading, record an answer that failed its check, within ``WRONG_ANSWER_SECONDS`` (past them,
    nothing is recorded) and without its printing; outside grading, nothing."""
    if not os.environ.get(VERIFY_DIR_ENV):
        return
    # What the answer prints while it is recorded is not the learner's to read, and printing takes time.
    with open(os.devnull, "w") as discarded, redirect_stdout(discarded), redirect_stderr(discarded):
        try:
            with _time_limit(WRONG_ANSWER_SECONDS):
                record(exercise_id, learner)
        except _OutOfTime:
            pass


@contextmanager
def _time_limit(seconds: float) -> Iterator[None]:
    if threading.current_thread() is not threading.main_thread():  # signals reach the main thread only
        yield
        return

    def out_of_time(signum, frame):
        raise _OutOfTime()

    previous = signal.signal(signal.SIGALRM, out_of_time)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def run_job(job_file: Path) -> None:
    """Execute the job's cells in a fresh namespace, then record its exercises."""
    job = json.loads(job_file.read_text())
    namespace: dict[str, Any] = {"__name__": "__learner__"}
    for source in job["cells"]:
        try:
            exec(compile(source, str(job_file), "exec"), namespace)
        except Exception:  # noqa: S110 - a broken cell leaves its names undefined; record() reports that
            pass
    for exercise_id in job["record"]:
        record(exercise_id, namespace.get(get_exercise(exercise_id).target), job["directory"])


if __name__ == "__main__":
    run_job(Path(sys.argv[1]))
