"""Fixtures of the reporting tests: the synthetic county with canary identifiers planted."""

from __future__ import annotations

import pandas as pd
import pytest
from canaries import CANARIES
from shared_fixtures import built_once

from workbench.store import Store


def _plant_canaries(folder) -> None:
    for path in sorted(folder.glob("*.csv")):
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
        first = next((c for c in ("given_name", "first_name") if c in frame), None)
        if first is None:
            continue
        last = "family_name" if "family_name" in frame else "last_name"
        rows = frame.index[:3]
        frame.loc[rows, first], frame.loc[rows, last] = CANARIES[0], CANARIES[1]
        for col, value in (("ni_number", CANARIES[2]), ("client_ref", CANARIES[3])):
            if col in frame:
                frame.loc[rows, col] = value
        frame.to_csv(path, index=False)


#: The canary county is smaller than the scale-1 county the studies are tested on: these tests are
#: about what leaves in reports and exports (small counts, canaries, provenance), and a smaller
#: county has MORE small cells to protect, at a third of the time to ingest and run four studies.
CANARY_SCALE = 0.4


@pytest.fixture(scope="session")
def canary_store(tmp_path_factory):
    """A synthetic county with canary identifiers planted in three rows of every extract, ingested
    with the true linkage; built once per run and shared by the workers (tests only read it)."""
    from workbench.ingest.pipeline import ingest_folder
    from workbench.synthetic import DEFAULT_SEED, generate_county
    from workbench.synthetic.evaluation import TruthLinker

    def build(county):
        generate_county(county / "county", seed=DEFAULT_SEED, scale=CANARY_SCALE, progress=False)
        _plant_canaries(county / "county" / "extracts")
        ingest_folder(county / "county" / "extracts", county / "data",
                      linkage=TruthLinker(county / "county" / "truth"), progress=False)

    return Store(built_once(tmp_path_factory, "canary-county", build) / "data")
