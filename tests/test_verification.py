"""Verification jobs: the helper re-runs import what their code uses, and no more."""

import json
import subprocess

from grader.verification import imports_used, verification_command

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


def test_a_job_using_no_course_lib_name_runs_without_the_package_front_door(tmp_path):
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
    finished = subprocess.run(verification_command(job, "import numpy as np"), capture_output=True, text=True)
    assert finished.returncode == 0, finished.stderr
    assert json.loads(loaded.read_text()) == []


def test_a_job_importing_from_course_lib_gets_the_whole_package(tmp_path):
    command = verification_command(tmp_path / "job.json", "from course_lib import heatmap")
    assert command[1:3] == ["-m", "course_lib.verify"]
