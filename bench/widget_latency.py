"""How long does an explorer take to redraw in the browser after a control changes?

For every lesson (the notebooks in notebooks/), this starts JupyterLab and headless Chromium the way the
browser tests do (tests/browser/server.py), opens the lesson with the answers filled in from solutions/,
runs it, and then changes the first control of each explorer ``--moves`` times. One move is timed in the
page, from the input event (the key press on a slider, the change of a dropdown or checkbox) to the new
picture being on screen: its <img> has the new PNG, decoded, and the next frame is about to be painted.
Between moves the kernel is left to go idle, so each move is timed alone, as a learner's would be.

Prints one line per lesson: the median and the slowest move, over all its explorers, then the median of
each control. Run: `.venv/bin/python bench/widget_latency.py [--moves N] [LESSON ...]`.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))  # the shared server and page helpers live in tests/browser/

from tests.browser.server import (  # noqa: E402
    SOLUTIONS_DIR,
    browser_skip_reason,
    launched_chromium,
    lessons,
    new_page,
    running_lab_server,
)

if reason := browser_skip_reason():
    sys.exit(f"cannot measure: {reason}")

from tests.browser.notebook_ui import (  # noqa: E402
    EXPLORER,
    EXPLORER_CONTROLS,
    EXPLORER_IMAGE,
    change_control,
    control_label,
    open_notebook,
    run_all_cells,
    settled_image_src,
    write_filled_notebook,
)

GOAL_MS = 150  # median redraw a learner should get on a 2-core machine
RUN_ALL_TIMEOUT = 600_000  # ms: lesson 06 trains its model while running

# Installed in the page before each move: a promise, kept in window.redrawLatency, of the milliseconds from
# the first input event inside the explorer to the frame that shows the explorer's next picture.
ARM_REDRAW_TIMER = """explorer => {
    const output = explorer.querySelector(':scope > .widget-output');
    const shown = output.querySelector('img')?.getAttribute('src');
    window.redrawLatency = new Promise((resolve, reject) => {
        let changedAt = null;
        const changed = event => {
            changedAt = event.timeStamp;
            for (const type of ['keydown', 'change']) explorer.removeEventListener(type, changed, true);
        };
        for (const type of ['keydown', 'change']) explorer.addEventListener(type, changed, true);
        const timeout = setTimeout(() => {
            observer.disconnect();
            reject(new Error('no new picture within 20 s'));
        }, 20000);
        const observer = new MutationObserver(() => {
            const image = output.querySelector('img');
            if (changedAt === null || !image || image.getAttribute('src') === shown) return;
            observer.disconnect();
            clearTimeout(timeout);
            image.decode().then(
                () => requestAnimationFrame(() => resolve(performance.now() - changedAt)), reject
            );
        });
        observer.observe(output, {subtree: true, childList: true, attributeFilter: ['src']});
    });
}"""


def time_first_controls(page, panel, moves: int) -> dict[str, list[float]]:
    """Milliseconds per move of the first control of each explorer on the page, by the control's label."""
    timings: dict[str, list[float]] = {}
    for explorer in panel.locator(EXPLORER).all():
        explorer.scroll_into_view_if_needed()
        image = explorer.locator(EXPLORER_IMAGE)
        control = explorer.locator(EXPLORER_CONTROLS).first
        label = control_label(control)
        for _ in range(moves):
            settled_image_src(panel, image)
            explorer.evaluate(ARM_REDRAW_TIMER)
            change_control(control)
            timings.setdefault(label, []).append(page.evaluate("window.redrawLatency"))
        settled_image_src(panel, image)
    return timings


def measure_lesson(browser, lab_server, lesson: str, moves: int) -> dict[str, list[float]]:
    path = f"learner_done/{lesson}.ipynb"
    write_filled_notebook(
        lab_server.root_dir / f"{lesson}.ipynb", SOLUTIONS_DIR / f"{lesson}.ipynb", lab_server.root_dir / path
    )
    with new_page(browser) as page:
        panel = open_notebook(page, lab_server, path, workspace=f"{lesson}-latency")
        run_all_cells(page, panel, timeout=RUN_ALL_TIMEOUT)
        timings = time_first_controls(page, panel, moves)
    lab_server.shutdown_kernels()
    return timings


def report_line(lesson: str, timings: dict[str, list[float]]) -> str:
    if not timings:
        return f"{lesson:<14} no explorers"
    every = [ms for values in timings.values() for ms in values]
    median = statistics.median(every)
    per_control = ", ".join(f"{label} {statistics.median(values):.0f}" for label, values in timings.items())
    flag = f"  <- above the {GOAL_MS} ms goal" if median > GOAL_MS else ""
    return (
        f"{lesson:<14} median {median:5.0f} ms   max {max(every):5.0f} ms   "
        f"({len(every)} moves; median by control: {per_control}){flag}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("lessons", nargs="*", default=lessons(), help="lesson ids (default: every lesson)")
    parser.add_argument("--moves", type=int, default=15, help="moves per explorer (default: 15)")
    arguments = parser.parse_args()
    # Other work on the machine adds to every time: say how busy it was.
    print(f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} before starting")
    with (
        tempfile.TemporaryDirectory(prefix="widget-latency-") as base,
        running_lab_server(Path(base)) as lab_server,
        launched_chromium() as browser,
    ):
        for lesson in arguments.lessons:
            timings = measure_lesson(browser, lab_server, lesson, arguments.moves)
            print(report_line(lesson, timings), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
