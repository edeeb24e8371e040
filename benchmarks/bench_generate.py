"""Benchmark the synthetic county generator: time, rows, bytes and peak memory by scale.

    python benchmarks/bench_generate.py                 # scales 1, 10 and 100
    python benchmarks/bench_generate.py --scales 1 10   # a shorter curve

Each scale runs in its own subprocess so peak memory (ru_maxrss) is measured per scale.
Output goes to a temporary folder that is removed afterwards.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
from pathlib import Path


def _one(scale: float, seed: int) -> dict:
    from workbench.synthetic import generate_county

    with tempfile.TemporaryDirectory(prefix="bench_county_") as tmp:
        result = generate_county(tmp, seed=seed, scale=scale)
        extract_bytes = sum(p.stat().st_size for p in Path(result.extracts_dir).glob("*"))
        truth_bytes = sum(p.stat().st_size for p in Path(result.truth_dir).glob("*"))
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # kilobytes on Linux
    return {"scale": scale, "seconds": result.seconds, "rows": sum(result.counts.values()),
            "extract_mb": extract_bytes / 1e6, "truth_mb": truth_bytes / 1e6, "peak_mb": peak_kb / 1024,
            "counts": result.counts}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scales", type=float, nargs="+", default=[1.0, 10.0, 100.0])
    parser.add_argument("--seed", type=int, default=20240401)
    parser.add_argument("--one", type=float, help=argparse.SUPPRESS)  # internal: run one scale, print JSON
    args = parser.parse_args(argv)
    if args.one is not None:
        print(json.dumps(_one(args.one, args.seed)))
        return
    rows = []
    for scale in args.scales:
        out = subprocess.run([sys.executable, __file__, "--one", str(scale), "--seed", str(args.seed)],
                             check=True, capture_output=True, text=True)
        rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
        r = rows[-1]
        print(f"scale {r['scale']:>6g}: {r['seconds']:8.1f} s", file=sys.stderr)
    print(f"{'scale':>8} {'seconds':>9} {'rows':>12} {'rows/s':>10} {'extracts MB':>12} {'truth MB':>9} {'peak MB':>8}")
    for r in rows:
        print(f"{r['scale']:>8g} {r['seconds']:>9.1f} {r['rows']:>12,} {r['rows'] / r['seconds']:>10,.0f} "
              f"{r['extract_mb']:>12.1f} {r['truth_mb']:>9.1f} {r['peak_mb']:>8.0f}")
    print()
    print("rows per source:")
    for r in rows:
        print(f"  scale {r['scale']:g}: " + ", ".join(f"{k}={v:,}" for k, v in r["counts"].items()))


if __name__ == "__main__":
    main()
