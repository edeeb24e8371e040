"""Calibration of the new arrivals headline: does its interval cover the true share, across seeds,
with and without the outreach client reference?

For each seed and scenario: generate the synthetic county, ingest it with splink (the real path:
``ingest_folder(..., linkage="splink")``), review a stratified sample of the arrivals with the
simulated reviewer (``simulated_arrival_review``: wrong on ``--error`` of answers at random, second
looks as the review procedure asks), record the review with the store as a real user would, and
read the study's headline (``headline_of_store``: the same function the study and the dashboards
use). The truth is the study on the true linkage of the same records. Also recorded: the
uncorrected share and its Wilson interval, the fragments (arrivals that are people seen before
under another record) and hidden arrivals (true arrivals merged into someone seen earlier) from
``arrival_linkage_errors``, and the linkage's people split and merged.

"Without the client reference" blanks ``client_ref`` in the outreach extract after generation; the
generator and its planted effects are unchanged.

    python benchmarks/calibrate_new_arrivals.py --seeds 100 --count 20 --scale 0.5 \\
        --csv benchmarks/results/calibrate_new_arrivals.csv --docs docs/assumptions/new_arrivals.md

Rows are appended to the CSV as each run ends and runs already in it are skipped, so a stopped
run resumes. About a minute and a half per county at scale 0.5 on 2 shared cores.
"""

from __future__ import annotations

import argparse
import datetime as dt
import math
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from workbench.ingest.pipeline import ingest_folder
from workbench.linkage.quality import linkage_quality
from workbench.store import Store
from workbench.studies.new_arrivals.headline import headline_of_store
from workbench.studies.new_arrivals.study import SOURCES
from workbench.synthetic import generate_county
from workbench.synthetic.evaluation import (
    arrival_linkage_errors,
    record_simulated_arrival_review,
    store_person_ids,
    true_person_ids,
)

SCENARIOS = {"with": "with the outreach client reference", "without": "without it (client_ref blanked)"}
START, END = "<!-- calibration:start -->", "<!-- calibration:end -->"


def blank_client_reference(extracts: Path) -> None:
    """Empty the outreach extract's client_ref column (the extract as a provider without one sends it)."""
    path = extracts / "outreach_contacts.csv"
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    frame["client_ref"] = ""
    frame.to_csv(path, index=False)


def one_run(seed: int, scenario: str, scale: float, arrivals: int, error: float, work: Path) -> dict:
    t0 = time.perf_counter()
    county = work / f"county-{seed}-{scenario}"
    generate_county(county, seed=seed, scale=scale, progress=False)
    if scenario == "without":
        blank_client_reference(county / "extracts")
    data_dir = work / f"store-{seed}-{scenario}"
    ingest_folder(county / "extracts", data_dir, linkage="splink", progress=False)
    review = record_simulated_arrival_review(data_dir, county / "truth", arrivals=arrivals, error_rate=error,
                                             seed=seed)
    store = Store(data_dir)
    h = headline_of_store(store)
    tables = {s: store.table(s) for s in SOURCES if s in store.tables()}
    est_ids = store_person_ids(tables)
    true_ids = true_person_ids(county / "truth").reindex(est_ids.index)
    start, end = dt.date.fromisoformat(h["period_start"]), dt.date.fromisoformat(h["period_end"])
    errors = arrival_linkage_errors(tables, est_ids, true_ids, period_start=start, period_end=end)
    q = linkage_quality(true_ids.to_numpy(), est_ids.to_numpy())
    true_share = review["true_share"]
    return {
        "seed": seed, "scenario": scenario, "scale": scale, "true_share": true_share,
        "estimate": h["estimate"], "lower": h["lower"], "upper": h["upper"], "method": h["method"],
        "covered": h["lower"] <= true_share <= h["upper"],
        "uncorrected": h["uncorrected"], "uncorrected_lower": h["uncorrected_lower"],
        "uncorrected_upper": h["uncorrected_upper"],
        "uncorrected_covered": h["uncorrected_lower"] <= true_share <= h["uncorrected_upper"],
        "arrivals": h["arrivals"], "reviewed": h.get("reviewed", 0),
        "second_looks": int((review["decisions"]["reviewer"] != "simulated reviewer 1").sum()),
        "fragment_share_estimated": h.get("fragment_share", math.nan),
        "apparent_arrivals": errors["estimated_arrivals"], "true_arrivals": errors["true_arrivals"],
        "fragments": errors["spurious"], "fragment_share": errors["spurious_arrival_share"],
        "false_merges": errors["hidden"], "false_merge_share": errors["hidden_arrival_share"],
        "arrival_link_precision": errors["arrival_link_precision"],
        "arrival_link_recall": errors["arrival_link_recall"],
        "pairwise_precision": q.pairwise_precision, "pairwise_f1": q.pairwise_f1,
        "persons_split": q.persons_split, "persons_merged": q.persons_merged,
        "seconds": round(time.perf_counter() - t0, 1),
    }


def summary_table(runs: pd.DataFrame) -> str:
    lines = [
        "| scenario | seeds | true share (mean) | corrected: mean bias | RMSE | coverage of 95% interval | mean width "
        "| uncorrected: mean bias | coverage | fragments (share of apparent arrivals) | false merges (share of true "
        "arrivals) | people split / merged | pairwise F1 |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for scenario, label in SCENARIOS.items():
        r = runs[runs["scenario"] == scenario]
        if r.empty:
            continue
        bias = (r["estimate"] - r["true_share"]) * 100
        ubias = (r["uncorrected"] - r["true_share"]) * 100
        lines.append(
            f"| {label} | {len(r)} | {r['true_share'].mean():.1%} | {bias.mean():+.2f} points | "
            f"{math.sqrt((bias ** 2).mean()):.2f} points | {r['covered'].mean():.0%} ({int(r['covered'].sum())}/{len(r)}) | "
            f"{((r['upper'] - r['lower']) * 100).mean():.1f} points | {ubias.mean():+.2f} points | "
            f"{r['uncorrected_covered'].mean():.0%} | {r['fragment_share'].mean():.1%} (mean {r['fragments'].mean():.0f}) | "
            f"{r['false_merge_share'].mean():.1%} (mean {r['false_merges'].mean():.0f}) | "
            f"{r['persons_split'].mean():.1%} / {r['persons_merged'].mean():.1%} | {r['pairwise_f1'].mean():.3f} |")
    return "\n".join(lines)


def report(runs: pd.DataFrame, args: argparse.Namespace) -> str:
    seeds = sorted(runs["seed"].unique())
    text = [
        f"Generated by `python benchmarks/calibrate_new_arrivals.py --seeds {args.seeds} --count {args.count} "
        f"--scale {args.scale} --arrivals {args.arrivals} --error {args.error}` on "
        f"{dt.date.today().isoformat()}: seeds {seeds[0]} to {seeds[-1]} (not the default seed, on which the "
        f"linkage was tuned), county at scale {args.scale} (about {runs['arrivals'].mean():.0f} arrivals in the "
        f"headline per county{'' if args.scale == 1.0 else f'; at scale {args.scale}'}), splink linkage through the ingest, "
        f"{args.arrivals} arrivals reviewed per county by the simulated reviewer (wrong on {args.error:.0%} of "
        f"answers at random; mean {runs['second_looks'].mean():.0f} second looks). Bias is the corrected "
        "estimate minus the share under the true linkage, in percentage points; coverage is how often the 95% "
        "interval contains that share. Per-run rows: `benchmarks/results/calibrate_new_arrivals.csv`.",
        "",
        summary_table(runs),
    ]
    return "\n".join(text)


def write_docs(path: Path, text: str) -> None:
    doc = path.read_text(encoding="utf-8")
    if START not in doc or END not in doc:
        raise SystemExit(f"{path} has no {START} ... {END} section to fill in.")
    head, rest = doc.split(START, 1)
    _, tail = rest.split(END, 1)
    path.write_text(f"{head}{START}\n{text}\n{END}{tail}", encoding="utf-8")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seeds", type=int, default=100, help="First seed (default 100).")
    ap.add_argument("--count", type=int, default=20, help="How many seeds (default 20).")
    ap.add_argument("--scale", type=float, default=0.5)
    ap.add_argument("--arrivals", type=int, default=200, help="Arrivals reviewed per county (default 200).")
    ap.add_argument("--error", type=float, default=0.02, help="Simulated reviewer's error rate (default 0.02).")
    ap.add_argument("--scenarios", nargs="+", default=list(SCENARIOS), choices=list(SCENARIOS))
    ap.add_argument("--csv", type=Path, default=Path("benchmarks/results/calibrate_new_arrivals.csv"))
    ap.add_argument("--docs", type=Path, help="Fill in the calibration section of this Markdown file.")
    ap.add_argument("--report-only", action="store_true", help="Only summarise the CSV.")
    args = ap.parse_args()
    args.csv.parent.mkdir(parents=True, exist_ok=True)
    done = pd.read_csv(args.csv) if args.csv.exists() else pd.DataFrame(columns=["seed", "scenario"])
    if not args.report_only:
        for seed in range(args.seeds, args.seeds + args.count):
            for scenario in args.scenarios:
                if ((done["seed"] == seed) & (done["scenario"] == scenario)).any():
                    continue
                with tempfile.TemporaryDirectory(prefix="calibrate-arrivals-") as tmp:
                    row = one_run(seed, scenario, args.scale, args.arrivals, args.error, Path(tmp))
                pd.DataFrame([row]).to_csv(args.csv, mode="a", header=not args.csv.exists(), index=False)
                done = pd.read_csv(args.csv)
                print(f"seed {seed} {scenario}: true {row['true_share']:.3f}, corrected {row['estimate']:.3f} "
                      f"[{row['lower']:.3f}, {row['upper']:.3f}] covered={row['covered']}, uncorrected "
                      f"{row['uncorrected']:.3f}, fragments {row['fragments']}, merges {row['false_merges']} "
                      f"({row['seconds']} s)", flush=True)
    runs = pd.read_csv(args.csv)
    runs = runs[(runs["seed"] >= args.seeds) & (runs["seed"] < args.seeds + args.count)]
    text = report(runs, args)
    print(text)
    if args.docs:
        write_docs(args.docs, text)
    if not np.isfinite(runs["estimate"]).all():
        sys.exit("Some runs have no estimate: see the CSV.")


if __name__ == "__main__":
    main()
