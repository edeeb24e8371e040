"""The pages for what the partnership monitors (issue 20, item 2): By Name List, pathways and
Housing First. Their aggregates reconcile with the measures on the synthetic county, and their
tables keep the protections the pages promise (on top of the disclosure audit every page's panels
pass in test_dashboard_widgets.py)."""

from __future__ import annotations

import dataclasses

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


@pytest.fixture(scope="module")
def suppression(policy):
    """The pages under suppression (a policy file may choose it): the rules that only it has."""
    return dataclasses.replace(policy, method="suppression")


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
        # the shown (perturbed) figures are within their perturbation of the identity in every quarter
        shown = pt.numeric.dropna()
        gap = shown[bnl_page.END] - (shown[bnl_page.START] + shown[bnl_page.JOINED] - shown[bnl_page.LEFT])
        assert (gap.abs() <= 4 * policy.perturbation_max).all()
    # a broken identity is reported, not hidden
    bad = pd.DataFrame({"active_start": [10, 12], bnl.NEWLY_IDENTIFIED: [5, 1], bnl.HOUSED: [3, 1], "active_end": [12, 13]})
    assert bnl_page.identity_holds(bad.iloc[:1]) and not bnl_page.identity_holds(bad)
    panel = next(iter(bnl_page.by_name_list_panels(agg, FilterState(COUNTY, _all_time(agg), None), policy)))
    assert "exactly, in the unrounded counts" in panel.headline
    assert "no numeric target" in panel.notice  # the strategy sets none: said, not invented


def test_bnl_quarter_with_any_hidden_figure_hides_all_four(small, suppression):
    """A quarter's four figures are tied by the identity: one hidden would follow from the others."""
    policy = suppression
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
    for key in ("by_name_list", "housing_first", "pathways"):
        assert key in pages.PAGE_SPECS and key in nav
        for folder in ("dashboards", "workbench/dashboards/notebooks"):
            text = (root / folder / f"{key}.ipynb").read_text()
            assert f'show(\\"{key}\\")' in text
        assert f"`{key}.ipynb`" in (root / "docs" / "dashboards.md").read_text()
    browser = (root / "tests" / "dashboards" / "test_dashboard_browser.py").read_text()
    assert all(f"\"{k}\"" in browser for k in ("by_name_list", "housing_first", "pathways"))


def test_new_aggregates_declare_their_dimensions(county):
    from workbench.dashboards.aggregates import DIMENSIONS

    agg, _ = county
    for name, dims in DIMENSIONS.items():
        # besides the dimensions and the count, the count's cell keys (issue 20 item 3)
        assert [c for c in agg[name].columns if not c.startswith("key_")] == [*dims, "n"], name
        assert "key_n" in agg[name], name
        assert (agg[name]["n"] >= 0).all() and not agg[name].duplicated(list(dims)).any(), name
    assert np.issubdtype(agg["bnl_monthly"]["month"].dtype, np.datetime64)


# --------------------------------------------------------------------------------------------
# Housing First
# --------------------------------------------------------------------------------------------


def test_hf_sustainment_from_aggregates_equals_the_measure(county):
    """The page's Kaplan-Meier, from counts by (capped) duration, equals the measure's from the
    tenancies themselves, for the county and every district, with or without a period end."""
    from workbench.dashboards.pages import housing_first as hf_page
    from workbench.measures import housing_first as hf

    agg, src = county
    ends = [agg.last_month, agg.quarters()[-5].end]
    for end in ends:
        want = hf.tenancy_sustainment(src, period_end=end + pd.offsets.MonthEnd(0))
        for area in [COUNTY, *DISTRICTS]:
            got = hf_page.sustainment(agg, FilterState(area, Period(agg.quarters()[-4].start, end), None))
            w = want[want["district"] == (definitions.COUNTY if area == COUNTY else area)].set_index("months")
            if w.empty:
                continue
            g = got.set_index("months")
            assert (g["tenancies"] == w["tenancies"]).all(), (area, end)
            assert (g["followed"] == w["still_followed"]).all(), (area, end)
            for a, b in (("sustained", "sustained"), ("lower", "lower"), ("upper", "upper")):
                assert np.allclose(g[a].to_numpy(float), w[b].to_numpy(float), equal_nan=True, atol=1e-12), (area, end, a)


def test_hf_page_shows_estimates_only_for_safe_groups_and_cites_the_pilots(county, small, policy):
    from workbench.dashboards.pages import housing_first as hf_page

    agg, _ = county
    qs = agg.quarters()
    state = FilterState(COUNTY, Period(qs[-4].start, agg.last_month), None)
    pt = hf_page.sustainment_table(agg, state, policy)
    assert pt.numeric.loc["12 months", hf_page.PILOTS] == 92.0
    assert pt.numeric[hf_page.SUSTAINED].notna().all()  # the county: every horizon shown
    panels = list(hf_page.housing_first_panels(agg, state, policy))
    sus = panels[1]
    assert "England's Housing First pilots" in sus.headline and "reference definitions" in sus.definitions
    assert 'data-comparator="92"' in sus.chart
    # the comparison words follow the interval as shown
    assert "lower than" in hf_page._compare(70.0, 90.0) and "higher than" in hf_page._compare(93.0, 99.0)
    assert "not clearly different" in hf_page._compare(85.0, 95.0)
    # everywhere: an estimate is shown only with its lost count shown and a group of 10 or more
    for store in (agg, small):
        for area in [COUNTY, *DISTRICTS]:
            pt = hf_page.sustainment_table(store, FilterState(area, state.period, None), policy)
            shown = pt.numeric[hf_page.SUSTAINED].notna()
            assert not (shown & pt.mask[hf_page.LOST]).any()
            assert not (shown & (pt.numeric[hf_page.TENANCIES] < 10)).any()
            assert (pt.mask[hf_page.SUSTAINED] == pt.mask[hf_page.LOWER]).all()


# --------------------------------------------------------------------------------------------
# Pathways
# --------------------------------------------------------------------------------------------


def test_pathway_aggregate_reconciles_with_the_measure(county):
    from workbench.measures import pathways as pw

    agg, src = county
    moves = pw.moves(src)
    table = agg["pathway_moves"]
    assert int(table["n"].sum()) == len(moves.dropna(subset=["district"]))
    got = table.groupby(["from_state", "to_state"])["n"].sum()
    want = moves.groupby(["from_state", "to_state"]).size()
    assert got.sort_index().equals(want.sort_index().astype(got.dtype))
    # no move stays in the same state, and a first record is never a move-in
    assert not (table["from_state"] == table["to_state"]).any()
    assert not ((table["from_state"] == pw.FIRST) & (table["to_state"] == pw.SETTLED)).any()


def test_pathways_move_rules_on_a_hand_made_history():
    """One person: street, street again (not a move), supported stay, settled home, a hostel stay
    10 days later (part of the move), then 40 days later a street contact (a return)."""
    from workbench.measures import pathways as pw

    d = pd.Timestamp
    frames = {
        "outreach_contacts": pd.DataFrame({
            "person_id": ["p1"] * 3, "district": ["oxford_city"] * 3,
            "contact_date": [d("2024-01-05"), d("2024-01-20"), d("2024-07-20")], "verified_bedded_down": [True] * 3}),
        "supported_accommodation": pd.DataFrame({
            "person_id": ["p1", "p1"], "district": ["oxford_city", "cherwell"], "model": ["hostel", "hostel"],
            "start_date": [d("2024-02-01"), d("2024-06-10")], "end_date": [d("2024-05-30"), d("2024-06-12")]}),
        "settled_tenancies": pd.DataFrame({
            "person_id": ["p1"], "district": ["cherwell"], "tenure": ["social_rented"], "start_date": [d("2024-06-01")]}),
    }
    src = SourceTables.from_frames(d("2024-12-31"), frames, deduplicate=False)
    m = pw.moves(src)
    assert list(zip(m["from_state"], m["to_state"], strict=True)) == [
        (pw.FIRST, pw.STREET), (pw.STREET, pw.SUPPORTED), (pw.SUPPORTED, pw.SETTLED), (pw.SETTLED, pw.STREET)]
    assert list(m["district"]) == ["oxford_city", "oxford_city", "cherwell", "oxford_city"]


@pytest.mark.parametrize("method", ["cell_key", "suppression"])
def test_pathways_map_draws_only_shown_flows(small, county, policy, method):
    from workbench.dashboards.pages import pathways as pw_page

    policy = dataclasses.replace(policy, method=method)
    checked_hidden = 0
    for agg in (small, county[0]):
        qs = agg.quarters()
        for area in [COUNTY, *DISTRICTS]:
            state = FilterState(area, Period(qs[-4].start, agg.last_month), None)
            pt = pw_page.pathways_table(agg, state, policy)
            panel = next(iter(pw_page.pathways_panels(agg, state, policy)))
            for f in pw_page.FROM_LABELS:
                for t in pw_page.TO_LABELS:
                    drawn = f'data-flow="{f}|{t}"' in panel.chart
                    value = protection.cell(pt, f, t)
                    assert drawn == bool(value), (area, f, t, value)
                    checked_hidden += int(pt.mask.loc[f, t])
            # a hidden flow is never alone in its row or column (it would follow from the totals)
            inner = pt.mask.loc[pw_page.FROM_LABELS, pw_page.TO_LABELS]
            assert not (inner.sum(axis=1) == 1).any() and not (inner.sum(axis=0) == 1).any()
    if method == "suppression":
        assert checked_hidden > 0  # the rule about hidden flows was exercised


def test_new_pages_figures_are_traced_for_the_site_audit(county, policy):
    """Every count the new pages show is traced to the aggregates' rows (so the site-wide audit
    and linked protection can treat them), and the rows add up to the figure."""
    from workbench.dashboards.site_audit import audit_site, shown_tables, site_states

    agg, _ = county
    qs = agg.quarters()
    states = list(site_states(agg, periods=[Period(qs[-4].start, agg.last_month)],
                              pages=["by_name_list", "housing_first", "pathways"]))
    shown = shown_tables(agg, states, policy)
    result = audit_site(shown, policy, agg, states=len(states))
    assert result.untraced == 0 and result.mismatched == 0 and result.shown_counts > 100
