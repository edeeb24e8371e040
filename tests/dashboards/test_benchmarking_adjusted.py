"""The benchmarking page's case-mix-adjusted comparison, on the synthetic county: the aggregates
add up to the county in every quarter, the page opens on the adjusted view with the crude one
beside it, and flags come from the true counts (not the rounded ones shown)."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from workbench.dashboards import filters, panels, protection
from workbench.dashboards.aggregates import (
    CASE_MIX_INDICATORS,
    COUNTY,
    Aggregates,
    Period,
    load_aggregates,
)
from workbench.dashboards.pages.district_benchmarking import (
    FLAG_COL,
    RATIO_COL,
    benchmarking_panels,
)
from workbench.definitions import DISTRICTS, outcome_codes
from workbench.measures.funnel import proportion_funnel, proportion_limits


@pytest.fixture(scope="module")
def agg(county_data_dir) -> Aggregates:
    return load_aggregates(county_data_dir)


@pytest.fixture(scope="module")
def policy():
    return protection.disclosure_policy()


def last_year(agg: Aggregates, measure: str) -> filters.FilterState:
    qs = agg.quarters()
    return filters.FilterState(COUNTY, Period(qs[-4].start, min(qs[-1].end, agg.last_month)), measure)


def test_expected_equals_observed_for_the_county_in_every_quarter(agg):
    t = agg["case_mix_expected"]
    assert set(t["indicator"]) == set(CASE_MIX_INDICATORS.values())
    by_quarter = t.groupby(["indicator", "month"])[["observed", "expected"]].sum()
    assert len(by_quarter) > 20
    assert np.allclose(by_quarter["observed"], by_quarter["expected"], atol=1e-6)
    assert (t["variance"] > 0).all() and (t["variance"] < t["expected"]).all()


def _position(z: float) -> str:
    """Where a district lies, from its standardised difference (O - E) / sqrt(V): the limits
    1 +- z_level sqrt(V) / E of the funnel module, rearranged."""
    for level, words in ((0.998, "99.8%"), (0.95, "95%")):
        if abs(z) > stats.norm.ppf(1 - (1 - level) / 2):
            return f"{'Higher' if z > 0 else 'Lower'}|{words}"
    return "Within"


@pytest.mark.parametrize("measure", list(CASE_MIX_INDICATORS))
def test_adjusted_view_is_the_default_with_crude_beside_it(agg, policy, measure):
    state = last_year(agg, measure)
    (panel,) = benchmarking_panels(agg, state, policy)
    assert panel.headline.startswith("Allowing for case mix") and "Without allowing for case mix" in panel.headline
    assert 'data-chart="benchmark-adjusted"' in panel.chart
    assert [name for name, _ in panel.other_charts] == ["Crude (not adjusted)"]
    assert 'data-chart="benchmark"' in panel.other_charts[0][1]
    html = panels.panel_html(panel, state.key)
    root = ET.fromstring(html.replace("&nbsp;", " "))
    radios = [e for e in root.iter("input") if e.get("type") == "radio"]
    assert [r.get("checked") for r in radios] == ["checked", None]
    adjusted, crude = (spec.table for spec in panel.tables)
    assert RATIO_COL in adjusted.values.columns and FLAG_COL in crude.values.columns
    # flags against the true observed and expected counts of the aggregates
    rows = agg.select("case_mix_expected", period=state.period, indicator=CASE_MIX_INDICATORS[measure])
    g = rows.groupby("district")[["observed", "expected", "variance"]].sum()
    for d, lab in zip(DISTRICTS, adjusted.values.index, strict=False):
        shown = adjusted.values.loc[lab, FLAG_COL]
        if adjusted.mask.loc[lab, RATIO_COL]:
            assert shown == policy.suppressed_marker
            continue
        want = _position(float((g.loc[d, "observed"] - g.loc[d, "expected"]) / np.sqrt(g.loc[d, "variance"])))
        got = "Within" if shown.startswith("Within") else f"{shown.split()[0]}|{shown.split('outside ')[1].split()[0]}"
        assert got == want, (measure, d, shown, want)


def test_relief_flags_the_vale_of_white_horse(agg, policy):
    (panel,) = benchmarking_panels(agg, last_year(agg, "relief"), policy)
    flags = panel.tables[0].table.values[FLAG_COL]
    assert flags["Vale of White Horse"].startswith("Higher")
    assert "Vale of White Horse" in panel.headline


def test_flags_come_from_true_counts_not_the_rounded_ones(agg, policy):
    """Vale: 56 observed against 66.65 expected (variance 30.05) is z = -1.94, inside the 95%
    limits; the rounded count shown, 55, would be z = -2.13, outside them."""
    state = last_year(agg, "prevention")
    month = state.period.start
    big = dict(observed=500.0, denominator=1000, expected=500.0, variance=250.0)
    rows = [dict(indicator="prevention_success", district=d, month=month, **big) for d in DISTRICTS]
    vale = next(i for i, d in enumerate(DISTRICTS) if d == "vale_of_white_horse")
    rows[vale].update(observed=56.0, denominator=122, expected=66.65, variance=30.05)
    tables = {**agg.tables, "case_mix_expected": pd.DataFrame(rows)}
    (panel,) = benchmarking_panels(Aggregates(tables=tables, meta=agg.meta), state, policy)
    adjusted = panel.tables[0].table
    lab = "Vale of White Horse"
    assert adjusted.values.loc[lab, "Accommodation secured"] == 55  # shown rounded
    assert adjusted.values.loc[lab, FLAG_COL] == "Within the expected range"
    assert adjusted.numeric.loc[lab, RATIO_COL] == pytest.approx(55 / 66.65 * 100, abs=0.05)


def test_crude_flags_come_from_true_counts_too(agg, policy):
    """Vale: 48 of 122 (39.3%) is below the 95% limit around the county's 49.7%; the rounded
    figures shown, 50 of 120 (41.7%), are inside it. The flag follows the true counts."""
    state = last_year(agg, "prevention")
    yes, no = outcome_codes("prevention_success")[0], "homeless"
    counts = {d: (500, 500) for d in DISTRICTS}
    counts["vale_of_white_horse"] = (48, 74)
    rows = [dict(district=d, month=state.period.start, duty="prevention", reason=reason, household_type="single_male", n=n)
            for d, (k, other) in counts.items() for reason, n in ((yes, k), (no, other))]
    tables = {**agg.tables, "duty_outcomes": pd.DataFrame(rows)}
    (panel,) = benchmarking_panels(Aggregates(tables=tables, meta=agg.meta), state, policy)
    crude = panel.tables[1].table
    lab = "Vale of White Horse"
    assert crude.values.loc[lab, "Accommodation secured"] == 50 and crude.values.loc[lab, "Total"] == 120
    true = proportion_funnel(list(counts), [k for k, _ in counts.values()], [k + o for k, o in counts.values()])
    assert true.set_index("unit").loc["vale_of_white_horse", "position"] == "below 95% limit"
    lo95 = proportion_limits(true["target"].iloc[0], 120, 0.95)[0]
    assert 50 / 120 > lo95  # the rounded counts alone would not flag it
    # the shown percentage is the true share (48 of 122), rounded only for display
    assert crude.numeric.loc[lab, "Accommodation secured (%)"] == pytest.approx(round(100 * 48 / 122))
    assert crude.values.loc[lab, FLAG_COL] == "Lower (outside 95% limits)"


def test_headlines_quote_no_number_that_is_not_shown(agg, policy):
    """The sentence for a district outside only the 95% limits says "once in twenty" in words:
    the page tests read every number in a headline as a count that must be shown."""
    (panel,) = benchmarking_panels(agg, last_year(agg, "relief"), policy)
    assert "outside the 95% limits" in panel.headline
    assert re.findall(r"\b\d+\b", re.sub(r"\d+(\.\d+)?%|\b\d{4}\b", "", panel.headline)) == []


@pytest.mark.parametrize("measure", ["prevention", "relief"])
def test_adjusted_counts_are_the_crude_tables_figures_shown_the_same_way(agg, policy, measure):
    """The adjusted table's observed counts are the crude table's figures (the model is fitted on the
    same duties), so under the cell key method they carry the same keys and show the same values:
    a second, differently protected copy would let a reader narrow one with the other."""
    assert policy.perturbs
    for period in (last_year(agg, measure).period, Period(agg.quarters()[-2].start, agg.quarters()[-2].end)):
        (panel,) = benchmarking_panels(agg, filters.FilterState(COUNTY, period, measure), policy)
        adjusted, crude = (spec.table for spec in panel.tables)
        counts = ["Accommodation secured", "Other endings", "Total"]
        assert adjusted._audit.perturbed and not adjusted.mask[counts].to_numpy().any()
        pd.testing.assert_frame_equal(adjusted.values[counts], crude.values[counts])
