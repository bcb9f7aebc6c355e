"""Fixtures for the real-browser tests: a throwaway JupyterLab server and a headless Chromium (see server.py).

Without Chromium or Playwright every browser test is skipped with the reason, never passed.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.browser.server import (
    ARTIFACTS_DIR,
    LabServer,
    browser_skip_reason,
    launched_chromium,
    new_page,
    running_lab_server,
)


@pytest.fixture(scope="session")
def lab_server(tmp_path_factory) -> LabServer:
    """A JupyterLab server on 127.0.0.1 serving a temporary copy of notebooks/; stopped after the session."""
    reason = browser_skip_reason()
    if reason:
        pytest.skip(reason)
    with running_lab_server(tmp_path_factory.mktemp("jupyterlab")) as server:
        yield server


@pytest.fixture(autouse=True)
def _kernels_end_with_their_test(request):
    """A lesson's kernel (lesson 06 holds a trained model) ends with its test instead of idling beside the
    next test's kernel on a small machine."""
    yield
    if "lab_server" in request.fixturenames:
        request.getfixturevalue("lab_server").shutdown_kernels()


@pytest.fixture(scope="session")
def chromium():
    reason = browser_skip_reason()
    if reason:
        pytest.skip(reason)
    with launched_chromium() as browser:
        yield browser


@pytest.fixture
def page(chromium):
    """A fresh browser context and page per test, large enough to show a whole explorer."""
    with new_page(chromium) as page:
        yield page


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    ARTIFACTS_DIR.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS_DIR


# The hub and the class's servers live while the classroom's tests run (module scope): idle beside the
# lessons' browser tests, they would take a small machine's time and memory from them.
@pytest.fixture(scope="module")
def course_hub(tmp_path_factory):
    """``python -m grader hub`` on loopback (DummyAuthenticator) with the six lessons released, for an
    instructor and three learners; stopped after the browser tests. See tests/browser/classroom.py."""
    from tests.browser.classroom import hub_skip_reason, running_hub, the_class

    reason = hub_skip_reason()
    if reason:
        pytest.skip(reason)
    learners = [learner.name for learner in the_class("learner")]
    with running_hub(tmp_path_factory.mktemp("classroom") / "class", "instructor", learners) as hub:
        yield hub


@pytest.fixture(scope="module")
def submitted_class(course_hub, chromium, artifacts_dir):
    """The hub once its class has handed lesson 03 in (two learners from JupyterLab's Assignments tab in
    Chromium, one right and one with a known mistake; a third, who makes np.allclose always pass, from a
    terminal) and the instructor has pressed Collect in formgrader: a ``SubmittedClass``, ready to grade."""
    from tests.browser.classroom import (
        LESSON,
        SubmittedClass,
        collect_in_formgrader,
        fetch_answer_submit,
        submit_from_terminal,
        the_class,
    )
    from tests.browser.notebook_ui import Steps

    submitted = SubmittedClass(course_hub, LESSON, the_class("learner"))
    loop_started = time.monotonic()
    in_browser = [learner for learner in submitted.learners if learner.through_browser]
    in_terminal = [learner for learner in submitted.learners if not learner.through_browser]
    # The terminal learner works while the browser's learners do, as in a class: it waits for nobody.
    with ThreadPoolExecutor(max_workers=1) as terminal:
        terminal_done = [
            terminal.submit(submit_from_terminal, course_hub, learner, LESSON) for learner in in_terminal
        ]
        for learner in in_browser:
            with new_page(chromium, default_timeout_ms=60_000) as page:
                step = Steps(page, artifacts_dir, f"hub-{learner.name}")
                with step(
                    f"{learner.name} fetches, answers and submits {LESSON} (hub log: {course_hub.log_path})"
                ):
                    for part, seconds in fetch_answer_submit(page, course_hub, learner, LESSON).items():
                        submitted.timings[f"{learner.name}: {part}"] = seconds
        submitted.timings["the two-learner loop in the browser"] = time.monotonic() - loop_started
        for done in terminal_done:
            done.result()
    submitted.timings["the class's loop, the terminal learner alongside"] = time.monotonic() - loop_started
    with new_page(chromium, default_timeout_ms=60_000) as page:
        with Steps(page, artifacts_dir, "hub-instructor")(f"the instructor collects {LESSON} in formgrader"):
            started = time.monotonic()
            submitted.collect_log = collect_in_formgrader(page, course_hub, LESSON)
            submitted.timings["instructor: log in and collect in formgrader"] = time.monotonic() - started
    submitted.timings["hub start-up: six lessons generated and released"] = course_hub.prepared_in
    submitted.timings["hub start-up: all, until JupyterHub and its proxy answer"] = course_hub.started_in
    return submitted


@pytest.fixture(scope="module")
def graded_class(submitted_class, chromium, artifacts_dir):
    """The collected class graded twice over: all of it by ``python -m grader autograde --course`` from
    the instructor's terminal, then the tamperer again by formgrader's Autograde button (nbgrader's own
    autograde, with the course's VerifiedExecute). A ``GradedClass`` with the gradebook after each."""
    from tests.browser.classroom import (
        GradedClass,
        autograde_in_formgrader,
        formgrader_page,
        grade_from_terminal,
        gradebook_entries,
    )
    from tests.browser.notebook_ui import Steps

    hub, lesson = submitted_class.hub, submitted_class.lesson
    started = time.monotonic()
    grade_from_terminal(hub, "--course", str(hub.course))
    submitted_class.timings["instructor: python -m grader autograde --course, three notebooks"] = (
        time.monotonic() - started
    )
    graded = GradedClass(submitted_class, by_grader=gradebook_entries(hub, lesson))
    tamperer = graded.learner("tampering")
    with formgrader_page(chromium, hub, f"manage_submissions/{lesson}") as page:
        with Steps(page, artifacts_dir, "hub-instructor-autograde")(f"formgrader autogrades {tamperer.name}"):
            started = time.monotonic()
            graded.button_log = autograde_in_formgrader(page, lesson, tamperer.name)
            submitted_class.timings["instructor: formgrader's Autograde button, one notebook"] = (
                time.monotonic() - started
            )
    graded.by_button = gradebook_entries(hub, lesson)
    return graded
