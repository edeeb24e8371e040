"""The overview page: the main measures of the Housing Led system for a district and period."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np
import pandas as pd

from workbench.dashboards.aggregates import NEW_LOOKBACK_MONTHS, RETURN_WINDOWS_MONTHS, Aggregates
from workbench.dashboards.charts import bar_chart, line_chart
from workbench.dashboards.filters import FilterState
from workbench.dashboards.format import (
    codes,
    during,
    fmt_count,
    label,
    month_label,
    period_label,
    plural,
)
from workbench.dashboards.pages.common import (
    area_rows,
    cohort_period,
    not_available,
    outcome_panel,
    place_name,
    quarter_label,
    returns_windows_table,
)
from workbench.dashboards.pages.supported_housing import move_on_panel
from workbench.dashboards.panels import PanelContent
from workbench.dashboards.protection import (
    cell,
    crosstab,
    protect,
    share,
    total_for_shares,
    true_sum,
    with_rates,
)
from workbench.dashboards.tables import TableSpec
from workbench.definitions import outcome_codes
from workbench.measures.monthly_counts import sustained_at_12_months
from workbench.reporting.policy import DisclosurePolicy
from workbench.reporting.protected_table import ProtectedTable


def _rough_sleeping_panel(agg: Aggregates, state: FilterState, policy: DisclosurePolicy, key: str) -> PanelContent:
    title = "People seen sleeping rough"
    if not agg.available("rough_sleeping"):
        return not_available(key, title, "Figures on people seen sleeping rough")
    df = agg.select("rough_sleeping", period=state.period, area=state.area)
    months = state.period.months()
    wide = crosstab(df, "month", "status", row_order=list(months), col_order=codes("chain_status"))
    wide.index = [month_label(m) for m in months]
    wide.columns = [label("chain_status", c) for c in wide.columns]
    pt = protect(wide, policy, row_total=True, index_name="Month", total_label="All people seen")
    last = month_label(months[-1])
    seen, new = cell(pt, last, "All people seen"), cell(pt, last, label("chain_status", "new"))
    where = place_name(state)
    if seen is None:
        head = f"In {last}, the number of people seen sleeping rough in {where} is too small to show."
    else:
        head = f"In {last}, {fmt_count(seen)} {plural(seen, 'person was', 'people were')} seen sleeping rough in {where}"
        head += f"; {fmt_count(new)} of them {plural(new, 'was', 'were')} new to the streets." if new is not None else \
            "; how many were new is hidden to protect privacy."
    chart = line_chart(key, state.key, list(months), {
        "All people seen": [cell(pt, month_label(m), "All people seen") for m in months],
        "New to the streets": [cell(pt, month_label(m), label("chain_status", "new")) for m in months],
    }, title=f"{title}, {where}, by month", desc=head)
    defs = (f"Seen sleeping rough means an outreach worker saw the person bedded down (a verified contact). "
            f"New to the streets means not seen bedded down anywhere in Oxfordshire in the previous "
            f"{NEW_LOOKBACK_MONTHS} months (England's Ending Rough Sleeping Data Framework); the data begin in "
            "January 2018, so until 2023 some people counted as new may have slept rough before. 'Also seen "
            "the month before' and 'Returned to the streets' follow London's CHAIN. Someone seen in two "
            "districts in a month counts in each district but once in Oxfordshire.")
    return PanelContent(key=key, title=title, headline=head, chart=chart, definitions=defs,
                        tables=[TableSpec(pt, f"People seen sleeping rough by month, {where}", "people_seen_sleeping_rough")])


def _duty_panel(agg: Aggregates, state: FilterState, policy: DisclosurePolicy, duty: str, key: str,
                household: str | None = None) -> PanelContent:
    title = f"How {duty} duties ended"
    if not agg.available("duty_outcomes"):
        return not_available(key, title, f"Figures on {duty} duties")
    df = area_rows(agg, "duty_outcomes", state, duty=duty, household_type=household)
    vocab = f"{duty}_end_reason"
    success = outcome_codes(f"{duty}_success")
    where, when = place_name(state), period_label(state.period)

    def headline(pt: ProtectedTable, noun: str) -> str:
        total = cell(pt, "Total", "Duties ended")
        if total is None or total == 0:
            return f"No {duty} duties that ended {during(state.period)} in {where} can be shown."
        # worked out from the true counts, then rounded for display
        secured = true_sum(pt, [label(vocab, c) for c in success], "Duties ended")
        pct = share(secured, total_for_shares(pt, "Total", "Duties ended"), policy)
        lead = f"Of the {fmt_count(total)} {duty} {plural(total, 'duty', 'duties')} that ended {during(state.period)} in {where}, "
        if pct is None:
            return lead + "the share that secured accommodation is hidden to protect privacy."
        return lead + f"{pct:.0f}% ended with accommodation secured for at least 6 months."

    defs = (f"Counts {duty} duties by the month they ended and the reason the council recorded (H-CLIC). "
            "'Secured accommodation for 6+ months' is the successful outcome"
            + (" (staying in the existing home, or moving to another)." if duty == "prevention" else "."))
    return outcome_panel(key, title, df, "reason", codes(vocab), vocab, policy, state, noun=f"{duty} duties",
                          caption=f"{duty.capitalize()} duties ended by reason, {when}, {where}",
                          headline=headline, definitions=defs, stem=f"{duty}_duties_ended_by_reason",
                          column="Duties ended")


def _returns_overview_panel(agg: Aggregates, state: FilterState, policy: DisclosurePolicy, key: str) -> PanelContent:
    title = "Returns to homelessness after a move into a settled home"
    if not agg.available("returns_outcomes"):
        return not_available(key, title, "Figures on returns to homelessness")
    where = place_name(state)
    parts = []
    for w in (6, 12):
        if w not in RETURN_WINDOWS_MONTHS:
            continue
        df = area_rows(agg, "returns_outcomes", state, month_shift=w, window_months=w)
        parts.append(df.assign(window_months=f"Within {w} months"))
    df = pd.concat(parts)  # the aggregate's row labels kept: each figure can be traced to its rows
    pt = returns_windows_table(df, policy, None, [f"Within {w} months" for w in (6, 12)], None)
    sentences = []
    for w in (6, 12):
        row = f"Within {w} months"
        n, r = cell(pt, row, "Total"), cell(pt, row, "Returned (%)")
        cohort = period_label(cohort_period(state, w))
        if n is None or r is None:
            sentences.append(f"For people who moved in {w} months earlier ({cohort}) in {where}, the share who returned within {w} months is hidden or not known yet.")
        else:
            sentences.append(f"Of the {fmt_count(n)} people who moved into a settled home in {where} {during(cohort_period(state, w))}, {r:.0f}% were homeless again within {w} months.")
    head = " ".join(sentences)
    chart = bar_chart(key, state.key, [f"Within {w} months" for w in (6, 12)],
                      [cell(pt, f"Within {w} months", "Returned (%)") for w in (6, 12)], unit="percent",
                      title=f"{title}, {where}", desc=head)
    defs = ("People who moved into a settled home (social or private rented, or Housing First) from rough sleeping, "
            "temporary or supported accommodation or the relief duty. Returned means seen bedded down, owed the "
            "relief duty, accepted for the main duty or starting supported accommodation more than 14 days after "
            "moving in. Each window counts the people whose 6 or 12 months ended in the chosen period, so it "
            "looks back to when they moved in; people who died first count as not returned, as in the returns study.")
    return PanelContent(key=key, title=title, headline=head, chart=chart, definitions=defs,
                        tables=[TableSpec(pt, f"Returns to homelessness, {where}", "returns_to_homelessness")],)


def _tenancy_12m_table(df: pd.DataFrame, policy: DisclosurePolicy, rows: str | None = None,
                       row_order: Sequence[str] | None = None, vocab: str | None = None) -> ProtectedTable:
    closed = sustained_at_12_months(df).assign(result=lambda d: np.where(d["sustained"], "Sustained", "Lost"))
    if rows is None:
        closed = closed.assign(all="All tenancies")
        rows, row_order = "all", ["All tenancies"]
    t = crosstab(closed, rows, "result", row_order=row_order, col_order=["Sustained", "Lost"])
    if vocab:
        t.index = [label(vocab, c) for c in t.index]
    pt = protect(t, policy, row_total=True, col_total=rows != "all", index_name="Tenancies")
    return with_rates(pt, {"Sustained (%)": ("Sustained", "Total")})


def _housing_first_panel(agg: Aggregates, state: FilterState, policy: DisclosurePolicy, key: str) -> PanelContent:
    title = "Housing First"
    if not agg.available("tenancy_outcomes"):
        return not_available(key, title, "Figures on Housing First")
    where = place_name(state)
    started = area_rows(agg, "tenancy_outcomes", state, tenure="housing_first")
    qs = [q for q in agg.quarters() if state.period.start <= q.start <= state.period.end]
    started = started.assign(q=started["month"].map(lambda m: quarter_label(m)))
    t1 = crosstab(started, "q", None, row_order=[q.label for q in qs], col_name="Tenancies started")
    pt1 = protect(t1, policy, col_total=True, index_name="Quarter")
    reached = area_rows(agg, "tenancy_outcomes", state, month_shift=12, tenure="housing_first")
    pt2 = _tenancy_12m_table(reached, policy)
    n_started = cell(pt1, "Total", "Tenancies started")
    n12, pct = cell(pt2, "All tenancies", "Total"), cell(pt2, "All tenancies", "Sustained (%)")
    cohort = period_label(cohort_period(state, 12))
    s1 = (f"{fmt_count(n_started)} Housing First {plural(n_started, 'tenancy', 'tenancies')} started {during(state.period)} in {where}."
          if n_started is not None else f"The number of Housing First tenancies started {during(state.period)} in {where} is hidden to protect privacy.")
    s2 = (f" Of the {fmt_count(n12)} that started {during(cohort_period(state, 12))}, {pct:.0f}% were still going (or had moved on as planned) 12 months later."
          if n12 is not None and pct is not None and n12 > 0 else
          f" Tenancy sustainment at 12 months for tenancies started {during(cohort_period(state, 12))} is hidden or not known yet.")
    head = s1 + s2
    chart = bar_chart(key, state.key, [q.label for q in qs], [cell(pt1, q.label, "Tenancies started") for q in qs],
                      title=f"Housing First tenancies started, {where}", desc=head)
    defs = ("Housing First tenancies are settled tenancies recorded with the Housing First tenure. Sustained at 12 "
            "months = the tenancy was still running 12 months after it began, or had ended in a planned move to "
            "other settled housing; it was lost if it ended for any other reason (eviction, abandonment, custody, "
            "a long hospital stay). Tenants who died within the year are left out. Sustainment counts the tenancies "
            "whose first year ended in the chosen period; the system performance study gives the Kaplan-Meier "
            "estimate. For comparison, England's Housing First pilots reported about 92% sustained at 12 months.")
    return PanelContent(key=key, title=title, headline=head, chart=chart, definitions=defs, tables=[
        TableSpec(pt1, f"Housing First tenancies started, {where}", "housing_first_started"),
        TableSpec(pt2, f"Housing First tenancies sustained at 12 months (started {cohort}), {where}",
                  "housing_first_sustained_12_months", rate_columns=("Sustained (%)",)),
    ])


def overview_panels(agg: Aggregates, state: FilterState, policy: DisclosurePolicy) -> Iterator[PanelContent]:
    # a generator: the page shows each panel as soon as it is ready
    yield _rough_sleeping_panel(agg, state, policy, "rough-sleeping")
    yield _duty_panel(agg, state, policy, "prevention", "prevention")
    yield _duty_panel(agg, state, policy, "relief", "relief")
    yield _returns_overview_panel(agg, state, policy, "returns")
    yield move_on_panel(agg, state, policy, "move-on")
    yield _housing_first_panel(agg, state, policy, "housing-first")
