"""The data-quality scorecard: per source and district, how complete, duplicated, stale and
quarantined the records are.

Measures (each a count over a denominator, so it can be protected and charted):

- ``completeness:<field>``: share of records with the field filled in (blank and "not known"
  count as missing). Fields that apply only to ended records (an end reason, a destination) are
  judged over ended records. Key fields per source are in :data:`KEY_FIELDS`.
- ``duplicates``: records that repeat another record of the same source for the same person on
  the same main date in the same district (:data:`~workbench.measures.sources.DUPLICATE_KEYS`),
  over all records. For outreach contacts a second contact on the same day can be genuine (two
  shifts), so there it is "possible duplicates".
- ``stale_open:<episode>``: episodes still open long after they normally end - prevention or
  relief duties open more than ``stale_open_days`` (120) days, stays in supported accommodation
  open more than 730 days - over open episodes of that kind. Most are end dates not yet recorded
  (late records); they keep people "active" on the By Name List and flatter tenancy sustainment.
- ``recent_share``: records dated in the last 90 days before the extract, over the average
  number per 90 days in the year before that. Well below 1 suggests records arrive late.
- ``quarantined``: rows of the latest ingest refused by validation (``ingests`` /
  ``quarantine_log``), over rows read; per district where the source sends one file per district.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pandas as pd

#: Key fields per source: (field, applies to: "all" records or only "ended" ones).
from workbench.definitions import COUNTY, DISTRICTS, SOURCES, definition, event_date
from workbench.measures.sources import as_sources

#: Key fields per source: (field, applies to: "all" records or only "ended" ones).
KEY_FIELDS: dict[str, list[list[str]]] = definition("system_performance", "data_quality", "key_fields")
COLUMNS = ["source", "district", "measure", "numerator", "denominator", "value", "detail"]


def settings() -> dict[str, Any]:
    return definition("system_performance", "data_quality")


def _per_district(source: str, district: pd.Series, numerator: pd.Series, measure: str, detail: str = "") -> pd.DataFrame:
    f = pd.DataFrame({"district": district.fillna("not recorded").to_numpy(), "num": numerator.astype(int).to_numpy()})
    both = pd.concat([f, f.assign(district=COUNTY)], ignore_index=True)
    g = both.groupby("district")["num"].agg(numerator="sum", denominator="count").reset_index()
    g["source"], g["measure"], g["detail"] = source, measure, detail
    g["value"] = g["numerator"] / g["denominator"]
    return g[COLUMNS]


def completeness(source: Any) -> pd.DataFrame:
    """Share of records with each key field filled in, per source and district."""
    src = as_sources(source)
    parts = []
    for name, fields in KEY_FIELDS.items():
        f = src[name]
        if not len(f):
            continue
        for col, applies in fields:
            rows = f
            if applies == "ended":
                rows = f[f["end_date"].notna()]
            if not len(rows) or col not in rows:
                continue
            v = rows[col]
            filled = v.notna() & (v.astype(object) != "not_known")
            parts.append(_per_district(name, rows["district"], filled, f"completeness:{col}",
                                       "share filled in" + (" (ended records)" if applies == "ended" else "")))
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=COLUMNS)


def duplicates(source: Any) -> pd.DataFrame:
    """Duplicate records (removed from the measures) over all records, per source and district."""
    src = as_sources(source)
    parts = []
    for name in SOURCES:
        kept, dup = src[name], src.duplicates.get(name, src[name].iloc[0:0])
        if not len(kept) + len(dup):
            continue
        allrec = pd.concat([kept.assign(_dup=False), dup.assign(_dup=True)], ignore_index=True)
        label = "possible duplicates" if name == "outreach_contacts" else "duplicates"
        parts.append(_per_district(name, allrec["district"], allrec["_dup"], "duplicates",
                                   f"{label}: same person, main date and district"))
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=COLUMNS)


def stale_open_episodes(source: Any) -> pd.DataFrame:
    """Open episodes older than the usual longest length, over open episodes, per district."""
    src = as_sources(source)
    cfg = settings()["stale_open_days"]
    x = src.extract_date
    sc, sa = src["statutory_cases"], src["supported_accommodation"]
    parts = []
    specs = [
        ("statutory_cases", "prevention_duty", sc[sc["prevention_duty_start"].notna() & sc["prevention_duty_end"].isna()
                                                  & sc["relief_duty_start"].isna()], "prevention_duty_start"),
        ("statutory_cases", "relief_duty", sc[sc["relief_duty_start"].notna() & sc["relief_duty_end"].isna()], "relief_duty_start"),
        ("supported_accommodation", "supported_accommodation",
         sa[(sa["model"] != "housing_first") & sa["end_date"].isna()], "start_date"),
    ]
    for table, kind, open_, start in specs:
        if not len(open_):
            continue
        days = int(cfg[kind])
        stale = (x - open_[start]).dt.days > days
        parts.append(_per_district(table, open_["district"], stale, f"stale_open:{kind}",
                                   f"open more than {days} days (end date probably not recorded)"))
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=COLUMNS)


def recent_share(source: Any) -> pd.DataFrame:
    """Records dated in the last ``recent_days`` against the average per ``recent_days`` over
    the year before (numerator: recent records; denominator: the expected number, rounded)."""
    src = as_sources(source)
    days = int(settings()["recent_days"])
    x = src.extract_date
    rows = []
    for name in SOURCES:
        col = event_date(name)
        f = src[name]
        if not len(f):
            continue
        d = f[col]
        recent = d > x - pd.Timedelta(days=days)
        year = (d <= x - pd.Timedelta(days=days)) & (d > x - pd.Timedelta(days=days + 365))
        for district, g in [*f.groupby("district"), (COUNTY, f)]:
            r, y = int(recent.loc[g.index].sum()), int(year.loc[g.index].sum())
            expected = y * days / 365
            rows.append({"source": name, "district": district, "measure": "recent_share", "numerator": r,
                         "denominator": int(round(expected)), "value": r / expected if expected > 0 else np.nan,
                         "detail": f"records in the last {days} days / average per {days} days in the year before"})
    return pd.DataFrame(rows, columns=COLUMNS)


def quarantine_rates(source: Any) -> pd.DataFrame:
    """Rows quarantined at the latest ingest over rows read, per source (and per district where
    files are per district), with the commonest rules broken in ``detail``."""
    src = as_sources(source)
    store = src.store
    if store is None or "ingests" not in store.tables():
        return pd.DataFrame(columns=COLUMNS)
    ing = store.table("ingests")
    if not len(ing):
        return pd.DataFrame(columns=COLUMNS)
    latest = ing.sort_values("ingested_at")["ingest_id"].iloc[-1]
    ing = ing[ing["ingest_id"] == latest].copy()
    q = store.table("quarantine_log") if "quarantine_log" in store.tables() else pd.DataFrame()
    q = q[q["ingest_id"] == latest] if len(q) else q

    def district_of(file: str) -> str:
        for d in DISTRICTS:
            if d in file:
                return d
        return "all districts (one file)"

    def top_rules(files: list[str]) -> str:
        if not len(q):
            return ""
        mine = q[q["file"].isin(files)]
        if "rule" in mine.columns:  # one row per problem
            rules = mine["rule"].astype(str)
        else:  # a store built before the log lost its messages: the rules are in brackets
            rules = mine["reasons"].astype(str).map(lambda r: re.findall(r"\[([A-Za-z0-9_]+)\]", r)).explode().dropna()
        top = rules.value_counts().head(3)
        return ", ".join(f"{k} ({v})" for k, v in top.items())

    ing["district"] = ing["file"].map(district_of)
    rows = []
    for (source_name, district), g in ing.groupby(["source", "district"]):
        rows.append({"source": source_name, "district": district, "measure": "quarantined",
                     "numerator": int(g["rows_quarantined"].sum()), "denominator": int(g["rows_read"].sum()),
                     "detail": top_rules(list(g["file"]))})
    for source_name, g in ing.groupby("source"):
        if g["district"].nunique() > 1 or g["district"].iloc[0] != "all districts (one file)":
            rows.append({"source": source_name, "district": COUNTY, "measure": "quarantined",
                         "numerator": int(g["rows_quarantined"].sum()), "denominator": int(g["rows_read"].sum()),
                         "detail": top_rules(list(g["file"]))})
    out = pd.DataFrame(rows)
    out.loc[out["district"] == "all districts (one file)", "district"] = COUNTY
    out["value"] = out["numerator"] / out["denominator"].where(out["denominator"] > 0)
    return out[COLUMNS]


def scorecard(source: Any) -> pd.DataFrame:
    """Every data-quality measure in one tidy table: source, district, measure, numerator,
    denominator, value, detail."""
    src = as_sources(source)
    parts = [completeness(src), duplicates(src), stale_open_episodes(src), recent_share(src), quarantine_rates(src)]
    out = pd.concat([p for p in parts if len(p)], ignore_index=True)
    order = {d: i for i, d in enumerate([*DISTRICTS, COUNTY])}
    return out.sort_values(["source", "measure", "district"], key=lambda s: s.map(order).fillna(99) if s.name == "district" else s,
                           ignore_index=True)


def scorecard_wide(card: pd.DataFrame) -> pd.DataFrame:
    """The scorecard as one row per source and measure, one column per district (values)."""
    return card.pivot_table(index=["source", "measure"], columns="district", values="value", aggfunc="first").reset_index()
