"""Issue 17: why are the supported housing study's subgroup effects named too often under the null?

Two steps:

``build``: for each seed of a scenario, generate the county and ingest it with the true linkage as
the calibration harness does (:func:`workbench.synthetic.calibration.run_replicate`'s steps, reused),
then build the movers-only analysed stays exactly as ``supported_housing.run`` does (leavers cohort,
outcome observed, ``compared_stays``) and cache them, with the county's truth table, as parquet under
``--cache`` (default /work/exp/subgroups, outside git). One county per seed, one process.

``analyse``: on the cache only, for every subgroup of ``definitions.yaml``: mean and SD over counties
of z = (estimate - true effect) / SE (bias against spread), coverage of the true effect (zero in the
null scenarios; the calibration harness's truth otherwise) and the rate of "any subgroup named
(Holm)", for: the study's procedure before issue 17's fix (nuisance models fitted on everyone,
normal reference; reproduced here, it matches the harness's rows), the same with a t reference
(Satterthwaite degrees of freedom), a stacked estimating-equation sandwich with the propensity
and outcome logistic fits, a person-clustered bootstrap of the whole procedure, cross-fitting
(all nuisance models, or the outcome models only), ``subgroup_effects`` as it now is, and an oracle
with the truth's propensity and outcome probabilities. ``--redraw R`` also redraws placement and
outcome R times per county from the truth (no effect, independent stays) on the counties' own
stays: what the procedures do when the data are exactly the model they assume.
Results of the issue 17 run: benchmarks/results/diagnose_subgroup_errors.md.

    python benchmarks/diagnose_subgroup_errors.py build --scenario null_supported_housing --seeds 3000 3099
    python benchmarks/diagnose_subgroup_errors.py analyse --scenario null_supported_housing --bootstrap 200 --redraw 25
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

CACHE = Path("/work/exp/subgroups")
#: The subgroups present in every county (the calibration's "large subgroups").
LARGE = ("men", "women", "history_rough_sleeping", "mental_health", "aged_45_plus")


def build_one(scenario_name: str, seed: int, scale: float, cache: Path) -> None:
    """Generate, ingest (true linkage) and cache one county's analysed movers and its truth."""
    from workbench.cohorts.supported_housing import cohort_inputs, leavers_cohort
    from workbench.studies.supported_housing import OUTCOME, compared_stays
    from workbench.synthetic.calibration import build_county

    out = cache / scenario_name / f"{seed}.parquet"
    if out.exists():
        return
    folder = Path(tempfile.mkdtemp(prefix=f"diag17-{seed}-"))
    try:
        county = folder / "county"
        store = build_county(folder, scenario_name, seed, scale)  # as the calibration harness builds it
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            tables, extract_date = cohort_inputs(store, None, None)
            cohort = leavers_cohort(tables=tables, extract_date=extract_date)
        analysed = compared_stays(cohort[cohort[OUTCOME].notna()]).copy()
        keep = [c for c in analysed.columns if c not in ("support_needs",)]
        out.parent.mkdir(parents=True, exist_ok=True)
        analysed[keep].to_parquet(out)
        truth = pd.read_csv(county / "truth" / "supported_housing_cohort.csv")
        truth.to_parquet(cache / scenario_name / f"{seed}.truth.parquet")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def build(args: argparse.Namespace) -> None:
    from workbench.synthetic.calibration import _single_threaded_worker

    _single_threaded_worker()
    for seed in range(args.seeds[0], args.seeds[1] + 1):
        t0 = time.perf_counter()
        build_one(args.scenario, seed, args.scale, args.cache)
        print(f"{args.scenario} {seed}: {time.perf_counter() - t0:.1f} s", flush=True)


# ------------------------------------------------------------------------------------- analysis
def _logit_fit(X: np.ndarray, y: np.ndarray, max_iter: int = 50) -> np.ndarray:
    """Maximum-likelihood logistic coefficients by Newton-Raphson (pseudo-inverse steps, so a
    rank-deficient or separated design still returns finite, capped coefficients)."""
    b = np.zeros(X.shape[1])
    for _ in range(max_iter):
        p = 1 / (1 + np.exp(-np.clip(X @ b, -30, 30)))
        step = np.linalg.pinv(X.T @ (X * (p * (1 - p))[:, None])) @ (X.T @ (y - p))
        b = b + step
        if np.max(np.abs(step)) < 1e-10:
            break
    return b


def _expit(x: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-np.clip(x, -30, 30)))


def _phi_parts(X, t, y, clip=1e-3):
    """Fits the three nuisance models and returns phi with what the sandwich needs."""
    g = _logit_fit(X, t)
    b1 = _logit_fit(X[t == 1], y[t == 1])
    b0 = _logit_fit(X[t == 0], y[t == 0])
    e_raw = _expit(X @ g)
    e = np.clip(e_raw, clip, 1 - clip)
    m1, m0 = _expit(X @ b1), _expit(X @ b0)
    phi = m1 + t * (y - m1) / e - m0 - (1 - t) * (y - m0) / (1 - e)
    return phi, e, e_raw, m1, m0


def _crossfit_phi(X, t, y, fold, propensity=True, clip=1e-3):
    """phi with the per-arm outcome models (and, with ``propensity``, the propensity model too)
    fitted on the other folds; otherwise the propensity is fitted on everyone."""
    e, m1, m0 = _expit(X @ _logit_fit(X, t)), np.empty(len(y)), np.empty(len(y))
    for k in np.unique(fold):
        rest, held = fold != k, fold == k
        if propensity:
            e[held] = _expit(X[held] @ _logit_fit(X[rest], t[rest]))
        m1[held] = _expit(X[held] @ _logit_fit(X[rest & (t == 1)], y[rest & (t == 1)]))
        m0[held] = _expit(X[held] @ _logit_fit(X[rest & (t == 0)], y[rest & (t == 0)]))
    e = np.clip(e, clip, 1 - clip)
    return m1 + t * (y - m1) / e - m0 - (1 - t) * (y - m0) / (1 - e)


def sandwich_influence(X, t, y, inside, clip=1e-3):
    """Influence values of a subgroup mean of phi from the stacked estimating equations (propensity
    score, per-arm outcome scores, subgroup mean): phi's own term minus the nuisance fits' score
    contributions. Returns (tau, influence values over all rows, scaled so var = sum_c(sum IF)^2/n^2)."""
    phi, e, e_raw, m1, m0 = _phi_parts(X, t, y, clip)
    n = len(y)
    s = inside.astype(float)
    ps = s.mean()
    tau = phi[inside].mean()
    inner = (e_raw > clip) & (e_raw < 1 - clip)  # clipped scores do not move with gamma
    dphi_g = (-(t * (y - m1) * (1 - e) / e) - (1 - t) * (y - m0) * e / (1 - e)) * inner
    dphi_b1 = (1 - t / e) * m1 * (1 - m1)
    dphi_b0 = -(1 - (1 - t) / (1 - e)) * m0 * (1 - m0)
    corr = np.zeros(n)
    for d, w, score in ((dphi_g, e_raw * (1 - e_raw), X * (t - e_raw)[:, None]),
                        (dphi_b1, t * m1 * (1 - m1), X * (t * (y - m1))[:, None]),
                        (dphi_b0, (1 - t) * m0 * (1 - m0), X * ((1 - t) * (y - m0))[:, None])):
        a_te = (X * (s * d)[:, None]).mean(axis=0)           # mean of S dphi/deta
        a_ee = -(X.T @ (X * w[:, None])) / n                   # mean of dU_eta/deta
        corr -= score @ (np.linalg.pinv(a_ee) @ a_te)          # - A_te A_ee^-1 U_eta
    infl = (s * (phi - tau) + corr) / ps
    return tau, infl, phi


def _satterthwaite_df(values: np.ndarray, clusters: np.ndarray) -> float:
    """Effective degrees of freedom of the cluster-robust variance of a mean: (sum a_c)^2 / sum a_c^2
    with a_c the squared centred cluster sums (a few heavily weighted stays leave few)."""
    a = pd.Series(values - values.mean()).groupby(clusters).sum().to_numpy() ** 2
    return float(a.sum() ** 2 / np.sum(a ** 2))


def _cluster_se(infl, clusters):
    n = len(infl)
    summed = pd.Series(infl).groupby(clusters).sum().to_numpy()
    return float(np.sqrt(np.sum(summed ** 2)) / n)


def county_results(d: pd.DataFrame, n_boot: int, rng: np.random.Generator) -> list[dict]:
    """Every subgroup's estimate and standard errors in one county: the study's procedure before
    issue 17's fix (nuisance models fitted on everyone; reproduced here, it matches the harness's
    rows), the stacked sandwich, a person-clustered bootstrap of that whole procedure, K-fold
    cross-fitting (K = 5, 10), ``subgroup_effects`` as it now is, and the oracle (true nuisances)."""
    from workbench.cohorts.supported_housing import CONFOUNDERS
    from workbench.definitions import definitions
    from workbench.statistics.causal import (
        _full_rank_columns,
        cluster_folds,
        influence_se,
        subgroup_effects,
    )
    from workbench.studies.supported_housing import OUTCOME, TREATMENT

    cfg = definitions()["supported_housing"]
    spec = cfg["subgroups"]
    covs = [c for c, _ in CONFOUNDERS if d[c].nunique() > 1]
    masks = {name: d.eval(s["condition"]) for name, s in spec.items()}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        now = subgroup_effects(d, TREATMENT, OUTCOME, covs, masks, cluster_col="person_id",
                               min_per_arm=int(cfg["subgroup_min_per_arm"])).set_index("subgroup")
    dd = d[[TREATMENT, OUTCOME, *covs, "person_id"]].dropna()
    X = np.column_stack([np.ones(len(dd)), dd[covs].to_numpy(float)])
    X = X[:, _full_rank_columns(X)]
    t, y = dd[TREATMENT].to_numpy(float), dd[OUTCOME].to_numpy(float)
    persons = dd["person_id"].to_numpy()
    m = {k: v.reindex(dd.index).fillna(False).to_numpy(bool) for k, v in masks.items()}
    estimated = [k for k in spec if (~m[k]).sum() >= 20
                 and min(t[m[k]].sum(), (1 - t[m[k]]).sum()) >= int(cfg["subgroup_min_per_arm"])]
    phi_in = _phi_parts(X, t, y)[0]
    fold5, fold10 = cluster_folds(persons, 5, 0), cluster_folds(persons, 10, 0)
    phis = {"current": phi_in, "crossfit5": _crossfit_phi(X, t, y, fold5), "crossfit10": _crossfit_phi(X, t, y, fold10),
            "crossfit10_outcome": _crossfit_phi(X, t, y, fold10, propensity=False)}
    # person-clustered bootstrap of the whole in-sample procedure (all three fits redone)
    boot = {k: [] for k in estimated}
    if n_boot:
        ids, inv = np.unique(persons, return_inverse=True)
        rows_of = [np.flatnonzero(inv == i) for i in range(len(ids))]
        for _ in range(n_boot):
            pick = np.concatenate([rows_of[i] for i in rng.integers(0, len(ids), len(ids))])
            tb = t[pick]
            if tb.min() == tb.max():
                continue
            phi_b = _phi_parts(X[pick], tb, y[pick])[0]
            for k in boot:
                ins = m[k][pick]
                boot[k].append(phi_b[ins].mean() if ins.any() else np.nan)
    # oracle phi: the true propensity and potential-outcome probabilities (nothing estimated), on
    # the stays whose move-on tenancy is in the truth's table (nearly all)
    oracle = None
    if "true_propensity" in d:
        e0 = d.loc[dd.index, "true_propensity"].to_numpy(float)
        q1 = d.loc[dd.index, "p_kept_congregate"].to_numpy(float)
        q0 = d.loc[dd.index, "p_kept_other"].to_numpy(float)
        oracle = q1 + t * (y - q1) / e0 - q0 - (1 - t) * (y - q0) / (1 - e0)
    out = []
    for k in estimated:
        tau, infl, _ = sandwich_influence(X, t, y, m[k])
        ins = m[k]
        row = {"subgroup": k, "n": int(ins.sum()), "estimate": phi_in[ins].mean(),
               "se_current": influence_se(phi_in[ins], persons[ins]), "se_sandwich": _cluster_se(infl, persons),
               "check": tau - phi_in[ins].mean(),
               "se_boot": float(np.nanstd(boot[k], ddof=1)) if n_boot else np.nan,
               "now_estimate": now.loc[k, "risk_difference"], "se_now": now.loc[k, "se"],
               "now_lower": now.loc[k, "lower"], "now_upper": now.loc[k, "upper"],
               "now_p_holm": now.loc[k, "effect_p_holm"]}
        for v, phi_v in phis.items():
            row[f"{v}_estimate"] = phi_v[ins].mean()
            row[f"se_{v}"] = influence_se(phi_v[ins], persons[ins])
            row[f"df_{v}"] = _satterthwaite_df(phi_v[ins], persons[ins])
        if oracle is not None:
            ok = m[k] & ~np.isnan(oracle)
            row["oracle_estimate"] = oracle[ok].mean()
            row["oracle_se"] = _cluster_se(np.where(ok, oracle - oracle[ok].mean(), 0) / ok.mean(), persons)
            row["df_oracle"] = _satterthwaite_df(oracle[ok], persons[ok])
        out.append(row)
    return out


def redraw_results(d: pd.DataFrame, reps: int, rng: np.random.Generator, min_per_arm: int = 10) -> list[dict]:
    """The procedures on the county's own stays, people and subgroups, with placement and outcome
    drawn afresh, independently per stay, from the truth's propensity and (null) outcome
    probability: how they behave when the data are exactly the model they assume (no selection, no
    dependence between stays, no misrecording can act here)."""
    from workbench.cohorts.supported_housing import CONFOUNDERS
    from workbench.definitions import definitions
    from workbench.statistics.causal import _full_rank_columns, cluster_folds, influence_se

    spec = definitions()["supported_housing"]["subgroups"]
    d = d[d["true_propensity"].notna()]
    covs = [c for c, _ in CONFOUNDERS if d[c].nunique() > 1]
    X = np.column_stack([np.ones(len(d)), d[covs].to_numpy(float)])
    X = X[:, _full_rank_columns(X)]
    persons = d["person_id"].to_numpy()
    fold = cluster_folds(persons, 10, 0)
    masks = {name: d.eval(s["condition"]).to_numpy(bool) for name, s in spec.items()}
    out = []
    for rep in range(reps):
        t = (rng.random(len(d)) < d["true_propensity"].to_numpy(float)).astype(float)
        y = (rng.random(len(d)) < d["p_kept_other"].to_numpy(float)).astype(float)
        phis = {"current": _phi_parts(X, t, y)[0], "crossfit10": _crossfit_phi(X, t, y, fold),
                "crossfit10_outcome": _crossfit_phi(X, t, y, fold, propensity=False)}
        for name, inside in masks.items():
            if (~inside).sum() < 20 or min(t[inside].sum(), (1 - t[inside]).sum()) < min_per_arm:
                continue
            row = {"rep": rep, "subgroup": name, "n": int(inside.sum()), "true": 0.0, "check": 0.0}
            for v, phi in phis.items():
                key = "estimate" if v == "current" else f"{v}_estimate"
                row[key] = phi[inside].mean()
                row[f"se_{v}"] = influence_se(phi[inside], persons[inside])
                row[f"df_{v}"] = _satterthwaite_df(phi[inside], persons[inside])
            out.append(row)
    return out


def _attach_truth(d: pd.DataFrame, truth: pd.DataFrame) -> pd.DataFrame:
    """The truth's propensity and potential-outcome probabilities, by the move-on tenancy."""
    t = truth.drop_duplicates("tenancy_id").set_index("tenancy_id")
    d = d.copy()
    d["true_propensity"] = d["tenancy_id"].map(t["propensity"])
    for c in ("p_kept_congregate", "p_kept_other"):
        d[c] = d["tenancy_id"].map(t[c])
    return d


def _true_subgroup_effects(truth: pd.DataFrame) -> dict[str, float]:
    """Each subgroup's true effect as the calibration harness takes it (``_supported_housing``: the
    mean of p_kept_congregate - p_kept_other over the truth's eligible members)."""
    from workbench.definitions import definitions

    el = truth[truth["eligible"] == 1].rename(columns={"age_years": "age"})
    diff = el["p_kept_congregate"] - el["p_kept_other"]
    return {name: float(diff[el.eval(s["condition"])].mean())
            for name, s in definitions()["supported_housing"]["subgroups"].items()}


def analyse(args: argparse.Namespace) -> None:
    from workbench.statistics.multiplicity import holm

    rng = np.random.default_rng(17)
    rows = []
    folder = args.cache / args.scenario
    for seed in range(args.seeds[0], args.seeds[1] + 1):
        f = folder / f"{seed}.parquet"
        if not f.exists():
            continue
        d = pd.read_parquet(f)
        truth = pd.read_parquet(folder / f"{seed}.truth.parquet")
        d = _attach_truth(d, truth)
        true = _true_subgroup_effects(truth)
        for r in county_results(d, args.bootstrap if seed < args.seeds[0] + args.boot_counties else 0, rng):
            rows.append({"seed": seed, "true": true[r["subgroup"]], **r})
    res = pd.DataFrame(rows)
    res.to_parquet(args.cache / f"results_{args.scenario}_{args.seeds[0]}-{args.seeds[1]}.parquet")
    report(res, args.scenario, holm)
    report_now(res)
    if args.redraw:
        rows = []
        for seed in sorted(res.seed.unique())[:args.redraw_counties]:
            d = _attach_truth(pd.read_parquet(folder / f"{seed}.parquet"),
                              pd.read_parquet(folder / f"{seed}.truth.parquet"))
            rows += [{"seed": seed * 1000 + r.pop("rep"), **r} for r in redraw_results(d, args.redraw, rng)]
        red = pd.DataFrame(rows)
        red.to_parquet(args.cache / f"redraws_{args.scenario}_{args.seeds[0]}-{args.seeds[1]}.parquet")
        report(red, f"{args.scenario}, placement and outcome redrawn from the truth ({args.redraw} per county)", holm)


def report_now(res: pd.DataFrame) -> None:
    """``subgroup_effects`` as it now is, from its own intervals and Holm-adjusted p-values."""
    if "now_p_holm" not in res:
        return
    named = res.groupby("seed")["now_p_holm"].min() < 0.05
    res = res.assign(cover=(res["now_lower"] <= res["true"]) & (res["true"] <= res["now_upper"]))
    big = res[res.subgroup.isin(LARGE)]
    print(f"-- subgroup_effects now (its own intervals and p-values): any subgroup named (Holm) "
          f"{int(named.sum())}/{len(named)}; large subgroups' intervals hold the true effect "
          f"{int(big.cover.sum())}/{len(big)} = {big.cover.mean():.1%}")
    print(res.groupby("subgroup").agg(counties=("cover", "size"), cover=("cover", "mean"),
                                      named=("now_p_holm", lambda p: float((p < 0.05).mean()))).round(3).to_string())


def report(res: pd.DataFrame, scenario: str, holm) -> None:
    print(f"== {scenario}: {res.seed.nunique()} counties; max |sandwich tau - current| {res.check.abs().max():.1e}")
    print("   (se_current: the study before issue 17's fix; now_estimate / se_now: subgroup_effects as it is now)")
    variants = [("estimate", "se_current", None), ("estimate", "se_current", "df_current"),
                ("estimate", "se_sandwich", None), ("estimate", "se_boot", None),
                ("crossfit5_estimate", "se_crossfit5", None), ("crossfit10_estimate", "se_crossfit10", None),
                ("crossfit10_estimate", "se_crossfit10", "df_crossfit10"),
                ("crossfit10_outcome_estimate", "se_crossfit10_outcome", None),
                ("crossfit10_outcome_estimate", "se_crossfit10_outcome", "df_crossfit10_outcome"),
                ("now_estimate", "se_now", None), ("oracle_estimate", "oracle_se", None),
                ("oracle_estimate", "oracle_se", "df_oracle")]
    for est, se, df in variants:
        if se not in res or res[se].isna().all():
            continue
        r = res[res[se].notna()].copy()
        r["z"] = (r[est] - r["true"]) / r[se]  # against the true effect (zero in the null scenarios)
        r["z0"] = r[est] / r[se]
        r["se_ratio"] = r[se] / r["se_current"]
        # p-values from the normal, or from t with the Satterthwaite degrees of freedom less one
        def p_value(z, r=r, df=df):
            return 2 * (stats.norm.sf(z.abs()) if df is None else stats.t.sf(z.abs(), np.maximum(r[df] - 1, 1)))

        r["cover"] = p_value(r["z"]) >= 0.05  # the interval holds the true effect
        r["p"] = p_value(r["z0"])  # the study's test of no effect
        r["p_holm"] = r.groupby("seed")["p"].transform(lambda p: holm(p.to_numpy()))
        named = r.groupby("seed")["p_holm"].min() < 0.05
        print(f"-- {est} / {se}{'' if df is None else ', t(' + df + ' - 1)'}: any subgroup named (Holm) {int(named.sum())}/{len(named)}")
        r["named"] = r["p_holm"] < 0.05
        t = r.groupby("subgroup").agg(counties=("z", "size"), n=("n", "mean"), true=("true", "mean"),
                                      named=("named", "mean"), mean_z=("z", "mean"),
                                      sd_z=("z", "std"), cover=("cover", "mean"),
                                      se_ratio=("se_ratio", "median"))
        big = r[r.subgroup.isin(LARGE)]
        print(f"   large subgroups: coverage {int(big.cover.sum())}/{len(big)} = {big.cover.mean():.1%}, "
              f"mean z {big.z.mean():+.3f}, SD z {big.z.std():.3f}")
        print(t.round(3).to_string())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    b = sub.add_parser("build")
    b.add_argument("--scenario", required=True)
    b.add_argument("--seeds", type=int, nargs=2, default=[3000, 3099])
    b.add_argument("--scale", type=float, default=0.2)
    b.add_argument("--cache", type=Path, default=CACHE)
    a = sub.add_parser("analyse")
    a.add_argument("--scenario", required=True)
    a.add_argument("--seeds", type=int, nargs=2, default=[3000, 3099])
    a.add_argument("--bootstrap", type=int, default=0, help="Bootstrap replicates per county (0: none).")
    a.add_argument("--boot-counties", type=int, default=100, help="Bootstrap only the first this many counties.")
    a.add_argument("--redraw", type=int, default=0, help="Redrawn placements and outcomes per county (0: none).")
    a.add_argument("--redraw-counties", type=int, default=40, help="Redraw in the first this many counties.")
    a.add_argument("--cache", type=Path, default=CACHE)
    args = parser.parse_args()
    {"build": build, "analyse": analyse}[args.command](args)


if __name__ == "__main__":
    main()
