"""The linkage frame of a folder of extracts, built exactly as ingest builds it (validated rows only),
and, for the synthetic county, the true person behind each row."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd

from workbench.contracts.model import load_contracts
from workbench.ingest.linkage import link_truth
from workbench.ingest.pipeline import linkage_frame, match_files, read_manifest
from workbench.ingest.validate import validate_file


def extracts_linkage_frame(extracts_dir: str | Path, extract_date: dt.date | None = None) -> pd.DataFrame:
    """Validate every extract in the folder and return the linkage frame of the accepted rows."""
    folder = Path(extracts_dir)
    manifest = read_manifest(folder)
    if extract_date is None and "extract_date" in manifest:
        extract_date = dt.date.fromisoformat(str(manifest["extract_date"]))
    contracts = load_contracts()
    matched, _ = match_files(folder, contracts, manifest)
    accepted = []
    for path, contract in matched:
        result = validate_file(path, contract, extract_date)
        if not result.refused and result.rows_accepted:
            accepted.append((contract, result.accepted))
    return linkage_frame(accepted)


def county_frame(county_dir: str | Path) -> tuple[pd.DataFrame, np.ndarray]:
    """Linkage frame of a generated county (``<county>/extracts``) and its true cluster labels."""
    county = Path(county_dir)
    frame = extracts_linkage_frame(county / "extracts")
    return frame, link_truth(frame, county / "truth")
