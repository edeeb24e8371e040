"""Calibration of the studies over replicate counties: bias, RMSE, coverage and false positives.

One replicate = one synthetic county (a seed, a scenario, a scale) generated, ingested and run
through a study; its estimates are set against the county's truth (``truth/``, read here and in
:mod:`workbench.synthetic.evaluation` only). Over R replicates (seeds N, N+1, ...) each estimate
gets its bias, RMSE and the coverage of its 95% interval, and each finding the study would print
its rate, which is a false-positive rate wherever the truth is null (a null scenario, or a term
with no planted effect).

    summary, replicates = calibrate("supported_housing", scenario="null_supported_housing",
                                    replicates=20, seed_start=1, scale=0.25, workers=2)

By default the counties are ingested with the TRUE linkage (``linkage="true"``): this calibrates
the studies' statistics alone. ``linkage="splink"`` (or ``"deterministic"``) ingests them as real
extracts are ingested, from the identifiers with their planted errors, so each estimate's bias and
coverage then include what linkage errors do to it (the linkage itself is calibrated separately,
``workbench linkage-quality`` and ``benchmarks/bench_linkage_review.py``).
"""

from __future__ import annotations

import math
import os
import shutil
import tempfile
import time
import traceback
import warnings
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml
from scipy import stats

from workbench.definitions import definitions, history_start
from workbench.synthetic.generator import generate_county
from workbench.synthetic.scenarios import DEFAULT_SCENARIO, scenario

#: Studies the harness can calibrate (their truths are in the generator's truth folder).
CALIBRATED_STUDIES = ("supported_housing", "returns", "system_performance")
NULL_TOLERANCE = 1e-12
#: How a replicate's extracts are linked: the truth, or one of the workbench's own linkages.
LINKAGES = ("true", "splink", "deterministic")
Z95 = stats.norm.ppf(0.975)


# ------------------------------------------------------------------------------- one replicate
def _row(estimate: str, true: float, est: float, lower: float = math.nan, upper: float = math.nan,
         finding: bool | None = None, kind: str = "estimate", note: str = "") -> dict[str, Any]:
    return {"estimate": estimate, "kind": kind, "true": float(true), "value": float(est), "lower": float(lower),
            "upper": float(upper), "finding": finding, "null": bool(abs(true) < NULL_TOLERANCE) if not math.isnan(true) else False,
            "note": note}


def _supported_housing(result, truth_dir: Path) -> list[dict[str, Any]]:
    """Movers-only effects against the sample effect over the truth's eligible cohort; the primary
    (entrants) comparison against zero when no effect is planted at all (its true value is not
    written by the generator otherwise, so only its false-positive rate is calibrated). Zero is
    right there because, in the generator, nothing after entry depends on the type of service except
    the planted tenancy failure; Housing First, whose tenancy starts on entry, is left out of the
    comparison by the study (definitions ``comparison_excludes_models``)."""
    t = pd.read_csv(truth_dir / "supported_housing_cohort.csv")
    el = t[t["eligible"] == 1].rename(columns={"age_years": "age"})
    diff = el["p_kept_congregate"] - el["p_kept_other"]
    ate = float(diff.mean())
    planted = yaml.safe_load((truth_dir / "planted_effects.yaml").read_text(encoding="utf-8"))
    model = planted["supported_housing_congregate"]["failure_model_logit"]
    no_effect_at_all = all(abs(model[k]) < NULL_TOLERANCE for k in model if k.startswith("congregate_"))
    rows = []
    e = result.estimates
    for name in ("naive", "ipw", "doubly_robust"):
        est, lo, hi = e[name]
        rows.append(_row(f"movers: {name}", ate, est, lo, hi, finding=not lo <= 0 <= hi))
    if "entrants_doubly_robust" in e:
        for name in ("entrants_naive", "entrants_doubly_robust"):
            est, lo, hi = e[name]
            true = 0.0 if no_effect_at_all else math.nan
            rows.append(_row(f"entrants: {name.removeprefix('entrants_')}", true, est, lo, hi,
                             finding=not lo <= 0 <= hi,
                             note="" if no_effect_at_all else "true value not written by the generator"))
    spec = definitions()["supported_housing"]["subgroups"]
    sub = result.tables["subgroup_effects"].set_index("subgroup")
    named_any, all_null = False, True
    for name, s in spec.items():
        members = el.eval(s["condition"])
        true = float(diff[members].mean()) if members.any() else math.nan
        all_null &= abs(true) < NULL_TOLERANCE
        if name not in sub.index:  # too few people for an estimate in this replicate
            continue
        r = sub.loc[name]
        named = bool(r["effect_p_holm"] < 0.05)
        named_any |= named
        rows.append(_row(f"subgroup: {name}", true, r["risk_difference"], r["lower"], r["upper"], finding=named))
    rows.append(_row("any subgroup named (Holm)", 0.0 if all_null else 1.0, float(named_any), finding=named_any,
                     kind="finding"))
    return rows


RETURNS_TERMS = {"housing_first": "housing_first", "drug_dependency": "drug_dependency",
                 "age_per_10_years": "age_per_10_years"}


def _returns(result, truth_dir: Path) -> list[dict[str, Any]]:
    """Hazard ratios (log scale) against the planted ones (terms without a planted effect: 0), and
    cumulative incidence of return against the planted incidence averaged over the cohort."""
    planted = yaml.safe_load((truth_dir / "planted_effects.yaml").read_text(encoding="utf-8"))["returns_to_homelessness"]
    hrs = planted["hazard_ratios"]
    rows = []
    for term, (est, lo, hi) in result.estimates["hazard_ratios"].items():
        true = math.log(hrs[term]) if term in hrs else 0.0
        note = "" if term in hrs else "no planted effect"
        if term == "housing_first" and "hazard_ratio_housing_first_over_time" in planted:
            note = "true value: the first year's ratio (it changes later)"
        rows.append(_row(f"log hazard ratio: {term}", true, math.log(est), math.log(lo), math.log(hi),
                         finding=not lo <= 1 <= hi, note=note))
    # The planted incidence averaged over the move-ins seen from their start: a move-in from before
    # the data begin is in the extracts only if its tenancy survived until then, so averaging over the
    # seen cohort would weight low-risk people up, while the study (delayed entry) estimates the
    # incidence of move-ins as they come. Without such move-ins this is the cohort's planted average.
    table = pd.read_csv(truth_dir / "returns_cohort.csv")
    from_start = pd.to_datetime(table["move_in_date"]) >= pd.Timestamp(history_start())
    for months, (est, lo, hi) in result.estimates["cumulative_incidence"].items():
        key = f"cif_return_{int(months)}_months"
        if key in table:
            rows.append(_row(f"cumulative incidence: {int(months)} months", float(table.loc[from_start, key].mean()),
                             est, lo, hi))
    return rows


def _system_performance(result, truth_dir: Path) -> list[dict[str, Any]]:
    """Prevention success: each district flagged outside the funnel (robust county rate) against the
    planted outlier, and the equality risk ratio of the planted group (log scale)."""
    planted = yaml.safe_load((truth_dir / "planted_effects.yaml").read_text(encoding="utf-8"))
    outlier = planted["district_prevention_success"]["outlier_district"]
    flagged = set(result.estimates["funnel_outliers"].get("prevention_success", {}).get("robust county rate", []))
    rows = []
    for district in planted["district_prevention_success"]["true_rate"]:
        truly = district == outlier
        rows.append(_row(f"district flagged: {district}", float(truly), float(district in flagged),
                         finding=district in flagged, kind="finding"))
    rows.append(_row("any district wrongly flagged", 0.0, float(bool(flagged - {outlier})),
                     finding=bool(flagged - {outlier}), kind="finding"))
    eq = planted["equality_prevention_success"]
    table = result.tables["equality_outcomes"]
    sel = table[(table["outcome"] == "prevention_success") & (table["characteristic"] == "ethnicity")
                & (table["group"] == eq["group"]) & (table["reference_group"] == eq["reference_group"])]
    if len(sel):
        r = sel.iloc[0]
        rows.append(_row(f"log risk ratio: prevention success, {eq['group']} vs {eq['reference_group']}",
                         math.log(eq["risk_ratio"]), math.log(r["risk_ratio"]), math.log(r["rr_lower"]),
                         math.log(r["rr_upper"]), finding=not r["rr_lower"] <= 1 <= r["rr_upper"]))
    return rows


EXTRACTORS: dict[str, Callable[[Any, Path], list[dict[str, Any]]]] = {
    "supported_housing": _supported_housing, "returns": _returns, "system_performance": _system_performance,
}


def _run_study(study: str, store, study_parameters: dict[str, Any]):
    from workbench.studies import entry_point

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return entry_point(study)(store, **study_parameters)


def build_county(folder: Path, scenario_name: str, seed: int, scale: float, linkage: str = "true"):
    """Generate one county in ``folder/county`` and ingest it into ``folder/store`` (``linkage``: the
    true one, or one of the workbench's); its Store."""
    from workbench.ingest.pipeline import ingest_folder
    from workbench.store import Store
    from workbench.synthetic.evaluation import TruthLinker

    county = folder / "county"
    generate_county(county, seed=seed, scale=scale, scenario=scenario_name, progress=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ingest_folder(county / "extracts", folder / "store", progress=False,
                      linkage=TruthLinker(county / "truth") if linkage == "true" else linkage)
    return Store(folder / "store")


def run_replicate(studies: Iterable[str], scenario_name: str, seed: int, scale: float,
                  study_parameters: dict[str, dict[str, Any]] | None = None,
                  work_dir: str | Path | None = None, linkage: str = "true") -> list[dict[str, Any]]:
    """Generate, ingest (``linkage``: the true one, or one of the workbench's) and run each study on
    one county; rows of estimates against the truth. A study that fails gives one row with its error,
    not an exception (a replicate's failure is a result of the calibration)."""
    folder = Path(tempfile.mkdtemp(prefix=f"calibrate-{seed}-", dir=work_dir))
    rows: list[dict[str, Any]] = []
    try:
        county = folder / "county"
        store = build_county(folder, scenario_name, seed, scale, linkage)
        for study in studies:
            started = time.perf_counter()
            try:
                result = _run_study(study, store, (study_parameters or {}).get(study, {}))
                out = EXTRACTORS[study](result, county / "truth")
            except Exception as exc:  # noqa: BLE001 - recorded, not hidden: the summary counts failures
                out = [{"estimate": "(study failed)", "kind": "error", "note": f"{type(exc).__name__}: {exc}",
                        "traceback": traceback.format_exc(limit=3)}]
            for r in out:
                r.update(study=study, scenario=scenario_name, seed=seed, scale=scale, linkage=linkage,
                         seconds=round(time.perf_counter() - started, 2))
            rows += out
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return rows


# --------------------------------------------------------------------------------- many replicates
def _single_threaded_worker() -> None:
    """Each worker is one process on one core: its numeric libraries must not start threads of their own."""
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS"):
        os.environ[var] = "1"
    try:
        from threadpoolctl import threadpool_limits

        threadpool_limits(1)
    except ImportError:  # pragma: no cover - threadpoolctl comes with scikit-learn
        pass


def _preload(studies: Iterable[str]) -> None:
    """Import what a replicate needs once, before the workers are forked (they inherit it)."""
    import importlib

    import workbench.ingest.pipeline  # noqa: F401
    import workbench.synthetic.evaluation  # noqa: F401
    from workbench.studies import STUDIES

    for study in studies:
        importlib.import_module(STUDIES[study].split(":")[0])


def run_replicates(studies: Iterable[str], scenario_name: str, replicates: int, seed_start: int, scale: float,
                   workers: int | None = None, study_parameters: dict[str, dict[str, Any]] | None = None,
                   progress: bool = True, linkage: str = "true") -> pd.DataFrame:
    """Every replicate's rows (seeds ``seed_start`` .. ``seed_start + replicates - 1``), in parallel
    over ``workers`` processes (default: the available cores)."""
    studies = tuple(studies)
    unknown = [s for s in studies if s not in EXTRACTORS]
    if unknown:
        raise ValueError(f"No calibration for {', '.join(unknown)}; calibrated studies: {', '.join(CALIBRATED_STUDIES)}.")
    scenario(scenario_name)  # an unknown name fails here, before any work
    if linkage not in LINKAGES:
        raise ValueError(f"linkage must be one of {', '.join(LINKAGES)}, not {linkage!r}.")
    if replicates < 1:
        raise ValueError("replicates must be at least 1.")
    workers = max(1, min(workers or len(os.sched_getaffinity(0)), replicates))
    _preload(studies)
    seeds = range(seed_start, seed_start + replicates)
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=replicates, desc=f"{'+'.join(studies)} / {scenario_name}", unit=" county")
    rows: list[dict[str, Any]] = []
    if workers == 1:
        for seed in seeds:
            rows += run_replicate(studies, scenario_name, seed, scale, study_parameters, linkage=linkage)
            if bar is not None:
                bar.update(1)
    else:
        import multiprocessing

        # fork: workers need no importable __main__ (a script without a main guard still works).
        with ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("fork"),
                                 initializer=_single_threaded_worker) as pool:
            futures = [pool.submit(run_replicate, studies, scenario_name, seed, scale, study_parameters, None, linkage)
                       for seed in seeds]
            for f in as_completed(futures):
                rows += f.result()
                if bar is not None:
                    bar.update(1)
    if bar is not None:
        bar.close()
    out = pd.DataFrame(rows)
    return out.sort_values(["study", "seed"], kind="stable").reset_index(drop=True) if len(out) else out


def clopper_pearson(k: int, n: int, level: float = 0.95) -> tuple[float, float]:
    """Exact binomial interval for k successes of n."""
    if n == 0:
        return math.nan, math.nan
    a = (1 - level) / 2
    lo = 0.0 if k == 0 else float(stats.beta.ppf(a, k, n - k + 1))
    hi = 1.0 if k == n else float(stats.beta.ppf(1 - a, k + 1, n - k))
    return lo, hi


def binomial_band(n: int, p: float, alpha: float = 0.01) -> tuple[int, int]:
    """Acceptance band for a count of n Bernoulli(p) trials: the counts lo..hi with at most alpha/2
    probability below lo and at most alpha/2 above hi (exact binomial)."""
    dist = stats.binom(n, p)
    ks = np.arange(n + 1)
    lo = int(ks[dist.cdf(ks - 1) <= alpha / 2].max())  # P(X < lo) <= alpha/2
    hi = int(ks[dist.sf(ks) <= alpha / 2].min())  # P(X > hi) <= alpha/2
    return lo, hi


def summarise(rows: pd.DataFrame) -> pd.DataFrame:
    """Per study and estimate: replicates, mean true value, mean estimate, bias, RMSE, coverage of the
    95% interval (with its exact 95% interval), rate of the study's finding, and whether the truth
    was null in every replicate (then the finding rate is a false-positive rate)."""
    ok = rows[rows["kind"] != "error"] if "kind" in rows else rows
    out = []
    for (study, estimate), g in ok.groupby(["study", "estimate"], sort=False):
        n = len(g)
        known = g[g["true"].notna()]
        err = known["value"] - known["true"]
        has_ci = known["lower"].notna() & known["upper"].notna()
        covered = ((known["lower"] <= known["true"]) & (known["true"] <= known["upper"]))[has_ci]
        k = int(covered.sum())
        cov_lo, cov_hi = clopper_pearson(k, int(has_ci.sum()))
        findings = g["finding"].dropna().astype(bool)
        null = bool(len(known) == n and g["null"].all())
        out.append({
            "study": study, "estimate": estimate, "kind": g["kind"].iloc[0], "replicates": n,
            "true_mean": float(known["true"].mean()) if len(known) else math.nan,
            "estimate_mean": float(g["value"].mean()),
            "bias": float(err.mean()) if len(known) and g["kind"].iloc[0] == "estimate" else math.nan,
            "rmse": float(np.sqrt((err ** 2).mean())) if len(known) and g["kind"].iloc[0] == "estimate" else math.nan,
            "coverage": k / int(has_ci.sum()) if has_ci.any() else math.nan,
            "coverage_lower": cov_lo, "coverage_upper": cov_hi, "covered": k, "with_interval": int(has_ci.sum()),
            "finding_rate": float(findings.mean()) if len(findings) else math.nan,
            "findings": int(findings.sum()), "null": null,
            "note": "; ".join(sorted({x for x in g["note"].dropna() if x})),
        })
    return pd.DataFrame(out)


def failures(rows: pd.DataFrame) -> pd.DataFrame:
    """Replicates where a study failed, with the error."""
    if "kind" not in rows:
        return rows.iloc[0:0]
    return rows[rows["kind"] == "error"][["study", "scenario", "seed", "note"]]


@dataclass
class Calibration:
    study: str
    scenario: str
    scale: float
    seed_start: int
    rows: pd.DataFrame
    summary: pd.DataFrame
    seconds: float
    linkage: str = "true"

    def text(self) -> str:
        """The summary as plain text: one line per estimate."""
        s = self.summary
        lines = [f"Calibration of {self.study} in scenario {self.scenario} ({scenario(self.scenario).title}): "
                 f"{s['replicates'].max() if len(s) else 0} replicate counties at scale {self.scale:g}, seeds "
                 f"{self.seed_start}.. , {self.linkage} linkage; {self.seconds:.0f} s."]
        for r in s.itertuples():
            if r.kind == "estimate":
                cov = (f"coverage {r.coverage:.0%} ({r.covered}/{r.with_interval}; exact 95% CI {r.coverage_lower:.0%}-"
                       f"{r.coverage_upper:.0%})" if r.with_interval else "no true value: coverage not calibrated")
                bias = f"bias {r.bias:+.4f}, RMSE {r.rmse:.4f}, " if not math.isnan(r.bias) else ""
                line = f"  {r.estimate}: true {r.true_mean:.4f}, mean estimate {r.estimate_mean:.4f}, {bias}{cov}"
            else:
                line = f"  {r.estimate}: in {r.findings}/{r.replicates} replicates"
            if not math.isnan(r.finding_rate) and r.null:
                line += f"; FALSE-POSITIVE rate of the finding {r.finding_rate:.1%}"
            elif not math.isnan(r.finding_rate) and r.kind == "estimate":
                line += f"; finding printed in {r.finding_rate:.0%}"
            if r.note:
                line += f" [{r.note}]"
            lines.append(line)
        bad = failures(self.rows)
        if len(bad):
            lines.append(f"  {len(bad)} replicate(s) failed: " + "; ".join(f"seed {r.seed}: {r.note}" for r in bad.head(5).itertuples()))
        return "\n".join(lines)


def calibrate(study: str, scenario: str = DEFAULT_SCENARIO, replicates: int = 20, seed_start: int = 1,
              scale: float = 0.25, workers: int | None = None, study_parameters: dict[str, Any] | None = None,
              progress: bool = True, linkage: str = "true") -> Calibration:
    """Run ``study`` on ``replicates`` independent counties of ``scenario`` and calibrate it
    (``linkage``: ``"true"``, or ``"splink"`` / ``"deterministic"`` to include linkage errors)."""
    started = time.perf_counter()
    rows = run_replicates([study], scenario, replicates, seed_start, scale, workers,
                          {study: study_parameters or {}}, progress, linkage)
    return Calibration(study, scenario, scale, seed_start, rows, summarise(rows), time.perf_counter() - started,
                       linkage)
