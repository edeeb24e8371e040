"""How the store grows with quarters: snapshots kept as record versions against a copy per quarter.

Generates the synthetic county, cuts it back to consecutive quarterly extracts (with late-recorded
ends, ``workbench.synthetic.quarters``), ingests them one after another into one store, and after
each ingest reports the store's size, the record versions it holds and the rows of the latest
snapshot; beside it, the size of a store holding only that quarter (what a copy per quarter would
add each time).

    python benchmarks/bench_store_growth.py --quarters 4 --scale 1 --out benchmarks/results/store_growth.csv
"""

from __future__ import annotations

import argparse
import datetime as dt
import tempfile
import time
from pathlib import Path

import duckdb
import pandas as pd

from workbench.ingest.pipeline import ingest_folder
from workbench.store import Store
from workbench.synthetic import DEFAULT_SEED, generate_county
from workbench.synthetic.evaluation import TruthLinker
from workbench.synthetic.quarters import quarterly_extracts


def _versions(path: Path) -> int:
    with duckdb.connect(str(path), read_only=True) as con:
        tables = [r[0] for r in con.execute("select table_name from information_schema.tables "
                                            "where table_name like '%\\_\\_history' escape '\\'").fetchall()]
        return sum(con.execute(f'select count(*) from "{t}"').fetchall()[0][0] for t in tables)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quarters", type=int, default=4)
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/store_growth.csv"))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        generate_county(tmp / "county", seed=DEFAULT_SEED, scale=args.scale)
        last = dt.date(2026, 9, 30)
        dates = [(pd.Timestamp(last) - pd.DateOffset(months=3 * k) + pd.offsets.MonthEnd(0)).date()
                 for k in reversed(range(args.quarters))]
        folders = quarterly_extracts(tmp / "county" / "extracts", tmp / "quarters", dates, late_share=0.2, seed=1)
        linker = TruthLinker(tmp / "county" / "truth")
        rows = []
        for k, folder in enumerate(folders):
            started = time.perf_counter()
            ingest_folder(folder, tmp / "store", linkage=linker, progress=False)
            seconds = time.perf_counter() - started
            alone = tmp / f"alone{k}"
            ingest_folder(folder, alone, linkage=linker, progress=False)
            store = Store(tmp / "store")
            latest_rows = sum(len(store.table(s)) for s in store.sources() if s in store.tables())
            rows.append({"quarter": k + 1, "extract_date": dates[k].isoformat(), "ingest_seconds": round(seconds, 1),
                         "store_mb": (tmp / "store" / "workbench.duckdb").stat().st_size / 1e6,
                         "one_quarter_store_mb": (alone / "workbench.duckdb").stat().st_size / 1e6,
                         "record_versions": _versions(tmp / "store" / "workbench.duckdb"),
                         "latest_snapshot_rows": latest_rows})
            print(rows[-1], flush=True)
    table = pd.DataFrame(rows)
    table["copies_per_quarter_mb"] = table["one_quarter_store_mb"].cumsum()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    table.round(2).to_csv(args.out, index=False)
    print(table.round(2).to_string(index=False))


if __name__ == "__main__":
    main()
