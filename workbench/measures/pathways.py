"""Pathways: moves of people between the street, council help, supported accommodation and settled
homes, month by month (the system map that HUD's Stella P draws for US communities).

Each person's records are put in date order as a sequence of *states*:

- ``street``: seen bedded down by an outreach worker (a verified contact);
- ``council``: owed the relief duty, or accepted for the main duty (the household is then in
  temporary accommodation, whose stays are not in the extracts);
- ``supported``: a stay in supported accommodation for homeless adults starts (Housing First is a
  tenancy, not homelessness, as in :mod:`workbench.measures.by_name_list`);
- ``settled``: a settled tenancy starts (social or private rented, or Housing First).

These are the By Name List's activity kinds and move-ins (:func:`~workbench.measures.by_name_list.homeless_activity`,
:func:`~workbench.measures.by_name_list.move_ins`), with its rules: on one day, homeless activity
comes before a move-in; activity starting within ``returns.grace_days`` (14) days after a move-in
is part of the move, not a return.

A **move** is a change of state: the person's next record is in a different state from their
last one. It is dated by the new record's start and placed in that record's district. A person's
first record is a move from ``first_recorded``, unless it is a move-in (a tenancy with no homeless
record before it is not a move out of homelessness: it is left out, and the person's later moves
count from ``settled``). A move from ``settled`` to any other state is a
return to homelessness. Records of the same state in a row (a second street contact, a second
stay) are not moves. Every move is counted, so one person can make several moves in a month.

The extracts start on ``history_start``: a person already homeless then is "first recorded" at
their first record, as in the By Name List's burn-in.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from workbench.definitions import definition
from workbench.measures.by_name_list import homeless_activity, move_ins
from workbench.measures.sources import as_sources

FIRST = "first_recorded"
STREET, COUNCIL, SUPPORTED, SETTLED = "street", "council", "supported", "settled"
#: Where a move can start (rows of the map) and end (columns), in the order they are drawn.
FROM_STATES: tuple[str, ...] = (FIRST, STREET, COUNCIL, SUPPORTED, SETTLED)
TO_STATES: tuple[str, ...] = (STREET, COUNCIL, SUPPORTED, SETTLED)
HOMELESS_STATES: tuple[str, ...] = (STREET, COUNCIL, SUPPORTED)
STATE_OF_KIND: dict[str, str] = {
    "verified_rough_sleeping": STREET,
    "relief_duty": COUNCIL,
    "main_duty_accepted": COUNCIL,
    "supported_accommodation": SUPPORTED,
}


def state_records(source: Any) -> pd.DataFrame:
    """Every dated record of a state: person_id, state, district, date, in date order (homeless
    activity before a move-in on the same day), with activity starting within the grace days
    after a move-in left out (it is part of the move)."""
    src = as_sources(source)
    act = homeless_activity(src, list(STATE_OF_KIND))
    moves = move_ins(src)
    ev = pd.concat([
        pd.DataFrame({"person_id": act["person_id"], "state": act["kind"].map(STATE_OF_KIND),
                      "district": act["district"], "date": pd.to_datetime(act["start"]), "order": 0}),
        pd.DataFrame({"person_id": moves["person_id"], "state": SETTLED, "district": moves["district"],
                      "date": pd.to_datetime(moves["date"]), "order": 1}),
    ], ignore_index=True)
    ev = ev[ev["date"] <= src.extract_date].dropna(subset=["person_id", "date", "state"])
    ev = ev.sort_values(["person_id", "date", "order"], kind="stable", ignore_index=True)
    grace = int(definition("returns", "grace_days"))
    # the latest move-in on or before each record (a same-day move-in comes after the activity)
    last_move = ev["date"].where(ev["state"] == SETTLED).groupby(ev["person_id"]).ffill()
    within = (ev["state"] != SETTLED) & ((ev["date"] - last_move).dt.days.between(0, grace))
    return ev.loc[~within, ["person_id", "state", "district", "date"]].reset_index(drop=True)


def moves(source: Any) -> pd.DataFrame:
    """Every move between states: person_id, from_state, to_state, district, date."""
    ev = state_records(source)
    prev = ev.groupby("person_id")["state"].shift()
    keep = ev["state"].to_numpy() != prev.to_numpy()
    out = ev[keep].assign(from_state=prev[keep].fillna(FIRST)).rename(columns={"state": "to_state"})
    out = out[~((out["from_state"] == FIRST) & (out["to_state"] == SETTLED))]
    return out[["person_id", "from_state", "to_state", "district", "date"]].reset_index(drop=True)


def move_counts(source: Any) -> pd.DataFrame:
    """Moves per district and month: district, month (first day), from_state, to_state, n. The
    county is the sum of the districts (each move is in one district)."""
    m = moves(source)
    m = m.dropna(subset=["district"])
    if not len(m):
        return pd.DataFrame({"district": pd.Series(dtype=object), "month": pd.Series(dtype="datetime64[ns]"),
                             "from_state": pd.Series(dtype=object), "to_state": pd.Series(dtype=object),
                             "n": pd.Series(dtype="int64")})
    m = m.assign(month=m["date"].dt.to_period("M").dt.to_timestamp())
    out = m.groupby(["district", "month", "from_state", "to_state"], as_index=False).size().rename(columns={"size": "n"})
    return out.astype({"n": np.int64})
