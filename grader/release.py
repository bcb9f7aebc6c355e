"""``python -m grader release``: solutions/ -> notebooks/ (through nbgrader) and the visible cases."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np

from course_lib import casefile
from course_lib.registry import VISIBLE_SEED, lesson_exercises
from grader.cases import build_cases
from grader.consistency import lesson_problems
from grader.course import Course
from grader.paths import NOTEBOOKS, ROOT, lessons


def generated_files() -> dict[Path, bytes]:
    """Every file the release produces, with the bytes it should hold."""
    files: dict[Path, bytes] = {}
    with tempfile.TemporaryDirectory(prefix="attention-release-") as scratch:
        course = Course(Path(scratch))
        for lesson in lessons():
            problems = lesson_problems(lesson)
            if problems:
                raise ValueError("cannot release:\n  " + "\n  ".join(problems))
            files[NOTEBOOKS / f"{lesson}.ipynb"] = course.add_lesson(lesson).read_bytes()
            visible = {
                exercise.id: build_cases(exercise, np.random.default_rng(VISIBLE_SEED))
                for exercise in lesson_exercises(lesson)
            }
            files[casefile.case_file(lesson)] = casefile.dumps(visible).encode()
    return files


def stale_files(files: dict[Path, bytes]) -> list[str]:
    stale = [
        f"{path.relative_to(ROOT)} is out of date"
        if path.exists()
        else f"{path.relative_to(ROOT)} is missing"
        for path, content in files.items()
        if not path.exists() or path.read_bytes() != content
    ]
    for leftover in sorted(set(NOTEBOOKS.glob("*.ipynb")) - set(files)):
        stale.append(f"{leftover.relative_to(ROOT)} has no solution notebook behind it")
    for leftover in sorted(set(casefile.CASES_DIR.glob("*.json")) - set(files)):
        stale.append(f"{leftover.relative_to(ROOT)} belongs to no lesson")
    return stale


def release(check: bool = False) -> int:
    files = generated_files()
    if check:
        stale = stale_files(files)
        for line in stale:
            print(f"release --check: {line}; run `python -m grader release` and commit the result")
        if not stale:
            print(f"release --check: notebooks/ and the visible cases are in sync ({len(files)} files)")
        return 1 if stale else 0
    for path, content in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists() or path.read_bytes() != content:
            path.write_bytes(content)
            print(f"wrote {path.relative_to(ROOT)}")
    for leftover in sorted(set(NOTEBOOKS.glob("*.ipynb")) - set(files)):
        leftover.unlink()
        print(f"removed {leftover.relative_to(ROOT)} (no solution notebook behind it)")
    return 0
