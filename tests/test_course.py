"""The throwaway nbgrader course: gradebooks it creates are the ones nbgrader itself would create."""

import sqlite3
import subprocess
import sys
from pathlib import Path

from nbgrader.dbutil import _temp_alembic_ini

from grader.course import Course


def test_a_new_gradebook_is_stamped_with_the_revision_the_alembic_command_reports(tmp_path):
    Course(tmp_path / "course").add_lesson("01_smoothing")
    with sqlite3.connect(tmp_path / "course" / "gradebook.db") as gradebook:
        (stamped,) = gradebook.execute("SELECT version_num FROM alembic_version").fetchone()
    with _temp_alembic_ini(f"sqlite:///{tmp_path / 'other.db'}") as alembic_ini:
        alembic = Path(sys.executable).parent / "alembic"
        printed = subprocess.check_output([alembic, "-c", alembic_ini, "heads"], text=True)
    assert stamped == printed.split()[0]
