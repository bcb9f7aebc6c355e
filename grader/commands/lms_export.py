"""``python -m grader lms-export OUT --lms canvas|moodle --into FOLDER``: a graded class's grades and
feedback in the files the LMS's import takes (``grader.lms.export``). Exit code 1 when OUT cannot be
exported, with the reason; learners who cannot be matched are printed and listed in FOLDER/unmatched.csv."""

from __future__ import annotations

from pathlib import Path

from grader.lms.export import (
    ExportError,
    export_canvas,
    export_moodle,
    read_canvas_roster,
    read_class_grades,
    read_moodle_roster,
)


def lms_export(out: Path, lms: str, into: Path, match_on: str | None, roster_path: Path | None) -> int:
    try:
        grades = read_class_grades(out)
        if lms == "canvas":
            roster = read_canvas_roster(roster_path) if roster_path else None
            exported = export_canvas(grades, out, into, match_on or "id", roster)
        else:
            roster = read_moodle_roster(roster_path) if roster_path else None
            exported = export_moodle(grades, out, into, match_on or "participant", roster)
    except ExportError as error:
        print(f"lms-export: {error}")
        return 1
    for note in exported.notes:
        print(f"note: {note}")
    for path in exported.files:
        print(f"wrote {path}")
    if exported.unmatched:
        listed = into / "unmatched.csv"
        count = len(exported.unmatched)
        print(f"WARNING: {count} graded learner(s) left out of the import, listed in {listed}:")
        for entry in exported.unmatched:
            print(f"  {entry.student_id}: {entry.reason}")
    return 0
