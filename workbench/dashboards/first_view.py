"""The protected default view of each page, served without waiting for a kernel.

Each page's first view (its "snapshot": the default filters, every table protected, no downloads)
is the same for every viewer until the next ingest. A kernel that renders a page saves it here
(:func:`save`); when a viewer arrives and no pre-heated kernel of that page is ready, the page
handler (:class:`workbench.dashboards.hardening.PageHandler`) sends the page's head (kept from an
earlier render of the page: :func:`page_head`, the same for every viewer) and the saved view at
once, before Voila has done anything for that viewer, starts the viewer's kernel in the
background, and drops Voila's own copy of the head when it comes (:func:`after_head`). Until a
head has been kept (the first such viewer after a start), the view is written into Voila's head
as it is sent (:func:`inject`). The viewer sees the charts at once; the filters and downloads
follow when the kernel is ready (the live widgets then replace the view, as they replace a
pre-heated page's snapshot). Twenty
viewers opening a page together then each see its first chart without queueing for twenty kernel
starts on two cores (docs/assumptions/dashboards.md, "Serving choices").

Safety: the saved view is exactly what every viewer of the page is shown by default (its figures
have passed disclosure control), and it is only served for the ingest it was rendered from
(``data-ingest-id``, compared with the store's ingest now). Still, it is written owner-only
(0700 folder, 0600 files) beside the store, like everything else there.
"""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path

from workbench.dashboards.freshness import rendered_ingest

__all__ = ["EARLY_PREFIX", "FOLDER", "PAGE_HEADERS", "SNAPSHOT_PREFIX", "after_head", "clear", "early_page", "inject",
           "load",
           "page_head", "rendered_ingest", "save"]

FOLDER = "dashboard_first_views"
#: Element ids of the saved view are prefixed differently from the kernel's own snapshot's, which
#: arrives later in the same page (duplicate ids would confuse screen readers and aria references).
SNAPSHOT_PREFIX = "wb-snap-"
EARLY_PREFIX = "wb-early-"
#: Marks the served copy; CSS hides it once the kernel's own snapshot or the live page is there.
EARLY_CLASS = "wb-early"
_KEY = re.compile(r"[a-z][a-z0-9_]{0,63}")
#: Where the view goes in the page Voila sends: inside the cells' container, where the cells'
#: output would be (the workbench template's body header, see dashboards/.share).
_CELLS = re.compile(r'<div id="rendered_cells"[^>]*>\s*<div>')


def _path(data_dir: str | Path, key: str) -> Path:
    if not _KEY.fullmatch(key):  # a page name from a URL: never a path
        raise ValueError(f"not a page name: {key!r}")
    return Path(data_dir) / FOLDER / f"{key}.html"


def save(data_dir: str | Path, key: str, html: str) -> Path:
    """Save ``html`` (a page's snapshot, saying its ingest in ``data-ingest-id``) as the page's
    first view, replacing an older one atomically; owner-only."""
    target = _path(data_dir, key)
    folder = target.parent
    folder.mkdir(mode=0o700, exist_ok=True)
    os.chmod(folder, 0o700)
    try:
        if target.read_text(encoding="utf-8") == html:
            return target  # every kernel of the page renders the same view: nothing to write
    except OSError:
        pass
    fd, tmp = tempfile.mkstemp(prefix=f".{key}.", suffix=".tmp", dir=folder)  # created 0600
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(html)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target


def clear(data_dir: str | Path) -> int:
    """Remove every saved first view (at server start, before any kernel renders): a view saved by
    a server with other code or another disclosure policy would show other perturbations of the
    same figures beside the live page's, two looks at one count. Returns how many were removed."""
    folder = Path(data_dir) / FOLDER
    removed = 0
    for path in folder.glob("*.html") if folder.is_dir() else ():
        path.unlink(missing_ok=True)
        removed += 1
    return removed


def load(data_dir: str | Path, key: str, ingest_id: str | None) -> str | None:
    """The saved first view of page ``key`` as served before a kernel (ids prefixed, marked
    ``wb-early``), or None if there is none, it is not a page name, or it was rendered from
    another ingest than ``ingest_id`` (None: the store's ingest is unknown, so nothing is served)."""
    if not ingest_id:
        return None
    try:
        html = _path(data_dir, key).read_text(encoding="utf-8")
    except (OSError, ValueError):
        return None
    if rendered_ingest(html) != ingest_id or 'class="wb-snapshot ' not in html:
        return None
    html = html.replace(SNAPSHOT_PREFIX, EARLY_PREFIX)
    return html.replace('class="wb-snapshot ', f'class="wb-snapshot {EARLY_CLASS} ', 1)


#: The headers Voila sets on a page, set by the handler when it sends the head itself.
PAGE_HEADERS = {"Content-Type": "text/html", "Cache-Control": "no-cache, no-store, must-revalidate",
                "Pragma": "no-cache", "Expires": "0"}


def page_head(html: str) -> str | None:
    """The page head in ``html`` (Voila's page up to and including the opening of the cells'
    container), or None if ``html`` does not reach it. It holds nothing about the viewer or the
    kernel (those come after it), so the server keeps it per page and sends it to the next
    viewers at once, with the saved view."""
    found = _CELLS.search(html)
    return html[: found.end()] if found else None


#: What in a page head stops the browser drawing anything until it has been fetched (and, for a
#: script, run): stylesheets and scripts with a source that are neither ``async`` nor ``defer``.
_BLOCKING = re.compile(r'<link\b[^>]*\brel="stylesheet"[^>]*>|<script\b(?![^>]*\b(?:async|defer|type="module")\b)'
                       r'[^>]*\bsrc="[^"]*"[^>]*>\s*</script>')


def early_page(head: str, view: str) -> str:
    """The start of a page sent before its kernel: the page ``head`` with ``view`` in its cells'
    container, and the head's render-blocking stylesheets and scripts moved to just after the
    view. The browser then draws the view as soon as it arrives instead of after fetching and
    running Voila's styles (580 KB: seconds on a busy server) first; it still loads them, in the
    same order, before anything that follows (the live page). Our own styles are inline, so the
    view looks the same; Voila's own layout styles come a moment later."""
    blocking = _BLOCKING.findall(head)
    return f"{_BLOCKING.sub('', head)}\n{view}\n" + "\n".join(blocking) + "\n"


def after_head(html: str) -> str | None:
    """What follows the page head in ``html`` (Voila's own copy of a head already sent), or None
    if ``html`` does not reach its end yet."""
    found = _CELLS.search(html)
    return html[found.end():] if found else None


def inject(chunk: str, view: str) -> str | None:
    """``chunk`` of a page being sent with ``view`` written into the cells' container, or None
    if the chunk does not open it, or already holds a snapshot (a pre-heated page)."""
    if 'class="wb-snapshot' in chunk:
        return None
    found = _CELLS.search(chunk)
    if found is None:
        return None
    return f"{chunk[: found.end()]}\n{view}\n{chunk[found.end():]}"
