"""The independent identifier-error model (benchmarks/independent_identifier_errors.py) does what its
docstring says on a small frame: each kind appears at about its stated rate, only identifiers change,
and every change is in the log."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "independent_identifier_errors.py"
N_PEOPLE, N_CASES, N_CONTACTS = 2500, 6000, 4000


def _module():
    spec = importlib.util.spec_from_file_location("independent_identifier_errors", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def perturbed():
    m = _module()
    rng = np.random.default_rng(7)
    firsts = np.array(["William", "Sarah", "Stephen", "Mohammed", "Anna", "Krzysztof", "Helen", "Paul", "Zoe",
                       "Catherine", "Lee", "Margaret"])
    lasts = np.array(["Smith", "Jones", "Taylor", "Brown", "Williams", "Wilson", "Johnson", "Davies", "Patel",
                      "Khan", "Nowak", "Evans", "Thompson", "Hughes"])
    dob = pd.Timestamp("1950-01-01") + pd.to_timedelta(rng.integers(0, 50 * 365, N_PEOPLE), unit="D")
    persons = pd.DataFrame({
        "person_id": [f"P{i:05d}" for i in range(N_PEOPLE)],
        "first_name": rng.choice(firsts, N_PEOPLE), "last_name": rng.choice(lasts, N_PEOPLE),
        "date_of_birth": dob.strftime("%Y-%m-%d"),
        "ni_number": [f"AB{n:06d}C" for n in rng.integers(0, 999_999, N_PEOPLE)],
        "gender": rng.choice(["female", "male"], N_PEOPLE),
        "nationality": rng.choice(["uk", "eu", "non_eu"], N_PEOPLE, p=[0.8, 0.1, 0.1]),
    })

    def dates(n):
        return (pd.Timestamp("2018-04-01") + pd.to_timedelta(rng.integers(0, 8 * 365, n), unit="D")).strftime("%Y-%m-%d")

    case_people = rng.integers(0, N_PEOPLE, N_CASES)
    cases = pd.DataFrame({
        "case_id": [f"OXC-{i:07d}" for i in range(N_CASES)], "district": "oxford_city",
        "first_name": "x", "last_name": "x", "date_of_birth": "x",
        "ni_number": np.where(rng.random(N_CASES) < 0.6, "x", ""),  # 40% without an NI number
        "gender": persons["gender"].to_numpy()[case_people], "approach_date": dates(N_CASES),
        "assessment": rng.choice(["homeless", "threatened_with_homelessness"], N_CASES)})
    contact_people = rng.integers(0, N_PEOPLE, N_CONTACTS)
    contacts = pd.DataFrame({
        "contact_id": [f"OR-{i:07d}" for i in range(N_CONTACTS)], "contact_date": dates(N_CONTACTS),
        "district": "oxford_city", "given_name": "x",
        "family_name": np.where(rng.random(N_CONTACTS) < 0.5, "x", ""),
        "date_of_birth": np.where(rng.random(N_CONTACTS) < 0.6, "x", ""), "approximate_age": "40",
        "gender": persons["gender"].to_numpy()[contact_people], "client_ref": "OC-1"})
    record_persons = pd.concat([
        pd.DataFrame({"file": "statutory_cases_oxford_city.csv", "row_number": np.arange(N_CASES) + 2,
                      "person_id": persons["person_id"].to_numpy()[case_people]}),
        pd.DataFrame({"file": "outreach_contacts.csv", "row_number": np.arange(N_CONTACTS) + 2,
                      "person_id": persons["person_id"].to_numpy()[contact_people]})])
    extracts = {"statutory_cases_oxford_city.csv": cases, "outreach_contacts.csv": contacts}
    sources = {"statutory_cases_oxford_city.csv": "statutory_cases", "outreach_contacts.csv": "outreach_contacts"}
    out, log = m.perturb(extracts, sources, persons, record_persons, seed=3)
    return m, persons, extracts, out, log, case_people, contact_people


def _near(count: int, n: int, rate: float) -> bool:
    """Within four binomial standard deviations of n * rate."""
    return abs(count - n * rate) <= 4 * np.sqrt(n * rate * (1 - rate)) + 1


def test_kinds_appear_at_their_rates(perturbed):
    m, persons, extracts, out, log, case_people, contact_people = perturbed
    rates = m.RATES
    cases_log = log[log["file"] == "statutory_cases_oxford_city.csv"]
    contacts_log = log[log["file"] == "outreach_contacts.csv"]
    kinds = set(log["kind"])
    assert kinds == set(m.KINDS), kinds

    anonymous = contacts_log[contacts_log["kind"] == "outreach_anonymous"]
    assert _near(len(anonymous), N_CONTACTS, rates["outreach_anonymous"])
    assert _near((cases_log["kind"] == "forename_initial").sum(), N_CASES, rates["forename_initial"])
    assert "forename_initial" not in set(contacts_log["kind"])  # names given aloud keep their forename
    with_ni = int((extracts["statutory_cases_oxford_city.csv"]["ni_number"] != "").sum())
    assert _near((cases_log["kind"] == "ni_digit_typo").sum(), with_ni, rates["ni_digit_typo"])
    # Typos: about 1.5% of each name field (surnames of records that have one).
    assert _near(((cases_log["kind"] == "typo") & (cases_log["column"] == "last_name")).sum(), N_CASES, rates["typo"])
    # Name-order swaps: the mix of UK and other nationalities' rates.
    nonuk = (persons["nationality"].to_numpy()[case_people] != "uk")
    expected = (nonuk * rates["name_order_swap_other"] + ~nonuk * rates["name_order_swap_uk"]).mean()
    assert _near((cases_log["kind"] == "name_order_swap").sum(), N_CASES, expected)
    # Day-month swaps only where the day could be a month, and at about their rate of those.
    dob = pd.to_datetime(persons["date_of_birth"]).to_numpy()[case_people]
    day, month = pd.DatetimeIndex(dob).day, pd.DatetimeIndex(dob).month
    eligible = int(((day <= 12) & (day != month)).sum())
    swaps = cases_log[cases_log["kind"] == "dob_day_month_swap"]
    assert _near(len(swaps), eligible, rates["dob_day_month_swap"])
    assert (pd.to_datetime(swaps["true_value"]).dt.day <= 12).all()
    jan1 = cases_log[cases_log["kind"] == "dob_default_jan1"]
    assert jan1["recorded_value"].str.endswith("-01-01").all() and len(jan1) > 0.01 * N_CASES * 0.8


def test_only_identifiers_change_and_each_change_is_logged(perturbed):
    m, persons, extracts, out, log, case_people, contact_people = perturbed
    cases, new_cases = extracts["statutory_cases_oxford_city.csv"], out["statutory_cases_oxford_city.csv"]
    contacts, new_contacts = extracts["outreach_contacts.csv"], out["outreach_contacts.csv"]
    pd.testing.assert_frame_equal(cases.drop(columns=["first_name", "last_name", "date_of_birth", "ni_number"]),
                                  new_cases.drop(columns=["first_name", "last_name", "date_of_birth", "ni_number"]))
    pd.testing.assert_frame_equal(
        contacts.drop(columns=["given_name", "family_name", "date_of_birth", "approximate_age"]),
        new_contacts.drop(columns=["given_name", "family_name", "date_of_birth", "approximate_age"]))
    # Blanks stay blank (the extract's own missing identifiers are kept).
    assert (new_cases["ni_number"][cases["ni_number"] == ""] == "").all()
    assert (new_contacts["family_name"][contacts["family_name"] == ""] == "").all()
    # Records without any logged change carry exactly the true identity (the generator's errors are gone).
    changed = set(log["record_id"])
    clean = ~new_cases["case_id"].isin(changed).to_numpy()
    true = persons.iloc[case_people]
    for col in ("first_name", "date_of_birth"):
        assert (new_cases[col].to_numpy()[clean] == true[col].to_numpy()[clean]).all(), col
    # Surnames: the true one, or (people given a double-barrelled name) the whole double name.
    assert all(rec == t or rec.startswith(t + "-") for rec, t in
               zip(new_cases["last_name"].to_numpy()[clean], true["last_name"].to_numpy()[clean], strict=True))
    has_ni = clean & (cases["ni_number"] != "").to_numpy()
    assert (new_cases["ni_number"].to_numpy()[has_ni] == true["ni_number"].to_numpy()[has_ni]).all()
    # An NI typo changes exactly one digit, and the extract carries it (no later kind touches NI).
    ni = log[log["kind"] == "ni_digit_typo"].set_index("record_id")
    recorded = new_cases.set_index("case_id").loc[ni.index, "ni_number"]
    assert (recorded == ni["recorded_value"]).all()
    assert all(sum(a != b for a, b in zip(x, y, strict=True)) == 1 for x, y in zip(ni["true_value"], recorded, strict=True))
    # Anonymous outreach contacts: a name, no surname, no date of birth, an age band's midpoint.
    anon = new_contacts.set_index("contact_id").loc[log.loc[log["kind"] == "outreach_anonymous", "record_id"]]
    assert (anon["family_name"] == "").all() and (anon["date_of_birth"] == "").all()
    assert set(anon["approximate_age"].astype(int)) <= {20, 30, 40, 50, 60, 70}


def test_surname_changes_are_womens_and_after_one_date(perturbed):
    m, persons, extracts, out, log, case_people, contact_people = perturbed
    cases = extracts["statutory_cases_oxford_city.csv"]
    changes = log[(log["kind"] == "surname_change") & (log["file"] == "statutory_cases_oxford_city.csv")]
    assert len(changes) > 10
    frame = pd.DataFrame({"pid": case_people, "date": cases["approach_date"], "case_id": cases["case_id"],
                          "changed": cases["case_id"].isin(changes["record_id"])})
    who = persons.iloc[frame.loc[frame["changed"], "pid"]]
    assert (who["gender"] == "female").all()
    for _, g in frame[frame["pid"].isin(frame.loc[frame["changed"], "pid"])].groupby("pid"):
        # Every record after the first changed one is changed too (records without a surname aside).
        first = g.loc[g["changed"], "date"].min()
        assert g.loc[g["date"] > first, "changed"].all()
    # Double-barrelled names: a split record carries one part of the whole name.
    split = log[log["kind"] == "double_barrelled"]
    assert len(split) > 0
    assert all(rec in whole.split("-") for whole, rec in zip(split["true_value"], split["recorded_value"], strict=True))
