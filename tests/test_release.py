"""notebooks/ and the visible cases are generated from solutions/, and a check says when they are stale."""

import json
import os
import shutil
import subprocess
import sys

import nbformat
import pytest

from grader.commands.release import up_to_date
from grader.paths import ROOT
from tests.conftest import copy_course


def _release_check(course_root) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "grader", "release", "--check"],
        cwd=ROOT,
        env={**os.environ, "ATTENTION_COURSE_ROOT": str(course_root)},
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_release_is_in_sync_on_main():
    result = _release_check(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr


def test_edited_solution_makes_the_check_fail_naming_the_file(tmp_path):
    course = copy_course(tmp_path)
    path = course / "solutions" / "01_smoothing.ipynb"
    notebook = nbformat.read(path, as_version=4)
    answer = next(cell for cell in notebook.cells if cell.metadata.get("nbgrader", {}).get("solution"))
    answer.source = answer.source.replace('"""', '"""Edited. ', 1)
    nbformat.write(notebook, path)
    result = _release_check(course)
    assert result.returncode == 1
    assert "notebooks/01_smoothing.ipynb is out of date" in result.stdout


@pytest.mark.parametrize(
    "held, in_sync",
    [
        ({"a": [{"array": [0.6678019135767371, 1.0], "dtype": "float64"}]}, True),  # last bits only
        ({"a": [{"array": [0.6678029135767371, 1.0], "dtype": "float64"}]}, False),
        ({"a": [{"array": [0.667801913576737, 1], "dtype": "float64"}]}, False),  # an int is not a float
        ({"a": [{"array": [0.667801913576737], "dtype": "float64"}]}, False),
        ({"a": [{"array": [0.667801913576737, 1.0], "dtype": "float32"}]}, False),
    ],
)
def test_a_case_file_is_up_to_date_when_its_numbers_differ_only_in_their_last_bits(tmp_path, held, in_sync):
    generated = {"a": [{"array": [0.667801913576737, 1.0], "dtype": "float64"}]}
    path = tmp_path / "01_smoothing.json"
    path.write_text(json.dumps(held))
    assert up_to_date(path, json.dumps(generated).encode()) is in_sync


def test_released_notebooks_have_no_solutions_hidden_tests_or_outputs():
    for path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        text = path.read_text()
        assert "BEGIN SOLUTION" not in text and "BEGIN HIDDEN TESTS" not in text
        assert "course_lib.verify" not in text
        notebook = nbformat.read(path, as_version=4)
        for cell in notebook.cells:
            if cell.cell_type == "code":
                assert cell.outputs == [] and cell.execution_count is None, f"{path.name} has outputs"


def test_solution_notebooks_are_stored_without_outputs():
    for path in sorted((ROOT / "solutions").glob("*.ipynb")):
        notebook = nbformat.read(path, as_version=4)
        for cell in notebook.cells:
            if cell.cell_type == "code":
                assert cell.outputs == [] and cell.execution_count is None, f"{path.name} has outputs"


def test_release_removes_the_notebooks_and_case_files_of_lessons_that_are_gone(
    tmp_path, monkeypatch, capsys
):
    from course_lib import casefile
    from grader.commands import release

    notebooks, cases = tmp_path / "notebooks", tmp_path / "cases"
    shutil.copytree(ROOT / "notebooks", notebooks)
    shutil.copytree(casefile.CASES_DIR, cases)
    (notebooks / "07_gone.ipynb").write_text("{}")
    (cases / "07_gone.json").write_text("{}")
    monkeypatch.setattr(release, "ROOT", tmp_path)
    monkeypatch.setattr(release, "NOTEBOOKS", notebooks)
    monkeypatch.setattr(casefile, "CASES_DIR", cases)
    assert release.release() == 0
    printed = capsys.readouterr().out
    assert "removed notebooks/07_gone.ipynb (it has no solution notebook behind it)" in printed
    assert "removed cases/07_gone.json (it belongs to no lesson)" in printed
    assert not (notebooks / "07_gone.ipynb").exists() and not (cases / "07_gone.json").exists()
