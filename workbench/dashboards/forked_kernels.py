"""Viewers' kernels forked from one process that has already imported what a page needs.

Why (issue 20 item 7, docs/assumptions/dashboards.md "Twenty viewers at once"): a page kernel
started the usual way (a new Python running ``ipykernel_launcher``) imports ipykernel, pandas,
numpy, duckdb, scipy's solvers, openpyxl and the workbench before it can render its page: about
175 MB of memory that is the same in every kernel, and about a second of CPU each. Here one
*template* process imports all of that once; each kernel is a ``fork`` of it, so those pages of
memory are shared (copy-on-write) between every kernel and the template, and the kernel skips the
imports. ``gc.freeze()`` in the template keeps Python's garbage collector from writing to (and so
copying) the shared objects.

How: the Voila server starts the template (:func:`start_template`, ``python -m
workbench.dashboards.forked_kernels SOCKET``) and names its socket in ``$WORKBENCH_KERNEL_TEMPLATE``.
Jupyter starts kernels through a *kernel provisioner*; :class:`ForkedProvisioner` (registered as
``workbench-forked`` under ``jupyter_client.kernel_provisioners`` and made the server's default)
is Jupyter's own local provisioner (connection file, ports, environment) except for the launch
itself: it asks the template for a kernel with the command, environment and folder Jupyter chose,
and the template forks a child that runs exactly that ipykernel command in a new session. The
server then holds the child through a pidfd (a handle on that very process, never on a reused
process id) to poll, signal and kill it. If the template is not running, or the command is not an
ipykernel launch with the server's own Python, the provisioner starts the kernel the usual way:
nothing is lost but the sharing.

Safety: the socket is in the server's private connection folder (0700) and is itself 0600; the
template only ever runs an ipykernel launch with the connection file Jupyter wrote. Before it
forks, the template starts no threads and opens no connections (no zmq context, no duckdb
connection): a child inherits no lock held by another thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import select
import signal
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

from jupyter_client.provisioning import LocalProvisioner

__all__ = ["DEFAULT_PROVISIONER_ENV", "ENV", "ForkedProvisioner", "PROVISIONER_NAME", "start_template"]

ENV = "WORKBENCH_KERNEL_TEMPLATE"
PROVISIONER_NAME = "workbench-forked"
#: jupyter_client's own setting of the provisioner used for kernel specs that name none
DEFAULT_PROVISIONER_ENV = "JUPYTER_DEFAULT_PROVISIONER_NAME"
#: What every page kernel imports; the template imports it once for all of them.
PRELOAD = ("ipykernel.kernelapp", "ipykernel.ipkernel", "ipywidgets", "numpy", "pandas", "duckdb",
           "scipy.linalg", "scipy.optimize", "openpyxl", "workbench.dashboards.frame")
_LAUNCHER = ("-m", "ipykernel_launcher")
_MAX_REQUEST = 1 << 20


# --------------------------------------------------------------------------------------------
# The template process
# --------------------------------------------------------------------------------------------


def _preload() -> None:
    import gc
    import importlib

    for name in PRELOAD:
        importlib.import_module(name)
    gc.collect()
    gc.freeze()  # imported objects are never scanned again: their pages stay shared


def _read_request(conn: socket.socket) -> dict[str, Any]:
    data = b""
    while not data.endswith(b"\n"):
        chunk = conn.recv(65536)
        if not chunk or len(data) + len(chunk) > _MAX_REQUEST:
            raise ValueError("incomplete or oversized request")
        data += chunk
    request = json.loads(data)
    argv, env, cwd = request.get("argv"), request.get("env"), request.get("cwd")
    if not (isinstance(argv, list) and all(isinstance(a, str) for a in argv) and tuple(argv[1:3]) == _LAUNCHER):
        raise ValueError("only an ipykernel launch is run")
    if not (isinstance(env, dict) and all(isinstance(k, str) and isinstance(v, str) for k, v in env.items())):
        raise ValueError("bad environment")
    if cwd is not None and not isinstance(cwd, str):
        raise ValueError("bad folder")
    return {"argv": argv, "env": env, "cwd": cwd}


def _run_kernel(request: dict[str, Any]) -> None:
    """In the forked child: become the kernel Jupyter asked for (never returns)."""
    code = 1
    try:
        os.setsid()  # its own session and process group, as Jupyter's own launch gives it
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        devnull = os.open(os.devnull, os.O_RDONLY)
        os.dup2(devnull, 0)
        os.close(devnull)
        if request["cwd"]:
            os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        # ipykernel stops when its parent changes: its parent is the template, not the server
        os.environ["JPY_PARENT_PID"] = str(os.getppid())
        sys.argv = ["ipykernel_launcher", *request["argv"][3:]]
        from ipykernel import kernelapp

        kernelapp.launch_new_instance()
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 0
    except BaseException:  # a kernel that fails to start: its error goes to the server's log
        import traceback

        traceback.print_exc()
    finally:
        with contextlib.suppress(Exception):
            sys.stdout.flush()
            sys.stderr.flush()
        os._exit(code)


def serve_template(path: str) -> None:
    """Import what kernels need, then fork a kernel for each request on the socket at ``path``."""
    _preload()
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # children are reaped by the system; the server holds pidfds
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    old = os.umask(0o177)
    try:
        listener.bind(path)
    finally:
        os.umask(old)
    listener.listen(64)
    parent = os.getppid()
    while True:
        ready, _, _ = select.select([listener], [], [], 5.0)
        if os.getppid() != parent:  # the server has gone: so does the template
            return
        if not ready:
            continue
        conn, _ = listener.accept()
        with conn:
            try:
                conn.settimeout(10.0)
                request = _read_request(conn)
            except (OSError, ValueError) as exc:
                with contextlib.suppress(OSError):
                    conn.sendall(json.dumps({"error": str(exc)}).encode() + b"\n")
                continue
            pid = os.fork()
            if pid == 0:
                listener.close()
                conn.close()
                _run_kernel(request)
            with contextlib.suppress(OSError):
                conn.sendall(json.dumps({"pid": pid}).encode() + b"\n")


def start_template(folder: str | Path, log: Any = None) -> tuple[subprocess.Popen, str]:
    """Start the template process with its socket in ``folder`` (private to the server) and name
    the socket in ``$WORKBENCH_KERNEL_TEMPLATE`` for the provisioner."""
    path = str(Path(folder) / "kernel-template.sock")
    # no BLAS thread pool in the template to fork across (set before anything imports numpy)
    env = {**os.environ, "OPENBLAS_NUM_THREADS": os.environ.get("OPENBLAS_NUM_THREADS", "1")}
    proc = subprocess.Popen([sys.executable, "-m", "workbench.dashboards.forked_kernels", path],
                            stdin=subprocess.DEVNULL, env=env)
    os.environ[ENV] = path
    if log is not None:
        log.info("Kernel template process %d: viewers' kernels are forked from it (%s)", proc.pid, path)
    return proc, path


# --------------------------------------------------------------------------------------------
# The server's side: a process handle and the provisioner
# --------------------------------------------------------------------------------------------


class _ForkedKernel:
    """What Jupyter's local provisioner expects of ``subprocess.Popen``, for a kernel forked by the
    template (not the server's child), through a pidfd."""

    stdin = stdout = stderr = None

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self._fd: int | None = os.pidfd_open(pid)
        self.returncode: int | None = None

    def poll(self) -> int | None:
        if self.returncode is None and self._fd is not None:
            ready, _, _ = select.select([self._fd], [], [], 0)
            if ready:  # the process has ended (its exit status went to the template)
                self.returncode = 0
                os.close(self._fd)
                self._fd = None
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        if self.returncode is None and self._fd is not None:
            select.select([self._fd], [], [], timeout)
        code = self.poll()
        if code is None:
            raise subprocess.TimeoutExpired(str(self.pid), timeout or 0)
        return code

    def send_signal(self, signum: int) -> None:
        if self.poll() is None and self._fd is not None:
            signal.pidfd_send_signal(self._fd, signum)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)

    def __del__(self) -> None:
        if self._fd is not None:
            with contextlib.suppress(OSError):
                os.close(self._fd)


async def _ask_template(path: str, request: dict[str, Any], timeout: float = 10.0) -> int:
    reader, writer = await asyncio.wait_for(asyncio.open_unix_connection(path), timeout)
    try:
        writer.write(json.dumps(request).encode() + b"\n")
        await writer.drain()
        answer = json.loads(await asyncio.wait_for(reader.readline(), timeout))
    finally:
        writer.close()
    if "pid" not in answer:
        raise RuntimeError(answer.get("error", "no kernel"))
    return int(answer["pid"])


class ForkedProvisioner(LocalProvisioner):
    """Jupyter's local provisioner, launching the kernel as a fork of the template process (see
    the module's docstring); the usual launch if there is no template or it cannot help."""

    #: Seconds to wait for the template's socket (it may still be importing when the first
    #: pre-heated kernels start with the server).
    template_wait: float = 10.0

    async def launch_kernel(self, cmd: list[str], **kwargs: Any) -> Any:
        path = os.environ.get(ENV)
        env = kwargs.get("env")
        same_python = bool(cmd) and os.path.abspath(cmd[0]) == os.path.abspath(sys.executable)
        if path and same_python and tuple(cmd[1:3]) == _LAUNCHER and isinstance(env, dict):
            request = {"argv": [str(c) for c in cmd], "env": {str(k): str(v) for k, v in env.items()},
                       "cwd": str(kwargs["cwd"]) if kwargs.get("cwd") else None}
            waited = 0.0
            while not os.path.exists(path) and waited < self.template_wait:
                await asyncio.sleep(0.25)
                waited += 0.25
            try:
                pid = await _ask_template(path, request)
                self.process = _ForkedKernel(pid)
            except (TimeoutError, OSError, ValueError, RuntimeError) as exc:
                self.log.warning("Kernel template unavailable (%s): starting the kernel the usual way", exc)
            else:
                self.pid, self.pgid = pid, None  # signals go to the process, through its pidfd
                self.cwd = kwargs.get("cwd") or os.getcwd()
                return self.connection_info
        return await super().launch_kernel(cmd, **kwargs)


if __name__ == "__main__":
    serve_template(sys.argv[1])
