"""The classroom end to end up to grading, in a real browser: the course hub (``python -m grader hub``)
started on loopback, learners fetching lesson 03 from JupyterLab's Assignments tab, answering and
submitting, and the instructor collecting in formgrader (fixtures in tests/browser/conftest.py and
tests/browser/classroom.py). Grading what was collected builds on the ``submitted_class`` fixture."""

from __future__ import annotations

import json

import nbformat
import pytest

from grader.classroom.hub import course_id
from tests.browser.classroom import hub_skip_reason
from tests.browser.server import NOTEBOOKS_DIR, lessons

if reason := hub_skip_reason():
    pytest.skip(reason, allow_module_level=True)

pytestmark = [pytest.mark.browser, pytest.mark.timeout(600)]


def test_the_hub_released_the_notebooks_learners_would_clone(course_hub):
    """What nbgrader released to the exchange, as the instructor, is byte for byte notebooks/."""
    outbound = course_hub.folder / "exchange" / course_id() / "outbound"
    released = sorted(path.relative_to(outbound).as_posix() for path in outbound.rglob("*") if path.is_file())
    assert released == [f"{lesson}/{lesson}.ipynb" for lesson in lessons()]
    for lesson in lessons():
        assert (outbound / lesson / f"{lesson}.ipynb").read_bytes() == (
            NOTEBOOKS_DIR / f"{lesson}.ipynb"
        ).read_bytes()


def test_the_class_hands_lesson_03_in_and_the_instructor_collects_it(submitted_class, artifacts_dir):
    lesson = submitted_class.lesson
    for learner in submitted_class.learners:
        folder = submitted_class.submitted / learner.name / lesson
        assert (folder / "timestamp.txt").is_file(), (
            f"nothing collected for {learner.name}: {submitted_class.collect_log}"
        )
        handed_in = nbformat.read(folder / f"{lesson}.ipynb", as_version=4)
        answers = {
            cell.metadata["nbgrader"]["grade_id"]: cell.source
            for cell in handed_in.cells
            if cell.metadata.get("nbgrader", {}).get("solution")
        }
        # Exactly what the learner wrote, in the cell nbgrader grades as that answer.
        assert answers == learner.answers, f"{learner.name}'s collected answers differ from what they wrote"
    collected = sorted(path.name for path in submitted_class.submitted.iterdir())
    assert collected == sorted(learner.name for learner in submitted_class.learners)
    timings = {name: round(seconds, 1) for name, seconds in submitted_class.timings.items()}
    (artifacts_dir / "hub-timings.json").write_text(json.dumps(timings, indent=1) + "\n")
    print(json.dumps(timings, indent=1))
