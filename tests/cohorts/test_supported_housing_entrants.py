"""The supported housing study's primary comparison: everyone who entered (issue 17 item 4).

Each stay that began is followed for ``entrants_horizon_days`` (730) from entry: "settled at the
horizon" when a settled tenancy that began after the entry is held then (not ended other than by a
planned move, no return to homelessness, alive); a stay still open then is not yet settled (0,
not missing); a horizon after the extract date is missing. And the clustered standard errors."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

from workbench.cohorts.supported_housing import entrants_cohort
from workbench.statistics.causal import influence_se, naive_difference

T = pd.Timestamp
EXTRACT = dt.date(2025, 1, 1)


def _tables() -> dict[str, pd.DataFrame]:
    people = ["settled", "still_open", "evicted", "planned_move", "too_recent", "returned", "died"]
    start = [T("2020-01-01")] * 4 + [T("2024-06-01"), T("2020-01-01"), T("2020-01-01")]
    stays = pd.DataFrame({
        "episode_id": [f"SA-{i}" for i in range(len(people))], "person_id": people, "model": "congregate_hostel",
        "district": "cherwell", "route_in": "rough_sleeping", "gender": "male", "support_needs": None,
        "start_date": start,
        "end_date": [T("2020-05-20"), pd.NaT, T("2020-02-20"), T("2020-02-20"), pd.NaT, T("2020-02-20"), T("2020-02-20")],
        "service_name": "Hostel",
    })
    with_tenancy = ["settled", "evicted", "planned_move", "returned", "died"]
    tenancies = pd.DataFrame({
        "person_id": with_tenancy, "tenancy_id": [f"TN-{p}" for p in with_tenancy], "district": "cherwell",
        "start_date": [T("2020-06-01"), T("2020-03-01"), T("2020-03-01"), T("2020-03-01"), T("2020-03-01")],
        "end_date": [pd.NaT, T("2021-01-01"), T("2021-01-01"), pd.NaT, pd.NaT],
        "end_reason": [None, "evicted", "planned_move", None, None],
        "tenure": "social_rented", "route_in": "supported_accommodation", "gender": "male", "age_at_start_date": 40,
    })
    cases = pd.DataFrame({"person_id": ["returned"], "approach_date": [T("2021-03-01")],
                          "relief_duty_start": [T("2021-03-01")], "main_duty_decision": [None],
                          "main_duty_decision_date": [pd.NaT], "support_needs": [None]})
    deaths = pd.DataFrame({"person_id": ["died"], "date_of_death": [T("2021-06-01")]})
    return {"supported_accommodation": stays, "settled_tenancies": tenancies, "statutory_cases": cases,
            "deaths": deaths}


def test_everyone_who_entered_has_an_outcome_at_the_horizon():
    out = entrants_cohort(tables=_tables(), extract_date=EXTRACT).set_index("person_id")["settled_at_horizon"]
    assert out["settled"] == 1 and out["planned_move"] == 1  # a planned move keeps them settled
    assert out["still_open"] == 0  # still in the hostel: not yet settled, not missing
    assert out["evicted"] == 0 and out["returned"] == 0 and out["died"] == 0
    assert np.isnan(out["too_recent"])  # two years from entry are not observed yet


def test_clustered_errors_equal_the_cluster_robust_variance_of_a_mean():
    rng = np.random.default_rng(4)
    clusters = rng.integers(0, 80, 300)
    values = rng.normal(size=300) + rng.normal(size=80)[clusters]  # correlated within clusters
    ols = sm.OLS(values, np.ones(300)).fit(cov_type="cluster", cov_kwds={"groups": clusters, "use_correction": False})
    assert influence_se(values, clusters) == pytest.approx(float(ols.bse[0]), rel=1e-10)
    assert influence_se(values, clusters) > influence_se(values) * 1.2  # the clustering matters here


def test_clustered_naive_difference_with_one_row_per_person_is_the_wald_interval():
    rng = np.random.default_rng(5)
    d = pd.DataFrame({"t": rng.integers(0, 2, 400), "y": rng.integers(0, 2, 400).astype(float),
                      "person": np.arange(400)})
    wald = naive_difference(d, "t", "y").iloc[0]
    clustered = naive_difference(d, "t", "y", cluster_col="person").iloc[0]
    assert clustered.rd_se == pytest.approx(wald.rd_se, rel=1e-12)
    d["person"] = d.index // 2  # pairs of rows of one person: the error changes
    assert naive_difference(d, "t", "y", cluster_col="person").iloc[0].rd_se != pytest.approx(wald.rd_se, rel=1e-3)
