"""An nbgrader course folder, driven through nbgrader's own API.

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
from nbgrader.api import Gradebook, MissingEntry
from nbgrader.apps import NbGraderAPI
from nbgrader.coursedir import CourseDirectory
from nbgrader.dbutil import ALEMBIC_DIR
from nbgrader.plugins.export import CsvExportPlugin
from sqlalchemy.exc import SAWarning

from grader.course.config import GRADEBOOK, KernelSandbox, course_config
from grader.paths import solution_notebook
from grader.results import Findings

SUBMISSION_FILES = ("timestamp.txt", "submission_secret.txt")
"""What nbgrader's exchange leaves beside a submitted notebook, and its later steps carry along."""
# nbgrader 0.9's gradebook triggers these on every autograde; they say nothing about the grades.
warnings.filterwarnings("ignore", message="Object of type <Submitted", category=SAWarning)


class NbgraderError(RuntimeError):
    @property
    def last_line(self) -> str:
        """The last line nbgrader wrote, which says what went wrong."""
        lines = [line.strip() for line in str(self).strip().splitlines() if line.strip()]
        return lines[-1] if lines else str(self)


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


def nbgrader_folder(root: Path, step: str, lesson: str, student: str = ".") -> Path:
    """The folder where nbgrader keeps one lesson's files at ``step`` (source, release, submitted,
    autograded, feedback) in the course at ``root``, by its own CourseDirectory."""
    return Path(CourseDirectory(root=str(root)).format_path(step, student, lesson))


class Course:
    def __init__(self, root: Path, kernel: KernelSandbox | None = None):
        """The nbgrader course in the folder ``root``, its notebooks run as ``kernel`` says (None: in an
        ordinary kernel, for the instructor's own solution notebooks)."""
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.config = course_config(self.root, kernel)
        self.api = NbGraderAPI(config=self.config)

    @classmethod
    def from_template(cls, template: Path, root: Path) -> Course:
        """A course at ``root`` with ``template``'s lessons and its empty gradebook. What else is at
        ``root`` (autograded notebooks of an interrupted run) stays."""
        for step in ("source", "release"):
            shutil.rmtree(root / step, ignore_errors=True)
            shutil.copytree(template / step, root / step)
        shutil.copyfile(template / GRADEBOOK, root / GRADEBOOK)
        return cls(root)

    @staticmethod
    def is_course(folder: Path) -> bool:
        return (folder / GRADEBOOK).is_file()

    @property
    def db_url(self) -> str:
        return self.config.CourseDirectory.db_url

    def notebook(self, step: str, lesson: str, student: str = ".") -> Path:
        """A lesson's notebook at nbgrader's ``step``: the solution ("source"), the learners' version
        ("release"), or one learner's ("submitted", "autograded")."""
        return nbgrader_folder(self.root, step, lesson, student) / f"{lesson}.ipynb"

    def add_lesson(self, lesson: str) -> Path:
        """Copy the lesson's solution in as nbgrader source and generate the student version."""
        source = self.notebook("source", lesson)
        source.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(solution_notebook(lesson), source)
        self._run(self.api.generate_assignment(lesson), f"generate_assignment {lesson}")
        return self.released(lesson)

    def released(self, lesson: str) -> Path:
        return self.notebook("release", lesson)

    def submit(self, student: str, lesson: str, notebook: Path | nbformat.NotebookNode) -> Path:
        """Put ``notebook`` (a file, or one already read) where nbgrader grades it; return that path."""
        # Known to the gradebook before grading, so a notebook nbgrader cannot read still gets its row
        # (score 0) in the export instead of vanishing from it.
        with Gradebook(self.db_url) as gradebook:
            gradebook.update_or_create_student(student)
        target = self.notebook("submitted", lesson, student)
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(notebook, Path):
            shutil.copyfile(notebook, target)
        else:
            nbformat.write(notebook, target)
        return target

    def autograde(self, lesson: str, student: str) -> Path:
        self._run(self.api.autograde(lesson, student), f"autograde {lesson} for {student}")
        return self.notebook("autograded", lesson, student)

    def feedback(self, lesson: str, student: str) -> Path:
        self._run(self.api.generate_feedback(lesson, student), f"generate_feedback {lesson} for {student}")
        return nbgrader_folder(self.root, "feedback", lesson, student) / f"{lesson}.html"

    def override_score(self, lesson: str, student: str, grade_id: str, score: float) -> None:
        """Replace nbgrader's automatic score of a test cell, which export and feedback then use. The manual
        score stays free for the instructor's own grading in formgrader, which then counts instead."""
        with Gradebook(self.db_url) as gradebook:
            grade = gradebook.find_grade(grade_id, lesson, lesson, student)
            grade.auto_score = score
            gradebook.db.commit()

    def cell_grades(self, lesson: str, student: str) -> dict[str, tuple[float | None, float | None]]:
        """``{grade_id: (auto_score, manual_score)}`` of every graded cell of one submission."""
        with Gradebook(self.db_url) as gradebook:
            submission = gradebook.find_submission_notebook(lesson, lesson, student)
            return {grade.name: (grade.auto_score, grade.manual_score) for grade in submission.grades}

    def record_grades(
        self,
        lesson: str,
        student: str,
        cell_grades: dict[str, tuple[float | None, float | None]],
        findings: Findings | None = None,
    ) -> None:
        """Write grades found elsewhere (a worker's own throwaway gradebook) into this course's gradebook,
        with what grading found (``record_findings``). A manual score already there (the instructor's, from
        formgrader) is kept.

        The student gets a row even without grades, so a notebook nbgrader could not read still appears,
        with 0 points, in the export instead of vanishing from it.
        """
        with Gradebook(self.db_url) as gradebook:
            gradebook.update_or_create_student(student)
            if not cell_grades:
                return
            timestamp = self._submission_timestamp(lesson, student)
            gradebook.update_or_create_submission(
                lesson, student, **({"timestamp": timestamp} if timestamp else {})
            )
            for grade_id, (auto_score, manual_score) in cell_grades.items():
                grade = gradebook.find_grade(grade_id, lesson, lesson, student)
                grade.auto_score = auto_score
                if grade.manual_score is None:
                    grade.manual_score = manual_score
                # nbgrader's SaveAutoGrades rule: a person looks again where one graded before, or where
                # nothing could grade automatically; formgrader lists those as needing manual grading.
                grade.needs_manual_grade = grade.manual_score is not None or auto_score is None
            if findings is not None:
                record_findings(gradebook, lesson, student, findings)
            gradebook.db.commit()

    def record_findings(self, lesson: str, student: str, findings: Findings) -> None:
        with Gradebook(self.db_url) as gradebook:
            record_findings(gradebook, lesson, student, findings)
            gradebook.db.commit()

    def carry_submission_files(self, lesson: str, student: str) -> None:
        """The exchange's record of a submission (when it was submitted, and the secret its feedback is
        filed under) copied beside its autograded notebook and its feedback, as nbgrader's autograde and
        generate_feedback do: ``nbgrader release_feedback`` reads them there."""
        submitted = nbgrader_folder(self.root, "submitted", lesson, student)
        for name in SUBMISSION_FILES:
            if (submitted / name).is_file():
                for step in ("autograded", "feedback"):
                    target = nbgrader_folder(self.root, step, lesson, student)
                    target.mkdir(parents=True, exist_ok=True)
                    shutil.copyfile(submitted / name, target / name)

    def _submission_timestamp(self, lesson: str, student: str):
        """When the learner submitted, as nbgrader's exchange recorded it (None outside an exchange)."""
        return self.api.coursedir.get_existing_timestamp(
            str(nbgrader_folder(self.root, "submitted", lesson, student))
        )

    def export_csv(self, destination: Path) -> None:
        exporter = CsvExportPlugin(to=str(destination))
        with Gradebook(self.db_url) as gradebook:
            exporter.export(gradebook)

    @staticmethod
    def _run(result: dict, what: str) -> None:
        if not result.get("success"):
            detail = result.get("error") or result.get("log") or "no details"
            raise NbgraderError(f"nbgrader {what} failed:\n{detail}")


def record_findings(gradebook: Gradebook, lesson: str, student: str, findings: Findings) -> None:
    """``findings`` into the open ``gradebook``, where formgrader shows them: each diagnosis as its answer
    cell's automatic comment (the instructor's own comment stays beside it), and the notebook flagged. A
    regrade never takes a flag away: the instructor may have set it, and they clear it in formgrader."""
    for answer_cell, comment in findings.comments.items():
        try:
            gradebook.find_comment(answer_cell, lesson, lesson, student).auto_comment = comment
        except MissingEntry:
            continue  # an answer cell this submission does not have: intake's notes say why
    if findings.flagged:
        gradebook.find_submission_notebook(lesson, lesson, student).flagged = True
