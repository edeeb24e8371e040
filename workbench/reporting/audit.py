"""The independent audit: what can a reader work out from a published table?

Linear programming over the shown cells and margins (:func:`find_disclosure_risks`,
:func:`feasible_intervals`); :func:`assert_safe` raises when anything is found. Used by tests and
by every export."""

from __future__ import annotations

import math
from collections.abc import Hashable
from typing import Any

import numpy as np
import pandas as pd

from workbench.reporting.counts import TOTAL
from workbench.reporting.policy import DisclosurePolicy, _primary_array
from workbench.reporting.protected_table import DisclosureRiskError, ProtectedTable
from workbench.reporting.table_equations import _equations, _lines, _lp_optimum, _lp_solve

_RISK_COLUMNS = ["part", "row", "column", "kind", "shown", "lower", "upper", "detail"]

# --------------------------------------------------------------------------------------------
# Audit: what can a reader work out from the published table?
# --------------------------------------------------------------------------------------------


def _risk(
    part: str,
    cell: tuple[Any, Any],
    kind: str,
    detail: str,
    shown: Any = None,
    lo: Any = None,
    hi: Any = None,
) -> dict:
    row, col = cell
    return dict(zip(_RISK_COLUMNS, (part, row, col, kind, shown, lo, hi, detail), strict=True))


def _parse_shown(frame: pd.DataFrame, marker: str) -> pd.DataFrame:
    """Published cells as floats, NaN where hidden (marker, blank or NaN)."""

    def parse(x: Any) -> float:
        if isinstance(x, str):
            text = x.strip()
            if text in (marker, ""):
                return math.nan
            try:
                return float(text.replace(",", ""))
            except ValueError as err:
                raise ValueError(f"cannot read published cell {x!r}") from err
        return math.nan if x is None or pd.isna(x) else float(x)

    return frame.apply(lambda col: col.map(parse)).astype(float)


def _intervals(
    shown: pd.DataFrame,
    tr: Hashable | None,
    tc: Hashable | None,
    policy: DisclosurePolicy,
    *,
    rounded: bool,
    settled_at: float | None = None,
) -> list[tuple[int, float, float]]:
    """(flat index, min, max) of every hidden cell over all tables consistent with what is shown.

    This deliberately does not reuse the suppression algorithm: for each hidden cell it solves
    two linear programmes - minimise and maximise the cell over all non-negative tables that
    reproduce the shown cells (exactly, or within their rounding interval) and satisfy every
    "cells sum to total" equation. The constraint matrix of a table with margins is totally
    unimodular, so with whole-number bounds the optima are whole numbers and equal what a reader
    could deduce by reasoning over whole-number tables. Raises ValueError if nothing fits.

    With ``settled_at`` (risk screening), a cell whose values in feasible tables already found
    differ and reach ``settled_at`` is not solved for: its (narrower, witnessed) range is returned,
    which is enough to know it is neither exactly recoverable nor proved to be below that value.
    """
    n_rows, n_cols = shown.shape
    tr_pos = None if tr is None else shown.index.get_loc(tr)
    tc_pos = None if tc is None else shown.columns.get_loc(tc)
    flat = shown.to_numpy(dtype=float).ravel()
    hidden = np.isnan(flat)
    a = _equations(_lines(n_rows, n_cols, tr_pos, tc_pos), flat.size)  # type: ignore[arg-type]
    bounds: list[tuple[float, float | None]] = []
    for j, x in enumerate(flat):
        if hidden[j]:
            bounds.append((0.0, None))
        else:
            lo, hi = policy.rounding_interval(int(round(x))) if rounded else (x, x)
            bounds.append((float(lo), float(hi)))
    rhs = np.zeros(a.shape[0])
    if not hidden.any():
        _lp_optimum(np.zeros(flat.size), a, rhs, bounds)  # only checks that the figures add up
    seen_lo = np.full(flat.size, math.inf)
    seen_hi = np.full(flat.size, -math.inf)

    def witness(x: np.ndarray | None) -> None:
        if x is not None:
            np.minimum(seen_lo, x, out=seen_lo)
            np.maximum(seen_hi, x, out=seen_hi)

    def settled(j: int) -> bool:
        return (
            settled_at is not None
            and seen_hi[j] - seen_lo[j] >= 0.5
            and seen_hi[j] >= settled_at - 0.5
        )

    if settled_at is not None and hidden.any():
        # two cheap LPs: all hidden cells down together, then up together (boxed so the maximum
        # exists); both solutions are feasible tables, so they bound every range from inside
        cap = sum(hi for lo, hi in bounds if hi is not None) + max(settled_at, 0) + 10
        boxed = [(0.0, cap) if h else bnd for h, bnd in zip(hidden, bounds, strict=True)]
        for sign in (1.0, -1.0):
            try:
                witness(_lp_solve(sign * hidden, a, rhs, boxed)[1])
            except ValueError:
                break  # the box was too tight; fall back to solving every cell
    out: list[tuple[int, float, float]] = []
    for j in map(int, np.flatnonzero(hidden)):
        if not a[:, j].any():
            out.append((j, 0.0, math.inf))  # in no equation: any value is possible
            continue
        if settled(j):
            out.append((j, float(seen_lo[j]), float(seen_hi[j])))
            continue
        obj = np.zeros(flat.size)
        obj[j] = 1.0
        lo, x = _lp_solve(obj, a, rhs, bounds)
        witness(x)
        if settled(j):
            out.append((j, lo, float(seen_hi[j])))
            continue
        hi = -_lp_optimum(-obj, a, rhs, bounds)
        out.append((j, lo, hi))
    return out


def _audit_part(
    name: str,
    shown: pd.DataFrame,
    tr: Hashable | None,
    tc: Hashable | None,
    policy: DisclosurePolicy,
    *,
    rounded: bool,
    check_interval: bool,
    implied: np.ndarray | None = None,
) -> list[dict]:
    n_cols = shown.shape[1]
    flat = shown.to_numpy(dtype=float).ravel()
    displayed = ~np.isnan(flat) if implied is None else ~np.isnan(flat) & ~implied.ravel()
    risks: list[dict] = []

    def label(j: int) -> tuple[Any, Any]:
        return shown.index[j // n_cols], shown.columns[j % n_cols]

    for j in np.flatnonzero(displayed & _primary_array(np.nan_to_num(flat, nan=-1.0), policy)):
        msg = f"a count below {policy.threshold} is shown"
        risks.append(
            _risk(name, label(int(j)), "small_count_shown", msg, flat[j], flat[j], flat[j])
        )
    try:
        settled_at = policy.threshold if check_interval else -math.inf
        intervals = _intervals(shown, tr, tc, policy, rounded=rounded, settled_at=settled_at)
    except ValueError as err:
        return [*risks, _risk(name, (None, None), "inconsistent", str(err))]
    for j, lo, hi in intervals:
        if hi - lo < 0.5:
            msg = f"the hidden value can be worked out exactly ({lo:g})"
            risks.append(_risk(name, label(j), "exact_recovery", msg, None, lo, hi))
        elif check_interval and hi < policy.threshold - 0.5:
            msg = f"the shown figures prove the hidden value is at most {hi:g}"
            risks.append(_risk(name, label(j), "shown_to_be_small", msg, None, lo, hi))
    return risks


def _published_margins(
    frame: pd.DataFrame, row_total: bool | None, col_total: bool | None, label: Hashable
) -> tuple[Hashable | None, Hashable | None]:
    has_col = label in frame.columns
    has_row = label in frame.index
    for flag, present, what in ((row_total, has_col, "column"), (col_total, has_row, "row")):
        if flag is True and not present:
            raise ValueError(f"expected a {label!r} {what}")
        if flag is False and present:
            raise ValueError(f"unexpected {label!r} {what}")
    return (label if has_row else None), (label if has_col else None)


def feasible_intervals(
    table: pd.DataFrame | pd.Series,
    policy: DisclosurePolicy | None = None,
    *,
    row_total: bool | None = None,
    col_total: bool | None = None,
    total_label: Hashable = TOTAL,
) -> pd.DataFrame:
    """What a reader can deduce about each hidden cell of a published table.

    One row per hidden cell with the smallest and largest value consistent with the shown cells
    (read as in :func:`find_disclosure_risks`), the margins and non-negativity; ``upper`` is
    ``inf`` when nothing bounds the cell.
    """
    policy = policy or DisclosurePolicy()
    frame = table.to_frame() if isinstance(table, pd.Series) else table
    tr, tc = _published_margins(frame, row_total, col_total, total_label)
    shown = _parse_shown(frame, policy.suppressed_marker)
    n_cols = shown.shape[1]
    rows = [
        (shown.index[j // n_cols], shown.columns[j % n_cols], lo, hi)
        for j, lo, hi in _intervals(shown, tr, tc, policy, rounded=policy.rounding_base is not None)
    ]
    return pd.DataFrame(rows, columns=["row", "column", "lower", "upper"])


def find_disclosure_risks(
    table: ProtectedTable | pd.DataFrame | pd.Series,
    policy: DisclosurePolicy | None = None,
    *,
    row_total: bool | None = None,
    col_total: bool | None = None,
    total_label: Hashable = TOTAL,
    check_interval: bool | None = None,
) -> pd.DataFrame:
    """List the disclosure risks in a published table (empty DataFrame if none).

    Kinds: ``small_count_shown`` (a count in 1..threshold-1, or a zero when zeros are
    suppressed, is displayed); ``exact_recovery`` (a hidden cell's feasible range given the shown
    cells and margins is a single value); ``shown_to_be_small`` (with ``check_interval``, default
    ``policy.interval_protection``: the feasible maximum is below the threshold, so the table
    proves the hidden count is small); ``rate_on_hidden_count`` / ``rate_on_small_denominator``;
    ``average_on_small_group``; ``inconsistent`` (shown figures do not add up).

    A ProtectedTable is audited against the true values of its shown cells (before rounding:
    the strictest reading). A plain DataFrame is read as published - the marker, blanks or NaN
    are hidden, margins are rows/columns labelled ``total_label`` - and, if the policy rounds,
    each shown count stands for its whole rounding interval.
    """
    if isinstance(table, ProtectedTable):
        policy = policy or table.policy
        check = policy.interval_protection if check_interval is None else check_interval
        return _audit_protected(table, policy, check)
    policy = policy or DisclosurePolicy()
    check = policy.interval_protection if check_interval is None else check_interval
    frame = table.to_frame() if isinstance(table, pd.Series) else table
    tr, tc = _published_margins(frame, row_total, col_total, total_label)
    shown = _parse_shown(frame, policy.suppressed_marker)
    risks = _audit_part(
        "table",
        shown,
        tr,
        tc,
        policy,
        rounded=policy.rounding_base is not None,
        check_interval=check,
    )
    return pd.DataFrame(risks, columns=_RISK_COLUMNS)


def perturbed_ranges(true: pd.DataFrame, shown: pd.DataFrame, tr: Hashable | None, tc: Hashable | None,
                     policy: DisclosurePolicy) -> list[tuple[int, float, float]]:
    """(flat index, min, max) of every cell of a perturbed table whose true count is small (1 to
    ``threshold - 1``), over all non-negative tables whose cells add up to their margins and whose
    every shown figure could have been shown as it is (``PerturbationTable.true_range``); a hidden
    figure (NaN in ``shown``) can be anything."""
    ptable = policy.perturbation_table()
    n_rows, n_cols = shown.shape
    tr_pos = None if tr is None else shown.index.get_loc(tr)
    tc_pos = None if tc is None else shown.columns.get_loc(tc)
    values = shown.to_numpy(dtype=float).ravel()
    a = _equations(_lines(n_rows, n_cols, tr_pos, tc_pos), values.size)  # type: ignore[arg-type]
    bounds = [(0.0, None) if np.isnan(x) else tuple(float(b) for b in ptable.true_range(int(round(x))))
              for x in values]
    rhs = np.zeros(a.shape[0])
    flat_true = true.to_numpy(dtype=float).ravel()
    out = []
    for j in np.flatnonzero(_primary_array(flat_true, policy) & (flat_true > 0)):
        c = np.zeros(values.size)
        c[j] = 1.0
        lo = _lp_optimum(c, a, rhs, bounds)
        hi = -_lp_optimum(-c, a, rhs, bounds)
        out.append((int(j), lo, hi))
    return out


def _audit_perturbed(table: ProtectedTable, policy: DisclosurePolicy) -> list[dict]:
    """A table protected by the cell key method: no count from 1 to ``threshold - 1`` on display
    (checked with the other displays below); no true small count proved small, or worked out
    exactly, from the table's own figures and equations."""
    risks: list[dict] = []
    for part in table._audit.parts:
        shown = table.numeric.loc[part.frame.index, part.frame.columns]
        n_cols = shown.shape[1]
        hidden = np.isnan(shown.to_numpy(dtype=float).ravel())
        for j, lo, hi in perturbed_ranges(part.frame, shown, part.total_row, part.total_col, policy):
            where = (shown.index[j // n_cols], shown.columns[j % n_cols])
            if hidden[j]:  # hidden on top of the perturbation: protected like a suppressed count
                if hi - lo < policy.threshold:
                    risks.append(_risk(part.name, where, "shown_to_be_small" if hi < policy.threshold else "exact_recovery",
                                       f"the hidden count is narrowed to {lo:g} to {hi:g}", None, lo, hi))
            elif hi - lo < 0.5:
                risks.append(_risk(part.name, where, "exact_recovery", f"a small count can be worked out exactly ({lo:g})",
                                   None, lo, hi))
            elif lo >= 1 - 1e-9 and hi < policy.threshold - 0.5:
                risks.append(_risk(part.name, where, "shown_to_be_small",
                                   f"the shown figures prove the count is from {lo:g} to {hi:g}", None, lo, hi))
    return risks


def _audit_protected(table: ProtectedTable, policy: DisclosurePolicy, check: bool) -> pd.DataFrame:
    info = table._audit
    risks: list[dict] = _audit_perturbed(table, policy) if info.perturbed else []
    for part in info.parts if not info.perturbed else ():
        risks += _audit_part(
            part.name,
            part.frame,
            part.total_row,
            part.total_col,
            policy,
            rounded=False,
            check_interval=check,
            implied=part.implied,
        )
    # what readers actually see (after rounding) must not look like a small count either
    for col in info.count_columns:
        shown = table.numeric[col]
        small = shown.notna() & _primary_array(shown.fillna(-1.0).to_numpy(), policy)
        for idx in shown.index[small]:
            msg = f"a count below {policy.threshold} is displayed"
            risks.append(_risk("display", (idx, col), "small_count_shown", msg, shown[idx]))
    for rate, count, den in info.rates:
        shown_rate = table.numeric[rate].notna()
        denominators = pd.to_numeric(table.values[den], errors="coerce")
        for idx in shown_rate.index[shown_rate & table.mask[count]]:
            msg = "a rate is shown although its count is hidden"
            risks.append(_risk("display", (idx, rate), "rate_on_hidden_count", msg))
        small_den = shown_rate & (
            denominators.isna() | (denominators < policy.rate_min_denominator)
        )
        for idx in shown_rate.index[small_den]:
            msg = f"a rate is shown with a denominator below {policy.rate_min_denominator}"
            risks.append(_risk("display", (idx, rate), "rate_on_small_denominator", msg))
    if info.summary:
        n = table.numeric["n"]
        for idx in n.index:
            shown_avg = table.numeric.loc[idx, ["mean", "median"]].notna().any()
            n_max = math.inf if pd.isna(n[idx]) else policy.rounding_interval(int(n[idx]))[1]
            if shown_avg and (pd.isna(n[idx]) or n_max < policy.min_group_for_summary):
                msg = "an average is shown for a small or hidden group"
                risks.append(_risk("display", (idx, "mean/median"), "average_on_small_group", msg))
    return pd.DataFrame(risks, columns=_RISK_COLUMNS)


def assert_safe(
    table: ProtectedTable | pd.DataFrame | pd.Series,
    policy: DisclosurePolicy | None = None,
    **kwargs: Any,
) -> None:
    """Raise :class:`DisclosureRiskError` if :func:`find_disclosure_risks` finds anything.

    Exports call this just before writing; tests call it on every protected table.
    """
    risks = find_disclosure_risks(table, policy, **kwargs)
    if len(risks):
        raise DisclosureRiskError(risks)
