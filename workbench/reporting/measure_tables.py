"""Disclosure control for the commissioner-facing measure tables.

The measure functions return exact tables for researchers. Anything shown to commissioners goes
through disclosure control first (:mod:`workbench.reporting`); this module applies it to the
tidy shapes the measures produce:

- :func:`protect_tidy` - one or more count columns of a district x period table (each count column
  protected as its own table, with the county row as the district total where it is one), rates
  hidden with their numerator or denominator or when the denominator is small, proportions also
  when the complement is a small count, interval columns hidden with their rate, and means or
  medians hidden for groups smaller than ``min_group_for_summary``.
- :func:`protect_breakdown` - a breakdown (e.g. inflow by reason, duty endings by reason) as a
  2-D table per period: districts x categories, with the county and the category total as
  margins, so that secondary suppression also covers the sum across categories.

Known limit: the By Name List identity (``active_end = active_start + inflow - outflow``) links
tables that are protected separately; a reader could in principle difference them. Counts there
are large except for the flows, and rounding (``DisclosurePolicy(rounding_base=5)``) closes the
gap; the assumptions note records it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from workbench.reporting.counts import protect_long
from workbench.reporting.policy import DisclosurePolicy
from workbench.reporting.protected_table import ProtectedTable


def _with_county_total(df: pd.DataFrame, count_col: str, by: Sequence[str], strata: Sequence[str],
                       totals: Mapping[str, Any] | None, policy: DisclosurePolicy):
    try:
        return protect_long(df, count_col, by=list(by), strata=list(strata), policy=policy, totals=totals)
    except ValueError as err:  # the county row is not the sum of the districts for this column
        if totals and ("not the sum" in str(err) or "is not in the data" in str(err)):
            return protect_long(df, count_col, by=list(by), strata=list(strata), policy=policy, totals=None)
        raise


def protect_tidy(
    df: pd.DataFrame,
    count_cols: Sequence[str],
    *,
    by: Sequence[str],
    strata: Sequence[str] = (),
    rates: Mapping[str, tuple[str, str]] | None = None,
    intervals: Mapping[str, str] | None = None,
    summaries: Mapping[str, str] | None = None,
    proportions: bool = True,
    totals: Mapping[str, Any] | None = None,
    policy: DisclosurePolicy | None = None,
) -> ProtectedTable:
    """Protect a tidy measure table.

    ``rates`` maps a rate column to its (numerator, denominator) count columns; ``intervals``
    maps an interval column (e.g. ``rate_lower``) to its rate column; ``summaries`` maps a mean or
    median column to the count column giving its group size. Other columns are kept as they are.
    """
    policy = policy or DisclosurePolicy()
    rates, intervals, summaries = dict(rates or {}), dict(intervals or {}), dict(summaries or {})
    df = df.reset_index(drop=True)
    mask = pd.DataFrame(False, index=df.index, columns=df.columns)
    primary = mask.copy()
    numeric = df.copy()
    for c in count_cols:
        counts = df[c].fillna(0).round().astype(int)
        pt = _with_county_total(df.assign(**{c: counts}), c, by, strata, totals, policy)
        mask[c], primary[c] = pt.mask[c].to_numpy(), pt.primary_mask[c].to_numpy()
        numeric[c] = pt.numeric[c].to_numpy()
    for r, (num, den) in rates.items():
        n, d = df[num].astype(float), df[den].astype(float)
        small_den = d.isna() | (d < policy.rate_min_denominator)
        complement = (d - n >= 1) & (d - n < policy.threshold) if proportions else pd.Series(False, index=df.index)
        hidden = mask.get(num, False) | mask.get(den, False) | small_den | complement
        mask[r], primary[r] = hidden, small_den | complement
        numeric[r] = df[r].where(~hidden)
    for ci, r in intervals.items():
        mask[ci], primary[ci] = mask[r], primary[r]
        numeric[ci] = df[ci].where(~mask[r])
    for s, n_col in summaries.items():
        small = df[n_col].fillna(0) < policy.min_group_for_summary
        hidden = small | mask.get(n_col, False)
        mask[s], primary[s] = hidden, small
        numeric[s] = df[s].where(~hidden)
    values = numeric.astype(object).where(~mask, policy.suppressed_marker)
    for c in count_cols:  # whole numbers for display
        shown = ~mask[c]
        values.loc[shown, c] = numeric.loc[shown, c].round().astype(int)
    return ProtectedTable(values=values, numeric=numeric.where(~mask), mask=mask, primary_mask=primary,
                          footnote=policy.footnote_text(rates=bool(rates), summaries=bool(summaries)), policy=policy,
                          _index_in_exports=False)


def protect_breakdown(
    df: pd.DataFrame,
    count_col: str,
    *,
    row: str,
    column: str,
    strata: Sequence[str] = (),
    row_total: Any = None,
    column_total: str | None = None,
    policy: DisclosurePolicy | None = None,
) -> ProtectedTable:
    """Protect a breakdown ``row`` x ``column`` (e.g. district x end reason) within each stratum
    (e.g. duty and period). ``row_total`` is the label of the total row already in ``df`` (e.g.
    the county); ``column_total`` the label of a total category to add (sum across ``column``).
    """
    policy = policy or DisclosurePolicy()
    d = df[[*strata, row, column, count_col]].copy()
    d[count_col] = d[count_col].fillna(0).round().astype(int)
    if column_total is not None:
        tot = d.groupby([*strata, row], as_index=False)[count_col].sum()
        tot[column] = column_total
        d = pd.concat([d, tot], ignore_index=True)
    totals = {}
    if row_total is not None:
        totals[row] = row_total
    if column_total is not None:
        totals[column] = column_total
    try:
        return protect_long(d, count_col, by=[row, column], strata=list(strata), policy=policy, totals=totals or None)
    except ValueError as err:
        # The total row is not the sum of the rows shown (e.g. only some districts were kept):
        # it is then an ordinary cell, and the rows left out are not published at all.
        if row_total is None or not ("not the sum" in str(err) or "is not in the data" in str(err)):
            raise
        totals.pop(row)
        return protect_long(d, count_col, by=[row, column], strata=list(strata), policy=policy, totals=totals or None)


def display(table: ProtectedTable) -> pd.DataFrame:
    """The display values with the footnote as the frame's ``attrs['footnote']``."""
    out = table.values.copy()
    out.attrs["footnote"] = table.footnote
    return out


def hidden_share(table: ProtectedTable, cols: Sequence[str]) -> float:
    """Share of the given cells hidden (for checks and reports)."""
    m = table.mask[list(cols)].to_numpy()
    return float(np.mean(m)) if m.size else 0.0
