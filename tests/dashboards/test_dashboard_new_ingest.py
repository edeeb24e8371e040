"""The served dashboards pick up a new ingest without a restart (issue 16 item 9, last sentence).

A server with one pre-heated kernel per page runs on a store of one quarter. The overview is
opened; its pool is refilled with a page rendered from that quarter (the server's log says so).
The next quarter is then ingested into the same data folder, and the overview opened again
without a restart: it shows the new extract date and ingest, not the pre-heated page of the
quarter before (which the server stops, and says so)."""

from __future__ import annotations

import http.client
import re
import socket
import time
from pathlib import Path

import pytest
from factories import valid_frame, write_csv

from workbench.ingest.pipeline import ingest_folder

WAIT = 300.0  # s; bound for the server to do what it must (five pages rendering at once on two busy cores)
PAGE = "/voila/render/overview.ipynb"


def _quarter(folder: Path, contracts, n: int, extract_date: str) -> Path:
    folder.mkdir(parents=True)
    for i, contract in enumerate(contracts):
        write_csv(valid_frame(contract, n, seed=i), folder / f"{contract.name}.csv")
    (folder / "extract.yaml").write_text(f"extract_date: {extract_date}\nsynthetic: true\n")
    return folder


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(port: int, path: str) -> str:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=WAIT)
    try:
        conn.request("GET", path)
        r = conn.getresponse()
        body = r.read().decode("utf-8", "replace")
        assert r.status == 200, body[:300]
        return body
    finally:
        conn.close()


def _wait_for_renders(log: Path, ingest_id: str, count: int) -> None:
    """Until the server's log says the overview has been rendered ``count`` times from ``ingest_id``."""
    line = f"[workbench] page overview rendered from ingest {ingest_id}"
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline and log.read_text(errors="replace").count(line) < count:
        time.sleep(0.5)
    assert log.read_text(errors="replace").count(line) >= count, f"never logged {count} x: {line}"


@pytest.fixture()
def served_quarter(tmp_path, contracts):
    from workbench.dashboards.server import ServerSettings, start, stop, wait_until_ready

    data = tmp_path / "data"
    first = ingest_folder(_quarter(tmp_path / "q1", contracts, 200, "2026-06-30"), data, linkage="deterministic",
                          progress=False)
    port, log = _free_port(), tmp_path / "voila.log"
    settings = ServerSettings(port=port, pool_size=1, connect_grace=10, disconnect_grace=3)
    proc = start(data, settings=settings, log=log)
    try:
        wait_until_ready(f"http://127.0.0.1:{port}/", proc, timeout=WAIT)
        yield {"port": port, "log": log, "data": data, "first": first.ingest_id}
    finally:
        stop(proc)


def test_a_new_ingest_is_shown_without_a_restart(served_quarter, tmp_path, contracts):
    port, log, first = served_quarter["port"], served_quarter["log"], served_quarter["first"]
    _wait_for_renders(log, first, 1)  # the pre-heated overview, rendered at start
    before = _get(port, PAGE)
    assert "Figures use records up to 30 June 2026" in before
    assert f'data-ingest-id="{first}"' in before
    # its pool is refilled: a pre-heated overview from the first quarter is waiting
    _wait_for_renders(log, first, 2)

    second = ingest_folder(_quarter(tmp_path / "q2", contracts, 240, "2026-09-30"), served_quarter["data"],
                           linkage="deterministic", progress=False).ingest_id
    assert second != first

    after = _get(port, PAGE)
    assert "Figures use records up to 30 September 2026" in after
    assert "30 June 2026" not in after
    assert f'data-ingest-id="{second}"' in after and f"Store ingest id: {second}" in after
    assert re.search(rf"Pre-heated kernel \S+ shows ingest {first}, the store is at ingest {second}",
                     log.read_text(errors="replace"))
