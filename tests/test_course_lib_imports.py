"""course_lib loads a name only when it is used, so the numpy lessons and grading jobs never pay for torch."""

import subprocess
import sys

import pytest

import course_lib


def _modules_after(statement: str) -> set[str]:
    script = f"{statement}\nimport sys\nprint(' '.join(sys.modules))"
    printed = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    return set(printed.stdout.split())


@pytest.mark.parametrize(
    "statement",
    [
        "from course_lib import check, noisy_series, heatmap, needs_exercise, smoothing_explorer",
        "from course_lib import attention_explorer, scale_explorer, sarah_sentence, KEY_FEATURES",
        "from course_lib.verify import record",
    ],
)
def test_numpy_lessons_import_no_torch(statement):
    assert "torch" not in _modules_after(statement)


def test_every_exported_name_loads():
    for name in course_lib.__all__:
        assert getattr(course_lib, name) is not None


def test_an_unknown_name_says_so():
    with pytest.raises(AttributeError, match="no attribute 'chek'"):
        course_lib.chek  # noqa: B018


def test_check_is_the_function_even_after_its_module_is_imported():
    statement = (
        "from course_lib.check import run_check\nfrom course_lib import check\n"
        "assert callable(check) and check.__module__ == 'course_lib.check'"
    )
    subprocess.run([sys.executable, "-c", statement], check=True)
