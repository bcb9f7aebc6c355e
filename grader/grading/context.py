"""``Grading``: everything one submission's grading knows, handed from step to step."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from course_lib.registry import Exercise, lesson_exercises
from course_lib.verify import VERIFY_DIR_ENV, VERIFY_INPUTS_ENV
from grader.course import Course, KernelSandbox
from grader.course.folder import nbgrader_folder
from grader.grading.verification import LessonCases, Verification
from grader.results import GradedSubmission, Submission, SubmissionResult
from grader.sandbox import Sandbox
from grader.settings import GradingSettings


@dataclass(frozen=True)
class Folders:
    """One submission's scratch folders, beside its nbgrader course. Learner code can write (and so empty,
    with ``rm -rf /tmp/*``) only ``sandbox`` and ``recording``; it reads ``inputs`` and cannot change them;
    each cell's recordings are moved, as soon as it ends, to ``recorded``, which it cannot see."""

    course: Path
    sandbox: Path
    inputs: Path
    recording: Path
    recorded: Path

    @classmethod
    def beside(cls, course_root: Path) -> Folders:
        names = ("sandbox", "inputs", "recording", "recorded")
        return cls(course_root, *(course_root.parent / name for name in names))


@dataclass
class Grading:
    submission: Submission
    """The submission; from intake on, its notebook is the repaired copy nbgrader grades."""
    lesson_cases: LessonCases
    settings: GradingSettings
    folders: Folders
    course: Course | None
    """The nbgrader course it is graded in; None inside nbgrader's own autograde
    (``grader.grading.preprocessor``), which keeps its own books."""
    exercises: list[Exercise]
    result: SubmissionResult
    finished: bool = False
    """Set by a step after which there is nothing left to grade (``stop``)."""
    autograded: Path | None = None
    """nbgrader's autograded notebook, once it exists."""
    answers: dict[str, str] = field(default_factory=dict)
    """Each exercise's answer cell as graded, by exercise id."""
    scores: dict[str, float] = field(default_factory=dict)
    """nbgrader's score of each graded cell, by grade id (a manual score over the automatic one)."""
    messages: dict[str, str] = field(default_factory=dict)
    """What each test cell printed, by grade id."""
    cells_that_deleted_recordings: list[int] = field(default_factory=list)
    verifications: dict[str, Verification] = field(default_factory=dict)
    """Each exercise's verdict outside the notebook, by exercise id."""
    graded: GradedSubmission = field(init=False)

    def __post_init__(self):
        self.graded = GradedSubmission(self.result)

    @classmethod
    def start(
        cls, course_root: Path, submission: Submission, lesson_cases: LessonCases, settings: GradingSettings
    ) -> Grading:
        """Grading of ``submission`` in the nbgrader course at ``course_root`` (a copy of the batch's
        template), its kernel in a sandbox made from ``settings``."""
        folders = Folders.beside(course_root)
        lesson_cases.write_inputs(folders.inputs)
        exercises = lesson_exercises(submission.assignment)
        result = SubmissionResult(submission.student_id, submission.assignment)
        result.max_score = float(sum(exercise.points for exercise in exercises))
        working_folder = nbgrader_folder(
            course_root, "autograded", submission.assignment, submission.student_id
        )
        kernel = kernel_sandbox(folders, working_folder, settings)
        return cls(
            submission, lesson_cases, settings, folders, Course(course_root, kernel), exercises, result
        )

    @property
    def student(self) -> str:
        return self.submission.student_id

    @property
    def lesson(self) -> str:
        return self.submission.assignment

    def stop(self, problem: str) -> None:
        """End grading here: the submission is not graded, for ``problem``'s reason."""
        self.result.problem = problem
        self.finished = True


def kernel_sandbox(folders: Folders, working_folder: Path, settings: GradingSettings) -> KernelSandbox:
    """The sandbox a submission's kernel runs in, from ``working_folder``, recording into ``folders``."""
    environment = {VERIFY_DIR_ENV: str(folders.recording), VERIFY_INPUTS_ENV: str(folders.inputs)}
    if settings.kernel_threads is not None:
        threads = str(settings.kernel_threads)
        environment |= dict.fromkeys(("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"), threads)
    sandbox = Sandbox(
        writable=[folders.sandbox, working_folder, folders.recording],
        hidden=settings.hidden_folders,
        limits=settings.limits,
        environment=environment,
        read_only=[folders.inputs],
    )
    return KernelSandbox(sandbox, working_folder, folders.recording, folders.recorded)
