"""The pages on what the partnership monitors (joins, equality, data quality, duties): their
aggregates reconcile with the system performance measures on the synthetic county, and the pages
show what the measures compute, protected."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from workbench import definitions
from workbench.dashboards import filters, pages
from workbench.dashboards.aggregates import COUNTY, Aggregates, Period, load_aggregates
from workbench.dashboards.protection import disclosure_policy, true_counts
from workbench.definitions import DISTRICTS
from workbench.measures import data_quality, duty_outcomes, equality, joins
from workbench.measures.sources import SourceTables
from workbench.reporting.audit import find_disclosure_risks
from workbench.store import Store


@pytest.fixture(scope="module")
def agg(county_data_dir) -> Aggregates:
    return load_aggregates(county_data_dir)


@pytest.fixture(scope="module")
def sources(county_data_dir) -> SourceTables:
    return SourceTables.from_store(Store(county_data_dir))


def last_year(agg: Aggregates) -> Period:
    qs = agg.quarters()
    return Period(qs[-4].start, qs[-1].end)


def period_bounds(period: Period) -> tuple[pd.Timestamp, pd.Timestamp]:
    return period.start, period.end + pd.offsets.MonthEnd(0)


def panels_of(agg, key, area=COUNTY, group=None, period=None):
    spec = pages.PAGE_SPECS[key]
    state = filters.FilterState(area, period or last_year(agg), group or spec.get("default_group"))
    return {p.key: p for p in spec["build"](agg, state, disclosure_policy())}


# --------------------------------------------------------------------------------------------
# Duties closed without an outcome (action 3.3)
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("duty", ["prevention", "relief"])
def test_duties_by_district_reconcile_with_the_measure(agg, sources, duty):
    period = last_year(agg)
    start, end = period_bounds(period)
    rates = duty_outcomes.without_outcome_rates(sources, freq=None, period_start=start, period_end=end)
    rates = rates[rates["duty"] == duty].set_index("district")
    panel = panels_of(agg, "duties", group=duty)["duties-districts"]
    true = true_counts(panel.tables[0].table)
    checked = 0
    for d in DISTRICTS:
        row = definitions.label("district", d)
        if pd.isna(true.loc[row, "Total"]):
            continue
        assert true.loc[row, "Total"] == rates.loc[d, "ended"]
        if not pd.isna(true.loc[row, "Closed without an outcome"]):
            assert true.loc[row, "Closed without an outcome"] == rates.loc[d, "without_outcome"]
            checked += 1
    assert checked >= 3
    assert true.loc["Total", "Total"] == rates.loc[definitions.COUNTY, "ended"]
    # the county share in the headline is the measure's, to within what the perturbation of a few
    # hundred duties can move a whole percent (the share is of the counts shown)
    head = panels_of(agg, "duties", group=duty)["duties-reasons"].headline
    found = re.search(r"(\d+)% closed without an outcome", head)
    assert found and abs(int(found.group(1)) - 100 * rates.loc[definitions.COUNTY, "share"]) <= 1.5, head


def test_duty_drivers_are_the_studys_model(agg, sources):
    expected = duty_outcomes.without_outcome_drivers(sources, "relief")
    panel = panels_of(agg, "duties", group="relief")["duties-drivers"]
    shown = pd.concat([spec.table.numeric for spec in panel.tables])
    assert len(panel.tables) > 3 and len(shown) == len(expected) - 1  # every term but the intercept
    assert np.allclose(shown["Odds ratio (95% interval)"].to_numpy(), expected["odds_ratio"].iloc[1:].round(2).to_numpy())
    assert "went" in panel.headline


def test_duties_page_hides_small_counts_for_every_district(agg):
    policy = disclosure_policy()
    for area in [COUNTY, *DISTRICTS]:
        for panel in panels_of(agg, "duties", area=area, group="relief").values():
            for spec in panel.tables:
                assert find_disclosure_risks(spec.table).empty
                counts = [c for c in spec.table.values.columns if c not in spec.rate_columns]
                vals = pd.to_numeric(spec.table.values[counts].stack(), errors="coerce").dropna()
                assert not ((vals >= 1) & (vals < policy.threshold)).any()


# --------------------------------------------------------------------------------------------
# Equality of outcomes (action 7.1)
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("outcome", ["relief_success", "move_on"])
def test_equality_tables_reconcile_with_the_measure(agg, sources, outcome):
    from workbench.dashboards.pages.equality import LOW, RATIO, YES, group_label

    period = last_year(agg)
    start, end = period_bounds(period)
    expected = equality.equality_outcomes(sources, outcomes=[outcome], period_start=start, period_end=end)
    panels = panels_of(agg, "equality", group=outcome)
    compared = ratios = 0
    for characteristic, exp in expected.groupby("characteristic"):
        pt = panels[f"equality-{characteristic.replace('_', '-')}"].tables[0].table
        true = true_counts(pt)
        for r in exp.itertuples():
            row = group_label(characteristic, r.group)
            if pd.isna(true.loc[row, "Total"]):
                continue
            assert true.loc[row, "Total"] == r.n
            if not pd.isna(true.loc[row, YES]):
                assert true.loc[row, YES] == r.successes
                compared += 1
            # the disparity ratio and its interval are the measure's (to 2 decimals)
            if pt.numeric.loc[row, RATIO] == pt.numeric.loc[row, RATIO] and not np.isnan(r.rr_lower):
                assert pt.numeric.loc[row, RATIO] == pytest.approx(r.risk_ratio, abs=0.006)
                assert pt.numeric.loc[row, LOW] == pytest.approx(r.rr_lower, abs=0.006)
                ratios += 1
    assert compared >= 8 and ratios >= 4


def test_equality_recording_reconciles_with_the_measure(agg, sources):
    period = last_year(agg)
    start, end = period_bounds(period)
    expected = equality.equality_recording(sources, freq=None, period_start=start, period_end=end)
    expected = expected[expected["district"] == definitions.COUNTY]
    pt = panels_of(agg, "equality")["equality-recording"].tables[0].table
    true = true_counts(pt)
    from workbench.dashboards.pages.equality import CHARACTERISTIC_WORDS, SOURCE_WORDS

    checked = 0
    for r in expected.itertuples():
        row = f"{SOURCE_WORDS[r.source]}: {CHARACTERISTIC_WORDS[r.characteristic].lower()}"
        assert true.loc[row, "Total"] == r.records
        if not pd.isna(true.loc[row, "Not recorded"]):
            assert true.loc[row, "Not recorded"] == r.not_recorded
            checked += 1
    assert checked >= 8


# --------------------------------------------------------------------------------------------
# Data quality scorecard
# --------------------------------------------------------------------------------------------


def test_completeness_and_duplicates_reconcile_with_the_scorecard(agg, sources):
    """Over every month, the completeness aggregate gives the scorecard's numerators and
    denominators per source, field and district; duplicates too."""
    card = data_quality.scorecard(sources)
    comp = agg["dq_completeness"]
    checked = 0
    for r in card[card["measure"].str.startswith("completeness:") | (card["measure"] == "duplicates")].itertuples():
        field = r.measure.split(":", 1)[1] if ":" in r.measure else "duplicates"
        rows = comp[(comp["source"] == r.source) & (comp["field"] == field)]
        if r.district != definitions.COUNTY:
            rows = rows[rows["district"] == r.district]
        ok = int(rows.loc[rows["ok"] == 1, "n"].sum())
        total = int(rows["n"].sum())
        assert total == r.denominator, (r.source, field, r.district)
        assert (total - ok if field == "duplicates" else ok) == r.numerator, (r.source, field, r.district)
        checked += 1
    assert checked > 100


def test_data_quality_page_shows_the_scorecard_for_a_district(agg, sources):
    card = data_quality.scorecard(sources)
    panels = panels_of(agg, "data_quality", area="oxford_city", group="statutory_cases")
    stale = true_counts(panels["dq-stale"].tables[0].table)
    exp = card[(card["district"] == "oxford_city") & (card["measure"] == "stale_open:relief_duty")].iloc[0]
    assert stale.loc["Relief duties", "Total"] == exp["denominator"]
    assert stale.loc["Relief duties", "Open too long"] == exp["numerator"]
    refused = panels["dq-timeliness"].tables
    assert "Council homelessness cases" in refused[0].table.values.index
    # the period filter changes completeness (records dated in the period) but not the at-extract panels
    qs = agg.quarters()
    other = panels_of(agg, "data_quality", area="oxford_city", group="statutory_cases", period=Period(qs[0].start, qs[-1].end))
    assert other["dq-stale"].headline == panels["dq-stale"].headline
    assert true_counts(other["dq-completeness"].tables[0].table)["Total"].max() > \
        true_counts(panels["dq-completeness"].tables[0].table)["Total"].max()


# --------------------------------------------------------------------------------------------
# Joins between services (handover times)
# --------------------------------------------------------------------------------------------


def test_handover_aggregate_gives_the_measures_kaplan_meier(agg, sources):
    from workbench.dashboards.pages.joins import km_figures

    period = last_year(agg)
    start, end = period_bounds(period)
    events = joins.handover_events(sources)
    summary = joins.handover_summary(events, freq=None, period_start=start, period_end=end)
    rows = agg.select("handovers", period=period)
    checked = 0
    for r in summary.itertuples():
        mine = rows[rows["handover"] == r.handover]
        if r.district != definitions.COUNTY:
            mine = mine[mine["district"] == r.district]
        km = km_figures(mine, [7, 28])
        assert km["n"] == r.n and km["events"] == r.events, (r.handover, r.district)
        for got, want in ((km["km_median"], r.km_median), (km["within_28"], r.within_28_days)):
            assert (np.isnan(got) and np.isnan(want)) or got == pytest.approx(want), (r.handover, r.district)
        checked += 1
    assert checked >= 30


def test_joins_page_states_only_safe_figures(agg):
    from workbench.dashboards.pages.joins import MEDIAN, within_col

    policy = disclosure_policy()
    panels = panels_of(agg, "joins", group="relief_duty_to_outcome")
    pt = panels["joins-summary"].tables[0].table
    # the duties have many handovers: their medians are shown, and equal the detail panel's headline
    med = pt.numeric.loc["Relief duty to its end", MEDIAN]
    assert med > 0
    assert f"half had waited {med:.0f} days or less" in panels["joins-handover"].headline
    # a share within days is never stated where a band of days up to it is hidden
    for area in [COUNTY, *DISTRICTS]:
        p = panels_of(agg, "joins", area=area)
        bands = p["joins-handover"].tables[0].table
        if bands.mask.loc[["Within 7 days", "8 to 28 days"], "Handovers started"].any():
            assert "within 28 days is hidden" in p["joins-handover"].headline or "No " in p["joins-handover"].headline
            summary = p["joins-summary"].tables[0].table
            assert summary.mask.loc["Hospital discharge to accommodation", within_col(28)]
        for panel in p.values():
            for spec in panel.tables:
                assert find_disclosure_risks(spec.table).empty
                counts = [c for c in spec.table.values.columns if c not in spec.rate_columns]
                vals = pd.to_numeric(spec.table.values[counts].stack(), errors="coerce").dropna()
                assert not ((vals >= 1) & (vals < policy.threshold)).any()


def test_ratios_and_days_are_shown_as_given_not_as_percentages():
    from workbench.dashboards.pages.district_benchmarking import with_column
    from workbench.dashboards.protection import protect
    from workbench.dashboards.tables import TableSpec, table_html

    policy = disclosure_policy()
    pt = protect(pd.DataFrame({"Yes": [30, 40], "No": [50, 60]}, index=["A", "B"]), policy, row_total=True)
    pt = with_column(pt, "Odds ratio", [0.92, 1.23], [0.92, 1.23])
    html = table_html(TableSpec(pt, "c", "s", rate_columns=("Odds ratio",), plain_columns=("Odds ratio",)), "k", "f")
    assert ">0.92<" in html and ">1.23<" in html and "1%" not in html
    # without plain_columns a rate column is a percentage, as before
    assert ">1%<" in table_html(TableSpec(pt, "c", "s", rate_columns=("Odds ratio",)), "k", "f")
