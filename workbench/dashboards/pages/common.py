"""Helpers the pages share: rows of an aggregate for the chosen area and period, place names, the
"not available yet" panel, a one-dimensional breakdown panel and the returns table."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd

from workbench import definitions
from workbench.dashboards.aggregates import COUNTY, Aggregates, Period, quarter_of
from workbench.dashboards.charts import bar_chart
from workbench.dashboards.filters import FilterState
from workbench.dashboards.format import label
from workbench.dashboards.panels import PanelContent
from workbench.dashboards.protection import (
    crosstab,
    protect,
    shares_of_total,
    with_rates,
    with_shares,
)
from workbench.dashboards.tables import TableSpec
from workbench.measures.returns import closed_windows
from workbench.reporting.policy import DisclosurePolicy
from workbench.reporting.protected_table import ProtectedTable


def area_rows(agg: Aggregates, table: str, state: FilterState, *, month_shift: int = 0, **equals) -> pd.DataFrame:
    district = None if state.area == COUNTY else state.area
    return agg.select(table, period=state.period, month_shift=month_shift, district=district, **equals)


def place_name(state: FilterState) -> str:
    return definitions.COUNTY if state.area == COUNTY else label("district", state.area)


def cohort_period(state: FilterState, months: int) -> Period:
    return state.period.shifted(months)


def not_available(key: str, title: str, what: str) -> PanelContent:
    return PanelContent(
        key=key, title=title,
        headline=f"{what} are not available yet.",
        notice=("Coming soon: the part of the workbench that works these figures out is still being "
                "written, so this dashboard does not show them rather than show a guess."),
    )


def outcome_panel(
    key: str,
    title: str,
    rows: pd.DataFrame,
    by: str,
    order: Sequence[str],
    vocab: str,
    policy: DisclosurePolicy,
    state: FilterState,
    *,
    noun: str,
    caption: str,
    headline: Callable[[ProtectedTable, str], str],
    definitions: str,
    stem: str,
    column: str,
) -> PanelContent:
    """A one-dimensional breakdown of ``rows`` by column ``by`` (e.g. end reasons) as bars, with a
    Total row and shares."""
    labels = [label(vocab, c) for c in order]
    # only the listed categories, in their order (as the table always showed them)
    t = crosstab(rows[rows[by].isin(list(order))], by, None, row_order=order, col_name=column)
    t.index = labels
    pt = with_shares(protect(t, policy, col_total=True, index_name="Reason"), column)
    return shares_panel(key, title, headline(pt, noun), state, pt, labels, column, policy, chart_title=title,
                        caption=caption, stem=stem, definitions=definitions)


def shares_panel(key: str, title: str, headline: str, state: FilterState, pt: ProtectedTable, labels: list[str],
                 column: str, policy: DisclosurePolicy, *, chart_title: str, caption: str, stem: str,
                 definitions: str, notice: str = "") -> PanelContent:
    """A breakdown as bars of each row's share of the Total row, with the protected table beside it."""
    chart = bar_chart(key, state.key, labels, shares_of_total(pt, labels, column, policy), unit="percent",
                      title=chart_title, desc=headline)
    return PanelContent(key=key, title=title, headline=headline, chart=chart,
                        tables=[TableSpec(pt, caption, stem, rate_columns=("Share (%)",))], definitions=definitions,
                        notice=notice)


def returns_windows_table(df: pd.DataFrame, policy: DisclosurePolicy, rows: str | None,
                           row_order: Sequence[str] | None, vocab: str | None) -> ProtectedTable:
    """Rows (window or group) x [Returned, Did not return, Total] over closed windows, + share."""
    closed = closed_windows(df).assign(
        result=lambda d: np.where(d["returned"], "Returned", "Did not return (or died first)"))
    index = rows or "window_months"
    t = crosstab(closed, index, "result", row_order=row_order,
                 col_order=["Returned", "Did not return (or died first)"])
    if vocab:
        t.index = [label(vocab, c) for c in t.index]
    pt = protect(t, policy, row_total=True, col_total=rows is not None,
                 index_name="Moved in to" if rows == "tenure" else "Moved in from" if rows else "Window")
    return with_rates(pt, {"Returned (%)": ("Returned", "Total")})


def quarter_label(m: pd.Timestamp) -> str:
    return quarter_of(m).label
