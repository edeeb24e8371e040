"""The served dashboards against abuse, over plain HTTP and websockets (no browser needed).

One server on the synthetic county with small caps and short graces, so the limits can be reached
and the clean-up seen in seconds: at most 2 viewers' kernels per client and 3 in total; a kernel
without a browser is stopped 30 s after its page was sent (long enough for the next page of a
test to start its kernel on two busy cores), or 3 s after its last socket closed; sockets are
pinged every second and closed after 3 s without an answer. Clients are told apart by
``X-Real-IP`` from 127.0.0.1, as behind the reverse proxy.

After each test the server must stop every kernel the test was given, so the next test starts
with no viewer (and that clean-up is itself checked every time)."""

from __future__ import annotations

import asyncio
import base64
import concurrent.futures
import http.client
import json
import os
import re
import socket
import time
import uuid
from pathlib import Path

import pytest
from event_loops import run_in_own_loop

from workbench.dashboards.hardening import BUSY_TEXT, SECURITY_HEADERS

WAIT = 90.0  # s; generous bound for the server to do something it must do (2 busy cores)
PAGE = "voila/render/new_arrivals.ipynb"
DEPLOYED_NAME = "dashboards.example.org"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(county_data_dir, tmp_path_factory):
    from workbench.dashboards.server import ServerSettings, start, stop, wait_until_ready

    port = free_port()
    log = tmp_path_factory.mktemp("hardened-log") / "voila.log"
    settings = ServerSettings(port=port, pool_size=1, max_kernels=3, max_kernels_per_client=2,
                              allowed_hosts=(DEPLOYED_NAME,), ws_ping_interval=1, ws_ping_timeout=3,
                              connect_grace=30, disconnect_grace=3)
    proc = start(county_data_dir, settings=settings, log=log)
    try:
        wait_until_ready(f"http://127.0.0.1:{port}/", proc, timeout=120)
        yield {"port": port, "log": log, "kernels": []}
    finally:
        stop(proc)


@pytest.fixture(autouse=True)
def no_viewer_left(server):
    """Every kernel a test was given is stopped by the server after it (checked, and the next
    test starts with no viewer)."""
    yield
    opened, server["kernels"] = list(server["kernels"]), []
    wait_until_stopped(server, opened)


class Response:
    def __init__(self, status: int, headers: dict[str, str], body: str) -> None:
        self.status, self.headers, self.body = status, headers, body

    @property
    def kernel_id(self) -> str:
        cfg = re.search(r'<script id="jupyter-config-data" type="application/json">(.*?)</script>', self.body, re.S)
        assert cfg, f"not a dashboard page ({self.status}): {self.body[:200]}"
        return json.loads(cfg.group(1))["kernelId"]


CONFIG = re.compile(r'<script id="jupyter-config-data" type="application/json">(.*?)</script>', re.S)


def get(server, path: str, client: str | None = None, host: str | None = None) -> Response:
    conn = http.client.HTTPConnection("127.0.0.1", server["port"], timeout=WAIT)
    headers = {"Host": host or f"127.0.0.1:{server['port']}"}
    if client:
        headers["X-Real-IP"] = client
    try:
        conn.request("GET", "/" + path, headers=headers)
        r = conn.getresponse()
        response = Response(r.status, {k.lower(): v for k, v in r.getheaders()}, r.read().decode("utf-8", "replace"))
        if CONFIG.search(response.body):
            server["kernels"].append(response.kernel_id)  # a dashboard page: a viewer's kernel
        return response
    finally:
        conn.close()


def kernel_running(server, kernel_id: str) -> bool:
    return get(server, f"api/kernels/{kernel_id}").status == 200


def wait_until_stopped(server, kernel_ids: list[str]) -> None:
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline and any(kernel_running(server, k) for k in kernel_ids):
        time.sleep(0.5)
    assert not [k for k in kernel_ids if kernel_running(server, k)], "kernels of viewers who left were not stopped"


def log_text(server) -> str:
    return Path(server["log"]).read_text(errors="replace")


def assert_security_headers(r: Response, what: str) -> None:
    for name, value in SECURITY_HEADERS.items():
        assert r.headers.get(name.lower()) == value, f"{what}: {name} is {r.headers.get(name.lower())!r}"


def test_security_headers_on_every_response(server):
    responses = {
        "redirect": get(server, ""),
        "tree redirect": get(server, "voila/tree"),
        "static file": get(server, "voila/static/voila.js"),
        "template file": get(server, "voila/templates/workbench/static/index.css"),
        "unknown address (tornado's 404)": get(server, "no/such/thing"),
        "refused file": get(server, "voila/files/voila.json"),
        "missing page": get(server, "voila/render/no_such_page.ipynb"),
        "unknown host": get(server, "voila/static/voila.js", host="evil.example"),
        "page": get(server, PAGE, client="192.0.2.1"),
    }
    assert responses["page"].kernel_id
    expected = {"redirect": 301, "tree redirect": 301, "static file": 200, "template file": 200,
                "unknown address (tornado's 404)": 404, "refused file": 403, "missing page": 404,
                "unknown host": 400, "page": 200}
    for what, r in responses.items():
        assert r.status == expected[what], (what, r.status)
        assert_security_headers(r, what)
    for what in ("missing page", "refused file", "unknown address (tornado's 404)"):
        assert "Traceback" not in responses[what].body and "site-packages" not in responses[what].body


def test_only_allowed_host_names_are_served(server):
    before = log_text(server).count("Kernel started")
    for host in ("evil.example", "evil.example:80", f"127.0.0.1.evil.example:{server['port']}", "10.1.2.3"):
        r = get(server, PAGE, host=host)
        assert r.status == 400 and "not served here" in r.body, host
    assert log_text(server).count("Kernel started") == before  # a refused request starts nothing
    for host in (f"localhost:{server['port']}", f"127.0.0.1:{server['port']}", f"[::1]:{server['port']}",
                 DEPLOYED_NAME, f"{DEPLOYED_NAME.upper()}:443"):
        assert get(server, "voila/static/voila.js", host=host).status == 200, host


def test_kernel_caps_per_client_and_in_total(server):
    a1, a2 = get(server, PAGE, client="192.0.2.11"), get(server, PAGE, client="192.0.2.11")
    kernels = [a1.kernel_id, a2.kernel_id]
    # the same client a third time: its own cap (429), a plain page, no kernel
    a3 = get(server, PAGE, client="192.0.2.11")
    assert a3.status == 429 and BUSY_TEXT["client"] in a3.body and a3.headers.get("retry-after")
    assert "jupyter-config-data" not in a3.body
    assert_security_headers(a3, "busy page")
    b1 = get(server, PAGE, client="192.0.2.12")
    kernels.append(b1.kernel_id)
    assert b1.status == 200
    # three viewers' kernels: everyone else is told the server is busy
    for client in ("192.0.2.12", "192.0.2.13"):
        r = get(server, PAGE, client=client)
        assert r.status == 503 and BUSY_TEXT["total"] in r.body and "jupyter-config-data" not in r.body
    assert len(set(kernels)) == 3 and all(kernel_running(server, k) for k in kernels)
    # nobody opened a browser on them: they are stopped, and there is room again
    wait_until_stopped(server, kernels)
    assert get(server, PAGE, client="192.0.2.13").status == 200
    text = log_text(server)
    assert all(f"Stopping kernel {k}: no browser connected within" in text for k in kernels)


def _ws_handshake(server, kernel_id: str) -> socket.socket:
    """A websocket opened by hand that will never answer a ping: a browser that vanished without
    closing its connection (laptop lid shut, network lost)."""
    s = socket.create_connection(("127.0.0.1", server["port"]), timeout=WAIT)
    key = base64.b64encode(os.urandom(16)).decode()
    s.sendall((f"GET /api/kernels/{kernel_id}/channels?session_id={uuid.uuid4().hex} HTTP/1.1\r\n"
               f"Host: 127.0.0.1:{server['port']}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
               f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())
    assert s.recv(4096).split(b"\r\n")[0] == b"HTTP/1.1 101 Switching Protocols"
    return s


def test_kernels_of_vanished_browsers_are_stopped(server):
    # 1. a tab whose socket stops answering: the pings time out, the kernel is stopped
    silent = get(server, PAGE, client="192.0.2.21").kernel_id
    sock = _ws_handshake(server, silent)
    try:
        wait_until_stopped(server, [silent])
    finally:
        sock.close()
    assert "WebSocket ping timeout" in log_text(server)
    # 2. a tab whose socket closes (browser quit without "beforeunload"): stopped after the grace
    closed = get(server, PAGE, client="192.0.2.22").kernel_id
    sock = _ws_handshake(server, closed)
    sock.close()
    wait_until_stopped(server, [closed])
    assert f"Stopping kernel {closed}: its last browser left" in log_text(server)


def test_a_connected_viewer_keeps_its_kernel(server):
    kid = get(server, PAGE, client="192.0.2.31").kernel_id

    async def stay_connected() -> bool:
        from tornado.httpclient import HTTPRequest
        from tornado.websocket import websocket_connect

        url = f"ws://127.0.0.1:{server['port']}/api/kernels/{kid}/channels?session_id={uuid.uuid4().hex}"
        ws = await websocket_connect(HTTPRequest(url))  # answers pings, as a browser does
        # several pings, longer than their timeout (3 s) and the socket's grace (3 s) together;
        # the page's own grace (connect_grace) no longer applies once a browser has connected
        # (tests/dashboards/test_dashboard_hardening_units.py follows a kernel for an hour)
        await asyncio.sleep(10)
        alive = await asyncio.to_thread(kernel_running, server, kid)
        ws.close()
        return alive

    assert run_in_own_loop(stay_connected)
    wait_until_stopped(server, [kid])


BAD_WIDGET_DATA = [
    {"method": "update", "state": {"value": 99999, "index": 99999}, "buffer_paths": []},
    {"method": "update", "state": {"index": "not a number"}, "buffer_paths": []},
    {"method": "update", "state": {"value": {"__class__": "os.system"}}, "buffer_paths": [["x", "y"]]},
    {"method": "no such method", "state": "x"},
    None,
]


@pytest.mark.parametrize("protocol", ["v1.kernel.websocket.jupyter.org", None])
def test_widget_messages_with_bad_data_get_no_traceback(server, protocol):
    from jupyter_server.services.kernels.connection.base import (
        deserialize_msg_from_ws_v1,
        serialize_msg_to_ws_v1,
    )
    from tornado.httpclient import HTTPRequest
    from tornado.websocket import websocket_connect

    kid = get(server, PAGE, client=f"192.0.2.4{0 if protocol else 1}").kernel_id
    session = uuid.uuid4().hex

    def encode(msg_type: str, content: dict) -> str | bytes:
        header = {"msg_id": uuid.uuid4().hex, "username": "viewer", "session": session, "msg_type": msg_type,
                  "version": "5.3", "date": ""}
        if protocol:
            return serialize_msg_to_ws_v1([json.dumps(x).encode() for x in (header, {}, {}, content)], "shell")
        return json.dumps({"header": header, "parent_header": {}, "metadata": {}, "content": content,
                           "channel": "shell", "buffers": []})

    def decode(raw: str | bytes) -> dict:
        if isinstance(raw, bytes):
            channel, parts = deserialize_msg_from_ws_v1(raw)
            return {"channel": channel, "header": json.loads(parts[0]), "content": json.loads(parts[3]), "raw": raw}
        return {**json.loads(raw), "raw": raw}

    async def talk() -> list[dict]:
        url = f"ws://127.0.0.1:{server['port']}/api/kernels/{kid}/channels?session_id={session}"
        ws = await websocket_connect(HTTPRequest(url), subprotocols=[protocol] if protocol else None)
        assert ws.selected_subprotocol == protocol

        async def read(seconds: float, until: str | None = None) -> list[dict]:
            out: list[dict] = []
            deadline = asyncio.get_running_loop().time() + seconds
            while (left := deadline - asyncio.get_running_loop().time()) > 0:
                try:
                    raw = await asyncio.wait_for(ws.read_message(), left)
                except TimeoutError:
                    break
                if raw is None:
                    break
                out.append(decode(raw))
                if until and out[-1]["header"]["msg_type"] == until:
                    break
            return out

        await ws.write_message(encode("comm_info_request", {"target_name": "jupyter.widget"}), binary=bool(protocol))
        info = [m for m in await read(WAIT, until="comm_info_reply") if m["header"]["msg_type"] == "comm_info_reply"]
        comms = list(info[0]["content"]["comms"])
        for comm_id in comms[:12]:
            for data in BAD_WIDGET_DATA:
                await ws.write_message(encode("comm_msg", {"comm_id": comm_id, "data": data}), binary=bool(protocol))
        answers = await read(8)
        ws.close()
        return answers

    answers = run_in_own_loop(talk)
    errors = [m for m in answers if m["header"]["msg_type"] == "error"]
    assert errors, "the kernel did not answer the bad messages at all"
    for m in answers:
        kind = m["header"]["msg_type"]
        text = m["raw"].decode("utf-8", "replace") if isinstance(m["raw"], bytes) else m["raw"]
        leaks = ("Traceback", "site-packages", "/work/", "/usr/", "TraitError")
        if kind in ("error", "stream", "execute_reply"):  # what used to carry the traceback
            leaks += (".py", "File ", "line ")
        for leak in leaks:
            assert leak not in text, f"{kind} message shows {leak!r}"
        assert not (kind == "stream" and m["content"].get("name") == "stderr")
    assert all(m["content"]["traceback"] == [] for m in errors)


def test_a_viewer_with_no_ready_kernel_is_sent_the_saved_first_view(server, county_data_dir):
    """Two viewers at once, one pre-heated kernel: whoever finds no ready kernel gets the page's
    saved first view in the part of the page sent before their kernel (before the page's kernel
    id), and it is the view their kernel then renders (the protected default view)."""
    from workbench.dashboards import first_view

    saved = county_data_dir / first_view.FOLDER / "new_arrivals.html"
    deadline = time.monotonic() + WAIT
    while not saved.exists() and time.monotonic() < deadline:  # written by the pre-heated kernel
        time.sleep(0.5)
    assert saved.exists(), "no kernel saved the page's first view"
    assert saved.stat().st_mode & 0o077 == 0 and saved.parent.stat().st_mode & 0o077 == 0
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        pages = list(pool.map(lambda client: get(server, PAGE, client=client), ("192.0.2.21", "192.0.2.22")))
    assert [p.status for p in pages] == [200, 200]
    early = [p.body for p in pages if 'class="wb-snapshot wb-early' in p.body]
    assert early, "neither viewer was sent the saved first view (both had a ready pre-heated kernel?)"
    snapshot = saved.read_text()
    sent_early = first_view.load(county_data_dir, "new_arrivals", first_view.rendered_ingest(snapshot))
    assert sent_early is not None
    for body in early:
        kernel_at = body.index('id="jupyter-config-data"')
        # sent before the page's kernel started, exactly the saved view (ids of its own) ...
        assert sent_early in body[:kernel_at], "the saved view came after the kernel started"
        # ... which is the first view the viewer's kernel renders, verbatim
        assert snapshot in body[kernel_at:], "the viewer's kernel rendered another first view"
