"""A throwaway JupyterLab server and a headless Chromium, shared by the browser tests and the benchmarks.

The server runs on a loopback port with a random token, serves a temporary copy of ``notebooks/``, and keeps
all of its state (config, runtime files, workspaces, user settings) in a temporary directory, so the
learner's own ``~/.jupyter`` cannot change what the test sees. It is stopped on leaving the context: first
every kernel through the REST API, then the server's process group, then any kernel process that survived
it.
"""

from __future__ import annotations

import json
import os
import secrets
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
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS_DIR = REPO_ROOT / "notebooks"
SOLUTIONS_DIR = REPO_ROOT / "solutions"
ARTIFACTS_DIR = REPO_ROOT / "test-artifacts" / "browser"

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
VIEWPORT = {"width": 1400, "height": 1000}  # large enough to show a whole explorer

SERVER_START_TIMEOUT = 60  # seconds until /api/status must answer
SERVER_STOP_TIMEOUT = 15  # seconds the server gets to shut its kernels down after SIGTERM

# Server config for the test server only: no news feed, no update check (there is no internet anyway).
SERVER_CONFIG = {"LabApp": {"news_url": None, "check_for_updates_class": "jupyterlab.NeverCheckForUpdate"}}
# User settings for the test server only: no "Would you like to get notified about Jupyter news?" toast
# covering the notebook.
LAB_USER_SETTINGS = {
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {
        "fetchNews": "false",
        "checkForUpdates": False,
    },
}


def lessons() -> list[str]:
    """Every learner notebook's stem, in course order: a new lesson is covered without editing the tests."""
    return sorted(path.stem for path in NOTEBOOKS_DIR.glob("*.ipynb"))


def browser_skip_reason() -> str | None:
    """Why the browser tests cannot run here, or None if they can."""
    if not CHROMIUM.exists():
        return f"browser tests need Chromium at {CHROMIUM}; it is not installed"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError as error:
        return f"browser tests need the playwright Python package (pip install playwright): {error}"
    return None


@dataclass
class LabServer:
    base_url: str  # e.g. http://127.0.0.1:40123/  (always ends with "/")
    token: str
    root_dir: Path  # what the server serves: a temporary copy of notebooks/
    log_path: Path

    def url(self, path: str) -> str:
        """Address of ``path`` (relative to the server root) with the token attached."""
        separator = "&" if "?" in path else "?"
        return f"{self.base_url}{path.lstrip('/')}{separator}token={self.token}"

    def api(self, method: str, path: str, body: dict | None = None, timeout: float = 10):
        request = urllib.request.Request(
            self.base_url + path.lstrip("/"),
            method=method,
            data=None if body is None else json.dumps(body).encode(),
            headers={"Authorization": f"token {self.token}", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=timeout) as response:
            payload = response.read()
        return json.loads(payload) if payload else None

    def shutdown_kernels(self) -> None:
        """End every kernel, so that one lesson's idle kernel does not hold memory while the next one runs."""
        for kernel in self.api("GET", "api/kernels", timeout=5) or []:
            self.api("DELETE", f"api/kernels/{kernel['id']}", timeout=30)

    def log_tail(self, n_chars: int = 3000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-n_chars:]
        except OSError as error:
            return f"(could not read {self.log_path}: {error})"


def _free_loopback_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def descendants(pid: int) -> list[int]:
    """Every process started by ``pid``, its children's children included (Linux /proc)."""
    parents = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            parents[int(stat.parent.name)] = int(stat.read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
    found, frontier = [], [pid]
    while frontier:
        children = [child for child, parent in parents.items() if parent in frontier]
        found += children
        frontier = children
    return found


def kill_all(pids: list[int]) -> None:
    """SIGKILL to each of ``pids`` still running: what a test started and outlived its stop."""
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def _server_env(state_dir: Path) -> dict[str, str]:
    env = dict(os.environ)
    venv_bin = str(Path(sys.executable).parent)
    env["PATH"] = venv_bin + os.pathsep + env.get("PATH", "")
    # Keep every piece of Jupyter state inside the temporary directory. With JUPYTER_DATA_DIR moved, the only
    # python3 kernelspec left is the one ipykernel installed in this venv (a user-level one cannot shadow it);
    # its argv starts with "python", which jupyter_client replaces with the server's sys.executable.
    for variable, sub in {
        "JUPYTER_CONFIG_DIR": "config",
        "JUPYTER_DATA_DIR": "data",
        "JUPYTER_RUNTIME_DIR": "runtime",
        "JUPYTERLAB_SETTINGS_DIR": "lab-user-settings",
        "JUPYTERLAB_WORKSPACES_DIR": "lab-workspaces",
        "IPYTHONDIR": "ipython",
    }.items():
        path = state_dir / sub
        path.mkdir(parents=True, exist_ok=True)
        env[variable] = str(path)
    env.pop("JUPYTER_PATH", None)
    env.pop("JUPYTER_TOKEN", None)
    env["PYTHONUNBUFFERED"] = "1"
    (state_dir / "config" / "jupyter_server_config.json").write_text(json.dumps(SERVER_CONFIG))
    for name, settings in LAB_USER_SETTINGS.items():
        settings_file = state_dir / "lab-user-settings" / name
        settings_file.parent.mkdir(parents=True, exist_ok=True)
        settings_file.write_text(json.dumps(settings))
    return env


def _wait_until_up(server: LabServer, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + SERVER_START_TIMEOUT
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(
                f"JupyterLab exited with code {process.returncode} before answering.\n"
                f"--- log {server.log_path} ---\n{server.log_tail()}"
            )
        try:
            status = server.api("GET", "api/status", timeout=2)
            if isinstance(status, dict) and "started" in status:
                return
        except (urllib.error.URLError, OSError, ValueError) as error:
            last_error = error
        time.sleep(0.25)
    raise RuntimeError(
        f"JupyterLab did not answer {server.base_url}api/status within {SERVER_START_TIMEOUT}s "
        f"(last error: {last_error}).\n--- log {server.log_path} ---\n{server.log_tail()}"
    )


def _check_kernel_is_this_venv(server: LabServer, runtime_dir: Path) -> None:
    """Start the default kernel through the server and make sure it is this venv's Python with course_lib."""
    from jupyter_client import BlockingKernelClient

    kernel = server.api("POST", "api/kernels", {"name": "python3"}, timeout=30)
    client = BlockingKernelClient()
    try:
        connection_file = runtime_dir / f"kernel-{kernel['id']}.json"
        deadline = time.monotonic() + 10
        while not connection_file.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        client.load_connection_file(str(connection_file))
        client.start_channels()
        client.wait_for_ready(timeout=60)
        chunks: list[str] = []

        def keep_output(message: dict) -> None:
            content = message["content"]
            if message["msg_type"] == "stream":
                chunks.append(content["text"])
            elif message["msg_type"] == "error":
                chunks.append("\n".join(content["traceback"]))

        reply = client.execute_interactive(
            "import json, sys, course_lib\n"
            "print(json.dumps({'prefix': sys.prefix, 'executable': sys.executable,"
            " 'course_lib': course_lib.__file__}))",
            timeout=60,
            output_hook=keep_output,
        )
        output = "".join(chunks)
        assert reply["content"]["status"] == "ok", f"the notebook kernel cannot import course_lib:\n{output}"
        facts = json.loads(output.strip().splitlines()[-1])
        assert Path(facts["prefix"]).resolve() == Path(sys.prefix).resolve(), (
            f"the notebook kernel runs {facts['executable']} (prefix {facts['prefix']}), "
            f"not this venv's Python {sys.executable} (prefix {sys.prefix})"
        )
    finally:
        client.stop_channels()
        server.api("DELETE", f"api/kernels/{kernel['id']}", timeout=30)


def _stop(process: subprocess.Popen, server: LabServer) -> None:
    if process.poll() is None:
        try:  # polite first: shut every kernel down through the API
            server.shutdown_kernels()
        except (urllib.error.URLError, OSError, ValueError):
            pass
    kernels_left = descendants(process.pid) if process.poll() is None else []
    try:
        os.killpg(process.pid, signal.SIGTERM)
    except ProcessLookupError:
        pass
    try:
        process.wait(timeout=SERVER_STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        process.wait(timeout=10)
    # Kernels run in sessions of their own, outside the server's process group: end any that outlived it.
    kill_all(kernels_left)


@contextmanager
def running_lab_server(base: Path) -> Iterator[LabServer]:
    """A JupyterLab server on 127.0.0.1 serving a copy of notebooks/ made in ``base`` (an empty directory).

    The server runs in its root directory. nbgrader's Validate button reads nbgrader_config.py from there;
    there is none, as there is none where ``make lab`` starts JupyterLab (the repository root), so Validate
    runs with nbgrader's defaults, as a learner's does.
    """
    root_dir = base / "notebooks"
    shutil.copytree(NOTEBOOKS_DIR, root_dir)
    state_dir = base / "state"
    env = _server_env(state_dir)
    port = _free_loopback_port()
    token = secrets.token_hex(24)
    log_path = base / "jupyterlab.log"
    command = [
        sys.executable,
        "-m",
        "jupyter",
        "lab",
        "--no-browser",
        "--allow-root",  # harmless otherwise; containers often run the suite as root
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",  # fail loudly rather than drift to another port
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={root_dir}",
        "--ServerApp.open_browser=False",
    ]
    server = LabServer(
        base_url=f"http://127.0.0.1:{port}/", token=token, root_dir=root_dir, log_path=log_path
    )
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            command,
            cwd=root_dir,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # own process group, so teardown can end the server and its helpers
        )
    try:
        _wait_until_up(server, process)
        _check_kernel_is_this_venv(server, state_dir / "runtime")
        yield server
    finally:
        _stop(process, server)


@contextmanager
def launched_chromium():
    """Headless Debian Chromium driven by Playwright (playwright's own browsers are not downloadable here)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()


@contextmanager
def new_page(browser, default_timeout_ms: int = 30_000):
    """A fresh browser context (no shared storage) and one page in it, closed on leaving."""
    context = browser.new_context(viewport=VIEWPORT)
    context.set_default_timeout(default_timeout_ms)
    try:
        yield context.new_page()
    finally:
        context.close()
