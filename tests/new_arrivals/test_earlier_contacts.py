"""Earlier contacts, routes and windows, worked by hand."""

from __future__ import annotations

import pandas as pd
import pytest
from new_arrivals_frames import HISTORY_START, case, discharge, outreach, stay, tables, tenancy

from workbench.cohorts import rough_sleeping as rs

ARRIVAL = "2023-06-15"


def paths_for(tabs, **kw):
    a = rs.new_arrivals(tabs["outreach_contacts"], start_of_history=HISTORY_START)
    c = rs.earlier_contacts(a, tabs, **kw)
    return rs.arrival_paths(a, c), c


def seen(pid="A", district="oxford_city", date=ARRIVAL):
    return outreach([(pid, f"OR-{pid}", date, district, True)])


def test_relief_duty_ended_contact_lost():
    tabs = tables(seen(), cases=[case("A", "OXC-1", "oxford_city", "2023-03-01",
                                      relief=("2023-03-02", "2023-04-26", "contact_lost"))])
    p, c = paths_for(tabs)
    row = p.iloc[0]
    assert row["presented"] and row["route"] == "duty_ended_contact_lost_or_56_days"
    assert row["days_before_arrival"] == (pd.Timestamp(ARRIVAL) - pd.Timestamp("2023-04-26")).days  # from the end
    assert row["last_outcome"] == "contact_lost" and row["last_outcome_label"] == "Relief duty ended: Contact lost"
    assert row["presented_85d"] and row["presented_6m"]


def test_prevention_duty_56_days_then_nothing():
    tabs = tables(seen(), cases=[case("A", "OXC-1", "oxford_city", "2023-01-02", assessment="threatened_with_homelessness",
                                      prevention=("2023-01-03", "2023-03-01", "days_56_elapsed"))])
    p, _ = paths_for(tabs)
    assert p.loc[0, "route"] == "duty_ended_contact_lost_or_56_days"
    assert p.loc[0, "last_stage"] == "prevention" and p.loc[0, "last_days_since_last"] == 106
    assert not p.loc[0, "presented_85d"] and p.loc[0, "presented_6m"]


def test_only_what_happened_before_arrival_counts():
    # The relief duty was still running when the person was first seen sleeping rough.
    tabs = tables(seen(), cases=[case("A", "OXC-1", "oxford_city", "2023-06-01",
                                      relief=("2023-06-02", "2023-07-20", "contact_lost"))])
    p, c = paths_for(tabs)
    assert c.loc[0, "open_at_arrival"] and c.loc[0, "outcome"] == "open_at_arrival"
    assert p.loc[0, "route"] == "statutory_other"  # not (yet) a duty that failed
    assert c.loc[0, "last_date"] == pd.Timestamp(ARRIVAL) - pd.Timedelta(days=1)


def test_same_day_records_are_not_earlier():
    tabs = tables(seen(), cases=[case("A", "OXC-1", "oxford_city", ARRIVAL)],
                  discharges=[discharge("A", "DC-1", ARRIVAL)])
    p, c = paths_for(tabs)
    assert c.empty and not p.loc[0, "presented"] and p.loc[0, "route"] == "none"


@pytest.mark.parametrize("days, route", [(85, "institution_discharge"), (86, "institution_discharge_earlier")])
def test_institution_window(days, route):
    when = (pd.Timestamp(ARRIVAL) - pd.Timedelta(days=days)).date().isoformat()
    p, c = paths_for(tables(seen(), discharges=[discharge("A", "DC-1", when, district="outside_oxfordshire")]))
    assert p.loc[0, "route"] == route and p.loc[0, "days_before_arrival"] == days
    assert c.loc[0, "agency"] == "Prison" and c.loc[0, "district"] == "outside_oxfordshire"
    assert bool(p.loc[0, "presented_85d"]) is (days <= 85)


def test_route_priority_discharge_before_failed_duty():
    tabs = tables(seen(), cases=[case("A", "OXC-1", "oxford_city", "2023-03-01",
                                      relief=("2023-03-02", "2023-06-01", "contact_lost"))],
                  discharges=[discharge("A", "DC-1", "2023-05-01", institution="hospital_general")])
    p, c = paths_for(tabs)
    assert len(c) == 2 and p.loc[0, "earlier_contacts"] == 2
    assert p.loc[0, "route"] == "institution_discharge" and p.loc[0, "days_before_arrival"] == 45
    # ... while the last contact is the more recent one (the duty ended 2023-06-01).
    assert p.loc[0, "last_source"] == "statutory_cases"


def test_supported_accommodation_exits():
    tabs = tables(outreach([("A", "OR-A", ARRIVAL, "oxford_city", True), ("B", "OR-B", ARRIVAL, "oxford_city", True),
                            ("C", "OR-C", ARRIVAL, "oxford_city", True)]),
                  stays=[stay("A", "SA-1", "2023-01-01", "2023-06-05", "evicted"),
                         stay("B", "SA-2", "2023-01-01", "2023-06-05", "abandoned"),
                         stay("C", "SA-3", "2023-01-01", None, None)])  # end not (yet) recorded
    p, _ = paths_for(tabs)
    p = p.set_index("person_id")
    assert p.loc["A", "route"] == "supported_accommodation_eviction" and p.loc["A", "days_before_arrival"] == 10
    assert p.loc["B", "route"] == "supported_accommodation_abandoned"
    assert p.loc["C", "route"] == "supported_accommodation_other" and p.loc["C", "last_outcome"] == "open_at_arrival"


def test_approach_to_another_district_is_timed_from_the_approach():
    tabs = tables(seen(district="oxford_city"),
                  cases=[case("A", "CHE-1", "cherwell", "2023-04-01", relief=("2023-04-02", "2023-04-30",
                                                                               "local_connection_referral"))])
    p, _ = paths_for(tabs)
    assert p.loc[0, "route"] == "approach_other_district" and p.loc[0, "presented_other_district"]
    assert p.loc[0, "days_before_arrival"] == 75 and p.loc[0, "last_outcome"] == "local_connection_referral"


def test_duty_to_refer_and_agency():
    tabs = tables(seen(), cases=[case("A", "OXC-1", "oxford_city", "2023-05-01", referral_route="dtr_hospital",
                                      assessment="not_threatened")])
    _, c = paths_for(tabs)
    assert c.loc[0, "duty_to_refer"] and c.loc[0, "agency"].startswith("Duty to Refer: hospital")
    assert c.loc[0, "outcome"] == "not_threatened"


def test_tenancies():
    tabs = tables(seen(), tenancies=[tenancy("A", "TN-1", "2022-01-01", "2023-02-01", "eviction_arrears")])
    p, _ = paths_for(tabs)
    assert p.loc[0, "route"] == "tenancy_ended" and p.loc[0, "last_outcome"] == "eviction_arrears"


def test_contact_lookback_is_inclusive_of_its_first_day():
    inside = tables(seen(), discharges=[discharge("A", "DC-1", "2021-06-15")])      # exactly 24 months
    outside = tables(seen(), discharges=[discharge("A", "DC-1", "2021-06-14")])     # a day more
    assert paths_for(inside)[0].loc[0, "presented"]
    assert not paths_for(outside)[0].loc[0, "presented"]
    assert paths_for(outside, contact_lookback_months=36)[0].loc[0, "presented"]


def test_unverified_outreach_contacts_are_listed_but_are_not_presenting():
    o = outreach([("A", "OR-1", "2023-05-01", "oxford_city", False), ("A", "OR-2", ARRIVAL, "oxford_city", True)])
    p, c = paths_for(tables(o))
    assert len(c) == 1 and not c.loc[0, "presenting"] and not p.loc[0, "presented"]


def test_other_peoples_records_are_not_attached():
    tabs = tables(seen(), discharges=[discharge("Z", "DC-1", "2023-06-01")])
    p, c = paths_for(tabs)
    assert c.empty and not p.loc[0, "presented"]


def test_contact_history_completeness_flag():
    o = outreach([("A", "OR-1", "2019-06-01", "oxford_city", True), ("B", "OR-2", "2020-04-03", "oxford_city", True)])
    p, _ = paths_for(tables(o))
    flags = dict(zip(p["person_id"], p["contact_history_complete"], strict=True))
    assert flags == {"A": False, "B": True}  # statutory data begin 2018-04-03; 24 months later is 2020-04-03


def test_needs_around_arrival_use_the_same_window_for_everyone():
    tabs = tables(outreach([("A", "OR-A", ARRIVAL, "oxford_city", True), ("B", "OR-B", ARRIVAL, "oxford_city", True),
                            ("C", "OR-C", ARRIVAL, "oxford_city", True)]),
                  cases=[case("A", "OXC-1", "oxford_city", "2023-01-01", support_needs="mental_health", nrpf=False),
                         case("B", "OXC-2", "oxford_city", "2023-09-01", support_needs="drug_dependency;mental_health",
                              nrpf=True),
                         case("C", "OXC-3", "oxford_city", "2024-09-01", support_needs="alcohol_dependency")])
    a = rs.new_arrivals(tabs["outreach_contacts"], start_of_history=HISTORY_START)
    n = rs.needs_around_arrival(a, tabs).set_index("person_id")
    assert n.loc["A", "support_needs"] == "mental_health" and not n.loc["A", "nrpf"]
    assert n.loc["B", "support_needs"] == "drug_dependency;mental_health" and n.loc["B", "nrpf"]
    assert not n.loc["C", "needs_recorded"]  # more than a year after arrival
