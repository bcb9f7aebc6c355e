"""Running learner code in a disposable sandbox.

With bubblewrap (Debian's ``bwrap``): no network (a network namespace of its own), the whole file system
read-only, the course's grader files (grader/, solutions/, .git, the grading output with the gradebook and
the other learners' notebooks) not visible at all, a private /tmp, a pid namespace that dies with the
grader, and only the submission's own scratch folders writable. Resource limits (CPU time, memory, number
of processes, file size) are set with ``prlimit`` inside it; wall-clock time is bounded by the grader.

When the grader runs as root, learner code runs as an unprivileged user of its own (``learner_uid``): Linux
does not apply the process limit to root, so only as another user does it stop a fork bomb.

Without bubblewrap (macOS, no user namespaces) only the resource limits apply, and the grader says so
loudly: learner code can then read the grader's files and open network connections.
"""

from __future__ import annotations

import ctypes
import functools
import os
import shutil
import signal
import subprocess
import sys
import warnings
from dataclasses import dataclass, field
from pathlib import Path

from grader.paths import ROOT
from grader.settings import Limits


@dataclass
class Sandbox:
    writable: list[Path]
    hidden: list[Path] = field(default_factory=list)
    limits: Limits = field(default_factory=Limits)
    environment: dict[str, str] = field(default_factory=dict)
    read_only: list[Path] = field(default_factory=list)
    """Folders of the grader's that learner code reads but cannot change or empty (the grader's inputs)."""

    def __post_init__(self):
        # Resolved paths: a symbolic link on the way (pytest's "pytest-current") would not exist inside.
        self.writable = [path.resolve() for path in self.writable]
        self.read_only = [path.resolve() for path in self.read_only]
        # A folder of the grading machine may not exist on another machine of a Dask cluster.
        self.hidden = [path.resolve() for path in self.hidden if path.exists()]

    def command(self, inner: list[str], cwd: Path | None = None) -> list[str]:
        """``inner`` wrapped in the sandbox (or only in resource limits where bubblewrap is unavailable)."""
        variables = [f"{name}={value}" for name, value in self.environment.items()]
        uid = learner_uid()
        switch_user = _as_user(uid) if uid is not None else []
        return (
            self._isolation(cwd, uid) + switch_user + self._resource_limits(uid) + ["env", *variables] + inner
        )

    def _resource_limits(self, uid: int | None) -> list[str]:
        limits = self.limits
        # The process limit counts every process and thread of the user: a learner user of its own has
        # only the sandbox's; the grader's own user also has whatever runs on the machine already.
        processes = limits.processes if uid is not None else _threads_running() + limits.processes
        return [
            "prlimit",
            f"--cpu={limits.cpu_seconds}",
            f"--as={limits.memory_mb * 2**20}",
            f"--nproc={processes}",
            f"--fsize={limits.file_size_mb * 2**20}",
            "--",
        ]

    def _isolation(self, cwd: Path | None, uid: int | None) -> list[str]:
        """bubblewrap's arguments. Run by root with a learner ``uid``, bwrap itself stays root (so it can
        bind what the learner may not open) and the command inside switches to the learner; otherwise
        bwrap makes a user namespace."""
        if not bubblewrap_works():
            return []
        home = self.writable[0] / "home"
        home.mkdir(parents=True, exist_ok=True)
        for path in self.writable:
            path.mkdir(parents=True, exist_ok=True)
            if uid is not None:
                _hand_over(path, uid)
        readable = [ROOT / "course_lib", *_interpreter_folders(), *self.read_only]
        emptied = {Path("/tmp"): "1777", ROOT: "0755"} | dict.fromkeys(self.hidden, "0755")
        if uid is not None:
            emptied |= dict.fromkeys(_closed_to(uid, readable + self.writable, emptied), "0755")
        command = ["bwrap", "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc"]
        for folder in sorted(emptied, key=lambda folder: len(folder.parts)):
            command += ["--perms", emptied[folder], "--tmpfs", str(folder)]
        binds = [("--ro-bind", path) for path in readable if _inside(path, emptied)]
        binds += [("--bind", path) for path in self.writable]
        made: set[Path] = set()
        for kind, path in sorted(binds, key=lambda bind: len(bind[1].parts)):
            command += _folders_leading_to(path, emptied, made) + [kind, str(path), str(path)]
        command += ["--unshare-net", "--unshare-pid", "--die-with-parent", "--new-session"]
        if uid is None:
            command.append("--unshare-user")
        # ipykernel watches the process JPY_PARENT_PID names and quits when it is gone; in the sandbox's pid
        # namespace the grader is invisible, and 1 (init) means "do not watch".
        command += ["--setenv", "JPY_PARENT_PID", "1", "--setenv", "HOME", str(home)]
        command += ["--setenv", "MPLCONFIGDIR", str(home), "--setenv", "IPYTHONDIR", str(home / ".ipython")]
        return command + ["--chdir", str((cwd or self.writable[0]).resolve())]


def _interpreter_folders() -> list[Path]:
    folders = {Path(sys.prefix), Path(sys.base_prefix), Path(sys.executable).resolve().parent}
    return sorted(folder for folder in folders if not any(folder in other.parents for other in folders))


def _inside(path: Path, folders) -> Path | None:
    """The innermost of ``folders`` that holds ``path``, if any."""
    holding = [folder for folder in folders if path.is_relative_to(folder)]
    return max(holding, key=lambda folder: len(folder.parts), default=None)


def _folders_leading_to(path: Path, emptied, made: set[Path]) -> list[str]:
    """bwrap arguments making the folders between an emptied folder and ``path``, open to every user (bwrap
    would make them private to root)."""
    top = _inside(path, emptied)
    if top is None:
        return []
    command = []
    for folder in reversed(path.parents):
        if folder.is_relative_to(top) and folder != top and folder not in made:
            made.add(folder)
            command += ["--perms", "0755", "--dir", str(folder)]
    return command


def _closed_to(uid: int, paths: list[Path], emptied) -> list[Path]:
    """The first folder on the way to each of ``paths`` that ``uid`` may not enter (a Python installed
    under /root, a private temporary folder), unless an emptied folder replaces it anyway."""
    closed = []
    for path in paths:
        if _inside(path, emptied):
            continue
        for folder in [*reversed(path.parents), path]:
            status = folder.stat()
            if status.st_uid != uid and not status.st_mode & 0o001:
                closed.append(folder)
                break
    return closed


LEARNER_UID_BASE = 1_990_000_000
"""Learner code graded by root runs as this user id plus the grading process's pid: ids no account uses,
below 2**31 (bubblewrap's limit) and below the ranges systemd gives containers."""


def learner_uid() -> int | None:
    """The user id learner code runs as, or None to keep the grader's own.

    Only when the grader runs as root (as in a container): Linux exempts root from the process limit
    (RLIMIT_NPROC), so a fork bomb would go unchecked. One id per grading process, because the limit counts
    all of the user's processes and threads, and sandboxes graded side by side must not share them.
    """
    if os.geteuid() != 0 or not bubblewrap_works():
        return None
    return LEARNER_UID_BASE + os.getpid() if _user_sandbox_works() else None


def _user_sandbox_works() -> bool:
    return _works(
        "setpriv",
        (
            "bwrap",
            "--ro-bind",
            "/",
            "/",
            "--unshare-net",
            "--unshare-pid",
            *_as_user(LEARNER_UID_BASE),
            "true",
        ),
        "the grader runs as root but cannot run learner code as another user here (it needs util-linux's "
        "setpriv inside bubblewrap): learner code runs as root, where Linux does not apply the process "
        "limit, so a fork bomb is not stopped. Grade as an ordinary user to have the limit apply.",
    )


def _as_user(uid: int) -> list[str]:
    return [
        "setpriv",
        f"--reuid={uid}",
        f"--regid={uid}",
        "--clear-groups",
        "--bounding-set=-all",
        "--no-new-privs",
        "--",
    ]


def _hand_over(folder: Path, uid: int) -> None:
    """Make ``folder`` and everything in it belong to ``uid``, so that learner code can write there."""
    os.chown(folder, uid, uid)
    for parent, folders, files in os.walk(folder):
        for name in folders + files:
            os.chown(os.path.join(parent, name), uid, uid, follow_symlinks=False)


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


def bubblewrap_works() -> bool:
    """Whether bwrap can create the namespaces we use here; warns once, loudly, when it cannot."""
    return _works(
        "bwrap",
        ("bwrap", "--ro-bind", "/", "/", "--unshare-net", "--unshare-pid", "--unshare-user", "true"),
        "bubblewrap (bwrap) is missing or cannot create namespaces here: learner code will run with resource "
        "limits only, WITHOUT network or file-system isolation. It can read the grader's files and reach the "
        "network. Install bubblewrap (Debian/Ubuntu: apt-get install bubblewrap) and allow unprivileged user "
        "namespaces to grade untrusted notebooks.",
    )


@functools.cache
def _works(tool: str, probe: tuple[str, ...], warning: str) -> bool:
    """Whether ``probe``, a command needing ``tool``, succeeds here; warns once, loudly, when it does not."""
    try:
        works = (
            shutil.which(tool) is not None
            and subprocess.run(probe, capture_output=True, timeout=30).returncode == 0
        )
    except (OSError, subprocess.TimeoutExpired):
        works = False
    if not works:
        warnings.warn(warning, RuntimeWarning, stacklevel=3)
    return works


def describe_isolation() -> str:
    """In words, how learner code is isolated on this machine (and the probes run once, here, so that the
    processes this one forks inherit their answers)."""
    if not bubblewrap_works():
        return "resource limits only (no bubblewrap): learner code can read your files and use the network"
    if learner_uid() is not None:
        return "bubblewrap sandbox, learner code running as an unprivileged user of its own"
    if os.geteuid() == 0:
        return (
            "bubblewrap sandbox, learner code running as root (no setpriv): the process limit does not hold"
        )
    return "bubblewrap sandbox, learner code running as your user"


def run_sandboxed(sandbox: Sandbox, inner: list[str], cwd: Path) -> subprocess.CompletedProcess:
    """Run a command in the sandbox with the job wall-clock limit; a timeout kills the whole sandbox."""
    command = sandbox.command(inner, cwd)
    try:
        return subprocess.run(
            command, cwd=cwd, capture_output=True, text=True, timeout=sandbox.limits.job_seconds
        )
    except subprocess.TimeoutExpired as expired:
        return subprocess.CompletedProcess(command, -9, expired.stdout or "", "wall-clock limit reached")
