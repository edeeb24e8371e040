"""Recurrent-event Cox models against R survival 3.5-3 on the bladder2 data.

``data/bladder2.csv`` is R's ``survival::bladder2`` (Byar's bladder cancer recurrences,
counting-process form, 178 rows), exported with
``write.csv(bladder2, "bladder2.csv", row.names=FALSE)`` from survival 3.5-3.

Reference values: R 4.2.2 Patched (2022-11-10 r83330), survival 3.5-3, printed with
``sprintf("%.17g", x)``; ``_se`` = ``sqrt(diag(fit$naive.var))``, ``_robust_se`` =
``sqrt(diag(fit$var))``, ``_loglik`` = ``fit$loglik``, ``_tests`` =
``c(fit$score, fit$wald.test, fit$rscore)``:

BLADDER_AG:          coxph(Surv(start, stop, event) ~ rx + number + size + cluster(id), data=bladder2)
BLADDER_AG_BRESLOW:  same with ties="breslow"
BLADDER_PWP_TT:      coxph(Surv(start, stop, event) ~ rx + number + size + strata(enum)
                           + cluster(id), data=bladder2)
BLADDER_PWP_GT:      coxph(Surv(stop - start, event) ~ rx + number + size + strata(enum)
                           + cluster(id), data=bladder2)
BLADDER_PWP_TT_MAX3: coxph(Surv(start, stop, event) ~ rx + number + size + strata(pmin(enum, 3))
                           + cluster(id), data=bladder2)
ZPH_BLADDER_AG:      cox.zph(<BLADDER_AG fit>)$table[, "chisq"]
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from rcheck import run_r  # noqa: E402

from workbench.statistics.cox import CoxPH
from workbench.statistics.ph_test import proportional_hazards_test
from workbench.statistics.recurrent import (
    RecurrentEventsCox,
    counting_process_layout,
    fit_andersen_gill,
    fit_pwp_gap_time,
    fit_pwp_total_time,
)

RTOL = 1e-6
DATA = Path(__file__).parent / "data" / "bladder2.csv"
COVS = ["rx", "number", "size"]

BLADDER_AG_coef = [-0.46468695294342766, 0.17496038131939898, -0.043660276089821579]
BLADDER_AG_se = [0.19973218882712904, 0.047074058440440658, 0.069050852511246014]
BLADDER_AG_robust_se = [0.26556081189888692, 0.063040543200655233, 0.077616112681007612]
BLADDER_AG_loglik = [-458.73934959026587, -449.98064200176475]
BLADDER_AG_tests = [19.520711669240129, 11.543562842932854, 11.26665239742969]
BLADDER_PWP_TT_coef = [-0.33348872643408023, 0.11961723797756563, -0.0084946661066111154]
BLADDER_PWP_TT_se = [0.21616791540234132, 0.053337810763461252, 0.072762257756777443]
BLADDER_PWP_TT_robust_se = [0.20478677193594941, 0.051386749760876822, 0.061635208042792475]
BLADDER_PWP_TT_loglik = [-319.24563591557387, -315.9908248718059]
BLADDER_PWP_TT_tests = [6.9134924219923839, 7.2598010179480923, 8.8278331340765703]
BLADDER_PWP_GT_coef = [-0.27900451549707656, 0.15804589995824667, 0.0074150875019948267]
BLADDER_PWP_GT_se = [0.20734772541691623, 0.05194244199905463, 0.070023053423468998]
BLADDER_PWP_GT_robust_se = [0.21562386933840386, 0.050939766547153147, 0.064332508308196701]
BLADDER_PWP_GT_loglik = [-363.63504374269172, -358.96848536926638]
BLADDER_PWP_GT_tests = [10.270357641271668, 11.839271161892427, 9.9235130533998763]
BLADDER_AG_BRESLOW_coef = [-0.45979094871984094, 0.17164405981582359, -0.042562229705224448]
BLADDER_AG_BRESLOW_se = [0.19995961857023686, 0.047328176028986833, 0.069032201037126137]
BLADDER_AG_BRESLOW_robust_se = [0.2580104875341957, 0.06131413926718348, 0.075547553398942952]
BLADDER_AG_BRESLOW_loglik = [-461.62905079736305, -453.24263166741207]
BLADDER_AG_BRESLOW_tests = [18.569764760460885, 11.759058244148353, 11.435903682443897]
BLADDER_PWP_TT_MAX3_coef = [-0.28627615298881326, 0.12852271734553425, 0.00046677601923914307]
BLADDER_PWP_TT_MAX3_robust_se = [0.20630427423702868, 0.050796943424425207, 0.060297042121418939]
ZPH_BLADDER_AG_chisq = [
    0.017939247161360375,
    0.60271218663823278,
    2.031364295598268,
    2.2841803846741939,
]


def assert_close(actual, expected, rtol: float = RTOL) -> None:
    np.testing.assert_allclose(
        np.asarray(actual, float), np.asarray(expected, float), rtol=rtol, atol=0
    )


def check_against_r(fit: CoxPH, tag: str) -> None:
    g = globals()
    assert list(fit.params_.index) == COVS
    assert_close(fit.params_, g[f"{tag}_coef"])
    assert_close(fit.standard_errors_, g[f"{tag}_se"])
    assert_close(fit.robust_standard_errors_, g[f"{tag}_robust_se"])
    assert_close([fit.log_likelihood_null_, fit.log_likelihood_], g[f"{tag}_loglik"])
    score, wald, rscore = g[f"{tag}_tests"]
    assert_close(
        [fit.score_test_[0], fit.wald_test_[0], fit.robust_score_test_[0]], [score, wald, rscore]
    )
    assert fit.n_clusters_ == 85  # clustered on the person


@pytest.fixture(scope="module")
def bladder2() -> pd.DataFrame:
    return pd.read_csv(DATA)


def test_andersen_gill_matches_r(bladder2):
    check_against_r(fit_andersen_gill(bladder2, covariates=COVS), "BLADDER_AG")


def test_andersen_gill_breslow_matches_r(bladder2):
    check_against_r(
        fit_andersen_gill(bladder2, covariates=COVS, ties="breslow"), "BLADDER_AG_BRESLOW"
    )


def test_pwp_total_time_matches_r(bladder2):
    check_against_r(fit_pwp_total_time(bladder2, covariates=COVS), "BLADDER_PWP_TT")


def test_pwp_gap_time_matches_r(bladder2):
    check_against_r(fit_pwp_gap_time(bladder2, covariates=COVS), "BLADDER_PWP_GT")


def test_pwp_pooled_strata_matches_r(bladder2):
    fit = fit_pwp_total_time(bladder2, covariates=COVS, max_stratum=3)
    assert_close(fit.params_, BLADDER_PWP_TT_MAX3_coef)
    assert_close(fit.robust_standard_errors_, BLADDER_PWP_TT_MAX3_robust_se)


def test_covariates_are_required(bladder2):
    # Issue 17: the old default ("every other column") picked up bladder2.csv's row-name
    # column and moved the treatment coefficient from -0.460 to -0.342; naming the
    # covariates is now required (this test used to assert that default).
    with pytest.raises(ValueError, match="name the covariates"):
        fit_andersen_gill(bladder2)
    with pytest.raises(ValueError, match="name the covariates"):
        RecurrentEventsCox("pwp_gap").fit(bladder2)
    with pytest.raises(ValueError, match="name the covariates"):
        CoxPH().fit(bladder2, "stop", "event", entry_col="start")
    assert_close(fit_andersen_gill(bladder2, covariates=COVS).params_, BLADDER_AG_coef)


def test_zph_on_andersen_gill_matches_r(bladder2):
    tab = proportional_hazards_test(fit_andersen_gill(bladder2, covariates=COVS))
    assert_close(tab["chisq"], ZPH_BLADDER_AG_chisq)


@pytest.mark.parametrize(
    ("model", "tag"),
    [("ag", "BLADDER_AG"), ("pwp_total", "BLADDER_PWP_TT"), ("pwp_gap", "BLADDER_PWP_GT")],
)
def test_estimator_front_end(bladder2, model, tag):
    m = RecurrentEventsCox(model).fit(bladder2, covariates=COVS)
    assert_close(m.params_, globals()[f"{tag}_coef"])
    assert_close(m.summary["robust se"], globals()[f"{tag}_robust_se"])
    with pytest.raises(ValueError, match="model"):
        RecurrentEventsCox("wlw")


def test_layout_rebuilds_bladder2_from_person_and_event_tables(bladder2):
    persons = (
        bladder2.groupby("id")
        .agg(
            end=("stop", "max"),
            rx=("rx", "first"),
            number=("number", "first"),
            size=("size", "first"),
        )
        .reset_index()
    )
    events = bladder2.loc[bladder2["event"] == 1, ["id", "stop"]].rename(columns={"stop": "time"})
    lay = counting_process_layout(persons, events)
    cols = ["id", "start", "stop", "event", "enum", *COVS]
    pd.testing.assert_frame_equal(
        lay[cols].astype(float), bladder2[cols].astype(float), check_dtype=False
    )
    assert_close(lay["gap"], bladder2["stop"] - bladder2["start"], rtol=0)


def test_layout_small_example_and_errors():
    persons = pd.DataFrame({"id": [1, 2, 3], "entry": [0, 2, 0], "end": [10, 5, 8], "x": [0, 1, 0]})
    events = pd.DataFrame({"id": [1, 1, 2, 3], "time": [2, 6, 5, 1]})
    lay = counting_process_layout(persons, events, entry_col="entry")
    expected = pd.DataFrame(
        {
            "id": [1, 1, 1, 2, 3, 3],
            "start": [0, 2, 6, 2, 0, 1],
            "stop": [2, 6, 10, 5, 1, 8],
            "event": [1, 1, 0, 1, 1, 0],
            "enum": [1, 2, 3, 1, 1, 2],
            "gap": [2, 4, 4, 3, 1, 7],
            "x": [0, 0, 0, 1, 0, 0],
        }
    )
    pd.testing.assert_frame_equal(lay.astype(float), expected.astype(float))
    with pytest.raises(ValueError, match="follow-up"):
        counting_process_layout(persons, pd.DataFrame({"id": [2], "time": [6]}), entry_col="entry")
    with pytest.raises(ValueError, match="same time"):
        counting_process_layout(persons, pd.DataFrame({"id": [1, 1], "time": [3, 3]}))
    with pytest.raises(ValueError, match="unknown"):
        counting_process_layout(persons, pd.DataFrame({"id": [9], "time": [3]}))


# ------------------------------------------------------------------- live R check
def simulate_recurrent(seed: int, n: int = 150) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Person table (entry, end, covariates) and event table with integer (tied) times."""
    rng = np.random.default_rng(seed)
    x = np.round(rng.normal(size=n), 2)
    trt = rng.binomial(1, 0.5, n)
    frailty = rng.gamma(2.0, 0.5, n)
    entry = rng.integers(0, 3, n).astype(float)
    end = entry + rng.integers(5, 40, n)
    rate = 0.08 * frailty * np.exp(0.4 * x - 0.5 * trt)
    ev_id, ev_t = [], []
    for i in range(n):  # test-data construction only
        t = entry[i]
        while True:
            t = t + max(1.0, np.ceil(rng.exponential(1 / rate[i])))
            if t > end[i]:
                break
            ev_id.append(i)
            ev_t.append(t)
    persons = pd.DataFrame({"id": np.arange(n), "entry": entry, "end": end, "x": x, "trt": trt})
    return persons, pd.DataFrame({"id": ev_id, "time": ev_t})


@pytest.mark.needs_r
def test_live_r_ag_and_pwp_on_simulated_recurrences(tmp_path):
    persons, events = simulate_recurrent(2718)
    d = counting_process_layout(persons, events, entry_col="entry")
    assert d["enum"].max() >= 4 and d.duplicated("stop").any()
    csv = tmp_path / "rec.csv"
    d.to_csv(csv, index=False)
    script = (
        f'd <- read.csv("{csv.as_posix()}")\n'
        + """
fits <- list(
  ag = coxph(Surv(start, stop, event) ~ x + trt + cluster(id), data=d),
  tt = coxph(Surv(start, stop, event) ~ x + trt + strata(enum) + cluster(id), data=d),
  gt = coxph(Surv(stop - start, event) ~ x + trt + strata(enum) + cluster(id), data=d))
for (nm in names(fits)) {
  f <- fits[[nm]]
  py(paste0(nm, "_coef"), coef(f)); py(paste0(nm, "_se"), sqrt(diag(f$naive.var)))
  py(paste0(nm, "_rse"), sqrt(diag(f$var))); py(paste0(nm, "_ll"), f$loglik)
}
"""
    )
    r = run_r(script, tmp_path)
    ours = {
        "ag": fit_andersen_gill(d, covariates=["x", "trt"]),
        "tt": fit_pwp_total_time(d, covariates=["x", "trt"]),
        "gt": fit_pwp_gap_time(d, covariates=["x", "trt"]),
    }
    for nm, fit in ours.items():
        assert_close(fit.params_, r[f"{nm}_coef"])
        assert_close(fit.standard_errors_, r[f"{nm}_se"])
        assert_close(fit.robust_standard_errors_, r[f"{nm}_rse"])
        assert_close([fit.log_likelihood_null_, fit.log_likelihood_], r[f"{nm}_ll"])
