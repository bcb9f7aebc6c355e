"""The sandbox learner code runs in: who it runs as, what it can reach, and its process limit."""

import asyncio
import multiprocessing
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from grader.course.kernel import SandboxedKernelManager
from grader.paths import ROOT
from grader.sandbox import Sandbox, bubblewrap_works, learner_uid
from grader.settings import Limits

needs_bubblewrap = pytest.mark.skipif(not bubblewrap_works(), reason="needs bubblewrap")
FORKS = """
import os, sys, time
started = 0
try:
    for _ in range(int(sys.argv[1])):
        if os.fork() == 0:
            time.sleep(3600)
        started += 1
except BlockingIOError:
    pass
print(started, flush=True)
time.sleep(float(sys.argv[2]))
"""


def _run(sandbox: Sandbox, *inner: str) -> subprocess.CompletedProcess:
    command = sandbox.command(list(inner), sandbox.writable[0])
    return subprocess.run(command, capture_output=True, text=True, timeout=120)


def _forks_command(folder: Path, processes: int, attempts: int, hold: float) -> list[str]:
    """Learner code that starts ``attempts`` sleeping children under a limit of ``processes``, says how many
    it could, then keeps them ``hold`` seconds (the sandbox ends them when it ends)."""
    sandbox = Sandbox(writable=[folder], limits=Limits(processes=processes))
    return sandbox.command([sys.executable, "-c", FORKS, str(attempts), str(hold)], folder)


def _forks(folder: Path, processes: int, attempts: int) -> int:
    finished = subprocess.run(
        _forks_command(folder, processes, attempts, hold=0), capture_output=True, text=True, timeout=120
    )
    assert finished.returncode == 0, finished.stderr
    return int(finished.stdout)


@needs_bubblewrap
@pytest.mark.skipif(os.geteuid() != 0, reason="learner code changes user only when the grader runs as root")
def test_learner_code_graded_by_root_runs_as_an_unprivileged_user_that_can_still_work(tmp_path):
    (tmp_path / "work").mkdir()
    (tmp_path / "work" / "given.txt").write_text("from the grader")
    sandbox = Sandbox(writable=[tmp_path / "work", tmp_path / "sockets"])
    script = (
        "import os, course_lib, numpy, tempfile\n"
        "print(os.getuid())\n"
        f"print(open({str(tmp_path / 'work' / 'given.txt')!r}).read())\n"
        f"open({str(tmp_path / 'sockets' / 'made')!r}, 'w').write('by learner code')\n"
        "print(tempfile.mkdtemp())\n"
    )
    finished = _run(sandbox, sys.executable, "-c", script)
    assert finished.returncode == 0, finished.stderr
    uid, given, _ = finished.stdout.splitlines()
    assert int(uid) == learner_uid() != 0
    assert given == "from the grader"
    assert (tmp_path / "sockets" / "made").read_text() == "by learner code"


@needs_bubblewrap
def test_of_the_course_checkout_learner_code_sees_only_course_lib_and_python(tmp_path):
    finished = _run(Sandbox(writable=[tmp_path]), "ls", "-A", str(ROOT))
    assert finished.returncode == 0, finished.stderr
    seen = set(finished.stdout.split())
    assert "course_lib" in seen
    assert seen - {"course_lib", Path(sys.prefix).relative_to(ROOT).parts[0]} == set()


@pytest.mark.skipif(
    os.geteuid() == 0 and learner_uid() is None,
    reason="the process limit does not apply to root, and learner code cannot run as another user here",
)
def test_the_process_limit_stops_learner_code_from_forking_without_end(tmp_path):
    assert 0 < _forks(tmp_path, processes=20, attempts=200) < 20


@needs_bubblewrap
@pytest.mark.skipif(os.geteuid() != 0, reason="learner code changes user only when the grader runs as root")
def test_sandboxes_side_by_side_do_not_share_their_process_limit(tmp_path):
    """Each grading process has its own learner user: one submission's fork bomb leaves the next one's
    kernel room to start."""
    with multiprocessing.get_context("fork").Pool(1) as other_grading_process:
        command = other_grading_process.apply(_forks_command, (tmp_path / "bomb", 30, 100, 60))
    with subprocess.Popen(command, stdout=subprocess.PIPE, text=True) as bomb:
        try:
            assert 0 < int(bomb.stdout.readline()) < 30  # its children are all up and at the limit
            assert _forks(tmp_path / "here", processes=30, attempts=25) == 25
        finally:
            bomb.kill()


def test_what_learner_code_writes_to_the_kernels_own_stderr_stays_off_the_graders_terminal(tmp_path, capfd):
    async def run_in_kernel(code: str) -> list[str]:
        sandbox = Sandbox(writable=[tmp_path / "sandbox", tmp_path / "kernel"])
        manager = SandboxedKernelManager(sandbox=sandbox, working_folder=str(tmp_path / "kernel"))
        await manager.start_kernel(cwd=str(tmp_path))
        client = manager.client()
        client.start_channels()
        try:
            await client.wait_for_ready(timeout=60)
            outputs = []
            await client.execute_interactive(code, timeout=60, output_hook=outputs.append)
            return [message["content"].get("text", "") for message in outputs]
        finally:
            client.stop_channels()
            await manager.shutdown_kernel(now=True)

    code = (
        "import os, sys\nos.write(2, b'RAW-FD ')\n"
        "sys.__stderr__.write('DUNDER ')\nsys.__stderr__.flush()\nprint('seen')"
    )
    # In a thread of its own: an earlier test (Playwright's) may leave an event loop running in this one.
    with ThreadPoolExecutor(1) as thread:
        outputs = thread.submit(asyncio.run, run_in_kernel(code)).result()
    assert "seen\n" in outputs  # the kernel ran the cell
    assert not {"RAW-FD", "DUNDER"} & set(capfd.readouterr().err.split())
