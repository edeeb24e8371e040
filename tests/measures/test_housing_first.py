"""Housing First: starts per half-year and Kaplan-Meier sustainment, worked by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from workbench.definitions import COUNTY
from workbench.measures.housing_first import (
    housing_first_starts,
    housing_first_tenancies,
    tenancy_sustainment,
)
from workbench.measures.sources import SourceTables


def _tenancies() -> SourceTables:
    st = pd.DataFrame({
        "person_id": ["T1", "T2", "T3", "T4", "T5"],
        "tenancy_id": ["TN-00001", "TN-00002", "TN-00003", "TN-00004", "TN-00005"],
        "district": ["cherwell"] * 5,
        "tenure": ["housing_first"] * 4 + ["social_rented"],
        "start_date": ["2020-01-01", "2020-01-01", "2020-01-01", "2020-01-01", "2020-08-01"],
        # T1 evicted on day 100, T2 planned move on day 200 (censored), T3 still in (546 days to
        # the extract date), T4 abandoned on day 360. T5 is not Housing First.
        "end_date": ["2020-04-10", "2020-07-19", None, "2020-12-26", None],
        "end_reason": ["eviction_arrears", "planned_move", None, "abandoned", None],
    })
    return SourceTables.from_frames("2021-06-30", settled_tenancies=st)


def test_tenancies_and_starts_by_hand():
    t = housing_first_tenancies(_tenancies()).set_index("person_id")
    assert t["days"].tolist() == [100.0, 200.0, 546.0, 360.0]
    assert t["lost"].tolist() == [1, 0, 0, 1]
    s = housing_first_starts(_tenancies()).set_index(["district", "period"])
    assert s.loc[("cherwell", "2020-H1"), "started"] == 4 and s.loc[(COUNTY, "2020-H1"), "started"] == 4


def test_sustainment_by_hand():
    s = tenancy_sustainment(_tenancies()).set_index(["district", "months"])
    # Kaplan-Meier: day 100, 4 at risk, 1 lost: S = 3/4; day 200 censored; day 360, 2 at risk
    # (T3, T4), 1 lost: S = 3/4 * 1/2 = 0.375.
    assert s.loc[(COUNTY, 6), "sustained"] == pytest.approx(0.75)   # 6 months = 182.6 days
    assert s.loc[(COUNTY, 12), "sustained"] == pytest.approx(0.375)  # 12 months = 365.25 days
    assert np.isnan(s.loc[(COUNTY, 24), "sustained"])  # nobody followed 730.5 days yet (last: 546)
    # Greenwood: var log S(6m) = 1 / (4 * 3); log-scale 95% limits 0.75 * exp(-+1.959964 * 0.288675)
    assert s.loc[(COUNTY, 6), "lower"] == pytest.approx(0.75 * np.exp(-1.959964 * np.sqrt(1 / 12)), rel=1e-6)
    assert s.loc[(COUNTY, 6), "upper"] == 1.0  # capped
    assert s.loc[(COUNTY, 12), "still_followed"] == 1  # only T3 reached 365.25 days
    assert s.loc[(COUNTY, 12), "comparator"] == 0.92


def test_county_sustainment_is_a_probability(county_sources):
    s = tenancy_sustainment(county_sources)
    c = s[s["district"] == COUNTY].set_index("months")
    assert 0 < c.loc[24, "sustained"] <= c.loc[12, "sustained"] <= c.loc[6, "sustained"] <= 1
    assert (c["lower"] <= c["sustained"]).all() and (c["sustained"] <= c["upper"]).all()
