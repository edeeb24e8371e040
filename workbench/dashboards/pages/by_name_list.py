"""The By Name List page (strategy action 1.2): who joined and left the list of people known to be
homeless, how many were on it, quarter by quarter, and the monthly identity that ties them."""

from __future__ import annotations

from collections.abc import Iterator

import pandas as pd

from workbench.dashboards.aggregates import COUNTY, Aggregates, Period, Quarter
from workbench.dashboards.charts import line_chart
from workbench.dashboards.filters import FilterState
from workbench.dashboards.format import during, fmt_count, period_label, plural
from workbench.dashboards.pages.common import (
    area_rows,
    not_available,
    place_name,
    quarter_label,
    shares_panel,
)
from workbench.dashboards.panels import PanelContent
from workbench.dashboards.protection import cell, crosstab, protect, with_shares
from workbench.dashboards.tables import TableSpec
from workbench.measures import by_name_list as bnl
from workbench.reporting.policy import DisclosurePolicy
from workbench.reporting.protected_table import ProtectedTable

START, JOINED, LEFT, END = ("On the list at the start", "Joined the list", "Left the list", "On the list at the end")
CORE = (START, JOINED, LEFT, END)
#: Plain words for each flow of the list (measures.by_name_list's reasons).
REASONS: dict[str, str] = {
    bnl.NEWLY_IDENTIFIED: "Newly identified",
    bnl.RETURNED_FROM_HOUSING: "Returned from a settled home",
    bnl.RETURNED_FROM_INACTIVE: "Reactivated (back in contact after 90 days without)",
    bnl.MOVED_IN: "Moved in from another district",
    bnl.HOUSED: "Moved into a settled home",
    bnl.BECAME_INACTIVE: "Became inactive (90 days without contact)",
    bnl.DIED: "Died",
    bnl.MOVED_OUT: "Moved to another district",
}
TRANSFERS = (bnl.MOVED_IN, bnl.MOVED_OUT)
NO_TARGET = ("The strategy and its action plan (action 1.2) set no numeric target for the By Name List's "
             "inflow, outflow or active number, so no target line is drawn.")
DEFINITIONS = (
    "The By Name List counts people known to be homeless: seen bedded down by an outreach worker, owed "
    "the relief duty, accepted for the main duty, or staying in supported accommodation. A person joins "
    "the list when first identified, when homeless again after moving into a settled home (more than 14 "
    "days after the move), or when back in contact after going 90 days without any. They leave it when "
    "they move into a settled home, go 90 days without contact (inactive) or die. In a district, people "
    "whose latest contact moves to another district move between the two districts' lists; in the county "
    "those moves cancel out. Built for Zero's definitions, as the system performance study uses them. "
    "The data begin in January 2018, so in the first six months people already homeless were counted as "
    "newly identified.")


def _quarters(agg: Aggregates, state: FilterState) -> list[Quarter]:
    return [q for q in agg.quarters() if state.period.start <= q.start <= state.period.end]


def _rows(agg: Aggregates, state: FilterState) -> pd.DataFrame:
    """The list's monthly rows for the chosen place and period, with each month's quarter; the
    county leaves out the moves between districts (they cancel out)."""
    df = area_rows(agg, "bnl_monthly", state)
    if state.area == COUNTY:
        df = df[~df["measure"].isin(TRANSFERS)]
    labels = {m: quarter_label(m) for m in df["month"].unique()}  # a few months, many rows
    out = df.assign(quarter=df["month"].map(labels))
    out.attrs["aggregate"] = "bnl_monthly"  # each figure can be traced to the aggregate's rows
    return out


def identity_table(agg: Aggregates, state: FilterState, policy: DisclosurePolicy) -> tuple[ProtectedTable, pd.DataFrame]:
    """Quarters x [on the list at the start, joined, left, on the list at the end], protected, and
    the true monthly figures the identity is checked on.

    The four figures of a quarter are tied by the identity (end = start + joined - left), which
    table margins do not express: one hidden figure could be worked out from the other three. So
    a quarter with any figure hidden has all four hidden. The same true number of people on the
    list ends one quarter and starts the next, so it is hidden in both or in neither."""
    qs = [q.label for q in _quarters(agg, state)]
    df = _rows(agg, state)
    first = df.groupby("quarter")["month"].transform("min")
    last = df.groupby("quarter")["month"].transform("max")
    flows_in = df["measure"].isin([*bnl.ENTRY_REASONS, bnl.MOVED_IN])
    flows_out = df["measure"].isin([*bnl.EXIT_REASONS, bnl.MOVED_OUT])
    part = pd.Series(None, index=df.index, dtype=object)
    part[(df["measure"] == "active_start") & (df["month"] == first)] = START
    part[flows_in] = JOINED
    part[flows_out] = LEFT
    part[(df["measure"] == "active_end") & (df["month"] == last)] = END
    core = df.assign(part=part).dropna(subset=["part"])
    core.attrs["aggregate"] = "bnl_monthly"
    t = crosstab(core, "quarter", "part", row_order=qs, col_order=list(CORE))
    pt = protect(t, policy, index_name="Quarter")
    hide = pd.DataFrame(False, index=pt.mask.index, columns=pt.mask.columns)
    hide.loc[pt.mask.any(axis=1), :] = True
    if hide.to_numpy().any():
        pt = protect(t, policy, index_name="Quarter", hide=hide)
    monthly = df.pivot_table(index="month", columns="measure", values="n", aggfunc="sum", fill_value=0)
    return pt, monthly


def identity_holds(monthly: pd.DataFrame) -> bool:
    """active_end = active_start + inflow - outflow in every month, in the true counts, and each
    month starts with the number the month before ended with."""
    if not len(monthly):
        return True
    col = lambda c: monthly[c] if c in monthly else 0  # noqa: E731
    inflow = sum(col(c) for c in (*bnl.ENTRY_REASONS, bnl.MOVED_IN))
    outflow = sum(col(c) for c in (*bnl.EXIT_REASONS, bnl.MOVED_OUT))
    same = (col("active_end") == col("active_start") + inflow - outflow).all()
    carried = monthly["active_end"].shift(1).dropna()
    return bool(same and (carried == monthly["active_start"].iloc[1:]).all())


def _identity_panel(agg: Aggregates, state: FilterState, policy: DisclosurePolicy) -> PanelContent:
    key, title, where = "bnl-identity", "On the list, joining and leaving, by quarter", place_name(state)
    pt, monthly = identity_table(agg, state, policy)
    qs = _quarters(agg, state)
    holds = identity_holds(monthly)
    last = qs[-1].label
    words = period_label(Period(qs[-1].start, min(qs[-1].end, agg.last_month)))
    n_end, n_in, n_out = cell(pt, last, END), cell(pt, last, JOINED), cell(pt, last, LEFT)
    if n_end is None or n_in is None or n_out is None:
        head = f"In {words}, the numbers on the By Name List in {where} are too small to show."
    else:
        head = (f"At the end of {min(qs[-1].end, agg.last_month):%B %Y}, {fmt_count(n_end)} "
                f"{plural(n_end, 'person was', 'people were')} on the By Name List in {where}; in {words}, "
                f"{fmt_count(n_in)} joined and {fmt_count(n_out)} left.")
    check = ("In every month of the chosen period, the number on the list at the end equals the number at the start "
             "plus those who joined minus those who left, exactly, in the unrounded counts."
             if holds else
             "Warning: in the unrounded counts the monthly identity (end = start + joined - left) does not hold for "
             "every month of the chosen period; tell the data team.")
    headline = f"{head} {check}"
    series = {END: [cell(pt, q.label, END) for q in qs], JOINED: [cell(pt, q.label, JOINED) for q in qs],
              LEFT: [cell(pt, q.label, LEFT) for q in qs]}
    chart = line_chart(key, state.key, [q.start for q in qs], series, x_labels=[q.label for q in qs],
                       title=f"By Name List by quarter, {where}", desc=headline)
    return PanelContent(
        key=key, title=title, headline=headline, chart=chart, notice=NO_TARGET,
        tables=[TableSpec(pt, f"By Name List by quarter, {period_label(state.period)}, {where}", "by_name_list_by_quarter")],
        definitions=(f"{DEFINITIONS} Counts are rounded, so a quarter's figures may not add up exactly; a quarter with "
                     "any figure hidden has all four hidden, as the other three would give it away."))


def _reasons_panel(agg: Aggregates, state: FilterState, policy: DisclosurePolicy, direction: str) -> PanelContent:
    joined = direction == "in"
    key = "bnl-inflow" if joined else "bnl-outflow"
    title = "Why people joined the list" if joined else "Why people left the list"
    where, when = place_name(state), period_label(state.period)
    codes_ = [*bnl.ENTRY_REASONS, bnl.MOVED_IN] if joined else [*bnl.EXIT_REASONS, bnl.MOVED_OUT]
    if state.area == COUNTY:
        codes_ = [c for c in codes_ if c not in TRANSFERS]
    df = _rows(agg, state)
    df = df[df["measure"].isin(codes_)]
    df.attrs["aggregate"] = "bnl_monthly"
    column = "Times"
    t = crosstab(df, "measure", None, row_order=codes_, col_name=column)
    t.index = [REASONS[c] for c in t.index]
    pt = with_shares(protect(t, policy, col_total=True, index_name="Reason"), column)
    total = cell(pt, "Total", column)
    verb = "joined" if joined else "left"
    if total is None or total == 0:
        head = f"The number of times people {verb} the By Name List in {where} {during(state.period)} is too small to show."
    else:
        head = f"People {verb} the By Name List in {where} {fmt_count(total)} times {during(state.period)}."
        first = REASONS[bnl.NEWLY_IDENTIFIED if joined else bnl.HOUSED]
        pct = cell(pt, first, "Share (%)")
        if pct is not None:
            head += (f" {pct:.0f}% were newly identified." if joined else f" {pct:.0f}% moved into a settled home.")
    labels = [REASONS[c] for c in codes_]
    return shares_panel(key, title, head, state, pt, labels, column, policy, chart_title=f"{title}, {where}, {when}",
                        caption=f"{title}, {when}, {where}", stem="by_name_list_joined" if joined else "by_name_list_left",
                        definitions=("Each time a person joined (or left) the list counts once: someone can join and "
                                     "leave more than once in a period. " + DEFINITIONS))


def by_name_list_panels(agg: Aggregates, state: FilterState, policy: DisclosurePolicy) -> Iterator[PanelContent]:
    # a generator: the page shows each panel as soon as it is ready
    if not agg.available("bnl_monthly"):
        yield not_available("bnl-identity", "By Name List", "Figures from the By Name List")
        return
    yield _identity_panel(agg, state, policy)
    yield _reasons_panel(agg, state, policy, "in")
    yield _reasons_panel(agg, state, policy, "out")
