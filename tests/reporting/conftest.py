"""Fixtures of the reporting tests: the synthetic county with canary identifiers planted."""

from __future__ import annotations

import shutil

import pandas as pd
import pytest
from canaries import CANARIES

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


@pytest.fixture(scope="session")
def canary_store(synthetic_county, tmp_path_factory):
    from workbench.ingest.pipeline import ingest_folder
    from workbench.synthetic.evaluation import TruthLinker

    county = tmp_path_factory.mktemp("canary_county")
    shutil.copytree(synthetic_county / "extracts", county / "extracts")
    _plant_canaries(county / "extracts")
    data = county / "data"
    ingest_folder(county / "extracts", data, linkage=TruthLinker(synthetic_county / "truth"), progress=False)
    return Store(data)
