"""The server's defences, piece by piece and without a server: host names, who a client is, the
kernel caps and the clean-up of kernels whose viewer left, and what kernels may send back."""

from __future__ import annotations

import asyncio
import json
import os

import pytest
from event_loops import run_in_own_loop
from jupyter_server.services.kernels.connection.base import (
    deserialize_binary_message,
    deserialize_msg_from_ws_v1,
    serialize_binary_message,
    serialize_msg_to_ws_v1,
)
from tornado.httputil import HTTPHeaders, HTTPServerRequest, RequestStartLine

from workbench.dashboards.hardening import (
    GENERIC_ERROR,
    KernelGuard,
    KernelLimits,
    KernelStarts,
    _KernelsForOnePage,
    allowed_hosts,
    client_of,
    host_name,
    sanitise_message,
)

TRACEBACK = ["\x1b[31mTraitError\x1b[39m Traceback (most recent call last)",
             "File /srv/app/.venv/lib/python3.11/site-packages/ipywidgets/widgets/widget.py:222"]


@pytest.mark.parametrize(("header", "name"), [
    ("localhost:8866", "localhost"), ("LocalHost", "localhost"), ("127.0.0.1:80", "127.0.0.1"),
    ("[::1]:8866", "::1"), ("::1", "::1"), ("dashboards.example.org.", "dashboards.example.org"),
])
def test_host_name(header, name):
    assert host_name(header) == name


def test_allowed_hosts_are_local_names_the_ip_and_the_deployments_own():
    assert allowed_hosts("127.0.0.1") == {"localhost", "127.0.0.1", "::1"}
    hosts = allowed_hosts("192.0.2.10", ["Dashboards.Example.org", " "])
    assert hosts == {"localhost", "127.0.0.1", "::1", "192.0.2.10", "dashboards.example.org"}
    assert "0.0.0.0" not in allowed_hosts("0.0.0.0")  # a wildcard is not a name anyone should use


def _request(remote: str, **headers: str) -> HTTPServerRequest:
    req = HTTPServerRequest(start_line=RequestStartLine("GET", "/", "HTTP/1.1"), headers=HTTPHeaders({"Host": "localhost", **headers}))
    req.remote_ip = remote
    return req


def test_client_is_the_proxys_header_only_from_a_trusted_proxy():
    trusted = ("127.0.0.1", "::1")
    assert client_of(_request("127.0.0.1", **{"X-Real-IP": "192.0.2.7"}), "X-Real-IP", trusted) == "192.0.2.7"
    # X-Forwarded-For: the last entry is the one the proxy added (earlier ones come from the client)
    xff = {"X-Forwarded-For": "203.0.113.9, 192.0.2.8"}
    assert client_of(_request("127.0.0.1", **xff), "X-Forwarded-For", trusted) == "192.0.2.8"
    # from anywhere else the header is ignored: it could be made up
    assert client_of(_request("198.51.100.4", **{"X-Real-IP": "192.0.2.7"}), "X-Real-IP", trusted) == "198.51.100.4"
    assert client_of(_request("127.0.0.1"), "X-Real-IP", trusted) == "127.0.0.1"
    assert client_of(_request("127.0.0.1", **{"X-Real-IP": "192.0.2.7"}), None, trusted) == "127.0.0.1"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _guard(running: set[str], **limits: float) -> tuple[KernelGuard, Clock]:
    clock = Clock()
    defaults = {"max_kernels": 3, "max_kernels_per_client": 2, "connect_grace": 54.0, "disconnect_grace": 15.0}
    return KernelGuard(KernelLimits(**{**defaults, **limits}), lambda: running, clock), clock


def test_caps_per_client_and_in_total_count_pages_in_flight():
    running: set[str] = set()
    guard, _ = _guard(running)
    a1, a2 = guard.admit("a"), guard.admit("a")  # two pages still rendering: no kernel yet
    assert not isinstance(a1, str) and not isinstance(a2, str)
    assert guard.admit("a") == "client"
    running.add("k1")
    guard.assign(a1, "k1")
    guard.release(a1)
    assert guard.counts("a") == (2, 2)  # one kernel, one page in flight
    b1 = guard.admit("b")
    assert not isinstance(b1, str)
    assert guard.admit("c") == "total"
    # a page that failed before it had a kernel gives its place back
    guard.release(a2)
    assert guard.counts("a") == (1, 2)
    assert not isinstance(guard.admit("c"), str)


def test_kernels_that_stopped_no_longer_count():
    running = {"k1", "k2"}
    guard, _ = _guard(running)
    for kid in ("k1", "k2"):
        r = guard.admit("a")
        guard.assign(r, kid)
        guard.release(r)
    assert guard.admit("a") == "client"
    running.discard("k1")  # the tab was closed and Voila shut the kernel down
    assert not isinstance(guard.admit("a"), str)


def test_kernels_without_a_browser_are_abandoned_after_their_grace():
    running = {"curl", "tab", "lost", "rendering"}
    guard, clock = _guard(running, max_kernels=10, max_kernels_per_client=10)
    reservations = {}
    for kid in sorted(running):
        reservations[kid] = r = guard.admit("a")
        guard.assign(r, kid)
    for kid in ("curl", "tab", "lost"):
        guard.release(reservations[kid])  # "rendering" is still being sent: never abandoned
    guard.connected("tab")
    guard.connected("lost")
    clock.now += 30
    guard.disconnected("lost")  # its socket closed (or stopped answering pings)
    assert guard.abandoned() == []
    clock.now += 16  # the lost tab: 16 s > 15 s; the page fetched without a browser: 46 s < 54 s
    assert guard.abandoned() == ["lost"]
    guard.connected("lost")  # a reconnect within the grace keeps a kernel
    assert guard.abandoned() == []
    clock.now += 9  # 55 s > 54 s
    assert guard.abandoned() == ["curl"]
    clock.now += 3600
    assert guard.abandoned() == ["curl"]  # connected tabs and pages being sent are left alone


def _error_content() -> dict:
    return {"ename": "TraitError", "evalue": "The 'index' trait of a Dropdown instance expected ...",
            "traceback": TRACEBACK}


def _parts(msg_type: str, content: dict) -> list[bytes]:
    header = {"msg_id": "1", "msg_type": msg_type, "session": "s", "username": "u", "version": "5.3", "date": ""}
    return [json.dumps(x).encode() for x in (header, {}, {}, content)]


def _assert_clean(content: dict) -> None:
    assert content["traceback"] == [] and content["evalue"] == GENERIC_ERROR and content["ename"] == "Error"
    assert "site-packages" not in json.dumps(content) and "TraitError" not in json.dumps(content)


def test_v1_binary_error_loses_its_traceback():
    out = sanitise_message(serialize_msg_to_ws_v1(_parts("error", _error_content()), "iopub"), v1=True)
    channel, parts = deserialize_msg_from_ws_v1(out)
    assert channel == "iopub" and json.loads(parts[0])["msg_type"] == "error"
    _assert_clean(json.loads(parts[3]))


def test_v1_stderr_is_dropped_and_other_messages_pass_untouched():
    stderr = serialize_msg_to_ws_v1(_parts("stream", {"name": "stderr", "text": "File /srv/app/x.py"}), "iopub")
    assert sanitise_message(stderr, v1=True) is None
    stdout = serialize_msg_to_ws_v1(_parts("stream", {"name": "stdout", "text": "hello"}), "iopub")
    assert sanitise_message(stdout, v1=True) == stdout
    comm = serialize_msg_to_ws_v1(_parts("comm_msg", {"comm_id": "c", "data": {"method": "update"}}), "iopub")
    assert sanitise_message(comm, v1=True) is comm
    reply = serialize_msg_to_ws_v1(_parts("execute_reply", {"status": "error", **_error_content()}), "shell")
    _assert_clean(json.loads(deserialize_msg_from_ws_v1(sanitise_message(reply, v1=True))[1][3]))


def test_legacy_json_and_binary_messages_are_sanitised_too():
    msg = {"header": {"msg_type": "error", "msg_id": "1"}, "parent_header": {}, "metadata": {},
           "content": _error_content(), "channel": "iopub"}
    _assert_clean(json.loads(sanitise_message(json.dumps(msg), v1=False))["content"])
    _assert_clean(sanitise_message(msg, v1=False)["content"])
    binary = serialize_binary_message({**msg, "buffers": [b"\x00\x01"]})
    out = deserialize_binary_message(sanitise_message(binary, v1=False))
    _assert_clean(out["content"])
    assert out["buffers"][0] == b"\x00\x01"
    stderr = {**msg, "header": {"msg_type": "stream"}, "content": {"name": "stderr", "text": "x"}}
    assert sanitise_message(json.dumps(stderr), v1=False) is None


class _Starter:
    """A kernel manager whose kernel starts finish when the test says, recording the order."""

    def __init__(self) -> None:
        self.started: list[str] = []

    async def start_kernel(self, *args, kernel_id: str, **kwargs) -> str:
        await asyncio.sleep(0)
        self.started.append(kernel_id)
        return kernel_id

    def get_kernel(self, kernel_id: str):  # no process: KernelStarts leaves its priority alone
        return object()


def test_kernel_starts_queue_beyond_their_slots_first_come_first_served() -> None:
    """Viewers already shown the saved view queue for a slot from their kernel's start until their
    page has been sent; a page that fails frees its slot too."""

    async def scenario() -> None:
        manager, starts = _Starter(), KernelStarts(at_once=2, nice=0)
        pages = [_KernelsForOnePage(manager, lambda _kid: None, starts=starts) for _ in range(4)]
        for page in pages:
            page.start_in_background = True
        ids = [await page.start_kernel(kernel_id=f"k{i}") for i, page in enumerate(pages)]
        for _ in range(5):
            await asyncio.sleep(0)
        assert manager.started == ["k0", "k1"]  # two slots; k2 and k3 wait
        pages[0].finished()
        pages[0].finished()  # a second call (the handler's finally) frees nothing more
        for _ in range(5):
            await asyncio.sleep(0)
        assert manager.started == ["k0", "k1", "k2"]
        pages[1].finished()
        kernel = await pages[3].get_kernel(ids[3])  # Voila awaits the kernel of a queued start
        assert kernel is not None and manager.started == ["k0", "k1", "k2", "k3"]
        assert starts.slots.locked()  # k2 and k3 hold both slots until their pages are sent
        pages[2].finished()
        pages[3].finished()
        assert not starts.slots.locked()

        # a viewer who left while queued: their kernel still starts, and holds no slot
        left, waiting = (_KernelsForOnePage(manager, lambda _kid: None, starts=starts) for _ in range(2))
        blockers = [_KernelsForOnePage(manager, lambda _kid: None, starts=starts) for _ in range(2)]
        for page in (left, waiting, *blockers):
            page.start_in_background = True
        for i, page in enumerate(blockers):
            await page.get_kernel(await page.start_kernel(kernel_id=f"b{i}"))
        left_id = await left.start_kernel(kernel_id="left")
        left.finished()  # the handler ended before the start had a slot
        waiting_id = await waiting.start_kernel(kernel_id="waiting")
        blockers[0].finished()
        await left.get_kernel(left_id)
        blockers[1].finished()
        await waiting.get_kernel(waiting_id)
        assert manager.started[-2:] == ["left", "waiting"]
        waiting.finished()
        assert not starts.slots.locked()

        # a page that never ends frees its slot after hold_at_most
        stuck_starts = KernelStarts(at_once=1, nice=0)
        stuck_starts.hold_at_most = 0.05
        stuck, next_one = (_KernelsForOnePage(manager, lambda _kid: None, starts=stuck_starts) for _ in range(2))
        for page in (stuck, next_one):
            page.start_in_background = True
        await stuck.get_kernel(await stuck.start_kernel(kernel_id="stuck"))
        await asyncio.wait_for(next_one.get_kernel(await next_one.start_kernel(kernel_id="next")), 5)

    run_in_own_loop(scenario)


def test_kernel_starts_run_kernels_below_the_server() -> None:
    """A started kernel's process runs ``nice`` steps below the server's; a kernel without a
    process id (another provisioner) is left alone."""
    import subprocess
    import sys
    from types import SimpleNamespace

    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        kernel = SimpleNamespace(provisioner=SimpleNamespace(pid=child.pid))
        manager = SimpleNamespace(get_kernel=lambda _kid: kernel)
        before = os.getpriority(os.PRIO_PROCESS, child.pid)
        KernelStarts(at_once=1, nice=5).lower_priority(manager, "k0")
        assert os.getpriority(os.PRIO_PROCESS, child.pid) == min(19, before + 5)
        KernelStarts(at_once=1, nice=5).lower_priority(SimpleNamespace(get_kernel=lambda _kid: object()), "k1")
    finally:
        child.kill()
        child.wait()
    assert KernelStarts().at_once == (os.cpu_count() or 1)
