"""Dashboards that pick up a new ingest without a restart.

Voila keeps pre-heated kernels per page (``pool_size``), each of which has already run its page:
after a new ingest they hold the previous quarter's figures, and the next viewer would be served
them. The pages themselves are not the problem: a page that runs after the ingest rebuilds the
aggregates (``load_aggregates`` checks ``aggregates_are_current``) and shows the new figures.

So the server checks each pre-heated page as it hands it out. Every page says which ingest it was
rendered from (``data-ingest-id`` on its first view, :func:`rendered_ingest`); the page handler
(:class:`workbench.dashboards.hardening.PageHandler`) compares that with the store's snapshot now
(:class:`StoreWatch`) and, when they differ, stops that kernel and takes the next one, which Voila
started after the ingest (the pool is refilled as each kernel is taken), so it renders the new
figures. Only public parts of Voila are used: the kernel manager's ``get_rendered_notebook`` (what
the page handler calls) and ``shutdown_kernel``.

Why at hand-out rather than re-rendering a page when its browser connects: the first view is
written into the HTML (the snapshot), so a page re-rendered on connect would first show the old
figures, and a printed or saved page could keep them; and why not watch the store and empty the
pools: which kernels are waiting in a pool is private to Voila. The cost: after an ingest, the first
viewer of each page waits for a page to be rendered (as with no pre-heated kernel), and the first
of them for the aggregates to be rebuilt. Viewers with a page already open keep its figures until
they reload it.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from pathlib import Path

import duckdb

from workbench.store import STORE_FILE, Store, StoreNotFound, default_data_dir

_INGEST = re.compile(r'data-ingest-id="([^"]*)"')


def rendered_ingest(html: str) -> str | None:
    """The ingest a rendered page's figures come from ("" for the "no data yet" page), or None
    if the HTML does not say (not a workbench page, or not rendered yet)."""
    found = _INGEST.search(html)
    return found.group(1) if found else None


class StoreWatch:
    """The ingest id of the store's snapshot the pages read (the latest, or ``$WORKBENCH_AS_OF``'s),
    re-read only when the store file changes (an ingest replaces it by a rename)."""

    def __init__(self, data_dir: str | Path | None = None, read: Callable[[Path], str] | None = None) -> None:
        self.data_dir = Path(data_dir) if data_dir is not None else default_data_dir()
        self._read = read or (lambda d: Store(d).ingest_id)
        self._seen: tuple[int, int, int] | None = None
        self._ingest: str | None = None

    def current(self) -> str | None:
        """The ingest id now ("" with no store yet), or None if the store cannot be read at this
        moment (being written): then no page is replaced."""
        try:
            st = os.stat(self.data_dir / STORE_FILE)
        except FileNotFoundError:
            self._seen, self._ingest = None, ""
            return ""
        key = (st.st_ino, st.st_mtime_ns, st.st_size)
        if key != self._seen:
            try:
                self._ingest = self._read(self.data_dir)
            except StoreNotFound:
                self._ingest = ""
            except (duckdb.Error, OSError):
                return None
            self._seen = key
        return self._ingest

    def is_stale(self, html: str) -> tuple[bool, str | None, str | None]:
        """(whether a page rendered as ``html`` shows another ingest than the store's now, the
        ingest it shows, the store's)."""
        shown, now = rendered_ingest(html), self.current()
        return (shown is not None and now is not None and shown != now), shown, now
