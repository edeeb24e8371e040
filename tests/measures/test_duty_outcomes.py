"""How statutory duties end: groups and shares by hand, the logistic drivers by hand, county checks."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from workbench.definitions import COUNTY
from workbench.measures.duty_outcomes import (
    duty_outcomes,
    without_outcome_drivers,
    without_outcome_rates,
)
from workbench.measures.sources import SourceTables


def _cases() -> SourceTables:
    reasons = ["secured_6_months_stayed", "contact_lost", "days_56_elapsed", "homeless", "refused_offer"]
    sc = pd.DataFrame({
        "person_id": [f"p{i}" for i in range(6)], "district": ["cherwell"] * 6, "approach_date": ["2021-01-04"] * 6,
        "prevention_duty_start": ["2021-01-05"] * 6,
        "prevention_duty_end": ["2021-02-20"] * 5 + [None],  # the sixth is still open
        "prevention_duty_end_reason": reasons + [None],
        "relief_duty_start": [None, None, None, "2021-02-20", None, None],
        "relief_duty_end": [None, None, None, "2021-04-01", None, None],
        "relief_duty_end_reason": [None, None, None, "withdrew_or_died", None, None],
    })
    return SourceTables.from_frames("2021-06-30", statutory_cases=sc)


def test_outcome_groups_and_shares_by_hand():
    o = duty_outcomes(_cases(), freq=None)
    prev = o[(o["duty"] == "prevention") & (o["district"] == "cherwell")].set_index("end_reason")
    # 5 prevention duties ended (the open one does not count)
    assert (prev["ended"] == 5).all()
    assert prev.loc["secured_6_months_stayed", "outcome_group"] == "accommodation secured"
    assert prev.loc["homeless", "outcome_group"] == "became homeless"
    assert prev.loc["contact_lost", "outcome_group"] == "closed without an outcome"
    assert prev.loc["refused_offer", "outcome_group"] == "other ending"
    w = without_outcome_rates(_cases(), freq=None).set_index(["duty", "district"])
    # prevention: contact lost + 56 days elapsed = 2 of 5; relief: withdrew = 1 of 1
    assert w.loc[("prevention", "cherwell"), ["ended", "without_outcome", "share"]].tolist() == [5, 2, 0.4]
    assert w.loc[("relief", COUNTY), ["ended", "without_outcome"]].tolist() == [1, 1]
    # by quarter: the prevention duties all ended in 2021-Q1, the relief duty in 2021-Q2
    q = without_outcome_rates(_cases(), freq="Q")
    assert q[(q["duty"] == "relief") & (q["district"] == COUNTY)]["period"].tolist() == ["2021-Q2"]


def test_drivers_odds_ratio_by_hand():
    # Oxford: 100 prevention duties, 20 closed without an outcome (odds 20/80 = 0.25);
    # Cherwell: 100, 50 without (odds 1). Odds ratio Cherwell vs Oxford = 1 / 0.25 = 4.
    # Everything else is the same for every case, so the model is intercept + district.
    # Wald SE of log OR = sqrt(1/50 + 1/50 + 1/20 + 1/80) = sqrt(0.1025) = 0.320156;
    # 95% CI = 4 * exp(-+1.959964 * 0.320156) = 4 * exp(-+0.627494) = (2.1357, 7.4916).
    rows = []
    for district, bad in (("oxford_city", 20), ("cherwell", 50)):
        for i in range(100):
            rows.append({"person_id": f"{district}{i}", "district": district, "approach_date": "2021-01-04",
                         "prevention_duty_start": "2021-01-05", "prevention_duty_end": "2021-02-20",
                         "prevention_duty_end_reason": "contact_lost" if i < bad else "secured_6_months_moved",
                         "household_type": "single_male"})
    d = without_outcome_drivers(SourceTables.from_frames("2021-06-30", statutory_cases=pd.DataFrame(rows)), "prevention")
    assert d["term"].tolist() == ["intercept", "district"]
    r = d.iloc[1]
    assert (r["level"], r["reference"]) == ("cherwell", "oxford_city")
    assert r["odds_ratio"] == pytest.approx(4.0, rel=1e-6)
    se = np.sqrt(1 / 50 + 1 / 50 + 1 / 20 + 1 / 80)
    assert r["lower"] == pytest.approx(4 * np.exp(-1.959964 * se), rel=1e-5)
    assert r["upper"] == pytest.approx(4 * np.exp(1.959964 * se), rel=1e-5)
    assert d.iloc[0]["odds_ratio"] == pytest.approx(0.25, rel=1e-6)  # Oxford's odds


def test_county_outlier_district_closes_more_prevention_duties_without_outcome(county_sources, planted):
    # In the synthetic county the failure reasons have fixed shares, so a district with lower
    # prevention success (the planted outlier) closes more duties without an outcome.
    outlier = planted["district_prevention_success"]["outlier_district"]
    d = without_outcome_drivers(county_sources, "prevention")
    row = d[(d["term"] == "district") & (d["level"] == outlier)].iloc[0]
    assert row["lower"] > 1
    o = duty_outcomes(county_sources, freq="Y")
    assert (o.groupby(["duty", "district", "period"])["count"].sum()
            == o.groupby(["duty", "district", "period"])["ended"].first()).all()

