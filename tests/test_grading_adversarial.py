"""Submissions that try to fool or harm the grader earn no more than an honest wrong answer.

Every learner here has the same honest mistake (sigma used as a variance in ``gaussian_weights``) plus one
attack. The honest learner scores ``full - 3``; nobody may score more, the batch must finish, and the
attacks must leave no trace outside their own sandbox.
"""

import csv
import json
import socket
import threading

import nbformat
import pytest

from grader.paths import ROOT
from grader.sandbox import bubblewrap_works
from tests.conftest import make_submission, run_grader, solution_answers

LESSON = "01_smoothing"
FIRST_ANSWER = "answer_moving_average_weights"
HONEST_MISTAKE = ("(2 * sigma**2)", "(2 * sigma)")

# Code put in front of the first answer cell, so it runs before any test cell.
ATTACKS = {
    "honest": "",
    "patches_allclose": "import numpy\nnumpy.allclose = lambda *args, **kwargs: True\n",
    "swallows_errors": (
        "def _swallow(lines):\n"
        "    body = ['    ' + line for line in lines]\n"
        "    return ['try:\\n', *body, '\\nexcept BaseException:\\n    pass\\n']\n"
        "get_ipython().input_transformers_post.append(_swallow)\n"
    ),
    "fakes_the_check": (
        "import course_lib, course_lib.check\n"
        "course_lib.check.check = course_lib.check = lambda *args, **kwargs: True\n"
        "import builtins\n"
        "_real_import = builtins.__import__\n"
        "def _import(name, *args, **kwargs):\n"
        "    module = _real_import(name, *args, **kwargs)\n"
        "    if name == 'course_lib':\n"
        "        module.check = lambda *a, **k: True\n"
        "    return module\n"
        "builtins.__import__ = _import\n"
    ),
    "reads_the_references": (
        "try:\n"
        f"    exec(open({str(ROOT / 'grader' / 'reference.py')!r}).read())\n"
        f"    _solution = open({str(ROOT / 'solutions' / 'LESSON.ipynb')!r}).read()\n"
        "    print('READ THE SOLUTION')\n"
        "except OSError:\n"
        "    pass\n"
    ),
    "writes_outside": (
        "for _path in [GRADEBOOK, OTHER_LEARNER]:\n"
        "    try:\n"
        "        open(_path, 'w').write('overwritten')\n"
        "    except OSError:\n"
        "        pass\n"
    ),
    "phones_home": (
        "import socket\n"
        "try:\n"
        "    socket.create_connection(('127.0.0.1', PORT), timeout=3).sendall(b'leak')\n"
        "except OSError:\n"
        "    pass\n"
    ),
    "spawns_processes": (
        "import subprocess\n"
        "try:\n"
        "    subprocess.run(['sh', '-c', 'echo spawned > /tmp/spawned'], timeout=5)\n"
        "except Exception:\n"
        "    pass\n"
    ),
}


@pytest.fixture(scope="module")
def listener():
    """A TCP server on the host's loopback that records whether anyone connected."""
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(0.5)
    connections = []
    stop = threading.Event()

    def accept():
        while not stop.is_set():
            try:
                connections.append(server.accept())
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield server.getsockname()[1], connections
    stop.set()
    thread.join()
    server.close()


@pytest.fixture(scope="module")
def graded(tmp_path_factory, listener):
    port, _ = listener
    submissions = tmp_path_factory.mktemp("submitted")
    out = tmp_path_factory.mktemp("out")
    other_learner = submissions / "honest" / LESSON / f"{LESSON}.ipynb"
    for student, attack in ATTACKS.items():
        answers = solution_answers(LESSON)
        answers["answer_gaussian_weights"] = answers["answer_gaussian_weights"].replace(*HONEST_MISTAKE)
        attack = (
            attack.replace("GRADEBOOK", repr(str(out / "nbgrader" / "gradebook.db")))
            .replace("OTHER_LEARNER", repr(str(other_learner)))
            .replace("PORT", str(port))
            .replace("LESSON", LESSON)
        )
        answers[FIRST_ANSWER] = attack + answers[FIRST_ANSWER]
        make_submission(submissions, student, LESSON, answers)
    result = run_grader("autograde", submissions, "--out", out, "--cell-seconds", "60")
    assert result.returncode == 0, result.stdout + result.stderr
    return out, other_learner


def _grades(out):
    with open(out / "grades.csv", newline="") as handle:
        return {row["student_id"]: float(row["score"]) for row in csv.DictReader(handle)}


def test_no_attack_earns_more_than_the_honest_mistake(graded):
    grades = _grades(graded[0])
    assert set(grades) == set(ATTACKS)
    assert grades["honest"] == 4.0
    cheaters = {student: score for student, score in grades.items() if score > grades["honest"]}
    assert cheaters == {}


def test_tampering_with_the_kernel_is_flagged(graded):
    results = {entry["student_id"]: entry for entry in json.loads((graded[0] / "results.json").read_text())}
    for student in ("patches_allclose", "swallows_errors"):
        assert any("gaussian_weights" in flag for flag in results[student]["flags"]), student
    assert results["honest"]["flags"] == []


@pytest.mark.skipif(not bubblewrap_works(), reason="needs bubblewrap for file-system and network isolation")
def test_learner_code_cannot_read_write_or_phone_home(graded, listener):
    out, other_learner = graded
    _, connections = listener
    assert connections == [], "a sandboxed kernel reached the host's loopback"
    assert "overwritten" not in other_learner.read_text()
    assert (out / "nbgrader" / "gradebook.db").read_bytes()[:15] == b"SQLite format 3"
    autograded = out / "nbgrader" / "autograded" / "reads_the_references" / LESSON / f"{LESSON}.ipynb"
    notebook = nbformat.read(autograded, as_version=4)
    printed = [output.get("text", "") for cell in notebook.cells for output in cell.get("outputs", [])]
    assert not any("READ THE SOLUTION" in text for text in printed)


def test_a_dying_or_hanging_kernel_gets_a_reason_and_the_batch_finishes(tmp_path):
    submissions, out = tmp_path / "submitted", tmp_path / "out"
    faults = {"exits": "import os\n    os._exit(1)", "hangs": "import time\n    time.sleep(10**6)"}
    for student, body in faults.items():
        answers = solution_answers(LESSON)
        answers["answer_smooth"] = answers["answer_smooth"].replace("return weights @ values", body)
        make_submission(submissions, student, LESSON, answers)
    make_submission(submissions, "steady", LESSON, solution_answers(LESSON))
    limits = ["--cell-seconds", "10", "--notebook-seconds", "45"]
    result = run_grader("autograde", submissions, "--out", out, *limits, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    grades = _grades(out)
    assert grades["steady"] == 7.0
    results = {entry["student_id"]: entry for entry in json.loads((out / "results.json").read_text())}
    for student in faults:
        assert grades[student] <= 5.0  # smooth's 2 points at least are lost
        assert results[student]["problem"] or any(
            reason in exercise["message"]
            for exercise in results[student]["exercises"]
            for reason in ("raised", "Timeout", "the kernel died")
        ), student
