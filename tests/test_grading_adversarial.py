"""Submissions that try to fool or harm the grader earn no more than an honest wrong answer.

Every learner here has the same honest mistake plus one attack: in lesson 01, sigma used as a variance in
``gaussian_weights``; in lesson 04 (PyTorch), heads split by reshape without a transpose. The honest
learner of each lesson sets the bar; nobody may score more, the batch must finish, and the attacks must
leave no trace outside their own sandbox. The batch is graded with the temporary folder outside /tmp, so
that the sandbox's own /tmp does not hide the grading scratch course by luck.
"""

import csv
import json
import shutil
import socket
import tempfile
import threading
from pathlib import Path

import nbformat
import pytest

from grader.paths import ROOT
from grader.sandbox import bubblewrap_works
from tests.conftest import make_submission, run_grader, solution_answers

LESSON, TORCH_LESSON = "01_smoothing", "04_multihead"
HONEST_MISTAKES = {
    LESSON: ("answer_gaussian_weights", "(2 * sigma**2)", "(2 * sigma)"),
    TORCH_LESSON: (
        "answer_multi_head_attention",
        "(split_heads(t, self.n_heads) for t",
        "(t.reshape(t.shape[0], self.n_heads, t.shape[1], -1) for t",
    ),
}
SECRET_READ = "READ A SECRET"

# Code put in front of the lesson's first answer cell, so it runs before any test cell.
ATTACKS = {
    "honest": "",
    "patches_allclose": "import numpy\nnumpy.allclose = lambda *args, **kwargs: True\n",
    "swallows_errors": (
        "def _swallow(lines):\n"
        "    body = ['    ' + line for line in lines]\n"
        "    return ['try:\\n', *body, '\\nexcept BaseException:\\n    pass\\n']\n"
        "get_ipython().input_transformers_post.append(_swallow)\n"
    ),
    # No traceback is shown and every cell's result is made to say it succeeded.
    "silences_errors": (
        "def _forget_errors(result):\n"
        "    result.error_in_exec = result.error_before_exec = None\n"
        "get_ipython().set_custom_exc((BaseException,), lambda *args, **kwargs: None)\n"
        "get_ipython().showtraceback = lambda *args, **kwargs: None\n"
        "get_ipython().events.register('post_run_cell', _forget_errors)\n"
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
    "exits_in_the_tests": (
        "import sys\nget_ipython().user_ns['check'] = lambda *args, **kwargs: sys.exit(0)\n"
    ),
    # Once gaussian_weights is defined, it is swapped for one returning the stored answer on the visible
    # cases (they ship with the course), and the learner's own elsewhere.
    "memorises_visible_cases": (
        "import numpy\n"
        "from course_lib import casefile as _casefile\n"
        "_visible = _casefile.load('01_smoothing')['gaussian_weights']\n"
        "def _memorise(result):\n"
        "    namespace = get_ipython().user_ns\n"
        "    learner = namespace.get('gaussian_weights')\n"
        "    if learner is None or hasattr(learner, 'memorised'):\n"
        "        return\n"
        "    def looked_up(**inputs):\n"
        "        for case in _visible:\n"
        "            if all(numpy.array_equal(inputs[name], value) for name, value in case.inputs.items()):\n"
        "                return case.expected[0]\n"
        "        return learner(**inputs)\n"
        "    looked_up.memorised = True\n"
        "    namespace['gaussian_weights'] = looked_up\n"
        "get_ipython().events.register('post_run_cell', _memorise)\n"
    ),
    # gaussian_weights's result comes back as an array subclass whose comparisons all say yes.
    "returns_lying_arrays": (
        "import numpy\n"
        "class _Liar(numpy.ndarray):\n"
        "    def __eq__(self, other):\n"
        "        return True\n"
        "    def __array_ufunc__(self, *args, **kwargs):\n"
        "        return True\n"
        "def _wrap(result):\n"
        "    namespace = get_ipython().user_ns\n"
        "    learner = namespace.get('gaussian_weights')\n"
        "    if learner is not None and not hasattr(learner, 'lies'):\n"
        "        def lying(**inputs):\n"
        "            return numpy.asarray(learner(**inputs)).view(_Liar)\n"
        "        lying.lies = True\n"
        "        namespace['gaussian_weights'] = lying\n"
        "get_ipython().events.register('post_run_cell', _wrap)\n"
    ),
    # What the hidden part of a test cell records is replaced by a zip bomb (half a GiB of zeros, a few
    # MB on disk), and the grader's inputs are overwritten.
    "forges_the_record": (
        "import os, zipfile, numpy, course_lib.verify\n"
        "def _bomb(exercise_id, learner, directory=None):\n"
        "    directory = directory or os.environ.get('ATTENTION_VERIFY_DIR')\n"
        "    if not directory:\n"
        "        return\n"
        "    path = os.path.join(directory, exercise_id + '.npz')\n"
        "    with zipfile.ZipFile(path, 'w', zipfile.ZIP_DEFLATED) as archive:\n"
        "        with archive.open('case0_item0.npy', 'w', force_zip64=True) as member:\n"
        "            header = {'descr': '<f8', 'fortran_order': False, 'shape': (2**26,)}\n"
        "            numpy.lib.format.write_array_header_2_0(member, header)\n"
        "            for _ in range(512):\n"
        "                member.write(bytes(2**20))\n"
        "    open(os.path.join(directory, 'inputs.json'), 'w').write('{}')\n"
        "course_lib.verify.record = _bomb\n"
    ),
    "reads_the_secrets": (
        "for _path in SECRETS:\n"
        "    try:\n"
        "        open(_path, 'rb').read(100)\n"
        "        print('READ A SECRET', _path)\n"
        "    except OSError:\n"
        "        pass\n"
    ),
    "writes_outside": (
        "for _path in TARGETS:\n"
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
TORCH_ATTACKS = {
    "honest_torch": "",
    "patches_torch": (
        "import numpy, torch\n"
        "torch.allclose = torch.equal = lambda *args, **kwargs: True\n"
        "torch.testing.assert_close = lambda *args, **kwargs: None\n"
        "torch.Tensor.__eq__ = lambda self, other: torch.ones_like(self, dtype=torch.bool)\n"
        "numpy.allclose = lambda *args, **kwargs: True\n"
        "numpy.isclose = lambda a, b, *args, **kwargs: numpy.ones(numpy.broadcast(a, b).shape, dtype=bool)\n"
    ),
}
# The kernel's folder is <scratch course>/autograded/<student>/<lesson>: its course is three folders up.
SCRATCH_COURSE = "../../.."


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
    secrets = [
        ROOT / "grader" / "reference.py",
        ROOT / "grader" / "cases.py",
        ROOT / "solutions" / f"{LESSON}.ipynb",
        out / "template" / "source" / LESSON / f"{LESSON}.ipynb",
        out / "nbgrader" / "gradebook.db",
        f"{SCRATCH_COURSE}/source/{LESSON}/{LESSON}.ipynb",
        f"{SCRATCH_COURSE}/gradebook.db",
    ]
    targets = [
        out / "nbgrader" / "gradebook.db",
        out / "template" / "gradebook.db",
        other_learner,
        f"{SCRATCH_COURSE}/gradebook.db",
    ]
    placeholders = {
        "SECRETS": repr([str(path) for path in secrets]),
        "TARGETS": repr([str(path) for path in targets]),
        "PORT": str(port),
    }
    for lesson, attacks in ((LESSON, ATTACKS), (TORCH_LESSON, TORCH_ATTACKS)):
        for student, attack in attacks.items():
            for placeholder, value in placeholders.items():
                attack = attack.replace(placeholder, value)
            answers = solution_answers(lesson)
            grade_id, right, wrong = HONEST_MISTAKES[lesson]
            answers[grade_id] = answers[grade_id].replace(right, wrong)
            first_answer = next(iter(answers))
            answers[first_answer] = attack + answers[first_answer]
            make_submission(submissions, student, lesson, answers)
    Path("/tmp/spawned").unlink(missing_ok=True)
    # A temporary folder outside /tmp, open to the learner's user like /var/tmp is.
    temporary = Path(tempfile.mkdtemp(prefix="attention-adversarial-", dir="/var/tmp"))
    temporary.chmod(0o1777)
    try:
        result = run_grader(
            "autograde", submissions, "--out", out, "--cell-seconds", "60", env={"TMPDIR": str(temporary)}
        )
    finally:
        shutil.rmtree(temporary, ignore_errors=True)
    assert result.returncode == 0, result.stdout + result.stderr
    return out, other_learner


def _grades(out):
    """Each student's score in grades.csv for the lesson they handed in (the export lists every lesson)."""
    handed_in = {(entry["student_id"], entry["assignment"]) for entry in _results(out).values()}
    with open(out / "grades.csv", newline="") as handle:
        return {
            row["student_id"]: float(row["score"])
            for row in csv.DictReader(handle)
            if (row["student_id"], row["assignment"]) in handed_in
        }


def _results(out):
    return {entry["student_id"]: entry for entry in json.loads((out / "results.json").read_text())}


def test_no_attack_earns_more_than_the_honest_mistake(graded):
    grades = _grades(graded[0])
    assert set(grades) == set(ATTACKS) | set(TORCH_ATTACKS)
    assert grades["honest"] == 4.0
    assert grades["honest_torch"] > 0
    cheaters = {student: grades[student] for student in ATTACKS if grades[student] > grades["honest"]}
    cheaters |= {
        student: grades[student] for student in TORCH_ATTACKS if grades[student] > grades["honest_torch"]
    }
    assert cheaters == {}


def test_every_attacked_notebook_is_graded_without_a_grading_problem(graded):
    results = _results(graded[0])
    assert {student: entry["problem"] for student, entry in results.items() if entry["problem"]} == {}


@pytest.mark.parametrize(
    "student", ["patches_allclose", "swallows_errors", "silences_errors", "patches_torch"]
)
def test_tampering_with_the_kernel_is_flagged(graded, student):
    """These attacks make the notebook's own test pass on a wrong answer: the verification outside the
    kernel takes the points back and tells the instructor."""
    results = _results(graded[0])
    lesson = TORCH_LESSON if student in TORCH_ATTACKS else LESSON
    exercise = HONEST_MISTAKES[lesson][0].removeprefix("answer_")
    assert any(flag.startswith(f"{exercise}:") for flag in results[student]["flags"]), results[student]


def test_honest_learners_are_not_flagged(graded):
    results = _results(graded[0])
    assert results["honest"]["flags"] == results["honest_torch"]["flags"] == []


def test_memorised_visible_cases_fail_on_the_hidden_ones(graded):
    result = _results(graded[0])["memorises_visible_cases"]
    scores = {exercise["exercise_id"]: exercise["score"] for exercise in result["exercises"]}
    assert scores["gaussian_weights"] == 0, result


@pytest.mark.skipif(not bubblewrap_works(), reason="needs bubblewrap for file-system and network isolation")
def test_learner_code_cannot_read_write_or_phone_home(graded, listener):
    out, other_learner = graded
    _, connections = listener
    assert connections == [], "a sandboxed kernel reached the host's loopback"
    assert "overwritten" not in other_learner.read_text()
    for gradebook in (out / "nbgrader" / "gradebook.db", out / "template" / "gradebook.db"):
        assert gradebook.read_bytes()[:15] == b"SQLite format 3"
    autograded = out / "nbgrader" / "autograded" / "reads_the_secrets" / LESSON / f"{LESSON}.ipynb"
    notebook = nbformat.read(autograded, as_version=4)
    printed = [output.get("text", "") for cell in notebook.cells for output in cell.get("outputs", [])]
    assert not [text for text in printed if SECRET_READ in text]
    assert not Path("/tmp/spawned").exists(), "a process learner code spawned wrote to the host's /tmp"


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
    results = _results(out)
    for student in faults:
        assert grades[student] <= 5.0  # smooth's 2 points at least are lost
        assert results[student]["problem"] or any(
            reason in exercise["message"]
            for exercise in results[student]["exercises"]
            for reason in ("raised", "Timeout", "the kernel died")
        ), student
