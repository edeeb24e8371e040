"""The returns study recovers the synthetic county's planted truths (issue 5).

Planted values are read from the generator's ``truth/planted_effects.yaml``; the study sees only
the extracts as ingested (with the true linkage, so linkage error is not confounded with the
estimator; linkage error is measured separately in tests/linkage)."""

from __future__ import annotations

import numpy as np
import pytest
import yaml

from workbench.cohorts.returns import RETURNED
from workbench.reporting import export
from workbench.studies.returns import run


@pytest.fixture(scope="module")
def planted(synthetic_county):
    return yaml.safe_load((synthetic_county / "truth" / "planted_effects.yaml").read_text())["returns_to_homelessness"]


@pytest.fixture(scope="module")
def result(county_store):
    return run(county_store)


@pytest.mark.parametrize("term", ["housing_first", "drug_dependency", "age_per_10_years"])
def test_planted_hazard_ratios_within_95_ci(result, planted, term):
    truth_key = {"age_per_10_years": "age_per_10_years"}.get(term, term)
    true_hr = planted["hazard_ratios"][truth_key]
    est, lo, hi = result.estimates["hazard_ratios"][term]
    assert lo <= true_hr <= hi, f"{term}: planted {true_hr}, estimated {est:.3f} ({lo:.3f}-{hi:.3f})"


def test_planted_12_month_return_share_within_95_ci(result, planted):
    true_12 = planted["cumulative_incidence_of_return"]["12_months"]
    est, lo, hi = result.estimates["cumulative_incidence"][12]
    assert lo <= true_12 <= hi, f"planted {true_12:.4f}, estimated {est:.4f} ({lo:.4f}-{hi:.4f})"


def test_outputs_are_complete_and_consistent(result):
    t = result.tables
    for name in ["windowed_rates", "cumulative_incidence", "cox_cause_specific", "fine_gray",
                 "proportional_hazards_test", "windowed_rates_by_route_in", "cumulative_incidence_by_district"]:
        assert name in t and len(t[name]), name
    w = t["windowed_rates"].set_index("window")
    # Bands over the same 730-day cohort add up to the 0-730 total.
    bands = w.loc[["0-180 days", "181-365 days", "366-730 days"]]
    assert bands["cohort"].nunique() == 1
    assert np.all((bands["lower"] <= bands["rate"]) & (bands["rate"] <= bands["upper"]))
    # Counts of outcomes reconcile with the cohort.
    e = result.estimates
    assert e["returned"] + e["died"] + e["censored"] == e["move_ins"]
    assert e["returned"] > 0 and e["died"] > 0
    assert "forest_cox" in result.figures and any("12 months" in f for f in result.findings)


def test_competing_risk_estimate_is_below_naive_km(result):
    # 1 - KM with deaths censored overstates the share returning (it treats the dead as if they
    # could still return); Aalen-Johansen must not exceed it.
    km = result.tables["kaplan_meier_death_censored"].set_index("months")
    aj = result.tables["cumulative_incidence"].set_index("months")
    for m in (6, 12, 24):
        assert aj.loc[m, "cumulative_incidence"] <= km.loc[m, "one_minus_km"] + 1e-12


def test_export_writes_tables_figures_and_summary(result, tmp_path):
    folder = export(result, tmp_path / "out", kind="research")
    assert (folder / "windowed_rates.research-only.csv").exists() and (folder / "forest_cox.research-only.png").exists()
    assert (folder / "summary.research-only.md").read_text().count("- ") >= 5
    assert RETURNED == 1


def test_definition_sensitivity_moves_the_way_each_definition_must(result):
    """A longer transfer grace window can only turn returns into transfers, and a narrower definition
    of a return can only count fewer: the 12-month shares are ordered, and the standard row is the
    study's own headline."""
    t = result.tables["definition_sensitivity"].set_index("definition")["cumulative_incidence"]
    assert t["grace window of 0 days"] >= t["standard"] >= t["grace window of 28 days"] >= t["grace window of 90 days"]
    narrow = [d for d in t.index if d.startswith("rough sleeping")]
    assert len(narrow) == 2 and t[narrow].max() <= t["standard"]
    assert t["rough sleeping only"] <= t[narrow].max()
    assert t["standard"] == pytest.approx(result.estimates["cumulative_incidence"][12][0])
    assert any(f.startswith("How much the 12-month share depends on the definition") for f in result.findings)


def test_housing_first_is_also_estimated_by_period(result, planted):
    """The strategy's term is estimated for the first year and after, whatever the check says; on the
    default county its effect does not fade, so both periods' intervals hold the planted ratio."""
    p = result.tables["hazard_ratios_by_period"]
    hf = p[p["term"] == "housing_first"]
    assert list(hf["period"]) == ["first 365 days", "after 365 days"]
    true_hr = planted["hazard_ratios"]["housing_first"]
    assert ((hf["lower"] <= true_hr) & (true_hr <= hf["upper"])).all(), hf
