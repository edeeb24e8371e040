"""One synthetic county per test session (scale 1, default seed), shared by the synthetic tests."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest
import yaml

from workbench.contracts import load_contracts
from workbench.synthetic import DEFAULT_SEED, generate_county


@dataclass
class County:
    root: Path
    extracts: Path
    truth: Path
    counts: dict[str, int]
    extract_date: str

    def read(self, file: str) -> pd.DataFrame:
        return pd.read_csv(self.extracts / file, dtype=str, keep_default_na=False)

    def files(self) -> list[tuple[str, str]]:
        manifest = yaml.safe_load((self.extracts / "extract.yaml").read_text())
        return [(f["path"], f["source"]) for f in manifest["files"]]

    def source(self, source: str) -> pd.DataFrame:
        frames = [self.read(f).assign(_file=f) for f, s in self.files() if s == source]
        return pd.concat(frames, ignore_index=True)

    def effects(self) -> dict:
        return yaml.safe_load((self.truth / "planted_effects.yaml").read_text())

    def truth_csv(self, name: str) -> pd.DataFrame:
        return pd.read_csv(self.truth / name, keep_default_na=False)


@pytest.fixture(scope="session")
def county(tmp_path_factory) -> County:
    root = tmp_path_factory.mktemp("synthetic_county")
    result = generate_county(root, seed=DEFAULT_SEED, scale=1.0)
    return County(root, result.extracts_dir, result.truth_dir, result.counts, "2026-09-30")


@pytest.fixture(scope="session")
def contracts():
    return load_contracts()
