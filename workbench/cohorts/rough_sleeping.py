"""Rough sleeping cohorts: who is newly seen on the streets, and what contact they had before.

Definitions (``workbench/definitions.yaml``, section ``new_arrivals``; the reasons are in
``docs/assumptions/new_arrivals.md``):

- **Seen rough sleeping** means a *verified bedded-down* outreach contact (a worker saw the person
  bedded down). Other outreach contacts (walking, begging) never count. Several contacts of one
  person on one day are one sighting.
- **New arrival** (England's Ending Rough Sleeping Data Framework): a sighting on day ``d`` with no
  earlier sighting of the same person in the lookback, the ``lookback_months`` (60; 24 = HUD
  Measure 5) calendar months before ``d``. A sighting on day ``d - 60 months`` exactly is inside
  the lookback (the person is not new); one a day earlier is outside (the person is new).
- **Short history**: when ``d - lookback`` falls before ``history_start`` (the first day the
  outreach data are complete) the lookback is incomplete. England's framework counts such
  first-seen people as new (``short_history="count_as_new"``, the default); every such arrival
  is flagged ``lookback_complete = False``; ``short_history="exclude"`` drops them.
- **CHAIN classification** (London's CHAIN), per period (month by default) among people seen rough
  sleeping in the period: *new* (their first sighting in the period is a new arrival), *stock*
  (also seen in the previous period), *returner* (seen before in the lookback, not in the previous
  period). *Living on the streets* is a flag on top: at least ``living_on_streets_min_contacts``
  sightings on different days in the period, the first and last at least
  ``living_on_streets_min_span_days`` apart.
- **Earlier contact**: any record of the person in another source (statutory case, institutional
  discharge, supported accommodation stay, settled tenancy), or an outreach contact where they were
  not bedded down, that began before the arrival day and whose last date before arrival lies in the
  ``contact_lookback_months`` before it. Same-day records are not "earlier": the order of events
  within a day is not recorded.
- **Route** into rough sleeping: each earlier contact gets one route; an arrival's route is the
  first of these it has (priority order), the most recent one within a route:
  ``ROUTE_PRIORITY``.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

import numpy as np
import pandas as pd

from workbench.definitions import definition, definitions, history_start

#: Routes into rough sleeping, in priority order (the first that applies is an arrival's route).
#: The first four are the failure points the partnership asked about (action 3.2); the rest are
#: other earlier contacts, so every person who presented has exactly one route.
ROUTE_PRIORITY: tuple[str, ...] = (
    "institution_discharge",               # discharged or released within the institution window (85 days)
    "duty_ended_contact_lost_or_56_days",  # prevention/relief duty ended: contact lost, or 56 days elapsed
    "supported_accommodation_eviction",    # stay ended by eviction
    "supported_accommodation_abandoned",   # stay ended by abandonment
    "approach_other_district",             # a statutory case in a district other than the arrival district
    "statutory_other",                     # any other statutory case in the arrival district
    "supported_accommodation_other",       # any other stay (other ending, or still open at arrival)
    "tenancy_ended",                       # a settled tenancy that ended before arrival
    "tenancy_open",                        # a settled tenancy still running at arrival
    "institution_discharge_earlier",       # a discharge more than the institution window before arrival
)
ROUTE_LABELS: dict[str, str] = {
    "institution_discharge": "Left hospital or prison (within 85 days)",
    "duty_ended_contact_lost_or_56_days": "Council duty ended: contact lost or 56 days elapsed",
    "supported_accommodation_eviction": "Evicted from supported accommodation",
    "supported_accommodation_abandoned": "Abandoned supported accommodation",
    "approach_other_district": "Approached another district's council",
    "statutory_other": "Other council case (same district)",
    "supported_accommodation_other": "Other supported accommodation stay",
    "tenancy_ended": "Settled tenancy ended",
    "tenancy_open": "Settled tenancy still running",
    "institution_discharge_earlier": "Left hospital or prison (over 85 days before)",
    "none": "No earlier contact",
}
#: Sources whose records count as presenting for help (unverified outreach contacts do not).
PRESENTING_SOURCES: tuple[str, ...] = tuple(definition("new_arrivals", "presenting_sources"))

ShortHistory = Literal["count_as_new", "exclude"]


def _cfg() -> dict:
    return definitions()["new_arrivals"]


def _months_before(dates: pd.Series, months: int) -> pd.Series:
    """``dates`` minus whole calendar months (the month-end rule of pandas' DateOffset)."""
    return pd.to_datetime(dates) - pd.DateOffset(months=int(months))


def _bool(series: pd.Series) -> pd.Series:
    return series.astype("boolean").fillna(False).astype(bool)


def sightings(outreach: pd.DataFrame) -> pd.DataFrame:
    """Verified bedded-down contacts, one row per person per day.

    Columns: person_id, date, district, contact_id, contacts (verified contacts that day). When a
    person was seen on one day in more than one place, the day's district is that of the contact
    with the lowest contact_id (the outreach system numbers contacts as they are recorded).
    """
    cols = ["person_id", "date", "district", "contact_id", "contacts"]
    if outreach is None or not len(outreach):
        return pd.DataFrame({c: pd.Series(dtype="datetime64[ns]" if c == "date" else object) for c in cols})
    v = outreach[_bool(outreach["verified_bedded_down"]) & outreach["person_id"].notna()]
    v = v.assign(date=pd.to_datetime(v["contact_date"]).dt.normalize())
    v = v.dropna(subset=["date"]).sort_values(["person_id", "date", "contact_id"])
    first = v.drop_duplicates(["person_id", "date"], keep="first")
    counts = v.groupby(["person_id", "date"]).size().rename("contacts")
    out = first[["person_id", "date", "district", "contact_id"]].merge(counts, on=["person_id", "date"])
    return out.reset_index(drop=True)


def _with_previous(sight: pd.DataFrame) -> pd.DataFrame:
    s = sight.sort_values(["person_id", "date"], ignore_index=True)
    s["previous_date"] = s.groupby("person_id")["date"].shift(1)
    return s


def classify_sightings(
    sight: pd.DataFrame, lookback_months: int, start_of_history: dt.date
) -> pd.DataFrame:
    """Each sighting with ``previous_date`` (the person's last earlier sighting), ``is_arrival``
    (none in the lookback) and ``lookback_complete`` (the lookback lies inside the data)."""
    s = _with_previous(sight)
    lookback_start = _months_before(s["date"], lookback_months)
    # A previous sighting on the lookback's first day counts as inside it (the person is not new).
    s["is_arrival"] = s["previous_date"].isna() | (s["previous_date"] < lookback_start)
    s["lookback_complete"] = lookback_start >= pd.Timestamp(start_of_history)
    return s


def new_arrivals(
    outreach: pd.DataFrame,
    *,
    period_start: dt.date | None = None,
    period_end: dt.date | None = None,
    lookback_months: int | None = None,
    short_history: ShortHistory | None = None,
    start_of_history: dt.date | None = None,
) -> pd.DataFrame:
    """One row per person newly seen rough sleeping in the period (their first arrival in it).

    Columns: person_id, arrival_date, arrival_district, arrival_contact_id, previous_sighting
    (the last sighting before the lookback, if any), lookback_complete, gender, nationality, age.
    """
    cfg = _cfg()
    lookback_months = cfg["lookback_months"] if lookback_months is None else lookback_months
    short_history = short_history or cfg.get("short_history", "count_as_new")
    if short_history not in ("count_as_new", "exclude"):
        raise ValueError(f"short_history must be 'count_as_new' or 'exclude', not {short_history!r}.")
    start_of_history = start_of_history or history_start()
    s = classify_sightings(sightings(outreach), lookback_months, start_of_history)
    a = s[s["is_arrival"]]
    if period_start is not None:
        a = a[a["date"] >= pd.Timestamp(period_start)]
    if period_end is not None:
        a = a[a["date"] <= pd.Timestamp(period_end)]
    if short_history == "exclude":
        a = a[a["lookback_complete"]]
    a = a.sort_values(["person_id", "date"]).drop_duplicates("person_id", keep="first")
    out = pd.DataFrame({
        "person_id": a["person_id"].to_numpy(), "arrival_date": a["date"].to_numpy(),
        "arrival_district": a["district"].to_numpy(), "arrival_contact_id": a["contact_id"].to_numpy(),
        "previous_sighting": a["previous_date"].to_numpy(), "lookback_complete": a["lookback_complete"].to_numpy(),
    })
    # Who they were when first seen: from the arrival contact itself (recorded for everyone).
    if len(out) and outreach is not None and len(outreach):
        oc = outreach.set_index("contact_id")
        at = oc.reindex(out["arrival_contact_id"])
        out["gender"] = at["gender"].to_numpy() if "gender" in at else None
        out["nationality"] = at["nationality"].to_numpy() if "nationality" in at else None
        age = pd.Series(np.nan, index=at.index)
        if "age_at_contact_date" in at:
            age = pd.to_numeric(at["age_at_contact_date"], errors="coerce")
        if "approximate_age" in at:
            age = age.fillna(pd.to_numeric(at["approximate_age"], errors="coerce"))
        out["age"] = age.to_numpy(dtype=float)
    else:
        out["gender"], out["nationality"], out["age"] = None, None, np.nan
    return out.sort_values(["arrival_date", "person_id"], ignore_index=True)


def chain_classification(
    outreach: pd.DataFrame,
    *,
    freq: str = "M",
    lookback_months: int | None = None,
    start_of_history: dt.date | None = None,
    min_contacts: int | None = None,
    min_span_days: int | None = None,
) -> pd.DataFrame:
    """CHAIN-style status of everyone seen rough sleeping, one row per person per period.

    Columns: person_id, period (a pandas Period of ``freq``), status (new / stock / returner),
    lookback_complete (for "new": whether the whole lookback lies inside the data), first_seen
    (first sighting in the period), district (of that sighting), districts (every district the
    person was seen in during the period, ';'-separated), sighting_days, living_on_streets.
    """
    cfg = _cfg()
    lookback_months = cfg["lookback_months"] if lookback_months is None else lookback_months
    min_contacts = cfg.get("living_on_streets_min_contacts", 3) if min_contacts is None else min_contacts
    min_span_days = cfg.get("living_on_streets_min_span_days", 21) if min_span_days is None else min_span_days
    s = classify_sightings(sightings(outreach), lookback_months, start_of_history or history_start())
    if not len(s):
        return pd.DataFrame(columns=["person_id", "period", "status", "lookback_complete", "first_seen", "district",
                                     "districts", "sighting_days", "living_on_streets"])
    s["period"] = s["date"].dt.to_period(freq)
    g = s.groupby(["person_id", "period"], sort=True)
    first = g.head(1).set_index(["person_id", "period"])  # s is sorted by person and date
    per = pd.DataFrame({
        "first_seen": first["date"], "district": first["district"],
        "is_new": first["is_arrival"], "lookback_complete": first["lookback_complete"],
        "sighting_days": g.size(), "last_seen": g["date"].max(),
    }).reset_index()
    where = (s.dropna(subset=["district"]).drop_duplicates(["person_id", "period", "district"])
             .sort_values(["person_id", "period", "district"]).groupby(["person_id", "period"])["district"]
             .agg(";".join).rename("districts"))
    per = per.merge(where, on=["person_id", "period"], how="left")
    per["districts"] = per["districts"].fillna("")
    seen = set(zip(per["person_id"], per["period"], strict=True))
    in_previous = np.array([(p, q - 1) in seen for p, q in zip(per["person_id"], per["period"], strict=True)], dtype=bool)
    per["status"] = np.select([per["is_new"], in_previous], ["new", "stock"], "returner")
    span = (per["last_seen"] - per["first_seen"]).dt.days
    per["living_on_streets"] = (per["sighting_days"] >= min_contacts) & (span >= min_span_days)
    per.loc[per["status"] != "new", "lookback_complete"] = True  # only "new" depends on the lookback
    cols = ["person_id", "period", "status", "lookback_complete", "first_seen", "district", "districts",
            "sighting_days", "living_on_streets"]
    return per[cols].sort_values(["period", "person_id"], ignore_index=True)


# ------------------------------------------------------------------------------ earlier contacts
def _label(vocab: str, code: object) -> str:
    from workbench.contracts import load_contracts

    if code is None or (isinstance(code, float) and np.isnan(code)) or code == "":
        return "not recorded"
    codes = load_contracts().vocabularies[vocab].codes
    return str(codes.get(code, code)) if isinstance(codes, dict) else str(code)


def _pairs(arrivals: pd.DataFrame, table: pd.DataFrame) -> pd.DataFrame:
    """Every record of ``table`` of a person in ``arrivals``, with that person's arrival."""
    if table is None or not len(table):
        return pd.DataFrame()
    keep = ["person_id", "arrival_date", "arrival_district"]
    return arrivals[keep].merge(table, on="person_id", how="inner")


def _pairs_before(arrivals: pd.DataFrame, table: pd.DataFrame, date_col: str) -> tuple[pd.DataFrame, pd.Series]:
    """:func:`_pairs` dated strictly before the arrival, and those records' dates."""
    p = _pairs(arrivals, table)
    if not len(p):
        return p, pd.Series(dtype="datetime64[ns]")
    p = p[pd.to_datetime(p[date_col]) < p["arrival_date"]].copy()
    return p, pd.to_datetime(p[date_col])


def _empty_contacts() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=t) for c, t in CONTACT_COLUMNS.items()})


CONTACT_COLUMNS: dict[str, str] = {
    "person_id": "object", "arrival_date": "datetime64[ns]", "arrival_district": "object",
    "source": "object", "record_id": "object", "district": "object", "start_date": "datetime64[ns]",
    "end_date": "datetime64[ns]", "last_date": "datetime64[ns]", "open_at_arrival": "bool",
    "stage": "object", "outcome": "object", "outcome_label": "object", "agency": "object",
    "referral_route": "object", "duty_to_refer": "bool", "main_duty_decision": "object",
    "route": "object", "route_date": "datetime64[ns]", "presenting": "bool",
}


def _statutory(arrivals: pd.DataFrame, cases: pd.DataFrame) -> pd.DataFrame:
    p = _pairs(arrivals, cases)
    if not len(p):
        return p
    arr = p["arrival_date"]
    p = p[pd.to_datetime(p["approach_date"]) < arr].copy()
    arr = p["arrival_date"]
    dates = {c: pd.to_datetime(p[c]) for c in ("approach_date", "prevention_duty_start", "prevention_duty_end",
                                                "relief_duty_start", "relief_duty_end", "main_duty_decision_date")}
    before = {c: d.where(d < arr) for c, d in dates.items()}  # only what had happened by the arrival
    rel_ended, rel_started = before["relief_duty_end"].notna(), before["relief_duty_start"].notna()
    prev_ended, prev_started = before["prevention_duty_end"].notna(), before["prevention_duty_start"].notna()
    # The stage reached by the arrival and how it ended (the later duty wins).
    stage = np.select([rel_started, prev_started], ["relief", "prevention"], "assessment")
    outcome = np.select(
        [rel_ended, rel_started, prev_ended, prev_started],
        [p["relief_duty_end_reason"].fillna("not_known"), "open_at_arrival",
         p["prevention_duty_end_reason"].fillna("not_known"), "open_at_arrival"],
        p["assessment"].fillna("not_known"),
    )
    open_at_arrival = outcome == "open_at_arrival"
    duty_end = np.where(rel_ended, before["relief_duty_end"], np.where(prev_ended & ~rel_started,
                                                                        before["prevention_duty_end"], pd.NaT))
    duty_end = pd.to_datetime(pd.Series(duty_end, index=p.index))
    last = pd.concat([before[c] for c in ("approach_date", "prevention_duty_start", "prevention_duty_end",
                                          "relief_duty_start", "relief_duty_end")], axis=1).max(axis=1)
    # Still owed a duty at arrival: in touch with the council up to the day before.
    last = last.where(~open_at_arrival, arr - pd.Timedelta(days=1))
    labels = []
    for st, oc in zip(stage, outcome, strict=True):
        if oc == "open_at_arrival":
            labels.append(f"{st.capitalize()} duty still open at arrival")
        elif st == "relief":
            labels.append(f"Relief duty ended: {_label('relief_end_reason', oc)}")
        elif st == "prevention":
            labels.append(f"Prevention duty ended: {_label('prevention_end_reason', oc)}")
        else:
            labels.append(f"Assessed: {_label('assessment', oc)}")
    ref = p["referral_route"].fillna("not_known").astype(str)
    dtr = ref.str.startswith("dtr_")
    agency = np.where(dtr, "Duty to Refer: " + ref.map(lambda c: _label("referral_route", c).split(" - ", 1)[-1]),
                      "Council (" + p["district"].map(lambda c: _label("district", c)) + ")")
    other_district = p["district"] != p["arrival_district"]
    failed = np.isin(outcome, definition("new_arrivals", "duty_failed_reasons"))
    route = np.select([failed, other_district], ["duty_ended_contact_lost_or_56_days", "approach_other_district"],
                      "statutory_other")
    route_date = np.where(route == "duty_ended_contact_lost_or_56_days", duty_end,
                          np.where(route == "approach_other_district", before["approach_date"], last))
    decision = p["main_duty_decision"].where(before["main_duty_decision_date"].notna())
    return pd.DataFrame({
        "person_id": p["person_id"], "arrival_date": arr, "arrival_district": p["arrival_district"],
        "source": "statutory_cases", "record_id": p["case_id"], "district": p["district"],
        "start_date": dates["approach_date"], "end_date": pd.concat([dates["prevention_duty_end"],
                                                                      dates["relief_duty_end"]], axis=1).max(axis=1),
        "last_date": last, "open_at_arrival": open_at_arrival, "stage": stage, "outcome": outcome,
        "outcome_label": labels, "agency": agency, "referral_route": ref, "duty_to_refer": dtr.to_numpy(),
        "main_duty_decision": decision, "route": route,
        "route_date": pd.to_datetime(pd.Series(route_date, index=p.index)), "presenting": True,
    })


def _discharges(arrivals: pd.DataFrame, disch: pd.DataFrame, window_days: int) -> pd.DataFrame:
    p, d = _pairs_before(arrivals, disch, "discharge_date")
    if not len(p):
        return p
    within = (p["arrival_date"] - d).dt.days <= window_days
    inst = p["institution_type"].fillna("not_known")
    agency = inst.map(lambda c: _label("institution_type", c))
    acc = p["accommodation_on_release"].fillna("not_known")
    start = pd.to_datetime(p.get("admission_date")).fillna(d) if "admission_date" in p else d
    return pd.DataFrame({
        "person_id": p["person_id"], "arrival_date": p["arrival_date"], "arrival_district": p["arrival_district"],
        "source": "institutional_discharges", "record_id": p["discharge_id"], "district": p["district"],
        "start_date": start, "end_date": d, "last_date": d, "open_at_arrival": False, "stage": inst,
        "outcome": acc, "outcome_label": "Discharged to: " + acc.map(lambda c: _label("accommodation_on_release", c)),
        "agency": agency, "referral_route": None, "duty_to_refer": False, "main_duty_decision": None,
        "route": np.where(within, "institution_discharge", "institution_discharge_earlier"),
        "route_date": d, "presenting": True,
    })


def _episode_state(p: pd.DataFrame, reason_col: str):
    """Episodes (stays, tenancies) begun before arrival: their dates, whether ended before arrival,
    the last day in touch and how they ended ("open_at_arrival" when still open by the records)."""
    p = p[pd.to_datetime(p["start_date"]) < p["arrival_date"]].copy()
    start, end = pd.to_datetime(p["start_date"]), pd.to_datetime(p["end_date"])
    arr = p["arrival_date"]
    ended = end.notna() & (end < arr)
    # An episode with no end (or an end on/after arrival) was still open by the records: in touch up
    # to the day before arrival. Late-recorded ends land here (see docs/assumptions/new_arrivals.md).
    last = end.where(ended, arr - pd.Timedelta(days=1))
    reason = p[reason_col].where(ended).fillna("open_at_arrival")
    reason = reason.where(~(ended & p[reason_col].isna()), "other")
    return p, start, end, arr, ended, last, reason


def _stays(arrivals: pd.DataFrame, sa: pd.DataFrame) -> pd.DataFrame:
    p = _pairs(arrivals, sa)
    if not len(p):
        return p
    p, start, end, arr, ended, last, reason = _episode_state(p, "departure_reason")
    route = np.select([reason == "evicted", reason == "abandoned"],
                      ["supported_accommodation_eviction", "supported_accommodation_abandoned"],
                      "supported_accommodation_other")
    label = np.where(reason == "open_at_arrival", "Supported stay still open at arrival",
                     "Supported stay ended: " + reason.map(lambda c: _label("departure_reason", c)))
    return pd.DataFrame({
        "person_id": p["person_id"], "arrival_date": arr, "arrival_district": p["arrival_district"],
        "source": "supported_accommodation", "record_id": p["episode_id"], "district": p["district"],
        "start_date": start, "end_date": end, "last_date": last, "open_at_arrival": ~ended, "stage": p["model"],
        "outcome": reason, "outcome_label": label, "agency": "Supported accommodation provider",
        "referral_route": None, "duty_to_refer": False, "main_duty_decision": None, "route": route,
        "route_date": last, "presenting": True,
    })


def _tenancies(arrivals: pd.DataFrame, ten: pd.DataFrame) -> pd.DataFrame:
    p = _pairs(arrivals, ten)
    if not len(p):
        return p
    p, start, end, arr, ended, last, reason = _episode_state(p, "end_reason")
    label = np.where(reason == "open_at_arrival", "Tenancy still running at arrival",
                     "Tenancy ended: " + reason.map(lambda c: _label("tenancy_end_reason", c)))
    return pd.DataFrame({
        "person_id": p["person_id"], "arrival_date": arr, "arrival_district": p["arrival_district"],
        "source": "settled_tenancies", "record_id": p["tenancy_id"], "district": p["district"],
        "start_date": start, "end_date": end, "last_date": last, "open_at_arrival": ~ended, "stage": p["tenure"],
        "outcome": reason, "outcome_label": label,
        "agency": "Landlord: " + p["tenure"].fillna("not_known").map(lambda c: _label("tenure", c)),
        "referral_route": None, "duty_to_refer": False, "main_duty_decision": None,
        "route": np.where(ended, "tenancy_ended", "tenancy_open"), "route_date": last, "presenting": True,
    })


def _outreach_not_bedded_down(arrivals: pd.DataFrame, outreach: pd.DataFrame) -> pd.DataFrame:
    if outreach is None or not len(outreach):
        return pd.DataFrame()
    unverified = outreach[~_bool(outreach["verified_bedded_down"])]
    p, d = _pairs_before(arrivals, unverified, "contact_date")
    if not len(p):
        return p
    return pd.DataFrame({
        "person_id": p["person_id"], "arrival_date": p["arrival_date"], "arrival_district": p["arrival_district"],
        "source": "outreach_contacts", "record_id": p["contact_id"], "district": p["district"], "start_date": d,
        "end_date": d, "last_date": d, "open_at_arrival": False, "stage": "not_bedded_down",
        "outcome": "met_not_bedded_down", "outcome_label": "Met by outreach, not bedded down",
        "agency": "Street outreach", "referral_route": None, "duty_to_refer": False, "main_duty_decision": None,
        "route": "outreach_not_bedded_down", "route_date": d, "presenting": False,
    })


def earlier_contacts(
    arrivals: pd.DataFrame,
    tables: dict[str, pd.DataFrame],
    *,
    contact_lookback_months: int | None = None,
    institution_window_days: int | None = None,
) -> pd.DataFrame:
    """Every earlier contact of each new arrival with the system, across sources and districts.

    One row per (arrival, record). Columns: ``CONTACT_COLUMNS`` plus days_since_last (arrival minus
    the record's last date before arrival), days_since_start and days_before_arrival (arrival minus
    ``route_date``, the date that defines the route: the discharge, the end of the duty, the end of
    the stay, the approach to another district; else the last date).
    """
    cfg = _cfg()
    months = cfg.get("contact_lookback_months", 24) if contact_lookback_months is None else contact_lookback_months
    window = cfg["institution_window_days"] if institution_window_days is None else institution_window_days
    parts = [
        _statutory(arrivals, tables.get("statutory_cases")),
        _discharges(arrivals, tables.get("institutional_discharges"), window),
        _stays(arrivals, tables.get("supported_accommodation")),
        _tenancies(arrivals, tables.get("settled_tenancies")),
        _outreach_not_bedded_down(arrivals, tables.get("outreach_contacts")),
    ]
    parts = [p for p in parts if len(p)]
    if not parts:
        out = _empty_contacts()
    else:
        out = pd.concat([p.astype({k: v for k, v in CONTACT_COLUMNS.items() if k in p}) for p in parts],
                        ignore_index=True)
    out = out[out["last_date"] >= _months_before(out["arrival_date"], months)]
    out = out.assign(
        days_since_last=(out["arrival_date"] - out["last_date"]).dt.days,
        days_since_start=(out["arrival_date"] - out["start_date"]).dt.days,
        days_before_arrival=(out["arrival_date"] - out["route_date"]).dt.days,
    )
    return out.sort_values(["arrival_date", "person_id", "last_date", "source", "record_id"], ignore_index=True)


def arrival_paths(
    arrivals: pd.DataFrame,
    contacts: pd.DataFrame,
    *,
    contact_lookback_months: int | None = None,
    contact_history_start: dt.date | None = None,
    windows_days: dict[str, int] | None = None,
) -> pd.DataFrame:
    """One row per new arrival: whether and how they had presented before.

    Adds to ``arrivals``: earlier_contacts (presenting records), presented (any in the lookback),
    presented_<window> for each window (the last contact within it), route, route_label,
    days_before_arrival (from the route's defining date), last_* (the most recent presenting
    contact: source, outcome, outcome_label, district, agency, days_since_last),
    presented_other_district (any statutory case in another district), contact_history_complete.
    ``windows_days`` maps a window name to days; by default 85 days and the months of
    ``contact_windows_months`` (calendar months).
    """
    cfg = _cfg()
    months = cfg.get("contact_lookback_months", 24) if contact_lookback_months is None else contact_lookback_months
    hist = pd.Timestamp(contact_history_start or cfg.get("contact_history_start", history_start()))
    out = arrivals.copy()
    pres = contacts[contacts["presenting"]]
    out["earlier_contacts"] = out["person_id"].map(pres.groupby("person_id").size()).fillna(0).astype(int)
    out["presented"] = out["earlier_contacts"] > 0
    out["contact_history_complete"] = _months_before(out["arrival_date"], months) >= hist
    window_days = windows_days or default_windows()
    for name, _ in window_days.items():
        if name.endswith("m"):
            cut = pres["last_date"] >= _months_before(pres["arrival_date"], int(name[:-1]))
        else:
            cut = pres["days_since_last"] <= int(name[:-1])
        hit = set(pres.loc[cut, "person_id"])
        out[f"presented_{name}"] = out["person_id"].isin(hit)
    # The route: first by priority, then the most recent within it.
    rank = {r: i for i, r in enumerate(ROUTE_PRIORITY)}
    ranked = pres.assign(_rank=pres["route"].map(rank).fillna(len(rank)))
    chosen = ranked.sort_values(["person_id", "_rank", "route_date"], ascending=[True, True, False])
    chosen = chosen.drop_duplicates("person_id").set_index("person_id")
    out["route"] = out["person_id"].map(chosen["route"]).fillna("none")
    out["route_label"] = out["route"].map(ROUTE_LABELS).fillna(out["route"])
    out["route_source"] = out["person_id"].map(chosen["source"])
    out["route_record_id"] = out["person_id"].map(chosen["record_id"])
    out["days_before_arrival"] = out["person_id"].map(chosen["days_before_arrival"])
    # The last contact before arrival: the most recent presenting record (ties: route priority).
    last = ranked.sort_values(["person_id", "last_date", "_rank"], ascending=[True, False, True])
    last = last.drop_duplicates("person_id").set_index("person_id")
    for col in ("source", "outcome", "outcome_label", "district", "agency", "days_since_last", "stage",
                "duty_to_refer"):
        out[f"last_{col}"] = out["person_id"].map(last[col])
    stat = pres[pres["source"] == "statutory_cases"]
    other = set(stat.loc[stat["district"] != stat["arrival_district"], "person_id"])
    out["presented_other_district"] = out["person_id"].isin(other)
    out["presented_statutory"] = out["person_id"].isin(set(stat["person_id"]))
    return out


def default_windows() -> dict[str, int]:
    """Windows for "presented within": the institution window in days, then calendar months."""
    cfg = _cfg()
    out = {f"{cfg['institution_window_days']}d": cfg["institution_window_days"]}
    for m in cfg.get("contact_windows_months", [6, 12, 24]):
        out[f"{m}m"] = m
    return out


def needs_around_arrival(
    arrivals: pd.DataFrame, tables: dict[str, pd.DataFrame], *, before_months: int = 24, after_days: int = 365
) -> pd.DataFrame:
    """Support needs and NRPF recorded in statutory cases and supported stays around each arrival.

    Window: from ``before_months`` before the arrival to ``after_days`` after it, so that people who
    had not presented (who have no records before arrival) can be described from the records made
    when they were helped afterwards. Columns: person_id, needs_recorded (any needs-bearing
    record in the window), support_needs (';'-joined codes), nrpf (True/False/NA).
    """
    parts = []
    for name, date_col in (("statutory_cases", "approach_date"), ("supported_accommodation", "start_date")):
        t = tables.get(name)
        if t is None or not len(t):
            continue
        nrpf = (t["no_recourse_public_funds"].astype("boolean") if "no_recourse_public_funds" in t
                else pd.Series(pd.NA, index=t.index, dtype="boolean"))
        needs = t["support_needs"].astype(object) if "support_needs" in t else pd.Series(None, index=t.index, dtype=object)
        parts.append(pd.DataFrame({"person_id": t["person_id"], "when": pd.to_datetime(t[date_col]), "needs": needs,
                                   "nrpf": nrpf}))
    base = arrivals[["person_id", "arrival_date"]]
    if not parts:
        return base.assign(needs_recorded=False, support_needs="",
                           nrpf=pd.Series(pd.NA, index=base.index, dtype="boolean"))[
            ["person_id", "needs_recorded", "support_needs", "nrpf"]]
    recs = base.merge(pd.concat(parts, ignore_index=True), on="person_id")
    lo = _months_before(recs["arrival_date"], before_months)
    hi = recs["arrival_date"] + pd.Timedelta(days=after_days)
    recs = recs[(recs["when"] >= lo) & (recs["when"] <= hi)]
    codes = recs.assign(code=recs["needs"].fillna("").str.split(";")).explode("code")
    joined = codes.groupby("person_id")["code"].agg(lambda s: ";".join(sorted(set(s.dropna()) - {""})))
    nrpf = recs.dropna(subset=["nrpf"]).groupby("person_id")["nrpf"].any()
    out = base[["person_id"]].copy()
    out["needs_recorded"] = out["person_id"].isin(set(recs["person_id"]))
    out["support_needs"] = out["person_id"].map(joined).fillna("")
    out["nrpf"] = out["person_id"].map(nrpf).astype("boolean")
    return out
