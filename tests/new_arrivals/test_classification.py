"""Who is a new arrival, and CHAIN's classes, worked by hand on a few contacts."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from new_arrivals_frames import HISTORY_START, outreach

from workbench.cohorts import rough_sleeping as rs


def arrivals(rows, **kw):
    kw.setdefault("start_of_history", HISTORY_START)
    return rs.new_arrivals(outreach(rows), **kw)


# ------------------------------------------------------------------------------ lookback boundary
@pytest.mark.parametrize("months, previous, is_new", [
    (60, "2019-03-15", False),  # exactly 60 months before: inside the lookback, not new
    (60, "2019-03-14", True),   # 60 months and a day before: outside, new
    (24, "2022-03-15", False),  # HUD Measure 5's 24 months, same rule
    (24, "2022-03-14", True),
])
def test_lookback_boundary_is_inclusive_of_its_first_day(months, previous, is_new):
    rows = [("A", "OR-1", previous, "oxford_city", True), ("A", "OR-2", "2024-03-15", "oxford_city", True)]
    a = arrivals(rows, period_start=dt.date(2024, 1, 1), lookback_months=months)
    assert (len(a) == 1) is is_new
    if is_new:
        assert a.loc[0, "arrival_date"] == pd.Timestamp("2024-03-15")
        assert a.loc[0, "previous_sighting"] == pd.Timestamp(previous)


def test_month_end_lookback_follows_calendar_months():
    # 60 months before 2024-02-29 is 2019-02-28 (no 29th): a sighting that day is inside the lookback.
    rows = [("A", "OR-1", "2019-02-28", "cherwell", True), ("A", "OR-2", "2024-02-29", "cherwell", True)]
    assert arrivals(rows, period_start=dt.date(2024, 1, 1)).empty
    rows[0] = ("A", "OR-1", "2019-02-27", "cherwell", True)
    assert len(arrivals(rows, period_start=dt.date(2024, 1, 1))) == 1


# ------------------------------------------------------------------------------- same-day contacts
def test_contacts_on_the_same_day_are_one_sighting():
    rows = [("A", "OR-7", "2023-05-01", "cherwell", True), ("A", "OR-5", "2023-05-01", "oxford_city", True),
            ("A", "OR-9", "2023-05-20", "oxford_city", True)]
    s = rs.sightings(outreach(rows))
    assert len(s) == 2 and s.loc[0, "contacts"] == 2
    a = arrivals(rows)
    assert len(a) == 1
    # The day's district is that of the lowest contact reference (recorded first).
    assert a.loc[0, "arrival_contact_id"] == "OR-5" and a.loc[0, "arrival_district"] == "oxford_city"
    # A second contact on the arrival day does not make the person "seen before".
    ch = rs.chain_classification(outreach(rows), start_of_history=HISTORY_START)
    assert ch["status"].tolist() == ["new"]


# ------------------------------------------------------------------- first seen before data begin
def test_people_first_seen_at_the_start_of_the_data_are_new_and_flagged():
    rows = [("S", "OR-1", "2018-01-03", "oxford_city", True),  # sleeping rough when the data begin
            ("N", "OR-2", "2023-06-01", "oxford_city", True)]  # a full 60 months of data behind them
    a = arrivals(rows).set_index("person_id")
    assert set(a.index) == {"S", "N"}
    assert not a.loc["S", "lookback_complete"] and a.loc["N", "lookback_complete"]
    # The boundary: the lookback of a sighting on 2023-01-01 starts exactly when the data begin.
    edge = arrivals([("E", "OR-3", "2023-01-01", "oxford_city", True)])
    assert bool(edge.loc[0, "lookback_complete"])
    early = arrivals([("E", "OR-3", "2022-12-31", "oxford_city", True)])
    assert not bool(early.loc[0, "lookback_complete"])


def test_short_history_can_be_excluded():
    rows = [("S", "OR-1", "2018-01-03", "oxford_city", True), ("N", "OR-2", "2023-06-01", "oxford_city", True)]
    a = arrivals(rows, short_history="exclude")
    assert a["person_id"].tolist() == ["N"]
    with pytest.raises(ValueError):
        arrivals(rows, short_history="drop")


def test_contacts_dated_before_history_start_still_count_as_earlier_sightings():
    # A store may hold some older contacts: they can only show a person is not new.
    rows = [("A", "OR-1", "2017-11-01", "oxford_city", True), ("A", "OR-2", "2019-01-10", "oxford_city", True)]
    a = arrivals(rows, period_start=dt.date(2019, 1, 1))
    assert a.empty


# ------------------------------------------------------------------------------ unverified contacts
def test_unverified_contacts_are_not_sightings():
    rows = [("A", "OR-1", "2021-01-05", "oxford_city", False),   # met walking: does not count
            ("A", "OR-2", "2023-03-01", "oxford_city", True),
            ("B", "OR-3", "2023-03-02", "oxford_city", False),   # never seen bedded down
            ("C", "OR-4", "2023-03-03", "cherwell", None)]       # not recorded: not verified
    a = arrivals(rows)
    assert a["person_id"].tolist() == ["A"]
    assert a.loc[0, "arrival_date"] == pd.Timestamp("2023-03-01") and pd.isna(a.loc[0, "previous_sighting"])


def test_unverified_contact_in_previous_month_does_not_make_stock():
    rows = [("A", "OR-1", "2023-02-10", "oxford_city", True), ("A", "OR-2", "2023-03-20", "oxford_city", False),
            ("A", "OR-3", "2023-04-02", "oxford_city", True)]
    ch = rs.chain_classification(outreach(rows), start_of_history=HISTORY_START)
    assert dict(zip(ch["period"].astype(str), ch["status"], strict=True)) == {"2023-02": "new", "2023-04": "returner"}


# ------------------------------------------------------------------------------- CHAIN classes
def test_chain_new_stock_returner():
    rows = [("A", "OR-1", "2023-01-10", "oxford_city", True),
            ("A", "OR-2", "2023-02-03", "cherwell", True),       # seen the month before: stock
            ("A", "OR-3", "2023-05-03", "oxford_city", True),    # seen before, not last month: returner
            ("A", "OR-4", "2023-05-28", "oxford_city", True),
            ("B", "OR-5", "2023-05-04", "oxford_city", True)]    # never seen: new
    ch = rs.chain_classification(outreach(rows), start_of_history=HISTORY_START)
    got = {(p, str(q)): s for p, q, s in zip(ch["person_id"], ch["period"], ch["status"], strict=True)}
    assert got == {("A", "2023-01"): "new", ("A", "2023-02"): "stock", ("A", "2023-05"): "returner",
                   ("B", "2023-05"): "new"}
    may = ch[(ch["person_id"] == "A") & (ch["period"].astype(str) == "2023-05")].iloc[0]
    assert may["sighting_days"] == 2 and may["district"] == "oxford_city"


def test_chain_new_again_after_the_lookback():
    rows = [("A", "OR-1", "2018-03-01", "oxford_city", True), ("A", "OR-2", "2024-03-02", "oxford_city", True)]
    ch = rs.chain_classification(outreach(rows), start_of_history=HISTORY_START, lookback_months=60)
    assert ch["status"].tolist() == ["new", "new"]
    ch24 = rs.chain_classification(outreach(rows[:1] + [("A", "OR-2", "2019-06-02", "oxford_city", True)]),
                                   start_of_history=HISTORY_START, lookback_months=24)
    assert ch24["status"].tolist() == ["new", "returner"]


def test_chain_quarterly_periods():
    rows = [("A", "OR-1", "2023-01-10", "oxford_city", True), ("A", "OR-2", "2023-04-03", "oxford_city", True)]
    ch = rs.chain_classification(outreach(rows), freq="Q", start_of_history=HISTORY_START)
    assert ch["status"].tolist() == ["new", "stock"]


def test_person_seen_in_two_districts_lists_both():
    rows = [("A", "OR-1", "2023-01-10", "oxford_city", True), ("A", "OR-2", "2023-01-12", "cherwell", True)]
    ch = rs.chain_classification(outreach(rows), start_of_history=HISTORY_START)
    assert ch.loc[0, "districts"] == "cherwell;oxford_city" and ch.loc[0, "district"] == "oxford_city"


@pytest.mark.parametrize("days, span, flagged", [
    (["2023-03-01", "2023-03-11", "2023-03-22"], 21, True),   # 3 days, 21 days apart: living on the streets
    (["2023-03-01", "2023-03-11", "2023-03-21"], 20, False),  # 20 days: not yet three weeks
    (["2023-03-01", "2023-03-29"], 28, False),                # only two sightings
])
def test_living_on_the_streets(days, span, flagged):
    rows = [("A", f"OR-{i}", d, "oxford_city", True) for i, d in enumerate(days)]
    rows.append(("A", "OR-99", days[0], "oxford_city", True))  # a same-day repeat adds no sighting day
    ch = rs.chain_classification(outreach(rows), start_of_history=HISTORY_START)
    assert bool(ch.loc[0, "living_on_streets"]) is flagged


def test_one_arrival_per_person_in_the_period():
    rows = [("A", "OR-1", "2018-02-01", "oxford_city", True), ("A", "OR-2", "2024-06-01", "oxford_city", True)]
    a = arrivals(rows, lookback_months=24)
    assert len(a) == 1 and a.loc[0, "arrival_date"] == pd.Timestamp("2018-02-01")
    later = arrivals(rows, lookback_months=24, period_start=dt.date(2020, 1, 1))
    assert later.loc[0, "arrival_date"] == pd.Timestamp("2024-06-01")
    assert later.loc[0, "previous_sighting"] == pd.Timestamp("2018-02-01")


def test_characteristics_come_from_the_arrival_contact():
    rows = [("A", "OR-1", "2023-01-10", "oxford_city", True, "female", "eu", 24)]
    a = arrivals(rows)
    assert a.loc[0, ["gender", "nationality", "age"]].tolist() == ["female", "eu", 24.0]
