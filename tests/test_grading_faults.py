"""A notebook whose kernel dies, hangs, runs out of memory or processes, or floods the grader with output
keeps the points it earned before the fault, gets a reason in words, and leaves the rest of the batch alone.

Every faulty learner answers the first exercise right; the fault sits in the second exercise's function, so
it strikes in that exercise's test cell, after the first one's has passed; the third exercise is left
unanswered, so its points are lost whichever way the fault ends. The honest learner answers all three.
"""

import csv
import json
import os
import re
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import nbformat
import pytest

from course_lib.registry import lesson_exercises
from grader.execute import MAX_OUTPUT_CHARS, TRUNCATED_NOTE
from grader.paths import ROOT
from grader.sandbox import learner_uid
from tests.conftest import make_submission, run_grader, solution_answers

LESSON = "01_smoothing"
FIRST, FAULTY, UNANSWERED = "moving_average_weights", "smooth", "gaussian_weights"
CELL_SECONDS = 20
LIMITS = [
    *("--cell-seconds", str(CELL_SECONDS), "--notebook-seconds", "240"),
    *("--memory-mb", "1536", "--processes", "64"),
]

KERNEL_DIES = "the kernel died while running this cell"
IGNORES_INTERRUPT = (
    f"this cell was still running after its wall-clock limit of {CELL_SECONDS} s and did not stop when "
    "interrupted, so the kernel was shut down; cells after it were not run"
)
OUT_OF_TIME_OR_MEMORY = f"raised MemoryError|wall-clock limit of {CELL_SECONDS} s and was interrupted"
# learner: (the body of their `smooth`, what that exercise's message must say, whether the kernel always ends)
FAULTS = {
    "exits": ("import os\nos._exit(1)", re.escape(f"{KERNEL_DIES} (exit code 1)"), True),
    "segfaults": (
        "import ctypes\nctypes.string_at(0)",
        re.escape(KERNEL_DIES) + r" \(exit code -?\d+: Segmentation fault \(SIGSEGV\)\)",
        True,
    ),
    "allocates_50_gib": ("hog = bytearray(50 * 2**30)", "raised MemoryError", False),
    "grows_a_list": (
        "hog = []\nwhile True:\n    hog.append(bytearray(2**24))",
        f"raised MemoryError|{KERNEL_DIES}",
        False,
    ),
    # Children only sleep, and the loop stops by itself at 500 processes: where the process limit cannot
    # apply (root grading without setpriv) it cannot take the machine down.
    "fork_bomb": (
        "import os, time\n"
        "def processes():\n"
        "    return sum(name.isdigit() for name in os.listdir('/proc'))\n"
        "enough = processes() + 500\n"
        "while processes() < enough:\n"
        "    if os.fork() == 0:\n"
        "        time.sleep(60)\n"
        "        os._exit(0)\n"
        "raise RuntimeError('500 processes: the process limit did not stop the fork bomb')",
        "raised BlockingIOError|raised RuntimeError: 500 processes",
        False,
    ),
    "ignores_interrupt": (
        "import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\nwhile True:\n    pass",
        re.escape(IGNORES_INTERRUPT),
        True,
    ),
    "floods_output": ("while True:\n    print('x' * 10000)", OUT_OF_TIME_OR_MEMORY, False),
    # Prints for its whole time limit without running out of memory: the grader must not keep it all.
    "floods_output_steadily": ("while True:\n    print('x' * 1000)", OUT_OF_TIME_OR_MEMORY, False),
}
GRADER_MEMORY_LIMIT_MB = 1024


def _submissions(folder: Path) -> None:
    make_submission(folder, "honest", LESSON, solution_answers(LESSON))
    for student, (body, _, _) in FAULTS.items():
        answers = solution_answers(LESSON)
        del answers[f"answer_{UNANSWERED}"]
        faulty_body = textwrap.indent(body, "    ").lstrip()
        answer = answers[f"answer_{FAULTY}"]
        answers[f"answer_{FAULTY}"] = answer.replace("return weights @ values", faulty_body)
        make_submission(folder, student, LESSON, answers)


def _grader_memory_mb(out: Path) -> float:
    """Resident memory of the largest grader process now (the batch and its per-notebook children, whose
    command line is the grader's), not of the kernels it runs."""
    largest = 0
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            arguments = (status.parent / "cmdline").read_bytes().split(b"\0")
            if b"autograde" in arguments and str(out).encode() in arguments:
                rss = next(line for line in status.read_text().splitlines() if line.startswith("VmRSS:"))
                largest = max(largest, int(rss.split()[1]))
        except (OSError, StopIteration):
            continue
    return largest / 1024


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """The batch graded once; the grader's peak memory sampled while it ran."""
    submissions, out = tmp_path_factory.mktemp("submitted"), tmp_path_factory.mktemp("out")
    _submissions(submissions)
    command = [sys.executable, "-m", "grader", "autograde", str(submissions), "--out", str(out), *LIMITS]
    grading = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    peak_mb, deadline = 0.0, time.monotonic() + 600
    while grading.poll() is None and time.monotonic() < deadline:
        peak_mb = max(peak_mb, _grader_memory_mb(out))
        time.sleep(0.1)
    if grading.poll() is None:
        grading.kill()
    log = grading.communicate()[0]
    assert grading.returncode == 0, log[-5000:]
    results = {entry["student_id"]: entry for entry in json.loads((out / "results.json").read_text())}
    with open(out / "grades.csv", newline="") as handle:
        grades = {row["student_id"]: float(row["score"]) for row in csv.DictReader(handle)}
    return {"out": out, "results": results, "grades": grades, "peak_mb": peak_mb, "log": log}


def _points(exercise_id: str) -> float:
    return float(next(exercise.points for exercise in lesson_exercises(LESSON) if exercise.id == exercise_id))


def _message(result: dict, exercise_id: str) -> str:
    """What one submission's results.json entry says about one exercise."""
    messages = {exercise["exercise_id"]: exercise["message"] for exercise in result["exercises"]}
    return messages[exercise_id]


def test_every_learner_is_graded_and_the_honest_one_gets_full_marks(graded):
    assert set(graded["grades"]) == set(graded["results"]) == {"honest", *FAULTS}
    full_marks = float(sum(exercise.points for exercise in lesson_exercises(LESSON)))
    assert graded["grades"]["honest"] == graded["results"]["honest"]["score"] == full_marks


@pytest.mark.parametrize("student", FAULTS)
def test_a_fault_keeps_the_points_before_it_and_says_what_happened(graded, student):
    _, reason, _ = FAULTS[student]
    result = graded["results"][student]
    assert graded["grades"][student] == result["score"] == _points(FIRST), result
    assert re.search(reason, _message(graded["results"][student], FAULTY)), result
    assert result["problem"] is None and result["flags"] == [], result


@pytest.mark.parametrize("student", [student for student, (*_, ends_kernel) in FAULTS.items() if ends_kernel])
def test_cells_after_a_dead_or_stuck_kernel_are_reported_not_run(graded, student):
    message = _message(graded["results"][student], UNANSWERED)
    assert message.startswith("NotRun: not run: "), message
    assert "an earlier cell" in message


@pytest.mark.skipif(
    os.geteuid() == 0 and learner_uid() is None,
    reason="the process limit does not apply to root, and learner code cannot run as another user here",
)
def test_the_process_limit_stops_a_fork_bomb(graded):
    assert "raised BlockingIOError" in _message(graded["results"]["fork_bomb"], FAULTY)


@pytest.mark.parametrize("student", ["floods_output", "floods_output_steadily"])
def test_a_flood_of_output_is_truncated_while_it_arrives(graded, student):
    autograded = graded["out"] / "nbgrader" / "autograded" / student / LESSON / f"{LESSON}.ipynb"
    notebook = nbformat.read(autograded, as_version=4)
    grade_ids = [cell.metadata.get("nbgrader", {}).get("grade_id") for cell in notebook.cells]
    test_cell = notebook.cells[grade_ids.index(f"test_{FAULTY}")]
    texts = [output.get("text", "") for output in test_cell.outputs]
    assert TRUNCATED_NOTE in texts
    assert sum(map(len, texts)) <= MAX_OUTPUT_CHARS + len(TRUNCATED_NOTE)


def test_the_grader_memory_stays_bounded_while_a_cell_prints_for_its_whole_time_limit(graded):
    assert 0 < graded["peak_mb"] < GRADER_MEMORY_LIMIT_MB


def test_a_notebook_past_its_total_limit_keeps_the_points_before_it(tmp_path):
    """Every cell stays within its own limit, but together they run past the notebook's: the cell running
    then is interrupted, later tests are reported not run, and the points before are kept."""
    answers = solution_answers(LESSON)
    answers[f"answer_{FAULTY}"] = "import time\ntime.sleep(60)\n" + answers[f"answer_{FAULTY}"]
    make_submission(tmp_path / "submitted", "dawdles", LESSON, answers)
    out = tmp_path / "out"
    limits = ["--cell-seconds", "100", "--notebook-seconds", "15"]
    finished = run_grader("autograde", tmp_path / "submitted", "--out", out, *limits, timeout=300)
    assert finished.returncode == 0, finished.stdout + finished.stderr
    result = json.loads((out / "results.json").read_text())[0]
    assert result["score"] == _points(FIRST) and result["problem"] is None, result
    budget = "the wall-clock limit of 15 s for all the notebook's cells together"
    for exercise_id in (FAULTY, UNANSWERED):
        assert _message(result, exercise_id) == f"NotRun: not run: the notebook ran past {budget}"
    autograded = out / "nbgrader" / "autograded" / "dawdles" / LESSON / f"{LESSON}.ipynb"
    cells = nbformat.read(autograded, as_version=4).cells
    grade_ids = [cell.metadata.get("nbgrader", {}).get("grade_id") for cell in cells]
    answer = cells[grade_ids.index(f"answer_{FAULTY}")]
    errors = [output.evalue for output in answer.outputs if output.output_type == "error"]
    assert f"this cell was still running after {budget} and was interrupted" in errors
