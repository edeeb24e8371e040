"""Disclosure control as the dashboards apply it: the dashboards' policy (rounding to 5 unless
the policy says otherwise), count tables from the aggregates, protected tables with rates and
shares, and the shown figures a headline may use. All suppression is done by
:mod:`workbench.reporting`."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import numpy as np
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


# --------------------------------------------------------------------------------------------
# Where each shown figure comes from (for the site-wide audit, workbench.dashboards.site_audit)
# --------------------------------------------------------------------------------------------

_TRACING = False
#: Underlying cells are numbered ``namespace << 32 | row``: a namespace per aggregate table and
#: column summed (``duty_outcomes.n``), the row its position label in that table.
_NAMESPACES: dict[str, int] = {}


@contextmanager
def tracing() -> Iterator[None]:
    """While active, count tables built here remember which rows of the aggregates each figure
    sums (``ProtectedTable.sources``). Off on the live pages: it is only for the audit."""
    global _TRACING
    before, _TRACING = _TRACING, True
    try:
        yield
    finally:
        _TRACING = before


def is_tracing() -> bool:
    return _TRACING


def source_ids(aggregate: str, column: str, rows: np.ndarray | pd.Index) -> np.ndarray:
    """Ids of underlying cells: rows (position labels) of column ``column`` of aggregate table
    ``aggregate``."""
    name = f"{aggregate}.{column}"
    ns = _NAMESPACES.setdefault(name, len(_NAMESPACES) + 1)
    return (np.int64(ns) << np.int64(32)) | np.asarray(rows, dtype=np.int64)


def source_name(cell_id: int) -> tuple[str, int]:
    """(``table.column``, row) of an underlying cell id."""
    ns, row = int(cell_id) >> 32, int(cell_id) & 0xFFFFFFFF
    names = {v: k for k, v in _NAMESPACES.items()}
    return names.get(ns, "?"), row


def _crosstab_sources(df: pd.DataFrame, rows: str, cols: str | None, out: pd.DataFrame, value: str) -> np.ndarray | None:
    aggregate = df.attrs.get("aggregate")
    if not aggregate:
        return None
    src = np.empty(out.shape, dtype=object)
    for i in range(out.shape[0]):
        for j in range(out.shape[1]):
            src[i, j] = np.empty(0, dtype=np.int64)
    if not len(df):
        return src
    keys = [rows] if cols is None else [rows, cols]
    row_pos = {r: i for i, r in enumerate(out.index)}
    col_pos = {c: j for j, c in enumerate(out.columns)}
    labels = df.index.to_numpy()
    for key, pos in df.groupby(keys, observed=True).indices.items():
        key = key if isinstance(key, tuple) else (key,)
        i = row_pos.get(key[0])
        j = 0 if cols is None else col_pos.get(str(key[1]))
        if i is None or j is None:
            continue
        src[i, j] = source_ids(aggregate, value, labels[pos])
    return src


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
    if _TRACING:
        out.attrs["sources"] = Sources(_crosstab_sources(df, rows, cols, out, value))
    return out


class Sources:
    """A table's sources kept in ``DataFrame.attrs`` (compared by identity: pandas compares attrs)."""

    def __init__(self, cells: np.ndarray | None) -> None:
        self.cells = cells


def _margin_sources(inner: np.ndarray | None, shape: tuple[int, int], row_total: bool, col_total: bool) -> pd.DataFrame | None:
    """Sources of a protected count table: its cells', and each margin the union of its line."""
    if inner is None:
        return None
    src = np.empty(shape, dtype=object)
    n_r, n_c = inner.shape
    src[:n_r, :n_c] = inner
    if row_total:
        for i in range(n_r):
            src[i, n_c] = np.concatenate(list(inner[i, :]))
    if col_total:
        for j in range(shape[1]):
            src[n_r, j] = np.concatenate(list(src[:n_r, j]))
    return pd.DataFrame(src)


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
    t.attrs = {}
    t.index = pd.Index([str(i) for i in t.index], name=index_name or None)
    pt = protect_counts(t, policy, row_total=row_total or None, col_total=col_total or None,
                        total_label=total_label)
    if _TRACING:
        kept = table.attrs.get("sources")
        src = _margin_sources(kept.cells if kept is not None else None, pt.values.shape, row_total, col_total)
        if src is not None:
            src.index, src.columns = pt.values.index, pt.values.columns
        pt = dataclasses.replace(pt, sources=src)
    return pt


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
