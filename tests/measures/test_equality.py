"""Equality: risk ratios worked by hand, recording gaps, and the planted disparity."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from workbench.definitions import COUNTY
from workbench.measures.equality import (
    NOT_RECORDED,
    equality_outcomes,
    equality_recording,
    risk_ratio,
)
from workbench.measures.sources import SourceTables


def _cases() -> SourceTables:
    rows = []
    # White: 20 prevention duties, 10 secured. Black: 10, 2 secured. Ethnicity blank: 5, 1 secured.
    for eth, n, k in (("white", 20, 10), ("black", 10, 2), (None, 5, 1)):
        for i in range(n):
            rows.append({"person_id": f"{eth}{i}", "district": "oxford_city", "ethnicity": eth, "gender": "male",
                         "approach_date": "2021-01-04", "prevention_duty_start": "2021-01-05",
                         "prevention_duty_end": "2021-02-20",
                         "prevention_duty_end_reason": "secured_6_months_moved" if i < k else "homeless"})
    return SourceTables.from_frames("2021-06-30", statutory_cases=pd.DataFrame(rows))


def test_risk_ratio_by_hand():
    # (2/10) / (10/20) = 0.4; SE(log RR) = sqrt(1/2 - 1/10 + 1/10 - 1/20) = sqrt(0.45) = 0.670820;
    # 95% CI = 0.4 * exp(-+1.959964 * 0.670820) = 0.4 * exp(-+1.314782) = (0.10741, 1.48958)
    rr, lo, hi = risk_ratio(2, 10, 10, 20)
    assert rr == pytest.approx(0.4)
    assert lo == pytest.approx(0.4 * np.exp(-1.959964 * np.sqrt(0.45)), rel=1e-6)
    assert hi == pytest.approx(1.48958, abs=1e-4)
    assert np.isnan(risk_ratio(0, 10, 10, 20)[1])  # an empty cell has no log interval


def test_equality_outcomes_by_hand():
    e = equality_outcomes(_cases(), outcomes=["prevention_success"])
    eth = e[e["characteristic"] == "ethnicity"].set_index("group")
    assert eth.loc["black", ["n", "successes", "risk_ratio"]].tolist() == [10, 2, pytest.approx(0.4)]
    assert eth.loc["white", "risk_ratio"] == 1.0 and eth.loc["white", "reference_group"] == "white"
    # the blank ethnicities are their own group: 1/5 = 0.2, RR 0.4 against White
    assert eth.loc[NOT_RECORDED, ["n", "risk_ratio"]].tolist() == [5, pytest.approx(0.4)]
    rec = equality_recording(_cases(), freq=None)
    r = rec[(rec["characteristic"] == "ethnicity") & (rec["district"] == COUNTY)].iloc[0]
    assert (r["records"], r["not_recorded"]) == (35, 5)
    # nobody's disability or sexual orientation was recorded
    r = rec[(rec["characteristic"] == "sexual_orientation") & (rec["district"] == COUNTY)].iloc[0]
    assert r["share_not_recorded"] == 1.0


def test_planted_disparity_is_found(county_sources, planted):
    p = planted["equality_prevention_success"]
    e = equality_outcomes(county_sources, outcomes=[p["outcome"]])
    row = e[(e["characteristic"] == p["characteristic"]) & (e["group"] == p["group"])].iloc[0]
    assert row["reference_group"] == p["reference_group"]
    if p["risk_ratio"] < 1:
        assert row["rr_upper"] < 1
    else:
        assert row["rr_lower"] > 1
    # and close to the planted size (realised samples vary: within 0.1 on the ratio scale)
    assert abs(row["risk_ratio"] - p["risk_ratio"]) < 0.1
