"""Benchmark: workbench FineGray vs R cmprsk::crr (and Aalen-Johansen / Gray's test vs cuminc).

Run with ``python benchmarks/bench_competing_risks.py [--sizes 1000 5000 20000]`` (not part
of the test suite).  For each size the same simulated data (3 covariates, follow-up in
whole days so there are many tied times, about 30% censored, two competing causes) is
written to a temporary CSV;

* ours: ``FineGray().fit`` (coefficients + sandwich variance), best of ``--repeats``;
* R: ``Rscript`` reads the CSV and times only ``crr(ftime, fstatus, cov1)`` (which also
  computes the variance) with ``system.time``, one run (crr is O(n^2) per Newton step and
  O(n^2 K) for the variance, so 20k rows take minutes);
* the same for ``cuminc(ftime, fstatus, group)`` vs ``AalenJohansen().fit`` +
  ``grays_test``.

Coefficients and standard errors are compared (relative difference printed; must be below
1e-6).
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from workbench.statistics.aalen_johansen import AalenJohansen  # noqa: E402
from workbench.statistics.fine_gray import FineGray  # noqa: E402
from workbench.statistics.grays_test import grays_test  # noqa: E402

R_SCRIPT = r"""
suppressPackageStartupMessages(library(cmprsk))
args <- commandArgs(TRUE); d <- read.csv(args[1])
X <- as.matrix(d[, c("x1", "x2", "x3")])
t1 <- system.time(z <- crr(d$ftime, d$fstatus, X))[["elapsed"]]
t2 <- system.time(ci <- cuminc(d$ftime, d$fstatus, d$g))[["elapsed"]]
write.csv(data.frame(crr_s = t1, cuminc_s = t2, b1 = z$coef[1], b2 = z$coef[2], b3 = z$coef[3],
                     s1 = sqrt(z$var[1, 1]), s2 = sqrt(z$var[2, 2]), s3 = sqrt(z$var[3, 3]),
                     gray1 = ci$Tests[1, "stat"]), args[2], row.names = FALSE)
"""


def simulate(n: int, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 3))
    rate1 = 0.002 * np.exp(0.4 * x[:, 0] - 0.3 * x[:, 1])
    rate2 = 0.003 * np.exp(0.2 * x[:, 2])
    t1 = rng.exponential(1 / rate1)
    t2 = rng.exponential(1 / rate2)
    c = rng.exponential(1 / 0.002, n)
    t = np.ceil(np.minimum.reduce([t1, t2, c]))  # whole days: ties
    status = np.where(c <= np.minimum(t1, t2), 0, np.where(t1 <= t2, 1, 2))
    return pd.DataFrame({"ftime": t, "fstatus": status, "x1": x[:, 0], "x2": x[:, 1],
                         "x3": x[:, 2], "g": rng.choice(["a", "b", "c"], n)})


def best_of(fn, repeats: int) -> tuple[float, object]:
    best, out = np.inf, None
    for _ in range(repeats):
        start = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - start)
    return best, out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[1000, 5000, 20000])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--no-r", action="store_true", help="time ours only")
    args = ap.parse_args()
    rscript = None if args.no_r else shutil.which("Rscript")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / "bench.R"
        script.write_text(R_SCRIPT)
        for n in args.sizes:
            d = simulate(n)
            t_fg, fg = best_of(lambda d=d: FineGray().fit(d, "ftime", "fstatus", covariates=["x1", "x2", "x3"]),
                               args.repeats)
            t_aj, _ = best_of(lambda d=d: (AalenJohansen().fit(d, "ftime", "fstatus"),
                                           grays_test(d, "ftime", "fstatus", "g")), args.repeats)
            row = {"n": n, "FineGray_s": t_fg, "AJ+Gray_s": t_aj}
            if rscript:
                csv, out = Path(tmp) / f"d{n}.csv", Path(tmp) / f"r{n}.csv"
                d.to_csv(csv, index=False)
                subprocess.run([rscript, str(script), str(csv), str(out)], check=True,
                               capture_output=True)
                r = pd.read_csv(out).iloc[0]
                row["crr_s"] = r["crr_s"]
                row["cuminc_s"] = r["cuminc_s"]
                row["crr/ours"] = r["crr_s"] / t_fg
                row["cuminc/ours"] = r["cuminc_s"] / t_aj
                rb = r[["b1", "b2", "b3"]].to_numpy(float)
                rs = r[["s1", "s2", "s3"]].to_numpy(float)
                row["max_rel_diff_coef"] = float(np.max(np.abs(fg.params_.to_numpy() - rb) / np.abs(rb)))
                row["max_rel_diff_se"] = float(np.max(np.abs(fg.standard_errors_.to_numpy() - rs) / rs))
            rows.append(row)
            print(pd.DataFrame([row]).to_string(index=False, float_format=lambda v: f"{v:.4g}"),
                  flush=True)
    print()
    print(pd.DataFrame(rows).to_string(index=False, float_format=lambda v: f"{v:.4g}"))


if __name__ == "__main__":
    main()
