"""What changed since last quarter: records, and each study's headline figures then and now.

``compare_snapshots(data_dir)`` compares the latest snapshot with the one before it (or any two).
For each study's headline figures it gives three runs:

* **then**: the study on the earlier snapshot, as it was reported;
* **same period, now**: the study on the later snapshot restricted to the earlier run's period
  (entries up to the earlier extract date): what the later data say about the earlier period;
* **now**: the study on the later snapshot.

So ``now - then`` splits into *revisions to earlier periods* (same period now - then: late-recorded
ends, corrections, longer follow-up, relinking) and *the new period* (now - same period now).
Counts are not compared here (they go to the board through the shareable exports only); the
headline figures compared are rates, shares, ratios and times.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from workbench.spreadsheets import write_csv, write_excel
from workbench.store import SnapshotNotFound, Store
from workbench.store.changes import record_changes
from workbench.store.reader import Snapshot

DEFAULT_STUDIES = ("returns", "new_arrivals", "supported_housing", "system_performance")


def headline_figures(estimates: dict, prefix: str = "") -> dict[str, float]:
    """The study's headline estimates as name -> number: rates, shares, ratios and times (not counts).
    An ``[estimate, lower, upper]`` triple gives its estimate."""
    out: dict[str, float] = {}
    for key, value in estimates.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(headline_figures(value, f"{name}."))
        elif isinstance(value, list | tuple) and len(value) == 3 and all(isinstance(v, int | float) for v in value):
            out[name] = float(value[0])
        elif isinstance(value, float) and not isinstance(value, bool) and math.isfinite(value):
            out[name] = value
    return out


def _previous(store: Store) -> Store:
    snapshots = store.snapshots()
    earlier = snapshots[snapshots["seq"] < store.snapshot.seq]
    if earlier.empty:
        raise SnapshotNotFound(f"The store in {store.data_dir} holds only one snapshot ({store.ingest_id}); there is "
                         "nothing to compare it with yet.")
    return Store(store.data_dir, as_of=str(earlier["ingest_id"].iloc[-1]))


def _same_period(then_parameters: dict, extract_date: dt.date) -> dict[str, str]:
    start = then_parameters.get("period_start") or None
    end = then_parameters.get("period_end") or extract_date.isoformat()
    return {k: str(v)[:10] for k, v in (("period_start", start), ("period_end", end)) if v}


def headline_changes(before: Store, after: Store, studies: Sequence[str]) -> pd.DataFrame:
    from workbench.studies import entry_point

    rows = []
    for name in studies:
        run = entry_point(name)
        then = run(before)
        same = run(after, **_same_period(then.parameters, before.snapshot.extract_date))
        now = run(after)
        a, s, n = (headline_figures(r.estimates) for r in (then, same, now))
        for figure in sorted(set(a) & set(n)):
            rows.append({"study": name, "figure": figure, "then": a[figure], "same_period_now": s.get(figure),
                         "now": n[figure]})
    out = pd.DataFrame(rows, columns=["study", "figure", "then", "same_period_now", "now"])
    out["change"] = out["now"] - out["then"]
    out["from_revisions"] = out["same_period_now"] - out["then"]
    out["from_new_period"] = out["now"] - out["same_period_now"]
    return out


@dataclass
class ChangesReport:
    before: Snapshot
    after: Snapshot
    records: pd.DataFrame  # per source and district: added, revised, relinked, vanished, unchanged
    fields: pd.DataFrame  # per source and column: records revised
    headlines: pd.DataFrame  # per study and figure: then, same period now, now, and the split

    def text(self, max_figures: int = 8) -> str:
        b, a = self.before, self.after
        out = [f"# What changed: ingest {b.ingest_id} (extracts dated {b.extract_date:%d %B %Y}) to ingest "
               f"{a.ingest_id} (extracts dated {a.extract_date:%d %B %Y})", ""]
        totals = self.records.groupby("source")[["added", "revised", "relinked", "vanished"]].sum()
        for source, t in totals.iterrows():
            parts = [f"{t.added:,} records added", f"{t.revised:,} revised", f"{t.vanished:,} no longer sent"]
            if t.relinked:
                parts.append(f"{t.relinked:,} linked to a different person")
            top = self.fields[self.fields.source == source].nlargest(3, "records_revised")
            detail = "; most often " + ", ".join(f"{r.column} ({r.records_revised:,})" for r in top.itertuples()) if len(top) else ""
            out.append(f"- {source.replace('_', ' ').capitalize()}: {', '.join(parts)}{detail}.")
        out.append("")
        for r in self.headlines.head(max_figures * len(self.headlines.study.unique())).itertuples():
            if pd.isna(r.same_period_now):
                split = ""
            else:
                split = f" ({r.from_revisions:+.3g} from revisions to the earlier period, {r.from_new_period:+.3g} from the new period)"
            out.append(f"- {r.study}, {r.figure}: {r.then:.3g} then, {r.now:.3g} now, a change of {r.change:+.3g}{split}.")
        out += ["", "Tables: records.csv (per source and district), fields.csv (revised fields), headlines.csv.",
                "This report is for the secure environment: record counts by district are not disclosure-controlled."]
        return "\n".join(out)

    def export(self, folder: str | Path) -> Path:
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        tables = {"records": self.records, "fields": self.fields, "headlines": self.headlines}
        for name, table in tables.items():
            write_csv(table, folder / f"{name}.csv", index=False)
        with pd.ExcelWriter(folder / "changes.xlsx") as xl:
            for name, table in tables.items():
                write_excel(table, xl, sheet_name=name, index=False)
        (folder / "changes.md").write_text(self.text() + "\n", encoding="utf-8")
        return folder


def compare_snapshots(data_dir: str | Path | None = None, before: str | None = None, after: str | None = None,
                      studies: Sequence[str] = DEFAULT_STUDIES) -> ChangesReport:
    """Compare two snapshots (default: the latest and the one before it)."""
    from workbench.contracts import load_contracts

    later = Store(data_dir, as_of=after or "latest")
    earlier = Store(data_dir, as_of=before) if before else _previous(later)
    if earlier.snapshot.seq >= later.snapshot.seq:
        raise SnapshotNotFound(f"{earlier.ingest_id} is not earlier than {later.ingest_id}.")
    record_ids = {c.name: c.record_id for c in load_contracts().contracts.values()}
    records, fields = record_changes(earlier, later, record_ids)
    return ChangesReport(earlier.snapshot, later.snapshot, records, fields, headline_changes(earlier, later, studies))
