"""Protect count tables: a 1-D or 2-D frequency table (:func:`protect_counts`) or a long ("tidy")
table of counts by one or two dimensions within strata (:func:`protect_long`)."""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence

import numpy as np
import pandas as pd

from workbench.reporting.policy import DisclosurePolicy, _round_array
from workbench.reporting.protected_table import ProtectedTable, _as_display, _AuditInfo, _Part
from workbench.reporting.suppression import _Suppressor
from workbench.reporting.table_equations import _is_total_cells, _lines

#: Default label of margin rows/columns.
TOTAL = "Total"

_TOL = 1e-7  # margins must equal the sum of their members to within this

# --------------------------------------------------------------------------------------------
# Input handling
# --------------------------------------------------------------------------------------------


def _as_count_frame(table: pd.DataFrame | pd.Series) -> pd.DataFrame:
    if isinstance(table, pd.Series):
        table = table.to_frame(name=table.name if table.name is not None else "count")
    if not isinstance(table, pd.DataFrame):
        raise TypeError("expected a pandas DataFrame or Series of counts")
    if isinstance(table.index, pd.MultiIndex) or isinstance(table.columns, pd.MultiIndex):
        raise ValueError("flatten MultiIndex rows/columns before protecting (1-D or 2-D only)")
    if table.index.has_duplicates or table.columns.has_duplicates:
        raise ValueError("row and column labels must be unique")
    if table.empty:
        raise ValueError("empty table")
    _check_counts(table.to_numpy(dtype=float, na_value=np.nan), "table")
    return table


def _check_counts(values: np.ndarray, what: str) -> None:
    if np.isnan(values).any():
        raise ValueError(f"{what}: counts must not be missing")
    if (values < 0).any() or (values != np.round(values)).any():
        raise ValueError(f"{what}: counts must be non-negative whole numbers")


def _with_margins(
    frame: pd.DataFrame, row_total: bool | None, col_total: bool | None, label: Hashable
) -> tuple[pd.DataFrame, Hashable | None, Hashable | None]:
    """Return the frame with its margins and the labels of the total row and total column."""
    frame = frame.copy()
    has_col = label in frame.columns  # a "Total" column holds row sums
    has_row = label in frame.index  # a "Total" row holds column sums
    if row_total is False and has_col:
        raise ValueError(f"row_total=False but the table has a {label!r} column")
    if col_total is False and has_row:
        raise ValueError(f"col_total=False but the table has a {label!r} row")
    inner_cols = [c for c in frame.columns if c != label]
    inner_rows = [r for r in frame.index if r != label]
    if not inner_cols or not inner_rows:
        raise ValueError("the table needs at least one row and column besides the totals")
    if row_total and not has_col:
        frame[label] = frame[inner_cols].sum(axis=1)
        has_col = True
    if col_total and not has_row:
        frame.loc[label] = frame.loc[inner_rows].sum(axis=0)
        has_row = True
    tr = label if has_row else None
    tc = label if has_col else None
    _check_additive(frame, tr, tc)
    return frame, tr, tc


def _check_additive(frame: pd.DataFrame, tr: Hashable | None, tc: Hashable | None) -> None:
    # secondary suppression is only valid if the margins really are sums of the cells
    if tc is not None:
        inner = frame.drop(columns=[tc]).sum(axis=1)
        bad = inner.index[(inner - frame[tc]).abs() > _TOL]
        if len(bad):
            raise ValueError(
                f"the {tc!r} column is not the sum of its row for {list(bad)[:5]}; "
                "add an explicit 'Unknown'/'Other' category so totals are additive"
            )
    if tr is not None:
        inner = frame.drop(index=[tr]).sum(axis=0)
        bad = inner.index[(inner - frame.loc[tr]).abs() > _TOL]
        if len(bad):
            raise ValueError(
                f"the {tr!r} row is not the sum of its column for {list(bad)[:5]}; "
                "add an explicit 'Unknown'/'Other' category so totals are additive"
            )


def _protect_frame(
    frame: pd.DataFrame,
    tr: Hashable | None,
    tc: Hashable | None,
    policy: DisclosurePolicy,
    fixed: np.ndarray | None = None,
    forced: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Suppress one additive table; returns (mask, primary) as 2-D arrays."""
    n_rows, n_cols = frame.shape
    tr_pos = None if tr is None else frame.index.get_loc(tr)
    tc_pos = None if tc is None else frame.columns.get_loc(tc)
    values = frame.to_numpy(dtype=float).ravel()
    fixed_flat = np.zeros(values.size, bool) if fixed is None else fixed.ravel()
    suppressor = _Suppressor(
        values,
        _lines(n_rows, n_cols, tr_pos, tc_pos),  # type: ignore[arg-type]
        _is_total_cells(n_rows, n_cols, tr_pos, tc_pos),  # type: ignore[arg-type]
        fixed_flat,
        policy,
        None if forced is None else forced.ravel(),
    )
    mask, primary = suppressor.run()
    return mask.reshape(n_rows, n_cols), primary.reshape(n_rows, n_cols)



# --------------------------------------------------------------------------------------------
# Public API: counts
# --------------------------------------------------------------------------------------------


def protect_counts(
    table: pd.DataFrame | pd.Series,
    policy: DisclosurePolicy | None = None,
    *,
    row_total: bool | None = None,
    col_total: bool | None = None,
    total_label: Hashable = TOTAL,
    hide: pd.DataFrame | None = None,
) -> ProtectedTable:
    """Protect a 1-D or 2-D frequency table (non-negative whole-number counts).

    ``hide`` (a boolean frame like the table with its margins) names cells to hide as well, for
    the caller's own reasons; secondary suppression then protects them like small counts.

    Margins are rows/columns labelled ``total_label``. ``row_total`` refers to the *column* of row
    sums and ``col_total`` to the *row* of column sums: ``None`` uses whatever the table has,
    ``True`` adds the margin if missing, ``False`` rejects a table that has it. A Series is a 1-D
    table (its "Total" entry, if any, is the column total).
    """
    policy = policy or DisclosurePolicy()
    frame, tr, tc = _with_margins(_as_count_frame(table), row_total, col_total, total_label)
    forced = None if hide is None else hide.reindex(index=frame.index, columns=frame.columns, fill_value=False).to_numpy(bool)
    mask_arr, primary_arr = _protect_frame(frame, tr, tc, policy, forced=forced)
    mask = pd.DataFrame(mask_arr, index=frame.index, columns=frame.columns)
    primary = pd.DataFrame(primary_arr, index=frame.index, columns=frame.columns)
    true = frame.astype(float)
    rounded = pd.DataFrame(
        _round_array(true.to_numpy(), policy), index=frame.index, columns=frame.columns
    )
    numeric = rounded.mask(mask)
    audit = _AuditInfo(
        parts=(_Part("table", true.mask(mask), tr, tc),),
        count_columns=tuple(frame.columns),
    )
    return ProtectedTable(
        values=_as_display(numeric, mask, policy.suppressed_marker, frame.columns),
        numeric=numeric,
        mask=mask,
        primary_mask=primary,
        footnote=policy.footnote_text(rates=False, summaries=False),
        policy=policy,
        _audit=audit,
    )


def perturb_counts(
    table: pd.DataFrame | pd.Series,
    keys: pd.DataFrame,
    policy: DisclosurePolicy,
    *,
    row_total: bool | None = None,
    col_total: bool | None = None,
    total_label: Hashable = TOTAL,
) -> ProtectedTable:
    """Protect a 1-D or 2-D frequency table by the cell key method (``policy.method == "cell_key"``,
    :mod:`workbench.reporting.cell_key`): every count, margins included, is shown as its true value
    plus the perturbation its cell key picks; nothing is hidden and no count from 1 to
    ``threshold - 1`` is shown. ``keys`` holds the cell key of every inner cell (labelled like the
    table without margins; a margin's key is the fractional part of the sum of its line's keys,
    which is the key of the records in it). Margins as in :func:`protect_counts`."""
    frame, tr, tc = _with_margins(_as_count_frame(table), row_total, col_total, total_label)
    inner_rows = [r for r in frame.index if r != tr]
    inner_cols = [c for c in frame.columns if c != tc]
    k = keys.reindex(index=inner_rows, columns=inner_cols)
    if k.isna().to_numpy().any() or k.shape != (len(inner_rows), len(inner_cols)):
        raise ValueError("every cell of the table needs its cell key")
    k = k.astype(float) % 1.0
    if tc is not None:
        k[tc] = k.sum(axis=1) % 1.0
    if tr is not None:
        k.loc[tr] = k.loc[inner_rows].sum(axis=0) % 1.0
    k = k.reindex(index=frame.index, columns=frame.columns)
    ptable = policy.perturbation_table()
    true = frame.astype(float)
    shown = ptable.perturb(frame.to_numpy(dtype=np.int64).ravel(), k.to_numpy(dtype=float).ravel())
    numeric = pd.DataFrame(shown.reshape(frame.shape).astype(float), index=frame.index, columns=frame.columns)
    none = pd.DataFrame(False, index=frame.index, columns=frame.columns)
    return ProtectedTable(
        values=_as_display(numeric, none, policy.suppressed_marker, frame.columns),
        numeric=numeric,
        mask=none,
        primary_mask=none.copy(),
        footnote=policy.footnote_text(rates=False, summaries=False, perturbed=True),
        policy=policy,
        _audit=_AuditInfo(parts=(_Part("table", true, tr, tc),), count_columns=tuple(frame.columns), perturbed=True),
    )


def protect_long(
    df: pd.DataFrame,
    count_col: str,
    *,
    by: Sequence[str],
    policy: DisclosurePolicy | None = None,
    totals: Mapping[str, Hashable] | None = None,
    rate_cols: Mapping[str, str] | None = None,
    strata: Sequence[str] = (),
) -> ProtectedTable:
    """Protect a long ("tidy") table as used by dashboards, e.g. counts by district and month.

    ``by`` names one or two dimension columns; together with ``strata`` they must identify rows
    uniquely. ``totals`` maps a dimension to the label of its total level already present in the
    data, e.g. ``{"district": "Oxfordshire"}`` when each month has a county row that is the sum
    of the districts. Each stratum (e.g. each service) is protected as its own table.
    ``rate_cols`` maps a rate column to its denominator column: a rate is hidden when its count
    is hidden or its denominator is missing or below ``rate_min_denominator``. With rounding on,
    shown rates are rescaled to the rounded count so they cannot reveal the unrounded one.

    Combinations absent from ``df`` are treated as public zeros. Returns a ProtectedTable with
    the same rows and columns as ``df``; only the count and rate columns change.
    """
    policy = policy or DisclosurePolicy()
    by = list(by)
    strata = list(strata)
    totals = dict(totals or {})
    rate_cols = dict(rate_cols or {})
    if not 1 <= len(by) <= 2:
        raise ValueError("by must name one or two dimension columns")
    missing = [c for c in [count_col, *by, *strata, *rate_cols, *rate_cols.values()] if c not in df]
    if missing:
        raise ValueError(f"columns not in the data: {missing}")
    if set(totals) - set(by):
        raise ValueError(f"totals refers to columns not in by: {sorted(set(totals) - set(by))}")
    if df[by].isna().any().any():
        raise ValueError(f"missing values in the dimension columns {by}")
    if df.duplicated(strata + by).any():
        raise ValueError(f"rows are not unique by {strata + by}")
    _check_counts(df[count_col].to_numpy(dtype=float, na_value=np.nan), count_col)

    row_dim = by[0]
    col_dim = by[1] if len(by) == 2 else None
    count_mask = pd.Series(False, index=df.index)
    count_primary = pd.Series(False, index=df.index)
    parts: list[_Part] = []
    groups = df.groupby(strata, sort=False, dropna=False) if strata else [((), df)]
    for key, group in groups:
        name = (
            "table"
            if not strata
            else ", ".join(f"{s}={k}" for s, k in zip(strata, key, strict=True))
        )
        col_keys = group[col_dim] if col_dim else pd.Series(count_col, index=group.index)
        wide = pd.Series(
            group[count_col].to_numpy(dtype=float),
            index=pd.MultiIndex.from_arrays([group[row_dim], col_keys]),
        ).unstack()
        present = wide.notna().to_numpy()
        wide = wide.fillna(0.0)
        tr = totals.get(row_dim)
        tc = totals.get(col_dim) if col_dim else None
        for dim, label, axis in ((row_dim, tr, wide.index), (col_dim, tc, wide.columns)):
            if label is not None and label not in axis:
                raise ValueError(f"{name}: total level {label!r} of {dim!r} is not in the data")
        _check_additive(wide, tr, tc)
        mask_arr, primary_arr = _protect_frame(wide, tr, tc, policy, fixed=~present)
        mask_w = pd.DataFrame(mask_arr, index=wide.index, columns=wide.columns)
        primary_w = pd.DataFrame(primary_arr, index=wide.index, columns=wide.columns)
        rows = group[row_dim].to_numpy()
        cols = col_keys.to_numpy()
        ri = wide.index.get_indexer(rows)
        ci = wide.columns.get_indexer(cols)
        count_mask.loc[group.index] = mask_w.to_numpy()[ri, ci]
        count_primary.loc[group.index] = primary_w.to_numpy()[ri, ci]
        parts.append(_Part(str(name), wide.mask(mask_w), tr, tc, implied=~present))

    true = df[count_col].astype(float)
    rounded = pd.Series(_round_array(true.to_numpy(), policy), index=df.index)
    numeric = df.copy()
    mask = pd.DataFrame(False, index=df.index, columns=df.columns)
    primary = mask.copy()
    numeric[count_col] = rounded.mask(count_mask)
    mask[count_col] = count_mask
    primary[count_col] = count_primary
    for rate_col, den_col in rate_cols.items():
        den = pd.to_numeric(df[den_col], errors="coerce")
        small_den = den.isna() | (den < policy.rate_min_denominator)
        rate = pd.to_numeric(df[rate_col], errors="coerce").astype(float)
        # the rate of a shown count must agree with the shown (rounded) count
        scale = (rounded / true).where(true > 0, 1.0)
        numeric[rate_col] = (rate * scale).mask(count_mask | small_den)
        mask[rate_col] = count_mask | small_den
        primary[rate_col] = count_primary | small_den
    values = _as_display(numeric, mask, policy.suppressed_marker, [count_col])
    audit = _AuditInfo(
        parts=tuple(parts),
        count_columns=(count_col,),
        rates=tuple((r, count_col, d) for r, d in rate_cols.items()),
    )
    return ProtectedTable(
        values=values,
        numeric=numeric,
        mask=mask,
        primary_mask=primary,
        footnote=policy.footnote_text(rates=bool(rate_cols), summaries=False),
        policy=policy,
        _audit=audit,
        _index_in_exports=False,
    )


