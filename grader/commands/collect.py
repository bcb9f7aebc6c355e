"""``python -m grader collect ARCHIVE --lesson LESSON --into FOLDER``: an LMS's zip of submissions laid
out as nbgrader's submitted folder (``grader.lms.collect``). Exit code 1 when the archive cannot be
collected, with the reason."""

from __future__ import annotations

from pathlib import Path

from grader.lms.collect import CollectError, collect_archive


def collect(archive: Path, lesson: str, into: Path, filename_pattern: str | None) -> int:
    try:
        collected = collect_archive(archive, lesson, into, filename_pattern)
    except CollectError as error:
        print(f"collect: {error}")
        return 1
    for note in collected.notes:
        print(f"note: {note}")
    print(f"collected {len(collected.students)} submission(s) of {lesson} into {collected.folder}")
    return 0
