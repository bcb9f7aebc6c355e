"""``python -m grader autograde SUBMISSIONS --out OUT``: grade a class with nbgrader, explain every score.

SUBMISSIONS is nbgrader's submitted layout, ``<student_id>/<assignment_id>/<assignment_id>.ipynb``, or an
LMS's zip of one lesson's notebooks. OUT receives ``grades.csv`` (nbgrader's export format),
``results.json`` (per exercise: points and the diagnosis), ``feedback/<student_id>/<assignment_id>.html``,
``similarity.json`` (pairs of learners whose work is worth a look; ``--no-similarity`` turns it off) and the
class report.

Exit codes: 0 graded; 1 nothing to grade; 2 an archive that cannot be collected; 3 some submissions not
graded because a worker was lost (run again to grade them); 4 the grading environment is broken (nothing
graded or written).
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

from grader.batch import grade_batch
from grader.batch.submissions import find_submissions
from grader.lms.collect import CollectError, collect_archive
from grader.report import write_report
from grader.results import SkippedFile, Submission
from grader.sandbox import describe_isolation
from grader.settings import GradingSettings, Limits


def autograde(
    submissions: Path,
    out: Path,
    limits: Limits | None = None,
    workers: int | None = None,
    scheduler: str | None = None,
    regrade: bool = False,
    lesson: str | None = None,
    naming: str | None = None,
    screen_similarity: bool = True,
    course: Path | None = None,
) -> int:
    """Grade the notebooks in ``submissions`` (nbgrader's submitted layout, or an LMS's zip of one
    ``lesson``'s notebooks named as ``naming`` says) into ``out``; or, given the instructor's nbgrader
    ``course``, the notebooks in its submitted/ folder into its own gradebook, autograded/ and feedback/
    (and results.json, the journal and the report into ``out``)."""
    submissions, out = submissions.resolve(), out.resolve()
    # Hidden from learner code: every learner's work (an LMS's zip too) and the gradebooks.
    hidden = [submissions, out, *([course.resolve()] if course else [])]
    if submissions.is_file():
        collected = _collect(submissions, lesson, naming, out / "collected")
        if collected is None:
            return 2
        submissions = collected
    found, skipped = _find(submissions)
    if not found:
        return 1
    if scheduler is None:
        workers = workers or os.cpu_count() or 1
        print(f"learner code runs in: {describe_isolation()}")
    settings = _settings(limits or Limits(), hidden, workers, scheduler, in_place=course is not None)
    batch = grade_batch(
        found,
        out,
        settings,
        workers,
        scheduler,
        regrade,
        check_environment=True,
        skipped=skipped,
        screen_similarity=screen_similarity,
        course=course,
    )
    if batch.environment_problem is not None:
        print(f"autograde: STOPPED, {batch.environment_problem}", file=sys.stderr)
        return 4
    print(f"class report: {write_report(out)}")
    for warning in batch.warnings:
        print(warning, file=sys.stderr)
    if batch.unfinished:
        print(
            f"{len(batch.unfinished)} submission(s) could not be graded because a grading worker was lost; "
            "what finished is saved: run the same command again to grade the rest"
        )
        return 3
    print(f"graded {len(batch.results)} submission(s): {out / 'grades.csv'}, feedback in {out / 'feedback'}")
    return 0


def _find(submissions: Path) -> tuple[list[Submission], list[SkippedFile]]:
    """The submissions to grade, each file skipped printed with why, and a word when there are none."""
    found, skipped = find_submissions(submissions)
    for file in skipped:
        print(f"skipped {submissions / file.path}: {file.reason}")
    if not found:
        expected = "<student_id>/<assignment>/<assignment>.ipynb"
        print(f"no submissions found under {submissions} (expected {expected})")
    return found, skipped


def _settings(
    limits: Limits, hidden: list[Path], workers: int | None, scheduler: str | None, in_place: bool
) -> GradingSettings:
    """On one machine, each kernel gets its share of the cores and the writer makes the feedback pages; on a
    Dask cluster, the workers make them, except for a course graded in place (``in_place``), whose pages
    show the manual grades that only its own gradebook holds."""
    return GradingSettings(
        limits,
        hidden_folders=hidden,
        kernel_threads=None if scheduler else max(1, (os.cpu_count() or 1) // workers),
        feedback_by_worker=scheduler is not None and not in_place,
    )


def _collect(archive: Path, lesson: str | None, naming: str | None, folder: Path) -> Path | None:
    """An LMS's zip laid out as nbgrader's submitted folder (``grader.lms.collect``); None, said why, if
    not."""
    if lesson is None:
        print(f"{archive} is a file: to grade an LMS's zip of submissions, say which lesson with --lesson")
        return None
    shutil.rmtree(folder, ignore_errors=True)
    try:
        collected = collect_archive(archive, lesson, folder, naming)
    except CollectError as error:
        print(f"autograde: {error}")
        return None
    for note in collected.notes:
        print(f"note: {note}")
    return collected.folder
