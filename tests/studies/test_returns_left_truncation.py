"""Move-ins from before the data begin (issue 17, left truncation) do not bias the returns study.

The data begin on ``history_start`` (2018-01-01) but the contract allows tenancies from 2010. A
move-in from 2012 may have returned in 2013 without any record of it, so the study must not count it
as return-free. The store below is the issue's example: 100 move-ins from 2019 of which 30 return on
day 100, plus 100 move-ins from 2012 (some returning in 2019, long after every window). The windowed
rates and the restricted mean on it must equal those on the 2019 move-ins alone.
"""

from __future__ import annotations

import datetime as dt

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from workbench.cohorts.returns import returns_cohort
from workbench.definitions import history_start
from workbench.studies.returns import model_frame, rmst_by, windowed_rates
from workbench.studies.returns import run as run_study

T = pd.Timestamp
EXTRACT = dt.date(2024, 3, 31)
OBSERVED, BEFORE_DATA = 100, 100


def _tables(with_early_move_ins: bool, early_returns: int = 10, second_spells: bool = False) -> dict[str, pd.DataFrame]:
    """Settled move-ins on 2019-01-01 (30 return on day 100) and, optionally, 100 on 2012-01-01.

    ``second_spells``: the 30 who returned move in again on 2020-01-01 and 10 of them return on day 60.
    """
    n = OBSERVED + (BEFORE_DATA if with_early_move_ins else 0)
    ids = [f"P{i:03d}" for i in range(n)]
    start = [T("2019-01-01")] * OBSERVED + [T("2012-01-01")] * (n - OBSERVED)
    tenure = ["housing_first" if i % 2 else "social_rented" for i in range(n)]
    returners = [i for i in range(OBSERVED) if i % 2 == 0][:20] + [i for i in range(OBSERVED) if i % 2][:10]
    if second_spells:
        ids, start, tenure = (ids + [ids[i] for i in returners], start + [T("2020-01-01")] * len(returners),
                              tenure + [tenure[i] for i in returners])
    tenancies = pd.DataFrame({
        "person_id": ids, "tenancy_id": [f"TN-{i:03d}" for i in range(len(ids))], "district": "cherwell",
        "start_date": start,
        # Half Housing First in both parts, so the RMST comparison has two arms with and without the early part.
        "tenure": tenure,
        "route_in": "rough_sleeping", "gender": "male", "age_at_start_date": 40,
        "end_date": pd.NaT, "end_reason": None,
    })
    # Returns of the observed move-ins: 30 on day 100 (20 in the social-rented arm, 10 in Housing First),
    # 20 more spread over days 200-680 so the restricted means differ from a single step.
    later = list(range(60, 80))
    dates = [T("2019-01-01") + pd.Timedelta(days=100)] * len(returners)
    dates += [T("2019-01-01") + pd.Timedelta(days=200 + 24 * k) for k in range(len(later))]
    people = [ids[i] for i in returners + later]
    if with_early_move_ins:  # some early move-ins are next seen homeless in 2019, years after every window
        people += ids[OBSERVED:OBSERVED + early_returns]
        dates += [T("2019-06-01")] * early_returns
    if second_spells:
        people += [ids[i] for i in returners[::3]]
        dates += [T("2020-03-01")] * len(returners[::3])
    cases = pd.DataFrame({"person_id": people, "approach_date": dates, "relief_duty_start": dates,
                          "main_duty_decision": None, "main_duty_decision_date": pd.NaT, "support_needs": None})
    return {"settled_tenancies": tenancies, "statutory_cases": cases}


def run(cohort: pd.DataFrame, extract_date: dt.date):
    """The whole study, without keeping its figures open."""
    result = run_study(cohort=cohort, extract_date=extract_date)
    plt.close("all")
    return result


def _frame(with_early_move_ins: bool, **options) -> pd.DataFrame:
    cohort = returns_cohort(tables=_tables(with_early_move_ins, **options), extract_date=EXTRACT)
    return model_frame(cohort)


@pytest.fixture(scope="module")
def truncated() -> pd.DataFrame:
    return _frame(with_early_move_ins=True)


@pytest.fixture(scope="module")
def observed_only() -> pd.DataFrame:
    return _frame(with_early_move_ins=False)


def test_the_store_holds_move_ins_from_before_the_data_begin(truncated):
    early = truncated["move_in_date"] < T(history_start())
    assert early.sum() == BEFORE_DATA and (truncated.loc[early, "entry_days"] > 730).all()


def test_windowed_rates_leave_out_move_ins_from_before_the_data_begin(truncated, observed_only):
    with_early = windowed_rates(truncated, EXTRACT).set_index("window")
    # The example: 30 returns in days 0-180 of 100 observed move-ins is 0.30, not 30 / 200.
    assert with_early.loc["0-180 days", "rate"] == pytest.approx(0.30)
    assert with_early.loc["0-180 days", "cohort"] == OBSERVED
    pd.testing.assert_frame_equal(with_early, windowed_rates(observed_only, EXTRACT).set_index("window"))
    assert with_early["basis"].str.contains(f"move-ins from {history_start():%Y-%m-%d}").all()


def test_windowed_rates_by_group_leave_them_out_too(truncated, observed_only):
    pd.testing.assert_frame_equal(windowed_rates(truncated, EXTRACT, by="tenure"),
                                  windowed_rates(observed_only, EXTRACT, by="tenure"))


def _rmst(frame: pd.DataFrame) -> pd.DataFrame:
    arms = frame.assign(group=np.where(frame["housing_first"] == 1, "Housing First", "other settled"))
    return rmst_by(arms, "group", tau_days=730.0).set_index("comparison")


def test_rmst_counts_early_move_ins_at_risk_only_from_when_the_data_begin(truncated, observed_only):
    # Every early move-in enters more than 730 days after moving in, so up to tau = 730 days the
    # delayed-entry Kaplan-Meier curve is that of the observed move-ins alone.
    with_early, alone = _rmst(truncated), _rmst(observed_only)
    pd.testing.assert_frame_equal(with_early, alone)
    # A check that the comparison has something to lose: 20 of 50 return on day 100 in one arm.
    assert alone.loc["other settled", "estimate_days"] < 500 < alone.loc["Housing First", "estimate_days"]


def test_the_study_says_how_it_treats_them_and_gives_the_answer_without_them(truncated, observed_only):
    result = run(cohort=truncated, extract_date=EXTRACT)
    assert any(f.startswith(f"{BEFORE_DATA} of {OBSERVED + BEFORE_DATA} move-ins were before the data begin")
               for f in result.findings)
    pd.testing.assert_frame_equal(result.tables["cumulative_incidence_from_history_start"],
                                  run(cohort=observed_only, extract_date=EXTRACT).tables["cumulative_incidence"])
    # With no move-in before the data begin (the synthetic county) the study's outputs do not change.
    plain = run(cohort=observed_only, extract_date=EXTRACT)
    assert "cumulative_incidence_from_history_start" not in plain.tables
    assert not any("before the data begin" in f for f in plain.findings)


def test_recurrent_returns_count_early_spells_at_risk_only_from_when_the_data_begin():
    # Early spells that enter after every return on the gap-time clock, and never return, add nothing
    # to the partial likelihood when they enter late; at risk from their move-in they would.
    with_early = run(cohort=_frame(True, early_returns=0, second_spells=True), extract_date=EXTRACT)
    alone = run(cohort=_frame(False, second_spells=True), extract_date=EXTRACT)
    for table in ("recurrent_pwp_gap_time", "cox_cause_specific"):
        pd.testing.assert_frame_equal(with_early.tables[table], alone.tables[table])


R_FINEGRAY_DELAYED = """d <- read.csv("{csv}")
fg <- finegray(Surv(entry_days, time_days, factor(status)) ~ housing_first + spell + person, data=d, id=spell,
               etype="1")
f <- coxph(Surv(fgstart, fgstop, fgstatus) ~ housing_first + cluster(person), weights=fgwt, data=fg)
py("fit", c(coef(f), sqrt(diag(f$var))))
py("n", length(unique(fg$spell)))
"""


@pytest.mark.needs_r
def test_fine_gray_keeps_early_move_ins_at_risk_from_when_the_data_begin(truncated, tmp_path):
    """Before, the Fine-Gray model dropped the 100 move-ins from 2012 (``crr`` has no delayed
    entry); now they are in it, at risk from when the data begin, as R's ``finegray()`` with
    ``Surv(entry, time, status)`` and a weighted, person-clustered ``coxph`` fit them."""
    from rcheck import run_r

    result = run(returns_cohort(tables=_tables(True), extract_date=EXTRACT), EXTRACT)
    ours = result.tables["fine_gray"].set_index("covariate").loc["housing_first"]
    d = truncated.assign(spell=np.arange(len(truncated)), person=pd.factorize(truncated["person_id"])[0])
    csv = tmp_path / "frame.csv"
    d[["entry_days", "time_days", "status", "housing_first", "spell", "person"]].to_csv(csv, index=False,
                                                                                       float_format="%.17g")
    r = run_r(R_FINEGRAY_DELAYED.format(csv=csv.as_posix()), tmp_path)
    assert r["n"][0] == OBSERVED + BEFORE_DATA  # every move-in, the early ones included
    np.testing.assert_allclose([ours["coef"], ours["robust se"]], r["fit"], rtol=1e-7)
    # and it is not the fit on the observed move-ins alone that it used to be
    alone = run(returns_cohort(tables=_tables(False), extract_date=EXTRACT), EXTRACT)
    assert alone.tables["fine_gray"].set_index("covariate").loc["housing_first", "coef"] != pytest.approx(ours["coef"])


def test_a_move_in_on_the_extract_date_has_no_time_at_risk_and_is_left_out():
    """With early move-ins the fits take entry times, and a spell whose entry is not before its exit
    stops them (R: "Stop time must be > start time"). A move-in on the extract date itself is never at
    risk: it is left out, and the study runs (the before-data-begin calibration failed on 91 of 200
    counties with one such move-in)."""
    tables = _tables(True)
    t = tables["settled_tenancies"]
    late = t.iloc[[0]].assign(person_id="P-LATE", tenancy_id="TN-LATE", start_date=T(EXTRACT))
    tables["settled_tenancies"] = pd.concat([t, late], ignore_index=True)
    cohort = returns_cohort(tables=tables, extract_date=EXTRACT)
    assert "TN-LATE" not in set(cohort["tenancy_id"])
    assert (cohort["time_days"] > cohort["entry_days"]).all()
    result = run(cohort=model_frame(cohort), extract_date=EXTRACT)
    assert len(result.tables) and len(result.findings)
