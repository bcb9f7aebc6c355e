"""The journal, ``OUT/journal.jsonl``: one JSON line per finished submission, appended and flushed to disk
one at a time, which makes a killed batch resumable. Lines are never removed (``--regrade`` only stops a
run from resuming from them), so the journal is also each learner's history of graded attempts."""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict
from pathlib import Path

from grader.results import JOURNAL, CellGrades, GradedSubmission, Submission, SubmissionResult

__all__ = ["JOURNAL", "Journal", "cell_grades_of", "entry_for", "fingerprint", "result_of"]


def fingerprint(submission: Submission) -> str:
    return hashlib.sha256(submission.notebook.read_bytes()).hexdigest()


class Journal:
    def __init__(self, path: Path):
        self.path = path

    def entries(self) -> dict[tuple[str, str], dict]:
        """The latest entry of every (student, lesson); a line cut short by a kill is dropped."""
        if not self.path.is_file():
            return {}
        data = self.path.read_bytes()
        complete = data[: data.rfind(b"\n") + 1]
        if complete != data:
            self.path.write_bytes(complete)
        entries = {}
        for line in complete.splitlines():
            entry = json.loads(line)
            entries[(entry["student_id"], entry["assignment"])] = entry
        return entries

    def append(self, entry: dict) -> None:
        with self.path.open("ab") as journal:
            journal.write(json.dumps(entry).encode() + b"\n")
            journal.flush()
            os.fsync(journal.fileno())


def entry_for(graded: GradedSubmission, sha256: str) -> dict:
    """The journal's line for ``graded``, whose notebook's SHA-256 is ``sha256``: what a resumed batch
    needs to put it back in the gradebook and results.json without grading it again."""
    return {
        "student_id": graded.result.student_id,
        "assignment": graded.result.assignment,
        "notebook_sha256": sha256,
        "result": asdict(graded.result),
        "cell_grades": graded.cell_grades,
        "answers": graded.answers,
    }


def result_of(entry: dict) -> SubmissionResult:
    return SubmissionResult.from_dict(entry["result"])


def cell_grades_of(entry: dict) -> CellGrades:
    return {grade_id: tuple(scores) for grade_id, scores in entry["cell_grades"].items()}
