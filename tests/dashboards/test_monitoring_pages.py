"""The pages for what the partnership monitors (issue 20, item 2): By Name List, pathways and
Housing First. Their aggregates reconcile with the measures on the synthetic county, and their
tables keep the protections the pages promise (on top of the disclosure audit every page's panels
pass in test_dashboard_widgets.py)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from workbench import definitions
from workbench.dashboards import pages, protection
from workbench.dashboards.aggregates import COUNTY, Period, load_aggregates
from workbench.dashboards.filters import FilterState
from workbench.dashboards.pages import by_name_list as bnl_page
from workbench.definitions import DISTRICTS
from workbench.measures import by_name_list as bnl
from workbench.measures.sources import SourceTables
from workbench.store import Store


@pytest.fixture(scope="module")
def county(county_data_dir):
    return load_aggregates(county_data_dir), SourceTables.from_store(Store(county_data_dir))


@pytest.fixture(scope="module")
def small(small_data_dir):
    return load_aggregates(small_data_dir)


@pytest.fixture(scope="module")
def policy():
    return protection.disclosure_policy()


def _all_time(agg) -> Period:
    qs = agg.quarters()
    return Period(qs[0].start, agg.last_month)


# --------------------------------------------------------------------------------------------
# By Name List
# --------------------------------------------------------------------------------------------


def test_bnl_aggregate_reconciles_with_the_measure_for_county_and_districts(county):
    agg, src = county
    monthly = bnl.by_name_list(src).monthly
    table = agg["bnl_monthly"]
    assert set(table["district"]) <= set(DISTRICTS)  # districts only: the county is their sum
    measures = [*bnl.ENTRY_REASONS, *bnl.EXIT_REASONS, "active_start", "active_end"]
    for area in [*DISTRICTS, COUNTY]:
        rows = table if area == COUNTY else table[table["district"] == area]
        got = rows.pivot_table(index="month", columns="measure", values="n", aggfunc="sum", fill_value=0)
        want = monthly[monthly["district"] == (definitions.COUNTY if area == COUNTY else area)].set_index("period_start")
        want.index = pd.to_datetime(want.index)
        for m in measures:
            assert (got[m].reindex(want.index, fill_value=0).to_numpy() == want[m].to_numpy()).all(), (area, m)
        if area != COUNTY:
            for m in (bnl.MOVED_IN, bnl.MOVED_OUT):
                assert (got[m].reindex(want.index, fill_value=0).to_numpy() == want[m].to_numpy()).all(), (area, m)
    # transfers cancel in the county: as many moved in as moved out, every month
    by_month = table[table["measure"].isin([bnl.MOVED_IN, bnl.MOVED_OUT])].pivot_table(
        index="month", columns="measure", values="n", aggfunc="sum", fill_value=0)
    assert (by_month[bnl.MOVED_IN] == by_month[bnl.MOVED_OUT]).all()


def test_bnl_page_states_the_identity_from_true_counts_and_it_holds(county, policy):
    agg, _src = county
    for area in [COUNTY, *DISTRICTS]:
        state = FilterState(area, _all_time(agg), None)
        pt, monthly = bnl_page.identity_table(agg, state, policy)
        assert bnl_page.identity_holds(monthly), area
        # the shown (rounded) figures are within rounding of the identity in every shown quarter
        shown = pt.numeric.dropna()
        gap = shown[bnl_page.END] - (shown[bnl_page.START] + shown[bnl_page.JOINED] - shown[bnl_page.LEFT])
        assert (gap.abs() <= 4 * 2).all()
    # a broken identity is reported, not hidden
    bad = pd.DataFrame({"active_start": [10, 12], bnl.NEWLY_IDENTIFIED: [5, 1], bnl.HOUSED: [3, 1], "active_end": [12, 13]})
    assert bnl_page.identity_holds(bad.iloc[:1]) and not bnl_page.identity_holds(bad)
    panel = bnl_page.by_name_list_panels(agg, FilterState(COUNTY, _all_time(agg), None), policy)[0]
    assert "exactly, in the unrounded counts" in panel.headline
    assert "no numeric target" in panel.notice  # the strategy sets none: said, not invented


def test_bnl_quarter_with_any_hidden_figure_hides_all_four(small, policy):
    """A quarter's four figures are tied by the identity: one hidden would follow from the others."""
    seen_partial = 0
    qs = small.quarters()
    for area in [COUNTY, *DISTRICTS]:
        pt, _ = bnl_page.identity_table(small, FilterState(area, Period(qs[0].start, small.last_month), None), policy)
        hidden = pt.mask[list(bnl_page.CORE)]
        assert (hidden.all(axis=1) | ~hidden.any(axis=1)).all(), (area, pt.values)
        seen_partial += int(hidden.all(axis=1).sum())
    assert seen_partial > 0  # the small store has quarters to hide: the rule was exercised


def test_new_pages_are_registered_everywhere():
    from pathlib import Path

    from workbench.dashboards import frame

    root = Path(__file__).resolve().parents[2]
    nav = dict(frame.PAGES)
    for key in ("by_name_list",):
        assert key in pages.PAGE_SPECS and key in nav
        for folder in ("dashboards", "workbench/dashboards/notebooks"):
            text = (root / folder / f"{key}.ipynb").read_text()
            assert f'show(\\"{key}\\")' in text
        assert f"`{key}.ipynb`" in (root / "docs" / "dashboards.md").read_text()
    browser = (root / "tests" / "dashboards" / "test_dashboard_browser.py").read_text()
    assert all(f'"{k}"' in browser for k in ("by_name_list",))


def test_new_aggregates_declare_their_dimensions(county):
    from workbench.dashboards.aggregates import DIMENSIONS

    agg, _ = county
    for name, dims in DIMENSIONS.items():
        assert list(agg[name].columns) == [*dims, "n"], name
        assert (agg[name]["n"] >= 0).all() and not agg[name].duplicated(list(dims)).any(), name
    assert np.issubdtype(agg["bnl_monthly"]["month"].dtype, np.datetime64)
