"""Where splink's training time goes: u sampling, the prior, each EM session, the m from labels.

Links an already generated county (``workbench generate``, or ``bench_linkage.py --keep DIR``) once
with the packaged settings, or a settings file, with optional overrides of LinkageSettings fields,
and prints the stage times of link_frame, the time of each splink training call, and quality against
the county's truth:

    python benchmarks/bench_linkage_training_stages.py /tmp/counties/scale1 u_max_pairs=2e6
    python benchmarks/bench_linkage_training_stages.py /tmp/counties/scale1 --settings FILE em_max_pairs=2.5e5

Used for issue 18's training time (benchmarks/results/linkage_training_time.md). The training calls are
timed by wrapping splink's LinkerTraining methods, so it depends on splink 4's layout.
"""

from __future__ import annotations

import argparse
import dataclasses
import time
from pathlib import Path

import numpy as np
import splink.internals.linker_components.training as splink_training

from workbench.ingest.pipeline import extracts_linkage_frame
from workbench.linkage.model import link_frame
from workbench.linkage.quality import linkage_quality
from workbench.linkage.settings import load_settings
from workbench.synthetic.evaluation import link_truth

CALLS = ("estimate_u_using_random_sampling", "estimate_probability_two_random_records_match",
         "estimate_parameters_using_expectation_maximisation", "estimate_m_from_label_column")


def _timed(calls: dict[str, list[float]], name: str) -> None:
    original = getattr(splink_training.LinkerTraining, name)

    def wrapper(self, *args, **kwargs):
        t0 = time.perf_counter()
        try:
            return original(self, *args, **kwargs)
        finally:
            calls.setdefault(name, []).append(round(time.perf_counter() - t0, 2))

    setattr(splink_training.LinkerTraining, name, wrapper)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("county", type=Path)
    parser.add_argument("overrides", nargs="*", help="FIELD=NUMBER of LinkageSettings (None to unset)")
    parser.add_argument("--settings", default=None, help="settings file (default: the packaged one)")
    args = parser.parse_args()
    calls: dict[str, list[float]] = {}
    for name in CALLS:
        _timed(calls, name)
    frame = extracts_linkage_frame(args.county / "extracts")
    truth = np.asarray(link_truth(frame, args.county / "truth"))
    overrides = {k: (None if v == "None" else float(v)) for k, v in (kv.split("=", 1) for kv in args.overrides)}
    settings = dataclasses.replace(load_settings(args.settings), **overrides)
    result = link_frame(frame, settings)
    q = linkage_quality(truth, result.labels)
    print(f"overrides {overrides}; stages {({k: round(v, 1) for k, v in result.seconds.items()})}; "
          f"total {result.total_seconds:.1f} s; training calls (s) {calls}; pairs {len(result.pairs):,}; "
          f"precision {q.pairwise_precision:.4f} recall {q.pairwise_recall:.4f} F1 {q.pairwise_f1:.4f}")


if __name__ == "__main__":
    main()
