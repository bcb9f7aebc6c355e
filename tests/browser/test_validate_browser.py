"""nbgrader's Validate toolbar button (@jupyter/nbgrader's validate-assignment plugin) in a real browser.

Clicking it saves the notebook and asks the server extension (POST /assignments/validate) to run the whole
notebook with nbgrader's Validator, in a kernel of the server's own environment (course_lib and grader are
installed there). The answer arrives in a dialog: "Success! ..." for a notebook whose checks all pass, or
"The following cell failed:" with each failing check cell and its message.

One lesson is validated, the first: the button and its server side are the same for every lesson, and each
validation runs the lesson top to bottom on the server (for lesson 06 that includes the training).
"""

from __future__ import annotations

import re
import shutil

import nbformat
import pytest

from course_lib.registry import get_exercise
from tests.browser.server import NOTEBOOKS_DIR, SOLUTIONS_DIR, browser_skip_reason, lessons

if reason := browser_skip_reason():
    pytest.skip(reason, allow_module_level=True)

from playwright.sync_api import expect  # noqa: E402

from tests.browser.notebook_ui import CHECK_CALL, Steps, nbgrader_metadata, open_notebook  # noqa: E402

pytestmark = [pytest.mark.browser, pytest.mark.timeout(300)]

LESSON = lessons()[0]
VALIDATE_TIMEOUT = 180_000  # ms: the server runs the whole lesson, on a machine possibly shared with others

VALIDATE_BUTTON = ".jp-NotebookPanel-toolbar .validate-button"
RESULT = ".jp-Dialog #validation-message"


def _checked_exercises(notebook: nbformat.NotebookNode) -> list[str]:
    """The exercise ids of the graded check cells, ``check("gaussian_weights", ...)``, in notebook order."""
    return [
        exercise
        for cell in notebook.cells
        if nbgrader_metadata(cell).get("grade")
        for exercise in CHECK_CALL.findall(cell.source)
    ]


def _validate(page, lab_server, path: str, step: Steps):
    """Open ``path``, click Validate, and return the result dialog's message once it is there."""
    with step("open the notebook"):
        step.panel = open_notebook(page, lab_server, path, workspace=step.name)
    with step("click Validate"):
        button = step.panel.locator(VALIDATE_BUTTON)
        expect(button).to_have_text("Validate")
        button.click()
    with step("wait for nbgrader's answer"):
        message = page.locator(RESULT)
        expect(message).to_be_visible(timeout=VALIDATE_TIMEOUT)
    return message


def test_validate_reports_success_on_the_solution(lab_server, page, artifacts_dir):
    path = f"validate/solution/{LESSON}.ipynb"
    (lab_server.root_dir / path).parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(SOLUTIONS_DIR / f"{LESSON}.ipynb", lab_server.root_dir / path)
    step = Steps(page, artifacts_dir, f"{LESSON}-validate-solution")

    message = _validate(page, lab_server, path, step)
    page.screenshot(path=str(artifacts_dir / f"{LESSON}-validate-solution.png"))
    with step("read the verdict"):
        expect(message).to_have_class(re.compile(r"\bvalidation-success\b"))
        expect(message).to_have_text("Success! Your notebook passes all the tests.")
        page.locator(".jp-Dialog .jp-mod-accept").click()
        expect(message).to_have_count(0)
        expect(step.panel.locator(VALIDATE_BUTTON)).to_have_text("Validate")


def test_validate_names_every_failing_check_of_the_released_notebook(lab_server, page, artifacts_dir):
    path = f"validate/released/{LESSON}.ipynb"
    (lab_server.root_dir / path).parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(NOTEBOOKS_DIR / f"{LESSON}.ipynb", lab_server.root_dir / path)
    exercises = _checked_exercises(nbformat.read(NOTEBOOKS_DIR / f"{LESSON}.ipynb", as_version=4))
    assert exercises, f"{LESSON} has no graded check cells"
    step = Steps(page, artifacts_dir, f"{LESSON}-validate-released")

    message = _validate(page, lab_server, path, step)
    page.screenshot(path=str(artifacts_dir / f"{LESSON}-validate-released.png"))
    with step("read the verdict"):
        expect(message).to_have_class(re.compile(r"\bvalidation-failed\b"))
        # Each failure is a pair of blocks: the cell's source, then the message the check printed.
        blocks = message.locator(".jp-RenderedText pre").all_inner_texts()
    sources, errors = blocks[0::2], blocks[1::2]
    reported = [exercise for source in sources for exercise in CHECK_CALL.findall(source)]
    assert reported == exercises, f"Validate reports failing checks {reported}, the lesson has {exercises}"
    for exercise, error in zip(exercises, errors, strict=True):
        assert f"✘ {get_exercise(exercise).target}:" in error and "not written yet" in error, (
            f"Validate shows for {exercise}: {error!r}"
        )
