"""The classroom end to end, in a real browser: the course hub (``python -m grader hub``) started on
loopback; learners fetching lesson 03 from JupyterLab's Assignments tab, answering and submitting; the
instructor collecting in formgrader, grading with ``python -m grader autograde --course`` and with
formgrader's Autograde button, adding a manual grade that a regrade keeps, and releasing feedback; each
learner fetching it. Fixtures in tests/browser/conftest.py, the steps in tests/browser/classroom.py. The tests
run in this order, each on what the one before left."""

from __future__ import annotations

import json
import re
import time

import nbformat
import pytest

from course_lib.registry import get_exercise, lesson_exercises
from grader.classroom.hub import course_id
from tests.browser.classroom import (
    fetch_feedback_from_terminal,
    fetch_feedback_in_lab,
    formgrader_page,
    give_manual_score,
    grade_from_terminal,
    gradebook_entries,
    hub_skip_reason,
    release_feedback_in_formgrader,
)
from tests.browser.notebook_ui import Steps
from tests.browser.server import NOTEBOOKS_DIR, lessons, new_page

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


SDPA = get_exercise("scaled_dot_product_attention")
HIDDEN = ("BEGIN HIDDEN TESTS", "course_lib.verify", "record(")
"""What a hidden test cell holds: a learner's feedback shows none of it."""


def _diagnosis(learner) -> str:
    """The words of the known mistake ``learner`` made in scaled_dot_product_attention."""
    mistake = {"mistake": "softmax_over_queries", "tampering": "no_scale"}[learner.expected.split(":")[0]]
    return SDPA.mistake(mistake).diagnosis


def test_the_grader_and_formgraders_button_give_the_same_grades(graded_class):
    by_grader, by_button = graded_class.by_grader, graded_class.by_button
    right, mistaken, tamperer = (graded_class.learner(kind) for kind in ("all right", "mistake", "tampering"))
    points = sum(exercise.points for exercise in lesson_exercises(graded_class.submitted.lesson))
    assert {name: entry.score for name, entry in by_grader.items()} == {
        right.name: points,
        mistaken.name: points - SDPA.points,
        tamperer.name: points - SDPA.points,  # np.allclose made to agree earns nothing
    }
    # The button graded the tamperer again, in nbgrader's own autograde: the same, cell by cell.
    assert by_button[tamperer.name] == by_grader[tamperer.name], graded_class.button_log
    assert by_button[tamperer.name].flagged and not by_grader[mistaken.name].flagged
    assert not by_grader[right.name].flagged
    for learner in (mistaken, tamperer):
        assert _diagnosis(learner) in by_button[learner.name].comments[SDPA.answer_cell_id]
    assert set(by_grader[right.name].comments.values()) == {None}


def test_formgrader_names_the_mistake_and_flags_the_tamperer(graded_class, chromium, artifacts_dir):
    lesson = graded_class.submitted.lesson
    mistaken, tamperer = graded_class.learner("mistake"), graded_class.learner("tampering")
    with formgrader_page(chromium, graded_class.submitted.hub, f"gradebook/{lesson}/{lesson}") as page:
        with Steps(page, artifacts_dir, "hub-formgrader-gradebook")("the gradebook shows the flag"):
            rows = page.locator("#main-table tr", has=page.locator("td.name"))
            rows.nth(len(graded_class.submitted.learners) - 1).wait_for()
            flagged = [
                rows.nth(i).locator("td.name a.name-shown").text_content()
                for i in range(rows.count())
                if rows.nth(i).locator("td.flagged .glyphicon-flag").count()
            ]
            assert flagged == [tamperer.name]
            # Graded by the grader or by the button, nothing is waiting for a human.
            assert rows.locator("td.needs-manual-grade .glyphicon").count() == 0
    entry = graded_class.by_button[mistaken.name]
    path = f"submissions/{entry.submission_id}"
    with formgrader_page(chromium, graded_class.submitted.hub, path) as page:
        with Steps(page, artifacts_dir, "hub-formgrader-submission")("the comment names the mistake"):
            comment = page.locator(f"#{SDPA.answer_cell_id}-comment")
            comment.wait_for()
            assert _diagnosis(mistaken) in comment.get_attribute("placeholder")


def test_a_manual_grade_in_formgrader_survives_a_regrade(graded_class, chromium, artifacts_dir):
    hub, lesson = graded_class.submitted.hub, graded_class.submitted.lesson
    mistaken = graded_class.learner("mistake")
    entry = gradebook_entries(hub, lesson)[mistaken.name]
    with formgrader_page(chromium, hub, f"submissions/{entry.submission_id}") as page:
        with Steps(page, artifacts_dir, "hub-formgrader-manual")("the instructor gives partial credit"):
            page.locator(f"input.score#{SDPA.test_cell_id}").wait_for()
            give_manual_score(page, hub, lesson, mistaken.name, SDPA.test_cell_id, 1.5)
    # Typed without --course: the grader finds the course in the instructor's nbgrader config.
    regrade = grade_from_terminal(hub, "--regrade")
    assert f"grading the nbgrader course {hub.course} " in regrade.stdout
    regraded = gradebook_entries(hub, lesson)[mistaken.name]
    assert regraded.grades[SDPA.test_cell_id] == (0.0, 1.5)
    assert regraded.score == entry.score + 1.5
    assert _diagnosis(mistaken) in regraded.comments[SDPA.answer_cell_id]


def test_each_learner_fetches_feedback_that_names_their_mistake(graded_class, chromium, artifacts_dir):
    """Released in formgrader, fetched from the Assignments tab (the terminal learner with nbgrader's
    fetch_feedback): each learner reads their score, their diagnosis, and none of the hidden tests."""
    hub, lesson = graded_class.submitted.hub, graded_class.submitted.lesson
    timings = graded_class.submitted.timings
    with formgrader_page(chromium, hub, "manage_assignments") as page:
        with Steps(page, artifacts_dir, "hub-formgrader-release")("the instructor releases the feedback"):
            started = time.monotonic()
            release_feedback_in_formgrader(page, lesson)
            timings["instructor: release feedback in formgrader"] = time.monotonic() - started
    points = sum(exercise.points for exercise in lesson_exercises(lesson))
    for learner in graded_class.submitted.learners:
        started = time.monotonic()
        if learner.through_browser:
            with new_page(chromium, default_timeout_ms=60_000) as page:
                with Steps(page, artifacts_dir, f"hub-{learner.name}-feedback")("fetch and open feedback"):
                    shown = fetch_feedback_in_lab(page, hub, learner, lesson)
                    page.screenshot(path=str(artifacts_dir / f"hub-{learner.name}-feedback.png"))
            timings[f"{learner.name}: fetch and open the feedback"] = time.monotonic() - started
        else:
            shown = fetch_feedback_from_terminal(hub, learner, lesson)
        for hidden in HIDDEN:
            assert hidden not in shown, f"{learner.name}'s feedback shows a hidden test: {hidden!r}"
        if learner.expected == "all right":
            assert f"{lesson}: {points:g} / {points:g}" in shown
            continue
        assert _diagnosis(learner) in re.sub(r"\s+", " ", shown.replace("&#39;", "'"))
        if learner.expected.startswith("mistake"):  # the partial credit of the test before
            assert "1.5 / 4, given by your instructor" in shown
    (artifacts_dir / "hub-timings.json").write_text(
        json.dumps({name: round(seconds, 1) for name, seconds in timings.items()}, indent=1) + "\n"
    )
    print(json.dumps({name: round(seconds, 1) for name, seconds in timings.items()}, indent=1))
