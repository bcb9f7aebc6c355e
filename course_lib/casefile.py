"""The visible test cases as shipped with the course: plain JSON, so a learner can read them.

``python -m grader release`` writes one file per lesson (``course_lib/cases/<lesson>.json``) from the
registry's case makers, the reference solutions and the known mistakes; ``check`` reads it back.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from course_lib.checking import CheckCase

CASES_DIR = Path(__file__).parent / "cases"


def case_file(lesson: str) -> Path:
    return CASES_DIR / f"{lesson}.json"


def encode(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return {"array": value.tolist(), "dtype": str(value.dtype), "shape": list(value.shape)}
    if isinstance(value, tuple):
        return {"tuple": [encode(item) for item in value]}
    if isinstance(value, dict):
        return {"dict": {name: encode(item) for name, item in value.items()}}
    if isinstance(value, np.generic):
        return value.item()
    return value


def decode(value: Any) -> Any:
    if isinstance(value, dict) and "array" in value:
        return np.array(value["array"], dtype=value["dtype"]).reshape(value["shape"])
    if isinstance(value, dict) and "tuple" in value:
        return tuple(decode(item) for item in value["tuple"])
    if isinstance(value, dict) and "dict" in value:
        return {name: decode(item) for name, item in value["dict"].items()}
    return value


def encode_inputs(inputs: dict[str, Any]) -> dict[str, Any]:
    return {name: encode(value) for name, value in inputs.items()}


def decode_inputs(encoded: dict[str, Any]) -> dict[str, Any]:
    return {name: decode(value) for name, value in encoded.items()}


def dumps(cases_by_exercise: dict[str, list[CheckCase]]) -> str:
    document = {
        exercise_id: [
            {
                "name": case.name,
                "inputs": {name: encode(value) for name, value in case.inputs.items()},
                "expected": encode(case.expected),
                "mistakes": {mistake: encode(output) for mistake, output in case.mistake_outputs.items()},
            }
            for case in cases
        ]
        for exercise_id, cases in cases_by_exercise.items()
    }
    return json.dumps(document, indent=1, sort_keys=True) + "\n"


def load(lesson: str) -> dict[str, list[CheckCase]]:
    path = case_file(lesson)
    if not path.exists():
        raise FileNotFoundError(
            f"the visible cases of lesson {lesson} are missing ({path}); an instructor regenerates them "
            "with `python -m grader release`."
        )
    return load_text(path.read_text(encoding="utf-8"))


def load_text(text: str) -> dict[str, list[CheckCase]]:
    document = json.loads(text)
    return {
        exercise_id: [
            CheckCase(
                name=entry["name"],
                inputs={name: decode(value) for name, value in entry["inputs"].items()},
                expected=decode(entry["expected"]),
                mistake_outputs={mistake: decode(output) for mistake, output in entry["mistakes"].items()},
            )
            for entry in entries
        ]
        for exercise_id, entries in document.items()
    }
