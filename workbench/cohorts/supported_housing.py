"""Supported-accommodation leavers: who left which model of service, how, and what happened next.

Definitions (``workbench/definitions.yaml``, section ``supported_housing``):

- **Cohort**: every ended stay in ``supported_accommodation``, with the model of the service, the
  needs and route recorded at entry, and the length of stay.
- **Moved on to settled accommodation**: a settled tenancy of the same person starting within
  ``move_on_window_days`` (14) after the stay ended.
- **Planned move-on**: departure reason ``planned_move_on``. **Eviction or abandonment**:
  departure reason ``evicted`` or ``abandoned``.
- **Kept settled accommodation at 6 / 12 months** (for those who moved on, with the whole window
  observed before the extract date): the tenancy had not ended for any reason other than a
  planned move, the person had not returned to homelessness (the returns study's definition,
  :mod:`workbench.cohorts.returns`) and had not died, by that many days after moving in.
- **Entrants** (the primary comparison): every stay that *began*, whether or not it has ended,
  with ``entrants_horizon_days`` (730) observed before the extract date; the outcome is **settled
  at the horizon**: on that day after entry the person is in a settled tenancy that began after
  the entry and has not ended (other than by a planned move), had not returned to homelessness
  since moving in, and had not died. A stay still open at the horizon is an outcome (not yet
  settled), not missing: everyone who entered counts, so nothing after entry selects who is compared.
- **Treatment** (the comparison of action 7.3): the stay was in a ``congregate_hostel`` (vs any
  other model). **Confounders**: needs at entry (drug, alcohol, rough sleeping history,
  offending, mental health, domestic abuse, young person 18-25), gender, route in.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from workbench.cohorts.returns import RETURNED, has_need, returns_cohort
from workbench.definitions import SOURCES, definition, definitions

#: Covariates derived from the stay record: (column, plain label).
CONFOUNDERS = [
    ("drug_dependency", "Drug dependency need"),
    ("alcohol_dependency", "Alcohol dependency need"),
    ("history_rough_sleeping", "History of rough sleeping"),
    ("offending_history", "Offending history"),
    ("mental_health", "Mental health need"),
    ("young_18_25", "Young person 18-25 needing support"),
    ("female", "Female"),
    ("domestic_abuse", "Domestic abuse"),
    ("route_rough_sleeping", "Came in from rough sleeping"),
]
LOSS_EXCLUDED_END_REASONS = {"planned_move"}


def cohort_inputs(store, tables: dict[str, pd.DataFrame] | None,
                  extract_date: dt.date | None) -> tuple[dict[str, pd.DataFrame], dt.date]:
    """The source tables and extract date a cohort is built from: given, or read once from the store
    (the study reads them once for both of its cohorts)."""
    if tables is None:
        tables = {n: store.table(n) for n in SOURCES if n in store.tables()}
    if extract_date is None:
        extract_date = dt.date.fromisoformat(store.meta()["extract_date"])
    return tables, extract_date


def _death_dates(person_id: pd.Series, tables: dict[str, pd.DataFrame]) -> pd.Series:
    deaths = tables.get("deaths", pd.DataFrame())
    if not len(deaths):
        return pd.Series(pd.NaT, index=person_id.index)
    return pd.to_datetime(person_id.map(deaths.groupby("person_id")["date_of_death"].min()))


def leavers_cohort(store=None, *, tables: dict[str, pd.DataFrame] | None = None,
                   extract_date: dt.date | None = None) -> pd.DataFrame:
    """One row per ended supported-accommodation stay, with outcomes and covariates."""
    cfg = definition("supported_housing")
    window = int(cfg["move_on_window_days"])
    tables, extract_date = cohort_inputs(store, tables, extract_date)
    extract_ts = pd.Timestamp(extract_date)
    sa = tables["supported_accommodation"]
    stays = sa[sa["end_date"].notna()].copy()
    stays = stays.drop_duplicates(["person_id", "start_date", "model"], keep="first")
    out = pd.DataFrame({
        "episode_id": stays.episode_id, "person_id": stays.person_id, "service_name": stays.service_name,
        "model": stays.model, "district": stays.district, "route_in": stays.route_in,
        "gender": stays.gender, "age": stays.get("age_at_start_date"),
        "support_needs": stays.support_needs.fillna(""),
        "start_date": pd.to_datetime(stays.start_date), "end_date": pd.to_datetime(stays.end_date),
        "departure_reason": stays.departure_reason, "destination": stays.destination,
    }).reset_index(drop=True)
    out["length_of_stay_days"] = (out.end_date - out.start_date).dt.days
    out["planned_move_on"] = (out.departure_reason == "planned_move_on").astype(int)
    out["evicted_or_abandoned"] = out.departure_reason.isin(cfg["evicted_or_abandoned"]).astype(int)
    out = _covariates(out, cfg)

    # Move-on: the first settled tenancy starting 0..window days after the stay ended.
    st = tables["settled_tenancies"]
    ten = pd.DataFrame({"person_id": st.person_id, "tenancy_id": st.tenancy_id, "tenure": st.tenure,
                        "move_in_date": pd.to_datetime(st.start_date), "tenancy_end_date": pd.to_datetime(st.end_date),
                        "tenancy_end_reason": st.end_reason}).sort_values("move_in_date")
    left = out.reset_index().sort_values("end_date")
    linked = pd.merge_asof(left, ten, left_on="end_date", right_on="move_in_date", by="person_id",
                           direction="forward", tolerance=pd.Timedelta(days=window)).set_index("index").sort_index()
    for c in ("tenancy_id", "tenure", "move_in_date", "tenancy_end_date", "tenancy_end_reason"):
        out[c] = linked[c]
    out["moved_on_settled"] = out.tenancy_id.notna().astype(int)

    # Returns after the move-in, by the returns study's definition.
    cohort = returns_cohort(tables=tables, extract_date=extract_date, routes=list(
        set(definitions()["returns"]["cohort_routes"]) | {"supported_accommodation"}))
    ret = cohort.set_index("tenancy_id")
    death_date = _death_dates(out.person_id, tables)
    for days, name in ((183, "kept_6m"), (365, "kept_12m")):
        horizon = out.move_in_date + pd.Timedelta(days=days)
        observed = out.moved_on_settled.astype(bool) & (horizon <= extract_ts)
        lost = (out.tenancy_end_date.notna() & (out.tenancy_end_date <= horizon)
                & ~out.tenancy_end_reason.isin(LOSS_EXCLUDED_END_REASONS))
        r_time = out.tenancy_id.map(ret["time_days"].where(ret["status"] == RETURNED))
        returned = r_time.notna() & (r_time <= days)
        died = death_date.notna() & (death_date <= horizon)
        out[name] = np.where(observed, (~(lost | returned | died)).astype(float), np.nan)
    return out


def _covariates(out: pd.DataFrame, cfg: dict) -> pd.DataFrame:
    for code in cfg["covariate_needs"]:
        out[code] = has_need(out.support_needs, code)
    out["young_18_25"] = has_need(out.support_needs, "young_person_18_25")
    out["female"] = (out.gender == "female").astype(int)
    out["route_rough_sleeping"] = (out.route_in == "rough_sleeping").astype(int)
    out["congregate"] = (out.model == "congregate_hostel").astype(int)
    return out


def entrants_cohort(store=None, *, tables: dict[str, pd.DataFrame] | None = None,
                    extract_date: dt.date | None = None) -> pd.DataFrame:
    """One row per stay that began, with ``settled_at_horizon`` (NaN when the horizon is after the
    extract date) and the covariates of :func:`leavers_cohort`."""
    cfg = definition("supported_housing")
    horizon_days = int(cfg["entrants_horizon_days"])
    tables, extract_date = cohort_inputs(store, tables, extract_date)
    sa = tables["supported_accommodation"]
    stays = sa.drop_duplicates(["person_id", "start_date", "model"], keep="first")
    out = pd.DataFrame({
        "episode_id": stays.episode_id, "person_id": stays.person_id, "model": stays.model,
        "district": stays.district, "route_in": stays.route_in, "gender": stays.gender,
        "support_needs": stays.support_needs.fillna(""), "start_date": pd.to_datetime(stays.start_date),
        "end_date": pd.to_datetime(stays.end_date),
    }).reset_index(drop=True)
    out = _covariates(out, cfg)
    out["horizon_date"] = out.start_date + pd.Timedelta(days=horizon_days)
    out["horizon_observed"] = out.horizon_date <= pd.Timestamp(extract_date)
    out["open_at_horizon"] = out.end_date.isna() | (out.end_date > out.horizon_date)

    # Settled tenancies that began after the entry and by the horizon, still held at the horizon.
    st = tables["settled_tenancies"]
    ten = pd.DataFrame({"person_id": st.person_id, "tenancy_id": st.tenancy_id,
                        "move_in_date": pd.to_datetime(st.start_date), "tenancy_end_date": pd.to_datetime(st.end_date),
                        "tenancy_end_reason": st.end_reason})
    cohort = returns_cohort(tables=tables, extract_date=extract_date, routes=list(
        set(definitions()["returns"]["cohort_routes"]) | {"supported_accommodation"}))
    returned_on = cohort.set_index("tenancy_id")
    returned_on = (returned_on["move_in_date"] + pd.to_timedelta(returned_on["time_days"], unit="D")).where(
        returned_on["status"] == RETURNED)
    pairs = out[["episode_id", "person_id", "start_date", "horizon_date"]].merge(ten, on="person_id")
    pairs = pairs[(pairs.move_in_date >= pairs.start_date) & (pairs.move_in_date <= pairs.horizon_date)]
    held = (pairs.tenancy_end_date.isna() | (pairs.tenancy_end_date > pairs.horizon_date)
            | pairs.tenancy_end_reason.isin(LOSS_EXCLUDED_END_REASONS))
    back = pd.to_datetime(pairs.tenancy_id.map(returned_on))
    held &= ~(back.notna() & (back <= pairs.horizon_date))
    settled = set(pairs.loc[held, "episode_id"])
    death_date = _death_dates(out.person_id, tables)
    alive = ~(death_date.notna() & (death_date <= out.horizon_date))
    outcome = (out.episode_id.isin(settled) & alive).astype(float)
    out["settled_at_horizon"] = outcome.where(out.horizon_observed)
    return out
