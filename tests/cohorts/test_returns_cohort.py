"""The returns cohort on small hand-made tables, each answer worked out by hand."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from workbench.cohorts.returns import CENSORED, DIED, RETURNED, has_need, returns_cohort

T = pd.Timestamp
EXTRACT = dt.date(2024, 3, 31)


def _tables():
    tenancies = pd.DataFrame({
        "person_id": ["A", "B", "C", "D", "E", "F", "A"],
        "tenancy_id": ["TN-1", "TN-2", "TN-3", "TN-4", "TN-5", "TN-6", "TN-7"],
        "district": ["cherwell"] * 7,
        "start_date": [T("2020-01-01"), T("2021-01-01"), T("2017-06-01"), T("2020-01-01"), T("2022-01-01"),
                       T("2023-01-01"), T("2021-01-01")],
        "tenure": ["social_rented"] * 6 + ["housing_first"],
        "route_in": ["rough_sleeping", "relief_duty", "supported_accommodation", "settled_accommodation",
                     "temporary_accommodation", "rough_sleeping", "rough_sleeping"],
        "gender": ["male"] * 7, "age_at_start_date": [30, 40, 50, 60, 35, 45, 31],
        "end_date": [pd.NaT] * 7, "end_reason": [None] * 7,
    })
    outreach = pd.DataFrame({
        "person_id": ["A", "E", "E", "F"],
        "contact_date": [T("2020-01-10"), T("2022-01-15"), T("2022-01-16"), T("2023-02-01")],
        "verified_bedded_down": [True, True, True, False],
    })
    cases = pd.DataFrame({
        "person_id": ["A", "B"], "approach_date": [T("2019-10-01"), T("2021-04-01")],
        "relief_duty_start": [T("2020-06-01"), T("2021-04-02")],
        "main_duty_decision": [None, None], "main_duty_decision_date": [pd.NaT, pd.NaT],
        "support_needs": ["drug_dependency;mental_health", None],
    })
    stays = pd.DataFrame({"person_id": ["C"], "start_date": [T("2015-01-01")], "support_needs": ["alcohol_dependency"]})
    deaths = pd.DataFrame({"person_id": ["B"], "date_of_death": [T("2021-03-01")]})
    return {"settled_tenancies": tenancies, "outreach_contacts": outreach, "statutory_cases": cases,
            "supported_accommodation": stays, "deaths": deaths}


@pytest.fixture
def cohort():
    return returns_cohort(tables=_tables(), extract_date=EXTRACT, start=dt.date(2018, 1, 1)).set_index("tenancy_id")


def test_settled_route_is_not_in_the_cohort(cohort):
    assert "TN-4" not in cohort.index and len(cohort) == 6


def test_event_in_grace_window_is_a_transfer_not_a_return(cohort):
    a = cohort.loc["TN-1"]  # contact on day 9 is ignored; relief duty on day 152 is the return
    assert a.status == RETURNED and a.time_days == 152 and a.return_kind == "relief_duty"


def test_grace_boundary_is_more_than_14_days(cohort):
    e = cohort.loc["TN-5"]  # contacts on day 14 (not a return) and day 15 (a return)
    assert e.status == RETURNED and e.time_days == 15


def test_death_is_a_competing_event(cohort):
    b = cohort.loc["TN-2"]  # died on day 59; the relief duty after death is not a return
    assert b.status == DIED and b.time_days == 59 and pd.isna(b.return_kind)


def test_unverified_contact_is_not_a_return_and_follow_up_censored(cohort):
    f = cohort.loc["TN-6"]
    assert f.status == CENSORED and f.time_days == (T(EXTRACT) - T("2023-01-01")).days


def test_left_truncation_before_history_start(cohort):
    c = cohort.loc["TN-3"]
    assert c.entry_days == (T("2018-01-01") - T("2017-06-01")).days and c.status == CENSORED


def test_spells_and_needs(cohort):
    assert cohort.loc["TN-1"].spell == 1 and cohort.loc["TN-7"].spell == 2
    assert cohort.loc["TN-1"].support_needs == "drug_dependency;mental_health"
    assert cohort.loc["TN-3"].support_needs == ""  # the 2015 stay is outside the 730-day lookback
    assert has_need(cohort.support_needs, "drug_dependency").loc["TN-1"] == 1
    # A's second move-in (2021) is followed by no event: censored.
    assert cohort.loc["TN-7"].status == CENSORED


def test_grace_window_is_a_setting():
    c = returns_cohort(tables=_tables(), extract_date=EXTRACT, start=dt.date(2018, 1, 1), grace_days=0).set_index("tenancy_id")
    assert c.loc["TN-1"].time_days == 9 and c.loc["TN-5"].time_days == 14


def test_move_in_from_before_the_data_begin_enters_at_history_start():
    # C moved in on 2017-06-01, before the data begin (2018-01-01): at risk from day 214 (left truncation),
    # its 2019 contact is a return on day 639. A contact from before the data begin, if a store holds one,
    # ends C's follow-up before anything of it is observed: C then leaves the cohort.
    tables = _tables()
    tables["outreach_contacts"] = pd.concat([tables["outreach_contacts"], pd.DataFrame({
        "person_id": ["C"], "contact_date": [T("2019-03-02")], "verified_bedded_down": [True]})], ignore_index=True)
    seen = returns_cohort(tables=tables, extract_date=EXTRACT, start=dt.date(2018, 1, 1)).set_index("tenancy_id")
    c = seen.loc["TN-3"]
    assert c.status == RETURNED and c.time_days == (T("2019-03-02") - T("2017-06-01")).days == 639
    assert c.entry_days == 214
    tables["outreach_contacts"] = pd.concat([tables["outreach_contacts"], pd.DataFrame({
        "person_id": ["C"], "contact_date": [T("2017-09-01")], "verified_bedded_down": [True]})], ignore_index=True)
    unseen = returns_cohort(tables=tables, extract_date=EXTRACT, start=dt.date(2018, 1, 1))
    assert "TN-3" not in set(unseen["tenancy_id"])
