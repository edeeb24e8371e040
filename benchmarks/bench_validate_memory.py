"""Peak memory and time of ``workbench validate`` (and ``ingest``) on one large CSV, against plain
``duckdb.read_csv`` on the same file, run side by side, on a scale curve (30, 100, 300 MB).

The file is the synthetic county's outreach contacts at a larger ``--scale`` (never padded with
extra fields): about 2.33 MB per unit of scale, so scales 13, 43 and 130 give about 30, 100 and
300 MB. Each measurement runs in a fresh subprocess, so its peak resident memory (max RSS) is its
own; CPU time (user + system) is reported beside wall time, as the machine may be shared.

The baseline reads the same file with DuckDB into an Arrow table of text (``all_varchar``): the cost
of holding the file's values once, with no checks. The ratios peak/file size and peak/DuckDB's peak
are comparable across machines where megabytes and seconds are not.

    python benchmarks/bench_validate_memory.py                       # 30, 100 and 300 MB, validate only
    python benchmarks/bench_validate_memory.py --megabytes 30 --ingest
    python benchmarks/bench_validate_memory.py --keep /tmp/counties   # keep the generated files
    python benchmarks/bench_validate_memory.py --pythonpath /tmp/old  # the workbench from another tree
    python benchmarks/bench_validate_memory.py --out benchmarks/results/validate_memory.md

Target (issue 16): validate at most 2x the file size in memory, in no more time than before. That
is below the baseline the issue names: plain ``duckdb.read_csv`` itself peaks at 2.2x the file at
300 MB (7x at 30 MB), so the target measured here is validate's peak at or below DuckDB's own peak
on the same file at 300 MB, with CPU time no worse than before.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MB_PER_SCALE = 2.334  # outreach_contacts.csv megabytes per unit of --scale (seed 20240401)
EXTRACT_DATE = "2026-09-30"


def _usage() -> dict:
    """Peak resident memory of this process and its CPU time. The peak is the kernel's high-water
    mark of this program (VmHWM), not ``ru_maxrss``, which Linux carries over from the parent."""
    r = resource.getrusage(resource.RUSAGE_SELF)
    peak_kb = r.ru_maxrss
    status = Path("/proc/self/status")
    if status.exists():
        peak_kb = next(int(line.split()[1]) for line in status.read_text().splitlines() if line.startswith("VmHWM:"))
    return dict(peak_mb=round(peak_kb / 1024), cpu_s=round(r.ru_utime + r.ru_stime, 1))


def _child(kind: str, path: Path, data_dir: Path | None) -> dict:
    """One measurement, in this (fresh) process."""
    t0 = time.perf_counter()
    if kind == "duckdb":
        import duckdb

        table = duckdb.read_csv(str(path), all_varchar=True).to_arrow_table()
        out = dict(rows=table.num_rows)
    else:
        from workbench.cli import app

        args = (["validate", str(path), "--extract-date", EXTRACT_DATE] if kind == "validate" else
                ["ingest", str(path.parent), "--data-dir", str(data_dir), "--linkage", "deterministic", "--no-progress"])
        try:
            app(args)
            code = 0
        except SystemExit as exc:  # the command's exit code
            code = exc.code
        out = dict(exit_code=code)
    return dict(kind=kind, seconds=round(time.perf_counter() - t0, 1), **out, **_usage())


def _run(kind: str, path: Path, data_dir: Path | None, pythonpath: str | None) -> dict:
    env = dict(os.environ)
    if kind != "duckdb":
        env["PYTHONPATH"] = pythonpath or str(ROOT)
    cmd = [sys.executable, __file__, "--child", kind, str(path)] + ([str(data_dir)] if data_dir else [])
    done = subprocess.run(cmd, capture_output=True, text=True, env=env)
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode or not lines:
        raise SystemExit(f"{kind} on {path} failed:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    return json.loads(lines[-1])


def _county_file(megabytes: float, keep: Path | None, work: Path) -> Path:
    """The outreach contacts of a county generated at the scale giving about ``megabytes``."""
    scale = round(megabytes / MB_PER_SCALE)
    folder = (keep or work) / f"outreach-scale-{scale}"
    target = folder / "outreach_contacts.csv"
    if not target.exists():  # generated in its own process: the measurements do not inherit its memory
        code = f"from workbench.synthetic import generate_county; generate_county({str(work / f'county-{scale}')!r}, scale={scale})"
        subprocess.run([sys.executable, "-c", code], check=True, env=dict(os.environ, PYTHONPATH=str(ROOT)))
        folder.mkdir(parents=True, exist_ok=True)
        shutil.move(work / f"county-{scale}" / "extracts" / "outreach_contacts.csv", target)
        shutil.rmtree(work / f"county-{scale}")
        (folder / "extract.yaml").write_text(f"extract_date: {EXTRACT_DATE}\nsynthetic: true\n")
    return target


def report(results: list[dict]) -> str:
    head = ("| file MB | rows | command | peak MB | x file | x DuckDB peak | wall s | CPU s | x DuckDB CPU |\n"
            "|---|---|---|---|---|---|---|---|---|")
    lines = [head]
    for r in results:
        base = r["duckdb"]
        lines.append(f"| {r['megabytes']:.0f} | {base['rows']:,} | duckdb.read_csv | {base['peak_mb']:,} | "
                     f"{base['peak_mb'] / r['megabytes']:.2f} | 1 | {base['seconds']} | {base['cpu_s']} | 1 |")
        for kind in ("validate", "ingest"):
            if kind in r:
                m = r[kind]
                lines.append(f"| {r['megabytes']:.0f} | | workbench {kind} | {m['peak_mb']:,} | "
                             f"{m['peak_mb'] / r['megabytes']:.2f} | {m['peak_mb'] / base['peak_mb']:.2f} | "
                             f"{m['seconds']} | {m['cpu_s']} | {m['cpu_s'] / max(base['cpu_s'], 0.1):.1f} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--megabytes", type=float, nargs="*", default=[30, 100, 300])
    parser.add_argument("--ingest", action="store_true", help="also measure workbench ingest (deterministic linkage)")
    parser.add_argument("--keep", type=Path, help="keep (and reuse) the generated files in this folder")
    parser.add_argument("--pythonpath", help="run the workbench from this source tree (to compare versions)")
    parser.add_argument("--out", type=Path, help="also write the table (Markdown) here")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        kind, path, *rest = args.child
        print(json.dumps(_child(kind, Path(path), Path(rest[0]) if rest else None)))
        return
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        for megabytes in args.megabytes:
            path = _county_file(megabytes, args.keep, work)
            size = path.stat().st_size / 1e6
            row = dict(megabytes=size, duckdb=_run("duckdb", path, None, None))
            row["validate"] = _run("validate", path, None, args.pythonpath)
            if args.ingest:
                row["ingest"] = _run("ingest", path, work / f"data-{megabytes}", args.pythonpath)
                shutil.rmtree(work / f"data-{megabytes}", ignore_errors=True)
            results.append(row)
            print("\n".join(report(results).splitlines()[-2 - int(args.ingest):]), flush=True)
    text = report(results)
    print(text)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text + "\n\n" + json.dumps(results, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
