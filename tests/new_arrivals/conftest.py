"""Shared, once-per-session pieces of the new-arrivals study on the synthetic county."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from workbench.cohorts import rough_sleeping as rs
from workbench.studies.new_arrivals import run
from workbench.studies.new_arrivals.study import SOURCES


@pytest.fixture(scope="session")
def county_tables(county_store) -> dict[str, pd.DataFrame]:
    return {source: county_store.table(source) for source in SOURCES}


@pytest.fixture(scope="session")
def county_result(county_store):
    """The study with its defaults on the county (true linkage)."""
    return run(county_store)


@pytest.fixture(scope="session")
def county_period(county_result) -> tuple[dt.date, dt.date]:
    p = county_result.parameters
    return dt.date.fromisoformat(p["period_start"]), dt.date.fromisoformat(p["period_end"])


@pytest.fixture(scope="session")
def county_paths(county_tables, county_period) -> pd.DataFrame:
    """One row per new arrival in the default period, with their earlier contacts and route."""
    start, end = county_period
    arrivals = rs.new_arrivals(county_tables["outreach_contacts"], period_start=start, period_end=end)
    return rs.arrival_paths(arrivals, rs.earlier_contacts(arrivals, county_tables))
