"""An LMS's zip of submissions becomes nbgrader's submitted layout, one notebook per student, with a note for
every file left out (grader/lms/collect.py). No grading here."""

import io
import re
import zipfile

import nbformat
import pytest

from grader.cli import main
from grader.lms.collect import CollectError, collect_archive
from grader.paths import NOTEBOOKS

LESSON = "01_smoothing"


def notebook(marker: str) -> bytes:
    """The released lesson notebook, told apart from the other copies by a metadata marker."""
    document = nbformat.read(NOTEBOOKS / f"{LESSON}.ipynb", as_version=4)
    document.metadata["collect_test"] = marker
    return nbformat.writes(document).encode()


def zip_bytes(files: dict[str, bytes | str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, content in files.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def make_zip(path, files: dict[str, bytes | str]):
    path.write_bytes(zip_bytes(files))
    return path


def layout(folder) -> set[str]:
    return {path.relative_to(folder).as_posix() for path in folder.rglob("*") if path.is_file()}


def one_notebook_each(students: list[str]) -> set[str]:
    return {f"{student}/{LESSON}/{LESSON}.ipynb" for student in students}


def marker(folder, student: str) -> str:
    return nbformat.read(folder / student / LESSON / f"{LESSON}.ipynb", as_version=4).metadata["collect_test"]


def notes_about(notes: list[str], text: str) -> list[str]:
    return [note for note in notes if text in note]


def test_canvas_download_with_nested_zip_late_resubmission_and_strays(tmp_path):
    archive = make_zip(
        tmp_path / "course-01_smoothing submissions.zip",
        {
            # the upload with the higher Canvas file id is the later one, though it sorts first by name
            "doealice_11_900_01_smoothing.ipynb": notebook("alice first"),
            "doealice_11_1000_01_smoothing-1.ipynb": notebook("alice second"),
            "anon_Xy3z9_77_01_smoothing.ipynb": notebook("anonymous"),
            "section-2.zip": zip_bytes({"roebob_LATE_22_905_01_smoothing.ipynb": notebook("bob")}),
            "readme.txt": "downloaded from Canvas",
            "01_smoothing.ipynb": notebook("nobody's"),
        },
    )
    collected = collect_archive(archive, LESSON, tmp_path / "submitted", "canvas")

    assert collected.folder == tmp_path / "submitted"
    assert collected.students == ["11", "22", "anon_Xy3z9"]
    assert layout(collected.folder) == one_notebook_each(collected.students)
    assert marker(collected.folder, "11") == "alice second"
    assert marker(collected.folder, "22") == "bob"
    notes = collected.notes
    [resubmission] = notes_about(notes, "student 11 (doealice) handed in 2 notebooks")
    assert "kept doealice_11_1000_01_smoothing-1.ipynb (the latest upload" in resubmission
    assert resubmission.endswith("skipped doealice_11_900_01_smoothing.ipynb")
    assert notes_about(notes, "student 22 (roebob): the file name marks the submission late")
    assert notes_about(notes, "unpacked section-2.zip")
    assert notes_about(notes, "skipped readme.txt: not a notebook")
    assert notes_about(notes, "could not attribute 01_smoothing.ipynb to a student")
    assert len(notes) == 5


def test_moodle_download_flat_and_in_folders(tmp_path):
    archive = make_zip(
        tmp_path / "moodle.zip",
        {
            "Jane Doe_1234567_assignsubmission_file_/01_smoothing.ipynb": notebook("jane"),
            "John Roe_7654321_assignsubmission_file_01_smoothing.ipynb": notebook("john a"),
            "John Roe_7654321_assignsubmission_file_01_smoothing v2.ipynb": notebook("john b"),
            "John Roe_7654321_assignsubmission_onlinetext_onlinetext.html": "<p>see attached</p>",
            "__MACOSX/._John Roe_7654321_assignsubmission_file_01_smoothing.ipynb": "resource fork",
        },
    )
    collected = collect_archive(archive, LESSON, tmp_path / "submitted", "moodle")

    assert collected.students == ["1234567", "7654321"]
    assert layout(collected.folder) == one_notebook_each(collected.students)
    assert marker(collected.folder, "1234567") == "jane"
    [resubmission] = notes_about(collected.notes, "student 7654321 (John Roe) handed in 2 notebooks")
    assert "check by hand" in resubmission
    assert notes_about(collected.notes, "onlinetext.html: not a notebook")
    assert notes_about(
        collected.notes,
        "skipped __MACOSX/._John Roe_7654321_assignsubmission_file_01_smoothing.ipynb: macOS metadata",
    )


def test_blackboard_download_keeps_the_latest_attempt(tmp_path):
    # "-07-31" at the end of a Blackboard time is what dateutil, and so plain nbgrader, reads as a time zone
    first, second = "2024-03-05-09-07-31", "2024-03-06-10-00-00"
    archive = make_zip(
        tmp_path / "gradebook.zip",
        {
            f"01_smoothing_jdoe_attempt_{first}_01_smoothing.ipynb": notebook("jdoe first"),
            f"01_smoothing_jdoe_attempt_{first}.txt": "Name: Jane Doe (jdoe)",
            f"01_smoothing_jdoe_attempt_{second}_01_smoothing.ipynb": notebook("jdoe second"),
            f"01_smoothing_kroe_attempt_{first}_my work.ipynb": notebook("kroe"),
            # a Mac's re-zip adds an AppleDouble file that follows the naming too
            f"__MACOSX/._01_smoothing_jdoe_attempt_{second}_01_smoothing.ipynb": "resource fork",
        },
    )
    collected = collect_archive(archive, LESSON, tmp_path / "submitted", "blackboard")

    assert collected.students == ["jdoe", "kroe"]
    assert marker(collected.folder, "jdoe") == "jdoe second"
    assert marker(collected.folder, "kroe") == "kroe"
    assert (collected.folder / "jdoe" / LESSON / "timestamp.txt").read_text() == "2024-03-06 10:00:00"
    assert (collected.folder / "kroe" / LESSON / "timestamp.txt").read_text() == "2024-03-05 09:07:31"
    [resubmission] = notes_about(collected.notes, "student jdoe handed in 2 notebooks")
    kept = f"kept 01_smoothing_jdoe_attempt_{second}_01_smoothing.ipynb (the latest by the time in its name)"
    assert kept in resubmission
    assert notes_about(collected.notes, f"skipped 01_smoothing_jdoe_attempt_{first}.txt: not a notebook")
    assert notes_about(collected.notes, "skipped __MACOSX/._01_smoothing_jdoe_attempt_")


def test_without_a_pattern_the_naming_that_fits_is_used_and_named(tmp_path):
    archive = make_zip(
        tmp_path / "moodle.zip", {"Jane Doe_1234567_assignsubmission_file_smoothing.ipynb": notebook("jane")}
    )
    collected = collect_archive(archive, LESSON, tmp_path / "submitted")

    assert collected.students == ["1234567"]
    assert collected.notes[0].startswith("the archive follows Moodle's file naming")


def test_custom_pattern(tmp_path):
    archive = make_zip(tmp_path / "export.zip", {"alice-01_smoothing.ipynb": notebook("alice")})
    collected = collect_archive(
        archive, LESSON, tmp_path / "submitted", r"(?P<student_id>[a-z]+)-(?P<file_id>.+)"
    )

    assert collected.students == ["alice"]
    assert marker(collected.folder, "alice") == "alice"
    assert collected.notes == []


def test_cli_prints_the_notes_and_the_folder(tmp_path, capsys):
    archive = make_zip(
        tmp_path / "canvas.zip", {"doealice_11_900_01_smoothing.ipynb": notebook("alice"), "readme.txt": "hi"}
    )
    assert main(["collect", str(archive), "--lesson", LESSON, "--into", str(tmp_path / "out")]) == 0
    printed = capsys.readouterr().out
    assert "note: skipped readme.txt: not a notebook" in printed
    assert f"collected 1 submission(s) of {LESSON} into {tmp_path / 'out'}" in printed
    assert layout(tmp_path / "out") == {f"11/{LESSON}/{LESSON}.ipynb"}


@pytest.mark.parametrize(
    "files, pattern, message",
    [
        (None, "canvas", "not a zip archive (expected the .zip of an LMS's 'download all submissions')"),
        ({}, "canvas", "the zip archive holds no files"),
        ({"readme.txt": "hi", "slides.pdf": "%PDF"}, None, "holds no notebook (.ipynb)"),
        ({"01_smoothing.ipynb": "{}"}, None, "follows Canvas's file naming"),
        (
            {"doealice_11_900_01_smoothing.ipynb": "{}"},
            "moodle",
            "none of its 1 notebooks (e.g. doealice_11_900_01_smoothing.ipynb) follows Moodle's file naming "
            "<Full Name>_<participant id>_assignsubmission_file_",
        ),
    ],
    ids=["not a zip", "empty zip", "no notebook", "no naming fits", "naming does not fit"],
)
def test_archive_errors_name_the_file_and_what_was_expected(tmp_path, files, pattern, message):
    archive = tmp_path / "download.zip"
    if files is None:
        archive.write_text("this is not a zip")
    else:
        make_zip(archive, files)
    with pytest.raises(CollectError) as error:
        collect_archive(archive, LESSON, tmp_path / "submitted", pattern)
    assert str(error.value).startswith(f"{archive}: ")
    assert message in str(error.value)
    assert not (tmp_path / "submitted").exists()


@pytest.mark.parametrize(
    "pattern, message",
    [
        (r"(?P<student_id>\w+)_(?P<file>.+)", "it lacks (?P<file_id>...)"),
        ("blackbored", "neither a known LMS (canvas, moodle, blackboard)"),
        (r"(?P<student_id>\w+_(?P<file_id>.+)", "is not a regular expression"),
    ],
)
def test_bad_custom_pattern(tmp_path, pattern, message):
    archive = make_zip(tmp_path / "export.zip", {"alice_01_smoothing.ipynb": notebook("alice")})
    with pytest.raises(CollectError, match=re.escape(f"the file-name pattern {pattern!r}")) as error:
        collect_archive(archive, LESSON, tmp_path / "submitted", pattern)
    assert message in str(error.value)


def test_refuses_a_folder_that_already_holds_the_lesson(tmp_path):
    archive = make_zip(tmp_path / "canvas.zip", {"doealice_11_900_01_smoothing.ipynb": notebook("new")})
    (tmp_path / "submitted" / "11" / LESSON).mkdir(parents=True)
    with pytest.raises(CollectError, match="already holds submissions of 01_smoothing"):
        collect_archive(archive, LESSON, tmp_path / "submitted", "canvas")
