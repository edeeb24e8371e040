"""The study on tiny hand-made tables: every output is made, even with nobody or nobody who presented."""

from __future__ import annotations

import datetime as dt
import warnings

import pytest
from new_arrivals_frames import case, discharge, outreach, tables

from workbench.reporting import export
from workbench.studies.new_arrivals import run
from workbench.studies.new_arrivals.figures import flow_outcome
from workbench.studies.new_arrivals.study import default_period_start

EXTRACT = dt.date(2024, 12, 31)


@pytest.fixture(autouse=True)
def _no_warnings():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        yield


def test_nobody_seen():
    r = run(tables=tables(outreach([("A", "OR-1", "2023-06-01", "oxford_city", False)])), extract_date=EXTRACT)
    assert r.estimates["arrivals"] == 0 and r.tables["routes"].empty


def test_nobody_presented():
    t = tables(outreach([("A", "OR-1", "2023-06-01", "oxford_city", True),
                         ("B", "OR-2", "2023-07-01", "cherwell", True)]))
    r = run(tables=t, extract_date=EXTRACT, linkage_precision=0.9, linkage_recall=0.9)
    share, lo, hi = r.estimates["presented_share"]["any"]
    assert share == 0 and lo == 0 and 0.6 < hi < 0.7  # Wilson for 0 of 2
    assert r.estimates["linkage_bounds"]["upper_bound"] == 0  # no links found: nothing to have missed


def test_one_of_two_presented(tmp_path):
    t = tables(outreach([("A", "OR-1", "2023-06-01", "oxford_city", True),
                         ("B", "OR-2", "2023-07-01", "cherwell", True)]),
               cases=[case("A", "CHE-1", "cherwell", "2023-03-01", relief=("2023-03-02", "2023-04-26", "contact_lost"))],
               discharges=[discharge("B", "DC-1", "2022-01-01")])  # 18 months before: presented, not recently
    r = run(tables=t, extract_date=EXTRACT)
    assert r.estimates["presented_share"]["any"][0] == 1.0
    assert r.estimates["presented_share"]["85d"][0] == 0.5
    assert r.estimates["presented_share"]["12m"][0] == 0.5
    routes = r.tables["routes"].set_index("route")
    assert routes.loc["duty_ended_contact_lost_or_56_days", "people"] == 1
    assert routes.loc["institution_discharge_earlier", "people"] == 1
    assert r.tables["presented_other_district"].loc[0, "in_another_district"] == 1
    assert "nan" not in " ".join(r.findings)
    assert (export(r, tmp_path / "out", excel=False) / "summary.md").exists()  # shareable: everything tiny is hidden


def test_period_bounds():
    t = tables(outreach([("A", "OR-1", "2019-06-01", "oxford_city", True),
                         ("B", "OR-2", "2023-07-01", "cherwell", True)]))
    assert run(tables=t, extract_date=EXTRACT).estimates["arrivals"] == 1  # default starts 2020-04-03
    r = run(tables=t, extract_date=EXTRACT, period_start="2019-01-01", period_end="2022-12-31")
    assert r.estimates["arrivals"] == 1
    # An arrival whose contact lookback begins before the statutory data is left out of the shares.
    assert r.estimates["arrivals_with_full_contact_history"] == 0
    assert r.tables["presented_share"].loc[0, "arrivals_left_out_short_history"] == 1


def test_default_period_start():
    assert default_period_start(24, dt.date(2018, 4, 3), EXTRACT) == dt.date(2020, 4, 3)
    assert default_period_start(24, dt.date(2018, 4, 3), dt.date(2019, 1, 1)) == dt.date(2018, 4, 3)


def test_flow_outcome_groups():
    assert flow_outcome(None, None) == "No earlier contact"
    assert flow_outcome("statutory_cases", "refused_final_offer") == "Refused an offer"
    assert flow_outcome("institutional_discharges", "rough_sleeping") == "Released with no fixed abode"
    assert flow_outcome("supported_accommodation", "open_at_arrival") == "Still open at arrival"
