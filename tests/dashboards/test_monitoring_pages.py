"""The pages on what the partnership monitors (joins, equality, data quality, duties): their
aggregates reconcile with the system performance measures on the synthetic county, and the pages
show what the measures compute, protected."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from workbench import definitions
from workbench.dashboards import filters, pages
from workbench.dashboards.aggregates import COUNTY, Aggregates, Period, load_aggregates
from workbench.dashboards.protection import disclosure_policy, true_counts
from workbench.definitions import DISTRICTS
from workbench.measures import duty_outcomes, equality
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
    # the county share in the headline is the measure's, to a whole percent
    head = panels_of(agg, "duties", group=duty)["duties-reasons"].headline
    assert f"{100 * rates.loc[definitions.COUNTY, 'share']:.0f}% closed without an outcome" in head


def test_duty_drivers_are_the_studys_model(agg, sources):
    expected = duty_outcomes.without_outcome_drivers(sources, "relief")
    panel = panels_of(agg, "duties", group="relief")["duties-drivers"]
    shown = panel.tables[0].table.numeric
    assert len(shown) == len(expected) - 1  # every term but the intercept
    assert np.allclose(shown["Odds ratio"].to_numpy(), expected["odds_ratio"].iloc[1:].round(2).to_numpy())
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
