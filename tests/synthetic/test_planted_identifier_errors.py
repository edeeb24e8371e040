"""The richer identifier errors (issue 18, item 2): each kind is planted at its rate, written to the
truth's mess log, and shows in the extracts; none of them is on by default."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from workbench.synthetic import generate_county, identifier_errors
from workbench.synthetic.scenarios import apply_overrides, scenario_settings
from workbench.synthetic.settings import CountySettings

# Rates well above the realistic scenario's, so that a small county measures them closely.
BOOSTED = {"name_order_swap": 0.1, "name_order_swap_non_uk": 0.1, "forename_initial": 0.1, "dob_default_jan1": 0.05,
           "dob_first_of_month": 0.05, "dob_year_off": 0.05, "ni_digit_typo": 0.1}


def _close(observed: int, n: int, p: float) -> bool:
    """Within 4 binomial standard deviations of n * p."""
    return abs(observed - n * p) <= 4 * math.sqrt(n * p * (1 - p)) + 1


@pytest.fixture(scope="module")
def boosted_county(tmp_path_factory):
    out = tmp_path_factory.mktemp("identifier_errors")
    settings = apply_overrides(CountySettings(), {"mess": BOOSTED})
    generate_county(out, seed=3, scale=0.1, settings=settings)
    mess = pd.read_csv(out / "truth" / "mess_log.csv", dtype=str, keep_default_na=False)
    records = pd.read_parquet(out / "truth" / "record_persons.parquet")
    return out, mess, records


def _records_with(mess: pd.DataFrame, kind: str) -> int:
    return len(mess[mess["kind"] == kind].drop_duplicates(["file", "record_id"]))


def test_default_county_has_none_of_them():
    assert not identifier_errors.any_on(CountySettings().mess)
    assert identifier_errors.any_on(scenario_settings("realistic_identifiers").mess)


def test_record_level_kinds_are_planted_at_their_rates(boosted_county):
    out, mess, records = boosted_county
    n = len(records)
    assert _close(_records_with(mess, "name_order_swap"), n, 0.1)
    assert _close(_records_with(mess, "forename_initial"), n, 0.1 * 0.9)  # never on a swapped record
    with_dob = n - _records_with(mess, "dob_missing")
    assert _close(_records_with(mess, "dob_default_jan1"), with_dob, 0.05 * 364 / 365)
    assert _close(_records_with(mess, "dob_first_of_month"), with_dob, 0.05 * 29.5 / 30.5)
    assert _close(_records_with(mess, "dob_year_off"), with_dob, 0.05)
    ni_rows = sum(int((pd.read_csv(p, dtype=str, keep_default_na=False)["ni_number"] != "").sum())
                  for p in (out / "extracts").glob("*.csv") if "outreach" not in p.name)
    assert _close(_records_with(mess, "ni_digit_typo"), ni_rows, 0.1)


def test_logged_errors_are_what_the_extracts_hold(boosted_county):
    out, mess, _ = boosted_county
    swaps = mess[mess["kind"] == "name_order_swap"].pivot_table(
        index=["file", "record_id"], columns="column", values=["true_value", "recorded_value"], aggfunc="first")
    # Forename and surname exchanged.
    assert (swaps[("recorded_value", "first_name")] == swaps[("true_value", "last_name")]).all()
    assert (swaps[("recorded_value", "last_name")] == swaps[("true_value", "first_name")]).all()
    dob = mess[mess["kind"].isin(["dob_default_jan1", "dob_first_of_month", "dob_year_off"])]
    jan1 = dob[dob["kind"] == "dob_default_jan1"]
    assert jan1["recorded_value"].str.endswith("-01-01").all() and (jan1["recorded_value"] != jan1["true_value"]).all()
    year_off = dob[dob["kind"] == "dob_year_off"]
    years = year_off["recorded_value"].str[:4].astype(int) - year_off["true_value"].str[:4].astype(int)
    assert set(years.abs()) == {1}
    ni = mess[mess["kind"] == "ni_digit_typo"]
    differing = [sum(a != b for a, b in zip(t, r, strict=True)) for t, r in zip(ni["true_value"], ni["recorded_value"], strict=True)]
    assert set(differing) == {1}
    # The recorded values are in the extract files (a planted contract break may since have changed a
    # few cells of the same rows).
    statutory = mess[mess["file"].str.startswith("statutory_cases") & mess["kind"].isin(["name_order_swap", "dob_year_off"])]
    held = 0
    for file, rows in statutory.groupby("file"):
        extract = pd.read_csv(out / "extracts" / file, dtype=str, keep_default_na=False).set_index("case_id")
        held += sum(extract.at[r, c] == v for r, c, v in zip(rows["record_id"], rows["column"], rows["recorded_value"],
                                                              strict=True) if r in extract.index)
    assert held >= 0.97 * len(statutory) and len(statutory) > 100


def test_person_level_kinds_are_drawn_at_their_rates():
    rng = np.random.default_rng(5)
    n = 40_000
    people = {"last_name": rng.choice(["Smith", "Jones", "Patel", "Nowak"], n).astype(object),
              "gender": rng.choice(["female", "male"], n), "nationality": rng.choice(["uk", "eu", "non_eu"], n)}
    m = scenario_settings("realistic_identifiers").mess
    known_as, double, new, day, jan1 = identifier_errors.person_surnames(1, people, 17532, 20454, m)
    female, non_eu = people["gender"] == "female", people["nationality"] == "non_eu"
    changed = day >= 0
    # A new surname equal to the old one is not a change, so slightly under the rate.
    assert 0.9 * m.surname_change_women < changed[female].mean() < m.surname_change_women * 1.05
    assert changed[~female].mean() < 3 * m.surname_change_men
    assert (new[changed] != known_as[changed]).all() and ((day[changed] >= 17532) & (day[changed] < 20454)).all()
    assert 0.85 * m.double_barrelled_share < double.mean() < 1.1 * m.double_barrelled_share
    assert all("-" in x for x in known_as[double])
    assert _close(int(jan1[non_eu].sum()), int(non_eu.sum()), m.dob_jan1_person_non_eu) and not jan1[~non_eu].any()


def test_records_after_a_surname_change_carry_the_new_name():
    n = 20_000
    m = scenario_settings("realistic_identifiers").mess
    old = np.full(n, "Smith", dtype=object)
    new = np.full(n, "Jones", dtype=object)
    change_day = np.full(n, 100)
    record_day = np.arange(n) % 200  # half before the change, half after
    double = np.zeros(n, dtype=bool)
    last, changed, part = identifier_errors.surnames_as_recorded(1, "statutory_cases", old, new, change_day, double,
                                                                  record_day, m)
    after = record_day >= 100
    assert not changed[~after].any()
    assert _close(int(changed[after].sum()), int(after.sum()), 1 - m.surname_change_old_kept)
    assert (last[changed] == "Jones").all() and (last[~changed] == "Smith").all() and not part.any()
