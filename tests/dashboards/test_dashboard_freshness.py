"""A new ingest reaches the dashboards without a restart (issue 16 item 9, last sentence), piece by
piece and without a server: which ingest a rendered page shows, the store's ingest now (re-read
only when the store file changes), and the page handler's kernel manager replacing a pre-heated
page rendered from an earlier ingest. The served end to end case is in
``test_dashboard_new_ingest.py``."""

from __future__ import annotations

import asyncio
import os
import shutil
from pathlib import Path

import duckdb
import pytest
from event_loops import run_in_own_loop

from workbench.dashboards.freshness import StoreWatch, rendered_ingest
from workbench.dashboards.hardening import _KernelsForOnePage
from workbench.store import STORE_FILE, Store


def test_a_rendered_page_says_which_ingest_it_shows(small_data_dir):
    from workbench.dashboards import frame

    page = frame.build_page("overview", small_data_dir)
    assert rendered_ingest(page.snapshot_html()) == Store(small_data_dir).ingest_id != ""
    assert rendered_ingest('<p class="wb-notice" data-ingest-id="">No data have been loaded yet.</p>') == ""
    assert rendered_ingest("<html><body>Voila could not run the page</body></html>") is None


def test_the_store_is_read_again_only_when_its_file_changes(small_data_dir, tmp_path):
    data = tmp_path / "data"
    shutil.copytree(small_data_dir, data)
    reads: list[Path] = []
    watch = StoreWatch(data, read=lambda d: reads.append(d) or Store(d).ingest_id)
    first = watch.current()
    assert first == Store(data).ingest_id and watch.current() == first and len(reads) == 1
    # an ingest replaces the store file by a rename: a new file, read again
    copy = data / "copy.duckdb"
    shutil.copy2(data / STORE_FILE, copy)
    os.replace(copy, data / STORE_FILE)
    assert watch.current() == first and len(reads) == 2
    # no store (yet): "", the id of the "no data" page, so that page is not replaced in vain
    (data / STORE_FILE).unlink()
    assert watch.current() == ""


def test_a_store_being_written_replaces_no_page(tmp_path):
    (tmp_path / STORE_FILE).write_bytes(b"being written")

    def busy(_d: Path) -> str:
        raise duckdb.IOException("Could not set lock on file")

    watch = StoreWatch(tmp_path, read=busy)
    assert watch.current() is None
    assert watch.is_stale('<div data-ingest-id="old">') == (False, "old", None)


class FakeWatch:
    def __init__(self, now: str) -> None:
        self.now = now

    def is_stale(self, html: str):
        shown = rendered_ingest(html)
        return shown is not None and shown != self.now, shown, self.now


class FakePool:
    """Voila's kernel manager as the page handler uses it: pre-heated pages handed out in order,
    each rendered from the ingest given; a taken kernel is replaced by one rendered later."""

    def __init__(self, pages: list[str], later: str) -> None:
        self.pages, self.later, self.handed, self.stopped = list(pages), later, [], []

    async def get_rendered_notebook(self, notebook_name: str, **_kw):
        n = len(self.handed)
        ingest = self.pages[n] if n < len(self.pages) else self.later
        kid = f"k{n}"
        self.handed.append(kid)

        async def render():
            return [f'<div class="wb-snapshot" data-ingest-id="{ingest}">figures</div>'], None

        # the first view may not be in the cache yet (cell still running): then the task tells
        cache = [] if n % 2 else [f'<div data-ingest-id="{ingest}">']
        return asyncio.ensure_future(render()), cache, kid

    async def shutdown_kernel(self, kernel_id: str) -> None:
        self.stopped.append(kernel_id)


def _take(pool: FakePool, watch) -> tuple[str, list[str]]:
    given: list[str] = []

    async def go():
        kernels = _KernelsForOnePage(pool, given.append, watch)
        _task, _cache, kid = await kernels.get_rendered_notebook("overview.ipynb")
        return kid

    return run_in_own_loop(go), given


def test_pre_heated_pages_of_an_earlier_ingest_are_stopped_and_a_newer_one_given():
    pool = FakePool(["q1", "q1"], later="q2")  # a pool of two filled before the ingest of q2
    kid, given = _take(pool, FakeWatch("q2"))
    assert pool.stopped == ["k0", "k1"] and kid == "k2" and given == ["k2"]  # the guard hears of the viewer's only


def test_a_current_page_is_handed_out_as_it_is():
    pool = FakePool(["q2"], later="q3")
    kid, given = _take(pool, FakeWatch("q2"))
    assert (kid, given, pool.stopped) == ("k0", ["k0"], [])


@pytest.mark.parametrize("watch", [None, FakeWatch("q2")])
def test_without_a_watch_or_a_page_that_says_nothing_nothing_is_replaced(watch):
    pool = FakePool(["q1"], later="q2")
    if watch is not None:  # a page that does not say its ingest (failed): served as Voila would
        pool.pages = ["x"]

        async def silent(notebook_name: str, **_kw):
            pool.handed.append("k0")

            async def render():
                return ["<p>error</p>"], None

            return asyncio.ensure_future(render()), [], "k0"

        pool.get_rendered_notebook = silent
    kid, given = _take(pool, watch)
    assert (kid, given, pool.stopped) == ("k0", ["k0"], [])
