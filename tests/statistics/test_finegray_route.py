"""Fine-Gray by survival's ``finegray()`` plus a weighted Cox model, live against R
(``needs_r``): the expanded data set itself and the ``coxph`` fit on it, for right-censored
data, delayed entry (left truncation), strata and case weights; and how the route relates to
``cmprsk::crr`` (:class:`FineGray`)."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from rcheck import run_r  # noqa: E402

from workbench.statistics.cox import CoxPH, RobustVarianceNote
from workbench.statistics.fine_gray import FineGray
from workbench.statistics.fine_gray_expand import finegray_data

COVS = ["x1", "x2"]


def competing_risks(seed: int, n: int = 240, tied: bool = True) -> pd.DataFrame:
    """Cause 1, cause 2 and censoring; times on a half-unit grid (ties of every kind), a
    delayed entry for 40% of people, three strata and non-integer case weights."""
    rng = np.random.default_rng(seed)
    d = pd.DataFrame({"id": np.arange(n), "x1": rng.normal(size=n), "x2": rng.integers(0, 2, n)})
    t1 = rng.exponential(np.exp(-0.5 * d["x1"] - 0.3 * d["x2"]))
    t2, c = rng.exponential(1.5, n), rng.exponential(2.0, n)
    t = np.minimum.reduce([t1, t2, c])
    d["time"] = np.ceil(t * 20) / 2 if tied else t
    d["status"] = np.where(t == t1, 1, np.where(t == t2, 2, 0))
    late = rng.uniform(size=n) < 0.4
    d["entry"] = np.where(late, np.floor(rng.uniform(size=n) * d["time"] * 2) / 2, 0.0)
    d["entry"] = np.minimum(d["entry"], d["time"] - 0.5).clip(lower=0)
    d["s"] = rng.integers(0, 3, n)
    d["w"] = rng.uniform(0.5, 2.0, n).round(3)
    return d


R_FINEGRAY = """d <- read.csv("{csv}")
out <- function(tag, fg, f) {{
  py(paste0(tag, "_start"), fg$fgstart); py(paste0(tag, "_stop"), fg$fgstop)
  py(paste0(tag, "_status"), fg$fgstatus); py(paste0(tag, "_wt"), fg$fgwt)
  py(paste0(tag, "_id"), fg$id)
  py(paste0(tag, "_fit"), c(coef(f), sqrt(diag(f$var)), sqrt(diag(f$naive.var)), f$loglik))
}}
fg <- finegray(Surv(time, factor(status)) ~ x1 + x2 + id, data=d, etype="1")
out("rc", fg, coxph(Surv(fgstart, fgstop, fgstatus) ~ x1 + x2, weights=fgwt, data=fg))
fg <- finegray(Surv(entry, time, factor(status)) ~ x1 + x2 + id, data=d, id=id, etype="1")
out("lt", fg, coxph(Surv(fgstart, fgstop, fgstatus) ~ x1 + x2 + cluster(id), weights=fgwt,
                    data=fg))
fg <- finegray(Surv(time, factor(status)) ~ x1 + x2 + id + strata(s), data=d, etype="1")
out("st", fg, coxph(Surv(fgstart, fgstop, fgstatus) ~ x1 + x2, weights=fgwt, data=fg,
                    ties="breslow"))
fg <- finegray(Surv(time, factor(status)) ~ x1 + x2 + id, data=d, weights=w, etype="1")
out("wt", fg, coxph(Surv(fgstart, fgstop, fgstatus) ~ x1 + x2, weights=fgwt, data=fg))
"""


def check(fg: pd.DataFrame, fit: CoxPH, r: dict, tag: str) -> None:
    for col in ("start", "stop", "status", "wt"):
        np.testing.assert_allclose(fg[f"fg{col}"], r[f"{tag}_{col}"], rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(fg["id"], r[f"{tag}_id"])
    ours = np.r_[fit.params_, fit.robust_standard_errors_, fit.standard_errors_,
                 fit.log_likelihood_null_, fit.log_likelihood_]
    np.testing.assert_allclose(ours, r[f"{tag}_fit"], rtol=1e-7)


@pytest.mark.needs_r
@pytest.mark.parametrize("seed", [2, 17])
def test_finegray_data_and_weighted_cox_match_r(seed, tmp_path):
    d = competing_risks(seed)
    csv = tmp_path / "cr.csv"
    d.to_csv(csv, index=False, float_format="%.17g")
    r = run_r(R_FINEGRAY.format(csv=csv.as_posix()), tmp_path)

    def cox(fg, **kw):
        return CoxPH(**kw.pop("model", {})).fit(
            fg, "fgstop", "fgstatus", entry_col="fgstart", weights_col="fgwt", covariates=COVS, **kw)

    fg = finegray_data(d, "time", "status")
    with pytest.warns(RobustVarianceNote):  # fractional weights: robust SE, as R
        check(fg, cox(fg), r, "rc")
    fg = finegray_data(d, "time", "status", entry_col="entry", id_col="id")
    assert fg["fgstart"].gt(0).any() and (d["entry"] > d["time"].min()).any()  # delayed entry
    check(fg, cox(fg, cluster_col="id"), r, "lt")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RobustVarianceNote)
        fg = finegray_data(d, "time", "status", strata_col="s")
        check(fg, cox(fg, model={"ties": "breslow"}), r, "st")
        fg = finegray_data(d, "time", "status", weights_col="w")
        check(fg, cox(fg), r, "wt")


def test_strata_with_case_weights_weight_each_row_by_its_own_weight():
    """R's finegray (survival 3.5-3) multiplies the weights of stratum k's rows by
    ``weights[row within stratum]`` - the weights of the first rows of the whole data - when
    strata and weights are combined; here every row carries its own weight, so the result
    is the per-stratum expansion with each person's weight."""
    d = competing_risks(9)
    both = finegray_data(d, "time", "status", strata_col="s", weights_col="w")
    unweighted = finegray_data(d, "time", "status", strata_col="s")
    np.testing.assert_allclose(both["fgwt"], unweighted["fgwt"] * unweighted["w"], rtol=1e-15)


def test_delayed_entry_changes_the_weights_and_splitting_rows_changes_nothing():
    d = competing_risks(5)
    plain = finegray_data(d, "time", "status")
    # Everyone entering at 0 as (start, stop] data is the right-censored case.
    zero = finegray_data(d.assign(entry=0.0), "time", "status", entry_col="entry", id_col="id")
    cols = ["id", "fgstart", "fgstop", "fgstatus", "fgwt"]
    pd.testing.assert_frame_equal(plain[cols], zero[cols])
    late = finegray_data(d, "time", "status", entry_col="entry", id_col="id")
    assert not np.allclose(late.groupby("id")["fgwt"].sum(), plain.groupby("id")["fgwt"].sum())
    with pytest.raises(ValueError, match="subject id"):
        finegray_data(d, "time", "status", entry_col="entry")
    gap = pd.DataFrame({"id": [1, 1, 2], "entry": [0.0, 2, 0], "time": [1.0, 3, 2],
                        "status": [0, 1, 1]})
    with pytest.raises(ValueError, match="gaps"):
        finegray_data(gap, "time", "status", entry_col="entry", id_col="id")
    with pytest.raises(ValueError, match="transition before"):
        finegray_data(gap.assign(entry=[0.0, 1, 0], status=[1, 1, 1]), "time", "status",
                      entry_col="entry", id_col="id")


def test_relation_to_crr():
    """On untied data, Breslow on the expanded data is crr's likelihood: equal coefficients
    once crr iterates to convergence (its default gtol=1e-6 stops ~1e-5 short); with ties
    the two order failures and censorings differently, and Efron (R's default) differs more.
    The sandwich SE is crr's only when the rows are clustered on the person, and then still
    without crr's correction for the estimated censoring weights (measured: 0.2-0.3%)."""
    untied = competing_risks(2, n=400, tied=False)
    crr = FineGray(gtol=1e-12, maxiter=50).fit(untied, "time", "status", covariates=COVS)
    fg = finegray_data(untied, "time", "status")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RobustVarianceNote)
        fit = CoxPH(ties="breslow").fit(fg, "fgstop", "fgstatus", entry_col="fgstart",
                                        weights_col="fgwt", covariates=COVS, cluster_col="id")
    np.testing.assert_allclose(fit.params_, crr.params_, rtol=1e-10)
    np.testing.assert_allclose(fit.robust_standard_errors_, crr.standard_errors_, rtol=0.01)
