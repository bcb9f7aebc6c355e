"""A throwaway nbgrader course directory, driven through nbgrader's own API.

nbgrader does the bookkeeping it is good at: generate_assignment (student version, checksums, gradebook
entries), autograde, generate_feedback and the CSV export. This module only lays out the folders it
expects and turns its failures into exceptions.
"""

from __future__ import annotations

import shutil
import warnings
from pathlib import Path

import nbformat
import nbgrader.api
from alembic.config import Config as AlembicConfig
from alembic.script import ScriptDirectory
from nbgrader.api import Gradebook
from nbgrader.apps import NbGraderAPI
from nbgrader.dbutil import ALEMBIC_DIR
from nbgrader.plugins.export import CsvExportPlugin
from sqlalchemy.exc import SAWarning
from traitlets.config import Config, PyFileConfigLoader

from grader.paths import NBGRADER_CONFIG, solution_notebook

# nbgrader 0.9's gradebook triggers these on every autograde; they say nothing about the grades.
warnings.filterwarnings("ignore", message="Object of type <Submitted", category=SAWarning)


class NbgraderError(RuntimeError):
    pass


def alembic_head() -> str:
    """The revision ``alembic heads`` prints for nbgrader's gradebook migrations, found in this process.

    nbgrader stamps every gradebook it creates with it by running the ``alembic`` command, a new Python
    process that takes about 2 s (and fails where the venv's scripts are not on PATH); a batch creates one
    gradebook, and each remote Dask worker one more.
    """
    config = AlembicConfig()
    config.set_main_option("script_location", ALEMBIC_DIR)
    return ScriptDirectory.from_config(config).get_current_head()


nbgrader.api.get_alembic_version = alembic_head


def load_config(root: Path) -> Config:
    config = PyFileConfigLoader(NBGRADER_CONFIG.name, path=str(NBGRADER_CONFIG.parent)).load_config()
    config.CourseDirectory.root = str(root)
    config.CourseDirectory.db_url = f"sqlite:///{root / 'gradebook.db'}"
    return config


class Course:
    def __init__(
        self,
        root: Path,
        kernel_sandbox: dict | None = None,
        cell_timeout: int | None = None,
        notebook_timeout: int | None = None,
        recordings: tuple[Path, Path] | None = None,
    ):
        """``kernel_sandbox``: settings of ``grader.sandbox.SandboxedKernelManager`` to run the notebooks'
        kernels in a sandbox (None: an ordinary kernel, for the instructor's own solution notebooks).
        ``cell_timeout``, ``notebook_timeout``: wall-clock seconds for one cell, and for all of them.
        ``recordings``: the folder the kernel records outputs in, and the one they are kept in after each
        cell (``grader.execute.GuardedExecute``)."""
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.config = load_config(self.root)
        if cell_timeout is not None:
            self.config.Execute.timeout = cell_timeout
        if notebook_timeout is not None:
            self.config.GuardedExecute.notebook_timeout = notebook_timeout
        if recordings is not None:
            self.config.GuardedExecute.recording_folder = str(recordings[0])
            self.config.GuardedExecute.kept_recordings_folder = str(recordings[1])
        if kernel_sandbox is not None:
            self.config.Execute.kernel_manager_class = "grader.sandbox.SandboxedKernelManager"
            for name, value in kernel_sandbox.items():
                setattr(self.config.SandboxedKernelManager, name, value)
        self.api = NbGraderAPI(config=self.config)

    @property
    def db_url(self) -> str:
        return self.config.CourseDirectory.db_url

    def add_lesson(self, lesson: str) -> Path:
        """Copy the lesson's solution in as nbgrader source and generate the student version."""
        source = self.root / "source" / lesson / f"{lesson}.ipynb"
        source.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(solution_notebook(lesson), source)
        self._run(self.api.generate_assignment(lesson), f"generate_assignment {lesson}")
        return self.released(lesson)

    def released(self, lesson: str) -> Path:
        return self.root / "release" / lesson / f"{lesson}.ipynb"

    def submit(self, student: str, lesson: str, notebook: Path | nbformat.NotebookNode) -> Path:
        """Put ``notebook`` (a file, or one already read) where nbgrader grades it; return that path."""
        # Known to the gradebook before grading, so a notebook nbgrader cannot read still gets its row
        # (score 0) in the export instead of vanishing from it.
        with Gradebook(self.db_url) as gradebook:
            gradebook.update_or_create_student(student)
        target = self.root / "submitted" / student / lesson / f"{lesson}.ipynb"
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(notebook, Path):
            shutil.copyfile(notebook, target)
        else:
            nbformat.write(notebook, target)
        return target

    def autograde(self, lesson: str, student: str) -> Path:
        self._run(self.api.autograde(lesson, student), f"autograde {lesson} for {student}")
        return self.root / "autograded" / student / lesson / f"{lesson}.ipynb"

    def feedback(self, lesson: str, student: str) -> Path:
        self._run(self.api.generate_feedback(lesson, student), f"generate_feedback {lesson} for {student}")
        return self.root / "feedback" / student / lesson / f"{lesson}.html"

    def override_score(self, lesson: str, student: str, grade_id: str, score: float) -> None:
        """Set a test cell's score by hand (nbgrader's manual score), which export and feedback then use."""
        with Gradebook(self.db_url) as gradebook:
            grade = gradebook.find_grade(grade_id, lesson, lesson, student)
            grade.manual_score = score
            gradebook.db.commit()

    def cell_grades(self, lesson: str, student: str) -> dict[str, tuple[float | None, float | None]]:
        """``{grade_id: (auto_score, manual_score)}`` of every graded cell of one submission."""
        with Gradebook(self.db_url) as gradebook:
            submission = gradebook.find_submission_notebook(lesson, lesson, student)
            return {grade.name: (grade.auto_score, grade.manual_score) for grade in submission.grades}

    def record_grades(
        self, lesson: str, student: str, cell_grades: dict[str, tuple[float | None, float | None]]
    ) -> None:
        """Write grades found elsewhere (a worker's own throwaway gradebook) into this course's gradebook.

        The student gets a row even without grades, so a notebook nbgrader could not read still appears,
        with 0 points, in the export instead of vanishing from it.
        """
        with Gradebook(self.db_url) as gradebook:
            gradebook.update_or_create_student(student)
            if not cell_grades:
                return
            gradebook.update_or_create_submission(lesson, student)
            for grade_id, (auto_score, manual_score) in cell_grades.items():
                grade = gradebook.find_grade(grade_id, lesson, lesson, student)
                grade.auto_score, grade.manual_score = auto_score, manual_score
            gradebook.db.commit()

    def export_csv(self, destination: Path) -> None:
        exporter = CsvExportPlugin(to=str(destination))
        with Gradebook(self.db_url) as gradebook:
            exporter.export(gradebook)

    @staticmethod
    def _run(result: dict, what: str) -> None:
        if not result.get("success"):
            detail = result.get("error") or result.get("log") or "no details"
            raise NbgraderError(f"nbgrader {what} failed:\n{detail}")
