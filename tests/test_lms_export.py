"""A graded class back to the LMS (grader/lms/export.py): the files are read here the way Canvas's
and Moodle's import screens read them, rule for rule from their code (Canvas: app/models/
gradebook_importer.rb and Assignment#infer_comment_context_from_filename; Moodle: grade/import/csv,
mod/assign/feedback/offline/importgradeslib.php and mod/assign/feedback/file/importziplib.php)."""

from __future__ import annotations

import csv
import io
import json
import re
import zipfile
from datetime import datetime

import pytest

from grader.cli import main
from grader.lms.export import (
    ExportError,
    export_canvas,
    export_moodle,
    read_canvas_roster,
    read_class_grades,
    read_moodle_roster,
)

LESSONS = ("01_smoothing", "03_qkv")
MAX_SCORES = {"01_smoothing": 6.0, "03_qkv": 10.0}


def write_out(out, handed_in: dict[tuple[str, str], float], students: list[str], names=None):
    """An autograde OUT: grades.csv as nbgrader's CsvExportPlugin writes it (every student x every lesson, 0
    and no timestamp where nothing was handed in), results.json and a feedback page per submission."""
    names = names or {}
    out.mkdir(parents=True, exist_ok=True)
    columns = "assignment,duedate,timestamp,student_id,last_name,first_name,email,raw_score,"
    columns += "late_submission_penalty,score,max_score"
    with open(out / "grades.csv", "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns.split(","))
        writer.writeheader()
        for lesson in LESSONS:
            for student in students:
                score = handed_in.get((student, lesson))
                first, last = names.get(student, ("", ""))
                writer.writerow(
                    {
                        "assignment": lesson,
                        "duedate": "",
                        "timestamp": "2024-03-05 09:07:31" if score is not None else "",
                        "student_id": student,
                        "last_name": last,
                        "first_name": first,
                        "email": "",
                        "raw_score": score or 0.0,
                        "late_submission_penalty": 0.0,
                        "score": score or 0.0,
                        "max_score": MAX_SCORES[lesson],
                    }
                )
    results = [
        {"student_id": s, "assignment": lesson, "score": score} for (s, lesson), score in handed_in.items()
    ]
    results.append({"skipped": "stray.ipynb", "reason": "not in a <student_id>/<lesson>/ folder"})
    (out / "results.json").write_text(json.dumps(results))
    for student, lesson in handed_in:
        page = out / "feedback" / student / f"{lesson}.html"
        page.parent.mkdir(parents=True, exist_ok=True)
        page.write_text(f"<html><body>feedback for {student} on {lesson}</body></html>")
    return out


def rows_of(path) -> list[list[str]]:
    return list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"))))


# --- Canvas's gradebook importer, as its code reads a CSV --------------------------------------------------


CANVAS_NON_ASSIGNMENT = re.compile(
    "Current Score|Current Points|Current Grade|Final Score|Final Points|Final Grade|Override Score|"
    "Override Grade|Override Status"
)


def canvas_import(path, students: dict[int, str], sis_logins: dict[str, int], assignments: dict[int, str]):
    """What Canvas's import screen makes of ``path`` in a course with ``students`` (user id -> name),
    their SIS logins and ``assignments`` (id -> title): grades by (user id, assignment title), the
    assignments it would create, the rows it could not match to a student, and the points possible."""
    header, *rows = rows_of(path)
    assert len(header) > 3 and "Student" in header[0] and "ID" in header[1], f"invalid header row: {header}"
    student_columns = 3
    if re.search(r"SIS\s+Login\s+ID", header[2]):
        student_columns, login_column = 4, 2
    elif re.search(r"SIS\s+User\s+ID", header[2]) and re.search(r"SIS\s+Login\s+ID", header[3]):
        student_columns, login_column = 5, 3
    else:
        login_column = None
    assert "Section" in header[student_columns - 1], f"invalid header row: the learner columns end {header}"
    columns = [
        (index, name)
        for index, name in enumerate(header)
        if index >= student_columns and not CANVAS_NON_ASSIGNMENT.search(name)
    ]
    titles, created = {}, []
    for index, name in columns:
        match = re.fullmatch(r"(.*)\s\((\d+)\)", name)
        if match and int(match[2]) in assignments:
            titles[index] = assignments[int(match[2])]
        elif name in assignments.values():
            titles[index] = name
        else:
            titles[index] = name
            created.append(name)
    grades, unknown, points = {}, [], {}
    for row in rows:
        if "Points Possible" in row[0]:
            points = {titles[index]: row[index] for index, _ in columns}
            continue
        user_id = int(row[1]) if row[1].strip().isdigit() else None
        if user_id not in students and login_column is not None:
            user_id = sis_logins.get(row[login_column])
        if user_id not in students:
            user_id = next((uid for uid, name in students.items() if name == row[0]), None)
        if user_id is None:
            unknown.append(row[0])
            continue
        for index, _ in columns:
            grades[(user_id, titles[index])] = row[index].strip()
    return grades, created, unknown, points


def canvas_feedback_target(filename: str) -> str | None:
    """The user id Canvas reads from a file's name: the first part of it that is all digits."""
    user_id = next((part for part in filename.split("_") if re.fullmatch(r"\d+", part)), None)
    return user_id


# --- Moodle's importers ----------------------------------------------------------------------------------


def moodle_gradebook_import(path, map_from: str, users: dict[str, int]) -> dict[tuple[int, str], str]:
    """Moodle's CSV grade import with ``map_from`` mapped to a user field whose values are ``users``: every
    line as long as the header (else 'csvweirdcolumns'), every learner found (else 'usermappingerror')."""
    header, *rows = rows_of(path)
    assert all(len(row) == len(header) for row in rows), "csvweirdcolumns: rows and header differ in length"
    key = header.index(map_from)
    grades = {}
    for row in rows:
        assert row[key] in users, f"usermappingerror: no user with {map_from} {row[key]!r}"
        for index, name in enumerate(header):
            if index != key and row[index] and (name in LESSONS or name.startswith("Assignment: ")):
                grades[(users[row[key]], name)] = row[index]
    return grades


def moodle_worksheet_import(path, participants: dict[int, str]) -> dict[str, str]:
    """The assignment's grading worksheet upload: the columns found by their (English) names, the participant
    number after 'Participant ', rows of unknown participants passed over; grade by user."""
    header, *rows = rows_of(path)
    for required in ("Identifier", "Grade", "Last modified (grade)"):
        assert required in header, f"the worksheet lacks {required!r}"
    identifier, grade, modified = (header.index(n) for n in ("Identifier", "Grade", "Last modified (grade)"))
    grades = {}
    for row in rows:
        participant = int(row[identifier][len("Participant ") :])
        datetime.fromisoformat(row[modified])  # strtotime reads it
        if participant in participants:
            grades[participants[participant]] = row[grade]
    return grades


def moodle_feedback_import(archive, participants: dict[int, str]) -> dict[str, list[str]]:
    """Upload multiple feedback files in a zip: each path part split on '_' into at most 5; the first with a
    numeric participant id, a plugin type and name names the learner and the plugin; the rest is the file."""
    found = {}
    with zipfile.ZipFile(archive) as opened:
        for name in opened.namelist():
            parts = name.split("/")
            while parts:
                info = parts.pop(0).split("_", 4)
                if len(info) < 4 or not info[1].isdigit() or int(info[1]) not in participants:
                    continue
                assert (info[2], info[3]) == ("assignfeedback", "file"), (
                    f"{name}: not the file feedback plugin"
                )
                rest = [info[4]] if len(info) == 5 else [""]
                found.setdefault(participants[int(info[1])], []).append("/".join(rest + parts).strip("/"))
                break
    return found


# --- the tests -----------------------------------------------------------------------------------------


def test_canvas_without_roster_matches_on_canvas_user_ids(tmp_path):
    out = write_out(
        tmp_path / "out",
        {
            ("48213", "01_smoothing"): 6.0,
            ("48213", "03_qkv"): 7.5,
            ("48214", "03_qkv"): 10.0,
            ("anon_Xy3z9", "03_qkv"): 4.0,
        },
        ["48213", "48214", "anon_Xy3z9", "59999"],
        names={"48213": ("Jane", "Doe")},
    )
    exported = export_canvas(read_class_grades(out), out, tmp_path / "lms")

    course = {48213: "Doe, Jane", 48214: "Roe, John", 59999: "Poe, Ed"}
    grades, created, unknown, points = canvas_import(tmp_path / "lms" / "canvas-grades.csv", course, {}, {})
    assert created == list(LESSONS)  # a bare lesson id: Canvas's import screen offers to create it
    assert unknown == []
    assert points == {"01_smoothing": "6", "03_qkv": "10"}
    assert grades == {
        (48213, "01_smoothing"): "6",
        (48213, "03_qkv"): "7.5",
        # not handed in: empty, which leaves the grade in Canvas as it is
        (48214, "01_smoothing"): "",
        (48214, "03_qkv"): "10",
    }
    [anonymous] = exported.unmatched
    assert anonymous.student_id == "anon_Xy3z9" and "anonymous-grading id" in anonymous.reason
    assert rows_of(tmp_path / "lms" / "unmatched.csv") == [
        ["student_id", "reason", *LESSONS],
        ["anon_Xy3z9", anonymous.reason, "", "4"],
    ]
    feedback = sorted(p.relative_to(tmp_path / "lms").as_posix() for p in (tmp_path / "lms").rglob("*.html"))
    assert feedback == [
        "canvas-feedback/01_smoothing/doejane_48213_01_smoothing_feedback.html",
        "canvas-feedback/03_qkv/48214_03_qkv_feedback.html",
        "canvas-feedback/03_qkv/doejane_48213_03_qkv_feedback.html",
    ]
    assert all(canvas_feedback_target(path.rsplit("/", 1)[1]) in {"48213", "48214"} for path in feedback)
    assert "feedback for 48214 on 03_qkv" in (tmp_path / "lms" / feedback[1]).read_text()


CANVAS_EXPORT = (
    "Student,ID,SIS User ID,SIS Login ID,Section,01_smoothing (1001),Current Score,Final Score\n"
    "    Points Possible,,,,,6,(read only),(read only)\n"
    '"Doe, Jane",48213,S-1,jdoe,Section A,3,50,50\n'
    '"Roe, John",48214,S-2,jroe,Section B,,,\n'
    '"Poe, Ed",48215,S-3,epoe,Section A,,,\n'
)


def test_canvas_with_its_gradebook_export_as_roster_matches_hub_usernames_on_sis_login(tmp_path):
    out = write_out(
        tmp_path / "out",
        {
            ("jdoe", "01_smoothing"): 5.0,
            ("jdoe", "03_qkv"): 9.0,
            ("jroe", "03_qkv"): 2.0,
            ("stranger", "03_qkv"): 8.0,
        },
        ["jdoe", "jroe", "stranger"],
    )
    (tmp_path / "export.csv").write_text("\ufeff" + CANVAS_EXPORT)  # Canvas's exports start with a BOM
    roster = read_canvas_roster(tmp_path / "export.csv")
    exported = export_canvas(read_class_grades(out), out, tmp_path / "lms", "sis-login-id", roster)

    course = {48213: "Doe, Jane", 48214: "Roe, John", 48215: "Poe, Ed"}
    grades, created, unknown, points = canvas_import(
        tmp_path / "lms" / "canvas-grades.csv",
        course,
        {"jdoe": 48213, "jroe": 48214, "epoe": 48215},
        {1001: "01_smoothing"},
    )
    header = rows_of(tmp_path / "lms" / "canvas-grades.csv")[0]
    assert header == [
        "Student",
        "ID",
        "SIS User ID",
        "SIS Login ID",
        "Section",
        "01_smoothing (1001)",
        "03_qkv",
    ]
    assert created == ["03_qkv"]
    assert unknown == []
    assert grades == {
        (48213, "01_smoothing"): "5",
        (48213, "03_qkv"): "9",
        (48214, "01_smoothing"): "",
        (48214, "03_qkv"): "2",
    }
    assert [(entry.student_id, entry.reason) for entry in exported.unmatched] == [
        ("stranger", "no learner in export.csv has SIS Login ID stranger")
    ]
    assert any("no assignment titled 03_qkv" in note for note in exported.notes)
    assert any("epoe" in note for note in exported.notes)  # in the roster, nothing graded
    assert (tmp_path / "lms" / "canvas-feedback" / "03_qkv" / "roejohn_48214_03_qkv_feedback.html").is_file()


def test_moodle_participant_ids_give_a_grading_worksheet_and_feedback_zip_per_lesson(tmp_path):
    out = write_out(
        tmp_path / "out",
        {
            ("1234567", "01_smoothing"): 6.0,
            ("1234567", "03_qkv"): 3.0,
            ("7654321", "03_qkv"): 10.0,
            ("bob", "03_qkv"): 1.0,
        },
        ["1234567", "7654321", "bob"],
        names={"1234567": ("Jane", "Doe_Smith")},
    )
    exported = export_moodle(read_class_grades(out), out, tmp_path / "lms")

    participants = {1234567: "jane", 7654321: "john"}
    lms = tmp_path / "lms"
    assert moodle_worksheet_import(lms / "moodle-03_qkv-grading-worksheet.csv", participants) == {
        "jane": "3",
        "john": "10",
    }
    assert moodle_worksheet_import(lms / "moodle-01_smoothing-grading-worksheet.csv", participants) == {
        "jane": "6"
    }
    assert rows_of(lms / "moodle-03_qkv-grading-worksheet.csv")[1][:5] == [
        "Participant 1234567",
        "Jane Doe_Smith",
        "",
        "3",
        "10",
    ]
    assert moodle_feedback_import(lms / "moodle-03_qkv-feedback.zip", participants) == {
        "jane": ["03_qkv_feedback.html"],
        "john": ["03_qkv_feedback.html"],
    }
    with zipfile.ZipFile(lms / "moodle-03_qkv-feedback.zip") as opened:
        names = sorted(opened.namelist())
        assert names[0] == "Jane Doe Smith_1234567_assignfeedback_file/03_qkv_feedback.html"
        assert "feedback for 7654321" in opened.read(names[1]).decode()
    assert [entry.student_id for entry in exported.unmatched] == ["bob"]


MOODLE_EXPORT = (
    '"First name","Last name","ID number",Institution,Department,"Email address",'
    '"Assignment: 03_qkv (Real)","Course total (Real)","Last downloaded from this course"\n'
    "Jane,Doe,,Uni,CS,jane@example.org,-,-,1700000000\n"
    "John,Roe,,Uni,CS,john@example.org,-,-,1700000000\n"
)


def test_moodle_gradebook_csv_matched_on_email_with_its_export_as_roster(tmp_path):
    out = write_out(
        tmp_path / "out",
        {
            ("jane@example.org", "01_smoothing"): 4.0,
            ("jane@example.org", "03_qkv"): 10.0,
            ("ghost@example.org", "03_qkv"): 5.0,
        },
        ["jane@example.org", "ghost@example.org", "john@example.org"],
    )
    (tmp_path / "export.csv").write_text(MOODLE_EXPORT)
    roster = read_moodle_roster(tmp_path / "export.csv")
    exported = export_moodle(read_class_grades(out), out, tmp_path / "lms", "email", roster)

    csv_path = tmp_path / "lms" / "moodle-grades.csv"
    header = rows_of(csv_path)[0]
    assert header == [
        "First name",
        "Last name",
        "ID number",
        "Institution",
        "Department",
        "Email address",
        "01_smoothing",
        "Assignment: 03_qkv (Real)",
    ]
    grades = moodle_gradebook_import(
        csv_path, "Email address", {"jane@example.org": 2, "john@example.org": 3}
    )
    assert grades == {(2, "01_smoothing"): "4", (2, "Assignment: 03_qkv (Real)"): "10"}
    assert [entry.student_id for entry in exported.unmatched] == ["ghost@example.org"]
    assert (tmp_path / "lms" / "unmatched.csv").is_file()
    assert (
        tmp_path / "lms" / "moodle-feedback" / "03_qkv" / "Jane Doe_jane@example.org_03_qkv_feedback.html"
    ).is_file()


def test_moodle_gradebook_csv_on_hub_usernames_without_roster(tmp_path):
    out = write_out(
        tmp_path / "out", {("alice", "03_qkv"): 10.0, ("bob", "01_smoothing"): 2.0}, ["alice", "bob"]
    )
    exported = export_moodle(read_class_grades(out), out, tmp_path / "lms", "username")
    csv_path = tmp_path / "lms" / "moodle-grades.csv"
    assert moodle_gradebook_import(csv_path, "Username", {"alice": 7, "bob": 8}) == {
        (7, "03_qkv"): "10",
        (8, "01_smoothing"): "2",
    }
    assert exported.unmatched == []
    assert not (tmp_path / "lms" / "unmatched.csv").exists()


def test_the_command_writes_the_files_and_lists_unmatched_learners(tmp_path, capsys):
    out = write_out(
        tmp_path / "out", {("48213", "03_qkv"): 10.0, ("alice", "03_qkv"): 3.0}, ["48213", "alice"]
    )
    assert main(["lms-export", str(out), "--lms", "canvas", "--into", str(tmp_path / "lms")]) == 0
    printed = capsys.readouterr().out
    assert f"wrote {tmp_path / 'lms' / 'canvas-grades.csv'}" in printed
    assert "WARNING: 1 graded learner(s) left out of the import" in printed
    assert "alice: Canvas user ids are numbers and 'alice' is not a number" in printed


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--lms", "canvas"], "grades.csv not found: `python -m grader autograde SUBMISSIONS --out"),
        (
            ["--lms", "canvas", "--match-on", "email"],
            "--match-on 'email': Canvas learners are matched on one of id",
        ),
        (["--lms", "canvas", "--roster", "MOODLE"], "is not Canvas's gradebook export (Grades > Export)"),
        (["--lms", "canvas", "--roster", "CANVAS", "--match-on", "sis-user-id"], None),
        (["--lms", "moodle", "--roster", "CANVAS"], "is not Moodle's gradebook export"),
        (["--lms", "moodle", "--roster", "MOODLE"], "--roster does not go with --match-on participant"),
        (["--lms", "moodle", "--roster", "MOODLE", "--match-on", "username"], "has no 'Username' column"),
        (["--lms", "moodle", "--roster", "NOWHERE", "--match-on", "email"], "NOWHERE: no such file"),
    ],
)
def test_bad_input_gets_a_clear_message(tmp_path, capsys, arguments, message):
    out = tmp_path / "out"
    if message is None or "grades.csv" not in message:
        write_out(out, {("48213", "03_qkv"): 1.0}, ["48213"])
    (tmp_path / "MOODLE").write_text(MOODLE_EXPORT)
    (tmp_path / "CANVAS").write_text(CANVAS_EXPORT)
    arguments = [str(tmp_path / a) if a in {"MOODLE", "CANVAS", "NOWHERE"} else a for a in arguments]
    status = main(["lms-export", str(out), "--into", str(tmp_path / "lms"), *arguments])
    printed = capsys.readouterr().out
    if message is None:  # the sanity case: that roster and column do fit
        assert status == 0, printed
    else:
        assert status == 1
        assert message in printed


def test_a_grades_file_that_is_not_nbgraders_export_is_refused(tmp_path):
    (tmp_path / "grades.csv").write_text("student,score\nalice,3\n")
    with pytest.raises(ExportError, match="lacks the column.*assignment"):
        read_class_grades(tmp_path)
