"""Disclosure control as the dashboards apply it: the dashboards' policy (rounding to 5 unless
the policy says otherwise), count tables from the aggregates, protected tables with rates and
shares, and the shown figures a headline may use. All suppression is done by
:mod:`workbench.reporting`."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import pandas as pd

from workbench.dashboards.format import as_number
from workbench.reporting.counts import protect_counts
from workbench.reporting.policy import (  # noqa: F401
    POLICY_ENV,
    SHARED_ROUNDING_BASE,
    DisclosurePolicy,
    shareable_policy,
)
from workbench.reporting.protected_table import ProtectedTable
from workbench.reporting.rates import protect_rate

#: Counts on the dashboards are rounded to the nearest 5 unless the policy says otherwise (why:
#: :data:`workbench.reporting.policy.SHARED_ROUNDING_BASE`).
DASHBOARD_ROUNDING_BASE = SHARED_ROUNDING_BASE


def disclosure_policy() -> DisclosurePolicy:
    """The dashboards' policy: the same as every shareable export's,
    :func:`workbench.reporting.policy.shareable_policy` (``$WORKBENCH_DISCLOSURE_POLICY`` if set, else
    the registry's ``disclosure`` definition with counts rounded to 5)."""
    return shareable_policy()


def crosstab(
    df: pd.DataFrame,
    rows: str,
    cols: str | None,
    *,
    row_order: Sequence[str] | None = None,
    col_order: Sequence[str] | None = None,
    value: str = "n",
    col_name: str = "Count",
) -> pd.DataFrame:
    """Counts by ``rows`` (x ``cols``) with every listed category present (zeros included)."""
    if cols is None:
        out = df.groupby(rows, observed=True)[value].sum().to_frame(col_name)
    else:
        out = df.pivot_table(index=rows, columns=cols, values=value, aggfunc="sum", fill_value=0, observed=True)
    if row_order is not None:
        extra = [r for r in out.index if r not in row_order]
        out = out.reindex(list(row_order) + extra, fill_value=0)
    if col_order is not None and cols is not None:
        extra = [c for c in out.columns if c not in col_order]
        out = out.reindex(columns=list(col_order) + extra, fill_value=0)
    out = out.fillna(0).astype("int64")
    out.columns = [str(c) for c in out.columns]
    out.columns.name = None
    return out


def protect(
    table: pd.DataFrame,
    policy: DisclosurePolicy,
    *,
    row_total: bool = False,
    col_total: bool = False,
    index_name: str = "",
    total_label: str = "Total",
) -> ProtectedTable:
    """Protect a count table (labels already plain English); margins labelled ``total_label``."""
    t = table.copy()
    t.index = pd.Index([str(i) for i in t.index], name=index_name or None)
    return protect_counts(t, policy, row_total=row_total or None, col_total=col_total or None,
                          total_label=total_label)


def with_rates(pt: ProtectedTable, rates: dict[str, tuple[str, str]], *, per: float = 100.0) -> ProtectedTable:
    """Add rate columns (``name -> (numerator column, denominator column)``) computed by
    :func:`protect_rate` from the *protected* counts, so a rate is hidden whenever its count,
    its denominator or the complement is; the result exports like any protected table."""
    values, numeric = pt.values.copy(), pt.numeric.copy()
    mask, primary = pt.mask.copy(), pt.primary_mask.copy()
    for name, (num, den) in rates.items():
        r = protect_rate(pt.numeric[num], pt.numeric[den], pt.policy, per=per, proportion=True)
        rate = r.numeric["rate"].round(1)
        numeric[name] = rate
        values[name] = r.values["rate"].where(r.mask["rate"], rate).astype(object)
        mask[name] = r.mask["rate"]
        primary[name] = r.primary_mask["rate"]
    note = pt.policy.footnote_text(rates=True, summaries=False)
    return dataclasses.replace(pt, values=values, numeric=numeric, mask=mask, primary_mask=primary, footnote=note)


def with_shares(pt: ProtectedTable, column: str, name: str = "Share (%)", total_row: str = "Total") -> ProtectedTable:
    """Add each row's share of the ``total_row`` figure of ``column``, through :func:`protect_rate`."""
    values, numeric = pt.values.copy(), pt.numeric.copy()
    mask, primary = pt.mask.copy(), pt.primary_mask.copy()
    total = pt.numeric.loc[total_row, column]
    r = protect_rate(pt.numeric[column], total, pt.policy, per=100, proportion=True)
    rate = r.numeric["rate"].round(1)
    numeric[name] = rate
    values[name] = r.values["rate"].where(r.mask["rate"], rate).astype(object)
    mask[name], primary[name] = r.mask["rate"], r.primary_mask["rate"]
    note = pt.policy.footnote_text(rates=True, summaries=False)
    return dataclasses.replace(pt, values=values, numeric=numeric, mask=mask, primary_mask=primary, footnote=note)


def cell(pt: ProtectedTable, row: str, col: str) -> float | None:
    """A shown number from a protected table (None if hidden or absent)."""
    if row not in pt.numeric.index or col not in pt.numeric.columns:
        return None
    return as_number(pt.numeric.loc[row, col])


def shown_sum(pt: ProtectedTable, rows: Sequence[str], col: str) -> float | None:
    """Sum of shown cells, or None if any of them is hidden (never estimate a hidden cell)."""
    vals = [cell(pt, r, col) for r in rows if r in pt.numeric.index]
    if not vals or any(v is None for v in vals):
        return None
    return float(sum(vals))


def share(num: float | None, den: float | None, policy: DisclosurePolicy) -> float | None:
    """A percentage of two shown figures, through :func:`protect_rate` (hidden if unsafe)."""
    if num is None or den is None:
        return None
    pv = protect_rate(num, den, policy, per=100, proportion=True)
    return None if pv.suppressed else pv.value


def shares_of_total(pt: ProtectedTable, rows: Sequence[str], col: str, policy: DisclosurePolicy) -> list[float | None]:
    """Each row's percentage of the ``Total`` row of ``col``, through :func:`share`."""
    total = cell(pt, "Total", col)
    return [share(cell(pt, r, col), total, policy) for r in rows]
