"""Calibration of the clerical review's intervals: how often do they contain the truth?

Links the synthetic county once (splink, default settings), then draws ``--samples`` review
samples of ``--pairs`` pairs (different seeds), has each judged by the simulated reviewer (wrong on
``--error`` of decisions at random; second looks at discordant pairs) and estimates precision and
recall, overall and for critical (arrival) links. Prints, and writes as Markdown with ``--out``, the
coverage of the 95% intervals, their mean width, the mean estimate against the true value, the
model's own estimate, and how many true pairs lie out of the review's reach.

    python benchmarks/bench_linkage_review.py                       # 50 samples of 400, 2% errors
    python benchmarks/bench_linkage_review.py --samples 200 --error 0.05 --out results.md

About a minute at the defaults (most of it generating and linking the county).
"""

from __future__ import annotations

import argparse
import dataclasses
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from workbench.linkage.review_design import (
    ReviewDesign,
    allocate,
    draw_sample,
    review_population,
    strata_table,
    stratify,
)
from workbench.linkage.review_estimate import estimate_from_review, final_decisions, model_estimate
from workbench.linkage.review_files import pair_keys
from workbench.synthetic import DEFAULT_SEED, generate_county
from workbench.synthetic.evaluation import (
    link_county,
    review_truth,
    simulated_review,
    true_record_persons,
)

NAMES = ("precision", "recall", "critical_precision", "critical_recall")


def calibrate(county: Path, samples: int, pairs: int, error: float, second_look: bool = True) -> tuple[pd.DataFrame, dict, dict, int]:
    frame, truth, result = link_county(county)
    design = ReviewDesign(pairs=pairs)
    pop = review_population(result, frame)
    strata = stratify(pop, design, result.settings.threshold)
    table = strata_table(pop, strata, design)
    table["sampled"] = allocate(table, design)
    pop["stratum"] = strata.to_numpy()
    true = review_truth(pop, truth, frame)
    persons = true_record_persons(county / "truth")
    rows = []
    for rep in range(samples):
        sample = draw_sample(pop, strata, table, dataclasses.replace(design, seed=rep))
        sample["pair_key"] = pair_keys(frame, sample["left"].to_numpy(), sample["right"].to_numpy())[0]
        decisions = simulated_review(sample, persons, error_rate=error, seed=10_000 + rep,
                                     second_look=second_look)
        reviewed = sample.assign(decision=sample["pair_key"].map(final_decisions(decisions)).to_numpy())
        est = estimate_from_review(table, reviewed)
        second = int((decisions["reviewer"] != decisions["reviewer"].iloc[0]).sum())
        for name in NAMES:
            e = est[name]
            rows.append(dict(sample=rep, measure=name, estimate=e.estimate, lower=e.lower, upper=e.upper,
                             covered=e.contains(true[name]), second_looks=second))
    return pd.DataFrame(rows), true, model_estimate(pop), len(table)


def report(runs: pd.DataFrame, true: dict, model: dict, strata: int, samples: int, pairs: int, error: float,
           seconds: float) -> str:
    lines = [
        f"Clerical review calibration on the synthetic county (seed {DEFAULT_SEED}, splink default settings): "
        f"{samples} samples of {pairs} pairs over {strata} strata, simulated reviewer wrong on {error:.0%} of "
        f"decisions at random, second looks at pairs whose decision disagrees with the linkage "
        f"(mean {runs.groupby('sample')['second_looks'].first().mean():.1f} per sample). {seconds:.0f} s.",
        "",
        "| measure | true value | mean estimate | coverage of 95% interval | mean interval width | model's own estimate |",
        "|---|---|---|---|---|---|",
    ]
    for name in NAMES:
        r = runs[runs["measure"] == name]
        lines.append(f"| {name.replace('_', ' ')} | {true[name]:.4f} | {r['estimate'].mean():.4f} | "
                     f"{r['covered'].mean():.0%} | {(r['upper'] - r['lower']).mean():.4f} | {model[name]:.4f} |")
    lines += [
        "",
        f"Out of the review's reach (never scored above the floor, never linked): "
        f"{true['true_pairs_out_of_reach']:,.0f} of {true['true_pairs']:,.0f} true pairs "
        f"({true['true_pairs_out_of_reach'] / true['true_pairs']:.2%}); critical: "
        f"{true['critical_true_pairs_out_of_reach']:,.0f} of {true['critical_true_pairs']:,.0f} "
        f"({true['critical_true_pairs_out_of_reach'] / true['critical_true_pairs']:.2%}). Recall over all true pairs "
        f"is lower than the review's recall by about that share.",
    ]
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--samples", type=int, default=50)
    ap.add_argument("--pairs", type=int, default=400)
    ap.add_argument("--error", type=float, default=0.02)
    ap.add_argument("--no-second-look", action="store_true", help="Take every first decision as final.")
    ap.add_argument("--county", type=Path, help="A generated county folder to reuse (default: generate one).")
    ap.add_argument("--out", type=Path, help="Also write the Markdown table here.")
    args = ap.parse_args()
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="review-calibration-") as tmp:
        county = args.county or Path(tmp)
        if not (county / "extracts" / "extract.yaml").exists():
            generate_county(county, seed=DEFAULT_SEED, progress=False)
        runs, true, model, strata = calibrate(county, args.samples, args.pairs, args.error,
                                                 not args.no_second_look)
    text = report(runs, true, model, strata, args.samples, args.pairs, args.error, time.perf_counter() - t0)
    print(text)
    if args.out:
        args.out.write_text(text + "\n", encoding="utf-8")
    assert np.isfinite(runs["estimate"]).all()


if __name__ == "__main__":
    main()
