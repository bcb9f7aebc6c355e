"""Does grading a class-sized batch stay flat? Throughput, memory, open files and scratch space over time.

Generates a class (``--submissions``, default 300) over lessons 01-05: correct, partly wrong and unanswered
notebooks, with a faulty one every ``--fault-every`` (a kernel that exits, a bounded thread bomb, a cell
that clears /tmp). Runs ``python -m grader autograde`` on it with ``--workers`` and, every few seconds,
samples the writer (the autograde process) and its pool workers: resident memory and open file
descriptors, and the grader's scratch space (``attention-*``) in a temporary folder of the batch's own
(TMPDIR), so that other graders on the machine do not count. Prints a line per
``--every`` seconds (notebooks graded, the rate over that stretch) and, at the end, the first and last
samples side by side, and whatever scratch folders the batch left behind.

Run: `.venv/bin/python bench/soak.py [--submissions 300] [--workers 2]` (a full run takes hours on a
shared 2-core machine; `--submissions 60` shows the trend in about half an hour).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import nbformat
from grade_speed import KINDS, LESSONS, learner_notebook

from grader.batch import JOURNAL
from grader.paths import ROOT

FAULTS = {
    "exits": "import os\nos._exit(3)",
    "thread_bomb": (
        "import threading, time\n"
        "try:\n"
        "    for _ in range(2000):\n"
        "        threading.Thread(target=time.sleep, args=(2,), daemon=True).start()\n"
        "except RuntimeError as error:\n"
        "    print(error)"
    ),
    "clears_tmp": "import subprocess\nsubprocess.run('rm -rf /tmp/*', shell=True)",
}


def make_class(folder: Path, count: int, fault_every: int) -> None:
    faults = list(FAULTS.values())
    for number in range(count):
        lesson, kind = LESSONS[number % len(LESSONS)], KINDS[(number // len(LESSONS)) % len(KINDS)]
        notebook = learner_notebook(lesson, kind)
        if fault_every and number % fault_every == fault_every - 1:
            fault = faults[(number // fault_every) % len(faults)]
            notebook.cells.insert(len(notebook.cells) // 2, nbformat.v4.new_code_cell(fault))
        target = folder / f"learner{number:04d}" / lesson / f"{lesson}.ipynb"
        target.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(notebook, target)


@dataclass
class Sample:
    seconds: float
    graded: int
    writer_mb: float
    writer_files: int
    workers_mb: float
    """Resident memory of the pool's workers together (not the kernels or per-notebook children)."""
    workers_files: int
    scratch_mb: float
    scratch_folders: int


def _resident_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _open_files(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def _children(pid: int) -> list[int]:
    try:
        return [int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def _scratch(scratch: Path) -> tuple[float, int]:
    folders = [path for path in scratch.glob("attention-*") if path.is_dir()]
    size = 0
    for folder in folders:
        for parent, _, files in os.walk(folder):
            for name in files:
                try:
                    size += os.lstat(os.path.join(parent, name)).st_size
                except OSError:
                    continue
    return size / 2**20, len(folders)


def sample(writer: int, started: float, journal: Path, scratch: Path) -> Sample | None:
    try:
        workers = _children(writer)
        graded = len(journal.read_bytes().splitlines()) if journal.is_file() else 0
        scratch_mb, scratch_folders = _scratch(scratch)
        return Sample(
            time.monotonic() - started,
            graded,
            _resident_mb(writer),
            _open_files(writer),
            sum(_resident_mb(pid) for pid in workers),
            sum(_open_files(pid) for pid in workers),
            scratch_mb,
            scratch_folders,
        )
    except OSError:  # a process ended between two reads
        return None


def _line(s: Sample, rate: float) -> str:
    return (
        f"{s.seconds:7.0f} s  graded {s.graded:4d}  {rate:5.1f}/min  writer {s.writer_mb:6.0f} MB "
        f"{s.writer_files:4d} files  workers {s.workers_mb:6.0f} MB {s.workers_files:4d} files  "
        f"scratch {s.scratch_mb:7.1f} MB in {s.scratch_folders} folders"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--submissions", type=int, default=300)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--fault-every", type=int, default=15, help="one faulty notebook in this many")
    parser.add_argument("--every", type=float, default=60, help="seconds between printed lines")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="soak-") as folder:
        folder = Path(folder)
        make_class(folder / "submitted", args.submissions, args.fault_every)
        out, scratch = folder / "out", folder / "tmp"
        scratch.mkdir()
        command = [sys.executable, "-m", "grader", "autograde", str(folder / "submitted"), "--out", str(out)]
        command += ["--workers", str(args.workers), "--cell-seconds", "60", "--notebook-seconds", "300"]
        started = time.monotonic()
        grading = subprocess.Popen(
            command,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            env={**os.environ, "TMPDIR": str(scratch)},
        )
        samples: list[Sample] = []
        printed = None
        while grading.poll() is None:
            current = sample(grading.pid, started, out / JOURNAL, scratch)
            # From the first notebook graded until the workers stop (then only the report is left to write).
            if current is not None and current.graded > 0 and current.workers_files:
                samples.append(current)
                if printed is None or current.seconds - printed.seconds >= args.every:
                    since = printed or Sample(0, 0, 0, 0, 0, 0, 0, 0)
                    rate = 60 * (current.graded - since.graded) / max(1e-9, current.seconds - since.seconds)
                    print(_line(current, rate), flush=True)
                    printed = current
            time.sleep(2)
        elapsed = time.monotonic() - started
        errors = grading.stderr.read().decode(errors="replace")
        left_behind = sorted(path.name for path in scratch.iterdir())
        graded = len((out / JOURNAL).read_bytes().splitlines()) if (out / JOURNAL).is_file() else 0
    print(
        f"\n{graded} of {args.submissions} submissions graded in {elapsed:.0f} s, "
        f"exit code {grading.returncode}"
    )
    if grading.returncode != 0:
        print(errors[-3000:])
    if len(samples) >= 2:
        first, last = samples[0], samples[-1]
        print(f"{'':10}{'at the start':>16}{'at the end':>16}")
        for label, name, unit in (
            ("writer", "writer_mb", "MB"),
            ("writer", "writer_files", "files"),
            ("workers", "workers_mb", "MB"),
            ("workers", "workers_files", "files"),
            ("scratch", "scratch_mb", "MB"),
            ("scratch", "scratch_folders", "folders"),
        ):
            print(f"{label:10}{getattr(first, name):>10.0f} {unit:<5}{getattr(last, name):>10.0f} {unit}")
        print(f"(first sample at {first.seconds:.0f} s, {first.graded} graded; last at {last.seconds:.0f} s)")
    print(f"left behind in the batch's temporary folder: {', '.join(left_behind) or 'nothing'}")


if __name__ == "__main__":
    main()
