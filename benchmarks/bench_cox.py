"""Benchmark: workbench CoxPH vs R survival::coxph vs lifelines CoxPHFitter.

Run with ``python benchmarks/bench_cox.py`` (not part of the test suite).

For each data size the same simulated data (5 covariates, follow-up in whole days so
there are many tied event times, about 30% censored) is written to a temporary CSV.

* ours: ``CoxPH().fit`` and ``CoxPH(robust=True).fit``, wall time of the whole call,
  best of ``--repeats``;
* R: ``Rscript`` reads the CSV, then times only the fit with
  ``system.time(coxph(Surv(time, event) ~ x0 + ... + x4, data=d[, robust=TRUE]))``,
  best of ``--repeats`` (R's ``robust=TRUE`` is roughly quadratic in n, so it is run
  once above 50k rows; the whole script takes about five minutes);
* lifelines: ``CoxPHFitter().fit`` (and ``robust=True`` at the largest size), best of
  ``--repeats`` (one run above 50k rows: it is slow).

A counting-process scenario (delayed entry, two rows per person, ``cluster(id)``) is run
at the largest size too.  Estimates are checked: ours vs R relative differences of the
coefficients and (robust) standard errors are printed and must be < 1e-6.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from workbench.statistics.cox import CoxPH  # noqa: E402

COVS = [f"x{i}" for i in range(5)]
BETA = np.array([0.5, -0.3, 0.2, 0.0, 0.1])


def simulate(n: int, seed: int = 1) -> pd.DataFrame:
    """Right-censored data with daily (tied) times."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 5))
    X[:, 1] = rng.binomial(1, 0.4, n)
    t = np.ceil(365 * rng.exponential(np.exp(-X @ BETA)))
    c = np.ceil(rng.uniform(30, 1000, n))
    df = pd.DataFrame(np.round(X, 6), columns=COVS)
    df["time"] = np.minimum(t, c)
    df["event"] = (t <= c).astype(int)
    return df


def simulate_counting_process(n_rows: int, seed: int = 2) -> pd.DataFrame:
    """Delayed entry and a split of each person's follow-up into two rows."""
    n = n_rows // 2
    rng = np.random.default_rng(seed)
    X = np.round(rng.normal(size=(n, 5)), 6)
    entry = np.where(rng.random(n) < 0.5, rng.integers(0, 100, n), 0).astype(float)
    t = entry + np.ceil(365 * rng.exponential(np.exp(-X @ BETA)))
    c = entry + np.ceil(rng.uniform(30, 1000, n))
    stop = np.minimum(t, c)
    event = (t <= c).astype(int)
    cut = np.maximum(entry + 1, np.floor((entry + stop) / 2))
    split = cut < stop
    a = pd.DataFrame(X, columns=COVS).assign(id=np.arange(n), start=entry, stop=stop, event=event)
    first = a[split].assign(stop=cut[split], event=0)
    second = a[split].assign(start=cut[split])
    return pd.concat([first, second, a[~split]], ignore_index=True)


def best_time(repeats: int, fn, *args, **kwargs) -> tuple[float, object]:
    """Best wall time of ``fn(*args, **kwargs)`` over ``repeats`` runs, and its result."""
    best, out = np.inf, None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn(*args, **kwargs)
        best = min(best, time.perf_counter() - t0)
    return best, out


R_SCRIPT = r"""
suppressMessages(library(survival))
d <- read.csv("{csv}")
best <- function(expr_fun, repeats={repeats}) {{
  tt <- Inf
  for (i in seq_len(repeats)) {{
    st <- system.time(fit <- expr_fun())[["elapsed"]]
    tt <- min(tt, st)
  }}
  list(time=tt, fit=fit)
}}
out <- function(tag, b) {{
  cat(sprintf("%s_time %.6f\n", tag, b$time))
  cat(sprintf("%s_coef %s\n", tag, paste(sprintf("%.17g", coef(b$fit)), collapse=" ")))
  v <- if (is.null(b$fit$naive.var)) b$fit$var else b$fit$naive.var
  cat(sprintf("%s_se %s\n", tag, paste(sprintf("%.17g", sqrt(diag(v))), collapse=" ")))
  if (!is.null(b$fit$naive.var))
    cat(sprintf("%s_rse %s\n", tag, paste(sprintf("%.17g", sqrt(diag(b$fit$var))), collapse=" ")))
}}
{body}
"""

R_RC_PLAIN = """
out("plain", best(function() coxph(Surv(time, event) ~ x0 + x1 + x2 + x3 + x4, data=d)))
"""
R_RC = (
    R_RC_PLAIN
    + """
out("robust", best(function() coxph(Surv(time, event) ~ x0 + x1 + x2 + x3 + x4, data=d,
                                    robust=TRUE), repeats={robust_repeats}))
"""
)
R_CP = """
out("cp", best(function() coxph(Surv(start, stop, event) ~ x0 + x1 + x2 + x3 + x4
                                + cluster(id), data=d)))
"""


def run_r(
    df: pd.DataFrame, body: str, repeats: int, tmp: Path, robust_repeats: int = 1
) -> dict[str, np.ndarray]:
    csv = tmp / "bench.csv"
    df.to_csv(csv, index=False)
    script = tmp / "bench.R"
    body = body.replace("{robust_repeats}", str(robust_repeats))
    script.write_text(R_SCRIPT.format(csv=csv.as_posix(), repeats=repeats, body=body))
    res = subprocess.run(["Rscript", str(script)], capture_output=True, text=True, check=True)
    out = {}
    for line in res.stdout.splitlines():
        key, *vals = line.split()
        out[key] = np.array([float(v) for v in vals])
    return out


def rel(a, b) -> float:
    a, b = np.asarray(a, float), np.asarray(b, float)
    return float(np.max(np.abs(a / b - 1)))


def in_se(a, b, se) -> float:
    """Largest difference in units of the standard error (for coefficients near 0)."""
    return float(np.max(np.abs(np.asarray(a, float) - np.asarray(b, float)) / np.asarray(se)))


def lifelines_fit(df: pd.DataFrame, robust: bool, **kw):
    from lifelines import CoxPHFitter

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return CoxPHFitter().fit(df, robust=robust, **kw)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--sizes", default="10000,50000,200000")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--no-r", action="store_true")
    ap.add_argument("--no-lifelines", action="store_true")
    ap.add_argument(
        "--r-robust-max-n",
        type=int,
        default=None,
        help="skip R's robust=TRUE above this many rows (it is roughly quadratic in n)",
    )
    args = ap.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    use_r = not args.no_r and shutil.which("Rscript") is not None
    if not args.no_r and not use_r:
        print("Rscript not found: R columns skipped")
    rows = []
    ok = True
    with tempfile.TemporaryDirectory() as tmpd:
        tmp = Path(tmpd)
        for n in sizes:
            df = simulate(n)
            t_plain, f_plain = best_time(
                args.repeats, CoxPH().fit, df, "time", "event", covariates=COVS
            )
            t_rob, f_rob = best_time(
                args.repeats, CoxPH(robust=True).fit, df, "time", "event", covariates=COVS
            )
            row = {
                "n": n,
                "events": int(df.event.sum()),
                "tied_times": int(df.time[df.event == 1].duplicated().sum()),
                "ours_plain_s": t_plain,
                "ours_robust_s": t_rob,
            }
            if use_r:
                # R's robust=TRUE grows ~quadratically with n (about 10 s at 50k rows):
                # a single run above 50k rows keeps the benchmark to a few minutes.
                skip_robust = args.r_robust_max_n is not None and n > args.r_robust_max_n
                body = R_RC_PLAIN if skip_robust else R_RC
                r = run_r(df, body, args.repeats, tmp, args.repeats if n <= 50_000 else 1)
                row["R_plain_s"] = r["plain_time"][0]
                d_coef = rel(f_plain.params_, r["plain_coef"])
                d_se = rel(f_plain.standard_errors_, r["plain_se"])
                d_rse = float("nan")  # not measured when R's robust fit is skipped
                if not skip_robust:
                    row["R_robust_s"] = r["robust_time"][0]
                    d_coef = max(d_coef, rel(f_rob.params_, r["robust_coef"]))
                    d_rse = rel(f_rob.robust_standard_errors_, r["robust_rse"])
                row |= {
                    "maxrel_coef_vs_R": d_coef,
                    "maxrel_se_vs_R": d_se,
                    "maxrel_rse_vs_R": d_rse,
                }
                ok &= bool(np.nanmax([d_coef, d_se, d_rse]) < 1e-6)
            if not args.no_lifelines:
                reps = args.repeats if n <= 50_000 else 1
                sub = df[["time", "event", *COVS]]
                t_ll, ll = best_time(
                    reps, lifelines_fit, sub, False, duration_col="time", event_col="event"
                )
                row |= {
                    "lifelines_plain_s": t_ll,
                    "maxdiff_coef_lifelines_in_se": in_se(
                        ll.params_, f_plain.params_, f_plain.standard_errors_
                    ),
                }
                if n == sizes[-1]:
                    t_llr, llr = best_time(
                        1, lifelines_fit, sub, True, duration_col="time", event_col="event"
                    )
                    row |= {
                        "lifelines_robust_s": t_llr,
                        "maxrel_rse_lifelines_vs_ours": rel(
                            llr.standard_errors_, f_rob.robust_standard_errors_
                        ),
                    }
            rows.append(row)
            print(
                f"n={n:>7}: " + ", ".join(f"{k}={v:.3g}" for k, v in row.items() if k != "n"),
                flush=True,
            )

        # Counting process + cluster at the largest size.
        n = sizes[-1]
        cp = simulate_counting_process(n)
        t_cp, f_cp = best_time(
            args.repeats,
            CoxPH().fit,
            cp,
            "stop",
            "event",
            entry_col="start",
            covariates=COVS,
            cluster_col="id",
        )
        cp_row = {"rows": len(cp), "ours_cp_cluster_s": t_cp}
        if use_r:
            r = run_r(cp, R_CP, args.repeats, tmp)
            cp_row |= {
                "R_cp_cluster_s": r["cp_time"][0],
                "ratio_R/ours": r["cp_time"][0] / t_cp,
                "maxrel_coef_vs_R": rel(f_cp.params_, r["cp_coef"]),
                "maxrel_rse_vs_R": rel(f_cp.robust_standard_errors_, r["cp_rse"]),
            }
            ok &= max(cp_row["maxrel_coef_vs_R"], cp_row["maxrel_rse_vs_R"]) < 1e-6
        if not args.no_lifelines:
            sub = cp[["start", "stop", "event", "id", *COVS]]
            t_llcp, ll_cp = best_time(
                1,
                lifelines_fit,
                sub,
                True,
                duration_col="stop",
                event_col="event",
                entry_col="start",
                cluster_col="id",
            )
            cp_row |= {
                "lifelines_cp_cluster_s": t_llcp,
                "maxrel_rse_lifelines_vs_ours": rel(
                    ll_cp.standard_errors_, f_cp.robust_standard_errors_
                ),
            }

    res = pd.DataFrame(rows).set_index("n")
    if use_r:
        res["R/ours plain"] = res["R_plain_s"] / res["ours_plain_s"]
        if "R_robust_s" in res:
            res["R/ours robust"] = res["R_robust_s"] / res["ours_robust_s"]
    if "lifelines_plain_s" in res:
        res["lifelines/ours plain"] = res["lifelines_plain_s"] / res["ours_plain_s"]
    if "lifelines_robust_s" in res:
        res["lifelines/ours robust"] = res["lifelines_robust_s"] / res["ours_robust_s"]
    with pd.option_context("display.width", 200, "display.max_columns", 50, "display.precision", 3):
        print("\nScale curve (seconds; ratios > 1 mean we are faster):")
        time_cols = [c for c in res.columns if c.endswith("_s") or "/" in c]
        print(res[time_cols].to_string())
        print("\nAgreement (max relative difference):")
        print(res[[c for c in res.columns if c.startswith("max")]].to_string())
        print(f"\nCounting process, delayed entry, cluster(id), {n} rows:")
        for k, v in cp_row.items():
            print(f"  {k:32s} {v:.4g}")
    if use_r:
        print("\nestimates agree with R to < 1e-6:", "yes" if ok else "NO")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
