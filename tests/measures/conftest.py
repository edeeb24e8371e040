"""Shared fixtures for the measure tests: the synthetic county read once, and its planted truth."""

from __future__ import annotations

import pytest
import yaml


@pytest.fixture(scope="session")
def county_sources(county_store):
    """The county's source tables, typed and de-duplicated once for every measure test."""
    from workbench.measures.sources import SourceTables

    return SourceTables.from_store(county_store)


@pytest.fixture(scope="session")
def planted(synthetic_county):
    """truth/planted_effects.yaml of the synthetic county (the answer sheet)."""
    return yaml.safe_load((synthetic_county / "truth" / "planted_effects.yaml").read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def county_result(county_sources):
    """The system performance study run once on the county."""
    from workbench.studies.system_performance import run

    return run(county_sources)
