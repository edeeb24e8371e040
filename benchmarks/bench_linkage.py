"""Person linkage time and peak memory at county scale and 10x and 100x, splink beside the
deterministic baseline.

Each scale runs in fresh subprocesses: one generates the synthetic county (not timed), one
validates its extracts into the linkage frame and links it, so the peak memory (max RSS) reported is
that of validation + linkage alone. Beside splink's time the deterministic rules' time is given and
the ratio splink/deterministic, which is comparable across machines where seconds are not; quality
against the county's truth is printed too.

    python benchmarks/bench_linkage.py                    # scales 1, 10, 100
    python benchmarks/bench_linkage.py --scales 1 10      # a subset (100x can take long)
    python benchmarks/bench_linkage.py --timeout 3600     # give up on a scale after an hour
    python benchmarks/bench_linkage.py --scales 100 --profile large_population --keep /tmp/counties
                                                          # the settings for dense populations; keep
                                                          # the generated counties for another run

Target (issue 4): county scale in under 60 s on a 2-core machine.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def _rss_mb() -> int:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)


def _generate(scale: float, out: Path) -> dict:
    from workbench.synthetic import generate_county

    t0 = time.perf_counter()
    generate_county(out, scale=scale, progress=False)
    return dict(generate_seconds=round(time.perf_counter() - t0, 1))


def _link(county: Path, profile: str | None = None) -> dict:
    import numpy as np

    from workbench.ingest.pipeline import extracts_linkage_frame
    from workbench.linkage.deterministic import link_deterministic
    from workbench.linkage.model import link_frame
    from workbench.linkage.quality import linkage_quality
    from workbench.linkage.settings import load_settings
    from workbench.synthetic.evaluation import link_truth

    t0 = time.perf_counter()
    frame = extracts_linkage_frame(county / "extracts")
    frame_s = time.perf_counter() - t0
    rss_frame = _rss_mb()

    t0 = time.perf_counter()
    det = link_deterministic(frame)
    det_s = time.perf_counter() - t0

    t0 = time.perf_counter()
    result = link_frame(frame, load_settings(profile=profile))
    splink_s = time.perf_counter() - t0
    rss_peak = _rss_mb()

    truth = link_truth(frame, county / "truth")
    q, qd = linkage_quality(truth, result.labels), linkage_quality(truth, det)
    return dict(records=len(frame), frame_seconds=round(frame_s, 1), deterministic_seconds=round(det_s, 2),
                splink_seconds=round(splink_s, 1), ratio=round(splink_s / max(det_s, 1e-3)),
                stages={k: round(v, 1) for k, v in result.seconds.items()}, pairs_scored=len(result.pairs),
                rss_after_frame_mb=rss_frame, peak_rss_mb=rss_peak,
                precision=round(q.pairwise_precision, 4), recall=round(q.pairwise_recall, 4), f1=round(q.pairwise_f1, 4),
                bcubed_f1=round(q.bcubed_f1, 4), deterministic_f1=round(qd.pairwise_f1, 4),
                people=int(np.unique(result.labels).size), cores=os.cpu_count())


def _child(cmd: list[str], timeout: float | None) -> dict:
    out = subprocess.run([sys.executable, __file__, *cmd], capture_output=True, text=True, timeout=timeout)
    if out.returncode != 0:
        raise RuntimeError(out.stderr.strip().splitlines()[-1] if out.stderr.strip() else f"exit {out.returncode}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scales", type=float, nargs="*", default=[1, 10, 100])
    parser.add_argument("--timeout", type=float, default=None, help="seconds allowed per scale's linkage")
    parser.add_argument("--json", action="store_true", help="print one JSON line per scale as well")
    parser.add_argument("--profile", help="linkage settings profile (e.g. large_population); default: the base settings")
    parser.add_argument("--keep", help="folder to keep generated counties in (scale<N>/), reused when present")
    parser.add_argument("--generate", help=argparse.SUPPRESS)
    parser.add_argument("--link", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.generate:
        print(json.dumps(_generate(args.scales[0], Path(args.generate))))
        return
    if args.link:
        print(json.dumps(_link(Path(args.link), args.profile)))
        return

    print(f"{'scale':>5} {'records':>10} {'validate s':>10} {'determ. s':>9} {'splink s':>9} {'ratio':>6} "
          f"{'pairs':>11} {'peak MB':>8} {'precision':>9} {'recall':>7} {'F1':>6} {'B3-F1':>6}  stages")
    print(f"settings: {args.profile or 'base'}")
    for scale in args.scales:
        with tempfile.TemporaryDirectory(prefix="bench-linkage-") as tmp:
            county = Path(args.keep) / f"scale{scale:g}" if args.keep else Path(tmp) / "county"
            try:
                if not county.exists():
                    # Generated beside, then renamed: an interrupted run leaves no half county to reuse.
                    partial = county.with_name(county.name + ".partial")
                    _child(["--scales", str(scale), "--generate", str(partial)], None)
                    partial.rename(county)
                profile = ["--profile", args.profile] if args.profile else []
                r = _child(["--link", str(county), *profile], args.timeout)
            except subprocess.TimeoutExpired:
                print(f"{scale:>5g}  did not finish within {args.timeout:g} s")
                continue
            except RuntimeError as exc:
                print(f"{scale:>5g}  failed: {exc}")
                continue
        print(f"{scale:>5g} {r['records']:>10,} {r['frame_seconds']:>10} {r['deterministic_seconds']:>9} "
              f"{r['splink_seconds']:>9} {r['ratio']:>6} {r['pairs_scored']:>11,} {r['peak_rss_mb']:>8,} "
              f"{r['precision']:>9} {r['recall']:>7} {r['f1']:>6} {r['bcubed_f1']:>6}  {r['stages']}", flush=True)
        if args.json:
            print(json.dumps(dict(scale=scale, **r)), flush=True)


if __name__ == "__main__":
    main()
