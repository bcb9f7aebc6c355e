"""The one process that writes a batch's output folder: the instructor's nbgrader course in OUT/nbgrader
(its gradebook never sees two writers), the autograded notebooks, the feedback pages, the journal, and at
the end grades.csv and results.json."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

from grader.batch.journal import Journal, cell_grades_of, entry_for, result_of
from grader.batch.screening import screen_class, write_screening
from grader.course import Course
from grader.course.feedback import feedback_page
from grader.course.folder import nbgrader_folder
from grader.results import Findings, GradedSubmission, SkippedFile, SubmissionResult


class Writer:
    def __init__(
        self, out: Path, template: Path, journal: Journal, make_feedback: bool, course: Path | None = None
    ):
        """Writes into ``out``, and into a gradebook started from ``template``'s in OUT/nbgrader, or, given
        the instructor's nbgrader ``course``, into that course's gradebook, autograded and feedback folders
        (its manual grades kept). With ``make_feedback``, makes the feedback pages the workers did not."""
        self.out, self.journal, self.make_feedback = out, journal, make_feedback
        self.in_place = course is not None
        self.course = (
            Course(course) if course is not None else Course.from_template(template, out / "nbgrader")
        )
        self.answers: dict[tuple[str, str], dict[str, str]] = {}
        """Every saved submission's answers, by (student, lesson), for screening the class at the end."""

    def resume(self, entry: dict) -> None:
        """Put a submission an earlier run graded (its journal ``entry``) back in the gradebook."""
        self.course.record_grades(
            entry["assignment"], entry["student_id"], cell_grades_of(entry), Findings.of(result_of(entry))
        )
        self.answers[entry["student_id"], entry["assignment"]] = entry.get("answers", {})

    def save(self, graded: GradedSubmission, sha256: str) -> None:
        """Write what grading one notebook produced; the journal line last, so that a run killed before it
        grades the notebook again and rebuilds the gradebook without it."""
        result = graded.result
        student, lesson = result.student_id, result.assignment
        self.course.record_grades(lesson, student, graded.cell_grades, Findings.of(result))
        self.answers[student, lesson] = graded.answers
        feedback = graded.feedback_html
        if graded.autograded_notebook is not None:
            notebook = self.course.notebook("autograded", lesson, student)
            notebook.parent.mkdir(parents=True, exist_ok=True)
            notebook.write_text(graded.autograded_notebook, encoding="utf-8")
            if self.in_place:
                self.course.carry_submission_files(lesson, student)
            if self.make_feedback and graded.cell_grades:
                feedback = feedback_page(self.course, result)
        if feedback is not None:
            pages = [self.out / "feedback" / student / f"{lesson}.html"]
            if self.in_place:  # where nbgrader's release_feedback finds it
                pages.append(
                    nbgrader_folder(self.course.root, "feedback", lesson, student) / f"{lesson}.html"
                )
            for page in pages:
                page.parent.mkdir(parents=True, exist_ok=True)
                page.write_text(feedback, encoding="utf-8")
        self.journal.append(entry_for(graded, sha256))

    def finish(
        self, results: list[SubmissionResult], skipped: list[SkippedFile] = (), screen_similarity: bool = True
    ) -> None:
        """grades.csv (nbgrader's export of the gradebook), results.json (every exercise's points and why,
        then one entry per file that was not graded, ``{"skipped": path, "reason": ...}``) and
        similarity.json (the class screened for shared work, unless ``screen_similarity`` is off)."""
        self.course.export_csv(self.out / "grades.csv")
        document = [asdict(result) for result in results]
        document += [{"skipped": file.path, "reason": file.reason} for file in skipped]
        (self.out / "results.json").write_text(json.dumps(document, indent=1) + "\n")
        write_screening(self.out, screen_class(results, self.answers) if screen_similarity else None)
