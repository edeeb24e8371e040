"""Consecutive quarters of extracts from one synthetic county, with late-recorded changes.

The MEAL routine ingests a new quarter's cumulative extracts every three months. To test it, the
county generated at its final extract date is cut back to earlier extract dates: the extract at
date D holds every record whose event (its contract's ``event_date``) is on or before D, with
everything that happened after D blanked (an end after D, and the end's reason, are not yet
known). On top of that, a stated share of the ends that happened in each quarter is *recorded
late*: blank in that quarter's extract and filled in the next one, as a provider updating its
system after the extract was taken. ``late_recorded.csv`` lists each planted late record.

So between two consecutive extracts a record can be added (its event fell in the quarter), revised
(an end in the quarter, or a late-recorded end from an earlier quarter), or unchanged. The
expected changes follow from the files themselves; the planted late records are the ones a
quarterly report must attribute to earlier periods.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import yaml


def later_events(contract) -> dict[str, list[str]]:
    """Date fields that record something after the record's event (every date field but the event
    and identifiers), each with the fields blanked with it, by the contract's ``requires`` rules:
    fields that require it (an end requires its start) and the reasons it requires (an end's reason)."""
    dates = {f.name for f in contract.fields if f.type == "date"}
    requires = [r for r in contract.rules if r.kind == "requires"]
    out = {}
    for field in sorted(dates - {contract.event_date} - set(contract.identifier_fields)):
        found, todo = [], [field]
        while todo:
            blank = todo.pop()
            for r in requires:
                other = r.field if r.reference == blank else r.reference if r.field == blank and r.reference not in dates else None
                if other and other != field and other not in found:
                    found.append(other)
                    todo.append(other)
        out[field] = found
    return out


def late_recordable(contract) -> list[str]:
    """The ends a provider may record late: date fields that require a reason."""
    dates = {f.name for f in contract.fields if f.type == "date"}
    return [r.field for r in contract.rules if r.kind == "requires" and r.field in dates and r.reference not in dates]


def _dates(values: pd.Series) -> pd.Series:
    return pd.to_datetime(values.where(values != ""), errors="coerce", format="mixed", dayfirst=True)


def cut_back(frame: pd.DataFrame, contract, when: pd.Timestamp) -> pd.DataFrame:
    """The extract as it stood at ``when``: records with an event by then, later happenings blank."""
    keep = _dates(frame[contract.event_date]) <= when
    out = frame[keep].copy()
    for field, dependents in later_events(contract).items():
        future = _dates(out[field]) > when
        for column in [field, *dependents]:
            out.loc[future, column] = ""
    return out


def quarterly_extracts(extracts_dir: str | Path, out_dir: str | Path, extract_dates: Sequence[dt.date], *,
                       late_share: float = 0.2, seed: int = 0) -> list[Path]:
    """Write one folder of extracts per date in ``extract_dates`` (ascending; the last must not be
    after the county's own extract date) under ``out_dir``; return the folders."""
    from workbench.contracts import load_contracts

    extracts_dir, out_dir = Path(extracts_dir), Path(out_dir)
    contracts = load_contracts()
    manifest = yaml.safe_load((extracts_dir / "extract.yaml").read_text(encoding="utf-8"))
    rng = np.random.default_rng(seed)
    dates = [pd.Timestamp(d) for d in extract_dates]
    frames = {entry["path"]: pd.read_csv(extracts_dir / entry["path"], dtype=str, keep_default_na=False)
              for entry in manifest["files"]}
    sources = {entry["path"]: entry["source"] for entry in manifest["files"]}
    late_rows = []
    folders = []
    for k, when in enumerate(dates):
        folder = out_dir / f"{when.date().isoformat()}"
        folder.mkdir(parents=True, exist_ok=True)
        previous = dates[k - 1] if k else when - pd.DateOffset(months=3)
        for path, frame in frames.items():
            source = sources[path]
            contract = contracts[source]
            quarter = cut_back(frame, contract, when)
            if k < len(dates) - 1:  # the last quarter's ends are as the county has them
                for field in late_recordable(contract):
                    ended = _dates(quarter[field])
                    in_quarter = quarter.index[(ended > previous) & (ended <= when)]
                    late = in_quarter[rng.random(len(in_quarter)) < late_share]
                    for column in [field, *later_events(contract)[field]]:
                        quarter.loc[late, column] = ""
                    late_rows.append(pd.DataFrame({"extract_date": when.date().isoformat(), "file": path,
                                                   "source": source, "record_id": quarter.loc[late, contract.record_id],
                                                   "column": field}))
            quarter.to_csv(folder / path, index=False)
        (folder / "extract.yaml").write_text(yaml.safe_dump(
            {**manifest, "extract_date": when.date()}, sort_keys=False), encoding="utf-8")
        folders.append(folder)
    pd.concat(late_rows, ignore_index=True).to_csv(out_dir / "late_recorded.csv", index=False)
    return folders
