"""Restricted mean survival time against R's ``print.survfit(..., rmean=tau)``.

Hard-coded references: R 4.2.2, survival 3.5-3, ``summary(fit, rmean=tau)$table[c("rmean",
"se(rmean)")]`` (the numbers ``print(fit, rmean=tau)`` shows), printed with 15 significant
digits by ``tests/statistics/data/make_reference.R``.  survRM2's ``rmst2`` uses the same
estimate and standard error.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from lifelines import KaplanMeierFitter
from lifelines.datasets import load_lung
from lifelines.utils import restricted_mean_survival_time
from rcheck import rscript_or_skip  # noqa: E402
from scipy import stats

from workbench.statistics.kaplan_meier import KaplanMeier, KaplanMeierGroups
from workbench.statistics.rmst import RestrictedMeanSurvival, restricted_mean, rmst_difference

DATA = Path(__file__).parent / "data"


def close(actual, expected, rtol=1e-6, atol=1e-12):
    np.testing.assert_allclose(np.asarray(actual, float), np.asarray(expected, float),
                               rtol=rtol, atol=atol, equal_nan=True)


@pytest.fixture(scope="module")
def aml() -> pd.DataFrame:
    return pd.read_csv(DATA / "aml.csv")


@pytest.fixture(scope="module")
def lung() -> pd.DataFrame:
    return load_lung()


def test_aml_rmean(aml):
    # R: print(survfit(Surv(time, status) ~ 1, data=aml), rmean=40)   (and rmean=200,
    #    beyond the last time 161: the curve is extended flat)
    km = KaplanMeier().fit(aml, "time", "status")
    close(restricted_mean(km, 40), [25.2394755003451, 2.6984025410624])
    close(restricted_mean(km, 200), [39.5942028985507, 12.5844983463600])
    r = RestrictedMeanSurvival(tau=40).fit(aml, "time", "status")
    close([r.rmst_, r.standard_error_], [25.2394755003451, 2.6984025410624])
    z = stats.norm.ppf(0.975)
    close(r.confidence_interval_, [25.2394755003451 - z * 2.6984025410624,
                                 25.2394755003451 + z * 2.6984025410624])
    assert list(r.summary.columns) == ["tau", "rmst", "se", "0.95 lower", "0.95 upper"]


def test_rmst_edge_cases(aml):
    km = KaplanMeier().fit(aml, "time", "status")
    # before the first time the curve is 1: RMST(tau) = tau with no uncertainty
    close(restricted_mean(km, 3), [3.0, 0.0])
    with pytest.raises(ValueError):
        restricted_mean(km, -1)


def test_lung_by_sex_and_difference(lung):
    # R: print(survfit(Surv(time, status) ~ sex, data=lung), rmean=365)
    groups = KaplanMeierGroups().fit(lung, "time", "status", "sex")
    close(restricted_mean(groups[1], 365), [241.4950851920570, 10.3582264910969])
    close(restricted_mean(groups[2], 365), [297.4654095320368, 10.7913239788001])
    diff = rmst_difference(groups[2], groups[1], tau=365)
    d = 297.4654095320368 - 241.4950851920570
    se = np.hypot(10.3582264910969, 10.7913239788001)
    z = stats.norm.ppf(0.975)
    close([diff.difference, diff.se, diff.lower, diff.upper],
          [d, se, d - z * se, d + z * se])
    close(diff.p_value, 2 * stats.norm.sf(d / se))
    assert diff.p_value < 0.001  # women live longer in the first year
    ratio = 297.4654095320368 / 241.4950851920570
    se_log = np.hypot(10.3582264910969 / 241.4950851920570, 10.7913239788001 / 297.4654095320368)
    close([diff.ratio, diff.ratio_lower, diff.ratio_upper],
          [ratio, ratio * np.exp(-z * se_log), ratio * np.exp(z * se_log)])
    assert diff.summary.shape == (2, 5)


def test_weighted_rmean(lung):
    # R: lung2 <- lung[!is.na(lung$ph.karno),]
    #    print(survfit(Surv(time, status) ~ 1, data=lung2, weights=ph.karno/100), rmean=365)
    l2 = lung[lung["ph.karno"].notna()]
    km = KaplanMeier().fit(l2.assign(w=l2["ph.karno"] / 100), "time", "status", weights_col="w")
    close(restricted_mean(km, 365), [268.46971372101399, 8.52886338116082])


@pytest.mark.filterwarnings("ignore::scipy.integrate.IntegrationWarning")
def test_lifelines_rmst_variance_is_not_the_variance_of_the_estimate(lung):
    """lifelines returns Var(min(T, tau)) of one person, not the estimator's variance."""
    tau = 365
    kmf = KaplanMeierFitter().fit(lung.time, lung.status)
    mean_ll, var_ll = restricted_mean_survival_time(kmf, t=tau, return_variance=True)
    km = KaplanMeier().fit(lung, "time", "status")
    mean, se = restricted_mean(km, tau)
    close(mean_ll, mean, rtol=1e-9)  # same point estimate
    # R: summary(survfit(Surv(time, status) ~ 1, data=lung), rmean=365)$table["se(rmean)"]
    close(se, 7.79885908631446)
    assert var_ll > 100 * se**2  # lifelines' "variance" is of a different quantity
    # Doubling the sample (each row twice) halves the variance of the estimate - ours does,
    # lifelines' number does not move.
    t2 = np.concatenate([lung.time, lung.time])
    e2 = np.concatenate([lung.status, lung.status])
    _, se2 = restricted_mean(KaplanMeier().fit(pd.DataFrame({"t": t2, "e": e2}), "t", "e"), tau)
    close(se2**2, se**2 / 2)
    _, var_ll2 = restricted_mean_survival_time(
        KaplanMeierFitter().fit(t2, e2), t=tau, return_variance=True)
    # (lifelines integrates 2 t S(t) numerically with scipy's quad, hence the 1% slack)
    assert abs(var_ll2 / var_ll - 1) < 0.01
    # and lifelines' number is int_0^tau 2 t S(t) dt - RMST^2 (per-person variance)
    grid = np.concatenate([[0.0], km.timeline_[km.timeline_ <= tau], [tau]])
    s = km.predict(grid[:-1])
    s[0] = 1.0
    second_moment = np.sum(s * (grid[1:] ** 2 - grid[:-1] ** 2))
    close(var_ll, second_moment - mean**2, rtol=1e-2)


def test_plot_runs(aml):
    import matplotlib

    matplotlib.use("Agg")
    ax = RestrictedMeanSurvival(tau=40).fit(aml, "time", "status").plot()
    assert "RMST(40)" in ax.get_title()


@pytest.fixture(scope="module")
def rscript() -> str:
    return rscript_or_skip()


R_RMST = r"""
suppressPackageStartupMessages(library(survival))
args <- commandArgs(TRUE); d <- read.csv(args[1])
res <- NULL
for (tau in c(5, 17.5, 40, 500)) {
  tb <- summary(survfit(Surv(time, status) ~ g, data = d), rmean = tau)$table
  tw <- summary(survfit(Surv(entry, time, status) ~ g, data = d, weights = w), rmean = tau)$table
  res <- rbind(res, c(tau, tb[, "rmean"], tb[, "se(rmean)"], tw[, "rmean"], tw[, "se(rmean)"]))
}
write.csv(res, args[2], row.names = FALSE)
"""


@pytest.mark.needs_r
def test_live_r_rmst(rscript, tmp_path):
    rng = np.random.default_rng(31)
    n = 200
    t = np.round(rng.exponential(12, n)) + 1
    d = pd.DataFrame({"time": t, "status": rng.binomial(1, 0.65, n),
                      "entry": np.maximum(0, t - np.round(rng.uniform(0, 20, n)) - 1),
                      "w": np.round(rng.uniform(0.5, 2, n), 2), "g": rng.choice(["a", "b"], n)})
    d.to_csv(tmp_path / "d.csv", index=False)
    (tmp_path / "r.R").write_text(R_RMST)
    subprocess.run([rscript, str(tmp_path / "r.R"), str(tmp_path / "d.csv"),
                    str(tmp_path / "out.csv")], check=True, capture_output=True, timeout=120)
    ref = pd.read_csv(tmp_path / "out.csv").to_numpy()
    plain = KaplanMeierGroups().fit(d, "time", "status", "g")
    entry_w = KaplanMeierGroups().fit(d, "time", "status", "g", entry_col="entry", weights_col="w")
    for row in ref:
        tau = row[0]
        got = [restricted_mean(plain[g], tau)[0] for g in "ab"]
        got += [restricted_mean(plain[g], tau)[1] for g in "ab"]
        got += [restricted_mean(entry_w[g], tau)[0] for g in "ab"]
        got += [restricted_mean(entry_w[g], tau)[1] for g in "ab"]
        close(got, row[1:])
