"""The source tables as the system performance measures read them: typed, de-duplicated, dated.

Every measure takes either a :class:`~workbench.store.Store` or a :class:`SourceTables`. Tests and
notebooks can build a :class:`SourceTables` from small hand-made frames with only the columns they
need (:meth:`SourceTables.from_frames`); the missing contract columns are added as blanks and every
column gets its contract type, so a measure never has to guess.

**Duplicate records.** Extracts hold the same event recorded twice under two record ids (the
synthetic county plants about 1.5%). A duplicate is a second record of the same source with the
same person, the same main date, the same district and the same kind of record
(:data:`DUPLICATE_KEYS`); the measures keep the most complete record of each group (then the first
in the file) and the data-quality scorecard reports the rest.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from workbench.contracts import load_contracts
from workbench.definitions import SOURCES, definition

#: Columns that identify "the same event" in each source (a duplicate record shares all of them).
DUPLICATE_KEYS: dict[str, list[str]] = definition("duplicate_record_keys")


def _typed(name: str, frame: pd.DataFrame) -> pd.DataFrame:
    """Give every contract column its type and add the missing ones as blanks."""
    contract = load_contracts()[name]
    out = frame.copy()
    for spec in contract.fields:
        if spec.is_identifier:
            continue
        col = spec.name
        if col not in out.columns:
            out[col] = pd.NaT if spec.type == "date" else pd.NA
        if spec.type == "date":
            out[col] = pd.to_datetime(out[col], errors="coerce")
        elif spec.type == "boolean":
            out[col] = out[col].astype("boolean")
        elif spec.type == "integer":
            out[col] = pd.to_numeric(out[col], errors="coerce")
        else:
            out[col] = out[col].astype(object).where(out[col].notna(), None)
    if "person_id" not in out.columns:
        raise ValueError(f"{name}: a person_id column is needed")
    out["person_id"] = out["person_id"].astype(str)
    age_col = f"age_at_{contract.event_date}"
    out[age_col] = pd.to_numeric(out[age_col], errors="coerce") if age_col in out.columns else np.nan
    for col, default in (("source_file", f"{name}.csv"), ("source_row", None)):
        if col not in out.columns:
            out[col] = default if default is not None else np.arange(2, len(out) + 2)
    return out.reset_index(drop=True)


def split_duplicates(name: str, frame: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(records kept, duplicate records removed): one record per :data:`DUPLICATE_KEYS` group,
    the most complete one (most filled-in cells), then the first in the file."""
    keys = [k for k in DUPLICATE_KEYS[name] if k in frame.columns]
    if not len(frame):
        return frame, frame.iloc[0:0]
    filled = frame.notna().sum(axis=1)
    order = frame.assign(_filled=-filled).sort_values(["_filled", "source_file", "source_row"], kind="stable")
    dup = order.duplicated(keys, keep="first")
    kept = frame.loc[order.index[~dup.to_numpy()]].sort_index()
    removed = frame.loc[order.index[dup.to_numpy()]].sort_index()
    return kept, removed


@dataclass
class SourceTables:
    """The six source tables (typed and de-duplicated) and the extract date."""

    tables: dict[str, pd.DataFrame]
    extract_date: pd.Timestamp
    duplicates: dict[str, pd.DataFrame] = field(default_factory=dict)  # removed duplicate records
    store: Any = None  # the Store they came from, if any (for ingests / quarantine_log)
    cache: dict[Any, Any] = field(default_factory=dict, repr=False)  # derived tables, built once

    def __getitem__(self, name: str) -> pd.DataFrame:
        return self.tables[name]

    @classmethod
    def from_frames(
        cls,
        extract_date: Any,
        frames: Mapping[str, pd.DataFrame] | None = None,
        *,
        deduplicate: bool = True,
        store: Any = None,
        **more: pd.DataFrame,
    ) -> SourceTables:
        """Build from frames keyed by source name; absent sources are empty tables."""
        given = {**(frames or {}), **more}
        unknown = set(given) - set(SOURCES)
        if unknown:
            raise ValueError(f"not a source: {sorted(unknown)}; the sources are {list(SOURCES)}")
        tables, dups = {}, {}
        for name in SOURCES:
            frame = given.get(name)
            frame = _typed(name, frame if frame is not None else pd.DataFrame({"person_id": pd.Series(dtype=str)}))
            if deduplicate:
                frame, dups[name] = split_duplicates(name, frame)
            else:
                dups[name] = frame.iloc[0:0]
            tables[name] = frame
        return cls(tables=tables, extract_date=pd.Timestamp(extract_date), duplicates=dups, store=store)

    @classmethod
    def from_store(cls, store: Any, *, deduplicate: bool = True) -> SourceTables:
        have = set(store.tables())
        frames = {name: store.table(name) for name in SOURCES if name in have}
        return cls.from_frames(store.meta()["extract_date"], frames, deduplicate=deduplicate, store=store)


def as_sources(source: Any) -> SourceTables:
    """A :class:`SourceTables` from a Store or a SourceTables (returned as is)."""
    if isinstance(source, SourceTables):
        return source
    if hasattr(source, "table") and hasattr(source, "meta"):
        return SourceTables.from_store(source)
    raise TypeError("expected a workbench Store or a SourceTables")


def has_need(needs: pd.Series, code: str) -> pd.Series:
    """1 where the ';'-separated support needs include ``code``, else 0."""
    text = needs.astype(object).where(needs.notna(), "").astype(str)
    return text.str.contains(rf"(?:^|;){re.escape(code)}(?:;|$)", regex=True).astype(int)


def need_count(needs: pd.Series) -> pd.Series:
    """Number of support needs recorded (0 when blank)."""
    text = needs.astype(object).where(needs.notna(), "").astype(str).str.strip(";")
    return (text.str.count(";") + 1).where(text != "", 0).astype(int)
