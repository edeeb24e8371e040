"""The saved first view: each page's protected default view, sent to a viewer before their kernel
is ready (issue 20, twenty viewers at once). How it is served is tested against a live server in
test_dashboard_server_hardening.py; timings are in benchmarks/bench_dashboards.py."""

from __future__ import annotations

import asyncio
import stat
from pathlib import Path

import pytest

from workbench.dashboards import first_view
from workbench.dashboards.aggregates import ensure_aggregates
from workbench.dashboards.freshness import rendered_ingest
from workbench.dashboards.hardening import _KernelsForOnePage

HEAD = ('<html><head><style>body:has(.wb-snapshot) #loading{display:none}</style></head><body>'
        '<div id="loading"></div>\n<div id="rendered_cells" role="main" style="display: none">\n  <div>')
VIEW = ('<div class="wb-snapshot wb-page" data-ingest-id="ing-2">'
        '<h2 id="wb-snap-t1">Title</h2><svg aria-labelledby="wb-snap-t1" class="wb-chart"></svg></div>')


def test_saved_view_is_owner_only_and_replaced_atomically(tmp_path: Path) -> None:
    path = first_view.save(tmp_path, "overview", VIEW)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    first_view.save(tmp_path, "overview", VIEW.replace("ing-2", "ing-3"))
    assert rendered_ingest(path.read_text()) == "ing-3"
    assert [p.name for p in path.parent.iterdir()] == ["overview.html"]  # no temporary file left


def test_a_server_start_clears_the_saved_views_of_the_last_server(tmp_path: Path) -> None:
    """A view saved under other code or another disclosure policy would show the same figures
    perturbed otherwise than the live page beside it: the server removes them all as it starts."""
    assert first_view.clear(tmp_path) == 0  # nothing saved yet
    for key in ("overview", "returns"):
        first_view.save(tmp_path, key, VIEW)
    (tmp_path / first_view.FOLDER / "notes.txt").write_text("kept")
    assert first_view.clear(tmp_path) == 2
    assert first_view.load(tmp_path, "overview", "ing-2") is None
    assert [p.name for p in (tmp_path / first_view.FOLDER).iterdir()] == ["notes.txt"]


def test_saved_view_is_served_only_for_its_own_ingest_and_a_page_name(tmp_path: Path) -> None:
    first_view.save(tmp_path, "overview", VIEW)
    assert first_view.load(tmp_path, "overview", "ing-1") is None  # an earlier or later ingest
    assert first_view.load(tmp_path, "overview", None) is None  # the store's ingest is unknown
    assert first_view.load(tmp_path, "returns", "ing-2") is None  # no view saved for that page
    (tmp_path / "secret.html").write_text(VIEW)
    for key in ("../secret", "..", "/etc/passwd", "Overview", ""):
        assert first_view.load(tmp_path / first_view.FOLDER, key, "ing-2") is None, key
    with pytest.raises(ValueError):
        first_view.save(tmp_path, "../elsewhere", VIEW)
    served = first_view.load(tmp_path, "overview", "ing-2")
    # marked as the early copy, with ids (and references to them) of its own
    assert 'class="wb-snapshot wb-early wb-page"' in served
    assert "wb-snap-" not in served and 'id="wb-early-t1"' in served and 'aria-labelledby="wb-early-t1"' in served


def test_view_goes_into_the_cells_container_of_a_page_head_only(tmp_path: Path) -> None:
    early = first_view.load(first_view.save(tmp_path, "overview", VIEW).parent.parent, "overview", "ing-2")
    sent = first_view.inject(HEAD, early)
    assert sent is not None and sent.startswith(HEAD) and sent.endswith(early + "\n")
    assert first_view.inject("<html><head>", early) is None  # not yet the cells' container
    assert first_view.inject(HEAD + VIEW, early) is None  # a pre-heated page: its own snapshot is there


def test_saved_view_is_the_protected_default_view(small_data_dir: Path, tmp_path: Path) -> None:
    """What a viewer sees before their kernel is the page a kernel renders with the default
    filters: the same snapshot, every table already protected (the snapshot is built from the
    page's protected panels)."""
    from workbench.dashboards.frame import (
        PAGES,
        SNAPSHOT_ID_PREFIX,
        _save_first_view,
        build_page,
        namespace_ids,
    )
    from workbench.dashboards.panels import panel_html

    ensure_aggregates(small_data_dir)
    key = "overview"
    page = build_page(key, small_data_dir)
    default = page.filters.state()
    snapshot = page.snapshot_html()
    # the panels in it are those of the default filters, as protected for display
    panels = page.compute(default)
    assert panels
    for content in panels:
        assert namespace_ids(panel_html(content, default.key), SNAPSHOT_ID_PREFIX) in snapshot
    _save_first_view(key, snapshot, page.agg)
    saved = small_data_dir / first_view.FOLDER / f"{key}.html"
    assert saved.read_text() == snapshot
    served = first_view.load(small_data_dir, key, page.agg.ingest_id)
    assert served.replace(first_view.EARLY_PREFIX, first_view.SNAPSHOT_PREFIX).replace(" wb-early", "", 1) == snapshot
    # a second viewer's kernel, filters untouched, renders exactly the same view
    assert build_page(key, small_data_dir).snapshot_html() == snapshot
    assert key in dict(PAGES)


class _Pools:
    """A kernel manager with Voila's pools: futures of pre-heated kernels, some still starting."""

    def __init__(self, ready: int, starting: int, failed: int) -> None:
        loop = asyncio.new_event_loop()
        futures = []
        for i in range(ready + starting + failed):
            f = loop.create_future()
            if i < ready:
                f.set_result({"kernel_id": f"k{i}"})
            elif i >= ready + starting:
                f.set_exception(RuntimeError("kernel died"))
            futures.append(f)
        self._pools = {"overview.ipynb": futures}
        self.loop = loop

    def get_pool_size(self, name: str) -> int:
        return len(self._pools.get(name, ()))


def test_only_ready_pre_heated_kernels_count_as_the_pool() -> None:
    manager = _Pools(ready=1, starting=2, failed=1)
    try:
        wrapped = _KernelsForOnePage(manager, lambda _kid: None)
        assert manager.get_pool_size("overview.ipynb") == 4  # what Voila itself would count
        assert wrapped.get_pool_size("overview.ipynb") == 1
        assert wrapped.get_pool_size("returns.ipynb") == 0
        assert _KernelsForOnePage(_Pools(0, 3, 0), lambda _kid: None).get_pool_size("overview.ipynb") == 0
    finally:
        manager.loop.close()


def test_page_head_is_kept_and_voilas_own_copy_dropped() -> None:
    page = HEAD + "\n<script>cells</script></div></div></body></html>"
    assert first_view.page_head("<html><head>") is None  # not complete yet
    head = first_view.page_head(page)
    assert head == HEAD and not head.endswith("cells")
    assert first_view.after_head(HEAD[:40]) is None
    assert first_view.after_head(page) == "\n<script>cells</script></div></div></body></html>"
    # sent head + view, then the rest of Voila's page: one document, one cells' container
    early = VIEW.replace("wb-snap-", "wb-early-")
    whole = f"{head}\n{early}\n" + first_view.after_head(page)
    assert whole.count('id="rendered_cells"') == 1 and whole.count("<html>") == 1


BLOCKING_HEAD = (
    '<html><head><script>var inline = 1;</script>\n'
    '<script src="/voila/templates/workbench/static/voila-style.js?v=1" ></script>\n'
    '<link rel="stylesheet" type="text/css" href="/voila/templates/workbench/static/index.css?v=2">\n'
    '<script type="module">import("x")</script><script src="/late.js" defer></script>'
    '<link rel="icon" href="data:;base64,=">\n'
    '<link rel="stylesheet" type="text/css" href="/voila/templates/workbench/static/theme-light.css?v=3">\n'
    '</head><body><div id="rendered_cells" role="main" style="display: none">\n  <div>')


def test_early_page_sends_the_view_before_what_blocks_drawing_it() -> None:
    """The browser draws nothing until the head's stylesheets and scripts with a source have been
    fetched (and run): for a viewer sent the saved view they come after it, in their own order,
    and nothing else in the head moves."""
    early = VIEW.replace("wb-snap-", "wb-early-")
    sent = first_view.early_page(BLOCKING_HEAD, early)
    view_at = sent.index(early)
    moved = ["voila-style.js?v=1", "index.css?v=2", "theme-light.css?v=3"]
    assert all(sent.index(name) > view_at for name in moved)
    assert [sent.index(name) for name in moved] == sorted(sent.index(name) for name in moved)
    for kept in ("var inline = 1;", '<script type="module">', 'src="/late.js" defer', 'rel="icon"'):
        assert sent.index(kept) < view_at, kept
    # nothing lost or doubled: the same tags, the head still ends in the cells' container
    assert sorted(sent.replace(early, "").split()) == sorted(BLOCKING_HEAD.split())
    assert first_view.page_head(sent) is not None and sent.count('id="rendered_cells"') == 1
