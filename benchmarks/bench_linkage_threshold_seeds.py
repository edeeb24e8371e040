"""Is the linkage threshold right on counties it was not tuned on? (issue 17 item 3)

The match-probability threshold in ``workbench/linkage/settings.yaml`` was chosen on the default
seed's county. This links counties of other seeds (default 1-5, never used for tuning) with splink
and reports, per seed, pairwise precision, recall and F1 at the chosen threshold, the threshold with
the best F1 on the precision-recall curve and how much F1 the chosen one gives up.

    python benchmarks/bench_linkage_threshold_seeds.py --seeds 1 2 3 4 5 --scale 1.0 --out results.md

A few minutes per county at scale 1 (splink): run it in the background.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from workbench.linkage.quality import linkage_quality, pr_curve
from workbench.synthetic import generate_county
from workbench.synthetic.evaluation import link_county


def one_seed(seed: int, scale: float, scenario: str) -> dict:
    with tempfile.TemporaryDirectory(prefix=f"threshold-{seed}-") as tmp:
        generate_county(tmp, seed=seed, scale=scale, scenario=scenario)
        frame, truth, result = link_county(tmp)
        q = linkage_quality(truth, result.labels)
        curve = pr_curve(result, truth)
        best = curve.loc[curve["f1"].idxmax()]
        chosen = result.settings.threshold
        at = curve.loc[np.isclose(curve["threshold"], chosen)]
        return {"seed": seed, "scenario": scenario, "records": len(frame), "chosen_threshold": chosen,
                "precision": q.pairwise_precision, "recall": q.pairwise_recall, "f1": q.pairwise_f1,
                "best_threshold": float(best.threshold), "best_f1": float(best.f1),
                "f1_given_up": float(best.f1 - (at["f1"].iloc[0] if len(at) else q.pairwise_f1))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="*", default=[1, 2, 3, 4, 5])
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--scenario", default="default")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    rows = []
    for seed in args.seeds:
        rows.append(one_seed(seed, args.scale, args.scenario))
        print(rows[-1], flush=True)
    table = pd.DataFrame(rows)
    head = "| " + " | ".join(table.columns) + " |\n|" + "---|" * len(table.columns) + "\n"
    text = head + "\n".join("| " + " | ".join(f"{v:.4f}" if isinstance(v, float) else str(v) for v in r) + " |"
                             for r in table.itertuples(index=False))
    print(text)
    if args.out:
        args.out.write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
