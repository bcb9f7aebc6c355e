"""Fixtures for the real-browser tests: a throwaway JupyterLab server and a headless Chromium (see server.py).

Without Chromium or Playwright every browser test is skipped with the reason, never passed.
"""

from __future__ import annotations

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
