"""A learning management system's "download all submissions" zip, turned into nbgrader's submitted layout
``FOLDER/<student_id>/<lesson>/<lesson>.ipynb``, which ``autograde`` grades (``python -m grader
collect``, or ``autograde`` given the zip).

nbgrader's own ``zip_collect`` does the work, on a throwaway course directory: its ExtractorPlugin unpacks the
archive, and any archive inside it, from ``downloaded/<lesson>/archive/`` into ``extracted/``; its
FileNameCollectorPlugin reads the student id and the file id out of each file name with a named regular
expression and copies the notebook to ``submitted/<student_id>/<lesson>/``. This module chooses the
expression for the LMS, keeps one notebook per student (the latest) and says in words what became of every
other file.

The built-in file namings (``FILE_NAMINGS``), from the LMSs' own code:

- ``canvas`` (SpeedGrader's "Download submissions", lib/content_zipper.rb):
  ``<name>_[LATE_]<user id>_<file id>_<file name>``, e.g. ``doejane_LATE_48213_9935170_01_smoothing.ipynb``.
  ``<name>`` is the sortable name in lower case without punctuation ("Doe, Jane" becomes ``doejane``), so two
  learners can share it: the student id is the Canvas user id (``anon_<id>`` under anonymous grading), the id
  Canvas's gradebook import matches on. ``LATE_`` (``late_`` in older Canvas) marks a late submission. The
  file id (often called the submission id) grows with every upload, so a learner's latest file is the one
  with the highest.
- ``moodle`` (assignment "Download all submissions", mod/assign/locallib.php):
  ``<Full Name>_<participant id>_assignsubmission_file_<file name>``, or, with "Download submissions in
  folders" (the default since Moodle 3.1), a folder per learner:
  ``<Full Name>_<participant id>_assignsubmission_file_/<file name>``.
  The student id is the participant id; the full name has its underscores turned into spaces by Moodle.
  Moodle exports only the latest attempt, and its names carry no time.
- ``blackboard`` (Grade Centre "Assignment File Download"):
  ``<Assignment Name>_<username>_attempt_<YYYY-MM-DD-HH-MM-SS>_<file name>``, next to one
  ``..._attempt_<time>.txt`` per attempt. The student id is the username, which must not contain ``_``
  (the assignment name may); the attempt time orders resubmissions.

A custom pattern is a Python regular expression with at least ``(?P<student_id>...)`` and
``(?P<file_id>...)``, as nbgrader's ``FileNameCollectorPlugin.named_regexp``; it is matched from the start of
each file name (or of the name with the folders above it). Optional groups: ``timestamp`` (a time nbgrader can
parse, used to keep the latest), ``upload_id`` (a number that grows with each upload, used the same way),
``name`` (shown in the notes) and ``late`` (non-empty when the name marks the file late).
"""

from __future__ import annotations

import io
import logging
import os
import re
import shutil
import tempfile
import zipfile
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path, PurePosixPath

from nbgrader.apps import ZipCollectApp
from nbgrader.coursedir import CourseDirectory
from nbgrader.plugins import FileNameCollectorPlugin
from nbgrader.utils import parse_utc
from setuptools.archive_util import UnrecognizedFormat
from traitlets import List, Unicode
from traitlets.config import Config

from grader.paths import lessons


class CollectError(ValueError):
    pass


@dataclass(frozen=True)
class FileNaming:
    """How an LMS names the files in its "download all submissions" archive."""

    called: str
    pattern: str
    shape: str
    """The naming in words, for messages."""

    @property
    def described(self) -> str:
        return f"{self.called} {self.shape}"


FILE_NAMINGS = {
    "canvas": FileNaming(
        "Canvas's file naming",
        r"(?:(?P<name>\w+?)_)??(?P<late>(?i:late)_)?(?P<student_id>anon_[A-Za-z0-9]+|\d+)_"
        r"(?P<file_id>(?P<upload_id>\d+)_.+)",
        "<name>_[LATE_]<user id>_<file id>_<file name>, e.g. doejane_LATE_48213_9935170_01_smoothing.ipynb",
    ),
    "moodle": FileNaming(
        "Moodle's file naming",
        r"(?P<name>[^_/]+)_(?P<student_id>\d+)_assignsubmission_file_/?(?P<file_id>.+)",
        "<Full Name>_<participant id>_assignsubmission_file_[/]<file name>, "
        "e.g. Jane Doe_1234567_assignsubmission_file_01_smoothing.ipynb",
    ),
    "blackboard": FileNaming(
        "Blackboard's file naming",
        r"(?P<assignment>[^/]+)_(?P<student_id>[^_/]+)_attempt_(?P<timestamp>\d{4}(?:-\d\d){5})_(?P<file_id>.+)",
        "<Assignment Name>_<username>_attempt_<YYYY-MM-DD-HH-MM-SS>_<file name>, "
        "e.g. 01_smoothing_jdoe_attempt_2024-03-05-09-07-31_01_smoothing.ipynb",
    ),
}
REQUIRED_GROUPS = ("student_id", "file_id")
# Blackboard writes 2024-03-05-09-07-31; dateutil reads the trailing "-07-31" as a time zone, so nbgrader
# would stop or shift the time (its documentation shows the same fix in a custom collector).
BLACKBOARD_TIME = re.compile(r"(\d{4}-\d\d-\d\d)-(\d\d)-(\d\d)-(\d\d)")
# Student ids become folder names, and find_submissions ignores folders whose name starts with a dot.
USABLE_STUDENT_ID = re.compile(r"[^./\\][^/\\]*")


@dataclass(frozen=True)
class CollectedArchive:
    folder: Path
    """nbgrader's submitted layout: ``folder/<student_id>/<lesson>/<lesson>.ipynb``."""
    lesson: str
    students: list[str]
    notes: list[str]
    """In words: every file skipped or not attributed to a student, and every choice made for a student."""


@dataclass
class FileFate:
    """What became of one file of the unpacked archive."""

    path: PurePosixPath
    """Relative to the unpacked archive; an archive inside it was unpacked into a folder of the same stem."""
    match: dict | None = None
    note: str | None = None


class RecordingCollector(FileNameCollectorPlugin):
    """nbgrader's file-name collector that also says why it leaves each file out, and that matches a file by
    its name or, failing that, by its name with the folders above it (Moodle puts each learner's files in a
    folder named like a file)."""

    extracted_root = Unicode(help="nbgrader's extracted_directory, which the paths in notes are relative to")
    naming_described = Unicode(help="the file naming named_regexp stands for, in words")
    fates = List(help="a FileFate for every file nbgrader offered, in its order")

    def collect(self, submitted_file: str) -> dict | None:
        fate = FileFate(PurePosixPath(Path(submitted_file).relative_to(self.extracted_root).as_posix()))
        self.fates.append(fate)
        if _is_macos_metadata(fate.path):
            fate.note = f"skipped {fate.path}: macOS metadata, not a notebook"
        elif fate.path.suffix in self.parent.extractor_plugin_inst.zip_ext:
            fate.note = (
                f"unpacked {fate.path}, an archive inside the archive; its files are listed by their paths"
            )
        elif fate.path.suffix not in self.valid_ext:
            fate.note = f"skipped {fate.path}: not a notebook"
        else:
            fate.match = self.attribute(fate.path)
            if fate.match is None:
                fate.note = (
                    f"could not attribute {fate.path} to a student: its name does not follow "
                    f"{self.naming_described}"
                )
            elif not USABLE_STUDENT_ID.fullmatch(fate.match["student_id"]):
                fate.note = f"skipped {fate.path}: {fate.match['student_id']!r} cannot be a student id"
                fate.match = None
        return fate.match

    def attribute(self, path: PurePosixPath) -> dict | None:
        for depth in range(1, len(path.parts) + 1):
            match = self._match("/".join(path.parts[-depth:]))
            if match is not None:
                blackboard_time = BLACKBOARD_TIME.fullmatch(match.get("timestamp") or "")
                if blackboard_time:
                    match["timestamp"] = "{} {}:{}:{}".format(*blackboard_time.groups())
                return match
        return None


def collect_archive(
    archive: Path, lesson: str, destination: Path, filename_pattern: str | None = None
) -> CollectedArchive:
    """Unpack ``archive`` (an LMS's zip of submissions, zips inside it included) with nbgrader's zip_collect
    into ``destination/<student_id>/<lesson>/<lesson>.ipynb``, one notebook per student: the latest.

    ``filename_pattern``: ``canvas``, ``moodle``, ``blackboard`` (see the module's documentation), a custom
    regular expression with ``(?P<student_id>...)`` and ``(?P<file_id>...)`` groups, or None for the built-in
    naming that attributes the most notebooks. Raises CollectError, naming the file and what was expected,
    when the archive is not a zip, holds no file, or holds no notebook that follows the naming.
    """
    archive, destination = Path(archive).resolve(), Path(destination).resolve()
    if lesson not in lessons():
        raise CollectError(f"{lesson!r} is not a lesson of this course ({', '.join(lessons())})")
    naming = None if filename_pattern is None else _naming(filename_pattern)
    _check_archive(archive)
    earlier = sorted(destination.glob(f"*/{lesson}"))
    if earlier:
        raise CollectError(
            f"{destination} already holds submissions of {lesson} ({earlier[0]}): collect into an empty "
            "folder, or remove them first"
        )
    with tempfile.TemporaryDirectory(prefix="attention-collect-") as scratch:
        course = Path(scratch)
        downloaded = course / "downloaded" / lesson / "archive"
        downloaded.mkdir(parents=True)
        # nbgrader unpacks only files whose extension it knows, and the archive was checked to be a zip.
        shutil.copyfile(archive, downloaded / "submissions.zip")
        chosen, fates = _zip_collect(course, lesson, naming, archive)
        notes = [] if naming else [f"the archive follows {chosen.described}"]
        notes += [fate.note for fate in fates if fate.note]
        by_student = defaultdict(list)
        for fate in fates:
            if fate.match is not None:
                by_student[fate.match["student_id"]].append(fate)
        if not by_student:
            raise CollectError(_no_submissions(archive, fates, [chosen]))
        for student_id, found in sorted(by_student.items()):
            kept, student_notes = _latest(student_id, found)
            notes += student_notes
            submitted = course / "submitted" / student_id / lesson
            target = destination / student_id / lesson
            target.mkdir(parents=True)
            # where nbgrader's ZipCollectApp put it: the file_id with the notebook's extension
            kept_name = os.path.splitext(kept.match["file_id"])[0] + kept.path.suffix
            shutil.copyfile(submitted / kept_name, target / f"{lesson}.ipynb")
            if (submitted / "timestamp.txt").exists():
                shutil.copyfile(submitted / "timestamp.txt", target / "timestamp.txt")
    return CollectedArchive(destination, lesson, sorted(by_student), notes)


def _naming(filename_pattern: str) -> FileNaming:
    if filename_pattern in FILE_NAMINGS:
        return FILE_NAMINGS[filename_pattern]
    try:
        groups = re.compile(filename_pattern).groupindex
    except re.error as error:
        raise CollectError(
            f"the file-name pattern {filename_pattern!r} is not a regular expression: {error}"
        ) from error
    missing = [f"(?P<{group}>...)" for group in REQUIRED_GROUPS if group not in groups]
    if missing:
        raise CollectError(
            f"the file-name pattern {filename_pattern!r} is neither a known LMS ({', '.join(FILE_NAMINGS)}) "
            f"nor a regular expression with the groups (?P<student_id>...) and (?P<file_id>...): it lacks "
            f"{' and '.join(missing)}"
        )
    return FileNaming("the pattern", filename_pattern, filename_pattern)


def _check_archive(archive: Path) -> None:
    expected = "expected the .zip of an LMS's 'download all submissions'"
    if not archive.is_file():
        raise CollectError(f"{archive}: no such file ({expected})")
    if not zipfile.is_zipfile(archive):
        raise CollectError(f"{archive}: not a zip archive ({expected})")
    with zipfile.ZipFile(archive) as opened:
        if all(entry.is_dir() for entry in opened.infolist()):
            raise CollectError(f"{archive}: the zip archive holds no files ({expected})")


def _zip_collect(
    course: Path, lesson: str, naming: FileNaming | None, archive: Path
) -> tuple[FileNaming, list[FileFate]]:
    """nbgrader's zip_collect on the course directory ``course``, step by step so that the naming can be
    chosen from the unpacked files when none was given. nbgrader's log stays quiet unless it stops."""
    config = Config()
    config.CourseDirectory.root = str(course)
    config.CourseDirectory.assignment_id = lesson
    config.ZipCollectApp.collector_plugin = RecordingCollector
    config.ZipCollectApp.logging_config = {"handlers": {"console": {"level": "CRITICAL"}}}
    app = ZipCollectApp(config=config)
    app.coursedir = CourseDirectory(parent=app)
    errors = io.StringIO()
    handler = logging.StreamHandler(errors)
    handler.setLevel(logging.ERROR)
    app.log.addHandler(handler)
    try:
        app.init_plugins()
        collector = app.collector_plugin_inst
        # nbgrader unpacks submissions.zip into extracted/submissions/; paths in notes start inside it
        collector.extracted_root = str(course / "downloaded" / lesson / "extracted" / "submissions")
        try:
            app.extract_archive_files()
        except (UnrecognizedFormat, OSError) as error:
            raise CollectError(f"{archive}: could not unpack an archive inside it: {error}") from error
        naming = naming or _detect_naming(collector, archive)
        collector.named_regexp = naming.pattern
        collector.naming_described = naming.described
        app.process_extracted_files()
    except SystemExit:  # nbgrader's apps log why they stop, then call sys.exit
        raise CollectError(
            f"nbgrader's zip_collect stopped on {archive}: {errors.getvalue().strip()}"
        ) from None
    finally:
        app.log.removeHandler(handler)
    return naming, collector.fates


def _detect_naming(collector: RecordingCollector, archive: Path) -> FileNaming:
    extracted = Path(collector.extracted_root)
    notebooks = [
        PurePosixPath(path.relative_to(extracted).as_posix()) for path in sorted(extracted.rglob("*.ipynb"))
    ]
    notebooks = [path for path in notebooks if not _is_macos_metadata(path)]
    attributed = {}
    for naming in FILE_NAMINGS.values():
        collector.named_regexp = naming.pattern
        attributed[naming] = sum(collector.attribute(path) is not None for path in notebooks)
    best = max(attributed, key=attributed.get)
    if attributed[best] == 0:
        raise CollectError(
            _no_submissions(archive, [FileFate(path) for path in notebooks], FILE_NAMINGS.values())
        )
    return best


def _no_submissions(archive: Path, fates: list[FileFate], namings: Iterable[FileNaming]) -> str:
    notebooks = [
        str(fate.path) for fate in fates if fate.path.suffix == ".ipynb" and not _is_macos_metadata(fate.path)
    ]
    if not notebooks:
        found = ", ".join(str(fate.path) for fate in fates[:5]) or "nothing but folders"
        return f"{archive}: holds no notebook (.ipynb), expected one per student (found: {found})"
    expected = "; nor ".join(naming.described for naming in namings)
    return f"{archive}: none of its {len(notebooks)} notebooks (e.g. {notebooks[0]}) follows {expected}"


def _is_macos_metadata(path: PurePosixPath) -> bool:
    return "__MACOSX" in path.parts or path.name.startswith("._")


def _latest(student_id: str, found: list[FileFate]) -> tuple[FileFate, list[str]]:
    """The student's notebook to grade, the latest by the time or upload number in its name, and notes."""
    name = found[0].match.get("name")
    who = f"student {student_id}" + (f" ({name})" if name else "")
    found = sorted(found, key=_age)
    kept = found[-1]
    notes = (
        [f"{who}: the file name marks the submission late ({kept.path})"] if kept.match.get("late") else []
    )
    if len(found) > 1:
        if all(fate.match.get("timestamp") for fate in found):
            how = "the latest by the time in its name"
        elif all(fate.match.get("upload_id") for fate in found):
            how = "the latest upload, by the number in its name"
        else:
            how = "the names do not say which came last, so this is merely the last by name: check by hand"
        notes.append(
            f"{who} handed in {len(found)} notebooks: kept {kept.path} ({how}); skipped "
            + ", ".join(str(fate.path) for fate in found[:-1])
        )
    return kept, notes


def _age(fate: FileFate) -> tuple[datetime, int, str]:
    # The path breaks ties as nbgrader does: of two same-named files with the same time it keeps the later.
    timestamp, upload_id = fate.match.get("timestamp"), fate.match.get("upload_id")
    return (
        parse_utc(timestamp) if timestamp else datetime.min,
        int(upload_id) if upload_id else -1,
        str(fate.path),
    )
