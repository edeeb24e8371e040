"""proportional_hazards_test against R survival 3.x ``cox.zph``.

Reference values: R 4.2.2 Patched (2022-11-10 r83330), survival 3.5-3, data from
lifelines' bundled datasets written to CSV and read with ``read.csv`` (see
test_cox.py), printed with ``sprintf("%.17g", cox.zph(fit, transform=...)$table[, col])``.
Rows are the covariates (or formula terms) in model order followed by GLOBAL.

ZPH_ROSSI_*:        fit <- coxph(Surv(week, arrest) ~ fin + age + race + wexp + mar + paro
                                 + prio, data=rossi, robust=TRUE)
                    cox.zph(fit, transform=tr) for tr in "km", "rank", "identity", "log"
ZPH_ROSSI_BRESLOW:  same model with ties="breslow", cox.zph(fit)
ZPH_ROSSI_STRAT_W:  rossi$wt <- 1 + (rossi$age %% 4)/4; rossi$grp <- (seq_len(nrow(rossi)) - 1) %/% 3
                    coxph(Surv(week, arrest) ~ fin + age + prio + strata(wexp) + cluster(grp),
                          data=rossi, weights=wt); cox.zph(fit)
ZPH_LUNG:           coxph(Surv(time, status) ~ age + sex + factor(ph.ecog), data=lung); cox.zph(fit)
                    (the factor is one term with 3 df, as R's terms=TRUE)
ZPH_HEART:          coxph(Surv(start, stop, event) ~ age + year + surgery + transplant
                          + cluster(id), data=heart); cox.zph(fit)      # counting process
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from lifelines import CoxPHFitter
from lifelines.datasets import load_lung, load_rossi, load_stanford_heart_transplants
from lifelines.statistics import proportional_hazard_test as lifelines_ph_test
from rcheck import run_r  # noqa: E402

from workbench.statistics.cox import CoxPH
from workbench.statistics.ph_test import proportional_hazards_test

RTOL = 1e-6
ROSSI_COVS = ["fin", "age", "race", "wexp", "mar", "paro", "prio"]
HEART_COVS = ["age", "year", "surgery", "transplant"]

ZPH_ROSSI_KM_chisq = [
    0.06242975135808522,
    5.9739816534184254,
    2.068265387480523,
    4.2245956334215924,
    1.0110215644357541,
    0.018383299168965285,
    0.52058425030301247,
    17.694415254454967,
]
ZPH_ROSSI_KM_p = [
    0.80269603273104695,
    0.014518462773977885,
    0.15039248813582931,
    0.039842111713265502,
    0.31465822814040451,
    0.89214934396062207,
    0.47059256381721737,
    0.013427506785675091,
]
ZPH_ROSSI_RANK_chisq = [
    1.3838084514070266,
    0.89642146156630054,
    2.2599781512000385,
    4.1596837531656865,
    0.089592141846606382,
    0.021851655688706537,
    1.6408034519444628,
    11.025183407122556,
]
ZPH_ROSSI_RANK_p = [
    0.23945349328343835,
    0.34374306451670922,
    0.13275593399692873,
    0.041397132588242999,
    0.76469630444749082,
    0.88248241370336677,
    0.20021526697137165,
    0.13752429885693943,
]
ZPH_ROSSI_IDENTITY_chisq = [
    0.0089505587512951051,
    6.6159437892942465,
    2.1444262567845369,
    3.8767551246736986,
    1.0313483187116292,
    0.028176598723114579,
    0.42479839630292304,
    18.182687039129284,
]
ZPH_ROSSI_IDENTITY_p = [
    0.92462667766163509,
    0.010106976284963182,
    0.1430885204969756,
    0.048959094870280162,
    0.30984219666198787,
    0.8666943114639577,
    0.5145523969022382,
    0.011172388467271217,
]
ZPH_ROSSI_LOG_chisq = [
    0.13759943325711899,
    8.2314983419423253,
    1.6170849394269216,
    2.0858548410984485,
    1.1259733148419044,
    0.21920281033099107,
    0.013479073201302136,
    17.661570570748157,
]
ZPH_ROSSI_LOG_p = [
    0.71067926004879622,
    0.0041169526809840531,
    0.20349873068539701,
    0.14866897844571239,
    0.28863587072645164,
    0.63964800932014432,
    0.90757375572562538,
    0.013593902159100731,
]
ZPH_ROSSI_BRESLOW_chisq = [
    0.061384636575124045,
    5.9408467283235433,
    2.0553715309304903,
    4.190714629971894,
    1.0050067827340496,
    0.018993177814876468,
    0.51001883905439072,
    17.573278774915902,
]
ZPH_ROSSI_STRAT_W_chisq = [
    0.069965333446114511,
    12.939989609309848,
    0.03571094587705359,
    12.966200740552766,
]
ZPH_ROSSI_STRAT_W_p = [
    0.79138726121745817,
    0.00032163679614007962,
    0.85011366493366192,
    0.0047102713169549539,
]
ZPH_LUNG_chisq = [0.16322458248098037, 2.4064260626901772, 5.6498636294172382, 7.7767313880966817]
ZPH_LUNG_df = [1, 1, 3, 5]
ZPH_HEART_chisq = [
    0.86687471091541091,
    1.7164144292076067,
    0.097395059116153732,
    0.20293438815305984,
    3.4731022988455895,
]


def assert_close(actual, expected, rtol: float = RTOL) -> None:
    np.testing.assert_allclose(
        np.asarray(actual, float), np.asarray(expected, float), rtol=rtol, atol=0
    )


@pytest.fixture(scope="module")
def rossi_fit() -> CoxPH:
    return CoxPH(robust=True).fit(load_rossi(), "week", "arrest", covariates=ROSSI_COVS)


@pytest.mark.parametrize("transform", ["km", "rank", "identity", "log"])
def test_rossi_all_transforms_match_r(rossi_fit, transform):
    tab = proportional_hazards_test(rossi_fit, transform=transform)
    assert list(tab.index) == [*ROSSI_COVS, "GLOBAL"]
    assert list(tab.columns) == ["chisq", "df", "p"]
    assert list(tab["df"]) == [1] * 7 + [7]
    assert_close(tab["chisq"], globals()[f"ZPH_ROSSI_{transform.upper()}_chisq"])
    assert_close(tab["p"], globals()[f"ZPH_ROSSI_{transform.upper()}_p"])


def test_default_transform_is_km(rossi_fit):
    assert_close(proportional_hazards_test(rossi_fit)["chisq"], ZPH_ROSSI_KM_chisq)


def test_rossi_breslow_matches_r():
    fit = CoxPH(ties="breslow").fit(load_rossi(), "week", "arrest", covariates=ROSSI_COVS)
    assert_close(proportional_hazards_test(fit)["chisq"], ZPH_ROSSI_BRESLOW_chisq)


def test_strata_weights_match_r():
    r = load_rossi()
    d = r.assign(wt=1 + (r["age"] % 4) / 4, grp=np.arange(len(r)) // 3)
    fit = CoxPH().fit(
        d,
        "week",
        "arrest",
        covariates=["fin", "age", "prio"],
        weights_col="wt",
        cluster_col="grp",
        strata="wexp",
    )
    tab = proportional_hazards_test(fit)
    assert_close(tab["chisq"], ZPH_ROSSI_STRAT_W_chisq)
    assert_close(tab["p"], ZPH_ROSSI_STRAT_W_p)


def test_factor_term_tested_jointly_like_r():
    fit = CoxPH().fit(load_lung(), "time", "status", formula='age + sex + C(Q("ph.ecog"))')
    tab = proportional_hazards_test(fit)
    assert list(tab.index) == ["age", "sex", 'C(Q("ph.ecog"))', "GLOBAL"]
    assert list(tab["df"]) == [int(v) for v in ZPH_LUNG_df]
    assert_close(tab["chisq"], ZPH_LUNG_chisq)
    # terms=False: one row per column (3 ph.ecog contrasts), GLOBAL unchanged
    per_col = proportional_hazards_test(fit, terms=False)
    assert len(per_col) == 6 and per_col["df"].iloc[:-1].eq(1).all()
    assert per_col.loc["GLOBAL", "chisq"] == pytest.approx(ZPH_LUNG_chisq[-1], rel=RTOL)


def test_counting_process_matches_r():
    fit = CoxPH().fit(
        load_stanford_heart_transplants(),
        "stop",
        "event",
        entry_col="start",
        covariates=HEART_COVS,
        cluster_col="id",
    )
    assert_close(proportional_hazards_test(fit)["chisq"], ZPH_HEART_chisq)


def test_lifelines_uses_the_older_approximation(rossi_fit):
    """lifelines' proportional_hazard_test (pre-2019 cox.zph approximation) differs
    materially from survival 3.x; ours reproduces 3.x (e.g. age: ~11.0 vs R's 5.97)."""
    r = load_rossi()
    ll = CoxPHFitter().fit(r[["week", "arrest", *ROSSI_COVS]], "week", "arrest")
    ll_tab = lifelines_ph_test(ll, r[["week", "arrest", *ROSSI_COVS]], time_transform="km").summary
    ll_age = float(ll_tab.loc["age", "test_statistic"])
    r_age = ZPH_ROSSI_KM_chisq[ROSSI_COVS.index("age")]
    assert abs(ll_age / r_age - 1) > 0.2
    ours = proportional_hazards_test(rossi_fit).loc["age", "chisq"]
    assert ours == pytest.approx(r_age, rel=RTOL)


def test_bad_transform_rejected(rossi_fit):
    with pytest.raises(ValueError, match="transform"):
        proportional_hazards_test(rossi_fit, transform="sqrt")


def test_detects_a_real_violation():
    """Power sanity check: a covariate whose effect reverses over time is flagged."""
    rng = np.random.default_rng(5)
    n = 3000
    x = rng.binomial(1, 0.5, n)
    # hazard ratio 4 before t=1 and 1/4 after: piecewise-exponential simulation
    t1 = rng.exponential(1 / np.where(x == 1, 4.0, 1.0))
    t2 = 1 + rng.exponential(1 / np.where(x == 1, 0.25, 1.0))
    t = np.where(t1 < 1, t1, t2)
    c = rng.uniform(0, 4, n)
    d = pd.DataFrame(
        {
            "time": np.minimum(t, c),
            "event": (t <= c).astype(int),
            "x": x,
            "noise": rng.normal(size=n),
        }
    )
    tab = proportional_hazards_test(CoxPH().fit(d, "time", "event", covariates=["x", "noise"]))
    assert tab.loc["x", "p"] < 1e-6
    assert tab.loc["noise", "p"] > 1e-3


# ------------------------------------------------------------------- live R check
@pytest.mark.needs_r
def test_live_r_zph_delayed_entry_ties_strata_weights(tmp_path):
    rng = np.random.default_rng(77)
    n = 400
    x1 = np.round(rng.normal(size=n), 2)
    x2 = rng.binomial(1, 0.5, n)
    entry = np.where(rng.random(n) < 0.5, rng.integers(0, 3, n), 0).astype(float)
    t = entry + np.ceil(rng.exponential(5 * np.exp(-0.4 * x1 + 0.3 * x2)))
    c = entry + np.ceil(rng.uniform(1, 14, n))
    d = pd.DataFrame(
        {
            "start": entry,
            "stop": np.minimum(t, c),
            "event": (t <= c).astype(int),
            "x1": x1,
            "x2": x2,
            "s": np.arange(n) % 2,
            "w": np.round(rng.uniform(0.5, 2.0, n), 2),
        }
    )
    csv = tmp_path / "zph.csv"
    d.to_csv(csv, index=False)
    script = (
        f'd <- read.csv("{csv.as_posix()}")\n'
        + """
for (tie in c("efron", "breslow")) {
  f <- coxph(Surv(start, stop, event) ~ x1 + x2 + strata(s), data=d, weights=w, ties=tie)
  for (tr in c("km", "rank", "identity", "log"))
    py(paste(tie, tr, sep="_"), cox.zph(f, transform=tr)$table[, "chisq"])
}
"""
    )
    r = run_r(script, tmp_path)
    for tie in ("efron", "breslow"):
        fit = CoxPH(ties=tie).fit(
            d,
            "stop",
            "event",
            entry_col="start",
            covariates=["x1", "x2"],
            weights_col="w",
            strata="s",
        )
        for tr in ("km", "rank", "identity", "log"):
            assert_close(proportional_hazards_test(fit, transform=tr)["chisq"], r[f"{tie}_{tr}"])
