"""Protect rates and summaries: a rate is hidden with its count or a small denominator (or a
small complement, for proportions); means and medians are shown only for large enough groups."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, overload

import numpy as np
import pandas as pd
from pandas.core.groupby import SeriesGroupBy

from workbench.reporting.policy import DisclosurePolicy, _primary_array, _round_array
from workbench.reporting.protected_table import (
    ProtectedTable,
    ProtectedValue,
    _as_display,
    _AuditInfo,
)

# --------------------------------------------------------------------------------------------
# Public API: rates and summaries
# --------------------------------------------------------------------------------------------


def _rate_reasons(
    num: np.ndarray, den: np.ndarray, policy: DisclosurePolicy, proportion: bool
) -> list[str | None]:
    reasons: list[str | None] = []
    for n, d in zip(num, den, strict=True):
        if np.isnan(n):
            reasons.append("count hidden")
        elif np.isnan(d) or d < policy.rate_min_denominator or d <= 0:
            reasons.append(f"denominator below {policy.rate_min_denominator}")
        elif _primary_array(np.asarray([n]), policy)[0]:
            reasons.append("small count")
        elif proportion and 1 <= d - n < policy.threshold:
            # "all but 2 returned" reveals a small group just as well as "2 returned"
            reasons.append("small complement")
        else:
            reasons.append(None)
    return reasons


@overload
def protect_rate(
    numerator: float,
    denominator: float,
    policy: DisclosurePolicy | None = ...,
    *,
    per: float = ...,
    proportion: bool = ...,
) -> ProtectedValue: ...


@overload
def protect_rate(
    numerator: pd.Series | np.ndarray | Sequence[float],
    denominator: pd.Series | np.ndarray | Sequence[float] | float,
    policy: DisclosurePolicy | None = ...,
    *,
    per: float = ...,
    proportion: bool = ...,
) -> ProtectedTable: ...


def protect_rate(
    numerator: Any,
    denominator: Any,
    policy: DisclosurePolicy | None = None,
    *,
    per: float = 1.0,
    proportion: bool = False,
) -> ProtectedValue | ProtectedTable:
    """Rate ``numerator / denominator * per`` (``per=100`` for percentages), or hidden.

    Hidden when the numerator is missing (NaN: already suppressed in its table, so pass
    ``ProtectedTable.numeric``), a small count, or when the denominator is missing or below
    ``rate_min_denominator``. With ``proportion=True`` (numerator is a subset of denominator) it
    is also hidden when ``denominator - numerator`` is a small count. With rounding on, the rate
    uses the rounded numerator. Scalars give a ProtectedValue, arrays a one-column ProtectedTable.
    """
    policy = policy or DisclosurePolicy()
    scalar = np.ndim(numerator) == 0 and np.ndim(denominator) == 0
    index = numerator.index if isinstance(numerator, pd.Series) else None
    num = np.atleast_1d(np.asarray(numerator, dtype=float))
    den = np.broadcast_to(np.asarray(denominator, dtype=float), num.shape)
    reasons = _rate_reasons(num, den, policy, proportion)
    hidden = np.asarray([r is not None for r in reasons])
    with np.errstate(divide="ignore", invalid="ignore"):
        rate = np.where(hidden, np.nan, _round_array(num, policy) / den * per)
    note = policy.footnote_text(counts=False, summaries=False)
    if scalar:
        value = None if hidden[0] else float(rate[0])
        return ProtectedValue(
            value=value,
            display=policy.suppressed_marker if value is None else value,
            suppressed=bool(hidden[0]),
            reason=reasons[0],
            footnote=note,
        )
    numeric = pd.DataFrame({"rate": rate}, index=index)
    mask = pd.DataFrame({"rate": hidden}, index=numeric.index)
    primary = pd.DataFrame(
        {"rate": [r not in (None, "count hidden") for r in reasons]}, index=numeric.index
    )
    return ProtectedTable(
        values=_as_display(numeric, mask, policy.suppressed_marker, []),
        numeric=numeric,
        mask=mask,
        primary_mask=primary,
        footnote=note,
        policy=policy,
    )


def protect_summary(
    values: pd.Series | np.ndarray | Sequence[float] | SeriesGroupBy,
    policy: DisclosurePolicy | None = None,
) -> ProtectedTable:
    """Group size, mean and median, with the mean/median shown only for groups of
    ``min_group_for_summary`` or more (and the size itself under the small count rule).

    Pass a sequence for one group, or ``df.groupby(...)[column]`` for one row per group.
    Missing values are dropped before counting.
    """
    policy = policy or DisclosurePolicy()
    if isinstance(values, SeriesGroupBy):
        groups = [(k, g.dropna()) for k, g in values]
        index = pd.Index([k for k, _ in groups])
    else:
        series = pd.Series(np.asarray(values, dtype=float)).dropna()
        groups = [("all", series)]
        index = pd.Index(["all"])
    n = np.asarray([len(g) for _, g in groups], dtype=float)
    mean = np.asarray([g.mean() if len(g) else np.nan for _, g in groups])
    median = np.asarray([g.median() if len(g) else np.nan for _, g in groups])
    n_hidden = _primary_array(n, policy)
    small_group = (n < policy.min_group_for_summary) | n_hidden
    numeric = pd.DataFrame(
        {
            "n": np.where(n_hidden, np.nan, _round_array(n, policy)),
            "mean": np.where(small_group, np.nan, mean),
            "median": np.where(small_group, np.nan, median),
        },
        index=index,
    )
    mask = pd.DataFrame({"n": n_hidden, "mean": small_group, "median": small_group}, index=index)
    return ProtectedTable(
        values=_as_display(numeric, mask, policy.suppressed_marker, ["n"]),
        numeric=numeric,
        mask=mask,
        primary_mask=mask.copy(),
        footnote=policy.footnote_text(rates=False),
        policy=policy,
        _audit=_AuditInfo(count_columns=("n",), summary=True),
    )


