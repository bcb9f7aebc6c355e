"""Finding a class's submissions in nbgrader's submitted layout, ``<student_id>/<lesson>/<lesson>.ipynb``,
and saying why every other notebook there is not graded."""

from __future__ import annotations

from pathlib import Path

from grader.paths import lessons
from grader.results import SkippedFile, Submission


def find_submissions(folder: Path) -> tuple[list[Submission], list[SkippedFile]]:
    """The submissions under ``folder`` and every notebook there that does not fit the layout, with why."""
    known = set(lessons())
    found, skipped = [], []
    for notebook in sorted(folder.rglob("*.ipynb")):
        relative = notebook.relative_to(folder)
        # Folders starting with a dot are Jupyter's checkpoints, an LMS's or a version control's own.
        if any(part.startswith(".") for part in relative.parts[:-1]):
            continue
        reason = _why_not_graded(relative, known)
        if reason is None:
            found.append(Submission(relative.parts[0], relative.parts[1], notebook))
        else:
            skipped.append(SkippedFile(str(relative), reason))
    return found, skipped


def _why_not_graded(relative: Path, known: set[str]) -> str | None:
    if len(relative.parts) != 3:
        return "not in a <student_id>/<lesson>/ folder, so nobody's submission"
    assignment = relative.parts[1]
    if relative.stem != assignment:
        return f"in a folder for {assignment}, the notebook must be {assignment}.ipynb"
    if assignment not in known:
        return f"{assignment!r} is not a lesson of this course ({', '.join(sorted(known))})"
    return None
