"""By Name List dynamics (Built for Zero), month by month, for the county and each district.

Definitions (settings in ``workbench/definitions.yaml``: ``by_name_list`` and
``system_performance.by_name_list``):

- **Homeless activity** - a dated sign that a person is homeless and known to services:

  * ``verified_rough_sleeping``: an outreach contact where a worker saw the person bedded down
    (a one-day contact);
  * ``relief_duty``: a relief duty is open (the council has accepted the person is homeless), from
    its start to its end, or to the extract date while open;
  * ``supported_accommodation``: a stay in supported accommodation for homeless adults is open
    (hostels, shared houses, dispersed flats, step-down beds...), from start to end or the extract
    date. Housing First is a tenancy, not homelessness, so its stays are not activity;
  * ``main_duty_accepted``: the day a main duty was accepted (the household is then in temporary
    accommodation, whose stays are not in the extracts, so it counts as a one-day contact).

  Outreach contacts where the person was not seen bedded down (walking, begging) are not activity:
  they do not show the person is homeless.
- **Housed**: the start of a settled tenancy (social or private rented, or Housing First).
- **Active** on a day: the person has had homeless activity, and since their latest activity they
  have not been housed, have not died and have not gone ``inactive_after_days`` (90) days without
  any activity (an open stay or duty is activity every day it is open).
- **Inflow** in a month: people who became active: *newly identified* (never active before),
  *returned from housing* (housed since they were last active) or *returned from inactive*.
- **Outflow**: *housed*, *became inactive* (the day the 90th day without activity is reached) or
  *died* (``deaths``).
- **Transfers** (districts only): a person's district is the district of their latest activity;
  when it changes, they leave one district's list and join the other's on that day. At county
  level transfers cancel out and are not counted.
- **Transfer grace**: activity *starting* within ``returns.grace_days`` (14) days after a move-in is
  part of the move (e.g. the hostel stay being closed), not a return - the same rule as the returns
  cohort. A stay or duty still open at the move-in is treated as ended by the move-in.
- **Same-day order**: on one day, activity comes first, then a move-in, then a death; a contact,
  move-in or death on the day someone would become inactive takes precedence over inactivity. Of
  two activities starting the same day in different districts, the street contact sets the
  district (it is where the person was).

With these rules every person is, at the end of each day, either active in one district or not,
so the monthly identity ``active_end = active_start + inflow - outflow`` holds exactly for the
county and for every district (tested with random event streams and on the synthetic county).

**Time to move-in** ("brief", Built for Zero): days from the start of an active spell (the day the
person was identified, or returned) to the move-in that ended it; the county is "brief" when the
average is ``brief_days`` (45) or less.

**Burn-in**: the extracts start on ``history_start``; people already homeless then are "newly
identified" when first seen, so the first ``burn_in_months`` months overstate new identification
(flagged in the ``burn_in`` column). The extract month is flagged ``partial_period``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from workbench.definitions import COUNTY, definitions, history_start
from workbench.measures.periods import period_range
from workbench.measures.sources import as_sources

NEWLY_IDENTIFIED = "newly_identified"
RETURNED_FROM_HOUSING = "returned_from_housing"
RETURNED_FROM_INACTIVE = "returned_from_inactive"
MOVED_IN = "moved_in_from_other_district"
HOUSED = "housed"
BECAME_INACTIVE = "became_inactive"
DIED = "died"
MOVED_OUT = "moved_out_to_other_district"

ENTRY_REASONS = (NEWLY_IDENTIFIED, RETURNED_FROM_HOUSING, RETURNED_FROM_INACTIVE)
EXIT_REASONS = (HOUSED, BECAME_INACTIVE, DIED)
ACTIVITY_KINDS = ("verified_rough_sleeping", "relief_duty", "supported_accommodation", "main_duty_accepted")
# Same-day activities: later in this order wins the district (the street contact is last).
_KIND_ORDER = {"supported_accommodation": 0, "relief_duty": 1, "main_duty_accepted": 2, "verified_rough_sleeping": 3}
_EPOCH = np.datetime64("1970-01-01", "D")


def settings() -> dict[str, Any]:
    """The By Name List settings (definitions.yaml: by_name_list and system_performance.by_name_list)."""
    d = definitions()
    bnl = dict(d["by_name_list"])
    bnl.update(d["system_performance"]["by_name_list"])
    bnl["grace_days"] = d["returns"]["grace_days"]
    return bnl


def _days(s: pd.Series) -> np.ndarray:
    return ((pd.to_datetime(s).to_numpy().astype("datetime64[D]") - _EPOCH).astype(np.int64))


def _date(days: np.ndarray | pd.Series) -> pd.Series:
    arr = np.asarray(days, dtype=float)
    out = pd.Series(pd.NaT, index=range(len(arr)), dtype="datetime64[ns]")
    ok = ~np.isnan(arr)
    out[ok] = pd.to_datetime(arr[ok].astype(np.int64), unit="D", origin="unix")
    return out


def homeless_activity(source: Any, kinds: list[str] | tuple[str, ...] | None = None) -> pd.DataFrame:
    """Every spell of homeless activity: person_id, kind, district, start, end (inclusive; the
    extract date for open stays and duties; equal to start for one-day contacts), open."""
    src = as_sources(source)
    kinds = list(kinds or settings()["activity"])
    unknown = set(kinds) - set(ACTIVITY_KINDS)
    if unknown:
        raise ValueError(f"unknown activity kinds {sorted(unknown)}; known: {list(ACTIVITY_KINDS)}")
    x = src.extract_date
    parts = []
    oc = src["outreach_contacts"]
    if "verified_rough_sleeping" in kinds and len(oc):
        v = oc[oc["verified_bedded_down"].fillna(False).astype(bool)]
        parts.append(pd.DataFrame({"person_id": v.person_id, "kind": "verified_rough_sleeping", "district": v.district,
                                   "start": v.contact_date, "end": v.contact_date, "open": False}))
    sc = src["statutory_cases"]
    if "relief_duty" in kinds and len(sc):
        r = sc[sc["relief_duty_start"].notna()]
        parts.append(pd.DataFrame({"person_id": r.person_id, "kind": "relief_duty", "district": r.district,
                                   "start": r.relief_duty_start, "end": r.relief_duty_end.fillna(x),
                                   "open": r.relief_duty_end.isna()}))
    if "main_duty_accepted" in kinds and len(sc):
        m = sc[(sc["main_duty_decision"] == "accepted") & sc["main_duty_decision_date"].notna()]
        parts.append(pd.DataFrame({"person_id": m.person_id, "kind": "main_duty_accepted", "district": m.district,
                                   "start": m.main_duty_decision_date, "end": m.main_duty_decision_date, "open": False}))
    sa = src["supported_accommodation"]
    if "supported_accommodation" in kinds and len(sa):
        s = sa[(sa["model"] != "housing_first") & sa["start_date"].notna()]
        parts.append(pd.DataFrame({"person_id": s.person_id, "kind": "supported_accommodation", "district": s.district,
                                   "start": s.start_date, "end": s.end_date.fillna(x), "open": s.end_date.isna()}))
    cols = ["person_id", "kind", "district", "start", "end", "open"]
    if not parts:
        return pd.DataFrame({c: pd.Series(dtype="datetime64[ns]" if c in ("start", "end") else object) for c in cols})
    out = pd.concat(parts, ignore_index=True)
    out["start"], out["end"] = pd.to_datetime(out["start"]), pd.to_datetime(out["end"])
    out = out[out["start"] <= x].dropna(subset=["person_id", "start"])
    out["end"] = out[["start", "end"]].max(axis=1).clip(upper=x)
    return out.sort_values(["person_id", "start", "kind"], ignore_index=True)[cols]


def move_ins(source: Any) -> pd.DataFrame:
    """Every settled move-in: person_id, date, district, tenure."""
    st = as_sources(source)["settled_tenancies"]
    out = pd.DataFrame({"person_id": st.person_id, "date": st.start_date, "district": st.district, "tenure": st.tenure})
    return out.dropna(subset=["person_id", "date"]).sort_values(["person_id", "date"], ignore_index=True)


def death_dates(source: Any) -> pd.Series:
    """Date of death per person (the earliest recorded)."""
    d = as_sources(source)["deaths"]
    if not len(d):
        return pd.Series(dtype="datetime64[ns]")
    return d.dropna(subset=["date_of_death"]).groupby("person_id")["date_of_death"].min()


def active_segments(
    activity: pd.DataFrame,
    housed: pd.DataFrame,
    deaths: pd.Series,
    extract_date: Any,
    *,
    inactive_after_days: int,
    grace_days: int,
) -> pd.DataFrame:
    """Each person's time on the list, cut at district changes.

    One row per segment: person_id, spell (1, 2, ... per person), district, start, end (the day
    the person left the district's list; NaT while still active at the extract date), entry (how
    they joined: an inflow reason or a transfer in), exit (an outflow reason, a transfer out, or
    None while active), spell_start (the day the spell began, for time to move-in).
    A person is active in the segment's district at the end of each day ``start <= day < end``.
    """
    if inactive_after_days < 1:
        raise ValueError("inactive_after_days must be at least 1")
    x = int(_days(pd.Series([pd.Timestamp(extract_date)]))[0])
    a = activity.dropna(subset=["person_id", "start"])
    ev_act = pd.DataFrame({
        "person_id": a["person_id"].astype(str).to_numpy(), "day": _days(a["start"]), "type": 0,
        "sub": a["kind"].map(_KIND_ORDER).fillna(0).to_numpy(), "end": _days(a["end"].fillna(a["start"])),
        "district": a["district"].astype(object).fillna("").to_numpy(),
    })
    h = housed.dropna(subset=["person_id", "date"])
    ev_h = pd.DataFrame({"person_id": h["person_id"].astype(str).to_numpy(), "day": _days(h["date"]), "type": 1,
                         "sub": 0, "end": 0, "district": ""})
    dd = deaths.dropna()
    ev_d = pd.DataFrame({"person_id": dd.index.astype(str), "day": _days(pd.Series(dd.to_numpy())), "type": 2,
                         "sub": 0, "end": 0, "district": ""})
    ev = pd.concat([e for e in (ev_act, ev_h, ev_d) if len(e)], ignore_index=True) if (len(ev_act) + len(ev_h) + len(ev_d)) else ev_act
    ev = ev[ev["day"] <= x]
    # Deterministic order: by person, day, activity < move-in < death, then kind (street last).
    ev = ev.sort_values(["person_id", "day", "type", "sub", "district"], kind="stable", ignore_index=True)

    person = ev["person_id"].to_numpy()
    day = ev["day"].to_numpy()
    typ = ev["type"].to_numpy()
    end = ev["end"].to_numpy()
    dist = ev["district"].to_numpy()
    rows: list[tuple] = []
    n = len(ev)
    bounds = np.flatnonzero(np.r_[True, person[1:] != person[:-1], True]) if n else np.array([0])
    N, G = int(inactive_after_days), int(grace_days)
    for b in range(len(bounds) - 1):
        lo, hi = bounds[b], bounds[b + 1]
        pid = person[lo]
        status = "never"  # never | active | housed | inactive | dead
        last_contact = seg_start = spell_start = 0
        cur = None
        entry = None
        spell = 0
        last_move_in = None
        for i in range(lo, hi):
            d, t = int(day[i]), int(typ[i])
            if status == "dead":
                break
            if status == "active" and last_contact + N < d:
                # inactivity happened before this event (on the inactivity day itself, events win)
                rows.append((pid, spell, cur, seg_start, last_contact + N, entry, "became_inactive", spell_start))
                status = "inactive"
            if t == 0:  # activity starting on day d
                if last_move_in is not None and last_move_in < d <= last_move_in + G:
                    continue  # part of the move-in (transfer grace), not a return
                if status == "active":
                    last_contact = max(last_contact, int(end[i]))
                    if dist[i] != cur:
                        if seg_start == d and entry == MOVED_IN and rows[-1][2] == dist[i] and rows[-1][4] == d:
                            # back to the district left earlier the same day: no transfer after all
                            _, _, cur, seg_start, _, entry, _, _ = rows.pop()
                        elif seg_start == d:  # same-day activities: the later one sets the district
                            cur = dist[i]
                        else:
                            rows.append((pid, spell, cur, seg_start, d, entry, MOVED_OUT, spell_start))
                            cur, seg_start, entry = dist[i], d, MOVED_IN
                else:
                    entry = {"never": NEWLY_IDENTIFIED, "housed": RETURNED_FROM_HOUSING}.get(status, RETURNED_FROM_INACTIVE)
                    status, spell = "active", spell + 1
                    cur, seg_start, spell_start, last_contact = dist[i], d, d, int(end[i])
            elif t == 1:  # move-in
                if status == "active":
                    rows.append((pid, spell, cur, seg_start, d, entry, HOUSED, spell_start))
                if status != "never":
                    status = "housed"
                last_move_in = d
            else:  # death
                if status == "active":
                    rows.append((pid, spell, cur, seg_start, d, entry, DIED, spell_start))
                status = "dead"
        if status == "active":
            if last_contact + N <= x:
                rows.append((pid, spell, cur, seg_start, last_contact + N, entry, BECAME_INACTIVE, spell_start))
            else:
                rows.append((pid, spell, cur, seg_start, np.nan, entry, None, spell_start))
    seg = pd.DataFrame(rows, columns=["person_id", "spell", "district", "start", "end", "entry", "exit", "spell_start"])
    for c in ("start", "end", "spell_start"):
        seg[c] = _date(seg[c].to_numpy(dtype=float))
    return seg


def monthly_dynamics(
    segments: pd.DataFrame,
    first_month: Any,
    last_month: Any,
    *,
    districts: list[str] | None = None,
    burn_in_until: Any = None,
    extract_date: Any = None,
) -> pd.DataFrame:
    """The monthly table: one row per district (and the county) and month.

    Columns: district, period, period_start, period_end, active_start, newly_identified,
    returned_from_housing, returned_from_inactive, moved_in_from_other_district, inflow, housed,
    became_inactive, died, moved_out_to_other_district, outflow, active_end, burn_in,
    partial_period. ``active_start`` counts people active at the end of the day before the month,
    ``active_end`` at the end of its last day.
    """
    months = period_range(pd.Timestamp(first_month), pd.Timestamp(last_month), "M")
    s_day = _days(months["period_start"])
    e_day = _days(months["period_end"])
    start = _days(segments["start"]) if len(segments) else np.array([], dtype=np.int64)
    end_f = segments["end"].to_numpy()
    end = np.where(pd.isna(end_f), np.iinfo(np.int64).max, _days(segments["end"].fillna(pd.Timestamp(0)))) if len(segments) else np.array([], dtype=np.int64)
    entry = segments["entry"].to_numpy(dtype=object)
    exit_ = segments["exit"].to_numpy(dtype=object)
    district = segments["district"].to_numpy(dtype=object)
    if districts is None:
        districts = sorted(set(district.tolist()) - {None})
    out = []

    def active_at(sel: np.ndarray, days: np.ndarray) -> np.ndarray:
        st = np.sort(start[sel])
        en = np.sort(end[sel])
        # active at the end of day D: start <= D < end
        return np.searchsorted(st, days, side="right") - np.searchsorted(en, days, side="right")

    def flows(sel: np.ndarray, days: np.ndarray, reasons: np.ndarray, reason: str) -> np.ndarray:
        d = np.sort(days[sel & (reasons == reason)])
        return np.searchsorted(d, e_day, side="right") - np.searchsorted(d, s_day, side="left")

    for name in [*districts, COUNTY]:
        sel = np.ones(len(start), bool) if name == COUNTY else (district == name)
        row = pd.DataFrame({"district": name, "period": months["period"], "period_start": months["period_start"],
                            "period_end": months["period_end"]})
        row["active_start"] = active_at(sel, s_day - 1)
        for reason in (*ENTRY_REASONS, MOVED_IN):
            row[reason] = 0 if (name == COUNTY and reason == MOVED_IN) else flows(sel, start, entry, reason)
        row["inflow"] = row[[*ENTRY_REASONS, MOVED_IN]].sum(axis=1)
        for reason in (*EXIT_REASONS, MOVED_OUT):
            row[reason] = 0 if (name == COUNTY and reason == MOVED_OUT) else flows(sel, end, exit_, reason)
        row["outflow"] = row[[*EXIT_REASONS, MOVED_OUT]].sum(axis=1)
        row["active_end"] = active_at(sel, e_day)
        out.append(row)
    table = pd.concat(out, ignore_index=True)
    table["burn_in"] = table["period_start"] < pd.Timestamp(burn_in_until) if burn_in_until is not None else False
    x = pd.Timestamp(extract_date) if extract_date is not None else None
    table["partial_period"] = (table["period_end"] > x) if x is not None else False
    return table


def identity_failures(monthly: pd.DataFrame) -> pd.DataFrame:
    """Rows where active_end != active_start + inflow - outflow, or flows do not add up (should be none)."""
    lhs = monthly["active_end"]
    rhs = monthly["active_start"] + monthly["inflow"] - monthly["outflow"]
    inflow = monthly[[*ENTRY_REASONS, MOVED_IN]].sum(axis=1)
    outflow = monthly[[*EXIT_REASONS, MOVED_OUT]].sum(axis=1)
    carried = monthly.groupby("district")["active_end"].shift(1)
    bad = (lhs != rhs) | (inflow != monthly["inflow"]) | (outflow != monthly["outflow"]) | (
        carried.notna() & (carried != monthly["active_start"]))
    return monthly[bad]


def time_to_move_in(segments: pd.DataFrame, *, brief_days: int, freq: str = "Q") -> pd.DataFrame:
    """Days from identification (start of the active spell) to move-in, per district and period of
    the move-in, and for the county: housed, mean_days, median_days, within_brief (count moved in
    within ``brief_days``), share_within_brief, brief (mean <= brief_days)."""
    from workbench.measures.periods import add_period

    done = segments[segments["exit"] == HOUSED].copy()
    done["days"] = (done["end"] - done["spell_start"]).dt.days
    done = add_period(done, "end", freq)  # type: ignore[arg-type]
    rows = []
    for name, grp in [*done.groupby("district"), (COUNTY, done)]:
        for (period, ps, pe), g in grp.groupby(["period", "period_start", "period_end"]):
            within = int((g["days"] <= brief_days).sum())
            rows.append({"district": name, "period": period, "period_start": ps, "period_end": pe,
                         "housed": len(g), "mean_days": g["days"].mean(), "median_days": g["days"].median(),
                         "within_brief": within, "share_within_brief": within / len(g),
                         "brief": bool(g["days"].mean() <= brief_days)})
    cols = ["district", "period", "period_start", "period_end", "housed", "mean_days", "median_days",
            "within_brief", "share_within_brief", "brief"]
    return pd.DataFrame(rows, columns=cols)


@dataclass
class ByNameList:
    """The By Name List: person-level segments and the tidy tables built from them."""

    segments: pd.DataFrame  # researchers only: one row per person per district stint
    monthly: pd.DataFrame  # district x month dynamics (with the county)
    time_to_move_in: pd.DataFrame  # district x period
    settings: dict[str, Any]

    def identity_holds(self) -> bool:
        return identity_failures(self.monthly).empty


def by_name_list(
    source: Any,
    *,
    period_start: Any = None,
    period_end: Any = None,
    inactive_after_days: int | None = None,
    activity: list[str] | None = None,
    districts: list[str] | None = None,
    move_in_freq: str = "Q",
) -> ByNameList:
    """Build the By Name List from a Store or SourceTables and tabulate it month by month.

    The list is always built from the whole history (so people active before ``period_start`` are
    counted in ``active_start``); ``period_start``/``period_end`` only choose the months shown.
    """
    src = as_sources(source)
    cfg = settings()
    if inactive_after_days is not None:
        cfg["inactive_after_days"] = int(inactive_after_days)
    if activity is not None:
        cfg["activity"] = list(activity)
    seg = active_segments(homeless_activity(src, cfg["activity"]), move_ins(src), death_dates(src), src.extract_date,
                          inactive_after_days=cfg["inactive_after_days"], grace_days=cfg["grace_days"])
    first = pd.Timestamp(period_start) if period_start is not None else pd.Timestamp(history_start())
    last = min(pd.Timestamp(period_end), src.extract_date) if period_end is not None else src.extract_date
    burn_in_until = pd.Timestamp(history_start()) + pd.DateOffset(months=int(cfg["burn_in_months"]))
    all_districts = sorted(set(seg["district"].dropna()))
    monthly = monthly_dynamics(seg, first, last, districts=all_districts, burn_in_until=burn_in_until,
                               extract_date=src.extract_date)
    moves = time_to_move_in(seg[seg["end"].between(first, last)], freq=move_in_freq, brief_days=cfg["brief_days"])
    if districts is not None:
        keep = [*districts, COUNTY]
        monthly = monthly[monthly["district"].isin(keep)].reset_index(drop=True)
        moves = moves[moves["district"].isin(keep)].reset_index(drop=True)
    return ByNameList(segments=seg, monthly=monthly, time_to_move_in=moves, settings=cfg)
