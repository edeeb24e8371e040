"""By Name List: hand-worked months, the monthly identity on random event streams (against an
independent day-by-day reference), and on the synthetic county."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from workbench.measures.by_name_list import (
    _KIND_ORDER,
    COUNTY,
    active_segments,
    by_name_list,
    identity_failures,
    monthly_dynamics,
)
from workbench.measures.sources import SourceTables

EXTRACT = pd.Timestamp("2021-06-30")


def _hand_made() -> SourceTables:
    oc = pd.DataFrame({
        # A: one contact in Oxford on 10 Jan, never seen again.
        # D: Oxford on 5 Jan, then Cherwell on 20 Jan (a transfer between districts).
        # E: seen 20 Dec 2020, housed 1 Jan, seen 10 Jan (inside the 14-day grace: part of the
        #    move) and 1 Feb (a return from housing).
        "person_id": ["A", "D", "D", "E", "E", "E", "X"],
        "contact_date": ["2021-01-10", "2021-01-05", "2021-01-20", "2020-12-20", "2021-01-10", "2021-02-01", "2021-03-01"],
        "district": ["oxford_city", "oxford_city", "cherwell", "oxford_city", "oxford_city", "oxford_city", "oxford_city"],
        # X was met begging, not bedded down: not homeless activity.
        "verified_bedded_down": [True, True, True, True, True, True, False],
    })
    sc = pd.DataFrame({  # B: relief duty in Cherwell 1 Feb - 15 Mar, housed 15 Mar.
        "person_id": ["B"], "district": ["cherwell"], "approach_date": ["2021-02-01"],
        "relief_duty_start": ["2021-02-01"], "relief_duty_end": ["2021-03-15"],
    })
    sa = pd.DataFrame({  # C: a hostel stay open since 1 Dec 2020; F: a stay from 1 Mar, died 20 Apr.
        "person_id": ["C", "F", "H"], "district": ["oxford_city", "oxford_city", "oxford_city"],
        "start_date": ["2020-12-01", "2021-03-01", "2021-03-01"], "end_date": [None, None, None],
        "model": ["congregate_hostel", "shared_house", "housing_first"],  # H: Housing First is housed
    })
    st_ = pd.DataFrame({"person_id": ["B", "E"], "district": ["cherwell", "oxford_city"],
                        "start_date": ["2021-03-15", "2021-01-01"], "tenure": ["social_rented", "private_rented"]})
    deaths = pd.DataFrame({"person_id": ["F"], "date_of_death": ["2021-04-20"]})
    return SourceTables.from_frames(EXTRACT, outreach_contacts=oc, statutory_cases=sc, supported_accommodation=sa,
                                    settled_tenancies=st_, deaths=deaths)


def test_hand_made_months():
    bnl = by_name_list(_hand_made(), period_start="2021-01-01", inactive_after_days=90)
    m = bnl.monthly.set_index(["district", "period"])
    county = m.loc[COUNTY]
    # Active at the end of 31 Dec 2020: C (hostel since 1 Dec). E was housed on 1 Jan, after the
    # month began, so E is active on 31 Dec too (seen 20 Dec): active_start(Jan) = 2.
    assert county.loc["2021-01", "active_start"] == 2
    # January: newly identified A (10th) and D (5th); E housed (1st). D's move to Cherwell is a
    # transfer, invisible at county level. active_end = 2 + 2 - 1 = 3 (C, A, D).
    assert county.loc["2021-01", ["newly_identified", "housed", "inflow", "outflow", "active_end"]].tolist() == [2, 1, 2, 1, 3]
    # February: B identified (relief 1 Feb), E returns from housing (1 Feb; the 10 Jan contact was
    # inside the 14-day grace after the 1 Jan move-in). 3 + 2 = 5.
    assert county.loc["2021-02", ["newly_identified", "returned_from_housing", "active_end"]].tolist() == [1, 1, 5]
    # March: B housed (15th); F's stay from 1 Mar makes F newly identified; X's unverified contact
    # and H's Housing First stay are not homeless activity. 5 + 1 - 1 = 5.
    assert county.loc["2021-03", ["newly_identified", "housed", "active_end"]].tolist() == [1, 1, 5]
    # April: A goes inactive on 10 Jan + 90 days = 10 April (21 days left in Jan + 28 + 31 = 80,
    # so 10 April is day 90); D inactive on 20 Jan + 90 = 20 April; F died 20 April.
    # 5 - 3 = 2. May: E (last seen 1 Feb) inactive on 1 Feb + 90 = 2 May (27 + 31 + 30 = 88 to
    # 30 April, so day 90 is 2 May). June ends with C only.
    assert county.loc["2021-04", ["became_inactive", "died", "outflow", "active_end"]].tolist() == [2, 1, 3, 2]
    assert county.loc["2021-05", ["became_inactive", "active_end"]].tolist() == [1, 1]
    assert county.loc["2021-06", "active_end"] == 1
    # Districts: D leaves Oxford for Cherwell on 20 Jan.
    assert m.loc[("oxford_city", "2021-01"), "moved_out_to_other_district"] == 1
    assert m.loc[("cherwell", "2021-01"), ["moved_in_from_other_district", "active_end"]].tolist() == [1, 1]
    # Cherwell in April: D becomes inactive (20 April).
    assert m.loc[("cherwell", "2021-04"), ["became_inactive", "active_end"]].tolist() == [1, 0]
    assert bnl.identity_holds()
    # Time to move-in: B was identified 1 Feb and housed 15 Mar: 28 + 14 = 42 days (brief, <= 45).
    # E's first spell: 20 Dec to 1 Jan = 12 days.
    t = bnl.time_to_move_in.set_index(["district", "period"])
    assert t.loc[("cherwell", "2021-Q1"), ["housed", "mean_days", "within_brief"]].tolist() == [1, 42.0, 1]
    assert t.loc[(COUNTY, "2021-Q1"), ["housed", "mean_days"]].tolist() == [2, 27.0]  # (42 + 12) / 2


def test_same_day_move_in_and_grace_window_boundary():
    # Seen 1 March, housed 1 March (same day: identified then housed, a zero-length spell),
    # seen 15 March = move-in + 14 days (inside the grace window, ignored) and 16 March
    # (outside: a return from housing).
    oc = pd.DataFrame({"person_id": ["P"] * 3, "contact_date": ["2021-03-01", "2021-03-15", "2021-03-16"],
                       "district": ["oxford_city"] * 3, "verified_bedded_down": [True] * 3})
    st_ = pd.DataFrame({"person_id": ["P"], "district": ["oxford_city"], "start_date": ["2021-03-01"],
                        "tenure": ["social_rented"]})
    bnl = by_name_list(SourceTables.from_frames(EXTRACT, outreach_contacts=oc, settled_tenancies=st_),
                       period_start="2021-03-01")
    march = bnl.monthly.set_index(["district", "period"]).loc[(COUNTY, "2021-03")]
    assert march[["newly_identified", "housed", "returned_from_housing", "active_end"]].tolist() == [1, 1, 1, 1]
    assert bnl.identity_holds()


# --------------------------------------------------------------------------------------------------
# Random event streams against an independent day-by-day reference
# --------------------------------------------------------------------------------------------------

BASE = dt.date(2021, 1, 1)
DISTRICTS = ["oxford_city", "cherwell", "west_oxfordshire"]
KINDS = list(_KIND_ORDER)


def _reference(acts, moves, death, last_day, N, G):
    """Walk every day in order, applying the documented rules literally.

    acts: list of (start, end, district, kind); moves: set of days; death: day or None.
    Returns ({day: district or None} at the end of each day, [(day, reason, district)]).
    """
    state, district, last_contact, last_move = "never", None, None, None
    accepted: list[list] = []  # [start, end] of activities that count, truncated by move-ins
    ends_of_day, events = {}, []
    for day in range(0, last_day + 1):
        if state == "dead":
            ends_of_day[day] = None
            continue
        todays = sorted([a for a in acts if a[0] == day], key=lambda a: (_KIND_ORDER[a[3]], a[2]))
        todays = [a for a in todays if not (last_move is not None and last_move < day <= last_move + G)]
        if todays:
            accepted += [[a[0], a[1]] for a in todays]
            final = todays[-1][2]  # the last activity of the day sets the district
            if state != "active":
                reason = {"never": "newly_identified", "housed": "returned_from_housing"}.get(state, "returned_from_inactive")
                events.append((day, reason, final))
                state, district = "active", final
            elif final != district:
                events += [(day, "moved_out_to_other_district", district), (day, "moved_in_from_other_district", final)]
                district = final
        if state == "active" and any(s <= day <= e for s, e in accepted):
            last_contact = day
        if day in moves:
            if state == "active":
                events.append((day, "housed", district))
            if state != "never":
                state = "housed"
            last_move = day
            for a in accepted:  # a stay still open at the move-in ends with it
                a[1] = min(a[1], day)
        if death == day:
            if state == "active":
                events.append((day, "died", district))
            state = "dead"
        if state == "active" and day - last_contact >= N:
            events.append((day, "became_inactive", district))
            state = "inactive"
        ends_of_day[day] = district if state == "active" else None
    return ends_of_day, events


activity_st = st.tuples(st.integers(0, 150), st.integers(0, 40), st.sampled_from(DISTRICTS), st.sampled_from(KINDS),
                        st.booleans())
person_st = st.tuples(st.lists(activity_st, max_size=6), st.lists(st.integers(0, 150), max_size=3),
                      st.one_of(st.none(), st.integers(0, 150)))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(people=st.lists(person_st, min_size=1, max_size=4), N=st.sampled_from([3, 10, 30]), G=st.sampled_from([0, 3, 14]),
       last_day=st.integers(60, 170))
def test_identity_and_states_match_reference(people, N, G, last_day):
    def date(d):
        return pd.Timestamp(BASE + dt.timedelta(days=int(d)))

    act_rows, move_rows, deaths = [], [], {}
    for p, (acts, moves, death) in enumerate(people):
        pid = f"p{p}"
        for start, length, district, kind, is_point in acts:
            end = start if (is_point or kind in ("verified_rough_sleeping", "main_duty_accepted")) else start + length
            act_rows.append((pid, kind, district, date(start), date(end)))
        move_rows += [(pid, date(m)) for m in moves]
        if death is not None:
            deaths[pid] = date(death)
    activity = pd.DataFrame(act_rows, columns=["person_id", "kind", "district", "start", "end"])
    housed = pd.DataFrame(move_rows, columns=["person_id", "date"])
    extract = date(last_day)
    seg = active_segments(activity, housed, pd.Series(deaths, dtype="datetime64[ns]"), extract,
                          inactive_after_days=N, grace_days=G)
    monthly = monthly_dynamics(seg, date(0), extract, districts=DISTRICTS)
    assert identity_failures(monthly).empty

    # Day by day: the module's segments say who is active where, exactly as the reference does.
    expected_events = []
    for p, (acts, moves, death) in enumerate(people):
        pid = f"p{p}"
        ref_acts = [(a[0], a[0] if (a[4] or a[3] in ("verified_rough_sleeping", "main_duty_accepted")) else a[0] + a[1],
                     a[2], a[3]) for a in acts]
        ref_acts = [a for a in ref_acts if a[0] <= last_day]
        states, events = _reference(ref_acts, set(m for m in moves if m <= last_day),
                                    death if death is not None and death <= last_day else None, last_day, N, G)
        expected_events += [(pid, *e) for e in events]
        mine = seg[seg.person_id == pid]
        spans = [((r.start - date(0)).days, np.inf if pd.isna(r.end) else (r.end - date(0)).days, r.district)
                 for r in mine.itertuples()]
        for day, district in states.items():
            on = [d for s, e, d in spans if s <= day < e]
            assert len(on) <= 1
            got = on[0] if on else None
            assert got == district, (pid, day, got, district)

    # Every flow, month by month and district by district, matches the reference's transitions.
    ev = pd.DataFrame(expected_events, columns=["person_id", "day", "reason", "district"])
    ev["period"] = [f"{date(d).year}-{date(d).month:02d}" for d in ev["day"]]
    counts = ev.groupby(["district", "period", "reason"]).size()
    by_district = monthly[monthly.district != COUNTY].set_index(["district", "period"])
    reasons = ["newly_identified", "returned_from_housing", "returned_from_inactive", "moved_in_from_other_district",
               "housed", "became_inactive", "died", "moved_out_to_other_district"]
    for (district, period), row in by_district.iterrows():
        for reason in reasons:
            assert row[reason] == counts.get((district, period, reason), 0), (district, period, reason)


def test_county_identity_every_month(county_sources):
    bnl = by_name_list(county_sources)
    failures = identity_failures(bnl.monthly)
    assert failures.empty, failures.head()
    county = bnl.monthly[bnl.monthly.district == COUNTY]
    # every month from January 2018 to the extract month is there, for the county and 5 districts
    assert len(county) == 105 and bnl.monthly.district.nunique() == 6
    # the districts add up to the county (transfers aside)
    sums = bnl.monthly[bnl.monthly.district != COUNTY].groupby("period")[["active_end", "inflow", "outflow"]].sum()
    transfers = bnl.monthly[bnl.monthly.district != COUNTY].groupby("period")["moved_in_from_other_district"].sum()
    c = county.set_index("period")
    assert (sums["active_end"] == c["active_end"]).all()
    assert (sums["inflow"] - transfers == c["inflow"]).all()
    # a list that is not trivially empty or static
    assert c["active_end"].iloc[-1] > 100 and c["inflow"].sum() > 1000
    assert np.isfinite(bnl.time_to_move_in["mean_days"]).all()


@pytest.mark.parametrize("days", [30, 90, 180])
def test_inactivity_setting_changes_the_list(days):
    # one contact on 1 March: inactive on 1 March + N days
    oc = pd.DataFrame({"person_id": ["A"], "contact_date": ["2021-03-01"], "district": ["oxford_city"],
                       "verified_bedded_down": [True]})
    bnl = by_name_list(SourceTables.from_frames("2021-12-31", outreach_contacts=oc), period_start="2021-01-01",
                       inactive_after_days=days)
    seg = bnl.segments.iloc[0]
    assert seg["exit"] == "became_inactive"
    assert (seg["end"] - pd.Timestamp("2021-03-01")).days == days
