"""Data-quality scorecard: completeness, duplicates, stale open episodes by hand; quarantine and
planted duplicates on the county."""

from __future__ import annotations

import pandas as pd
import pytest

from workbench.definitions import COUNTY
from workbench.measures.data_quality import (
    completeness,
    duplicates,
    quarantine_rates,
    scorecard,
    stale_open_episodes,
)
from workbench.measures.sources import SourceTables


def _sources() -> SourceTables:
    sc = pd.DataFrame({
        "person_id": ["a", "b", "c", "d", "d"],
        "district": ["cherwell"] * 5,
        "approach_date": ["2021-01-04", "2021-01-04", "2021-01-04", "2021-02-01", "2021-02-01"],
        # d's case is recorded twice (same person, district and date): one duplicate
        "ethnicity": ["white", None, "not_known", "black", "black"],
        "prevention_duty_start": [None, None, "2021-01-05", "2021-02-02", "2021-02-02"],
        "prevention_duty_end": [None, None, None, "2021-03-01", None],
        "prevention_duty_end_reason": [None, None, None, "homeless", None],
    })
    sa = pd.DataFrame({"person_id": ["e", "f"], "district": ["cherwell"] * 2, "model": ["shared_house"] * 2,
                       "start_date": ["2018-06-01", "2021-05-01"], "end_date": [None, None]})
    return SourceTables.from_frames("2021-06-30", statutory_cases=sc, supported_accommodation=sa)


def test_scorecard_by_hand():
    src = _sources()
    # the duplicate kept is the more complete record (the one with the end date)
    assert src["statutory_cases"].loc[src["statutory_cases"]["person_id"] == "d", "prevention_duty_end"].notna().all()
    c = completeness(src).set_index(["source", "district", "measure"])
    # ethnicity after removing the duplicate: white, blank, not known, black: 2 of 4 filled in
    assert c.loc[("statutory_cases", "cherwell", "completeness:ethnicity"), ["numerator", "denominator"]].tolist() == [2, 4]
    d = duplicates(src).set_index(["source", "district"])
    assert d.loc[("statutory_cases", COUNTY), ["numerator", "denominator"]].tolist() == [1, 5]
    s = stale_open_episodes(src).set_index(["measure", "district"])
    # open prevention duties: c only (5 Jan -> 30 Jun = 176 days > 120): 1 of 1 stale
    assert s.loc[("stale_open:prevention_duty", "cherwell"), ["numerator", "denominator"]].tolist() == [1, 1]
    # open stays: e (since June 2018, > 730 days) and f (since May 2021): 1 of 2
    assert s.loc[("stale_open:supported_accommodation", "cherwell"), ["numerator", "denominator"]].tolist() == [1, 2]
    assert quarantine_rates(src).empty  # no store, no ingest record
    assert set(scorecard(src)["measure"]) >= {"duplicates", "completeness:ethnicity", "recent_share"}


def test_county_quarantine_and_duplicates(county_sources, county_store, synthetic_county):
    q = quarantine_rates(county_sources).set_index(["source", "district"])
    ing = county_store.table("ingests")
    sc = ing[ing["source"] == "statutory_cases"]
    assert q.loc[("statutory_cases", COUNTY), "numerator"] == sc["rows_quarantined"].sum()
    assert q.loc[("statutory_cases", COUNTY), "denominator"] == sc["rows_read"].sum()
    cher = sc[sc["file"].str.contains("cherwell")]
    assert q.loc[("statutory_cases", "cherwell"), "numerator"] == cher["rows_quarantined"].sum()
    # duplicates found against the duplicates the generator planted (true record linkage)
    truth = pd.read_parquet(synthetic_county / "truth" / "record_persons.parquet")
    planted = truth[(truth["source"] == "statutory_cases") & truth["is_duplicate"] & ~truth["planted_error"].astype(bool)]
    found = duplicates(county_sources).set_index(["source", "district"]).loc[("statutory_cases", COUNTY), "numerator"]
    assert found == pytest.approx(len(planted), rel=0.05)
