"""The equality page (strategy action 7.1): outcomes by protected characteristic, with disparity
ratios against a reference group and their intervals, and how often each characteristic is not
recorded."""

from __future__ import annotations

import numpy as np

from workbench.dashboards.aggregates import Aggregates
from workbench.dashboards.charts import bar_chart
from workbench.dashboards.filters import FilterState
from workbench.dashboards.format import codes, during, label, period_label
from workbench.dashboards.pages.common import area_rows, not_available, place_name
from workbench.dashboards.pages.district_benchmarking import with_column
from workbench.dashboards.panels import PanelContent
from workbench.dashboards.protection import cell, crosstab, protect, true_counts, with_rates
from workbench.dashboards.tables import TableSpec
from workbench.measures.equality import (
    CHARACTERISTICS,
    NOT_RECORDED,
    OUTCOME_SOURCES,
    reference_groups,
    risk_ratio,
)
from workbench.reporting.policy import DisclosurePolicy
from workbench.reporting.protected_table import ProtectedTable

OUTCOMES: tuple[tuple[str, str], ...] = (
    ("Prevention duties: accommodation secured", "prevention_success"),
    ("Relief duties: accommodation secured", "relief_success"),
    ("Supported accommodation: moved on to a settled home", "move_on"),
)
#: What each outcome counts, in words: (the cases, the successful ones).
OUTCOME_WORDS = {
    "prevention_success": ("prevention duties that ended", "ended with accommodation secured for at least 6 months"),
    "relief_success": ("relief duties that ended", "ended with accommodation secured for at least 6 months"),
    "move_on": ("stays in supported accommodation that ended", "ended in a move to a settled home"),
}
CHARACTERISTIC_WORDS = {"age_band": "Age", "gender": "Gender", "ethnicity": "Ethnic group", "disability": "Disability",
                        "sexual_orientation": "Sexual orientation"}
SOURCE_WORDS = {"statutory_cases": "Council homelessness cases", "supported_accommodation": "Supported accommodation",
                "outreach_contacts": "Outreach contacts", "settled_tenancies": "Settled tenancies"}
YES, NO = "Successful outcome", "Other outcome"
RATE, RATIO, LOW, HIGH = "Successful (%)", "Ratio to the comparison group", "95% interval from", "95% interval to"


def group_order(characteristic: str, present: set[str]) -> list[str]:
    """The groups of a characteristic in reporting order, "not recorded" last."""
    if characteristic in ("gender", "ethnicity", "sexual_orientation"):
        order = [c for c in codes(characteristic) if c != "not_known"]
    elif characteristic == "age_band":
        order = [c for c in codes("age_band") if c != "not_known"]
    else:
        order = ["yes", "no"]
    known = [g for g in order if g in present] + sorted(present - set(order) - {NOT_RECORDED})
    return known + ([NOT_RECORDED] if NOT_RECORDED in present else [])


def group_label(characteristic: str, group: str) -> str:
    if group == NOT_RECORDED:
        return "Not recorded"
    if characteristic in ("gender", "ethnicity", "sexual_orientation"):
        return label(characteristic, group)
    if characteristic == "disability":
        return {"yes": "Disabled", "no": "Not disabled"}.get(group, group)
    if group.endswith("+"):
        return f"Aged {group[:-1]} and over"
    return f"Aged {group.replace('-', ' to ')}" if group[:1].isdigit() else group


def _ratio_columns(pt: ProtectedTable, labels: list[str], ref: str | None) -> ProtectedTable:
    """The disparity ratio (risk ratio against the comparison group, from the true counts) with
    its Katz 95% interval; shown only where both groups' counts and shares are shown."""
    true = true_counts(pt)
    shown = {lab: cell(pt, lab, RATE) is not None and cell(pt, lab, "Total") is not None for lab in labels}
    out = {RATIO: [], LOW: [], HIGH: []}
    for lab in [*labels, "Total"]:
        if lab == "Total" or ref is None or not shown.get(lab) or not shown.get(ref):
            vals = (np.nan, np.nan, np.nan)
        elif lab == ref:
            vals = (1.0, np.nan, np.nan)
        else:
            vals = risk_ratio(true.loc[lab, YES], true.loc[lab, "Total"], true.loc[ref, YES], true.loc[ref, "Total"])
        for col, v in zip((RATIO, LOW, HIGH), vals, strict=True):
            out[col].append(round(float(v), 2) if not np.isnan(v) else np.nan)
    for col, vals in out.items():
        pt = with_column(pt, col, ["" if np.isnan(v) else v for v in vals], vals)
    return pt


def _characteristic_panel(agg: Aggregates, state: FilterState, policy: DisclosurePolicy, outcome: str,
                          characteristic: str) -> PanelContent:
    words = CHARACTERISTIC_WORDS.get(characteristic, characteristic)
    key, title = f"equality-{characteristic.replace('_', '-')}", f"{words}"
    where, when = place_name(state), period_label(state.period)
    cases, success = OUTCOME_WORDS[outcome]
    df = area_rows(agg, "equality_outcomes", state, outcome=outcome, characteristic=characteristic)
    present = set(agg["equality_outcomes"].query("outcome == @outcome and characteristic == @characteristic")["group"])
    order = group_order(characteristic, present)
    labels = [group_label(characteristic, g) for g in order]
    d = df.assign(result=np.where(df["success"] == 1, YES, NO))
    t = crosstab(d, "group", "result", row_order=order, col_order=[YES, NO])
    t.index = labels
    pt = with_rates(protect(t, policy, row_total=True, col_total=True, index_name=words), {RATE: (YES, "Total")})
    ref_code = reference_groups().get(characteristic)
    ref = group_label(characteristic, ref_code) if ref_code in order else None
    pt = _ratio_columns(pt, labels, ref)
    # groups whose interval is clear of 1: a difference chance alone would rarely make
    lower = [lab for lab in labels if lab != ref and _clear(pt, lab) == "lower"]
    higher = [lab for lab in labels if lab != ref and _clear(pt, lab) == "higher"]
    if ref is None or cell(pt, ref, RATE) is None:
        head = f"{during(state.period)[:1].upper()}{during(state.period)[1:]} in {where}, the comparison group's share is hidden or not known, so no group is compared with it."
    else:
        head = (f"Of {cases} {during(state.period)} in {where}, {cell(pt, ref, RATE):.0f}% of the comparison group "
                f"({ref.lower() if characteristic != 'ethnicity' else ref}) {success}.")
        if lower or higher:
            if lower:
                head += f" The share was lower, beyond what chance would usually make, for: {', '.join(lower)}."
            if higher:
                head += f" It was higher, beyond chance, for: {', '.join(higher)}."
        else:
            head += " No group shown differed from it by more than chance would usually make."
    chart = bar_chart(key, state.key, labels, [cell(pt, lab, RATE) for lab in labels], unit="percent",
                      title=f"{words}: share of {cases} that {success}, {where}, {when}", desc=head)
    defs = (f"Each group's share of {cases} that {success}, worked out from the true counts. The ratio compares it with "
            f"the comparison group ({ref or 'not shown'}; the largest group in the county's caseload), with a 95% "
            "interval (Katz): a ratio of 0.80 means a share a fifth lower; an interval that does not include 1 is a "
            "difference chance alone would rarely make. People whose "
            f"{words.lower()} was not recorded are a group of their own, so their outcomes can be seen too. "
            "Differences describe outcomes; they do not say why they differ (case mix, services or recording).")
    return PanelContent(key=key, title=title, headline=head, chart=chart, definitions=defs, tables=[
        TableSpec(pt, f"{words}: {cases}, by group, {when}, {where}", f"equality_{outcome}_by_{characteristic}",
                  rate_columns=(RATE, RATIO, LOW, HIGH), plain_columns=(RATIO, LOW, HIGH))])


def _clear(pt: ProtectedTable, lab: str) -> str | None:
    lo, hi = cell(pt, lab, LOW), cell(pt, lab, HIGH)
    if lo is None or hi is None:
        return None
    return "lower" if hi < 1 else "higher" if lo > 1 else None


def _recording_panel(agg: Aggregates, state: FilterState, policy: DisclosurePolicy) -> PanelContent:
    key, title = "equality-recording", "How often each characteristic is not recorded"
    where, when = place_name(state), period_label(state.period)
    if not agg.available("equality_recording"):
        return not_available(key, title, "Figures on recording")
    df = area_rows(agg, "equality_recording", state)
    pairs = [(s, c) for s, chars in CHARACTERISTICS.items() for c in chars]
    names = {f"{s}|{c}": f"{SOURCE_WORDS.get(s, s)}: {CHARACTERISTIC_WORDS.get(c, c).lower()}" for s, c in pairs}
    d = df.assign(line=df["source"] + "|" + df["characteristic"],
                  result=np.where(df["recorded"] == "recorded", "Recorded", "Not recorded"))
    t = crosstab(d, "line", "result", row_order=list(names), col_order=["Recorded", "Not recorded"])
    t.index = [names.get(i, i) for i in t.index]
    # each row is a different split of its source's records: no column total
    pt = with_rates(protect(t, policy, row_total=True, index_name="Source and characteristic"),
                    {"Not recorded (%)": ("Not recorded", "Total")})
    labels = list(names.values())
    vals = {lab: cell(pt, lab, "Not recorded (%)") for lab in labels}
    shown = {k: v for k, v in vals.items() if v is not None}
    if shown:
        worst = max(shown.values())
        head = (f"Of the records {during(state.period)} in {where}, the characteristic least often recorded was not "
                f"recorded in {worst:.0f}% of its records.")
        named = [k for k, v in shown.items() if v == worst]
        if len(named) == 1:
            head = head.replace("the characteristic least often recorded was", f"the characteristic least often recorded ({named[0].lower()}) was")
    else:
        head = f"How often characteristics were recorded {during(state.period)} in {where} is hidden to protect privacy."
    chart = bar_chart(key, state.key, labels, [vals[lab] for lab in labels], unit="percent",
                      title=f"Share of records where each characteristic is not recorded, {where}, {when}", desc=head)
    defs = ("Records dated in the period (a duty's approach date, a stay's or tenancy's start, an outreach contact) "
            "whose characteristic is blank or recorded as not known. Age is not recorded when the date of birth is "
            "missing. Outcomes by group are only as good as this recording: a group that is often not recorded can "
            "look smaller, and its outcomes different, than they are.")
    return PanelContent(key=key, title=title, headline=head, chart=chart, definitions=defs, tables=[
        TableSpec(pt, f"Characteristics not recorded, by source, {when}, {where}", "equality_recording",
                  rate_columns=("Not recorded (%)",))])


def equality_panels(agg: Aggregates, state: FilterState, policy: DisclosurePolicy) -> list[PanelContent]:
    outcome = state.group or "prevention_success"
    if not agg.available("equality_outcomes"):
        return [not_available("equality-age-band", "Equality of outcomes", "Figures on equality of outcomes")]
    table = OUTCOME_SOURCES[outcome]
    out = [_characteristic_panel(agg, state, policy, outcome, c) for c in CHARACTERISTICS[table]]
    out.append(_recording_panel(agg, state, policy))
    return out
