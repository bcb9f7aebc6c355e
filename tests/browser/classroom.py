"""The course hub for tests: ``python -m grader hub`` on loopback with JupyterHub's DummyAuthenticator, and a
class that works in it through the browser as learners and the instructor do. Shared by the classroom's
browser tests, and meant to be built on: ``submitted_class`` (tests/browser/conftest.py) yields a running
hub whose class has handed lesson 03 in and whose instructor has collected it, ready to be graded.

The hub runs every server as the user who runs the tests, each learner in a home of their own under
``FOLDER/homes/`` (grader/classroom/hub.py says why that is the test's way and not a class's).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from grader.classroom.hub import PROXY_IN_VENV, course_id
from tests.browser.server import (
    REPO_ROOT,
    SOLUTIONS_DIR,
    browser_skip_reason,
    descendants,
    kill_all,
    new_page,
)

LESSON = "03_qkv"
HUB_START_TIMEOUT = 180  # s: the six lessons generated and released, then JupyterHub and its proxy up
HUB_STOP_TIMEOUT = 30  # s for JupyterHub to stop the class's servers and its proxy after SIGTERM
SPAWN_TIMEOUT = 120_000  # ms from logging in to JupyterLab on the page (the server starts meanwhile)
NBGRADER_MENU = '#jp-menu-panel div.lm-MenuBar-itemLabel:text("Nbgrader")'
ASSIGNMENT_LIST_COMMAND = '#jp-mainmenu-nbgrader li[data-command="nbgrader:open-assignment-list"]'
# Reused from the adversarial grading suite: a notebook that makes every np.allclose pass.
TAMPERING = "import numpy\nnumpy.allclose = lambda *args, **kwargs: True\n"


def hub_skip_reason() -> str | None:
    if reason := browser_skip_reason():
        return reason
    try:
        import jupyterhub  # noqa: F401
    except ImportError as error:
        return f"the course hub needs JupyterHub (make hub-install, or pip install -e '.[hub]'): {error}"
    if not PROXY_IN_VENV.exists() and shutil.which("configurable-http-proxy") is None:
        return "the course hub needs JupyterHub's proxy, configurable-http-proxy from npm (make hub-install)"
    return None


@dataclass
class RunningHub:
    url: str
    """e.g. http://127.0.0.1:40123/ (always ends with "/")."""
    folder: Path
    instructor: str
    learners: list[str]
    log_path: Path
    started_in: float
    """Seconds from ``python -m grader hub`` to JupyterHub answering (the lessons' release included)."""
    prepared_in: float = 0.0
    """Of those, the seconds until the lessons were released and JupyterHub began to start."""

    @property
    def course(self) -> Path:
        """The instructor's nbgrader course, as the hub set it up."""
        return Path(json.loads((self.folder / "hub" / "classroom.json").read_text())["course"])

    def home(self, user: str) -> Path:
        return self.folder / "homes" / user

    def log_tail(self, n_chars: int = 4000) -> str:
        return self.log_path.read_text(errors="replace")[-n_chars:]


def _free_loopback_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def running_hub(folder: Path, instructor: str, learners: list[str]) -> Iterator[RunningHub]:
    """``python -m grader hub FOLDER`` on a free loopback port, for ``learners``; stopped on leaving: SIGTERM
    (JupyterHub then stops every server and its proxy), then anything it started that outlived it."""
    port = _free_loopback_port()
    log_path = folder.parent / "hub.log"
    command = [sys.executable, "-m", "grader", "hub", str(folder), "--authenticator", "dummy"]
    command += ["--instructor", instructor, "--port", str(port)]
    for learner in learners:
        command += ["--learner", learner]
    hub = RunningHub(f"http://127.0.0.1:{port}/", folder, instructor, learners, log_path, 0.0)
    started = time.monotonic()
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            command,
            cwd=REPO_ROOT,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    started_here = []
    try:
        _wait_until_up(hub, process)
        hub.started_in = time.monotonic() - started
        yield hub
    finally:
        started_here = descendants(process.pid)
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=HUB_STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)
        kill_all(started_here)


def _wait_until_up(hub: RunningHub, process: subprocess.Popen) -> None:
    started = time.monotonic()
    deadline = started + HUB_START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the hub exited with code {process.returncode}:\n{hub.log_tail()}")
        if not hub.prepared_in and "starting JupyterHub on" in hub.log_path.read_text(errors="replace"):
            hub.prepared_in = time.monotonic() - started
        try:
            with urllib.request.urlopen(hub.url + "hub/api/", timeout=2) as response:
                if "version" in json.loads(response.read()):
                    return
        except (urllib.error.URLError, OSError, ValueError):
            pass
        time.sleep(0.25)
    raise RuntimeError(
        f"the hub did not answer {hub.url}hub/api/ within {HUB_START_TIMEOUT} s:\n{hub.log_tail()}"
    )


# --- what the class hands in ----------------------------------------------------------------------------


def solution_answers(lesson: str) -> dict[str, str]:
    """The solution's answer cells by grade_id, as a learner who got everything right would write them
    (without nbgrader's solution markers)."""
    notebook = nbformat.read(SOLUTIONS_DIR / f"{lesson}.ipynb", as_version=4)
    return {
        cell.metadata["nbgrader"]["grade_id"]: "\n".join(
            line
            for line in cell.source.splitlines()
            if "### BEGIN SOLUTION" not in line and "### END SOLUTION" not in line
        )
        for cell in notebook.cells
        if cell.metadata.get("nbgrader", {}).get("solution")
    }


def realistic_answer(exercise_id: str, mistake: str) -> str:
    """A learner's own code for ``exercise_id`` with ``mistake`` (tests/realistic_answers.py)."""
    from tests.realistic_answers import ANSWERS

    return next(a.source for a in ANSWERS if a.exercise_id == exercise_id and a.expected == mistake).strip()


@dataclass(frozen=True)
class Learner:
    name: str
    answers: dict[str, str]
    """grade_id -> the answer cell's source as handed in."""
    expected: str
    """What grading should find: "all right", "mistake: <exercise>/<mistake>" or "tampering: <exercise>"."""
    through_browser: bool = True


@dataclass
class SubmittedClass:
    """A running hub whose class has handed ``lesson`` in, collected by the instructor into
    ``hub.course / "submitted"``, where ``python -m grader autograde`` (or formgrader) grades it."""

    hub: RunningHub
    lesson: str
    learners: list[Learner]
    timings: dict[str, float] = field(default_factory=dict)
    collect_log: str = ""

    @property
    def submitted(self) -> Path:
        return self.hub.course / "submitted"


def the_class(prefix: str) -> list[Learner]:
    right = solution_answers(LESSON)
    mistaken = {
        **right,
        "answer_scaled_dot_product_attention": realistic_answer(
            "scaled_dot_product_attention", "softmax_over_queries"
        ),
    }
    tampered = {
        **right,
        "answer_project_qkv": TAMPERING + right["answer_project_qkv"],
        "answer_scaled_dot_product_attention": realistic_answer("scaled_dot_product_attention", "no_scale"),
    }
    return [
        Learner(f"{prefix}-right", right, "all right"),
        Learner(f"{prefix}-mistaken", mistaken, "mistake: scaled_dot_product_attention/softmax_over_queries"),
        # From a terminal with nbgrader's own commands, as a learner may: the browser's loop is measured
        # on two learners, and a third in Chromium would add its cost to every CI run.
        Learner(
            f"{prefix}-tamperer", tampered, "tampering: scaled_dot_product_attention", through_browser=False
        ),
    ]


# --- the browser ----------------------------------------------------------------------------------------


def log_in(page, hub: RunningHub, user: str) -> None:
    """JupyterHub's login form (DummyAuthenticator takes any password); JupyterHub then starts the user's
    server and sends the page to its JupyterLab."""
    page.goto(f"{hub.url}hub/login")
    page.fill("#username_input", user)
    page.fill("#password_input", "any password")
    page.click("#login_submit")


def fetch_answer_submit(page, hub: RunningHub, learner: Learner, lesson: str) -> dict[str, float]:
    """As a learner in JupyterLab: log in, fetch ``lesson`` from the Assignments tab, open the notebook from
    there, write each answer into its cell, save, and submit from the Assignments tab. The seconds each part
    took."""
    from playwright.sync_api import expect

    timings = {}
    started = time.monotonic()
    log_in(page, hub, learner.name)
    page.wait_for_url(re.compile(rf".*/user/{re.escape(learner.name)}/lab.*"), timeout=SPAWN_TIMEOUT)
    expect(page.locator("#jp-main-dock-panel")).to_be_visible(timeout=SPAWN_TIMEOUT)
    timings["log in until JupyterLab shows"] = time.monotonic() - started

    page.locator(NBGRADER_MENU).click()
    # A learner's Nbgrader menu offers the assignment list alone: formgrader and the course list are
    # switched off for learners, and their items hidden.
    expect(page.locator("#jp-mainmenu-nbgrader li.lm-Menu-item:visible")).to_have_text(["Assignment List"])
    page.locator(ASSIGNMENT_LIST_COMMAND).click()
    released = page.locator("#released_assignments_list > .list_item")
    expect(released.locator(".item_name")).to_have_text(sorted(_released_lessons(hub)))
    released.filter(has_text=lesson).locator(".item_status button", has_text="Fetch").click()
    fetched = page.locator("#fetched_assignments_list > .list_item")
    expect(fetched).to_have_count(1)
    # Expanded, a fetched assignment lists its notebooks, each a link that opens it in JupyterLab.
    fetched.locator("a.assignment-notebooks-link", has_text=lesson).click()
    fetched.locator(".assignment-notebooks.in .nested_list_item .item_name a", has_text=lesson).click()
    panel = page.locator("#jp-main-dock-panel .jp-NotebookPanel:not(.lm-mod-hidden)")
    expect(panel).to_have_count(1, timeout=60_000)
    timings["fetch and open the notebook"] = time.monotonic() - started - sum(timings.values())

    fetched_notebook = nbformat.read(hub.home(learner.name) / lesson / f"{lesson}.ipynb", as_version=4)
    cells = panel.locator(".jp-Notebook-cell")
    for index, cell in enumerate(fetched_notebook.cells):
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id not in learner.answers:
            continue
        editor = cells.nth(index).locator(".cm-content")
        editor.scroll_into_view_if_needed()
        editor.click()
        page.keyboard.press("Control+a")
        # Typed as one insertion, as a paste would be: CodeMirror adds no indentation or closing brackets.
        page.keyboard.insert_text(learner.answers[grade_id])
    page.keyboard.press("Control+s")
    expect(page.locator("#jp-main-dock-panel .lm-TabBar-tab.lm-mod-current")).not_to_have_class(
        re.compile(r"\bjp-mod-dirty\b"), timeout=30_000
    )
    timings["write the answers and save"] = time.monotonic() - started - sum(timings.values())

    page.locator("#jp-main-dock-panel .lm-TabBar-tab", has_text="Assignments").click()
    page.locator("#fetched_assignments_list .item_status button", has_text="Submit").click()
    submitted = page.locator("#submitted_assignments_list > .list_item")
    expect(submitted).to_have_count(1, timeout=60_000)
    expect(submitted.locator(".item_name").first).to_have_text(lesson)
    timings["submit"] = time.monotonic() - started - sum(timings.values())
    return timings


def _released_lessons(hub: RunningHub) -> list[str]:
    return [path.name for path in (hub.folder / "exchange" / course_id() / "outbound").iterdir()]


def terminal(hub: RunningHub, user: str) -> dict[str, str]:
    """The environment of a terminal in ``user``'s JupyterLab on the hub: their home, their JupyterHub user
    name (nbgrader's learner id here) and the Jupyter config of their role."""
    role = "instructor" if user == hub.instructor else "learner"
    return {
        **os.environ,
        "HOME": str(hub.home(user)),
        "JUPYTERHUB_USER": user,
        "JUPYTER_CONFIG_PATH": str(hub.folder / "jupyter" / role),
    }


def submit_from_terminal(hub: RunningHub, learner: Learner, lesson: str) -> None:
    """nbgrader's fetch_assignment and submit, as the learner's terminal in the hub runs them (the learner's
    Jupyter config folder, home and JupyterHub user name), the answers written into the fetched notebook."""
    home = hub.home(learner.name)
    home.mkdir(parents=True, exist_ok=True)
    env = terminal(hub, learner.name)
    for step in ("fetch_assignment", "submit"):
        if step == "submit":
            path = home / lesson / f"{lesson}.ipynb"
            notebook = nbformat.read(path, as_version=4)
            for cell in notebook.cells:
                grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
                if grade_id in learner.answers:
                    cell.source = learner.answers[grade_id]
            nbformat.write(notebook, path)
        run = subprocess.run(
            [sys.executable, "-m", "nbgrader", step, lesson],
            cwd=home,
            env=env,
            capture_output=True,
            text=True,
        )
        assert run.returncode == 0, f"nbgrader {step} as {learner.name} failed:\n{run.stdout}{run.stderr}"


def collect_in_formgrader(page, hub: RunningHub, lesson: str) -> str:
    """As the instructor: log in, open formgrader, press Collect on ``lesson``'s row (nbgrader collect), and
    return the log formgrader shows."""
    from playwright.sync_api import expect

    log_in(page, hub, hub.instructor)
    # Their server is up once JupyterHub sends the page to it; formgrader is all this test needs of it.
    page.wait_for_url(
        re.compile(rf".*/user/{re.escape(hub.instructor)}/lab.*"), timeout=SPAWN_TIMEOUT, wait_until="commit"
    )
    page.goto(f"{hub.url}user/{hub.instructor}/formgrader/manage_assignments")
    row = page.locator(
        "tr", has=page.locator("td.name", has_text=re.compile(rf"^\s*{re.escape(lesson)}\s*$"))
    )
    expect(row.locator("td.status")).to_have_text("released", timeout=60_000)
    row.locator("td.collect a").click()
    success = page.locator("#success-modal")
    expect(success).to_be_visible(timeout=60_000)
    expect(success).to_contain_text(f"Successfully collected submissions of '{lesson}'.")
    return success.locator("pre").inner_text()


# --- grading and feedback -------------------------------------------------------------------------------


@dataclass(frozen=True)
class GradebookEntry:
    """One learner's submission as formgrader shows it, read from the course's gradebook."""

    score: float
    grades: dict[str, tuple[float | None, float | None]]
    """grade_id -> (automatic score, manual score)."""
    comments: dict[str, str | None]
    """answer cell grade_id -> the automatic comment."""
    flagged: bool
    submission_id: str
    """formgrader's id of the submitted notebook (its page is formgrader/submissions/<id>)."""


def gradebook_entries(hub: RunningHub, lesson: str) -> dict[str, GradebookEntry]:
    from nbgrader.api import Gradebook

    entries = {}
    with Gradebook(f"sqlite:///{hub.course / 'gradebook.db'}") as gradebook:
        for submission in gradebook.assignment_submissions(lesson):
            notebook = gradebook.find_submission_notebook(lesson, lesson, submission.student_id)
            entries[submission.student_id] = GradebookEntry(
                submission.score,
                {grade.name: (grade.auto_score, grade.manual_score) for grade in notebook.grades},
                {comment.name: comment.auto_comment for comment in notebook.comments},
                notebook.flagged,
                notebook.id,
            )
    return entries


def grade_from_terminal(hub: RunningHub, *arguments: str) -> subprocess.CompletedProcess:
    """``python -m grader autograde ARGUMENTS`` as the instructor types it in their terminal (where, without
    --course, the grader finds the course in their nbgrader config, as nbgrader does)."""
    run = subprocess.run(
        [sys.executable, "-m", "grader", "autograde", *arguments],
        cwd=hub.home(hub.instructor),
        env=terminal(hub, hub.instructor),
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert run.returncode == 0, f"the grader failed:\n{run.stdout}{run.stderr}"
    return run


@contextmanager
def formgrader_page(chromium, hub: RunningHub, path: str) -> Iterator:
    """The instructor, logged in, on formgrader's page ``path`` (e.g. "manage_submissions/03_qkv")."""
    with new_page(chromium, default_timeout_ms=60_000) as page:
        log_in(page, hub, hub.instructor)
        page.wait_for_url(
            re.compile(rf".*/user/{re.escape(hub.instructor)}/lab.*"),
            timeout=SPAWN_TIMEOUT,
            wait_until="commit",
        )
        page.goto(f"{hub.url}user/{hub.instructor}/formgrader/{path}")
        yield page


def autograde_in_formgrader(page, lesson: str, student: str) -> str:
    """On formgrader's Manage Submissions page of ``lesson``: press the Autograde button of ``student``'s
    row (nbgrader autograde, in the instructor's server) and return the log formgrader shows."""
    from playwright.sync_api import expect

    row = page.locator("#main-table tr", has=page.locator("td.student-id", has_text=student))
    row.locator("td.autograde a").click()
    success = page.locator("#success-modal")
    expect(success).to_be_visible(timeout=300_000)
    expect(success).to_contain_text(f"Successfully autograded '{lesson}' for student '{student}'.")
    return success.locator("pre").inner_text()


def give_manual_score(page, hub: RunningHub, lesson: str, student: str, grade_id: str, score: float) -> None:
    """On formgrader's page of ``student``'s submission: type ``score`` into the score box of the cell
    ``grade_id`` and leave the box, which saves it; wait until the gradebook holds it."""
    box = page.locator(f"input.score#{grade_id}")
    box.fill(f"{score:g}")
    box.press("Tab")
    deadline = time.monotonic() + 30
    while gradebook_entries(hub, lesson)[student].grades[grade_id][1] != score:
        assert time.monotonic() < deadline, f"formgrader did not save the score {score} of {grade_id}"
        time.sleep(0.25)


def release_feedback_in_formgrader(page, lesson: str) -> str:
    """On formgrader's Manage Assignments page: press Release Feedback on ``lesson``'s row."""
    from playwright.sync_api import expect

    row = page.locator(
        "tr", has=page.locator("td.name", has_text=re.compile(rf"^\s*{re.escape(lesson)}\s*$"))
    )
    row.locator("td.release-feedback a").click()
    success = page.locator("#success-modal")
    expect(success).to_be_visible(timeout=60_000)
    expect(success).to_contain_text(f"Successfully released feedback of '{lesson}'.")
    return success.locator("pre").inner_text()


def fetch_feedback_in_lab(page, hub: RunningHub, learner: Learner, lesson: str) -> str:
    """As a learner in JupyterLab: log in, press Fetch Feedback on ``lesson`` in the Assignments tab, follow
    "(view feedback)" to the feedback's folder, open the page there, and return the text it shows."""
    from playwright.sync_api import expect

    log_in(page, hub, learner.name)
    page.wait_for_url(re.compile(rf".*/user/{re.escape(learner.name)}/lab.*"), timeout=SPAWN_TIMEOUT)
    expect(page.locator("#jp-main-dock-panel")).to_be_visible(timeout=SPAWN_TIMEOUT)
    page.locator(NBGRADER_MENU).click()
    page.locator(ASSIGNMENT_LIST_COMMAND).click()
    submitted = page.locator("#submitted_assignments_list > .list_item", has_text=lesson)
    submitted.locator(".item_status button", has_text="Fetch Feedback").click()
    view = page.locator("#submitted_assignments_list a", has_text="(view feedback)")
    expect(view).to_be_visible(timeout=60_000)
    view.click()
    listing = page.locator(".jp-DirListing-item", has_text=f"{lesson}.html")
    expect(listing).to_be_visible(timeout=30_000)
    listing.dblclick()
    # JupyterLab shows an HTML file in a sandboxed frame of its own.
    frame = page.frame_locator("#jp-main-dock-panel .jp-HTMLViewer:not(.lm-mod-hidden) iframe")
    body = frame.locator("body")
    expect(body).to_contain_text(f"{lesson}:", timeout=30_000)
    # The hub switched JupyterLab's news question off: a class is not asked it.
    expect(page.get_by_text("official Jupyter news")).to_have_count(0)
    return body.inner_text()


def fetch_feedback_from_terminal(hub: RunningHub, learner: Learner, lesson: str) -> str:
    """nbgrader's fetch_feedback, as the learner's terminal runs it; the feedback page's HTML."""
    home = hub.home(learner.name)
    env = terminal(hub, learner.name)
    run = subprocess.run(
        [sys.executable, "-m", "nbgrader", "fetch_feedback", lesson],
        cwd=home,
        env=env,
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0, f"nbgrader fetch_feedback as {learner.name} failed:\n{run.stdout}{run.stderr}"
    (page,) = (home / lesson / "feedback").glob(f"*/{lesson}.html")
    return page.read_text(encoding="utf-8")


@dataclass
class GradedClass:
    submitted: SubmittedClass
    by_grader: dict[str, GradebookEntry]
    """The gradebook once ``python -m grader autograde --course`` graded the class."""
    by_button: dict[str, GradebookEntry] = field(default_factory=dict)
    """The gradebook once formgrader's Autograde button graded the tamperer again."""
    button_log: str = ""

    def learner(self, expected: str) -> Learner:
        """The class member whose expected finding starts with ``expected`` ("all right", "mistake",
        "tampering")."""
        (found,) = [learner for learner in self.submitted.learners if learner.expected.startswith(expected)]
        return found
