"""Driving a lesson in JupyterLab 4 with ipywidgets 8 through Playwright: prepare the notebook, run its cells,
read what the page shows, and work the explorers' controls. Shared by the browser tests and the benchmarks.
"""

from __future__ import annotations

import contextlib
import re
import time
import urllib.error
from pathlib import Path

import nbformat
from playwright.sync_api import expect

# How a learner sees a failure. JupyterLab turns an error output (a traceback, or ExerciseFailed's short
# message) into data for two mime types, "application/vnd.jupyter.error" (no renderer) and
# "application/vnd.jupyter.stderr", which is what gets rendered:
#   <div class="jp-RenderedText jp-OutputArea-output" data-mime-type="application/vnd.jupyter.stderr">
# Text written to stderr is rendered the same way (red), so in the page the two cannot be told apart, and both
# count here.
RED_MIME = "application/vnd.jupyter.stderr"
WIDGET_MIME = "application/vnd.jupyter.widget-view+json"

KERNEL_READY_TIMEOUT = 60  # s, for the notebook's fresh kernel to start and report idle
CELL_TIMEOUT = 30_000  # ms, one cell run on its own
REDRAW_TIMEOUT = 20_000  # ms, one control change -> new PNG from the kernel

# A graded check cell calls check("exercise_id", answer); group 1 is the exercise id.
CHECK_CALL = re.compile(r"check\(\s*[\"'](\w+)[\"']")

# An explorer is course_lib.widgets.interactive_figure's VBox([HBox(controls), Output]); a control is any
# ipywidgets view in that HBox (the SelectionSlider view lacks the "jupyter-widgets" class the others have).
EXPLORER = ".widget-vbox:has(> .widget-hbox > .widget-inline-hbox):has(> .widget-output)"
EXPLORER_CONTROLS = ":scope > .widget-hbox > .widget-inline-hbox"
EXPLORER_IMAGE = ":scope > .widget-output img"


# ----------------------------------------------------------------------------------------------------
# notebook preparation


def nbgrader_metadata(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {})


def write_filled_notebook(released_path: Path, solution_path: Path, target: Path) -> list[str]:
    """Copy each instructor answer cell's source into the released cell with the same grade_id."""
    released = nbformat.read(released_path, as_version=4)
    solution = nbformat.read(solution_path, as_version=4)
    answers = {
        nbgrader_metadata(cell)["grade_id"]: cell.source
        for cell in solution.cells
        if nbgrader_metadata(cell).get("solution") and not nbgrader_metadata(cell).get("grade")
    }
    filled = []
    for cell in released.cells:
        grade_id = nbgrader_metadata(cell).get("grade_id")
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


def _menu_command(page, menu: str, command: str) -> None:
    page.locator(".lm-MenuBar-item", has_text=re.compile(rf"^{menu}$")).click()
    page.locator(f'.lm-Menu-item[data-command="{command}"]').click()


def run_all_cells(page, panel, timeout: int) -> None:
    """Run > Run All Cells, then wait (``timeout`` ms) until every code cell has an execution count and the
    kernel is idle."""
    _menu_command(page, "Run", "runmenu:run-all")
    wait_until_all_run(page, panel, timeout)


def wait_until_all_run(page, panel, timeout: int) -> None:
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
        timeout=CELL_TIMEOUT,
    )


def save_notebook(page, lab_server, path: str) -> nbformat.NotebookNode:
    """File > Save Notebook, and read back what was written: the outputs exactly as the kernel sent them."""
    _menu_command(page, "File", "docmanager:save")
    expect(page.locator("#jp-main-dock-panel .lm-TabBar-tab.lm-mod-current")).not_to_have_class(
        re.compile(r"\bjp-mod-dirty\b"), timeout=30_000
    )
    return nbformat.read(lab_server.root_dir / path, as_version=4)


def cell_summaries(panel) -> list[dict]:
    """For each notebook cell in the page: its index, prompt, and outputs (mime type + text), including the
    outputs shown inside widgets; ``widgets`` describes the cell's own widget outputs (what the renderer of
    "application/vnd.jupyter.widget-view+json" made of each: a widget view, or an error text)."""
    return panel.evaluate(
        """panel => [...panel.querySelectorAll('.jp-Notebook-cell')].map((cell, i) => ({
            index: Number(cell.dataset.windowedListIndex ?? i),
            code: cell.classList.contains('jp-CodeCell'),
            prompt: (cell.querySelector('.jp-InputArea-prompt')?.textContent ?? '').trim(),
            outputs: [...cell.querySelectorAll('.jp-Cell-outputArea .jp-OutputArea-output')].map(o => ({
                mime: o.dataset.mimeType ?? '(widget)',
                text: o.textContent.slice(0, 3000),
            })),
            widgets: [...cell.querySelectorAll(
                '.jp-Cell-outputArea > .jp-OutputArea-child > .jp-OutputArea-output:not([data-mime-type])'
            )].map(o => ({
                view: o.querySelector(':scope > .jupyter-widgets')?.className ?? null,
                text: o.textContent.slice(0, 300),
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


class Steps:
    """Named steps of a browser test: a step that fails becomes an AssertionError that says what the page
    showed (a screenshot, the kernel indicator, the last output), so a red test explains itself."""

    def __init__(self, page, artifacts_dir: Path, name: str):
        self.page = page
        self.artifacts_dir = artifacts_dir
        self.name = name
        self.panel = None  # the notebook panel, once open

    @contextlib.contextmanager
    def __call__(self, step: str):
        try:
            yield
        except Exception as error:
            failure = f"{self.name}: {step}: {type(error).__name__}: {error}"
            raise AssertionError(f"{failure}\n{self.scene(step)}") from error

    def scene(self, step: str) -> str:
        slug = re.sub(r"[^a-z0-9]+", "-", step.lower()).strip("-")
        shot = self.artifacts_dir / f"{self.name}-FAILED-{slug}.png"
        try:
            self.page.screenshot(path=str(shot))
        except Exception as shot_error:
            shot = f"(no screenshot: {shot_error})"
        try:
            status = self.page.locator(".jp-Notebook-ExecutionIndicator").first.get_attribute(
                "data-status", timeout=2000
            )
        except Exception:
            status = "unknown"
        shown = last_output_text(self.panel) if self.panel is not None else "(notebook not open)"
        return f"screenshot: {shot}\nkernel indicator: {status}\nlast output area:\n{shown}"


# ----------------------------------------------------------------------------------------------------
# widgets


def settled_image_src(panel, image) -> str:
    """The explorer's PNG once the kernel is idle and the picture has stopped changing, decoded and ready.

    A control that sends several values redraws the plot for each one; comparing against a picture from the
    middle of that burst would make the next comparison meaningless.
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


def control_label(control) -> str:
    """The description a learner reads next to a control ("sigma", "causal mask", ...)."""
    return control.evaluate(
        """control => (control.querySelector('.widget-label-basic span')
            ?? control.querySelector('.widget-label'))?.textContent.trim() ?? control.className"""
    )


def change_control(control) -> str:
    """Change an explorer control by the smallest step a learner can make, and say what was done.

    A slider moves one step with the keyboard (down when it is at its maximum), a dropdown selects the next
    option (the first after the last), a checkbox toggles.
    """
    classes = control.get_attribute("class") or ""
    if "widget-slider" in classes:
        handle = control.locator(".noUi-handle")
        # aria-valuetext is the handle's exact position; aria-valuenow is rounded to one decimal, too coarse
        # for the exponent of a FloatLogSlider.
        before = handle.get_attribute("aria-valuetext")
        at_top = float(before) >= float(handle.get_attribute("aria-valuemax"))
        key = "ArrowLeft" if at_top else "ArrowRight"
        handle.focus()
        handle.press(key)
        expect(handle).not_to_have_attribute("aria-valuetext", before)
        return f"{key} to {control.locator('.widget-readout').text_content()!r}"
    if "widget-dropdown" in classes:
        select = control.locator("select")
        options = select.locator("option").evaluate_all("options => options.map(o => o.value)")
        before = select.input_value()
        after = options[(options.index(before) + 1) % len(options)]
        select.select_option(after)
        return f"{before!r} -> {after!r}"
    if "widget-checkbox" in classes:
        box = control.locator("input[type=checkbox]")
        checked = box.is_checked()
        box.set_checked(not checked)
        return f"{'checked' if checked else 'unchecked'} -> {'unchecked' if checked else 'checked'}"
    raise AssertionError(f"an explorer control of a kind this test does not know: class={classes!r}")
