"""The data-quality page: the scorecard of :mod:`workbench.measures.data_quality` per source and
district - how complete the key fields are, how many records repeat another, how many episodes
are open too long, whether records arrive late, and how many rows validation refused."""

from __future__ import annotations

import numpy as np
import pandas as pd

from workbench import definitions
from workbench.dashboards.aggregates import COUNTY, Aggregates
from workbench.dashboards.charts import bar_chart
from workbench.dashboards.filters import FilterState
from workbench.dashboards.format import during, period_label
from workbench.dashboards.pages.common import area_rows, not_available, place_name
from workbench.dashboards.pages.district_benchmarking import with_column
from workbench.dashboards.panels import PanelContent
from workbench.dashboards.protection import (
    Sources,
    cell,
    crosstab,
    is_tracing,
    protect,
    source_ids,
    true_counts,
    with_rates,
)
from workbench.dashboards.tables import TableSpec
from workbench.measures.data_quality import KEY_FIELDS, settings
from workbench.reporting.policy import DisclosurePolicy

SOURCE_WORDS = {
    "statutory_cases": "Council homelessness cases", "outreach_contacts": "Outreach contacts",
    "supported_accommodation": "Supported accommodation", "settled_tenancies": "Settled tenancies",
    "institutional_discharges": "Hospital and prison discharges", "deaths": "Deaths",
}
SOURCES: tuple[tuple[str, str], ...] = (("All sources", ""), *((w, s) for s, w in SOURCE_WORDS.items()))
FIELD_WORDS = {
    "age_at_approach_date": "age (date of birth)", "age_at_start_date": "age (date of birth)",
    "age_at_date_of_death": "age (date of birth)", "approximate_age": "approximate age",
    "no_recourse_public_funds": "no recourse to public funds", "accommodation_on_release": "accommodation on release",
}
FILLED, MISSING, SHARE = "Filled in", "Missing", "Filled in (%)"


def field_words(source: str, field: str) -> str:
    return FIELD_WORDS.get(field, field.replace("_", " "))


def _sources(state: FilterState) -> list[str]:
    return [state.group] if state.group else [s for s in SOURCE_WORDS if s in KEY_FIELDS]


def _completeness_panel(agg: Aggregates, state: FilterState, policy: DisclosurePolicy) -> PanelContent:
    key, title = "dq-completeness", "How complete the key fields are"
    where, when = place_name(state), period_label(state.period)
    if not agg.available("dq_completeness"):
        return not_available(key, title, "Figures on completeness")
    sources = _sources(state)
    df = area_rows(agg, "dq_completeness", state, source=sources)
    df = df[df["field"] != "duplicates"]
    # one table per source (each row judges its own records, so no column total): a table per
    # source also keeps each one short enough to print whole on a page
    tables, vals = [], {}
    for source in sources:
        lines = {f: field_words(source, f).capitalize() + (" (ended records)" if applies == "ended" else "")
                 for f, applies in KEY_FIELDS.get(source, [])}
        mine = df[df["source"] == source]
        d = mine.assign(result=np.where(mine["ok"] == 1, FILLED, MISSING))
        t = crosstab(d, "field", "result", row_order=list(lines), col_order=[FILLED, MISSING])
        t.index = [lines.get(i, i) for i in t.index]
        pt = with_rates(protect(t, policy, row_total=True, index_name=f"{SOURCE_WORDS[source]}: field"),
                        {SHARE: (FILLED, "Total")})
        for words in lines.values():
            vals[f"{SOURCE_WORDS[source]}: {words[:1].lower()}{words[1:]}"] = cell(pt, words, SHARE)
        tables.append(TableSpec(pt, f"{SOURCE_WORDS[source]}: key fields filled in, {when}, {where}",
                                f"data_quality_completeness_{source}", rate_columns=(SHARE,)))
    labels = list(vals)
    shown = {k: v for k, v in vals.items() if v is not None}
    if shown:
        low = min(shown.values())
        named = [k for k, v in shown.items() if v == low]
        which = f" ({named[0].lower()})" if len(named) == 1 else ""
        head = (f"Of the records dated {during(state.period)} in {where}, the least complete key field{which} was "
                f"filled in on {low:.0f}% of them.")
        full = [k for k, v in shown.items() if v >= 99.5]
        if len(full) == len(labels):
            head = f"Every key field was filled in on all, or all but a few, of the records dated {during(state.period)} in {where}."
    else:
        head = f"How complete the records dated {during(state.period)} in {where} are is hidden to protect privacy."
    chart = bar_chart(key, state.key, labels, [vals[lab] for lab in labels], unit="percent",
                      title=f"Share of records with each key field filled in, {where}, {when}", desc=head)
    defs = ("Records dated in the chosen period (by their main date: a duty's approach date, a stay's or tenancy's "
            "start, a contact, a discharge, a death) with the field filled in; blank and 'not known' count as missing. "
            "Fields that only apply once a record has ended (why a stay ended, where the person went) are judged over "
            "ended records. The key fields are those the system performance definitions list. The definitions set no "
            "pass mark for completeness, so none is drawn.")
    return PanelContent(key=key, title=title, headline=head, chart=chart, definitions=defs, tables=tables)


def _duplicates_panel(agg: Aggregates, state: FilterState, policy: DisclosurePolicy) -> PanelContent:
    key, title = "dq-duplicates", "Records that repeat another"
    where, when = place_name(state), period_label(state.period)
    if not agg.available("dq_completeness"):
        return not_available(key, title, "Figures on duplicates")
    sources = _sources(state)
    df = area_rows(agg, "dq_completeness", state, source=sources, field="duplicates")
    d = df.assign(result=np.where(df["ok"] == 1, "Other records", "Duplicates"))
    t = crosstab(d, "source", "result", row_order=sources, col_order=["Duplicates", "Other records"])
    t.index = [SOURCE_WORDS[s] + (" (possible duplicates)" if s == "outreach_contacts" else "") for s in t.index]
    pt = with_rates(protect(t, policy, row_total=True, col_total=len(sources) > 1, index_name="Source"),
                    {"Duplicates (%)": ("Duplicates", "Total")})
    labels = list(t.index)
    vals = {lab: cell(pt, lab, "Duplicates (%)") for lab in labels}
    shown = {k: v for k, v in vals.items() if v is not None}
    if shown:
        high = max(shown.values())
        head = (f"Of the records dated {during(state.period)} in {where}, the most duplicated source repeated another "
                f"record in {high:.0f}% of cases; duplicates are removed before any figure on these pages is counted.")
    else:
        head = f"How many records dated {during(state.period)} in {where} repeat another is hidden to protect privacy."
    chart = bar_chart(key, state.key, labels, [vals[lab] for lab in labels], unit="percent",
                      title=f"Share of records that repeat another, {where}, {when}", desc=head)
    defs = ("A record that repeats another of the same source for the same person, on the same main date and in the "
            "same district. For outreach contacts a second contact on the same day can be genuine (two shifts), so "
            "they are possible duplicates. The measures count each once.")
    return PanelContent(key=key, title=title, headline=head, chart=chart, definitions=defs, tables=[
        TableSpec(pt, f"Records that repeat another, by source, {when}, {where}", "data_quality_duplicates",
                  rate_columns=("Duplicates (%)",))])


def _at_extract_rows(agg: Aggregates, state: FilterState, measure_prefix: str) -> pd.DataFrame:
    d = agg["dq_at_extract"]
    area = definitions.COUNTY if state.area == COUNTY else state.area
    d = d[(d["district"] == area) & d["measure"].str.startswith(measure_prefix)]
    if state.group:
        d = d[d["source"] == state.group]
    return d


def _at_extract_sources(agg: Aggregates, rows: list[pd.Index], columns: list[str | None]) -> Sources | None:
    """For the site-wide audit: each figure of a table built from ``dq_at_extract`` rows (the rows'
    labels for each table row; ``columns`` of ``numerator`` and ``rest``, the denominator less the
    numerator, or None for a column that is not a count). A county row is traced to the district
    rows of its measure and source (they add up to it; the audit checks), so the county and its
    districts are one set of figures to a reader."""
    if not is_tracing():
        return None
    d = agg["dq_at_extract"]
    cells = np.empty((len(rows), len(columns)), dtype=object)
    for i, labels in enumerate(rows):
        positions = []
        for idx in labels:
            row = d.loc[idx]
            if row["district"] == definitions.COUNTY:
                parts = d.index[(d["district"] != definitions.COUNTY) & (d["measure"] == row["measure"])
                                & (d["source"] == row["source"])]
                positions.extend(parts if len(parts) else [idx])
            else:
                positions.append(idx)
        for j, column in enumerate(columns):
            if column is not None:
                cells[i, j] = source_ids("dq_at_extract", column, np.asarray(positions, dtype=np.int64))
    return Sources(cells)


def _stale_panel(agg: Aggregates, state: FilterState, policy: DisclosurePolicy) -> PanelContent:
    key, title = "dq-stale", "Episodes open longer than they normally last"
    where = place_name(state)
    extract = f"{agg.extract_date:%d %B %Y}".lstrip("0")
    if not agg.available("dq_at_extract"):
        return not_available(key, title, "Figures on episodes left open")
    d = _at_extract_rows(agg, state, "stale_open:")
    days = settings()["stale_open_days"]
    names = {"prevention_duty": "Prevention duties", "relief_duty": "Relief duties",
             "supported_accommodation": "Stays in supported accommodation"}
    kinds = [k for k in names if f"stale_open:{k}" in set(d["measure"])] or ([] if state.group else list(names))
    rows = {names[k]: d[d["measure"] == f"stale_open:{k}"] for k in kinds}
    col_a, col_b = "Open too long", "Open, within the usual length"
    t = pd.DataFrame({col_a: [int(r["numerator"].sum()) for r in rows.values()],
                      col_b: [int((r["denominator"] - r["numerator"]).sum()) for r in rows.values()]},
                     index=list(rows), dtype="int64")
    t.attrs["sources"] = _at_extract_sources(agg, [r.index for r in rows.values()], ["numerator", "rest"])
    if not len(t):
        return PanelContent(key=key, title=title, headline=f"The source chosen has no episodes that stay open; nothing to show for {where}.")
    pt = with_rates(protect(t, policy, row_total=True, index_name="Episode"), {"Open too long (%)": (col_a, "Total")})
    pt = with_column(pt, "Usual longest length (days)", [int(days[k]) for k in kinds], [float(days[k]) for k in kinds])
    labels = list(rows)
    vals = [cell(pt, lab, "Open too long (%)") for lab in labels]
    shown = [(lab, v) for lab, v in zip(labels, vals, strict=True) if v is not None]
    if shown:
        head = f"On {extract}, in {where}: " + "; ".join(
            f"{v:.0f}% of open {lab.lower()} had been open longer than {int(days[k])} days"
            for (lab, v), k in zip(shown, [k for k in kinds if names[k] in dict(shown)], strict=True)) + "."
        head += " Most are probably ends not yet recorded."
    else:
        head = f"How many episodes were open too long on {extract} in {where} is hidden to protect privacy."
    chart = bar_chart(key, state.key, labels, vals, unit="percent",
                      title=f"Open episodes open longer than they normally last, {where}, on {extract}", desc=head)
    defs = ("Episodes still open on the extract date that have been open longer than the usual longest length the "
            "definitions set (a duty normally ends within 56 days; a supported stay within two years). Most are "
            "probably ends not yet recorded: they keep people 'active' on the By Name List and flatter tenancy "
            "sustainment. Taken on the extract date, so the period filter does not change this panel.")
    return PanelContent(key=key, title=title, headline=head, chart=chart, definitions=defs, tables=[
        TableSpec(pt, f"Open episodes on {extract}, {where}", "data_quality_open_too_long",
                  rate_columns=("Open too long (%)", "Usual longest length (days)"),
                  plain_columns=("Usual longest length (days)",))])


def _timeliness_panel(agg: Aggregates, state: FilterState, policy: DisclosurePolicy) -> PanelContent:
    key, title = "dq-timeliness", "Whether records arrive on time, and rows refused"
    where = place_name(state)
    extract = f"{agg.extract_date:%d %B %Y}".lstrip("0")
    if not agg.available("dq_at_extract"):
        return not_available(key, title, "Figures on timeliness")
    recent = _at_extract_rows(agg, state, "recent_share")
    days = int(settings()["recent_days"])
    c1, c2 = f"Records in the last {days} days", f"Average per {days} days in the year before"
    t1 = pd.DataFrame({c1: recent["numerator"].to_numpy(), c2: recent["denominator"].to_numpy()},
                      index=[SOURCE_WORDS.get(s, s) for s in recent["source"]], dtype="int64")
    # the usual number is an average of the year before (the denominator), not a count: not audited
    t1.attrs["sources"] = _at_extract_sources(agg, [[i] for i in recent.index], ["numerator", None])
    pt1 = protect(t1, policy, index_name="Source")
    true = true_counts(pt1)
    ratio = [round(float(true.loc[i, c1] / true.loc[i, c2] * 100)) if not pd.isna(true.loc[i, c1]) and not pd.isna(true.loc[i, c2])
             and true.loc[i, c2] > 0 and cell(pt1, i, c1) is not None and cell(pt1, i, c2) is not None else np.nan
             for i in pt1.numeric.index]
    # not a share of a total (so not "(%)"): the recent number per 100 of the usual one
    rc = "Against the usual number (per 100)"
    pt1 = with_column(pt1, rc, [policy.suppressed_marker if np.isnan(r) else r for r in ratio], ratio,
                      [bool(np.isnan(r)) for r in ratio])
    q = _at_extract_rows(agg, state, "quarantined")
    t2 = pd.DataFrame({"Rows refused": q["numerator"].to_numpy(),
                       "Rows accepted": (q["denominator"] - q["numerator"]).to_numpy()},
                      index=[SOURCE_WORDS.get(s, s) for s in q["source"]], dtype="int64")
    t2.attrs["sources"] = _at_extract_sources(agg, [[i] for i in q.index], ["numerator", "rest"])
    tables = [TableSpec(pt1, f"Records dated in the last {days} days before {extract} against the usual number, {where}",
                        "data_quality_timeliness", rate_columns=(rc,))]
    pt2 = None
    if len(t2):
        pt2 = with_rates(protect(t2, policy, row_total=True, index_name="Source"), {"Rows refused (%)": ("Rows refused", "Total")})
        tables.append(TableSpec(pt2, f"Rows refused by validation at the latest ingest, {where}", "data_quality_rows_refused",
                                rate_columns=("Rows refused (%)",)))
    labels = list(pt1.numeric.index)
    vals = [cell(pt1, lab, rc) for lab in labels]
    shown = {lab: v for lab, v in zip(labels, vals, strict=True) if v is not None}
    low = min(shown.values()) if shown else None
    named = [k for k, v in shown.items() if v == low]
    if low is None:
        head = f"How many records arrived lately in {where} is hidden to protect privacy."
    else:
        head = (f"In {where}, the source with the fewest records dated in the last {days} days against its usual number"
                f"{f' ({named[0]})' if len(named) == 1 else ''} had {low:.0f}% of the usual number"
                + ("; well under the usual suggests records arrive late, so figures for the latest months may rise." if low < 100 else "."))
    chart = bar_chart(key, state.key, labels, vals, unit="percent",
                      title=f"Records in the last {days} days against the usual number, {where}", desc=head)
    defs = (f"Records dated in the {days} days before the extract, against the average number per {days} days over the "
            "year before (100% is as usual; the definitions set no pass mark, so none is applied). Rows refused: rows of the latest delivery that validation refused (they are in quarantine, "
            "not in any figure), per district where a source sends a file per district. Taken at the extract date and "
            "latest ingest, so the period filter does not change this panel.")
    return PanelContent(key=key, title=title, headline=head, chart=chart, definitions=defs, tables=tables)


def data_quality_panels(agg: Aggregates, state: FilterState, policy: DisclosurePolicy) -> list[PanelContent]:
    return [_completeness_panel(agg, state, policy), _duplicates_panel(agg, state, policy),
            _stale_panel(agg, state, policy), _timeliness_panel(agg, state, policy)]

