"""The kernel nbgrader runs a submission in, started inside the submission's sandbox."""

from __future__ import annotations

import dataclasses
import shutil
import subprocess
import tempfile
from pathlib import Path

from jupyter_client import AsyncKernelManager
from traitlets import Instance, Unicode

from grader.sandbox import Sandbox


class SandboxedKernelManager(AsyncKernelManager):
    """A kernel in a ``grader.sandbox.Sandbox``.

    It talks to the grader over unix sockets in a folder the sandbox may write (the sandbox has no network,
    not even loopback to the host). Asynchronous, as nbgrader's Execute expects: with a blocking client,
    nbclient waits for the kernel's next output with the event loop stopped, so a kernel that dies or
    loops without printing is never noticed, and its cell never times out.
    """

    sandbox = Instance(
        Sandbox, help="the sandbox learner code runs in; its first writable folder holds the kernel's files"
    ).tag(config=True)
    working_folder = Unicode(help="the folder the notebook runs in (one of the sandbox's writable ones)").tag(
        config=True
    )

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        folder = self.sandbox.writable[0]
        folder.mkdir(parents=True, exist_ok=True)
        # A unix socket's path must fit in about 100 bytes, so the sockets live in a short temporary folder.
        self.socket_folder = Path(tempfile.mkdtemp(prefix="attention-kernel-"))
        self.transport = "ipc"
        self.ip = str(self.socket_folder / "k")
        # A signal would reach bwrap, not the kernel inside it; ask the kernel itself to interrupt instead.
        self.kernel_spec.interrupt_mode = "message"
        self.connection_file = str(folder / "kernel.json")

    async def _async_pre_start_kernel(self, **kw):
        # What learner code writes to the kernel process's own stdout and stderr (sys.__stderr__,
        # os.write(2, ...)) would otherwise land, without limit, on the grader's terminal.
        kw.setdefault("stdout", subprocess.DEVNULL)
        kw.setdefault("stderr", subprocess.DEVNULL)
        return await super()._async_pre_start_kernel(**kw)

    async def cleanup_resources(self, restart: bool = False) -> None:
        await super().cleanup_resources(restart=restart)
        if not restart:
            shutil.rmtree(self.socket_folder, ignore_errors=True)

    def format_kernel_cmd(self, extra_arguments: list[str] | None = None) -> list[str]:
        arguments = [*(extra_arguments or []), *KERNEL_ARGUMENTS]
        sandbox = dataclasses.replace(self.sandbox, writable=[*self.sandbox.writable, self.socket_folder])
        return sandbox.command(super().format_kernel_cmd(arguments), Path(self.working_folder))


KERNEL_ARGUMENTS = [f"--Session.copy_threshold={2**62}"]
"""The kernel copies every message into zmq instead of handing large ones over without copying: pyzmq
frees such buffers from a thread it starts the first time one is sent, and once learner code holds the
process limit (a fork or thread bomb) that thread cannot start, the failure leaves a message half sent,
and every later message on that channel arrives garbled ("Invalid Signature")."""
