"""Validate + ingest throughput (rows per second) and peak memory, at county scale and 10x and 100x.

Each scale runs in a fresh subprocess so its peak memory (max RSS) is its own. Beside each ingest,
the same files are read with plain ``pandas.read_csv`` (the floor: no validation, no linkage, no
store), and the ratio ingest/read is reported: it is the cost of validation, linkage,
pseudonymisation and the store, and is comparable across machines where seconds are not.

    python benchmarks/bench_ingest.py                 # scales 1, 10, 100
    python benchmarks/bench_ingest.py --scales 1 10   # a subset
    python benchmarks/bench_ingest.py --rows 1000000  # exactly one million outreach rows

Target (issue 2): one million rows validated and ingested in under 60 s on a 2-core machine.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _one(scale: float, rows: int | None, workdir: Path) -> dict:
    import pandas as pd

    from workbench.ingest.pipeline import ingest_folder

    if rows:
        # One source at an exact row count, made from the contract (no generator cost in the timing).
        sys.path.insert(0, str(ROOT / "tests"))
        from factories import valid_frame

        from workbench.contracts import load_contracts

        folder = workdir / "extracts"
        folder.mkdir()
        contract = load_contracts()["outreach_contacts"]
        frame = valid_frame(contract, rows, seed=1)
        frame.to_csv(folder / "outreach_contacts.csv", index=False)
        (folder / "extract.yaml").write_text("extract_date: 2026-09-30\nsynthetic: true\n")
    else:
        from workbench.synthetic import generate_county

        generate_county(workdir / "county", scale=scale, progress=False)
        folder = workdir / "county" / "extracts"
    files = sorted(folder.glob("*.csv"))
    size = sum(p.stat().st_size for p in files)
    t0 = time.perf_counter()
    n_read = sum(len(pd.read_csv(p, dtype=str, keep_default_na=False)) for p in files)
    read_s = time.perf_counter() - t0
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t0 = time.perf_counter()
    report = ingest_folder(folder, workdir / "data", linkage="deterministic", progress=False)
    ingest_s = time.perf_counter() - t0
    return dict(scale=scale, rows=report.rows_read, rows_check=n_read, megabytes=round(size / 1e6, 1),
                read_seconds=round(read_s, 2), ingest_seconds=round(ingest_s, 2),
                rows_per_second=round(report.rows_read / ingest_s), ratio_to_read=round(ingest_s / read_s, 1),
                peak_rss_mb=round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
                rss_before_ingest_mb=round(rss_before / 1024),
                reconciles=report.rows_read == report.rows_accepted + report.rows_quarantined)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scales", type=float, nargs="*", default=[1, 10, 100])
    parser.add_argument("--rows", type=int, help="benchmark exactly this many rows of one source instead")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        with tempfile.TemporaryDirectory() as tmp:
            print(json.dumps(_one(args.scales[0], args.rows, Path(tmp))))
        return
    runs = [(None, args.rows)] if args.rows else [(s, None) for s in args.scales]
    print(f"{'scale':>6} {'rows':>10} {'MB':>7} {'read s':>7} {'ingest s':>9} {'rows/s':>9} {'x read':>7} {'peak MB':>8}")
    for scale, rows in runs:
        cmd = [sys.executable, __file__, "--child", "--scales", str(scale or 1)] + (["--rows", str(rows)] if rows else [])
        out = subprocess.run(cmd, capture_output=True, text=True, check=True)
        r = json.loads(out.stdout.strip().splitlines()[-1])
        print(f"{r['scale'] if not rows else '-':>6} {r['rows']:>10,} {r['megabytes']:>7} {r['read_seconds']:>7} "
              f"{r['ingest_seconds']:>9} {r['rows_per_second']:>9,} {r['ratio_to_read']:>7} {r['peak_rss_mb']:>8}")


if __name__ == "__main__":
    main()
