"""Verification: reading what the learner's process recorded, and the jobs that re-run answers with the
grader's helpers (they import what their code uses, and no more)."""

import json
import subprocess
import zipfile

import numpy as np
import pytest

from grader.grading import verification
from grader.grading.correct_helpers import imports_used, verification_command
from grader.grading.verification import read_recorded

IMPORTS = (
    "import math\nimport numpy as np\nimport matplotlib.pyplot as plt\nfrom course_lib import check, heatmap"
)


def test_only_the_imports_whose_names_the_cells_use_are_kept():
    cells = ["def spread(x):\n    return np.std(x) * math.sqrt(2)", "def broken(:\n    plt"]
    assert imports_used(IMPORTS, cells) == "import math\nimport numpy as np"
    assert (
        imports_used(IMPORTS, ["heatmap(np.eye(2))"])
        == "import numpy as np\nfrom course_lib import check, heatmap"
    )
    assert imports_used("from torch.nn import *\nimport torch.nn.functional as F", ["x = 1"]) == (
        "from torch.nn import *"
    )


def test_a_job_using_no_course_lib_name_loads_neither_torch_nor_matplotlib_nor_widgets(tmp_path):
    loaded = tmp_path / "loaded.json"
    probe = (
        "import sys, json\n"
        f"json.dump(sorted(name for name in sys.modules if name.split('.')[0] in ('torch', 'matplotlib', "
        f"'ipywidgets')), open({str(loaded)!r}, 'w'))"
    )
    job = tmp_path / "job.json"
    job.write_text(
        json.dumps({"cells": ["import numpy as np", probe], "record": [], "directory": str(tmp_path)})
    )
    finished = subprocess.run(verification_command(job), capture_output=True, text=True)
    assert finished.returncode == 0, finished.stderr
    assert json.loads(loaded.read_text()) == []


def test_a_job_runs_as_course_lib_verify(tmp_path):
    command = verification_command(tmp_path / "job.json")
    assert command[1:3] == ["-m", "course_lib.verify"]


def _npz_member(archive: zipfile.ZipFile, name: str, shape: tuple[int, ...], data_bytes: int) -> None:
    """An .npy member declaring ``shape`` of float64, followed by ``data_bytes`` zero bytes, written in
    pieces so that nothing of its size is ever in memory."""
    with archive.open(name, "w", force_zip64=True) as member:
        np.lib.format.write_array_header_2_0(member, {"descr": "<f8", "fortran_order": False, "shape": shape})
        piece = bytes(2**20)
        for _ in range(data_bytes // len(piece)):
            member.write(piece)


def test_honest_recordings_are_read_back(tmp_path):
    np.savez(tmp_path / "softmax.npz", case0_item0=np.eye(3), case1_item0=np.ones(2))
    (tmp_path / "softmax.errors.json").write_text(json.dumps({"2": "ValueError: no"}))
    first, second, third = read_recorded(tmp_path, "softmax", 3)
    assert np.array_equal(first[0], np.eye(3)) and np.array_equal(second[0], np.ones(2))
    assert third == "ValueError: no"


@pytest.mark.parametrize(
    "shape, data_bytes",
    [((4 * 2**20 // 8,), 4 * 2**20), ((2**40,), 2**20)],
    ids=["unpacks to more than the limit", "header promises more than the limit"],
)
def test_a_recording_that_would_unpack_past_the_limit_is_not_loaded(tmp_path, monkeypatch, shape, data_bytes):
    monkeypatch.setattr(verification, "MAX_RECORDED_BYTES", 2**20)
    with zipfile.ZipFile(tmp_path / "softmax.npz", "w", zipfile.ZIP_DEFLATED) as archive:
        _npz_member(archive, "case0_item0.npy", shape, data_bytes)
    assert (tmp_path / "softmax.npz").stat().st_size < 2**20  # small on disk: a zip bomb
    loaded = []
    monkeypatch.setattr(np, "load", lambda *args, **kwargs: loaded.append(args))
    assert read_recorded(tmp_path, "softmax", 2) == [None, None]
    assert loaded == []


@pytest.mark.parametrize("content", [b"", b"not a zip", b"PK\x03\x04broken"])
def test_a_forged_recording_counts_as_nothing_recorded(tmp_path, content):
    (tmp_path / "softmax.npz").write_bytes(content)
    assert read_recorded(tmp_path, "softmax", 1) == [None]


def test_a_recording_of_objects_is_refused_without_unpickling(tmp_path):
    np.savez(tmp_path / "softmax.npz", case0_item0=np.array([{"a": 1}], dtype=object))
    assert read_recorded(tmp_path, "softmax", 1) == [None]


def test_a_wrong_answer_is_recorded_for_the_class_report_and_a_slow_one_is_cut_short(tmp_path, monkeypatch):
    from course_lib import verify
    from course_lib.registry import get_exercise

    exercise = get_exercise("softmax")
    cases = exercise.make_cases(np.random.default_rng(0))
    (tmp_path / "inputs.json").write_text(
        json.dumps({"softmax": [verify.casefile.encode_inputs(case) for case in cases]})
    )
    monkeypatch.setenv(verify.VERIFY_DIR_ENV, str(tmp_path))
    verify.record_wrong_answer("softmax", lambda x, axis: np.exp(x))
    assert len(read_recorded(tmp_path, "softmax", len(cases))) == len(cases)
    assert all(isinstance(output, tuple) for output in read_recorded(tmp_path, "softmax", len(cases)))

    def never_returns(x, axis):
        while True:
            pass

    monkeypatch.setattr(verify, "WRONG_ANSWER_SECONDS", 0.2)
    (tmp_path / "softmax.npz").unlink()
    verify.record_wrong_answer("softmax", never_returns)
    assert not (tmp_path / "softmax.npz").exists()
