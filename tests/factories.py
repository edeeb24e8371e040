"""Valid extract rows made from the contracts themselves, for tests that corrupt them."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd

from workbench.contracts.model import Contract

EXTRACT_DATE = dt.date(2026, 9, 30)
_PREFIX = {"assessment_id": "CR-", "case_id": "OXC-", "contact_id": "OR-", "episode_id": "SA-", "tenancy_id": "TN-",
           "discharge_id": "DC-", "death_id": "DT-"}
_FIRST = ["Alex", "Sam", "Jo", "Chris", "Pat", "Robin", "Kim", "Lee"]
_LAST = ["Smith", "Jones", "Taylor", "Brown", "Williams", "Wilson", "Davies", "Evans"]


def valid_frame(contract: Contract, n: int = 20, seed: int = 0) -> pd.DataFrame:
    """``n`` rows of text that satisfy every rule of ``contract`` (dates ordered, ids unique)."""
    rng = np.random.default_rng(seed)
    cols: dict[str, list] = {}
    base = pd.Timestamp("2021-01-01") + pd.to_timedelta(rng.integers(0, 900, n), unit="D")
    for f in contract.fields:
        if f.name == contract.record_id:
            cols[f.name] = [f"{_PREFIX[f.name]}{i:06d}" for i in range(1, n + 1)]
        elif f.type == "date":
            if f.name == "date_of_birth":
                vals = pd.Timestamp("1960-01-01") + pd.to_timedelta(rng.integers(0, 12000, n), unit="D")
            elif f.name.endswith("_end") or f.name == "end_date":
                vals = base + pd.Timedelta(days=60)
            elif f.name.endswith("_start") or f.name == "main_duty_decision_date":
                vals = base + pd.Timedelta(days=5)
            elif f.name == "assessment_date":
                vals = pd.Timestamp("2025-01-01") + pd.to_timedelta(rng.integers(0, 500, n), unit="D")
            elif f.name == "admission_date":
                vals = base - pd.Timedelta(days=30)
            else:
                vals = base
            cols[f.name] = [d.strftime("%Y-%m-%d") for d in vals]
        elif f.type == "integer":
            cols[f.name] = [str(v) for v in rng.integers(int(f.min or 18), int(f.max or 80), n)]
        elif f.type == "boolean":
            cols[f.name] = list(rng.choice(["yes", "no"], n))
        elif f.type == "category":
            cols[f.name] = list(rng.choice(list(f.allowed), n))
        elif f.type == "category_list":
            cols[f.name] = [";".join(sorted(set(rng.choice(list(f.allowed), 2)))) for _ in range(n)]
        elif f.name == "resident_ref":
            cols[f.name] = [f"RES-{v:04d}" for v in range(n)]
        elif f.name == "client_ref":
            cols[f.name] = [f"OC-{v:06d}" for v in rng.integers(10001, 10100, n)]
        elif f.name == "ni_number":
            cols[f.name] = [f"AB{v:06d}C" for v in rng.integers(0, 999999, n)]
        elif f.identifier == "name":
            cols[f.name] = list(rng.choice(_FIRST if "first" in f.name or "given" in f.name else _LAST, n))
        else:
            cols[f.name] = [f"Service {v}" for v in rng.integers(1, 9, n)]
    return pd.DataFrame(cols)[contract.field_names]


def write_csv(frame: pd.DataFrame, path: Path) -> Path:
    frame.to_csv(path, index=False)
    return path


def write_extract_folder(folder: Path, contracts, n: int = 20, synthetic: bool = True) -> Path:
    """A folder with one valid file per source and an extract.yaml manifest."""
    folder.mkdir(parents=True, exist_ok=True)
    for i, c in enumerate(contracts):
        write_csv(valid_frame(c, n, seed=i), folder / f"{c.name}.csv")
    (folder / "extract.yaml").write_text(
        f"extract_date: {EXTRACT_DATE.isoformat()}\nsynthetic: {str(synthetic).lower()}\n")
    return folder
