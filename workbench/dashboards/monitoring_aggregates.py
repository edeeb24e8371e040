"""Aggregate tables for the pages on what the partnership monitors (issue 20, item 2): the joins
between services, equality of outcomes (action 7.1), the data-quality scorecard and duties closed
without an outcome (action 3.3).

Each is built from the system performance measures of :mod:`workbench.measures` (the same code
as the study), at aggregate-build time only, and has the dimensions of the other aggregates:
``district`` x ``month`` x categories, with a count ``n`` (true counts; the pages protect what
they show). The two exceptions are tables of figures the study works out once for the whole
history and county (the duty drivers model; the data-quality measures taken at the extract
date): they are not filtered by period and say so on the page.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from workbench.definitions import event_date
from workbench.measures.benchmarking import indicator_records, pool_rare_levels
from workbench.measures.monthly_counts import count_by, month_start
from workbench.measures.sources import SourceTables

# The measure modules are imported inside the builders: the aggregates are built by the server
# before any page kernel starts, and importing them here would load scipy.stats (and through the
# duty drivers, statsmodels) into every kernel, the landing page's too.

#: Measure modules these tables come from (the aggregates are rebuilt when the list changes).
MONITORING_MODULES: tuple[str, ...] = (
    "workbench.measures.joins",
    "workbench.measures.equality",
    "workbench.measures.data_quality",
    "workbench.measures.duty_outcomes",
)


def handover_counts(sources: SourceTables) -> pd.DataFrame:
    """Handovers started, by district, month started, handover, status, days waited (to the
    handover or to censoring) and event (1 = handed over): enough to redo the Kaplan-Meier
    estimates of :func:`workbench.measures.joins.handover_summary` for any period exactly."""
    from workbench.measures import joins

    ev = joins.handover_events(sources)
    ev = ev.assign(month=month_start(ev["from_date"]), days=ev["days"].astype("int64"), event=ev["event"].astype("int64"))
    return count_by(ev, ["district", "month", "handover", "status", "days", "event"])


def equality_outcome_counts(sources: SourceTables) -> pd.DataFrame:
    """Duties and stays in each outcome's denominator, by district, month (of the duty's end or the
    stay's end), outcome, characteristic, group and success (0/1), as
    :func:`workbench.measures.equality.equality_outcomes` groups them."""
    from workbench.measures import equality

    parts = []
    for outcome, table in equality.OUTCOME_SOURCES.items():
        rec = indicator_records(sources, outcome)
        chars = equality.characteristic_values(sources[table].loc[rec["source_index"]], table).reset_index(drop=True)
        rec = rec.reset_index(drop=True)
        for c in equality.CHARACTERISTICS[table]:
            parts.append(pd.DataFrame({"district": rec["district"], "month": month_start(rec["date"]), "outcome": outcome,
                                       "characteristic": c, "group": chars[c], "success": rec["success"].astype("int64")}))
    return count_by(pd.concat(parts, ignore_index=True), ["district", "month", "outcome", "characteristic", "group", "success"])


def equality_recording_counts(sources: SourceTables) -> pd.DataFrame:
    """Records by source, district, month (of the record's main date), characteristic and whether
    it is recorded, as :func:`workbench.measures.equality.equality_recording` counts them."""
    from workbench.measures import equality

    parts = []
    for table, chars in equality.CHARACTERISTICS.items():
        f = sources[table]
        if not len(f):
            continue
        vals = equality.characteristic_values(f, table)
        month = month_start(f[event_date(table)])
        for c in chars:
            parts.append(pd.DataFrame({"district": f["district"].to_numpy(), "month": month.to_numpy(), "source": table,
                                       "characteristic": c,
                                       "recorded": np.where(vals[c] == equality.NOT_RECORDED, "not_recorded", "recorded")}))
    return count_by(pd.concat(parts, ignore_index=True), ["district", "month", "source", "characteristic", "recorded"])


def completeness_counts(sources: SourceTables) -> pd.DataFrame:
    """Records judged for each key field (all records, or ended ones), by district, month of the
    record's main date, source and field, and whether the field is filled in; and records
    by whether they duplicate another (``field == "duplicates"``, ``ok`` = not a duplicate), as
    :mod:`workbench.measures.data_quality` counts them."""
    from workbench.measures import data_quality

    parts = []
    for name, fields in data_quality.KEY_FIELDS.items():
        f = sources[name]
        if not len(f):
            continue
        for col, applies in fields:
            rows = f[f["end_date"].notna()] if applies == "ended" else f
            if not len(rows) or col not in rows:
                continue
            v = rows[col]
            filled = v.notna() & (v.astype(object) != "not_known")
            parts.append(pd.DataFrame({"district": rows["district"], "month": month_start(rows[event_date(name)]),
                                       "source": name, "field": col, "ok": filled.astype("int64")}))
    for name in sources.tables:
        kept = sources[name]
        dup = sources.duplicates.get(name, kept.iloc[0:0])
        if not len(kept) + len(dup) or name not in data_quality.KEY_FIELDS:
            continue
        both = pd.concat([kept.assign(_ok=1), dup.assign(_ok=0)], ignore_index=True)
        parts.append(pd.DataFrame({"district": both["district"], "month": month_start(both[event_date(name)]),
                                   "source": name, "field": "duplicates", "ok": both["_ok"].astype("int64")}))
    return count_by(pd.concat(parts, ignore_index=True), ["district", "month", "source", "field", "ok"])


def data_quality_at_extract(sources: SourceTables) -> pd.DataFrame:
    """The scorecard's measures taken at the extract date (episodes open too long, records of the
    last 90 days against the year before, rows refused at the latest ingest): source, district
    (and the county), measure, numerator, denominator, detail. Not filtered by period."""
    from workbench.measures import data_quality

    parts = [data_quality.stale_open_episodes(sources), data_quality.recent_share(sources),
             data_quality.quarantine_rates(sources)]
    out = pd.concat([p for p in parts if len(p)], ignore_index=True)
    out = out[out["district"].notna()]
    return out[["source", "district", "measure", "numerator", "denominator", "detail"]].astype(
        {"numerator": "int64", "denominator": "int64"}).reset_index(drop=True)


def duty_driver_table(sources: SourceTables) -> pd.DataFrame:
    """The study's model of what goes with a duty closing without an outcome (odds ratios with
    95% intervals), for prevention and relief, over the whole history and county, with the
    duties of each level (``level_n``) and how many closed without an outcome (``level_events``),
    rare levels pooled as the model pools them."""
    from workbench.measures import duty_outcomes

    parts = []
    endings = duty_outcomes.duty_endings(sources)
    for duty in ("prevention", "relief"):
        d = duty_outcomes.without_outcome_drivers(sources, duty)
        if not len(d):
            continue
        e = endings[endings["duty"] == duty].reset_index(drop=True)
        x = pool_rare_levels(e, duty_outcomes.DRIVER_TERMS)
        n, ev = [], []
        for r in d.itertuples():
            mine = (x[r.term] == r.level) if r.term in x else pd.Series(True, index=x.index)
            n.append(int(mine.sum()))
            ev.append(int(e.loc[mine.to_numpy(), "without_outcome"].sum()))
        parts.append(d.assign(level_n=n, level_events=ev))
    out = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()
    if not len(out):
        raise KeyError("no duties to model")
    return out
