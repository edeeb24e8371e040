"""Handovers between services, worked by hand: events, censoring and Kaplan-Meier summaries."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from workbench.definitions import COUNTY
from workbench.measures.joins import handover_events, handover_summary
from workbench.measures.sources import SourceTables


def _sources() -> SourceTables:
    di = pd.DataFrame({
        "person_id": ["P1", "P2", "P3", "P4", "P5", "P6"],
        "institution_type": ["hospital_general", "hospital_mental_health", "hospital_general", "hospital_general",
                             "prison", "prison"],
        "district": ["oxford_city"] * 6,
        "discharge_date": ["2021-01-10", "2021-03-01", "2021-01-10", "2021-02-01", "2020-01-01", "2021-05-01"],
        "accommodation_on_release": ["no_fixed_abode", "rough_sleeping", "settled", "not_known", "no_fixed_abode",
                                     "supported_accommodation"],
    })
    sa = pd.DataFrame({
        "person_id": ["P1", "P6", "Q1", "Q2", "Q3", "R1"],
        "district": ["oxford_city"] * 6,
        "model": ["congregate_hostel"] * 6,
        "start_date": ["2021-01-20", "2021-05-01", "2021-01-01", "2021-01-01", "2021-04-01", "2021-02-01"],
        "end_date": [None, None, "2021-03-01", "2021-02-01", None, "2021-03-01"],
        "departure_reason": [None, None, "planned_move_on", "evicted", None, "planned_move_on"],
    })
    st = pd.DataFrame({"person_id": ["P5", "Q1", "Q2"], "district": ["oxford_city"] * 3,
                       "start_date": ["2021-03-01", "2021-03-10", "2021-05-01"], "tenure": ["social_rented"] * 3})
    oc = pd.DataFrame({"person_id": ["R1"] * 3, "district": ["oxford_city"] * 3,
                       "contact_date": ["2021-01-01", "2021-01-15", "2021-06-01"], "verified_bedded_down": [True] * 3})
    sc = pd.DataFrame({"person_id": ["S1", "S2"], "district": ["cherwell"] * 2, "approach_date": ["2021-01-04", "2021-05-30"],
                       "prevention_duty_start": ["2021-01-05", "2021-06-01"], "prevention_duty_end": ["2021-02-20", None],
                       "prevention_duty_end_reason": ["secured_6_months_stayed", None]})
    deaths = pd.DataFrame({"person_id": ["P4"], "date_of_death": ["2021-02-11"]})
    return SourceTables.from_frames("2021-06-30", institutional_discharges=di, supported_accommodation=sa,
                                    settled_tenancies=st, outreach_contacts=oc, statutory_cases=sc, deaths=deaths)


def test_handover_events_by_hand():
    raw = handover_events(_sources())
    ev = raw.set_index(["handover", "person_id", "from_date"]).sort_index()

    def row(h, p, d):
        return ev.loc[(h, p, pd.Timestamp(d))]

    h = "hospital_discharge_to_accommodation"
    assert row(h, "P1", "2021-01-10")[["days", "event", "status"]].tolist() == [10.0, 1, "handed over"]
    # P2: nothing by the extract date, 1 March -> 30 June = 30 + 30 + 31 + 30 = 121 days, censored
    assert row(h, "P2", "2021-03-01")[["days", "event", "status"]].tolist() == [121.0, 0, "waiting at extract date"]
    # P3 went home (settled accommodation): not a handover
    assert not ((raw["handover"] == "hospital_discharge_to_accommodation") & (raw["person_id"] == "P3")).any()
    # P4 died 10 days after discharge: censored at death
    assert row(h, "P4", "2021-02-01")[["days", "event", "status"]].tolist() == [10.0, 0, "died"]
    p = "prison_release_to_accommodation"
    # P5 released 1 Jan 2020; the tenancy 425 days later is outside the 365-day window:
    # censored at 365
    assert row(p, "P5", "2020-01-01")[["days", "event", "status"]].tolist() == [365.0, 0, "not within 365 days"]
    # P6: into supported accommodation on the day of release: 0 days
    assert row(p, "P6", "2021-05-01")[["days", "event", "to_kind"]].tolist() == [0.0, 1, "supported_accommodation"]
    m = "supported_accommodation_to_move_on"
    # Q1: stay 1 Jan - 1 Mar, tenancy 10 Mar (within 14 days of the end): 31 + 28 + 9 = 68 days
    assert row(m, "Q1", "2021-01-01")[["days", "event"]].tolist() == [68.0, 1]
    # Q2: evicted 1 Feb, tenancy in May does not belong to the stay: censored at 1 Feb + 14 days
    assert row(m, "Q2", "2021-01-01")[["days", "event", "status"]].tolist() == [45.0, 0, "stay ended without move-on"]
    # Q3: still in the stay, 1 April -> 30 June = 90 days
    assert row(m, "Q3", "2021-04-01")[["days", "event"]].tolist() == [90.0, 0]
    o = "first_outreach_contact_to_accommodation"
    # R1: street episode from 1 Jan (15 Jan is the same episode), hostel 1 Feb: 31 days; a new
    # episode from 1 June (137 days after the last contact) with nothing yet: 29 days censored
    assert row(o, "R1", "2021-01-01")[["days", "event"]].tolist() == [31.0, 1]
    assert row(o, "R1", "2021-06-01")[["days", "event"]].tolist() == [29.0, 0]
    assert len(ev.loc[o]) == 2
    d = "prevention_duty_to_outcome"
    assert row(d, "S1", "2021-01-05")[["days", "event", "to_kind"]].tolist() == [46.0, 1, "secured_6_months_stayed"]
    assert row(d, "S2", "2021-06-01")[["days", "event", "status"]].tolist() == [29.0, 0, "duty still open"]


def test_handover_summary_kaplan_meier_by_hand():
    s = handover_summary(handover_events(_sources()), freq=None, within_days=[7, 28])
    hosp = s[(s["handover"] == "hospital_discharge_to_accommodation") & (s["district"] == COUNTY)].iloc[0]
    # times: 10 (handed over), 10 (died, censored), 121 (censored). At t=10: 3 at risk, 1 event
    # (censorings at the same time count as after the event): S = 2/3; then no more events.
    assert hosp[["n", "events", "censored"]].tolist() == [3, 1, 2]
    assert hosp["within_28_days"] == pytest.approx(1 / 3)
    assert hosp["within_7_days"] == pytest.approx(0.0)
    assert np.isnan(hosp["km_median"])  # S never falls to 0.5: median not reached
    assert hosp["median_observed"] == 10.0
    prev = s[(s["handover"] == "prevention_duty_to_outcome") & (s["district"] == COUNTY)].iloc[0]
    # 29 (censored), 46 (event, the only one at risk): S(46) = 0, median 46
    assert prev["km_median"] == 46.0


def test_county_handovers_are_consistent(county_sources):
    ev = handover_events(county_sources)
    assert (ev["days"] >= 0).all()
    assert set(ev["event"].unique()) <= {0, 1}
    assert (ev.loc[ev["event"] == 1, "to_date"] >= ev.loc[ev["event"] == 1, "from_date"]).all()
    # every prevention duty that started since the history began is here, once
    sc = county_sources["statutory_cases"]
    assert (ev["handover"] == "prevention_duty_to_outcome").sum() == int(sc["prevention_duty_start"].notna().sum())
    s = handover_summary(ev, freq="Y")
    assert s["within_28_days"].between(0, 1).all()
