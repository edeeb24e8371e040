"""Accessibility of the page HTML, without a browser: ids are unique across the first-view
snapshot and the live page (so a chart's accessible name follows its filters), every chart has a
name, a description and a table of its figures, and download links say what they download.
The browser tests add the axe-core audit, contrast as drawn and the keyboard."""

from __future__ import annotations

import re

import pytest

from workbench.dashboards import frame
from workbench.dashboards.pages import PAGE_SPECS

ID = re.compile(r'(?<=\s)id="([^"]+)"')


def test_namespace_ids_prefixes_ids_and_every_reference_to_them():
    html = ('<svg aria-labelledby="c-t c-d"><title id="c-t">T</title><desc id="c-d">D</desc>'
            '<clipPath id="c-clip"/><g clip-path="url(#c-clip)"/></svg>'
            '<section aria-labelledby="c-h"><h2 id="c-h">H</h2><input type="radio" name="c-view" value="0"/></section>'
            '<p data-id="keep" valid="keep">')
    out = frame.namespace_ids(html, "s-")
    assert set(ID.findall(out)) == {"s-c-t", "s-c-d", "s-c-clip", "s-c-h"}
    assert 'aria-labelledby="s-c-t s-c-d"' in out and 'aria-labelledby="s-c-h"' in out
    assert "url(#s-c-clip)" in out and 'name="s-c-view"' in out
    assert 'data-id="keep"' in out and 'valid="keep"' in out


@pytest.mark.parametrize("key", list(PAGE_SPECS))
def test_snapshot_and_live_page_share_no_id_and_every_reference_resolves(small_data_dir, key):
    page = frame.build_page(key, small_data_dir)
    live = "".join(v.main.value for v in page.views) + page.header.value
    snap = page.snapshot_html()
    live_ids, snap_ids = ID.findall(live), ID.findall(snap)
    assert live_ids and snap_ids
    assert len(set(live_ids)) == len(live_ids), "duplicate ids on the live page"
    assert not set(live_ids) & set(snap_ids)
    for html, ids in ((live, set(live_ids)), (snap, set(snap_ids))):
        for refs in re.findall(r'aria-(?:labelledby|describedby)="([^"]+)"', html):
            assert set(refs.split()) <= ids, refs


@pytest.mark.parametrize("key", list(PAGE_SPECS))
def test_every_chart_has_a_name_a_description_and_its_figures_in_a_table(small_data_dir, key):
    page = frame.build_page(key, small_data_dir)
    for content, view in zip(page.contents, page.views, strict=False):
        html = view.main.value
        for svg in re.findall(r"<svg\b.*?</svg>", html, re.S):
            assert 'role="img"' in svg
            title = re.search(r"<title id=\"[^\"]+\">([^<]+)</title>", svg)
            desc = re.search(r"<desc id=\"[^\"]+\">([^<]+)</desc>", svg)
            assert title and desc and title[1].strip() and desc[1].strip(), content.key
        if "<svg" in html:
            assert content.tables, f"{content.key}: a chart without a table of its figures"


def test_download_links_say_what_they_download(small_data_dir):
    page = frame.build_page("supported_housing", small_data_dir)
    page.show_downloads()
    html = "".join(v.downloads.value for v in page.views)
    links = re.findall(r"<a [^>]*>[^<]*</a>", html)
    assert links
    for link in links:
        label = re.search(r'aria-label="([^"]+)"', link)[1]
        text = re.search(r">([^<]*)</a>", link)[1]
        assert label.startswith("Download ") and label.endswith(f" as {text}")  # the visible text is in the name
