"""Out-of-kernel verification: the learner's recorded outputs judged in the grader's own process.

For every graded exercise of a submission the grader draws fresh hidden cases (a new seed on every grading
run), hands only their *inputs* to the sandbox (``inputs.json``), and reads back what the learner's code
returned (``<exercise>.npz``, loaded with ``allow_pickle=False``). The comparison with the reference
happens here. An exercise keeps nbgrader's points only if this verification passes too; when nbgrader
passed a test cell whose *visible* cases fail here, the learner's process said something untrue, and the
submission is flagged for the instructor.

An exercise whose helper failed is verified a second time with the grader's helper
(``grader.grading.correct_helpers``).
"""

from __future__ import annotations

import hashlib
import json
import math
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from course_lib import casefile
from course_lib.case_kinds import case_kinds
from course_lib.checking import CheckCase, Output, case_passes, judge_recorded
from course_lib.registry import Exercise, lesson_exercises
from course_lib.verify import INPUTS_FILE
from grader.cases import build_cases

MAX_RECORDED_BYTES = 256 * 2**20


@dataclass(frozen=True)
class Verification:
    exercise_id: str
    passed: bool
    message: str
    visible_passed: bool
    """Whether the visible cases (those the in-kernel check also runs) pass here."""
    mistake_id: str | None = None
    """The registry's name for the mistake found, when the outputs match a known one."""
    correct_helpers: tuple[str, ...] = ()
    """The functions replaced by the grader's own for this verification (the targets of ``uses``)."""
    failed_case_kinds: tuple[str, ...] = ()
    """The kinds (``course_lib.case_kinds``) of the cases this answer fails, each once."""
    cases_passed: int = 0
    cases: int = 0
    hidden_output_digest: str | None = None
    """For an answer that fails and returned numbers: a digest of what it returned on the hidden cases,
    the same for two answers that return the same numbers (to 6 significant digits)."""


class LessonCases:
    """The cases one grading run uses for a lesson: the visible ones, then fresh hidden ones."""

    def __init__(self, lesson: str, rng: np.random.Generator):
        self.lesson = lesson
        visible = casefile.load(lesson)
        self.cases: dict[str, tuple[list[CheckCase], list[CheckCase]]] = {
            exercise.id: (visible.get(exercise.id, []), build_cases(exercise, rng))
            for exercise in lesson_exercises(lesson)
        }
        self.kinds = {
            exercise_id: case_kinds([case.inputs for case in visible + hidden])
            for exercise_id, (visible, hidden) in self.cases.items()
        }

    def write_inputs(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        document = {
            exercise_id: [casefile.encode_inputs(case.inputs) for case in visible + hidden]
            for exercise_id, (visible, hidden) in self.cases.items()
        }
        (folder / INPUTS_FILE).write_text(json.dumps(document))

    def verify(self, exercise: Exercise, folder: Path) -> Verification:
        visible, hidden = self.cases[exercise.id]
        recorded = read_recorded(folder, exercise.id, max(1, len(visible) + len(hidden)))
        if exercise.judge is not None:
            verdict = judge_recorded(exercise, [], recorded)
            return Verification(
                exercise.id, verdict.passed, verdict.message, verdict.passed, verdict.mistake_id
            )
        visible_verdict = judge_recorded(exercise, visible, recorded[: len(visible)])
        verdict = judge_recorded(exercise, visible + hidden, recorded)
        passes = [
            case_passes(exercise, case, output)
            for case, output in zip(visible + hidden, recorded, strict=True)
        ]
        failed_kinds = {
            kind
            for kinds, passed in zip(self.kinds[exercise.id], passes, strict=True)
            if not passed
            for kind in kinds
        }
        return Verification(
            exercise.id,
            verdict.passed,
            verdict.message,
            visible_verdict.passed,
            verdict.mistake_id,
            failed_case_kinds=tuple(sorted(failed_kinds)),
            cases_passed=sum(passes),
            cases=len(passes),
            hidden_output_digest=None if verdict.passed else output_digest(recorded[len(visible) :]),
        )


def output_digest(recorded: list[Output | str | None]) -> str | None:
    """A digest of recorded outputs, numbers rounded to 6 significant digits; None when none is a number
    (an unwritten answer raises on every case: that is nobody's unusual wrong number)."""
    if not any(isinstance(output, tuple) for output in recorded):
        return None
    digest = hashlib.sha256()
    for output in recorded:
        items = output if isinstance(output, tuple) else (np.array(str(output)),)
        for item in items:
            shown = np.char.mod("%.6g", item) if np.issubdtype(item.dtype, np.number) else item.astype(str)
            digest.update(repr((item.shape, shown.tolist())).encode())
    return digest.hexdigest()[:16]


def recorded_outputs_of(folder: Path, exercise_id: str) -> bool:
    """Whether the kernel recorded anything for ``exercise_id`` in ``folder``."""
    return (folder / f"{exercise_id}.npz").is_file()


def read_recorded(folder: Path, exercise_id: str, n_cases: int) -> list[Output | str | None]:
    """What the sandbox recorded for each case: a tuple of arrays, an error message, or None."""
    arrays_file, errors_file = folder / f"{exercise_id}.npz", folder / f"{exercise_id}.errors.json"
    recorded: list[Output | str | None] = [None] * n_cases
    if not arrays_file.is_file() or arrays_file.stat().st_size > MAX_RECORDED_BYTES:
        return recorded
    try:
        if unpacked_bytes(arrays_file) > MAX_RECORDED_BYTES:
            return recorded
        items: dict[int, dict[int, np.ndarray]] = {}
        with np.load(arrays_file, allow_pickle=False) as archive:
            for name in archive.files:
                case, item = (int(part) for part in name.removeprefix("case").split("_item"))
                items.setdefault(case, {})[item] = archive[name]
        errors = json.loads(errors_file.read_text()) if errors_file.is_file() else {}
    except (OSError, ValueError, KeyError, json.JSONDecodeError, zipfile.BadZipFile):
        return recorded  # unreadable or forged: treated as nothing recorded
    for case in range(n_cases):
        if case in items:
            recorded[case] = tuple(items[case][item] for item in sorted(items[case]))
        elif str(case) in errors:
            recorded[case] = str(errors[str(case)])[:2000]
    return recorded


def unpacked_bytes(arrays_file: Path) -> int:
    """The memory an .npz's arrays would take once loaded, by its zip directory and every array's header,
    before anything is unpacked: a small file the learner's process wrote can unpack to gigabytes (a zip
    bomb), and numpy allocates each array as its header says before reading it."""
    total = 0
    with zipfile.ZipFile(arrays_file) as archive:
        for member in archive.infolist():
            with archive.open(member) as stream:
                version = np.lib.format.read_magic(stream)
                if version == (1, 0):
                    shape, _, dtype = np.lib.format.read_array_header_1_0(stream)
                else:
                    shape, _, dtype = np.lib.format.read_array_header_2_0(stream)
            total += max(member.file_size, math.prod(shape) * dtype.itemsize)
    return total
