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
import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import nbformat
import pytest

from course_lib.registry import get_exercise, lesson_exercises
from grader.course.execute import MAX_OUTPUT_CHARS, RECORDINGS_DELETED, TRUNCATED_NOTE
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
    # One print far past the cap: its beginning is kept. (50 MB rather than more, so that the kernel and the
    # grader, which receives the message whole, stay within this test's memory limits.)
    "floods_output_at_once": ("print('x' * 50 * 2**20)", "forget the `return`", False),
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


@pytest.mark.parametrize("student", ["floods_output", "floods_output_steadily", "floods_output_at_once"])
def test_a_flood_of_output_is_truncated_while_it_arrives_and_keeps_its_beginning(graded, student):
    autograded = graded["out"] / "nbgrader" / "autograded" / student / LESSON / f"{LESSON}.ipynb"
    notebook = nbformat.read(autograded, as_version=4)
    grade_ids = [cell.metadata.get("nbgrader", {}).get("grade_id") for cell in notebook.cells]
    test_cell = notebook.cells[grade_ids.index(f"test_{FAULTY}")]
    texts = [output.get("text", "") for output in test_cell.outputs]
    assert TRUNCATED_NOTE in texts
    printed = "".join(text for text in texts if text != TRUNCATED_NOTE)
    assert len(printed) == MAX_OUTPUT_CHARS and set(printed) <= {"x", "\n"}


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


# --- Faults in a cell of the learner's own, right after the first exercise's test ----------------------

FORK_BOMB = """import os, time
forked = 0
try:
    for _ in range(3000):
        if os.fork() == 0:
            time.sleep(3)
            os._exit(0)
        forked += 1
finally:
    print('forked', forked)
"""
THREAD_BOMB = """import threading, time
started = 0
try:
    for _ in range(3000):
        threading.Thread(target=time.sleep, args=(3,), daemon=True).start()
        started += 1
finally:
    print('started', started)
"""
CLEARS_TMP = (
    "import subprocess\nsubprocess.run('rm -rf /tmp/* /tmp/.[!.]*', shell=True)\nprint('cleared /tmp')"
)
# student: (lesson, the code of the cell added after the first test, what that cell must show)
ADDED_CELL_FAULTS = {
    "fork_bomb_01": ("01_smoothing", FORK_BOMB, "BlockingIOError"),
    "thread_bomb_01": ("01_smoothing", THREAD_BOMB, "can't start new thread"),
    "fork_bomb_05": ("05_decoder", FORK_BOMB, "BlockingIOError"),
    "thread_bomb_05": ("05_decoder", THREAD_BOMB, "can't start new thread"),
    "clears_tmp_01": ("01_smoothing", CLEARS_TMP, "cleared /tmp"),
    "clears_tmp_05": ("05_decoder", CLEARS_TMP, "cleared /tmp"),
}
# Files that are not graded: a second notebook in a learner's lesson folder, one outside any student's.
SKIPPED = {
    "honest_05/05_decoder/05_decoder (1).ipynb": "the notebook must be 05_decoder.ipynb",
    "stray.ipynb": "not in a <student_id>/<lesson>/ folder",
}
BATCH_LIMITS = ["--cell-seconds", str(CELL_SECONDS), "--notebook-seconds", "90", "--workers", "2"]


def _first_test_index(notebook, lesson: str) -> int:
    first = lesson_exercises(lesson)[0]
    grade_ids = [cell.metadata.get("nbgrader", {}).get("grade_id") for cell in notebook.cells]
    return grade_ids.index(first.test_cell_id)


def _with_cell_after_first_test(folder: Path, student: str, lesson: str, code: str) -> None:
    path = make_submission(folder, student, lesson, solution_answers(lesson))
    notebook = nbformat.read(path, as_version=4)
    notebook.cells.insert(_first_test_index(notebook, lesson) + 1, nbformat.v4.new_code_cell(code))
    nbformat.write(notebook, path)


def _with_layer_norm_deleted(folder: Path) -> None:
    path = make_submission(folder, "deletes_layer_norm", "05_decoder", solution_answers("05_decoder"))
    notebook = nbformat.read(path, as_version=4)
    notebook.cells = [
        cell
        for cell in notebook.cells
        if cell.metadata.get("nbgrader", {}).get("grade_id") != "answer_layer_norm"
    ]
    nbformat.write(notebook, path)


def _with_numeric_source(folder: Path) -> None:
    """A cell after the first test whose source is a number: the file is JSON, but not a valid notebook."""
    path = make_submission(folder, "numeric_source", LESSON, solution_answers(LESSON))
    document = json.loads(path.read_text())
    index = _first_test_index(nbformat.read(path, as_version=4), LESSON) + 1
    document["cells"].insert(
        index,
        {
            "cell_type": "code",
            "id": "numeric",
            "metadata": {},
            "execution_count": None,
            "outputs": [],
            "source": 42,
        },
    )
    path.write_text(json.dumps(document))


@pytest.fixture(scope="module")
def faults_after_first(tmp_path_factory):
    submissions, out = tmp_path_factory.mktemp("submitted"), tmp_path_factory.mktemp("out")
    make_submission(submissions, "honest_05", "05_decoder", solution_answers("05_decoder"))
    for student, (lesson, code, _) in ADDED_CELL_FAULTS.items():
        _with_cell_after_first_test(submissions, student, lesson, code)
    _with_layer_norm_deleted(submissions)
    _with_numeric_source(submissions)
    for misplaced in SKIPPED:
        shutil.copyfile(
            submissions / "honest_05" / "05_decoder" / "05_decoder.ipynb", submissions / misplaced
        )
    finished = run_grader("autograde", submissions, "--out", out, *BATCH_LIMITS, timeout=900)
    assert finished.returncode == 0, finished.stdout[-5000:] + finished.stderr[-5000:]
    document = json.loads((out / "results.json").read_text())
    results = {entry["student_id"]: entry for entry in document if "skipped" not in entry}
    skipped = {entry["skipped"]: entry["reason"] for entry in document if "skipped" in entry}
    return {"out": out, "results": results, "skipped": skipped, "log": finished.stdout}


def _full_marks(lesson: str) -> float:
    return float(sum(exercise.points for exercise in lesson_exercises(lesson)))


def _added_cell_outputs(out: Path, student: str, lesson: str) -> str:
    autograded = out / "nbgrader" / "autograded" / student / lesson / f"{lesson}.ipynb"
    notebook = nbformat.read(autograded, as_version=4)
    cell = notebook.cells[_first_test_index(notebook, lesson) + 1]
    return "".join(
        output.get("text", "") + output.get("ename", "") + output.get("evalue", "") for output in cell.outputs
    )


def test_the_honest_decoder_gets_full_marks(faults_after_first):
    result = faults_after_first["results"]["honest_05"]
    assert result["score"] == _full_marks("05_decoder") and result["flags"] == [], result


@pytest.mark.parametrize("student", ADDED_CELL_FAULTS)
def test_a_fault_after_the_first_exercise_keeps_its_points_and_shows_in_its_cell(faults_after_first, student):
    """Bounded bombs leave the kernel able to talk to the grader (they used to garble its messages and
    zero the notebook); clearing /tmp no longer deletes what the grader recorded or reads."""
    lesson, _, shown = ADDED_CELL_FAULTS[student]
    result = faults_after_first["results"][student]
    first = lesson_exercises(lesson)[0]
    assert result["problem"] is None and result["flags"] == [], result
    assert result["exercises"][0]["score"] == first.points, result
    # Nothing after the fault is the grader's loss: the cells after it run on.
    assert result["score"] == _full_marks(lesson), result
    assert shown in _added_cell_outputs(faults_after_first["out"], student, lesson)


@pytest.mark.parametrize(
    "student", [student for student in ADDED_CELL_FAULTS if student.startswith("clears_tmp")]
)
def test_clearing_tmp_shows_no_grader_path(faults_after_first, student):
    result = faults_after_first["results"][student]
    assert not any("attention-grading" in exercise["message"] for exercise in result["exercises"]), result
    lesson = ADDED_CELL_FAULTS[student][0]
    autograded = faults_after_first["out"] / "nbgrader" / "autograded" / student / lesson / f"{lesson}.ipynb"
    notebook = nbformat.read(autograded, as_version=4)
    noticed = notebook.metadata["attention_grader"][RECORDINGS_DELETED]
    assert noticed == [_first_test_index(notebook, lesson) + 2]  # the added cell, counted from 1


def test_a_cell_whose_source_is_a_number_is_read_as_text_and_graded(faults_after_first):
    result = faults_after_first["results"]["numeric_source"]
    assert result["problem"] is None and result["score"] == _full_marks(LESSON), result
    assert any("the number 42 rather than text" in note for note in result["notes"]), result


def test_a_deleted_helper_answer_costs_only_its_own_exercise(faults_after_first):
    result = faults_after_first["results"]["deletes_layer_norm"]
    scores = {exercise["exercise_id"]: exercise["score"] for exercise in result["exercises"]}
    assert scores["layer_norm"] == 0
    assert result["score"] == _full_marks("05_decoder") - get_exercise("layer_norm").points, result
    for dependent in ("decoder_block", "gpt"):
        assert "not written yet" not in _message(result, dependent)
        assert "judged with a correct `LayerNorm` in place of yours" in _message(result, dependent)
    assert result["flags"] == [], result


def test_every_skipped_file_is_recorded_with_its_reason(faults_after_first):
    assert set(faults_after_first["skipped"]) == set(SKIPPED)
    for path, reason in SKIPPED.items():
        assert reason in faults_after_first["skipped"][path]
    page = (faults_after_first["out"] / "report" / "index.html").read_text()
    assert "stray.ipynb" in page and "05_decoder (1).ipynb" in page
