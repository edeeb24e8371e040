"""The site-wide disclosure audit over every page x filter state of the default county (issue 20
item 3). Minutes of CPU: not part of the test suite (tests/dashboards/test_site_disclosure.py runs
a sample).

    python benchmarks/bench_site_disclosure.py [DATA_DIR] [--rolling N] [--pages overview,returns]

Without DATA_DIR it generates the default synthetic county (scale 1, default seed) in a temporary
folder and ingests it with the true linkage, as the demo does. ``--rolling N`` audits every run of
the last N quarters (the filters before fixed periods: the issue's 648 states are ``--rolling 8
--pages overview,returns,district_benchmarking`` with returns on its default breakdown);
without it, the fixed periods the filter offers. Writes the recoverable figures (with their true
values: keep the files inside the secure environment), the small counts a least-squares reader
could estimate to a standard error below 1, and a summary line to benchmarks/results/.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

RESULTS = Path(__file__).parent / "results"


def _county(tmp: Path) -> Path:
    from workbench.ingest.pipeline import ingest_folder
    from workbench.synthetic import DEFAULT_SEED, generate_county
    from workbench.synthetic.evaluation import TruthLinker

    generate_county(tmp / "county", seed=DEFAULT_SEED, scale=1.0, progress=False)
    ingest_folder(tmp / "county" / "extracts", tmp / "data", linkage=TruthLinker(tmp / "county" / "truth"), progress=False)
    return tmp / "data"


def main(argv: list[str] | None = None) -> int:
    from workbench.dashboards.aggregates import Period, load_aggregates
    from workbench.dashboards.pages import PAGE_SPECS
    from workbench.dashboards.protection import disclosure_policy
    from workbench.dashboards.site_audit import audit_site, shown_tables, site_states

    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("data_dir", nargs="?")
    ap.add_argument("--rolling", type=int, default=0)
    ap.add_argument("--pages", default=",".join(PAGE_SPECS))
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-site-") as tmp:
        data = Path(args.data_dir) if args.data_dir else _county(Path(tmp))
        agg = load_aggregates(data)
        policy = disclosure_policy()
        periods = None
        if args.rolling:
            qs, last = agg.quarters()[-args.rolling:], agg.last_month
            periods = [Period(qs[i].start, min(qs[j].end, last)) for i in range(len(qs)) for j in range(i, len(qs))]
        pages = args.pages.split(",")
        states = list(site_states(agg, periods=periods, pages=pages))
        if args.rolling:  # as the issue counted: each page on its default breakdown
            states = [(p, s) for p, s in states if s.group == (PAGE_SPECS[p].get("default_group") or None)]
        t0 = time.perf_counter()
        shown = shown_tables(agg, states, policy)
        t1 = time.perf_counter()
        result = audit_site(shown, policy, agg, states=len(states))
        t2 = time.perf_counter()
    r = result.recoverable
    small = int(((r["true"] >= 1) & (r["true"] < policy.threshold)).sum()) if len(r) else 0
    exact = int((r["lower"] == r["upper"]).sum()) if len(r) else 0
    line = (f"{'rolling ' + str(args.rolling) if args.rolling else 'fixed periods'}; pages {args.pages}: {result.summary()} "
            f"Of the recoverable: {exact} exactly, {small} true counts from 1 to {policy.threshold - 1}. "
            f"Tables built in {t1 - t0:.0f} s, solved in {t2 - t1:.0f} s.")
    print(line)
    RESULTS.mkdir(exist_ok=True)
    tag = f"rolling{args.rolling}" if args.rolling else "fixed"
    r.to_csv(RESULTS / f"site_disclosure_{tag}.recoverable.csv", index=False)
    result.averaged.to_csv(RESULTS / f"site_disclosure_{tag}.averaged.csv", index=False)
    with (RESULTS / "site_disclosure.txt").open("a", encoding="utf-8") as fh:
        fh.write(line + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
