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

from workbench.dashboards.cell_keys import key_column
from workbench.dashboards.format import as_number
from workbench.reporting.counts import perturb_counts, protect_counts
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
    """The dashboards' policy: every shareable export's
    (:func:`workbench.reporting.policy.shareable_policy`: ``$WORKBENCH_DISCLOSURE_POLICY`` if set,
    else the registry's ``disclosure`` definition with counts rounded to 5), with counts perturbed
    by the cell key method (``method: cell_key``) unless that file names a method. Why the
    dashboards differ from the exports: a reader re-cuts their tables by area, period and group,
    which defeats suppression table by table (docs/assumptions/disclosure_control.md, "Tables a
    reader can re-cut"); a study export is a fixed set of tables. Tables without cell keys (not
    counts of the aggregates' rows) are still suppressed and rounded."""
    return shareable_policy(method="cell_key")


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
    """Counts by ``rows`` (x ``cols``) with every listed category present (zeros included). When
    the aggregate has cell keys (:mod:`workbench.dashboards.cell_keys`), each cell's key goes with
    the table (``attrs["cell_keys"]``), for a policy that perturbs counts."""
    out = _crosstab_values(df, rows, cols, row_order=row_order, col_order=col_order, value=value, col_name=col_name)
    out = out.astype("int64")
    kcol = key_column(value)
    if kcol in df:
        # an empty row adds nothing to a figure's key (a zero stays zero)
        keyed = df.assign(_key=df[kcol].where(df[value] > 0, 0.0))
        keys = _crosstab_values(keyed, rows, cols, row_order=row_order, col_order=col_order, value="_key",
                                col_name=col_name)
        keys = keys.reindex(index=out.index, columns=out.columns, fill_value=0.0) % 1.0
        out.attrs["cell_keys"] = CellKeys(keys.to_numpy(dtype=float), out.to_numpy(dtype=np.int64))
    if _TRACING:
        out.attrs["sources"] = Sources(_crosstab_sources(df, rows, cols, out, value))
    return out


def _crosstab_values(df: pd.DataFrame, rows: str, cols: str | None, *, row_order: Sequence[str] | None,
                     col_order: Sequence[str] | None, value: str, col_name: str) -> pd.DataFrame:
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
    out = out.fillna(0)
    out.columns = [str(c) for c in out.columns]
    out.columns.name = None
    return out


class CellKeys:
    """A count table's cell keys kept in ``DataFrame.attrs``, by position (pages relabel a table's
    rows and columns in plain English after :func:`crosstab`), with the counts they were made for:
    :func:`protect` checks that the table still holds those counts in that order."""

    def __init__(self, keys: np.ndarray, counts: np.ndarray) -> None:
        self.keys, self.counts = keys, counts

    def for_table(self, table: pd.DataFrame) -> pd.DataFrame:
        values = table.to_numpy()
        if values.shape != self.counts.shape or not (values == self.counts).all():
            raise ValueError("the table was changed after its cell keys were made (reordered, cut or "
                             "recomputed): relabel rows and columns only, or make it with crosstab again")
        return pd.DataFrame(self.keys, index=table.index, columns=table.columns)


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
    hide: pd.DataFrame | None = None,
) -> ProtectedTable:
    """Protect a count table (labels already plain English); margins labelled ``total_label``.
    ``hide`` (booleans, labelled like the protected table) names cells to hide as well, for the
    page's own reasons (e.g. a row tied together by an identity the margins do not express)."""
    t = table.copy()
    t.attrs = {}
    t.index = pd.Index([str(i) for i in t.index], name=index_name or None)
    kept = table.attrs.get("cell_keys")
    if policy.perturbs and kept is not None:
        keys = kept.for_table(t)
        pt = perturb_counts(t, keys, policy, row_total=row_total or None, col_total=col_total or None,
                            total_label=total_label)
        extra = pd.DataFrame(False, index=pt.mask.index, columns=pt.mask.columns)
        if hide is not None and hide.to_numpy().any():  # the page's own reasons: hidden on top
            extra |= hide.reindex(index=pt.mask.index, columns=pt.mask.columns, fill_value=False)
        return _traced(_hide_totals_that_prove_small(pt, extra, total_label), table, row_total, col_total)
    pt = protect_counts(t, policy, row_total=row_total or None, col_total=col_total or None,
                        total_label=total_label, hide=hide)
    # a zero beside a hidden total is hidden too (and protected like a small count): at most a
    # few rounds, as each only hides more
    hide_rev = revealing_zeros(pt, row_total=row_total, col_total=col_total, total_label=total_label)
    if hide is not None and hide.to_numpy().any():  # a revealing zero is hidden on top of the page's own
        extra = hide.reindex(index=hide_rev.index, columns=hide_rev.columns, fill_value=False)
        hide_rev = hide_rev | extra
    while hide_rev.to_numpy().any():
        hide_rev |= pt.mask[hide_rev.columns]
        pt = protect_counts(t, policy, row_total=row_total or None, col_total=col_total or None,
                            total_label=total_label, hide=hide_rev)
        more = revealing_zeros(pt, row_total=row_total, col_total=col_total, total_label=total_label) & ~hide_rev
        if not more.to_numpy().any():
            break
        hide_rev |= more
    return _traced(pt, table, row_total, col_total)


def _hidden(pt: ProtectedTable, hide: pd.DataFrame) -> ProtectedTable:
    return dataclasses.replace(pt, mask=pt.mask | hide, primary_mask=pt.primary_mask | hide,
                               numeric=pt.numeric.mask(hide), values=pt.values.mask(hide, pt.policy.suppressed_marker))


def _hide_totals_that_prove_small(pt: ProtectedTable, hide: pd.DataFrame, total_label: str) -> ProtectedTable:
    """A perturbed table whose own figures prove a small count is from 1 to 4 (typically two
    non-empty cells, each shown 5 or more, in a line whose total is shown 0, which also reads as
    a mistake) has the smaller shown total of that cell's lines hidden, until none does (the
    table's audit, :func:`workbench.reporting.audit.find_disclosure_risks`); with no total left
    to hide, the cell itself."""
    from workbench.reporting.audit import find_disclosure_risks

    for _ in range(pt.mask.size):
        current = _hidden(pt, hide) if hide.to_numpy().any() else pt
        risks = find_disclosure_risks(current)
        if not len(risks):
            return current
        for r in risks.itertuples():
            lines = [(r.row, total_label), (total_label, r.column)]
            totals = [(pt.numeric.loc[i, j], i, j) for i, j in lines
                      if i in hide.index and j in hide.columns and (i, j) != (r.row, r.column) and not hide.loc[i, j]]
            if totals:
                _, i, j = min(totals, key=lambda t: (t[0], str(t[1]), str(t[2])))
            else:
                i, j = r.row, r.column
            hide.loc[i, j] = True
    return _hidden(pt, hide)


def _traced(pt: ProtectedTable, table: pd.DataFrame, row_total: bool, col_total: bool) -> ProtectedTable:
    """``pt`` with its figures' sources, while tracing."""
    if not _TRACING:
        return pt
    kept = table.attrs.get("sources")
    src = _margin_sources(kept.cells if kept is not None else None, pt.values.shape, row_total, col_total)
    if src is not None:
        src.index, src.columns = pt.values.index, pt.values.columns
    return dataclasses.replace(pt, sources=src)


#: Percentages are shown to whole numbers: worked out from the true counts (item 4 of issue 20),
#: a share to one decimal beside counts rounded to 5 would give the counts back almost exactly.
RATE_DECIMALS = 0


def true_counts(pt: ProtectedTable) -> pd.DataFrame:
    """The true values of a protected count table's shown cells (NaN where hidden): what
    flags are worked out from (and, under suppression, shares, rankings and headlines, before
    rounding for display)."""
    frame = pt._audit.parts[0].frame
    return frame.mask(pt.mask.reindex(index=frame.index, columns=frame.columns, fill_value=False)) \
        if pt._audit.perturbed else frame


def rate_base(pt: ProtectedTable) -> pd.DataFrame:
    """The counts shares and headlines are worked out from: the true counts under suppression (the
    rounding of shown counts comes after, item 4 of issue 20); the shown counts when the counts are
    perturbed (a true share beside perturbed counts would narrow the counts down)."""
    if pt._audit.perturbed:
        counts = [c for c in pt._audit.count_columns if c in pt.numeric.columns]
        return pt.numeric[counts]
    return true_counts(pt)


def _true_rate_column(pt: ProtectedTable, num: pd.Series, den: pd.Series | float, per: float,
                      num_src: pd.Series | None, den_src: pd.Series | object) -> tuple[pd.Series, pd.Series, pd.Series, pd.Series]:
    """A rate column from true counts: (numeric, hidden, primary, sources). Hidden where
    :func:`protect_rate` hides it (count or denominator hidden, small count, denominator below the
    minimum, small complement), judged on the true counts."""
    den_s = den if isinstance(den, pd.Series) else pd.Series(den, index=num.index)
    r = protect_rate(num, den_s, pt.policy, per=per, proportion=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        value = (num / den_s * per).round(RATE_DECIMALS)
    hidden = r.mask["rate"] | value.isna()
    numeric = value.mask(hidden)
    sources = pd.Series([None] * len(num), index=num.index, dtype=object)
    if num_src is not None:
        half = 0.5 * 10.0 ** -RATE_DECIMALS
        for i in range(len(num)):
            d = den_src.iloc[i] if isinstance(den_src, pd.Series) else den_src
            if isinstance(num_src.iloc[i], np.ndarray) and isinstance(d, np.ndarray):
                sources.iloc[i] = (num_src.iloc[i], d, per, half)
    return numeric, hidden, r.primary_mask["rate"], sources


def _add_rate(pt: ProtectedTable, name: str, numeric_col: pd.Series, hidden: pd.Series, primary: pd.Series,
              sources: pd.Series) -> ProtectedTable:
    values, numeric = pt.values.copy(), pt.numeric.copy()
    mask, prim = pt.mask.copy(), pt.primary_mask.copy()
    numeric[name] = numeric_col
    values[name] = numeric_col.astype(object).where(~hidden, pt.policy.suppressed_marker)
    mask[name], prim[name] = hidden, primary
    src = pt.sources
    if src is not None:
        src = src.copy()
        src[name] = sources.to_numpy()
    note = pt.policy.footnote_text(rates=True, summaries=False, perturbed=pt._audit.perturbed) + (
        "" if pt._audit.perturbed else
        " Percentages are worked out from the unrounded counts, so they may differ a little from the rounded counts shown.")
    return dataclasses.replace(pt, values=values, numeric=numeric, mask=mask, primary_mask=prim, footnote=note,
                               sources=src)


def with_rates(pt: ProtectedTable, rates: dict[str, tuple[str, str]], *, per: float = 100.0) -> ProtectedTable:
    """Add rate columns (``name -> (numerator column, denominator column)``) worked out from the
    true counts and shown to :data:`RATE_DECIMALS` decimals; hidden wherever its count, its
    denominator or the complement is hidden or small (:func:`protect_rate`)."""
    base = rate_base(pt)
    for name, (num, den) in rates.items():
        src = None if pt._audit.perturbed else pt.sources
        col, hidden, primary, sources = _true_rate_column(
            pt, base[num], _shown_parts(pt, base, den, axis=1), per, src[num] if src is not None else None,
            src[den] if src is not None else None)
        pt = _add_rate(pt, name, col, hidden, primary, sources)
    return pt


def with_shares(pt: ProtectedTable, column: str, name: str = "Share (%)", total_row: str = "Total") -> ProtectedTable:
    """Add each row's share of the ``total_row`` figure of ``column``, from the true counts (as
    :func:`with_rates`)."""
    true = rate_base(pt)
    src = None if pt._audit.perturbed else pt.sources
    num, den = true[column].copy(), float(_shown_parts(pt, true[[column]], total_row, axis=0)[column])
    if pt._audit.perturbed and total_row == "Total":
        num[total_row] = den  # the total's own share: its parts' shares add to 100%
    col, hidden, primary, sources = _true_rate_column(
        pt, num, den, 100.0,
        src[column] if src is not None else None, src.loc[total_row, column] if src is not None else None)
    return _add_rate(pt, name, col, hidden, primary, sources)


def _shown_parts(pt: ProtectedTable, base: pd.DataFrame, total: str, axis: int) -> pd.Series:
    """The denominator of a share of a margin ``total`` (a column with ``axis=1``, a row with
    ``axis=0``): the margin itself under suppression; under perturbation the sum of its parts as
    shown (NaN if one is hidden), as the margin is perturbed on its own and a share of it could
    exceed 100%. The parts are figures shown anyway, so the share tells a reader nothing new."""
    if not pt._audit.perturbed or total != "Total":  # only a margin is perturbed apart from its parts
        return base[total] if axis == 1 else base.loc[total]
    parts = base.drop(columns=[total]) if axis == 1 else base.drop(index=[total])
    return parts.sum(axis=axis, skipna=False)


def revealing_zeros(pt: ProtectedTable, *, row_total: bool, col_total: bool, total_label: str = "Total") -> pd.DataFrame:
    """Zeros shown in a line (row or column) whose total is hidden: beside a hidden small total,
    "0 returned" says what happened to every one of that small group."""
    mask, numeric = pt.mask, pt.numeric
    counts = [c for c in pt._audit.count_columns if c in mask.columns]
    zero = (numeric[counts] == 0) & ~mask[counts]
    extra = pd.DataFrame(False, index=mask.index, columns=counts)
    if row_total and total_label in mask.columns:
        rows = mask.index[mask[total_label]]
        extra.loc[rows, :] = zero.loc[rows, :]
    if col_total and total_label in mask.index:
        for col in [c for c in counts if mask.loc[total_label, c]]:
            extra[col] |= zero[col]
    return extra


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


def true_cell(pt: ProtectedTable, row: str, col: str) -> float | None:
    """The value of a shown count that shares and comparisons are worked out from (None if hidden
    or absent): the true count under suppression (worked out before rounding), the shown one when
    counts are perturbed (:func:`rate_base`)."""
    true = rate_base(pt)
    if row not in true.index or col not in true.columns or cell(pt, row, col) is None:
        return None
    return as_number(true.loc[row, col])


def total_for_shares(pt: ProtectedTable, row: str, col: str) -> float | None:
    """The total a headline's share of ``row`` x ``col`` is worked out of, the same as the table's
    share columns (:func:`with_shares`, :func:`with_rates`): the true total under suppression; under
    perturbation the sum of its parts as shown (``row`` "Total": the column's rows; ``col``
    "Total": the row's count columns), as a perturbed total is not the sum of its parts. None if
    hidden."""
    if cell(pt, row, col) is None:
        return None
    if not pt._audit.perturbed or "Total" not in (row, col):
        return true_cell(pt, row, col)
    base = rate_base(pt)
    value = _shown_parts(pt, base, "Total", axis=1)[row] if col == "Total" else \
        _shown_parts(pt, base[[col]], "Total", axis=0)[col]
    return None if pd.isna(value) else float(value)


def true_sum(pt: ProtectedTable, rows: Sequence[str], col: str) -> float | None:
    """Sum of the true values of shown cells, or None if any is hidden."""
    vals = [true_cell(pt, r, col) for r in rows if r in pt.numeric.index]
    if not vals or any(v is None for v in vals):
        return None
    return float(sum(vals))


def ranked(shares: dict[str, float | None], decimals: int = RATE_DECIMALS) -> tuple[str, str] | None:
    """The highest and lowest of shown shares, named only when rounding cannot reorder them: each
    differs from the next by at least one step of the shown precision, so the shown (rounded)
    figures put them in the same order as the true ones. None otherwise (or with fewer than 2)."""
    shown = {k: v for k, v in shares.items() if v is not None}
    if len(shown) < 2:
        return None
    order = sorted(shown, key=shown.__getitem__)
    step = 10.0 ** -decimals
    lo, lo_next, hi_prev, hi = (shown[order[0]], shown[order[1]], shown[order[-2]], shown[order[-1]])
    if round(hi, decimals) - round(hi_prev, decimals) < step - 1e-9 or round(lo_next, decimals) - round(lo, decimals) < step - 1e-9:
        return None
    return order[-1], order[0]


def largest(shares: dict[str, float | None], decimals: int = RATE_DECIMALS) -> str | None:
    """The largest shown share, named only when rounding cannot put another level with it."""
    shown = {k: v for k, v in shares.items() if v is not None}
    if not shown:
        return None
    order = sorted(shown, key=shown.__getitem__)
    if len(order) > 1 and round(shown[order[-1]], decimals) - round(shown[order[-2]], decimals) < 10.0 ** -decimals - 1e-9:
        return None
    return order[-1]


def share(num: float | None, den: float | None, policy: DisclosurePolicy) -> float | None:
    """A percentage of two figures (pass true values: :func:`true_cell`), through
    :func:`protect_rate`'s rules (hidden if unsafe), before rounding for display."""
    if num is None or den is None:
        return None
    pv = protect_rate(num, den, policy, per=100, proportion=True)
    return None if pv.suppressed else float(num) / float(den) * 100


def shares_of_total(pt: ProtectedTable, rows: Sequence[str], col: str, policy: DisclosurePolicy) -> list[float | None]:
    """Each row's percentage of the ``Total`` row of ``col`` as the table shows it (its share column
    if it has one, else through :func:`share` of the true counts)."""
    if "Share (%)" in pt.numeric.columns:
        return [cell(pt, r, "Share (%)") for r in rows]
    total = total_for_shares(pt, "Total", col)
    return [share(true_cell(pt, r, col), total, policy) for r in rows]
