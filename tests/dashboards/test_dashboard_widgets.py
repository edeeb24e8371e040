"""Page helpers and pages without a browser: every table passes the disclosure audit, no count
from 1 to 4 is shown anywhere, headlines only use shown figures, charts are valid SVG, downloads
are exactly the protected table, and filters drive the live widgets."""

from __future__ import annotations

import base64
import csv
import io
import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from workbench import definitions
from workbench.dashboards import charts, filters, frame, pages, panels, protection, tables
from workbench.dashboards.aggregates import COUNTY, Period, load_aggregates
from workbench.dashboards.pages import district_benchmarking, overview
from workbench.definitions import DISTRICTS
from workbench.reporting.audit import find_disclosure_risks
from workbench.reporting.policy import DisclosurePolicy

ROOT = Path(__file__).resolve().parents[2]
MONTHS = "January|February|March|April|May|June|July|August|September|October|November|December"


@pytest.fixture(scope="module")
def agg(small_data_dir):
    return load_aggregates(small_data_dir)


@pytest.fixture(scope="module")
def policy():
    return protection.disclosure_policy()


def states(agg, key):
    qs = agg.quarters()
    spec = pages.PAGE_SPECS[key]
    groups = [v or None for _, v in spec.get("group_options", [("", "")])]
    periods = [Period(qs[-4].start, qs[-1].end), Period(qs[0].start, qs[-1].end), Period(qs[len(qs) // 2].start, qs[len(qs) // 2].end)]
    areas = [COUNTY, *DISTRICTS] if spec.get("district", True) else [COUNTY]
    for i, area in enumerate(areas):
        for j, period in enumerate(periods):
            yield filters.FilterState(area, period, groups[(i + j) % len(groups)])


def headline_counts(text: str) -> list[float]:
    """Counts quoted in a headline (not dates, windows, ages or percentages)."""
    text = re.sub(rf"\b(\d{{1,2}} )?({MONTHS}) \d{{4}}", "", text)
    text = re.sub(r"\b\d+ (months?|days|years?)\b", "", text)
    text = re.sub(r"\bof the \d+ types\b", "", text)  # how many types of service are compared, not people
    text = re.sub(r"\b\d+ to \d+\b|\b\d+ and over\b|\b\d+ September\b", "", text)
    text = re.sub(r"\d[\d,]*(\.\d+)?%", "", text)
    text = re.sub(r"\d+(\.\d+)? per 100,000", "", text)
    return [float(x.replace(",", "")) for x in re.findall(r"\b\d[\d,]*\b", text)]


@pytest.mark.parametrize("key", list(pages.PAGE_SPECS))
def test_every_panel_is_safe_and_headlines_use_shown_figures(agg, policy, key):
    build = pages.PAGE_SPECS[key]["build"]
    for state in states(agg, key):
        for panel in build(agg, state, policy):
            assert panel.headline and panel.title
            shown: set[float] = set()
            for spec in panel.tables:
                pt = spec.table
                risks = find_disclosure_risks(pt)
                assert risks.empty, (key, state, panel.key, risks)
                for col in pt.values.columns:
                    if col in spec.rate_columns:
                        continue
                    vals = pd.to_numeric(pt.values[col].where(~pt.mask[col]), errors="coerce").dropna()
                    assert not ((vals >= 1) & (vals < policy.threshold)).any(), (key, panel.key, col)
                    shown |= set(vals.astype(float))
                # rates are never shown where their count is hidden
                for rate in spec.rate_columns:
                    assert not (pt.numeric[rate].notna() & pt.mask.drop(columns=list(spec.rate_columns)).any(axis=1)
                                & pt.mask[rate]).any()
                # a percentage of people is never below 0 or above 100 (counts perturbed on their own
                # could give "11 of 9"), and the shares of a total add up to 100
                for rate in [c for c in spec.rate_columns if c.endswith("(%)")]:
                    shown_pct = pt.numeric[rate].dropna()
                    assert ((shown_pct >= 0) & (shown_pct <= 100)).all(), (key, panel.key, rate, shown_pct.max())
                if "Share (%)" in pt.numeric.columns and "Total" in pt.numeric.index:
                    parts = pt.numeric["Share (%)"].drop(index="Total")
                    if parts.notna().all() and pd.notna(pt.numeric.loc["Total", "Share (%)"]):
                        assert pt.numeric.loc["Total", "Share (%)"] == 100
                        assert abs(parts.sum() - 100) <= 0.5 * len(parts), (key, panel.key, parts.sum())
            for n in headline_counts(panel.headline):
                assert n in shown, (key, panel.key, panel.headline, sorted(shown)[:20])
            # a headline's percentage of people is a share of a total: never above 100
            pcts = [float(x) for x in re.findall(r"(\d+(?:\.\d+)?)%", panel.headline)]
            assert all(0 <= x <= 100 for x in pcts), (key, panel.key, panel.headline)


def test_panels_render_valid_html_and_svg(agg, policy):
    qs = agg.quarters()
    state = filters.FilterState(COUNTY, Period(qs[-4].start, qs[-1].end), None)
    for spec in pages.PAGE_SPECS.values():
        page_state = filters.FilterState(state.area, state.period, spec.get("default_group"))
        for panel in spec["build"](agg, page_state, policy):
            html = panels.panel_html(panel, page_state.key)
            ET.fromstring(html.replace("&nbsp;", " "))  # well-formed (SVG inline)
            if panel.chart:
                svg = ET.fromstring(panel.chart)
                assert svg.get("role") == "img" and svg.get("data-filters") == page_state.key
                assert svg.find("{http://www.w3.org/2000/svg}title") is not None
                assert svg.find("{http://www.w3.org/2000/svg}desc").text == panel.headline
            for i in range(len(panel.tables)):
                assert f'data-table="{panel.key}-{i}"' in html


def test_hidden_cells_are_marked_and_rates_follow_counts(policy):
    t = pd.DataFrame({"Returned": [30, 3, 40], "Did not return": [200, 40, 300]}, index=["A", "B", "C"])
    pt = protection.with_rates(protection.protect(t, policy, row_total=True, col_total=True), {"Returned (%)": ("Returned", "Total")})
    assert pt.mask.loc["B", "Returned"] and pt.mask.loc["B", "Returned (%)"]
    assert np.isnan(pt.numeric.loc["B", "Returned (%)"])
    html = tables.table_html(tables.TableSpec(pt, "caption", "stem", rate_columns=("Returned (%)",)), "k", "f")
    assert html.count("wb-hidden") == int(pt.mask.to_numpy().sum())
    assert "[c]" in html and "caption" in html and pt.footnote in html.replace("&#x27;", "'")
    assert protection.cell(pt, "B", "Returned") is None and protection.shown_sum(pt, ["A", "B"], "Returned") is None


def _about(**changes) -> tables.DownloadAbout:
    values = dict(page_title="Returns to homelessness", area="cherwell", area_label="Cherwell",
                  period=Period(pd.Timestamp("2025-04-01"), pd.Timestamp("2026-03-01")),
                  extract_date=pd.Timestamp("2026-09-30").date(), definitions_version="9.9.9",
                  definitions_sha256="ab" * 32, ingest_id="20260930T101500-abc123", synthetic=True,
                  group_label="Compare by", group="tenure", group_text="Type of home")
    return tables.DownloadAbout(**{**values, **changes})


def test_exports_are_the_protected_table_with_footnote_then_what_they_cover(policy, tmp_path):
    t = pd.DataFrame({"Count": [50, 3, 20, 0, 7]}, index=list("abcde"))
    spec = tables.TableSpec(protection.with_shares(protection.protect(t, policy, col_total=True), "Count"), "Example", "example")
    about = _about()
    csv_bytes, xlsx_bytes = tables.export_bytes(spec, about)
    table = spec.table.to_csv(tmp_path / "x.csv").read_bytes()
    assert csv_bytes.startswith(table)  # the protected table and its footnote, unchanged, first
    assert b"[c]" in csv_bytes and b"hidden to protect" in csv_bytes
    rows = list(csv.reader(io.StringIO(csv_bytes[len(table):].decode())))
    assert rows[0] == [] and rows[1] == ["About this table"]
    said = dict(r for r in rows[2:] if len(r) == 2)
    assert said["District"] == "Cherwell" and said["Period"] == "April 2025 to March 2026"
    assert said["Compare by"] == "Type of home" and said["Store ingest id"] == "20260930T101500-abc123"
    assert said["Extract date"].startswith("2026-09-30") and said["Definitions version"].startswith("9.9.9 (sha256 abab")
    assert "rounded to the nearest 5" in said["Disclosure control"] and "SYNTHETIC" in said["Data"]
    # a program reading the table up to the first blank line gets exactly the table
    read = pd.read_csv(io.BytesIO(csv_bytes), nrows=len(spec.table.values), index_col=0, dtype=str, keep_default_na=False)
    assert read.to_numpy().tolist() == spec.table.values.astype(str).to_numpy().tolist()
    # Excel: the table's sheet first, as it was, and an About sheet saying the same
    assert xlsx_bytes[:2] == b"PK"
    book = pd.read_excel(io.BytesIO(xlsx_bytes), sheet_name=None, header=None, dtype=str)
    assert list(book) == ["example", tables.ABOUT_SHEET]
    sheet = book["example"]
    assert list(sheet.iloc[0, 1:1 + len(spec.table.values.columns)]) == list(spec.table.values.columns)
    assert tables.ABOUT_SHEET in " ".join(sheet.fillna("").astype(str).to_numpy().ravel())
    about_sheet = dict(book[tables.ABOUT_SHEET].iloc[1:, :2].itertuples(index=False, name=None))
    assert {k: about_sheet[k] for k in said} == said
    links = tables.downloads_html([spec], "panel", "filters", about)
    assert links.count('class="wb-download"') == 2
    assert 'download="example_tenure_cherwell_2025-04_to_2026-03_extract-2026-09-30.csv"' in links
    assert 'download="example_tenure_cherwell_2025-04_to_2026-03_extract-2026-09-30.xlsx"' in links


def test_download_names_change_with_the_filters():
    spec = tables.TableSpec(None, "Example", "returns_within_12_months")  # the name needs no table
    names = {a.file_name(spec, "csv") for a in (
        _about(), _about(area="oxfordshire"), _about(group="origin"), _about(group="", group_label=""),
        _about(period=Period(pd.Timestamp("2025-07-01"), pd.Timestamp("2026-03-01"))),
        _about(extract_date=pd.Timestamp("2026-12-31").date()))}
    assert len(names) == 6
    assert _about().file_name(spec, "csv") == "returns_within_12_months_tenure_cherwell_2025-04_to_2026-03_extract-2026-09-30.csv"
    # a table whose name already says its group does not say it twice
    assert tables.TableSpec(None, "x", "new_arrivals_by_age_band").stem in _about(group="age_band").file_name(
        tables.TableSpec(None, "x", "new_arrivals_by_age_band"), "csv")
    assert _about(group="age_band").file_name(tables.TableSpec(None, "x", "new_arrivals_by_age_band"), "csv").count("age") == 1


def test_every_download_of_a_page_says_what_it_covers(small_data_dir):
    page = frame.build_page("supported_housing", small_data_dir)
    page.show_downloads()
    agg, state = page.agg, page.filters.state()
    links = re.findall(r'<a class="wb-download"[^>]*>', "".join(v.downloads.value for v in page.views))
    assert links
    for link in links:
        name = re.search(r'download="([^"]+)"', link)[1]
        extension = re.search(r'data-format="(\w+)"', link)[1]
        assert name.endswith(f"_oxfordshire_{state.period.start:%Y-%m}_to_{state.period.end:%Y-%m}_extract-"
                             f"{agg.extract_date.date().isoformat()}.{extension}")
        if 'data-format="csv"' in link:
            text = base64.b64decode(re.search(r"base64,([^\"]+)", link)[1]).decode()
            for item in (f"Store ingest id,{agg.ingest_id}", f"Definitions version,{agg.definitions_version} (sha256 ",
                         "District,Oxfordshire (all districts)", f"Dashboard,{page.title}", "Type of service,All types"):
                assert item in text, (name, item)
    # the page says the same in its footer
    assert f"Store ingest id: {agg.ingest_id}" in page.footer.value
    assert f"Definitions version: {definitions.version()}" in page.footer.value


def test_chart_builders_handle_hidden_and_empty_values():
    svg = charts.bar_chart("k", "f", ["a", "b"], [None, None], title="t", desc="d")
    assert "hidden" in svg
    ET.fromstring(svg)
    svg = charts.line_chart("k", "f", list(pd.date_range("2025-01-01", periods=4, freq="MS")), {"s": [1.0, None, 3.0, 4.0]},
                        title="t", desc="d")
    assert "Gaps are hidden figures" in svg
    ET.fromstring(svg)
    svg = charts.funnel_plot("k", "f", [("A", 100.0, 40.0), ("B", 300.0, 55.0)], 50.0, district_benchmarking.percent_limits,
                         title="t", desc="d", x_title="n")
    ET.fromstring(svg)
    assert svg.count("<circle") == 2


def test_charts_use_the_one_palette():
    from workbench.dashboards import palette

    assert charts.SERIES_COLOURS is palette.SERIES_COLOURS and charts.LIMIT_COLOURS is palette.LIMIT_COLOURS
    assert charts.SERIES_COLOURS[0] == "#0072B2"  # Okabe-Ito blue first


def test_policy_rounds_by_default_and_can_be_replaced(monkeypatch, tmp_path):
    assert protection.disclosure_policy().rounding_base == protection.DASHBOARD_ROUNDING_BASE
    assert protection.disclosure_policy().threshold == 5
    f = tmp_path / "policy.yaml"
    f.write_text("disclosure:\n  threshold: 10\n")
    monkeypatch.setenv(protection.POLICY_ENV, str(f))
    p = protection.disclosure_policy()
    assert p.threshold == 10 and p.rounding_base is None


def test_live_page_updates_on_filter_change(small_data_dir):
    page = frame.build_page("overview", small_data_dir)
    first = page.views[0].main.value
    assert "oxfordshire|" in first and page.views[0].downloads.value.count("wb-download") >= 2
    page.filters.district.value = "cherwell"
    assert 'data-filters="cherwell|' in page.views[0].main.value
    assert 'data-filters="cherwell|' in page.views[0].downloads.value
    page.filters.period.value = 1  # the latest year's last quarter
    assert page.filters.state().period == page.filters.periods[1][1]
    assert f'data-filters="cherwell|{page.filters.periods[1][1].start:%Y-%m}|' in page.views[0].main.value
    snap = page.snapshot_html()
    assert "wb-snapshot" in snap and 'class="wb-download"' not in snap
    assert "wb-live" in page.widget._dom_classes


def test_page_with_bad_filters_says_so_instead_of_a_traceback(small_data_dir, monkeypatch):
    page = frame.build_page("district_benchmarking", small_data_dir)

    def broken(*_a, **_k):
        raise ValueError("boom")

    monkeypatch.setattr(page, "build", broken)
    page.filters.group.value = "relief"
    assert "could not be worked out" in page.status.value and "boom" not in page.status.value


def test_show_without_a_store_is_a_plain_message(tmp_path, capsys):
    from IPython.core.interactiveshell import InteractiveShell

    InteractiveShell.instance()
    assert frame.show("overview", tmp_path / "nothing-here") is None


def test_notebooks_are_thin_and_stored_without_outputs():
    for key, name in frame.PAGES:
        nb = json.loads((ROOT / "dashboards" / f"{key}.ipynb").read_text())
        code = [c for c in nb["cells"] if c["cell_type"] == "code"]
        assert len(code) == 1 and code[0]["outputs"] == [] and code[0]["execution_count"] is None
        assert f'show("{key}")' in "".join(code[0]["source"])
        assert nb["metadata"]["title"].startswith(name)


def test_headline_counts_helper():
    assert headline_counts("In September 2026, 80 people were seen; 25 of them were new.") == [80, 25]
    assert headline_counts("Of the 1,035 people between April 2025 and March 2026, 9% within 6 months.") == [1035]


def test_policy_threshold_is_respected_with_a_stricter_policy(agg):
    strict = DisclosurePolicy(threshold=10)
    qs = agg.quarters()
    state = filters.FilterState(COUNTY, Period(qs[0].start, qs[-1].end), None)
    for panel in overview.overview_panels(agg, state, strict):
        for spec in panel.tables:
            pt = spec.table
            for col in pt.values.columns:
                if col in spec.rate_columns:
                    continue
                vals = pd.to_numeric(pt.values[col].where(~pt.mask[col]), errors="coerce").dropna()
                assert not ((vals >= 1) & (vals < 10)).any()
