"""Returns to homelessness: the cohort of settled move-ins and what happened after each.

Definitions (``workbench/definitions.yaml``, section ``returns``):

- **Cohort**: each move into settled accommodation (a row of ``settled_tenancies``) whose
  ``route_in`` is one of ``cohort_routes`` (rough sleeping, temporary accommodation, supported
  accommodation, relief duty). A person may enter the cohort more than once (one *spell* per
  move-in); spells are numbered per person in date order. A duplicate record of the same move-in
  (same person, date and tenure) counts once.
- **Return**: the first later homelessness event of the same person that falls MORE than
  ``grace_days`` (14) after the move-in: a verified bedded-down outreach contact, the start of a
  relief duty, a main duty accepted, or the start of a stay in supported accommodation. Events
  within the grace window are transfers between services, not returns.
- **Competing event**: death (``deaths``) before any return.
- **Censoring**: at the extract date.
- **Left truncation**: a move-in before ``history_start`` (2018-01-01) is only observed from that
  date; its ``entry_days`` is the time from move-in to the start of history, so survival methods
  count it at risk only from then. A return before that date is not recorded, so the windowed
  rates leave such move-ins out (``docs/assumptions/returns.md``, rows 6-8).

``time_days`` is measured from the move-in date, in days.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from workbench.definitions import SOURCES, definitions, history_start

CENSORED, RETURNED, DIED = 0, 1, 2
STATUS_LABELS = {CENSORED: "still housed at the extract date", RETURNED: "returned to homelessness", DIED: "died"}


def source_tables(store) -> dict[str, pd.DataFrame]:
    """The store's tables the cohort is built from (read once to build several cohorts)."""
    have = set(store.tables())
    return {n: store.table(n) if n in have else pd.DataFrame() for n in SOURCES}


def homelessness_events(tables: dict[str, pd.DataFrame], kinds: list[str] | None = None) -> pd.DataFrame:
    """Every dated homelessness event per person: columns person_id, date, kind."""
    kinds = kinds or definitions()["returns"]["return_events"]
    parts = []
    oc = tables.get("outreach_contacts", pd.DataFrame())
    if "verified_rough_sleeping" in kinds and len(oc):
        v = oc[oc["verified_bedded_down"].astype("boolean").fillna(False).astype(bool)]
        parts.append(pd.DataFrame({"person_id": v.person_id, "date": v.contact_date, "kind": "verified_rough_sleeping"}))
    sc = tables.get("statutory_cases", pd.DataFrame())
    if len(sc):
        if "relief_duty" in kinds:
            r = sc[sc["relief_duty_start"].notna()]
            parts.append(pd.DataFrame({"person_id": r.person_id, "date": r.relief_duty_start, "kind": "relief_duty"}))
        if "main_duty_accepted" in kinds:
            m = sc[(sc["main_duty_decision"] == "accepted") & sc["main_duty_decision_date"].notna()]
            parts.append(pd.DataFrame({"person_id": m.person_id, "date": m.main_duty_decision_date, "kind": "main_duty_accepted"}))
    sa = tables.get("supported_accommodation", pd.DataFrame())
    if "supported_accommodation_entry" in kinds and len(sa):
        parts.append(pd.DataFrame({"person_id": sa.person_id, "date": sa.start_date, "kind": "supported_accommodation_entry"}))
    if not parts:
        return pd.DataFrame({"person_id": pd.Series(dtype=str), "date": pd.Series(dtype="datetime64[ns]"), "kind": pd.Series(dtype=str)})
    events = pd.concat(parts, ignore_index=True)
    events["date"] = pd.to_datetime(events["date"])
    return events.dropna(subset=["person_id", "date"]).sort_values(["date", "person_id", "kind"], ignore_index=True)


def _needs_at_move_in(moves: pd.DataFrame, tables: dict[str, pd.DataFrame], lookback_days: int) -> pd.Series:
    """Support needs recorded in the lookback before each move-in (statutory cases and stays)."""
    parts = []
    for name, date_col in (("statutory_cases", "approach_date"), ("supported_accommodation", "start_date")):
        t = tables.get(name, pd.DataFrame())
        if len(t) and "support_needs" in t.columns:
            parts.append(pd.DataFrame({"person_id": t.person_id, "when": pd.to_datetime(t[date_col]),
                                       "needs": t.support_needs}))
    if not parts:
        return pd.Series("", index=moves.index)
    needs = pd.concat(parts, ignore_index=True).dropna(subset=["needs"])
    pairs = moves[["person_id", "move_in_date"]].reset_index().merge(needs, on="person_id")
    in_window = (pairs["when"] <= pairs["move_in_date"]) & (pairs["when"] > pairs["move_in_date"] - pd.Timedelta(days=lookback_days))
    pairs = pairs[in_window]
    codes = pairs.assign(code=pairs["needs"].str.split(";")).explode("code")[["index", "code"]]
    # sorted distinct codes per move-in, joined (vectorised: a Python function per group was most of
    # the cohort's time)
    codes = codes[codes["code"].notna() & (codes["code"] != "")].drop_duplicates().sort_values(["index", "code"])
    joined = codes.groupby("index")["code"].agg(";".join)
    return joined.reindex(moves.index, fill_value="")


def returns_cohort(
    store=None,
    *,
    tables: dict[str, pd.DataFrame] | None = None,
    extract_date: dt.date | None = None,
    grace_days: int | None = None,
    routes: list[str] | None = None,
    return_events: list[str] | None = None,
    start: dt.date | None = None,
) -> pd.DataFrame:
    """One row per settled move-in in the cohort, with its follow-up.

    Columns: person_id, tenancy_id, district, move_in_date, tenure, route_in, gender, age,
    support_needs (codes recorded in the lookback), spell (nth move-in of the person), entry_days
    (left truncation), time_days, status (0 censored, 1 returned, 2 died), return_kind, return_date,
    death_date, follow_up_end.
    """
    cfg = definitions()["returns"]
    grace = cfg["grace_days"] if grace_days is None else grace_days
    routes = routes or cfg["cohort_routes"]
    tables = tables if tables is not None else source_tables(store)
    if extract_date is None:
        extract_date = dt.date.fromisoformat(store.meta()["extract_date"])
    start = start or history_start()
    extract_ts, start_ts = pd.Timestamp(extract_date), pd.Timestamp(start)

    st = tables["settled_tenancies"]
    moves = pd.DataFrame({
        "person_id": st.person_id, "tenancy_id": st.tenancy_id, "district": st.district,
        "move_in_date": pd.to_datetime(st.start_date), "tenure": st.tenure, "route_in": st.route_in,
        "gender": st.gender, "age": st.get("age_at_start_date"),
        "tenancy_end_date": pd.to_datetime(st.end_date), "tenancy_end_reason": st.end_reason,
    })
    moves = moves[moves.route_in.isin(routes) & moves.person_id.notna()].copy()
    moves = moves.sort_values(["person_id", "move_in_date", "tenancy_id"], ignore_index=True)
    # The same move-in recorded twice (same person, date and tenure under two record ids) counts once.
    moves = moves.drop_duplicates(["person_id", "move_in_date", "tenure"], keep="first", ignore_index=True)
    moves["spell"] = moves.groupby("person_id").cumcount() + 1
    moves["support_needs"] = _needs_at_move_in(moves, tables, cfg["needs_lookback_days"])

    # First return: the first event strictly more than `grace` days after the move-in.
    events = homelessness_events(tables, return_events)
    moves["_threshold"] = moves["move_in_date"] + pd.Timedelta(days=grace)
    left = moves.reset_index().sort_values("_threshold")
    right = events.rename(columns={"date": "return_date", "kind": "return_kind"}).sort_values("return_date")
    first = pd.merge_asof(left, right, left_on="_threshold", right_on="return_date", by="person_id",
                          direction="forward", allow_exact_matches=False).set_index("index").sort_index()
    moves["return_date"] = first["return_date"]
    moves["return_kind"] = first["return_kind"]
    moves.loc[moves.return_date > extract_ts, ["return_date", "return_kind"]] = [pd.NaT, None]

    deaths = tables.get("deaths", pd.DataFrame())
    if len(deaths):
        d = deaths.groupby("person_id")["date_of_death"].min()
        moves["death_date"] = pd.to_datetime(moves.person_id.map(d))
        moves.loc[moves.death_date < moves.move_in_date, "death_date"] = pd.NaT  # a linkage error, not a death in follow-up
    else:
        moves["death_date"] = pd.NaT

    returned = moves.return_date.notna() & ~(moves.death_date < moves.return_date)
    died = ~returned & moves.death_date.notna() & (moves.death_date <= extract_ts)
    moves["status"] = np.select([returned, died], [RETURNED, DIED], CENSORED)
    moves["follow_up_end"] = np.where(returned, moves.return_date, np.where(died, moves.death_date, extract_ts))
    moves["follow_up_end"] = pd.to_datetime(moves["follow_up_end"])
    moves.loc[~returned, ["return_date", "return_kind"]] = [pd.NaT, None]
    moves["time_days"] = (moves.follow_up_end - moves.move_in_date).dt.days.astype(float)
    moves["entry_days"] = np.maximum((start_ts - moves.move_in_date).dt.days, 0).astype(float)
    # Spells with no time at risk are never observed at risk: follow-up ending before history starts,
    # or a move-in on the extract date itself (0 days). Survival fits with delayed entry need every
    # spell's entry strictly before its exit (R: "Stop time must be > start time"); the calibration's
    # before-data-begin scenario failed on 91 of 200 counties with one such move-in (issue 17).
    moves = moves[moves.time_days > moves.entry_days]
    return moves.drop(columns=["_threshold"]).reset_index(drop=True)


def has_need(needs: pd.Series, code: str) -> pd.Series:
    """1 where the ';'-separated codes include ``code``."""
    return needs.fillna("").str.split(";").apply(lambda codes: code in codes).astype(int)
