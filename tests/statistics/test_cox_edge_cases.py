"""Cox-model edge cases of issue 17, each checked live against R's survival (``needs_r``):
nearly equal times (R's ``timefix``), a covariate constant within every stratum (R's NA),
robust errors for non-integer weights, the monotone-likelihood warning; and the errors
that must name their cause (one event in ``cox.zph``, string covariates)."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from rcheck import run_r  # noqa: E402

from workbench.statistics.cox import CoxPH, InfiniteCoefficientWarning, RobustVarianceNote
from workbench.statistics.fine_gray import FineGray
from workbench.statistics.ph_test import proportional_hazards_test
from workbench.statistics.recurrent import fit_pwp_gap_time, fit_pwp_total_time

RTOL = 1e-6
NA_SAFE = "na <- function(x) { x[is.na(x)] <- NaN; x }\n"


def assert_close(ours, ref, rtol=RTOL):
    np.testing.assert_allclose(np.asarray(ours, dtype=float), np.asarray(ref, dtype=float),
                               rtol=rtol, atol=1e-12)


def tenths_two_ways(seed: int, n: int = 300) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Times recorded to 0.1 year, once as parsed text ("0.3") and once computed as the sum
    of two recorded durations (``0.1 + 0.2``): the same values on paper, but in the computed
    data one value is often held as two different doubles."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    k = np.ceil(rng.exponential(30 * np.exp(-0.5 * x))).clip(2, 60).astype(int)
    j = rng.integers(1, k)  # a first stay of j tenths, then k - j more
    event = (rng.uniform(size=n) < 0.7).astype(int)
    parsed = pd.DataFrame({"time": [float(f"{v / 10:.1f}") for v in k], "event": event, "x": x})
    computed = parsed.assign(time=j * 0.1 + (k - j) * 0.1)
    assert (computed["time"] != parsed["time"]).any()
    assert np.unique(computed["time"]).size > np.unique(parsed["time"]).size
    return computed, parsed


@pytest.mark.needs_r
def test_timefix_same_coefficients_for_times_parsed_two_ways_and_equal_to_r(tmp_path):
    computed, parsed = tenths_two_ways(5)
    fits = [CoxPH().fit(d, "time", "event", covariates=["x"]) for d in (computed, parsed)]
    assert fits[0].params_["x"] == pytest.approx(fits[1].params_["x"], rel=1e-13)
    # Without timefix the two parsings are different data (this is the defect).
    raw = [CoxPH(timefix=False).fit(d, "time", "event", covariates=["x"]) for d in (computed, parsed)]
    assert abs(raw[0].params_["x"] / raw[1].params_["x"] - 1) > 1e-3
    csv = tmp_path / "tenths.csv"
    computed.to_csv(csv, index=False, float_format="%.17g")
    r = run_r(f"""d <- read.csv("{csv.as_posix()}")
f <- coxph(Surv(time, event) ~ x, data=d); py("coef", coef(f)); py("se", sqrt(diag(f$var)))
""", tmp_path)
    assert_close(fits[0].params_, r["coef"])
    assert_close(fits[0].standard_errors_, r["se"])


def recurrences_in_tenths(seed: int, n: int = 150) -> pd.DataFrame:
    """Counting-process recurrences with start/stop in tenths of a year (computed as
    ``k * 0.1``), so ``stop - start`` is often not the double nearest the tenth."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        x = rng.normal()
        k, end = 0, int(rng.integers(20, 60))
        while True:
            step = int(np.ceil(rng.exponential(12 * np.exp(-0.4 * x))))
            if k + step >= end:
                rows.append((i, k * 0.1, end * 0.1, 0, x))
                break
            rows.append((i, k * 0.1, (k + step) * 0.1, 1, x))
            k += step
    d = pd.DataFrame(rows, columns=["id", "start", "stop", "event", "x"])
    d["enum"] = d.groupby("id").cumcount() + 1
    return d


@pytest.mark.needs_r
def test_timefix_in_recurrent_models_matches_r(tmp_path):
    d = recurrences_in_tenths(8)
    gap = d["stop"] - d["start"]
    assert np.unique(gap).size > np.unique(np.round(gap, 1)).size  # near-equal gap times
    csv = tmp_path / "rec.csv"
    d.to_csv(csv, index=False, float_format="%.17g")
    r = run_r(f"""d <- read.csv("{csv.as_posix()}")
f <- coxph(Surv(stop - start, event) ~ x + strata(enum) + cluster(id), data=d)
py("gt", c(coef(f), sqrt(diag(f$var))))
f <- coxph(Surv(start, stop, event) ~ x + strata(enum) + cluster(id), data=d)
py("tt", c(coef(f), sqrt(diag(f$var))))
""", tmp_path)
    gt = fit_pwp_gap_time(d, covariates=["x"])
    assert_close([gt.params_["x"], gt.robust_standard_errors_["x"]], r["gt"])
    tt = fit_pwp_total_time(d, covariates=["x"])
    assert_close([tt.params_["x"], tt.robust_standard_errors_["x"]], r["tt"])
    # The gap times rounded to a tenth first give the same fit: timefix did the merging.
    rounded = fit_pwp_gap_time(d.assign(stop=d["start"] + gap.round(1)), covariates=["x"])
    assert gt.params_["x"] == pytest.approx(rounded.params_["x"], rel=1e-12)


@pytest.mark.needs_r
def test_covariate_constant_within_every_stratum_is_na_as_in_r(tmp_path):
    rng = np.random.default_rng(3)
    n = 240
    s = np.repeat([0, 1, 2], n // 3)
    d = pd.DataFrame({"s": s, "x": rng.normal(size=n), "z": np.array([0.3, -1.0, 2.0])[s]})
    d["time"] = np.ceil(rng.exponential(np.exp(-0.5 * d["x"] - 0.2 * d["z"])) * 20)
    d["event"] = (rng.uniform(size=n) < 0.8).astype(int)
    csv = tmp_path / "strata.csv"
    d.to_csv(csv, index=False, float_format="%.17g")
    r = run_r(NA_SAFE + f"""d <- read.csv("{csv.as_posix()}")
f <- coxph(Surv(time, event) ~ x + z + strata(s), data=d)
py("coef", na(coef(f))); py("se", sqrt(diag(f$var))); py("ll", f$loglik)
""", tmp_path)
    with pytest.warns(UserWarning, match="constant within every stratum.*: z"):
        fit = CoxPH().fit(d, "time", "event", covariates=["x", "z"], strata="s")
    assert np.isnan(r["coef"][1]) and np.isnan(fit.params_["z"])
    assert np.isnan(fit.standard_errors_["z"]) and np.isnan(fit.summary.loc["z", "p"])
    assert_close(fit.params_["x"], r["coef"][0])
    assert_close(fit.standard_errors_["x"], r["se"][0])
    assert_close([fit.log_likelihood_null_, fit.log_likelihood_], r["ll"])
    assert list(proportional_hazards_test(fit).index) == ["x", "GLOBAL"]


@pytest.mark.needs_r
def test_non_integer_weights_switch_to_robust_errors_as_r(tmp_path):
    rng = np.random.default_rng(4)
    n = 200
    d = pd.DataFrame({"x": rng.normal(size=n), "w": rng.uniform(0.2, 3.0, n),
                      "wi": rng.integers(1, 4, n)})
    d["time"] = np.ceil(rng.exponential(np.exp(-0.5 * d["x"])) * 30)
    d["event"] = (rng.uniform(size=n) < 0.75).astype(int)
    csv = tmp_path / "w.csv"
    d.to_csv(csv, index=False, float_format="%.17g")
    r = run_r(f"""d <- read.csv("{csv.as_posix()}")
f <- coxph(Surv(time, event) ~ x, data=d, weights=w)
py("frac", c(coef(f), sqrt(diag(f$var)), sqrt(diag(f$naive.var)), f$wald.test))
f <- coxph(Surv(time, event) ~ x, data=d, weights=wi)
py("int", c(coef(f), sqrt(diag(f$var)), is.null(f$naive.var)))
""", tmp_path)
    with pytest.warns(RobustVarianceNote, match="not integers"):
        frac = CoxPH().fit(d, "time", "event", covariates=["x"], weights_col="w")
    assert frac.robust_
    assert_close([frac.params_["x"], frac.robust_standard_errors_["x"],
                  frac.standard_errors_["x"], frac.wald_test_[0]], r["frac"])
    assert frac.summary.loc["x", "robust se"] == frac.robust_standard_errors_["x"]
    with warnings.catch_warnings():
        warnings.simplefilter("error", RobustVarianceNote)
        integer = CoxPH().fit(d, "time", "event", covariates=["x"], weights_col="wi")
        explicit = CoxPH(robust=False).fit(d, "time", "event", covariates=["x"], weights_col="w")
    assert r["int"][2] == 1 and not integer.robust_ and not explicit.robust_
    assert_close([integer.params_["x"], integer.standard_errors_["x"]], r["int"][:2])


@pytest.mark.needs_r
def test_monotone_likelihood_warns_coefficient_may_be_infinite_as_r(tmp_path):
    rng = np.random.default_rng(6)
    n = 80
    d = pd.DataFrame({"x": rng.normal(size=n), "g": np.repeat([0, 1], n // 2)})
    d["time"] = np.ceil(rng.exponential(np.exp(-0.3 * d["x"])) * 20)
    d["event"] = np.where(d["g"] == 1, 1, 0)  # nobody in group 0 has an event
    d["start"] = 0.0
    csv = tmp_path / "mono.csv"
    d.to_csv(csv, index=False, float_format="%.17g")
    r = run_r(f"""d <- read.csv("{csv.as_posix()}")
w <- function(expr) {{ msg <- ""; withCallingHandlers(expr, warning=function(m) {{
  msg <<- conditionMessage(m); invokeRestart("muffleWarning") }}); msg }}
m1 <- w(coxph(Surv(time, event) ~ x + g, data=d))
m2 <- w(coxph(Surv(start, time, event) ~ x + g, data=d))
m3 <- w(coxph(Surv(time, event) ~ x, data=d))
py("flag", c(grepl("variable +2 ; coefficient may be infinite", m1),
             grepl("variable +2 ; beta may be infinite", m2), nchar(m3) == 0))
""", tmp_path)
    assert list(r["flag"]) == [1, 1, 1]
    for kw in ({}, {"entry_col": "start"}):
        with pytest.warns(InfiniteCoefficientWarning, match="variable g; coefficient may be infinite"):
            CoxPH().fit(d, "time", "event", covariates=["x", "g"], **kw)
    with warnings.catch_warnings():
        warnings.simplefilter("error", InfiniteCoefficientWarning)
        CoxPH().fit(d, "time", "event", covariates=["x"])


def test_zph_with_one_event_is_a_clear_error():
    d = pd.DataFrame({"time": [1.0, 2, 3, 4, 5], "event": [0, 1, 0, 0, 0],
                      "x": [0.1, 0.2, -0.2, 0.3, 0.0]})
    fit = CoxPH().fit(d, "time", "event", covariates=["x"])
    with pytest.raises(ValueError, match="at least two events"):
        proportional_hazards_test(fit)


def test_fine_gray_constant_covariate_is_named():
    d = pd.DataFrame({"t": np.arange(1.0, 21), "s": [1, 2, 0, 1] * 5,
                      "x": np.linspace(0, 1, 20), "k": 1.0})
    with pytest.raises(ValueError, match="constant.*: k"):
        FineGray().fit(d, "t", "s", covariates=["x", "k"])


def test_string_covariates_are_named():
    rng = np.random.default_rng(1)
    d = pd.DataFrame({"t": np.arange(1.0, 41), "e": [1, 1, 0] * 13 + [1], "s": [1, 2, 0, 1] * 10,
                      "x": rng.normal(size=40), "team": list(rng.choice(list("abcd"), 40))})
    with pytest.raises(ValueError, match="not numeric: team"):
        CoxPH().fit(d, "t", "e", covariates=["x", "team"])
    with pytest.raises(ValueError, match="not numeric: team"):
        FineGray().fit(d, "t", "s", covariates=["x", "team"])
    # A formula codes the string column as a factor, as R does.
    assert len(CoxPH().fit(d, "t", "e", formula="x + C(team)").params_) == 4
