"""Recurrent-event Cox models built on :class:`~workbench.statistics.cox.CoxPH`.

All three models use the counting-process layout - one row per person per
inter-event interval ``(start, stop]`` with ``event`` = 1 if the interval ends in an
event and ``enum`` = 1, 2, ... the interval's number - and a cluster-robust (sandwich)
variance clustered on the person, exactly as the R calls cited below:

* **Andersen-Gill (AG)**: common baseline hazard, time since study entry::

      coxph(Surv(start, stop, event) ~ x + cluster(id))

* **Prentice-Williams-Peterson, total time (PWP-TT)**: a separate baseline hazard for
  the k-th event (stratified by ``enum``), time since study entry::

      coxph(Surv(start, stop, event) ~ x + strata(enum) + cluster(id))

* **PWP, gap time (PWP-GT)**: stratified by ``enum``, clock reset at each event::

      coxph(Surv(stop - start, event) ~ x + strata(enum) + cluster(id))

  R computes the gap time first and then merges nearly equal gap times (``timefix``);
  :class:`CoxPH` does the same to the gap column it is given.

``max_stratum`` pools event numbers above a threshold into one stratum (common when
few people have many events); the default keeps every event number separate, as R's
``strata(enum)`` does.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from workbench.statistics.cox import CoxPH
from workbench.statistics.design_checks import require_covariates

__all__ = [
    "counting_process_layout",
    "fit_andersen_gill",
    "fit_pwp_total_time",
    "fit_pwp_gap_time",
    "RecurrentEventsCox",
]


def counting_process_layout(
    persons: pd.DataFrame,
    events: pd.DataFrame,
    id_col: str = "id",
    end_col: str = "end",
    time_col: str = "time",
    entry_col: str | None = None,
) -> pd.DataFrame:
    """Person table + event table -> one row per person per interval.

    ``persons`` has one row per person: ``id_col``, the end of follow-up ``end_col``,
    optionally the start of follow-up ``entry_col`` (default 0) and any covariates
    (carried to every interval).  ``events`` has one row per event: ``id_col`` and the
    event time ``time_col``.  Events after the end of follow-up are an error; an event
    at the end of follow-up closes the last interval (no zero-length censored interval
    is added).  Returns columns ``id, start, stop, event, enum, gap`` (``gap = stop -
    start``, the PWP gap-time clock) followed by the covariates.
    """
    if persons[id_col].duplicated().any():
        raise ValueError("persons must have one row per id")
    p = persons.set_index(id_col)
    entry = p[entry_col] if entry_col is not None else pd.Series(0.0, index=p.index)
    ev = events[[id_col, time_col]].rename(columns={time_col: "stop"})
    unknown = ~ev[id_col].isin(p.index)
    if unknown.any():
        raise ValueError(f"events for unknown ids: {ev.loc[unknown, id_col].unique()[:5]}")
    ev = ev.assign(event=1)
    end = p[end_col]
    ev_entry = entry.reindex(ev[id_col]).to_numpy()
    ev_end = end.reindex(ev[id_col]).to_numpy()
    if np.any(ev["stop"].to_numpy() > ev_end) or np.any(ev["stop"].to_numpy() <= ev_entry):
        raise ValueError("every event must lie in (entry, end] of its person's follow-up")
    if ev.duplicated([id_col, "stop"]).any():
        raise ValueError("two events of one person at the same time: intervals would be empty")
    # Closing censored interval at the end of follow-up, unless an event is there.
    last = pd.DataFrame({id_col: p.index, "stop": end.to_numpy(), "event": 0})
    rows = pd.concat([ev, last], ignore_index=True)
    rows = rows.sort_values([id_col, "stop", "event"], ascending=[True, True, False])
    rows = rows.drop_duplicates([id_col, "stop"], keep="first")  # event at end wins
    rows["start"] = rows.groupby(id_col)["stop"].shift(1)
    first = rows["start"].isna()
    rows.loc[first, "start"] = entry.reindex(rows.loc[first, id_col]).to_numpy()
    rows["enum"] = rows.groupby(id_col).cumcount() + 1
    rows["gap"] = rows["stop"] - rows["start"]
    cov = p.drop(columns=[c for c in (end_col, entry_col) if c is not None])
    out = rows[[id_col, "start", "stop", "event", "enum", "gap"]].merge(
        cov, left_on=id_col, right_index=True, how="left"
    )
    return out.reset_index(drop=True)


def _covs(
    df: pd.DataFrame, covariates: Sequence[str] | None, formula: str | None, used: list[str]
) -> Sequence[str] | None:
    # No "every other column" default: on bladder2.csv it added the row-name column.
    require_covariates(covariates, formula)
    return covariates


def fit_andersen_gill(
    df: pd.DataFrame,
    id_col: str = "id",
    start_col: str = "start",
    stop_col: str = "stop",
    event_col: str = "event",
    covariates: Sequence[str] | None = None,
    formula: str | None = None,
    ties: str = "efron",
    **fit_kwargs: Any,
) -> CoxPH:
    """Andersen-Gill: ``coxph(Surv(start, stop, event) ~ x + cluster(id))``."""
    used = [id_col, start_col, stop_col, event_col, "enum", "gap"]
    return CoxPH(ties=ties).fit(
        df,
        duration_col=stop_col,
        event_col=event_col,
        entry_col=start_col,
        covariates=_covs(df, covariates, formula, used),
        formula=formula,
        cluster_col=id_col,
        **fit_kwargs,
    )


def _enum_strata(df: pd.DataFrame, enum_col: str, max_stratum: int | None) -> pd.DataFrame:
    stratum = df[enum_col] if max_stratum is None else df[enum_col].clip(upper=max_stratum)
    return df.assign(_enum_stratum=stratum.to_numpy())


def fit_pwp_total_time(
    df: pd.DataFrame,
    id_col: str = "id",
    start_col: str = "start",
    stop_col: str = "stop",
    event_col: str = "event",
    enum_col: str = "enum",
    covariates: Sequence[str] | None = None,
    formula: str | None = None,
    max_stratum: int | None = None,
    ties: str = "efron",
    **fit_kwargs: Any,
) -> CoxPH:
    """PWP total time: ``coxph(Surv(start, stop, event) ~ x + strata(enum) + cluster(id))``."""
    used = [id_col, start_col, stop_col, event_col, enum_col, "enum", "gap"]
    covs = _covs(df, covariates, formula, used)
    return CoxPH(ties=ties).fit(
        _enum_strata(df, enum_col, max_stratum),
        duration_col=stop_col,
        event_col=event_col,
        entry_col=start_col,
        covariates=covs,
        formula=formula,
        cluster_col=id_col,
        strata="_enum_stratum",
        **fit_kwargs,
    )


def fit_pwp_gap_time(
    df: pd.DataFrame,
    id_col: str = "id",
    start_col: str = "start",
    stop_col: str = "stop",
    event_col: str = "event",
    enum_col: str = "enum",
    covariates: Sequence[str] | None = None,
    formula: str | None = None,
    max_stratum: int | None = None,
    ties: str = "efron",
    **fit_kwargs: Any,
) -> CoxPH:
    """PWP gap time: ``coxph(Surv(stop - start, event) ~ x + strata(enum) + cluster(id))``."""
    used = [id_col, start_col, stop_col, event_col, enum_col, "enum", "gap"]
    covs = _covs(df, covariates, formula, used)
    d = _enum_strata(df, enum_col, max_stratum)
    d = d.assign(_gap_time=(d[stop_col] - d[start_col]).to_numpy())
    return CoxPH(ties=ties).fit(
        d,
        duration_col="_gap_time",
        event_col=event_col,
        covariates=covs,
        formula=formula,
        cluster_col=id_col,
        strata="_enum_stratum",
        **fit_kwargs,
    )


class RecurrentEventsCox:
    """Estimator-style front end: ``RecurrentEventsCox("ag" | "pwp_total" | "pwp_gap")``.

    ``fit`` takes counting-process data (see :func:`counting_process_layout`) and
    stores the underlying :class:`CoxPH` in ``model_``; its fitted attributes (``params_``,
    ``standard_errors_``, ``variance_``, ``confidence_intervals_``, ``log_likelihood_``,
    ``summary``) are forwarded.
    """

    _FITTERS = {
        "ag": fit_andersen_gill,
        "pwp_total": fit_pwp_total_time,
        "pwp_gap": fit_pwp_gap_time,
    }

    def __init__(self, model: str = "ag", ties: str = "efron", max_stratum: int | None = None):
        if model not in self._FITTERS:
            raise ValueError(f"model must be one of {sorted(self._FITTERS)}")
        self.model = model
        self.ties = ties
        self.max_stratum = max_stratum

    def fit(self, df: pd.DataFrame, **kwargs: Any) -> RecurrentEventsCox:
        if self.model != "ag":
            kwargs.setdefault("max_stratum", self.max_stratum)
        self.model_ = self._FITTERS[self.model](df, ties=self.ties, **kwargs)
        return self

    @property
    def params_(self) -> pd.Series:
        return self.model_.params_

    @property
    def standard_errors_(self) -> pd.Series:
        return self.model_.standard_errors_

    @property
    def variance_(self) -> pd.DataFrame:
        return self.model_.variance_

    @property
    def confidence_intervals_(self) -> pd.DataFrame:
        return self.model_.confidence_intervals_

    @property
    def log_likelihood_(self) -> float:
        return self.model_.log_likelihood_

    @property
    def summary(self) -> pd.DataFrame:
        return self.model_.summary
