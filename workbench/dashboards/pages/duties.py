"""The duties page (strategy action 3.3): prevention and relief duties closed without an outcome,
by reason, quarter and district, and what goes with it (the system performance study's model)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from workbench.dashboards.aggregates import Aggregates
from workbench.dashboards.charts import bar_chart, line_chart
from workbench.dashboards.filters import FilterState
from workbench.dashboards.format import during, fmt_count, label, period_label, plural
from workbench.dashboards.pages.common import area_rows, not_available, place_name, quarter_label
from workbench.dashboards.pages.district_benchmarking import with_column
from workbench.dashboards.panels import PanelContent
from workbench.dashboards.protection import cell, crosstab, protect, with_rates, with_shares
from workbench.dashboards.tables import TableSpec
from workbench.definitions import DISTRICTS
from workbench.measures.duty_outcomes import without_outcome_reasons
from workbench.reporting.policy import DisclosurePolicy
from workbench.reporting.protected_table import ProtectedTable

DUTIES: tuple[tuple[str, str], ...] = (("Prevention duties", "prevention"), ("Relief duties", "relief"))
WITHOUT = "Closed without an outcome"
OTHER = "Other endings"
SHARE = "Closed without an outcome (%)"


def _without_table(df: pd.DataFrame, rows: str, order: list[str], policy: DisclosurePolicy, index_name: str,
                   col_total: bool = True, names: dict[str, str] | None = None) -> ProtectedTable:
    """Rows x [closed without an outcome, other endings, Total] with the share without an outcome,
    worked out from the true counts."""
    without = set(without_outcome_reasons())
    d = df.assign(result=np.where(df["reason"].isin(without), WITHOUT, OTHER))
    t = crosstab(d, rows, "result", row_order=order, col_order=[WITHOUT, OTHER])
    if names:
        t.index = [names.get(i, i) for i in t.index]
    pt = protect(t, policy, row_total=True, col_total=col_total, index_name=index_name)
    return with_rates(pt, {SHARE: (WITHOUT, "Total")})


def _reasons_panel(agg: Aggregates, state: FilterState, policy: DisclosurePolicy, duty: str) -> PanelContent:
    key, title = "duties-reasons", f"{duty.capitalize()} duties closed without an outcome"
    where, when = place_name(state), period_label(state.period)
    vocab = f"{duty}_end_reason"
    df = area_rows(agg, "duty_outcomes", state, duty=duty)
    reasons = list(without_outcome_reasons())
    # each reason for closing without an outcome, and every other ending as one row
    d = df.assign(reason=df["reason"].where(df["reason"].isin(reasons), "other"))
    t = crosstab(d, "reason", None, row_order=[*reasons, "other"], col_name="Duties ended")
    labels = [label(vocab, r) for r in reasons]
    t.index = [*labels, "Any other ending (including accommodation secured)"]
    pt = with_shares(protect(t, policy, col_total=True, index_name="How the duty ended"), "Duties ended")
    total = cell(pt, "Total", "Duties ended")
    # closed without an outcome in all, with its share worked out from the true counts
    name = f"{duty.capitalize()} duties"
    tw = _without_table(df.assign(all=name), "all", [name], policy, "Duty", col_total=False)
    lead = f"{_cap(during(state.period))} in {where}, "
    if total is None or total == 0:
        head = lead + f"no {duty} duties that ended can be shown."
    else:
        # the share without an outcome, from the true counts (the table's rows are its parts)
        pct = cell(tw, name, SHARE)
        head = lead + f"{fmt_count(total)} {duty} {plural(total, 'duty', 'duties')} ended"
        head += (f"; {pct:.0f}% closed without an outcome (contact lost, 56 days passed with no further action, or the "
                 "application was withdrawn or the applicant died)." if pct is not None else
                 "; the share closed without an outcome is hidden to protect privacy.")
    chart = bar_chart(key, state.key, labels, [cell(pt, lab, "Share (%)") for lab in labels], unit="percent",
                      title=f"{title}, by reason, {where}, {when}", desc=head)
    defs = (f"Counts {duty} duties by the month they ended and the reason the council recorded (H-CLIC). 'Closed "
            "without an outcome' means the reasons the system performance definitions list: "
            f"{', '.join(label(vocab, r).lower() for r in reasons)}. Shares are of all {duty} duties that ended."
            + (" For a relief duty, 56 days passing is also when the council decides on the main duty, so it is "
               "shown on its own row." if duty == "relief" else ""))
    return PanelContent(key=key, title=title, headline=head, chart=chart, definitions=defs, tables=[
        TableSpec(pt, f"{duty.capitalize()} duties ended, by how they ended, {when}, {where}",
                  f"{duty}_duties_closed_without_outcome_by_reason", rate_columns=("Share (%)",)),
        TableSpec(tw, f"{duty.capitalize()} duties closed without an outcome, {when}, {where}",
                  f"{duty}_duties_closed_without_outcome", rate_columns=(SHARE,))])


def _trend_panel(agg: Aggregates, state: FilterState, policy: DisclosurePolicy, duty: str) -> PanelContent:
    key, title = "duties-trend", f"{duty.capitalize()} duties closed without an outcome, by quarter"
    where = place_name(state)
    df = area_rows(agg, "duty_outcomes", state, duty=duty)
    qs = [q for q in agg.quarters() if state.period.start <= q.start <= state.period.end]
    df = df.assign(quarter=df["month"].map(quarter_label))
    pt = _without_table(df, "quarter", [q.label for q in qs], policy, "Quarter ended")
    pts = [cell(pt, q.label, SHARE) for q in qs]
    shown = [v for v in pts if v is not None]
    head = (f"In {where}, the share of {duty} duties closed without an outcome ranged from {min(shown):.0f}% to "
            f"{max(shown):.0f}% across the quarters shown." if len(shown) >= 2 else
            f"Too few quarters can be shown for {where} to describe a trend.")
    chart = line_chart(key, state.key, [q.start for q in qs], {f"{WITHOUT} (%)": pts}, unit="percent",
                       x_labels=[q.label for q in qs], title=f"{title}, {where}", desc=head)
    return PanelContent(key=key, title=title, headline=head, chart=chart,
                        definitions=("Each quarter counts the duties that ended in it. The strategy sets no target for "
                                     "this share, so none is drawn."),
                        tables=[TableSpec(pt, f"{duty.capitalize()} duties closed without an outcome, by the quarter they "
                                              f"ended, {where}", f"{duty}_duties_closed_without_outcome_by_quarter",
                                          rate_columns=(SHARE,))])


def _district_panel(agg: Aggregates, state: FilterState, policy: DisclosurePolicy, duty: str) -> PanelContent:
    key, title = "duties-districts", f"{duty.capitalize()} duties closed without an outcome, by district"
    when = period_label(state.period)
    df = agg.select("duty_outcomes", period=state.period, duty=duty)
    labels = [label("district", d) for d in DISTRICTS]
    pt = _without_table(df, "district", list(DISTRICTS), policy, "District",
                        names=dict(zip(DISTRICTS, labels, strict=True)))
    vals = [cell(pt, lab, SHARE) for lab in labels]
    shown = [v for v in vals if v is not None]
    head = (f"{_cap(during(state.period))}, the share of {duty} duties closed without an outcome ranged from "
            f"{min(shown):.0f}% to {max(shown):.0f}% across the districts shown." if len(shown) >= 2 else
            "Too few districts can be shown to compare them.")
    chart = bar_chart(key, state.key, labels, vals, unit="percent", title=f"{title}, {when}", desc=head)
    return PanelContent(key=key, title=title, headline=head, chart=chart,
                        definitions=("Every district, whichever district is chosen above, so each can be seen beside "
                                     "the others. Differences can come from the cases a district sees as well as from "
                                     "its practice; the district benchmarking page compares districts allowing for "
                                     "chance, and the model below allows for case mix."),
                        tables=[TableSpec(pt, f"{duty.capitalize()} duties closed without an outcome, by district, {when}",
                                          f"{duty}_duties_closed_without_outcome_by_district", rate_columns=(SHARE,))])


TERM_WORDS = {
    "district": "District", "household_type": "Household", "referral_route": "How referred",
    "age_band": "Age", "needs_band": "Number of support needs",
}


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def _level_words(term: str, level: str) -> str:
    if term.startswith("need_"):
        need = label("support_need", term[5:]).lower()
        return f"with {need} recorded" if level == "1" else f"without {need} recorded"
    if term == "referral_route":
        # the label without its bracketed examples: short enough for the table to print on a page
        return label(term, level).split(" (")[0]
    if term in ("district", "household_type"):
        return label(term, level)
    return level


def _factor_words(term: str) -> str:
    return "Support need" if term.startswith("need_") else TERM_WORDS.get(term, term.replace("_", " ").capitalize())


def _phrase(term: str, level: str, reference: str, more: bool) -> str:
    way = "more" if more else "less"
    if term.startswith("need_"):
        return f"cases {_level_words(term, level)} ({way} likely than cases {_level_words(term, reference)})"
    return f"{_factor_words(term).lower()}: {_level_words(term, level)} ({way} likely than {_level_words(term, reference)})"


def _drivers_panel(agg: Aggregates, state: FilterState, policy: DisclosurePolicy, duty: str) -> PanelContent:
    key, title = "duties-drivers", f"What goes with a {duty} duty closing without an outcome"
    if not agg.available("duty_drivers"):
        return not_available(key, title, "The model of what goes with closing without an outcome")
    d = agg["duty_drivers"]
    d = d[(d["duty"] == duty) & (d["term"] != "intercept")]
    if not len(d):
        return not_available(key, title, "The model of what goes with closing without an outcome")
    # short headers and row names: with eight columns, long ones wrap and the tables would not
    # print whole on an A4 page
    cols = ["Odds ratio (95% interval)"]
    yes, no, share_col = "Without an outcome", "Other endings", "Without an outcome (%)"
    # one table per factor (all support needs in one), each short enough to print whole
    d = d.assign(factor=d["term"].where(~d["term"].str.startswith("need_"), "needs"))
    tables = []
    for factor, g in d.groupby("factor", sort=False):
        if factor == "needs":
            rows = [label("support_need", r.term[5:]) for r in g.itertuples()]
            name = "Support need recorded (compared with not recorded)"
        else:
            rows = [_level_words(r.term, r.level) for r in g.itertuples()]
            ref_code = g["reference"].iloc[0]
            ref = "applying directly" if ref_code == "self_referral" else _level_words(factor, ref_code)
            name = f"{_factor_words(factor)} (compared with {ref})"
        # the duties of each level, protected like any count (the comparison level is not listed, so
        # no factor's rows add up to a total a hidden cell could be worked out from)
        t = pd.DataFrame({yes: g["level_events"].to_numpy(), no: (g["level_n"] - g["level_events"]).to_numpy()},
                         index=rows, dtype="int64")
        pt = with_rates(protect(t, policy, row_total=True, index_name=name), {share_col: (yes, "Total")})
        hidden = list(pt.mask["Total"])
        # the odds ratio and its interval in one column: fewer columns keep the table on one page
        text = [f"{r.odds_ratio:.2f} ({r.lower:.2f} to {r.upper:.2f})" for r in g.itertuples()]
        pt = with_column(pt, cols[0], [policy.suppressed_marker if h else v for v, h in zip(text, hidden, strict=True)],
                         [np.nan if h else round(float(v), 2) for v, h in zip(g["odds_ratio"], hidden, strict=True)], hidden)
        tables.append(TableSpec(pt, f"What goes with a {duty} duty closing without an outcome: {name.split(' (')[0].lower()}, "
                                    "Oxfordshire, all years", f"{duty}_duties_without_outcome_drivers_{factor}",
                                rate_columns=(share_col, *cols), plain_columns=tuple(cols)))
    clear = d[(d["lower"] > 1) | (d["upper"] < 1)].copy()
    lead = f"Across Oxfordshire's {duty} duties that ended, allowing for the other factors, "
    if len(clear):
        clear["dist"] = np.abs(np.log(clear["odds_ratio"]))
        top = clear.sort_values("dist", ascending=False).head(3)
        bits = [_phrase(r.term, r.level, r.reference, r.odds_ratio > 1) for r in top.itertuples()]
        head = lead + f"closing without an outcome went most clearly with: {'; '.join(bits)}."
    else:
        head = lead + "no factor in the model went clearly with closing without an outcome."
    n = int(d["n"].iloc[0])
    base = int(policy.rounding_base or 1)
    defs = ("The system performance study's model (logistic regression) of closing without an outcome on the district, "
            "household, how the case was referred, age, the number of support needs and the main needs, all at once. "
            "An odds ratio above 1 means higher odds of closing without an outcome than the comparison group, below 1 "
            "lower, with the others held equal; factors whose 95% interval includes 1 may be chance. These are "
            "associations, not causes: a district's practice, not its cases, may be what differs. The model covers "
            "the whole county and every year, so it does not change with the filters. It was fitted on about "
            f"{int(round(n / base) * base):,} duties.")
    return PanelContent(key=key, title=title, headline=head, definitions=defs, tables=tables)


def duties_panels(agg: Aggregates, state: FilterState, policy: DisclosurePolicy) -> list[PanelContent]:
    duty = state.group or "prevention"
    if not agg.available("duty_outcomes"):
        return [not_available("duties-reasons", "Duties closed without an outcome", f"Figures on {duty} duties")]
    return [_reasons_panel(agg, state, policy, duty), _trend_panel(agg, state, policy, duty),
            _district_panel(agg, state, policy, duty), _drivers_panel(agg, state, policy, duty)]
