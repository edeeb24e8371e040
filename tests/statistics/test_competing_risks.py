"""Aalen-Johansen, Gray's test and Fine-Gray against R's survival and cmprsk.

Hard-coded references: R 4.2.2, survival 3.5-3, cmprsk 2.2-11, printed with 15 significant
digits by ``tests/statistics/data/make_reference.R`` (each block quotes the R call).
mgus2 competing risks as in survival's "compete" vignette: ``etime = ifelse(pstat == 0,
futime, ptime)``, ``event = ifelse(pstat == 0, 2 * death, 1)`` (0 censored, 1 plasma-cell
malignancy, 2 death).  ``needs_r`` tests run Rscript live on simulated data with ties.
"""

from __future__ import annotations

import subprocess
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from rcheck import rscript_or_skip  # noqa: E402

from workbench.statistics.aalen_johansen import AalenJohansen
from workbench.statistics.fine_gray import FineGray
from workbench.statistics.grays_test import grays_test

DATA = Path(__file__).parent / "data"
TIMES = [60, 120, 240, 360]


def close(actual, expected, rtol=1e-6, atol=1e-12):
    np.testing.assert_allclose(np.asarray(actual, float), np.asarray(expected, float),
                               rtol=rtol, atol=atol, equal_nan=True)


@pytest.fixture(scope="module")
def mgus2() -> pd.DataFrame:
    d = pd.read_csv(DATA / "mgus2.csv")
    d["etime"] = np.where(d.pstat == 0, d.futime, d.ptime)
    d["event"] = np.where(d.pstat == 0, 2 * d.death, 1)
    return d


@pytest.fixture(scope="module")
def aj_mgus2(mgus2) -> AalenJohansen:
    return AalenJohansen().fit(mgus2, "etime", "event")


def test_aalen_johansen_matches_survfit_multistate(mgus2, aj_mgus2):
    # R: fit <- survfit(Surv(etime, factor(event)) ~ 1, data=mgus2)
    #    summary(fit, times=c(60, 120, 240, 360))   -> pstate, std.err, lower, upper
    aj = aj_mgus2
    assert aj.causes_ == [1, 2]
    at = aj.cif_at(TIMES)
    pcm, death = at[at.cause == 1], at[at.cause == 2]
    close(pcm.cif, [0.0341037129743490, 0.0637221680131129, 0.0998137159354692,
                    0.1340416443260818])
    close(death.cif, [0.320367010267878, 0.531817704080208, 0.724027976142545,
                      0.784208246832411])
    close(pcm["std.err"], [0.00488925790766794, 0.00679684842396064, 0.00978484679338960,
                           0.02012756251332253])
    close(death["std.err"], [0.0125673715475590, 0.0140596451620306, 0.0156063450677616,
                             0.0209334695357081])
    close(pcm.lower, [0.0257495519742656, 0.0517009060759287, 0.0823656279743783,
                      0.0998674943524304])
    close(pcm.upper, [0.0451682902987656, 0.0785385596594393, 0.1209579545966150,
                      0.1799100150669050])
    close(death.lower, [0.296658513169417, 0.504963057458278, 0.694077218430850,
                        0.744234215310646])
    close(death.upper, [0.345970254389314, 0.560100518633508, 0.755271166257559,
                        0.826329348675897])
    # pstate[, "(s0)"] and its std.err: the all-cause Kaplan-Meier
    idx = np.searchsorted(aj.timeline_, TIMES, side="right") - 1
    close(aj.survival_[idx], [0.6455292767577731, 0.4044601279066788, 0.1761583079219856,
                              0.0817501088415078])
    close(aj.survival_std_err_[idx], [0.0128851434719661, 0.0139022743130156,
                                      0.0145404896903170, 0.0223482406970421])
    # fit$cumhaz at the last time (cause-specific Nelson-Aalen)
    close(aj.cumhaz_.iloc[-1], [0.866675708302154, 2.92639019071931])


def test_cuminc_delta_method_variance(aj_mgus2):
    # R: timepoints(cuminc(mgus2$etime, mgus2$event), c(60, 120, 240, 360))
    at = aj_mgus2.cif_at(TIMES)
    pcm, death = at[at.cause == 1], at[at.cause == 2]
    close(pcm.cif, [0.0341037129743490, 0.0637221680131129, 0.0998137159354691,
                    0.1340416443260817])
    close(pcm["var.cuminc"], [2.39202128436906e-05, 4.62325046121334e-05,
                              9.61598846207253e-05, 4.55249272306240e-04])
    close(death["var.cuminc"], [0.000158040533867303, 0.000197836059076558,
                                0.000244882627827112, 0.000463440921727627])
    # the two variances are different estimators (IJ vs delta method), both reported
    assert not np.allclose(pcm["std.err"] ** 2, pcm["var.cuminc"], rtol=1e-3)


def test_cuminc_help_example_timepoints():
    # R (?cuminc example data, set.seed(2)): timepoints(cuminc(ss, cc), c(0.5, 1, 1.5))
    e = pd.read_csv(DATA / "cmprsk_cuminc_example.csv")
    aj = AalenJohansen().fit(e, "ss", "cc")
    at = aj.cif_at([0.5, 1, 1.5])
    c1, c2 = at[at.cause == 1], at[at.cause == 2]
    close(c1.cif, [0.0742201810953956, 0.1927987683801057, 0.2836580555554495])
    close(c1["var.cuminc"], [0.000739065187201394, 0.001818852230833835, 0.002683081785889664])
    close(c2.cif, [0.160429485014081, 0.294881258731520, 0.366753046954744])
    close(c2["var.cuminc"], [0.00146413994223952, 0.00245195692133877, 0.00292250921213826])


def test_delayed_entry_age_scale(mgus2):
    # R: survfit(Surv(age, age + etime/12, factor(event)) ~ 1, data=mgus2, id=id)
    #    summary(fit, times=c(70, 80, 90))
    aj = AalenJohansen().fit(mgus2.assign(exit=mgus2.age + mgus2.etime / 12), "exit", "event", entry_col="age")
    at = aj.cif_at([70, 80, 90])
    pcm, death = at[at.cause == 1], at[at.cause == 2]
    close(pcm.cif, [0.0798390104421488, 0.1022558903103905, 0.1096942653223764])
    close(death.cif, [0.681449926529181, 0.783996502693623, 0.865672443763399])
    close(pcm["std.err"], [0.0319895991564189, 0.0333572758456573, 0.0339148948674374])
    close(death["std.err"], [0.0647975175897137, 0.0472765376453720, 0.0361907084659220])
    close(death.lower, [0.565581425030091, 0.696602439506055, 0.797568259108751])
    close(death.upper, [0.821055964385533, 0.882354814421359, 0.939592030315633])
    assert np.isnan(pcm["var.cuminc"]).all()  # cmprsk has no delayed entry


def test_grays_test_mgus2_sex(mgus2):
    # R: cuminc(mgus2$etime, mgus2$event, mgus2$sex)$Tests
    res = grays_test(mgus2, "etime", "event", "sex")
    close(res.table["stat"], [1.19450782507551, 11.65125901212774])
    close(res.table["pv"], [0.274422156788004190, 0.000641590976407924])
    assert list(res.table["df"]) == [1, 1]


def test_grays_test_help_example_with_strata():
    # R (?cuminc example data): cuminc(ss, cc, gg, strt)$Tests
    e = pd.read_csv(DATA / "cmprsk_cuminc_example.csv")
    res = grays_test(e, "ss", "cc", "gg", strata_col="strt")
    close(res.table["stat"], [1.59885416972742, 3.39054344029172])
    close(res.table["pv"], [0.449586465238040, 0.183549348195547])
    assert list(res.table["df"]) == [2, 2]


def test_fine_gray_mgus2(mgus2):
    # R: crr(etime, event, cov1=cbind(age, female=sex=="F"), failcode=1)
    X = pd.DataFrame({"age": mgus2.age, "female": (mgus2.sex == "F").astype(float)})
    fg = FineGray(failcode=1).fit(mgus2.assign(female=X["female"]), "etime", "event", covariates=list(X))
    close(fg.params_, [-0.0173381534946769, 0.2600382378841357])
    close(fg.standard_errors_, [0.00573710323023719, 0.18568103479216555])
    close(fg.log_likelihood_, -790.121315169541)
    close(fg.log_likelihood_null_, -793.774420402522)
    assert fg.converged_
    s = fg.summary
    close(s["exp(coef)"], np.exp([-0.0173381534946769, 0.2600382378841357]))
    close(s["z"], np.array([-0.0173381534946769, 0.2600382378841357])
          / np.array([0.00573710323023719, 0.18568103479216555]))
    # R: 2 * (1 - pnorm(abs(coef) / se)) and exp(coef -+ qnorm(.975) se) as summary.crr
    close(s["p"], [0.00251019824994003, 0.16137661941550885])
    b, se = fg.params_.to_numpy(), fg.standard_errors_.to_numpy()
    close(s["lower .95"], np.exp(b - 1.959963984540054 * se))
    close(s["upper .95"], np.exp(b + 1.959963984540054 * se))
    stat, df, _ = fg.likelihood_ratio_test_
    close(stat, -2 * (-793.774420402522 + 790.121315169541))  # summary.crr's logtest
    assert df == 2
    # failcode=2 (death as the event of interest)
    fg2 = FineGray(failcode=2).fit(mgus2.assign(female=X["female"]), "etime", "event", covariates=list(X))
    close(fg2.params_, [0.0585844004048022, -0.3707968459032541])
    close(fg2.standard_errors_, [0.00367941920116899, 0.06678946378592840])
    close(fg2.log_likelihood_, -5539.29685582424)
    close(fg2.log_likelihood_null_, -5702.89441278533)


def test_fine_gray_help_example_and_cengroup():
    # R (?crr example data, set.seed(10)): crr(ftime, fstatus, cov)
    e = pd.read_csv(DATA / "cmprsk_crr_example.csv")
    X = e[["x1", "x2", "x3"]]
    fg = FineGray().fit(e, "ftime", "fstatus", covariates=list(X))
    close(fg.params_, [0.2667563080916852, -0.0556843848215524, 0.2804901727500793])
    close(fg.standard_errors_, [0.421146854249661, 0.381237105226096, 0.380984644331182])
    close(fg.log_likelihood_, -320.046034029413)
    # R: crr(ftime, fstatus, cov, failcode=2, cengroup=cov[,1] > 0.5)
    fg2 = FineGray(failcode=2).fit(e.assign(cg=(e.x1 > 0.5).astype(int)), "ftime", "fstatus", covariates=list(X),
                                  cengroup_col="cg")
    close(fg2.params_, [-0.3005436759553440, -0.0341593945647939, -0.5277539223691459])
    close(fg2.standard_errors_, [0.451462318104774, 0.448088979003503, 0.467794744934763])
    pred = fg.predict_cif(X.iloc[:2])
    assert pred.shape == (fg.uftime_.size, 2)
    assert np.all(np.diff(pred.to_numpy(), axis=0) >= 0)


def test_lifelines_aalen_johansen_jitters_ours_is_exact(mgus2, aj_mgus2):
    """lifelines jitters tied times at random: its CIF is not R's and changes with the seed."""
    from lifelines import AalenJohansenFitter

    ref = [0.0341037129743490, 0.0637221680131129, 0.0998137159354692, 0.1340416443260818]

    def lifelines_cif(seed):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ajf = AalenJohansenFitter(seed=seed).fit(mgus2.etime, mgus2.event, event_of_interest=1)
        cif = ajf.cumulative_density_.iloc[:, 0]
        return cif.reindex(cif.index.union(TIMES)).ffill().loc[TIMES].to_numpy()

    a, b = lifelines_cif(1), lifelines_cif(2)
    assert not np.allclose(a, b, rtol=1e-9)  # random: depends on the seed
    assert np.max(np.abs(a - ref)) > 1e-4  # and not R's answer
    # ours: deterministic and equal to R
    again = AalenJohansen().fit(mgus2, "etime", "event").cif_at(TIMES)
    first = aj_mgus2.cif_at(TIMES)
    assert np.array_equal(again.cif.to_numpy(), first.cif.to_numpy())
    close(first[first.cause == 1].cif, ref)


def test_fine_gray_is_fast_at_20k_rows():
    rng = np.random.default_rng(3)
    n = 20_000
    x = rng.normal(size=(n, 3))
    t = np.round(rng.exponential(1, n) * 100) + 1
    ev = rng.choice([0, 1, 2], n, p=[0.3, 0.4, 0.3])
    d = pd.DataFrame(x, columns=["x1", "x2", "x3"]).assign(t=t, ev=ev, cg=rng.integers(0, 2, n))
    start = time.perf_counter()
    fg = FineGray().fit(d, "t", "ev", covariates=["x1", "x2", "x3"], cengroup_col="cg")
    elapsed = time.perf_counter() - start
    assert fg.converged_
    assert elapsed < 10  # ~0.5 s here; crr's O(n^2) Fortran takes minutes at this size


def test_validation_and_summary(mgus2, aj_mgus2):
    with pytest.raises(ValueError):
        AalenJohansen().fit(pd.DataFrame({"t": [1, 2, 3], "e": [0, 0, 0]}), "t", "e")
    with pytest.raises(ValueError):
        FineGray(failcode=3).fit(pd.DataFrame({"t": [1, 2, 3], "e": [0, 1, 2], "x": [1.0, 2.0, 3.0]}), "t", "e",
                                 covariates=["x"])
    s = aj_mgus2.summary
    assert list(s.index) == [1, 2]
    close(s["events"], [mgus2.event.eq(1).sum(), mgus2.event.eq(2).sum()], rtol=0)
    # R: summary(fit, times=0.5) -> survfit0 row: everything 0 before the first time;
    # past the last time R drops the row (NaN here)
    before = aj_mgus2.cif_at([0.5, 1e6])
    close(before.loc[before.time == 0.5, ["cif", "std.err", "lower", "upper"]], np.zeros((2, 4)))
    assert before.loc[before.time == 1e6, "cif"].isna().all()
    tab = aj_mgus2.table(1)
    assert {"time", "n.risk", "cif", "std.err", "lower", "upper", "var.cuminc"} <= set(tab)
    import matplotlib

    matplotlib.use("Agg")
    assert aj_mgus2.plot() is not None


# ----------------------------------------------------------------------------------------
# Live cross-check against R on random data with ties
# ----------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def rscript() -> str:
    return rscript_or_skip()


R_CR = r"""
suppressPackageStartupMessages({library(survival); library(cmprsk)})
args <- commandArgs(TRUE); d <- read.csv(args[1]); od <- args[2]
dump_ms <- function(fit, name) {
  write.csv(data.frame(time = fit$time, n.risk = fit$n.risk[, 1], n.censor = fit$n.censor,
                       p = fit$pstate, se = fit$std.err, lo = fit$lower, up = fit$upper,
                       ch = fit$cumhaz),
            file.path(od, paste0(name, ".csv")), row.names = FALSE)
}
id <- seq_len(nrow(d))
dump_ms(survfit(Surv(time, factor(status)) ~ 1, data = d), "aj")
dump_ms(survfit(Surv(entry, time, factor(status)) ~ 1, data = d, id = id), "aj_entry")
dump_ms(survfit(Surv(entry, time, factor(status)) ~ 1, data = d, id = id, weights = w), "aj_entry_w")
tt <- sort(unique(d$time))
tp <- timepoints(cuminc(d$time, d$status), tt)
write.csv(data.frame(time = tt, est1 = tp$est[1, ], est2 = tp$est[2, ], var1 = tp$var[1, ],
                     var2 = tp$var[2, ]), file.path(od, "cuminc.csv"), row.names = FALSE)
tests <- rbind(cuminc(d$time, d$status, d$g)$Tests,
               cuminc(d$time, d$status, d$g, rho = 1)$Tests,
               cuminc(d$time, d$status, d$g, strata = d$s)$Tests)
write.csv(tests, file.path(od, "gray.csv"), row.names = FALSE)
X <- as.matrix(d[, c("x1", "x2", "x3")])
res <- NULL
for (fc in 1:2) for (cgr in c(FALSE, TRUE)) {
  z <- if (cgr) crr(d$time, d$status, X, failcode = fc, cengroup = d$s) else
       crr(d$time, d$status, X, failcode = fc)
  res <- rbind(res, c(z$coef, sqrt(diag(z$var)), z$loglik, z$converged))
}
write.csv(res, file.path(od, "crr.csv"), row.names = FALSE)
"""


@pytest.mark.needs_r
@pytest.mark.parametrize("seed", [21, 22])
def test_live_r_competing_risks(rscript, tmp_path, seed):
    rng = np.random.default_rng(seed)
    n = 250
    t = np.round(rng.exponential(8, n)) + 1  # heavy ties
    d = pd.DataFrame({
        "time": t, "status": rng.choice([0, 1, 2], n, p=[0.3, 0.4, 0.3]),
        "entry": np.maximum(0, t - np.round(rng.uniform(0, 12, n)) - 1),
        "w": np.round(rng.uniform(0.5, 2, n), 3), "g": rng.choice(["a", "b", "c"], n),
        "s": rng.integers(1, 3, n), "x1": rng.normal(size=n), "x2": rng.binomial(1, 0.5, n),
        "x3": np.round(rng.uniform(0, 10, n), 1),
    })
    d.to_csv(tmp_path / "d.csv", index=False)
    (tmp_path / "cr.R").write_text(R_CR)
    subprocess.run([rscript, str(tmp_path / "cr.R"), str(tmp_path / "d.csv"), str(tmp_path)],
                   check=True, capture_output=True, timeout=120)
    for name, kw in [("aj", {}), ("aj_entry", {"entry_col": "entry"}),
                     ("aj_entry_w", {"entry_col": "entry", "weights_col": "w"})]:
        ref = pd.read_csv(tmp_path / f"{name}.csv")
        aj = AalenJohansen().fit(d, "time", "status", **kw)
        close(aj.timeline_, ref.time, rtol=0)
        close(aj.n_risk_, ref["n.risk"], rtol=0)
        close(aj.n_censor_, ref["n.censor"], rtol=0)
        close(aj.survival_, ref["p.1"], atol=1e-12)
        close(aj.survival_std_err_, ref["se.1"], atol=1e-12)
        for k in (1, 2):
            close(aj.cif_[k], ref[f"p.{k + 1}"])
            close(aj.std_err_[k], ref[f"se.{k + 1}"])
            close(aj.lower_[k], ref[f"lo.{k + 1}"])
            close(aj.upper_[k], ref[f"up.{k + 1}"])
            close(aj.cumhaz_[k], ref[f"ch.1.{k + 1}"])
    cu = pd.read_csv(tmp_path / "cuminc.csv")
    at = AalenJohansen().fit(d, "time", "status").cif_at(cu.time)
    for k in (1, 2):
        close(at[at.cause == k].cif, cu[f"est{k}"])
        close(at[at.cause == k]["var.cuminc"], cu[f"var{k}"])
    gray = pd.read_csv(tmp_path / "gray.csv")
    ours = pd.concat([grays_test(d, "time", "status", "g").table,
                      grays_test(d, "time", "status", "g", rho=1).table,
                      grays_test(d, "time", "status", "g", strata_col="s").table])
    close(ours["stat"], gray["stat"])
    close(ours["pv"], gray["pv"])
    crr = pd.read_csv(tmp_path / "crr.csv").to_numpy()
    row = 0
    X = d[["x1", "x2", "x3"]]
    for fc in (1, 2):
        for cgr in (False, True):
            fg = FineGray(failcode=fc).fit(d, "time", "status", covariates=list(X), cengroup_col="s" if cgr else None)
            close(fg.params_, crr[row, :3])
            close(fg.standard_errors_, crr[row, 3:6])
            close(fg.log_likelihood_, crr[row, 6])
            assert fg.converged_ == bool(crr[row, 7])
            row += 1
