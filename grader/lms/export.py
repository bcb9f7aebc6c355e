"""``python -m grader lms-export OUT --lms canvas|moodle --into FOLDER``: a graded class, back to the LMS.

Reads what ``autograde`` wrote to OUT (``grades.csv``, nbgrader's CSV export, with the grades as the gradebook
holds them, hand grading in formgrader included once re-exported; ``results.json``, which says who handed
what in; ``feedback/<student_id>/<lesson>.html``) and writes files the LMS's own import screens take:

- **Canvas** (Grades > Import): ``canvas-grades.csv``, one row per learner and one column per lesson, laid
  out as Canvas's gradebook importer reads it (app/models/gradebook_importer.rb): the header starts with
  ``Student`` and ``ID``, the learner columns end with ``Section``, then one column per assignment, titled
  ``<name> (<assignment id>)`` to match an existing assignment (a bare name matches by title or creates
  one); a second row ``Points Possible`` gives each lesson's maximum. Learners are matched on ``ID`` (the
  Canvas user id, which ``collect`` reads from Canvas's file names), ``SIS User ID`` or ``SIS Login ID``
  (``--match-on``; the hub's usernames, where those are the institution's logins). An empty cell leaves the
  grade in Canvas as it is, so a lesson a learner did not hand in changes nothing. Feedback pages go to
  ``canvas-feedback/<lesson>/<name>_<id>_<lesson>_feedback.html``, to attach in SpeedGrader.
- **Moodle**, matched on participant ids (``--match-on participant``, the default: the number ``collect``
  reads from Moodle's file names): Moodle numbers participants per assignment, so there is one file per
  lesson, the assignment's grading worksheet (Assignment > View all submissions > Upload grading
  worksheet; mod/assign/feedback/offline): ``moodle-<lesson>-grading-worksheet.csv`` with ``Identifier``
  (``Participant <id>``), ``Grade`` and ``Last modified (grade)``; and ``moodle-<lesson>-feedback.zip``
  (Upload multiple feedback files in a zip) with ``<Full name>_<id>_assignfeedback_file/<file>``, the
  layout mod/assign/feedback/file/importziplib.php reads.
- **Moodle**, matched on a user field (``--match-on username``, ``idnumber`` or ``email``: the hub's
  usernames, say): ``moodle-grades.csv`` for the gradebook's CSV import (Grades > Import > CSV file), one
  row per learner, one column per lesson, every row as long as the header (grade/import/csv); on the
  import screen map the identity column to that user field and each lesson column to its grade item.
  Feedback pages go to ``moodle-feedback/<lesson>/<name>_<id>_<lesson>_feedback.html``.

``--roster`` takes the LMS's own gradebook export (Canvas: Grades > Export; Moodle: Grades > Export > Plain
text file): the learners' names, sections and other identity columns are taken from it, lesson columns
are named as its matching assignment columns, and every graded learner is looked up in it. A graded
learner who cannot be matched (not in the roster, or an id of the wrong kind) is never dropped: they are
listed on the terminal and in ``unmatched.csv`` with their grades and the reason, and left out of the import
file so that the import does not stop on them.
"""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
import zipfile
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path


class ExportError(ValueError):
    """OUT or the roster is not what the export reads; the message says what was expected."""


CANVAS_COLUMNS = ("Student", "ID", "SIS User ID", "SIS Login ID", "Section")
CANVAS_MATCH_ON = {"id": "ID", "sis-user-id": "SIS User ID", "sis-login-id": "SIS Login ID"}
# Canvas's importer recognises this row by "Points Possible" in its first cell; its exports indent it so.
CANVAS_POINTS_POSSIBLE = "    Points Possible"
CANVAS_ASSIGNMENT_COLUMN = re.compile(r"(?P<title>.*) \((?P<id>\d+)\)")
CANVAS_POLICY_CELL = re.compile(r"\s*(Muted|Manual Posting.*)?\s*", re.IGNORECASE)

MOODLE_MATCH_ON = {
    "participant": None,
    "username": "Username",
    "idnumber": "ID number",
    "email": "Email address",
}
MOODLE_WORKSHEET_COLUMNS = ("Identifier", "Full name", "Email address", "Grade", "Maximum Grade")
MOODLE_MODIFIED_COLUMN = "Last modified (grade)"
MOODLE_PARTICIPANT = "Participant "
"""How Moodle writes a participant id in a grading worksheet (its string 'hiddenuser')."""
MOODLE_FEEDBACK_FOLDER = "assignfeedback_file"
"""The feedback plugin a feedback zip's folder names: plugin type, then plugin name."""
# Moodle's gradebook export: "<activity>: <item> (Real)" per grade item, then "Course total (Real)".
MOODLE_GRADE_COLUMN = re.compile(r".+: .+|Course total.*|Last downloaded from this course")


@dataclass
class ClassGrades:
    """The grades of a class as nbgrader's gradebook export holds them."""

    lessons: list[str]
    max_scores: dict[str, float]
    scores: dict[str, dict[str, float]]
    """student id -> lesson -> score, only for lessons the learner handed in."""
    names: dict[str, tuple[str, str]] = field(default_factory=dict)
    """student id -> (first name, last name), where the gradebook knows them."""
    emails: dict[str, str] = field(default_factory=dict)


@dataclass
class Unmatched:
    student_id: str
    reason: str


@dataclass
class Exported:
    files: list[Path]
    unmatched: list[Unmatched]
    notes: list[str]


def read_class_grades(out: Path) -> ClassGrades:
    """``OUT/grades.csv``; a lesson counts as handed in where ``OUT/results.json`` lists it (autograde's
    output) or, without that file (``nbgrader export`` in an instructor's course), where nbgrader holds a
    submission: its export gives every learner a 0, with no timestamp, for each lesson not handed in."""
    path = out / "grades.csv"
    if not path.is_file():
        raise ExportError(
            f"{path} not found: `python -m grader autograde SUBMISSIONS --out {out}` writes it "
            "(or `nbgrader export --to grades.csv` in an nbgrader course)"
        )
    reader = csv.DictReader(io.StringIO(path.read_text(encoding="utf-8")))
    required = (
        "assignment",
        "timestamp",
        "student_id",
        "first_name",
        "last_name",
        "email",
        "score",
        "max_score",
    )
    missing = [column for column in required if column not in (reader.fieldnames or [])]
    if missing:
        raise ExportError(f"{path} lacks the column(s) {', '.join(missing)} of nbgrader's CSV export")
    rows = list(reader)
    handed_in = _handed_in(out / "results.json")
    grades = ClassGrades(sorted({row["assignment"] for row in rows}), {}, {})
    for number, row in enumerate(rows, start=2):
        student, lesson = row["student_id"], row["assignment"]
        try:
            score, max_score = float(row["score"]), float(row["max_score"])
        except ValueError:
            raise ExportError(
                f"{path}, line {number}: score {row['score']!r} / {row['max_score']!r} is not a number"
            ) from None
        grades.max_scores[lesson] = max_score
        grades.scores.setdefault(student, {})
        first, last, email = (_known(row[name]) for name in ("first_name", "last_name", "email"))
        if first or last:
            grades.names[student] = (first, last)
        if email:
            grades.emails[student] = email
        submitted = (
            (student, lesson) in handed_in if handed_in is not None else bool(_known(row["timestamp"]))
        )
        if submitted:
            grades.scores[student][lesson] = score
    return grades


def _handed_in(results: Path) -> set[tuple[str, str]] | None:
    if not results.is_file():
        return None
    try:
        entries = json.loads(results.read_text(encoding="utf-8"))
        return {(entry["student_id"], entry["assignment"]) for entry in entries if "skipped" not in entry}
    except (ValueError, TypeError, KeyError) as error:
        raise ExportError(f"{results} is not the results.json autograde writes: {error}") from None


def _known(value: str | None) -> str:
    """nbgrader's export leaves an unknown name or time empty; a cell reading 'None' is taken as empty too."""
    value = (value or "").strip()
    return "" if value == "None" else value


@dataclass
class Roster:
    """An LMS's gradebook export: its learner columns, and each learner's row."""

    path: Path
    identity_columns: list[str]
    grade_columns: list[str]
    rows: list[dict[str, str]]

    def index(self, column: str) -> dict[str, dict[str, str]]:
        if column not in self.identity_columns:
            raise ExportError(
                f"{self.path} has no {column!r} column to match learners on (its learner columns: "
                f"{', '.join(self.identity_columns)}); export the gradebook with it, or match on another "
                "with --match-on"
            )
        return {row[column].strip(): row for row in self.rows if row.get(column, "").strip()}


def read_canvas_roster(path: Path) -> Roster:
    header, rows = _read_csv(path)
    if header[:2] != ["Student", "ID"] or "Section" not in header:
        raise ExportError(
            f"{path} is not Canvas's gradebook export (Grades > Export): its header must start with "
            f"Student, ID and name Section among the learner columns; it starts with {', '.join(header[:5])}"
        )
    identity = header[: header.index("Section") + 1]
    # Rows Canvas's importer skips too: the export's "Points Possible" row, and a row of posting policies.
    learners = [
        row
        for row in rows
        if "Points Possible" not in row["Student"]
        and not all(CANVAS_POLICY_CELL.fullmatch(cell) for cell in row.values())
    ]
    return Roster(path, identity, header[len(identity) :], learners)


def read_moodle_roster(path: Path) -> Roster:
    header, rows = _read_csv(path)
    first_grade = next(
        (i for i, column in enumerate(header) if MOODLE_GRADE_COLUMN.fullmatch(column)), len(header)
    )
    if first_grade == 0 or "First name" not in header[:first_grade]:
        raise ExportError(
            f"{path} is not Moodle's gradebook export (Grades > Export > Plain text file): its header must "
            "start with the learners' fields (First name, Last name, ...); it starts with "
            + ", ".join(header[:5])
        )
    return Roster(path, header[:first_grade], header[first_grade:], rows)


def _read_csv(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    if not path.is_file():
        raise ExportError(f"roster {path}: no such file (expected the LMS's gradebook export, a .csv)")
    # LMS exports often start with a byte-order mark, which utf-8-sig drops.
    text = path.read_bytes().decode("utf-8-sig", errors="replace")
    reader = csv.DictReader(io.StringIO(text))
    rows = list(reader)
    if not reader.fieldnames:
        raise ExportError(f"roster {path} is empty (expected the LMS's gradebook export, a .csv)")
    return [name.strip() for name in reader.fieldnames], [
        {key.strip(): (value or "") for key, value in row.items() if key is not None} for row in rows
    ]


def export_canvas(
    grades: ClassGrades, out: Path, into: Path, match_on: str = "id", roster: Roster | None = None
) -> Exported:
    """``canvas-grades.csv``, ``canvas-feedback/`` and, if needed, ``unmatched.csv`` in ``into``."""
    column = _choice(match_on, CANVAS_MATCH_ON, "Canvas")
    into.mkdir(parents=True, exist_ok=True)
    notes, unmatched, matched = [], [], {}
    if roster is None:
        identity = list(CANVAS_COLUMNS)
        lesson_columns = {lesson: lesson for lesson in grades.lessons}
        for student in _graded(grades):
            if column == "ID" and not student.isdigit():
                kind = "an anonymous-grading id" if student.startswith("anon_") else "not a number"
                unmatched.append(Unmatched(student, f"Canvas user ids are numbers and {student!r} is {kind}"))
                continue
            first, last = grades.names.get(student, ("", ""))
            name = f"{last}, {first}".strip(", ") or student
            matched[student] = {"Student": name, column: student}
    else:
        identity = roster.identity_columns
        lesson_columns = _canvas_lesson_columns(grades.lessons, roster, notes)
        by_id = roster.index(column)
        for student in _graded(grades):
            if student in by_id:
                matched[student] = by_id[student]
            else:
                unmatched.append(
                    Unmatched(student, f"no learner in {roster.path.name} has {column} {student}")
                )
        notes += _not_handed_in(by_id, grades, column)
    header = identity + [lesson_columns[lesson] for lesson in grades.lessons]
    points = (
        [CANVAS_POINTS_POSSIBLE]
        + [""] * (len(identity) - 1)
        + [_number(grades.max_scores[lesson]) for lesson in grades.lessons]
    )
    rows = [
        [row.get(name, "") for name in identity] + _cells(grades, student) for student, row in matched.items()
    ]
    files = [_write_csv(into / "canvas-grades.csv", header, [points, *rows])]
    for student, row in matched.items():
        # Named as Canvas names its downloads, <name>_<user id>_...: Canvas reads the user id from the first
        # part of a file name that is all digits.
        name_part = (
            "" if row.get("Student") == student else re.sub(r"[^a-z0-9]", "", row.get("Student", "").lower())
        )
        for lesson in grades.scores[student]:
            name = f"{name_part}_{row.get('ID') or student}_{lesson}_feedback.html".lstrip("_")
            files += _copy_feedback(out, student, lesson, into / "canvas-feedback" / lesson / name)
    files += _write_unmatched(into, grades, unmatched)
    return Exported(files, unmatched, notes)


def _canvas_lesson_columns(lessons: list[str], roster: Roster, notes: list[str]) -> dict[str, str]:
    """The roster's own column for each lesson (``<title> (<assignment id>)``), else the bare lesson id."""
    titled = {}
    for name in roster.grade_columns:
        match = CANVAS_ASSIGNMENT_COLUMN.fullmatch(name)
        if match:
            titled.setdefault(match["title"], name)
    columns = {}
    for lesson in lessons:
        columns[lesson] = titled.get(lesson, lesson)
        if lesson not in titled:
            notes.append(
                f"{roster.path.name} has no assignment titled {lesson}: Canvas's import will offer to create "
                "it (or to match it to an assignment by hand)"
            )
    return columns


def export_moodle(
    grades: ClassGrades, out: Path, into: Path, match_on: str = "participant", roster: Roster | None = None
) -> Exported:
    """Per lesson a grading worksheet and a feedback zip (participant ids), or one gradebook CSV."""
    column = _choice(match_on, MOODLE_MATCH_ON, "Moodle")
    into.mkdir(parents=True, exist_ok=True)
    if column is None:
        if roster is not None:
            raise ExportError(
                "--roster does not go with --match-on participant: Moodle numbers participants per "
                "assignment, and its grading worksheet import matches on those numbers alone"
            )
        return _moodle_worksheets(grades, out, into)
    if roster is None:
        identity, lesson_columns, matched, unmatched, notes = _moodle_without_roster(grades, column)
    else:
        identity, lesson_columns, matched, unmatched, notes = _moodle_on_roster(grades, roster, column)
    header = identity + [lesson_columns[lesson] for lesson in grades.lessons]
    rows = [
        [row.get(name, "") for name in identity] + _cells(grades, student) for student, row in matched.items()
    ]
    files = [_write_csv(into / "moodle-grades.csv", header, rows)]
    notes.append(
        f"on Moodle's import screen, map {column!r} to the user field {match_on} and each lesson column to "
        "its grade item"
    )
    for student, row in matched.items():
        name = _moodle_name(row.get("First name", ""), row.get("Last name", row.get("Surname", "")))
        for lesson in grades.scores[student]:
            target = (
                into / "moodle-feedback" / lesson / f"{name}_{student}_{lesson}_feedback.html".lstrip("_")
            )
            files += _copy_feedback(out, student, lesson, target)
    files += _write_unmatched(into, grades, unmatched)
    return Exported(files, unmatched, notes)


def _moodle_without_roster(grades: ClassGrades, column: str):
    """The gradebook CSV's identity columns, lesson columns, matched rows, unmatched learners and notes
    when the student ids are the Moodle user field ``column`` itself."""
    notes, unmatched, matched = [], [], {}
    identity = ["First name", "Last name", column]
    lesson_columns = {lesson: lesson for lesson in grades.lessons}
    for student in _graded(grades):
        if column == "Email address" and "@" not in student:
            unmatched.append(Unmatched(student, f"{student!r} is not an email address"))
            continue
        first, last = grades.names.get(student, ("", ""))
        matched[student] = {"First name": first, "Last name": last, column: student}
    return identity, lesson_columns, matched, unmatched, notes


def _moodle_on_roster(grades: ClassGrades, roster: Roster, column: str):
    """The same, each learner looked up in the LMS's own gradebook export by ``column``."""
    notes, unmatched, matched = [], [], {}
    identity = roster.identity_columns
    lesson_columns = {}
    for lesson in grades.lessons:
        item = next(
            (
                name
                for name in roster.grade_columns
                if re.fullmatch(rf"[^:]+: {re.escape(lesson)}( \(.*\))?", name)
            ),
            None,
        )
        lesson_columns[lesson] = item or lesson
        if item is None:
            notes.append(f"{roster.path.name} has no grade item {lesson}: map its column to a new grade item")
    by_id = roster.index(column)
    for student in _graded(grades):
        if student in by_id:
            matched[student] = by_id[student]
        else:
            unmatched.append(Unmatched(student, f"no learner in {roster.path.name} has {column} {student}"))
    notes += _not_handed_in(by_id, grades, column)
    return identity, lesson_columns, matched, unmatched, notes


def _moodle_worksheets(grades: ClassGrades, out: Path, into: Path) -> Exported:
    unmatched = [
        Unmatched(student, f"Moodle participant ids are numbers and {student!r} is not")
        for student in _graded(grades)
        if not student.isdigit()
    ]
    participants = [student for student in _graded(grades) if student.isdigit()]
    # The worksheet import skips a row whose grade changed in Moodle after this time, unless told otherwise.
    modified = datetime.now().strftime("%Y-%m-%d %H:%M:%S")
    files = []
    for lesson in grades.lessons:
        handed_in = [student for student in participants if lesson in grades.scores[student]]
        rows = [
            [
                f"{MOODLE_PARTICIPANT}{student}",
                " ".join(filter(None, grades.names.get(student, ("", "")))),
                grades.emails.get(student, ""),
                _number(grades.scores[student][lesson]),
                _number(grades.max_scores[lesson]),
                modified,
            ]
            for student in handed_in
        ]
        header = [*MOODLE_WORKSHEET_COLUMNS, MOODLE_MODIFIED_COLUMN]
        files.append(_write_csv(into / f"moodle-{lesson}-grading-worksheet.csv", header, rows))
        pages = {
            student: out / "feedback" / student / f"{lesson}.html"
            for student in handed_in
            if (out / "feedback" / student / f"{lesson}.html").is_file()
        }
        if pages:
            archive = into / f"moodle-{lesson}-feedback.zip"
            with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as feedback:
                for student, page in pages.items():
                    name = _moodle_name(*grades.names.get(student, ("", ""))) or MOODLE_PARTICIPANT.strip()
                    feedback.write(page, f"{name}_{student}_{MOODLE_FEEDBACK_FOLDER}/{lesson}_feedback.html")
            files.append(archive)
    files += _write_unmatched(into, grades, unmatched)
    return Exported(files, unmatched, [])


def _moodle_name(first: str, last: str) -> str:
    """A full name as Moodle puts it in front of the participant id: the id follows the first underscore."""
    return " ".join(filter(None, (first, last))).replace("_", " ").replace("/", " ")


def _choice(match_on: str, choices: dict[str, str | None], lms: str) -> str | None:
    if match_on not in choices:
        raise ExportError(
            f"--match-on {match_on!r}: {lms} learners are matched on one of {', '.join(choices)}"
        )
    return choices[match_on]


def _graded(grades: ClassGrades) -> list[str]:
    return sorted(student for student, scores in grades.scores.items() if scores)


def _cells(grades: ClassGrades, student: str) -> list[str]:
    # Empty, not 0, for a lesson not handed in: both LMSs then leave that grade as it is.
    return [
        _number(grades.scores[student][lesson]) if lesson in grades.scores[student] else ""
        for lesson in grades.lessons
    ]


def _number(value: float) -> str:
    return f"{value:g}"


def _not_handed_in(by_id: dict[str, dict[str, str]], grades: ClassGrades, column: str) -> list[str]:
    missing = sorted(set(by_id) - set(_graded(grades)))
    return (
        [f"no graded lesson for {len(missing)} learner(s) of the roster ({column}: {', '.join(missing)})"]
        if missing
        else []
    )


def _copy_feedback(out: Path, student: str, lesson: str, target: Path) -> list[Path]:
    page = out / "feedback" / student / f"{lesson}.html"
    if not page.is_file():
        return []
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(page, target)
    return [target]


def _write_csv(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def _write_unmatched(into: Path, grades: ClassGrades, unmatched: list[Unmatched]) -> list[Path]:
    path = into / "unmatched.csv"
    path.unlink(missing_ok=True)
    if not unmatched:
        return []
    rows = [[entry.student_id, entry.reason, *_cells(grades, entry.student_id)] for entry in unmatched]
    return [_write_csv(path, ["student_id", "reason", *grades.lessons], rows)]
