"""The returns page: how many people were homeless again after moving into a settled home."""

from __future__ import annotations

import pandas as pd

from workbench.dashboards.aggregates import RETURN_WINDOWS_MONTHS, Aggregates
from workbench.dashboards.charts import bar_chart, line_chart
from workbench.dashboards.filters import FilterState
from workbench.dashboards.format import codes, during, fmt_count, label, period_label
from workbench.dashboards.pages.common import (
    area_rows,
    cohort_period,
    not_available,
    place_name,
    quarter_label,
    returns_windows_table,
)
from workbench.dashboards.panels import PanelContent
from workbench.dashboards.protection import cell, ranked
from workbench.dashboards.tables import TableSpec
from workbench.reporting.policy import DisclosurePolicy

RETURNS_GROUPS: tuple[tuple[str, str], ...] = (
    ("Type of home moved into", "tenure"),
    ("Where people moved from", "route_in"),
    ("No breakdown", ""),
)


def returns_panels(agg: Aggregates, state: FilterState, policy: DisclosurePolicy) -> list[PanelContent]:
    if not agg.available("returns_outcomes"):
        return [not_available("returns-rates", "Returns to homelessness", "Figures on returns to homelessness")]
    where = place_name(state)
    group = state.group
    vocab = {"tenure": "tenure", "route_in": "route_in"}.get(group or "")
    out = []
    for w in RETURN_WINDOWS_MONTHS:
        key = f"returns-{w}m"
        title = f"Homeless again within {w} months"
        df = area_rows(agg, "returns_outcomes", state, month_shift=w, window_months=w)
        cohort = period_label(cohort_period(state, w))
        if group:
            present = [c for c in codes(vocab) if c in set(agg["returns_outcomes"][group])]
            pt = returns_windows_table(df, policy, group, present, vocab)
            labels = [label(vocab, c) for c in present]
            total_row = "Total"
        else:
            df = df.assign(window_months=f"Within {w} months")
            pt = returns_windows_table(df, policy, None, [f"Within {w} months"], None)
            labels, total_row = [f"Within {w} months"], f"Within {w} months"
        n, r = cell(pt, total_row, "Total"), cell(pt, total_row, "Returned (%)")
        if n is None or r is None or n == 0:
            head = f"For people who moved into a settled home {during(cohort_period(state, w))} in {where}, the share homeless again within {w} months is hidden or not known yet."
        else:
            head = f"Of the {fmt_count(n)} people who moved into a settled home {during(cohort_period(state, w))} in {where}, {r:.0f}% were homeless again within {w} months."
            if group:
                # the table's shares are worked out from the true counts; the highest and lowest
                # are named only when rounding cannot reorder them
                ends = ranked({lab: cell(pt, lab, "Returned (%)") for lab in labels})
                if ends is not None:
                    hi, lo = ends
                    head += (f" The share was highest for {hi} ({cell(pt, hi, 'Returned (%)'):.0f}%) and lowest for "
                             f"{lo} ({cell(pt, lo, 'Returned (%)'):.0f}%).")
        chart = bar_chart(key, state.key, labels, [cell(pt, lab, "Returned (%)") for lab in labels], unit="percent",
                          title=f"{title}, {where}", desc=head)
        out.append(PanelContent(
            key=key, title=title, headline=head, chart=chart,
            tables=[TableSpec(pt, f"Moved in {cohort}: homeless again within {w} months, {where}",
                              f"returns_within_{w}_months", rate_columns=("Returned (%)",))],
            definitions=(f"People whose first {w} months in a settled home ended in the chosen period (they moved in "
                         f"during {cohort}). Returned = seen bedded down, owed the relief duty, accepted for the main "
                         "duty or starting supported accommodation more than 14 days after moving in. People who died "
                         "first count as not returned (as in the returns study)."),
        ))
    out.append(_returns_trend_panel(agg, state, policy))
    out.append(PanelContent(
        key="returns-study", title="About the returns study", headline=(
            "These are the simple shares that standard returns measures publish. The returns study adds survival "
            "analysis (with death as a competing risk and people still housed counted properly) and is produced "
            "by the research team with 'workbench study returns'."),
        notice="The study's modelled results are not shown on this dashboard.",
    ))
    return out


def _returns_trend_panel(agg: Aggregates, state: FilterState, policy: DisclosurePolicy) -> PanelContent:
    w = 12 if 12 in RETURN_WINDOWS_MONTHS else RETURN_WINDOWS_MONTHS[0]
    key, title, where = "returns-trend", f"Homeless again within {w} months, by quarter", place_name(state)
    df = area_rows(agg, "returns_outcomes", state, month_shift=w, window_months=w)
    qs = [q for q in agg.quarters() if state.period.start <= q.start <= state.period.end]
    end_q = df["month"].map(lambda m: quarter_label(m + pd.DateOffset(months=w)))
    df = df.assign(quarter=end_q)
    pt = returns_windows_table(df, policy, "quarter", [q.label for q in qs], None)
    pts = [cell(pt, q.label, "Returned (%)") for q in qs]
    shown = [(q.label, v) for q, v in zip(qs, pts, strict=True) if v is not None]
    head = (f"In {where}, the share homeless again within {w} months ranged from {min(v for _, v in shown):.0f}% "
            f"to {max(v for _, v in shown):.0f}% across the quarters shown." if len(shown) >= 2 else
            f"Too few quarters can be shown for {where} to describe a trend.")
    chart = line_chart(key, state.key, [q.start for q in qs], {f"Returned within {w} months (%)": pts}, unit="percent",
                       x_labels=[q.label for q in qs], title=f"{title}, {where}", desc=head)
    return PanelContent(key=key, title=title, headline=head, chart=chart,
                        tables=[TableSpec(pt, f"Homeless again within {w} months by the quarter the {w} months ended, {where}",
                                          f"returns_within_{w}_months_by_quarter", rate_columns=("Returned (%)",))],
                        definitions=f"Each quarter counts the people whose first {w} months in a settled home ended in that quarter.")
