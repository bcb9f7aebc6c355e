"""Lesson 01 in a real browser: JupyterLab 4 + ipywidgets 8 in headless Chromium.

1. A learner who has finished the exercises runs the whole notebook; the smoothing explorer renders, and
   moving its "sigma" and "inspect" sliders redraws the plot (the kernel answers over the widget comm).
2. A learner who has written nothing yet runs every cell: the only error outputs are in the graded check
   cells; the demo cells and the explorer say "write the exercise first" instead of failing.

Run with ``python -m pytest tests/browser -v``. Artifacts (screenshots) go to test-artifacts/browser/.
"""

from __future__ import annotations

import contextlib
import json
import re
import time
import urllib.error
from pathlib import Path

import nbformat
import pytest

CHROMIUM = Path("/usr/bin/chromium")
if not CHROMIUM.exists():
    pytest.skip(f"browser tests need Chromium at {CHROMIUM}; it is not installed", allow_module_level=True)
pytest.importorskip(
    "playwright.sync_api", reason="browser tests need the playwright Python package (pip install playwright)"
)
from playwright.sync_api import expect  # noqa: E402

pytestmark = [pytest.mark.browser, pytest.mark.timeout(120)]

REPO_ROOT = Path(__file__).resolve().parents[2]
LESSON = "01_smoothing.ipynb"
SOLUTION_NOTEBOOK = REPO_ROOT / "solutions" / LESSON
FILLED_SUBDIR = "learner_done"  # inside the server root: the released notebook with the answers written in

# How a learner sees a failure. JupyterLab turns an error output (a traceback, or ExerciseFailed's short
# message) into data for two mime types, "application/vnd.jupyter.error" (no renderer) and
# "application/vnd.jupyter.stderr", which is what gets rendered:
#   <div class="jp-RenderedText jp-OutputArea-output" data-mime-type="application/vnd.jupyter.stderr">
# Text written to stderr is rendered the same way (red), so in the page the two cannot be told apart, and both
# count here.
RED_MIME = "application/vnd.jupyter.stderr"

KERNEL_READY_TIMEOUT = 60  # s, for the notebook's fresh kernel to start and report idle
RUN_TIMEOUT = 60_000  # ms, running every cell of the lesson
REDRAW_TIMEOUT = 20_000  # ms, one slider move -> new PNG from the kernel


# ----------------------------------------------------------------------------------------------------
# notebook preparation


def _nbgrader(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {})


def write_filled_notebook(released_path: Path, solution_path: Path, target: Path) -> list[str]:
    """Copy each instructor answer cell's source into the released cell with the same grade_id."""
    released = nbformat.read(released_path, as_version=4)
    solution = nbformat.read(solution_path, as_version=4)
    answers = {
        _nbgrader(cell)["grade_id"]: cell.source
        for cell in solution.cells
        if _nbgrader(cell).get("solution") and not _nbgrader(cell).get("grade")
    }
    filled = []
    for cell in released.cells:
        grade_id = _nbgrader(cell).get("grade_id")
        if grade_id in answers:
            cell.source = answers[grade_id]
            filled.append(grade_id)
    missing = sorted(set(answers) - set(filled))
    assert answers and not missing, (
        f"answer cells of {solution_path.name} not found in the release: {missing}"
    )
    target.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(released, target)
    return filled


@pytest.fixture(scope="module")
def filled_notebook(lab_server) -> str:
    """Server-relative path of the lesson with every exercise answered (a learner who is done)."""
    relative = f"{FILLED_SUBDIR}/{LESSON}"
    write_filled_notebook(lab_server.root_dir / LESSON, SOLUTION_NOTEBOOK, lab_server.root_dir / relative)
    return relative


# ----------------------------------------------------------------------------------------------------
# driving JupyterLab


def open_notebook(page, lab_server, path: str, workspace: str):
    """Open ``path`` in a fresh named workspace (no tabs restored from another test); wait for its kernel."""
    page.goto(lab_server.url(f"lab/workspaces/{workspace}/tree/{path}"), wait_until="domcontentloaded")
    panel = page.locator("#jp-main-dock-panel .jp-NotebookPanel:not(.lm-mod-hidden)")
    expect(panel).to_have_count(1, timeout=60_000)
    expect(panel.locator(".jp-Notebook-cell").first).to_be_visible(timeout=30_000)
    # The kernel must really be up: a session for this file whose kernel reports idle...
    deadline = time.monotonic() + KERNEL_READY_TIMEOUT
    state = None
    while time.monotonic() < deadline:
        try:
            sessions = lab_server.api("GET", "api/sessions")
        except (urllib.error.URLError, OSError, ValueError):
            sessions = []
        state = next((s["kernel"]["execution_state"] for s in sessions if s.get("path") == path), None)
        if state == "idle":
            break
        time.sleep(0.25)
    assert state == "idle", f"no idle kernel for {path} after {KERNEL_READY_TIMEOUT}s (last state: {state})"
    # ...and the notebook's own toolbar indicator agrees.
    expect(panel.locator('.jp-Notebook-ExecutionIndicator[data-status="idle"]')).to_have_count(
        1, timeout=30_000
    )
    return panel


def run_all_cells(page, panel) -> None:
    """Run > Run All Cells, then wait until every code cell has an execution count and the kernel is idle."""
    page.locator(".lm-MenuBar-item", has_text=re.compile(r"^Run$")).click()
    page.locator('.lm-Menu-item[data-command="runmenu:run-all"]').click()
    wait_until_all_run(page, panel)


def wait_until_all_run(page, panel, timeout: int = RUN_TIMEOUT) -> None:
    page.wait_for_function(
        """panel => {
            const indicator = panel.querySelector('.jp-Notebook-ExecutionIndicator');
            const prompts = [...panel.querySelectorAll('.jp-CodeCell .jp-InputArea-prompt')]
                .map(p => p.textContent.trim());
            return indicator && indicator.dataset.status === 'idle' && prompts.length > 0
                && prompts.every(p => /^\\[\\d+\\]:$/.test(p));
        }""",
        arg=panel.element_handle(),
        timeout=timeout,
    )


def run_cell(page, panel, index: int) -> None:
    """Select code cell ``index`` (click its prompt), run it with Ctrl+Enter, and wait until it finishes."""
    cell = panel.locator(".jp-Notebook-cell").nth(index)
    cell.locator(".jp-InputArea-prompt").click()
    page.keyboard.press("Control+Enter")
    page.wait_for_function(
        """cell => {
            const prompt = cell.querySelector('.jp-InputArea-prompt');
            const indicator = cell.closest('.jp-NotebookPanel')
                .querySelector('.jp-Notebook-ExecutionIndicator');
            return /^\\[\\d+\\]:$/.test(prompt.textContent.trim()) && indicator.dataset.status === 'idle';
        }""",
        arg=cell.element_handle(),
        timeout=30_000,
    )


def cell_summaries(panel) -> list[dict]:
    """For each notebook cell in the page: its index, prompt, and top-level outputs (mime type + text)."""
    return panel.evaluate(
        """panel => [...panel.querySelectorAll('.jp-Notebook-cell')].map((cell, i) => ({
            index: Number(cell.dataset.windowedListIndex ?? i),
            code: cell.classList.contains('jp-CodeCell'),
            prompt: (cell.querySelector('.jp-InputArea-prompt')?.textContent ?? '').trim(),
            outputs: [...cell.querySelectorAll('.jp-Cell-outputArea .jp-OutputArea-output')].map(o => ({
                mime: o.dataset.mimeType ?? '(widget)',
                text: o.textContent.slice(0, 3000),
            })),
        }))"""
    )


def last_output_text(panel) -> str:
    try:
        with_output = [c for c in cell_summaries(panel) if c["outputs"]]
    except Exception as error:  # the page itself may be the problem
        return f"(could not read the outputs: {error})"
    if not with_output:
        return "(no cell has any output)"
    cell = with_output[-1]
    texts = "\n".join(f"[{o['mime']}] {o['text'].strip()[:1500]}" for o in cell["outputs"])
    return f"cell {cell['index']} {cell['prompt']}\n{texts}"


@contextlib.contextmanager
def explained(page, panel, artifacts_dir: Path, step: str):
    """Turn any failure inside the block into an AssertionError that says what the page showed."""
    try:
        yield
    except Exception as error:
        shot = artifacts_dir / f"01_smoothing-FAILED-{re.sub(r'[^a-z0-9]+', '-', step.lower())}.png"
        try:
            page.screenshot(path=str(shot))
        except Exception as shot_error:
            shot = f"(no screenshot: {shot_error})"
        try:
            status = page.locator(".jp-Notebook-ExecutionIndicator").first.get_attribute(
                "data-status", timeout=2000
            )
        except Exception:
            status = "unknown"
        raise AssertionError(
            f"{step}: {type(error).__name__}: {error}\n"
            f"screenshot: {shot}\nkernel indicator: {status}\n"
            f"last output area:\n{last_output_text(panel) if panel is not None else '(notebook not open)'}"
        ) from error


def _slider(cell, page, description: str):
    label = page.locator(".widget-label", has_text=re.compile(rf"^\s*{re.escape(description)}\s*$"))
    return cell.locator(".widget-slider").filter(has=label)


def settled_image_src(panel, image) -> str:
    """The explorer's PNG once the kernel is idle and the picture has stopped changing, decoded and ready.

    A slider moved by several key presses sends several values, and each one redraws the plot; comparing
    against a picture from the middle of that burst would make the next comparison meaningless.
    """
    idle = panel.locator('.jp-Notebook-ExecutionIndicator[data-status="idle"]')
    deadline = time.monotonic() + REDRAW_TIMEOUT / 1000
    previous = None
    while True:
        src = image.get_attribute("src", timeout=REDRAW_TIMEOUT) or ""
        if src == previous and idle.count() == 1:
            break
        assert time.monotonic() < deadline, "the explorer's picture did not settle (busy kernel?)"
        previous = src
        time.sleep(0.4)
    assert src.startswith("data:image/png"), f"the explorer output is not a PNG data URL: {src[:80]!r}"
    size = image.evaluate("img => img.decode().then(() => [img.naturalWidth, img.naturalHeight])")
    assert min(size) > 0, f"the explorer's PNG does not decode to a picture: {size}"
    return src


# ----------------------------------------------------------------------------------------------------
# the tests


def test_explorer_sliders_redraw_the_plot(lab_server, filled_notebook, page, artifacts_dir):
    panel = None
    with explained(page, panel, artifacts_dir, "open the finished notebook"):
        panel = open_notebook(page, lab_server, filled_notebook, workspace="lesson01-filled")
    with explained(page, panel, artifacts_dir, "run all cells"):
        run_all_cells(page, panel)

    cells = cell_summaries(panel)
    n_cells = len(nbformat.read(lab_server.root_dir / filled_notebook, as_version=4).cells)
    assert len(cells) == n_cells, f"the page shows {len(cells)} cells, the notebook has {n_cells}"
    errors = {c["index"]: o["text"][-800:] for c in cells for o in c["outputs"] if o["mime"] == RED_MIME}
    assert not errors, (
        f"with every exercise answered no cell should fail, but these did:\n{json.dumps(errors, indent=1)}"
    )

    explorer = panel.locator(".jp-Notebook-cell").filter(has=page.locator(".widget-vbox"))
    image = explorer.locator(".widget-output img")
    sigma = _slider(explorer, page, "sigma")
    inspect = _slider(explorer, page, "inspect")
    with explained(page, panel, artifacts_dir, "render the smoothing explorer"):
        expect(explorer).to_have_count(1, timeout=REDRAW_TIMEOUT)
        explorer.scroll_into_view_if_needed()
        expect(sigma).to_have_count(1)
        expect(inspect).to_have_count(1)
        expect(image).to_be_visible(timeout=REDRAW_TIMEOUT)
        expect(sigma.locator(".widget-readout")).to_have_text("3.00")
        first = settled_image_src(panel, image)

    with explained(page, panel, artifacts_dir, "move sigma with the keyboard"):
        handle = sigma.locator(".noUi-handle")
        handle.focus()
        for _ in range(5):  # 5 steps of 0.1
            handle.press("ArrowRight")
        expect(sigma.locator(".widget-readout")).to_have_text("3.50")
        expect(image).not_to_have_attribute("src", first, timeout=REDRAW_TIMEOUT)
        second = settled_image_src(panel, image)
    assert second != first

    with explained(page, panel, artifacts_dir, "type a new inspect value into the readout"):
        readout = inspect.locator(".widget-readout")
        before = readout.text_content()
        readout.click()
        page.keyboard.press("Control+A")
        page.keyboard.type("10")
        page.keyboard.press("Enter")
        expect(readout).to_have_text("10")
        expect(inspect.locator(".noUi-handle")).to_have_attribute("aria-valuenow", re.compile(r"^10(\.0+)?$"))
        expect(image).not_to_have_attribute("src", second, timeout=REDRAW_TIMEOUT)
        third = settled_image_src(panel, image)
    assert third not in (first, second), f"moving inspect from {before} to 10 did not redraw the plot"

    explorer.scroll_into_view_if_needed()
    page.screenshot(path=str(artifacts_dir / "01_smoothing.png"))


def test_released_notebook_fails_only_in_graded_checks(lab_server, page, artifacts_dir):
    """Nothing written yet: run every code cell one by one, as a learner would. (Run All would stop at the
    first failing check: JupyterLab sends every cell with stop_on_error, so the kernel skips the rest.)"""
    notebook = nbformat.read(lab_server.root_dir / LESSON, as_version=4)
    graded = {i for i, cell in enumerate(notebook.cells) if _nbgrader(cell).get("grade")}
    code = [i for i, cell in enumerate(notebook.cells) if cell.cell_type == "code"]
    assert graded, f"{LESSON} has no graded check cells: nothing to compare against"

    panel = None
    with explained(page, panel, artifacts_dir, "open the released notebook"):
        panel = open_notebook(page, lab_server, LESSON, workspace="lesson01-released")
        expect(panel.locator(".jp-Notebook-cell")).to_have_count(len(notebook.cells))
    for index in code:
        with explained(page, panel, artifacts_dir, f"run cell {index}"):
            run_cell(page, panel, index)
    with explained(page, panel, artifacts_dir, "wait for the whole notebook"):
        wait_until_all_run(page, panel)
    page.screenshot(path=str(artifacts_dir / "01_smoothing-released.png"))

    cells = {c["index"]: c for c in cell_summaries(panel)}
    assert sorted(cells) == list(range(len(notebook.cells))), f"cells in the page: {sorted(cells)}"

    def outputs(index: int, mime: str) -> list[str]:
        return [o["text"] for o in cells[index]["outputs"] if o["mime"] == mime]

    # Positive control: the selector does find errors, in every graded check cell.
    for index in sorted(graded):
        errors = outputs(index, RED_MIME)
        assert errors, f"graded cell {index} shows no error although nothing is written: {cells[index]}"
        assert "not written yet" in errors[0], (
            f"graded cell {index} fails for another reason:\n{errors[0][-1500:]}"
        )

    unexpected = {
        index: [f"[{o['mime']}] {o['text'][-800:]}" for o in cells[index]["outputs"] if o["mime"] == RED_MIME]
        for index in code
        if index not in graded
    }
    unexpected = {index: shown for index, shown in unexpected.items() if shown}
    assert not unexpected, (
        "cells outside the graded checks show errors to a learner who has not started:\n"
        + json.dumps(unexpected, indent=1)
    )

    # The demos explain themselves instead of failing: their output names a function the learner must write.
    for index in code:
        waits_for = re.search(r"needs_exercise\(([^)]*)\)", notebook.cells[index].source)
        if not waits_for:
            continue
        names = re.findall(r"[\"']([A-Za-z_]\w*)[\"']", waits_for.group(1))
        text = " ".join(o["text"] for o in cells[index]["outputs"])
        assert any(f"`{name}`" in text for name in names), (
            f"demo cell {index} does not tell the learner which of {names} to write: {text!r}"
        )
    explorer = next(i for i in code if "smoothing_explorer(" in notebook.cells[i].source)
    text = " ".join(o["text"] for o in cells[explorer]["outputs"])
    assert "`gaussian_weights`" in text, f"the explorer does not ask for gaussian_weights: {text!r}"
