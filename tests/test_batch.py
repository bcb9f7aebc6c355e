"""Grading a class in parallel: a process pool, a real Dask cluster, and a run killed mid-batch and resumed.

All three must give the same grades; the killed-and-resumed run must grade every submission exactly once.
"""

import csv
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

import nbformat
import numpy as np
import pytest

from course_lib.registry import lesson_exercises
from grader.batch import JOURNAL, CommonFailures, Journal
from grader.paths import ROOT
from grader.sandbox import bubblewrap_works
from tests.conftest import make_submission, run_grader, solution_answers

BATCH = {
    # student: (lesson, answer-cell edits)
    "alice": ("01_smoothing", {}),
    "bob": ("01_smoothing", None),
    "carol": ("01_smoothing", {"answer_gaussian_weights": ("(2 * sigma**2)", "(2 * sigma)")}),
    "dave": ("01_smoothing", {"answer_smooth": ("weights @ values", "weights.T @ values")}),
    "erin": ("02_lookup", {}),
    "frank": ("02_lookup", None),
    "gina": ("02_lookup", {"answer_softmax": ("x - x.max(axis=axis, keepdims=True)", "x")}),
    "hank": ("01_smoothing", {}),
}


@pytest.fixture(scope="module")
def submissions(tmp_path_factory):
    folder = tmp_path_factory.mktemp("submitted")
    for student, (lesson, edits) in BATCH.items():
        answers = {} if edits is None else solution_answers(lesson)
        for grade_id, (old, new) in (edits or {}).items():
            assert old in answers[grade_id], f"the solution of {grade_id} changed; update this test"
            answers[grade_id] = answers[grade_id].replace(old, new)
        make_submission(folder, student, lesson, answers)
    return folder


def _command(submissions, out, *options) -> list[str]:
    return [sys.executable, "-m", "grader", "autograde", str(submissions), "--out", str(out), *options]


def _autograde(submissions, out, *options) -> subprocess.CompletedProcess:
    result = run_grader("autograde", submissions, "--out", out, *options)
    assert result.returncode == 0, result.stdout + result.stderr
    return result


def _grades(out) -> dict[tuple[str, str], float]:
    with (out / "grades.csv").open() as table:
        return {(row["student_id"], row["assignment"]): float(row["score"]) for row in csv.DictReader(table)}


def _journal_keys(out) -> list[tuple[str, str]]:
    lines = (out / JOURNAL).read_text().splitlines()
    return [(entry["student_id"], entry["assignment"]) for entry in map(json.loads, lines)]


@pytest.fixture(scope="module")
def pool_grades(submissions, tmp_path_factory):
    out = tmp_path_factory.mktemp("pool")
    _autograde(submissions, out, "--workers", "2")
    return _grades(out), out


def _expected_score(lesson: str, edits: dict | None) -> float:
    """Full marks less every exercise whose answer was edited; a stub earns nothing."""
    if edits is None:
        return 0.0
    broken = {grade_id.removeprefix("answer_") for grade_id in edits}
    return float(sum(e.points for e in lesson_exercises(lesson) if e.id not in broken))


def test_the_pool_grades_every_submission_as_expected(pool_grades):
    grades, _ = pool_grades
    for student, (lesson, edits) in BATCH.items():
        assert grades[(student, lesson)] == _expected_score(lesson, edits), student


def test_autograde_writes_the_class_report_from_its_grades(pool_grades):
    grades, out = pool_grades
    summary = json.loads((out / "report" / "summary.json").read_text())
    assert summary["submissions"] == len(BATCH)
    for lesson, histogram in summary["score_histograms"].items():
        handed_in = [student for student, (submitted, _) in BATCH.items() if submitted == lesson]
        scores = [grades[(student, lesson)] for student in handed_in]
        expected, _ = np.histogram(scores, bins=histogram["bin_edges"])
        assert histogram["counts"] == expected.tolist()
    mistakes = {(entry["exercise_id"], entry["mistake_id"]) for entry in summary["mistakes"]}
    assert {("gaussian_weights", "sigma_as_variance"), ("smooth", "weights_transposed")} <= mistakes
    assert "data:image/png;base64," in (out / "report" / "index.html").read_text()


def test_a_real_dask_cluster_gives_the_same_grades(submissions, pool_grades, tmp_path):
    distributed = pytest.importorskip("distributed")
    import dask

    # Each notebook is graded in a child process with a deadline; Dask's default daemonic workers may not
    # start children (the README says how to start remote workers the same way).
    with dask.config.set({"distributed.worker.daemon": False}):
        with distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, host="127.0.0.1", dashboard_address=None, processes=True
        ) as cluster:
            _autograde(submissions, tmp_path, "--scheduler", cluster.scheduler_address)
    assert _grades(tmp_path) == pool_grades[0]


def test_a_batch_killed_mid_way_resumes_and_grades_each_notebook_exactly_once(
    submissions, pool_grades, tmp_path
):
    grader = subprocess.Popen(
        _command(submissions, tmp_path, "--workers", "2"),
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    journal = tmp_path / JOURNAL
    deadline = time.monotonic() + 600
    while not (journal.is_file() and journal.read_bytes().count(b"\n") >= 2):
        assert grader.poll() is None, "the grader finished before it could be killed"
        assert time.monotonic() < deadline
        time.sleep(0.05)
    os.kill(grader.pid, signal.SIGKILL)
    grader.wait()
    finished_before = _journal_keys(tmp_path)
    assert 2 <= len(finished_before) < len(BATCH)

    rerun = _autograde(submissions, tmp_path, "--workers", "2")
    assert f"resuming: {len(finished_before)} of {len(BATCH)}" in rerun.stdout
    keys = _journal_keys(tmp_path)
    assert keys[: len(finished_before)] == finished_before
    assert sorted(keys) == sorted(set(keys)), "a submission was graded twice"
    assert len(keys) == len(BATCH)
    assert _grades(tmp_path) == pool_grades[0]
    results = json.loads((tmp_path / "results.json").read_text())
    assert sorted((r["student_id"], r["assignment"]) for r in results) == sorted(keys)


def test_the_journal_drops_a_line_cut_short_by_a_kill(tmp_path):
    journal = Journal(tmp_path / JOURNAL)
    journal.append({"student_id": "a", "assignment": "01_smoothing", "n": 1})
    journal.append({"student_id": "a", "assignment": "01_smoothing", "n": 2})
    with journal.path.open("ab") as cut_short:
        cut_short.write(b'{"student_id": "b", "assign')
    assert list(journal.entries()) == [("a", "01_smoothing")]
    assert journal.entries()[("a", "01_smoothing")]["n"] == 2
    journal.append({"student_id": "b", "assignment": "01_smoothing", "n": 3})
    assert set(journal.entries()) == {("a", "01_smoothing"), ("b", "01_smoothing")}


def test_an_lms_zip_is_graded_like_the_folder_it_holds(submissions, pool_grades, tmp_path):
    lesson = "01_smoothing"
    students = [student for student, (submitted, _) in BATCH.items() if submitted == lesson][:2]
    archive = tmp_path / "canvas-download.zip"
    with zipfile.ZipFile(archive, "w") as canvas:
        for user_id, student in enumerate(students, start=100):
            notebook = submissions / student / lesson / f"{lesson}.ipynb"
            canvas.write(notebook, f"{student}_{user_id}_{user_id * 7}_{lesson}.ipynb")
    out = tmp_path / "out"
    _autograde(archive, out, "--lesson", lesson, "--lms", "canvas")
    grades = _grades(out)
    for user_id, student in enumerate(students, start=100):
        assert grades[(str(user_id), lesson)] == pool_grades[0][(student, lesson)]


# An editable install of the course pointing into a folder the sandbox hides (here: a copy of course_lib under
# /tmp, which the sandbox replaces by its own): the grader imports it, learner code cannot.
COURSE_LIB_ELSEWHERE = """
import importlib.util
import sys

COPY = {copy!r}


class CourseLibElsewhere:
    @classmethod
    def find_spec(cls, name, path=None, target=None):
        if name == "course_lib":
            return importlib.util.spec_from_file_location(
                name, COPY + "/__init__.py", submodule_search_locations=[COPY]
            )
        return None


sys.meta_path.insert(0, CourseLibElsewhere)
"""


@pytest.fixture
def course_lib_the_sandbox_hides(tmp_path):
    copy = tmp_path / "elsewhere" / "course_lib"
    shutil.copytree(ROOT / "course_lib", copy, ignore=shutil.ignore_patterns("__pycache__"))
    # sitecustomize must be visible inside the sandbox to do its harm there, so not under /tmp.
    site = Path(tempfile.mkdtemp(prefix="attention-test-site-", dir="/var/tmp"))
    site.chmod(0o755)  # learner code may run as a user of its own
    (site / "sitecustomize.py").write_text(COURSE_LIB_ELSEWHERE.format(copy=str(copy)))
    yield {"PYTHONPATH": str(site)}, copy
    shutil.rmtree(site)


@pytest.mark.skipif(not bubblewrap_works(), reason="needs bubblewrap: without it nothing is hidden")
def test_a_broken_grading_environment_stops_the_batch_before_any_grade(
    tmp_path, course_lib_the_sandbox_hides
):
    environment, copy = course_lib_the_sandbox_hides
    make_submission(tmp_path / "submitted", "alice", "01_smoothing", solution_answers("01_smoothing"))
    out = tmp_path / "out"
    finished = run_grader("autograde", tmp_path / "submitted", "--out", out, env=environment, timeout=600)
    assert finished.returncode == 4, finished.stdout + finished.stderr
    said = finished.stderr
    assert "the grading environment is broken" in said and "01_smoothing: its solution earns 0" in said, said
    assert re.search(r"first error: cell \d+ \('.*'\): FileNotFoundError: .*/elsewhere/course_lib/", said), (
        said
    )
    assert f"course_lib is imported from {copy}" in said, said
    for written in ("grades.csv", "results.json", JOURNAL, "nbgrader", "feedback"):
        assert not (out / written).exists(), written


def test_many_submissions_failing_alike_outside_the_tests_are_blamed_on_the_environment():
    failing = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_code_cell(
                "from course_lib import check",
                outputs=[
                    nbformat.v4.new_output("error", ename="ImportError", evalue="no course_lib", traceback=[])
                ],
            )
        ]
    )
    watch = CommonFailures()
    warnings = [watch.add("01_smoothing", nbformat.writes(failing)) for _ in range(CommonFailures.MINIMUM)]
    assert warnings[:-1] == [None, None] and "grading environment is the likely cause" in warnings[-1]
    assert "cell 1 ('from course_lib import check'): ImportError: no course_lib" in warnings[-1]
    assert watch.add("01_smoothing", nbformat.writes(failing)) is None  # said once
    assert watch.add("02_lookup", nbformat.writes(nbformat.v4.new_notebook())) is None


def test_a_fault_of_the_graders_own_is_reported_with_its_reason_not_as_a_timeout(tmp_path, monkeypatch):
    from grader.batch import worker
    from grader.results import Submission
    from grader.settings import GradingSettings

    def broken(*arguments):
        raise ImportError("cannot import name 'nbgrader_settings'")

    monkeypatch.setattr(worker, "grade_one", broken)
    submission = Submission("ana", "01_smoothing", tmp_path / "01_smoothing.ipynb")
    graded = worker.grade_with_deadline(tmp_path, submission, None, GradingSettings())
    assert graded.result.problem.startswith(
        "the grader failed on this notebook (ImportError: cannot import name 'nbgrader_settings')"
    )
    assert "did not finish" not in graded.result.problem
