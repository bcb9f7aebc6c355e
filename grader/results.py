"""What grading produces, as plain data: a worker on any machine returns it whole, the one process that
owns the output folder writes it, and the journal, results.json and the report read it back."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

JOURNAL = "journal.jsonl"
"""OUT's journal of graded submissions, one JSON line each (``grader.batch.journal``)."""
SIMILARITY = "similarity.json"
"""OUT's screening for shared work (``grader.batch.screening``)."""


@dataclass(frozen=True)
class Submission:
    student_id: str
    assignment: str
    notebook: Path


@dataclass(frozen=True)
class SkippedFile:
    """A file under SUBMISSIONS that is not graded, and why: recorded in results.json and the report."""

    path: str
    """The file's path relative to SUBMISSIONS."""
    reason: str


@dataclass
class ExerciseResult:
    exercise_id: str
    score: float
    max_score: float
    message: str
    mistake: str | None = None
    """The registry's id of the diagnosed mistake, when the outputs match a known one."""
    failed_case_kinds: list[str] = field(default_factory=list)
    """The kinds of case (``course_lib.case_kinds``) the answer fails."""
    cases_passed: int = 0
    cases: int = 0
    output_digest: str | None = None
    """For a wrong answer that matches no named mistake: a digest of its numbers on the hidden cases, which
    two learners share only if their answers return the same numbers (``grader.similarity``)."""


@dataclass
class SubmissionResult:
    student_id: str
    assignment: str
    score: float = 0.0
    max_score: float = 0.0
    exercises: list[ExerciseResult] = field(default_factory=list)
    problem: str | None = None
    flags: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    """What intake found wrong with the notebook's shape and did about it (grader/grading/intake.py)."""

    @classmethod
    def from_dict(cls, data: dict) -> SubmissionResult:
        exercises = [ExerciseResult(**exercise) for exercise in data.get("exercises", [])]
        return cls(**{**data, "exercises": exercises})

    def summary_line(self) -> str:
        """One line for the instructor's terminal: the score, what lost points, and anything to look at."""
        line = f"{self.student_id:>16} {self.assignment:<16} {self.score:g}/{self.max_score:g}"
        lost = [exercise.exercise_id for exercise in self.exercises if exercise.score < exercise.max_score]
        if lost:
            line += f"  lost points on: {', '.join(lost)}"
        if self.problem:
            line += f"  PROBLEM: {self.problem}"
        for flag in self.flags:
            line += f"  FLAGGED: {flag}"
        for note in self.notes:
            line += f"  NOTE: {note}"
        return line


@dataclass(frozen=True)
class Findings:
    """What grading found, in the places formgrader shows it: each exercise's diagnosis as the automatic
    comment on its answer cell (None where the exercise earned its points), and a flag on the notebook when
    something there is for the instructor to look at."""

    comments: dict[str, str | None]
    """answer cell grade_id -> the diagnosis, or None."""
    flagged: bool = False

    @classmethod
    def of(cls, result: SubmissionResult) -> Findings:
        from course_lib.registry import get_exercise

        return cls(
            {
                get_exercise(exercise.exercise_id).answer_cell_id: None
                if exercise.score >= exercise.max_score
                else exercise.message
                for exercise in result.exercises
            },
            flagged=bool(result.flags),
        )


CellGrades = dict[str, tuple[float | None, float | None]]
"""nbgrader's ``{grade_id: (auto_score, manual_score)}`` of one submission's graded cells."""


@dataclass
class GradedSubmission:
    """Everything grading one notebook produced."""

    result: SubmissionResult
    cell_grades: CellGrades = field(default_factory=dict)
    """Empty when nbgrader could not grade."""
    feedback_html: str | None = None
    autograded_notebook: str | None = None
    answers: dict[str, str] = field(default_factory=dict)
    """Each exercise's answer cell as graded, by exercise id, for screening the class for shared work."""
