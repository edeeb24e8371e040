"""Viewers' kernels forked from a template process that has imported what pages need (issue 20
item 7: memory per viewer). Memory and start times are measured in benchmarks/bench_dashboards.py;
here: a forked kernel is a working kernel Jupyter can run, interrupt and stop, it shares the
template's imports, and the template runs nothing but an ipykernel launch."""

from __future__ import annotations

import json
import os
import socket
import stat
import sys
import time
from pathlib import Path

import pytest
from event_loops import run_in_own_loop
from jupyter_client import AsyncKernelManager
from jupyter_client.provisioning import KernelProvisionerFactory

from workbench.dashboards import forked_kernels


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    folder = tmp_path_factory.mktemp("conn")
    os.chmod(folder, 0o700)
    saved = os.environ.get(forked_kernels.ENV)
    proc, path = forked_kernels.start_template(folder)
    try:
        deadline = time.monotonic() + 120
        while not os.path.exists(path) and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.2)  # importing what pages need
        assert os.path.exists(path), "the template did not open its socket"
        yield proc, path
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        if saved is None:
            os.environ.pop(forked_kernels.ENV, None)
        else:
            os.environ[forked_kernels.ENV] = saved


@pytest.fixture
def forked_default():
    """Jupyter's provisioner factory (a singleton) launching with ours, for this test only."""
    factory = KernelProvisionerFactory.instance()
    before = factory.default_provisioner_name
    factory.default_provisioner_name = forked_kernels.PROVISIONER_NAME
    try:
        yield
    finally:
        factory.default_provisioner_name = before


async def _run(km: AsyncKernelManager, code: str) -> str:
    client = km.client()
    client.start_channels()
    try:
        await client.wait_for_ready(timeout=60)
        out: list[str] = []
        reply = await client.execute_interactive(
            code, timeout=60, output_hook=lambda m: out.append(m["content"].get("text", ""))
            if m["msg_type"] == "stream" else None)
        assert reply["content"]["status"] == "ok", reply["content"]
        return "".join(out).strip()
    finally:
        client.stop_channels()


def test_a_forked_kernel_runs_code_shares_the_imports_and_stops(template, forked_default) -> None:
    proc, path = template

    async def scenario() -> None:
        km = AsyncKernelManager(kernel_name="python3")
        await km.start_kernel()
        try:
            assert isinstance(km.provisioner, forked_kernels.ForkedProvisioner)
            assert isinstance(km.provisioner.process, forked_kernels._ForkedKernel), "launched the usual way"
            pid = km.provisioner.pid
            # forked from the template: its child, with pandas and the pages already imported
            answer = await _run(km, "import os, sys; print(os.getppid(), 'workbench.dashboards.frame' in sys.modules, "
                                    "os.getsid(0) == os.getpid(), os.environ['WORKBENCH_KERNEL_TEMPLATE'])")
            assert answer == f"{proc.pid} True True {path}"
            assert await km.is_alive()
            await km.interrupt_kernel()
            assert await _run(km, "print(6 * 7)") == "42"  # still answering after an interrupt
        finally:
            await km.shutdown_kernel(now=False)
        assert not await km.is_alive()
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)

        killed = AsyncKernelManager(kernel_name="python3")
        await killed.start_kernel()
        pid = killed.provisioner.pid
        await killed.shutdown_kernel(now=True)  # no goodbye: killed through its pidfd
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)

    run_in_own_loop(scenario)


def test_the_template_runs_only_an_ipykernel_launch(template) -> None:
    _proc, path = template
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600

    def ask(request: dict) -> dict:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(30)
            s.connect(path)
            s.sendall(json.dumps(request).encode() + b"\n")
            return json.loads(s.makefile().readline())

    for argv in (["/bin/sh", "-c", "touch /tmp/owned"], [sys.executable, "-c", "print(1)"], "python -m ipykernel_launcher"):
        answer = ask({"argv": argv, "env": {}, "cwd": None})
        assert "pid" not in answer and "ipykernel" in answer["error"]
    answer = ask({"argv": [sys.executable, "-m", "ipykernel_launcher"], "env": {"A": 1}, "cwd": None})
    assert "pid" not in answer and "environment" in answer["error"]


def test_without_a_template_kernels_start_the_usual_way(tmp_path: Path, forked_default, monkeypatch) -> None:
    monkeypatch.setenv(forked_kernels.ENV, str(tmp_path / "no-template.sock"))
    monkeypatch.setattr(forked_kernels.ForkedProvisioner, "template_wait", 0.5)

    async def scenario() -> None:
        km = AsyncKernelManager(kernel_name="python3")
        await km.start_kernel()
        try:
            assert not isinstance(km.provisioner.process, forked_kernels._ForkedKernel)
            assert await _run(km, "print(6 * 7)") == "42"
        finally:
            await km.shutdown_kernel(now=True)

    run_in_own_loop(scenario)
