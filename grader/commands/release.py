"""``python -m grader release``: solutions/ -> notebooks/ (through nbgrader) and the visible cases."""

from __future__ import annotations

import json
import math
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


CASE_RELATIVE_TOLERANCE = 1e-9
"""How far a number in a visible case file may be from the one generated here and still be up to date.
The references' float64 results can differ in their last bits from one CPU to another (their matrix
products take other vector instructions), far below any check's tolerance."""


def up_to_date(path: Path, content: bytes) -> bool:
    """Whether ``path`` holds ``content``: the same bytes, or for a case file the same cases."""
    if not path.exists():
        return False
    held = path.read_bytes()
    if held == content:
        return True
    if path.suffix != ".json":
        return False
    try:
        return _same_numbers(json.loads(held), json.loads(content))
    except ValueError:
        return False


def _same_numbers(held, generated) -> bool:
    if isinstance(held, dict) and isinstance(generated, dict):
        return held.keys() == generated.keys() and all(_same_numbers(held[k], generated[k]) for k in held)
    if isinstance(held, list) and isinstance(generated, list):
        return len(held) == len(generated) and all(map(_same_numbers, held, generated))
    if isinstance(held, float) and isinstance(generated, float):
        return math.isclose(held, generated, rel_tol=CASE_RELATIVE_TOLERANCE, abs_tol=1e-12) or (
            math.isnan(held) and math.isnan(generated)
        )
    return type(held) is type(generated) and held == generated


def stale_files(files: dict[Path, bytes]) -> list[str]:
    stale = [
        f"{path.relative_to(ROOT)} is out of date"
        if path.exists()
        else f"{path.relative_to(ROOT)} is missing"
        for path, content in files.items()
        if not up_to_date(path, content)
    ]
    stale += [f"{path.relative_to(ROOT)} {why}" for path, why in leftovers(files)]
    return stale


def leftovers(files: dict[Path, bytes]) -> list[tuple[Path, str]]:
    """Generated files of lessons that no longer exist, with why they are left over."""
    found = [
        (path, "has no solution notebook behind it")
        for path in sorted(set(NOTEBOOKS.glob("*.ipynb")) - set(files))
    ]
    found += [
        (path, "belongs to no lesson") for path in sorted(set(casefile.CASES_DIR.glob("*.json")) - set(files))
    ]
    return found


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
        if not up_to_date(path, content):
            path.write_bytes(content)
            print(f"wrote {path.relative_to(ROOT)}")
    for leftover, why in leftovers(files):
        leftover.unlink()
        print(f"removed {leftover.relative_to(ROOT)} (it {why})")
    return 0
