"""Running learner code in a disposable sandbox.

With bubblewrap (Debian's ``bwrap``): no network (a network namespace of its own), the whole file system
read-only, the course's grader files (grader/, solutions/, .git, the grading output with the gradebook and
the other learners' notebooks) not visible at all, a private /tmp, a pid namespace that dies with the
grader, and only the submission's own scratch folders writable. Resource limits (CPU time, memory, number
of processes, file size) are set with ``prlimit`` inside it; wall-clock time is bounded by the grader.

Without bubblewrap (macOS, no user namespaces) only the resource limits apply, and the grader says so
loudly: learner code can then read the grader's files and open network connections.
"""

from __future__ import annotations

import ctypes
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import warnings
from dataclasses import dataclass, field
from pathlib import Path

from jupyter_client import AsyncKernelManager
from traitlets import Dict, Unicode

from grader.paths import ROOT


@dataclass(frozen=True)
class Limits:
    cpu_seconds: int = 600
    memory_mb: int = 6144
    processes: int = 256
    """Processes and threads the sandbox may add to those already running."""
    file_size_mb: int = 512
    cell_seconds: int = 180
    """Wall-clock limit of one notebook cell (nbgrader's execution timeout)."""
    job_seconds: int = 300
    """Wall-clock limit of one verification process."""
    notebook_seconds: int = 1200
    """Wall-clock limit of grading one notebook, verification included."""


@dataclass
class Sandbox:
    writable: list[Path]
    hidden: list[Path] = field(default_factory=list)
    limits: Limits = field(default_factory=Limits)
    environment: dict[str, str] = field(default_factory=dict)

    def __post_init__(self):
        # Resolved paths: a symbolic link on the way (pytest's "pytest-current") would not exist inside.
        self.writable = [path.resolve() for path in self.writable]
        # A folder of the grading machine may not exist on another machine of a Dask cluster.
        self.hidden = [path.resolve() for path in self.hidden if path.exists()]

    def command(self, inner: list[str], cwd: Path | None = None) -> list[str]:
        """``inner`` wrapped in the sandbox (or only in resource limits where bubblewrap is unavailable)."""
        variables = [f"{name}={value}" for name, value in self.environment.items()]
        return self._isolation(cwd) + self._resource_limits() + ["env", *variables] + inner

    def _resource_limits(self) -> list[str]:
        limits = self.limits
        return [
            "prlimit",
            f"--cpu={limits.cpu_seconds}",
            f"--as={limits.memory_mb * 2**20}",
            f"--nproc={_threads_running() + limits.processes}",
            f"--fsize={limits.file_size_mb * 2**20}",
            "--",
        ]

    def _isolation(self, cwd: Path | None) -> list[str]:
        if not bubblewrap_works():
            return []
        command = ["bwrap", "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--tmpfs", "/tmp"]
        command += self._hide_course_root()
        for path in self.hidden:
            command += ["--tmpfs", str(path)]
        for path in self.writable:
            path.mkdir(parents=True, exist_ok=True)
            command += ["--bind", str(path), str(path)]
        home = self.writable[0] / "home"
        home.mkdir(parents=True, exist_ok=True)
        command += ["--unshare-net", "--unshare-pid", "--unshare-user", "--die-with-parent", "--new-session"]
        # ipykernel watches the process JPY_PARENT_PID names and quits when it is gone; in the sandbox's pid
        # namespace the grader is invisible, and 1 (init) means "do not watch".
        command += ["--setenv", "JPY_PARENT_PID", "1", "--setenv", "HOME", str(home)]
        command += ["--setenv", "MPLCONFIGDIR", str(home), "--setenv", "IPYTHONDIR", str(home / ".ipython")]
        return command + ["--chdir", str((cwd or self.writable[0]).resolve())]

    @staticmethod
    def _hide_course_root() -> list[str]:
        """Hide the course checkout except what learner code needs: course_lib and the Python it runs on."""
        keep = [ROOT / "course_lib"]
        interpreter_prefix = Path(sys.prefix)
        if interpreter_prefix.is_relative_to(ROOT):
            keep.append(interpreter_prefix)
        command = ["--tmpfs", str(ROOT)]
        for path in keep:
            command += ["--ro-bind", str(path), str(path)]
        return command


def _threads_running() -> int:
    """Threads on the machine now. The process limit counts every thread of the user, and the grader runs
    as that user too, so the sandbox's allowance is added to what is already running."""
    try:
        return int(Path("/proc/loadavg").read_text().split()[3].split("/")[1])
    except (OSError, IndexError, ValueError):
        return 4096


PR_SET_PDEATHSIG = 1


def die_with_parent() -> None:
    """Have the kernel kill this process when its parent dies (Linux), so a grader killed with SIGKILL leaves
    no grading processes running on; elsewhere a no-op."""
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)

_bubblewrap_checked: bool | None = None


def bubblewrap_works() -> bool:
    """Whether bwrap can create the namespaces we use here; warns once, loudly, when it cannot."""
    global _bubblewrap_checked
    if _bubblewrap_checked is None:
        probe = ["bwrap", "--ro-bind", "/", "/", "--unshare-net", "--unshare-pid", "--unshare-user", "true"]
        try:
            _bubblewrap_checked = (
                shutil.which("bwrap") is not None
                and subprocess.run(probe, capture_output=True, timeout=30).returncode == 0
            )
        except (OSError, subprocess.TimeoutExpired):
            _bubblewrap_checked = False
        if not _bubblewrap_checked:
            warnings.warn(
                "bubblewrap (bwrap) is missing or cannot create namespaces here: learner code will run with "
                "resource limits only, WITHOUT network or file-system isolation. It can read the grader's "
                "files and reach the network. Install bubblewrap (Debian/Ubuntu: apt-get install bubblewrap) "
                "and allow unprivileged user namespaces to grade untrusted notebooks.",
                RuntimeWarning,
                stacklevel=2,
            )
    return _bubblewrap_checked


def run_sandboxed(sandbox: Sandbox, inner: list[str], cwd: Path) -> subprocess.CompletedProcess:
    """Run a command in the sandbox with the job wall-clock limit; a timeout kills the whole sandbox."""
    command = sandbox.command(inner, cwd)
    try:
        return subprocess.run(
            command, cwd=cwd, capture_output=True, text=True, timeout=sandbox.limits.job_seconds
        )
    except subprocess.TimeoutExpired as expired:
        return subprocess.CompletedProcess(command, -9, expired.stdout or "", "wall-clock limit reached")


class SandboxedKernelManager(AsyncKernelManager):
    """The kernel nbgrader runs a submission in, started inside the submission's sandbox.

    It talks to the grader over unix sockets in the sandbox's writable folder (the sandbox has no network,
    not even loopback to the host). Asynchronous, as nbgrader's Execute expects: with a blocking client,
    nbclient waits for the kernel's next output with the event loop stopped, so a kernel that dies or
    loops without printing is never noticed, and its cell never times out.
    """

    sandbox_folder = Unicode(help="writable scratch folder of this submission").tag(config=True)
    kernel_folder = Unicode(help="folder the notebook runs in (writable)").tag(config=True)
    hidden_folders = Unicode(help="os.pathsep-separated folders to hide").tag(config=True)
    sandbox_environment = Dict(help="environment variables for learner code").tag(config=True)
    limits = Dict(help="Limits fields to override").tag(config=True)

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        folder = Path(self.sandbox_folder).resolve()
        folder.mkdir(parents=True, exist_ok=True)
        # A unix socket's path must fit in about 100 bytes, so the sockets live in a short temporary folder.
        self.socket_folder = Path(tempfile.mkdtemp(prefix="attention-kernel-"))
        self.transport = "ipc"
        self.ip = str(self.socket_folder / "k")
        # A signal would reach bwrap, not the kernel inside it; ask the kernel itself to interrupt instead.
        self.kernel_spec.interrupt_mode = "message"
        self.connection_file = str(folder / "kernel.json")

    async def cleanup_resources(self, restart: bool = False) -> None:
        await super().cleanup_resources(restart=restart)
        if not restart:
            shutil.rmtree(self.socket_folder, ignore_errors=True)

    def _sandbox(self) -> Sandbox:
        return Sandbox(
            writable=[Path(self.sandbox_folder), Path(self.kernel_folder), self.socket_folder],
            hidden=[Path(path) for path in self.hidden_folders.split(os.pathsep) if path],
            limits=Limits(**self.limits),
            environment=dict(self.sandbox_environment),
        )

    def format_kernel_cmd(self, extra_arguments: list[str] | None = None) -> list[str]:
        return self._sandbox().command(super().format_kernel_cmd(extra_arguments), Path(self.kernel_folder))
