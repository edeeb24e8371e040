"""The registry of definitions: the one place every module reads a definition from.

Two sources, both shipped with the package:

- ``workbench/definitions.yaml`` - windows, grace periods, lookbacks, thresholds, code sets, the
  disclosure policy and the list of sources (:func:`definitions` returns it as a dict);
- the data contracts (``workbench/data_contracts/``) - districts and every other category list,
  each source's record id and main date.

Published figures used as denominators (district populations) are read from the reference tables
in ``workbench/reference/`` (:func:`district_population`), each with its source table and date.

A module never writes a district, a source name or a code list of its own
(``tests/test_registry.py`` fails if one does); it asks here.
"""

from __future__ import annotations

import copy
import csv
import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from workbench.contracts.model import load_contracts

DEFINITIONS_FILE = Path(str(resources.files("workbench") / "definitions.yaml"))
REFERENCE_DIR = Path(str(resources.files("workbench") / "reference"))


@lru_cache(maxsize=4)
def _load(path: str) -> dict[str, Any]:
    return yaml.safe_load(Path(path).read_text(encoding="utf-8"))


def definitions(path: str | Path | None = None) -> dict[str, Any]:
    """The definitions as a (fresh) dict; pass ``path`` to use another file."""
    return copy.deepcopy(_load(str(path or DEFINITIONS_FILE)))


def definition(*keys: str) -> Any:
    """One definition by its path in ``definitions.yaml``, e.g. ``definition("returns",
    "grace_days")``. A missing key is an error naming the path, never a silent default."""
    value: Any = _load(str(DEFINITIONS_FILE))
    for i, key in enumerate(keys):
        if not isinstance(value, dict) or key not in value:
            raise KeyError(f"definitions.yaml has no {'.'.join(keys[: i + 1])}")
        value = value[key]
    return copy.deepcopy(value)


def content_hash(path: str | Path | None = None) -> str:
    """SHA-256 of the definitions' content (parsed, without ``version``; comments don't count), so
    two runs can be shown to use the same definitions."""
    content = definitions(path)
    content.pop("version", None)
    return hashlib.sha256(json.dumps(content, sort_keys=True, default=str).encode()).hexdigest()


def version() -> str:
    """The version of ``definitions.yaml`` (see ``docs/definitions_changelog.md``)."""
    return str(definition("version"))


def history_start() -> dt.date:
    value = definition("history_start")
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))


# ------------------------------------------------------------------------------ from the contracts
def codes(vocabulary: str) -> tuple[str, ...]:
    """The codes of a contract vocabulary, in the contracts' order."""
    return tuple(load_contracts().codes(vocabulary))


def label(vocabulary: str, code: str) -> str:
    """Plain-English label of a code (the code itself when the vocabulary does not hold it)."""
    return load_contracts().vocabularies[vocabulary].label(code)


#: The five housing authorities, in the contracts' vocabulary order.
DISTRICTS: tuple[str, ...] = codes("district")
#: The person-level extracts ingested into the store, in reporting order (definitions.yaml).
SOURCES: tuple[str, ...] = tuple(definition("sources"))
#: The label of the county total in tables beside the districts.
COUNTY = "Oxfordshire"


def district_label(code: str) -> str:
    """Plain-English name of a district code (the county label is returned as is)."""
    return label("district_or_outside", code)


def record_id(source: str) -> str:
    """The column that identifies a record of ``source`` (its contract's ``record_id``)."""
    return load_contracts()[source].record_id


def event_date(source: str) -> str:
    """The main date of a record of ``source`` (its contract's ``event_date``)."""
    return load_contracts()[source].event_date


def outcome_codes(name: str) -> tuple[str, ...]:
    """A code set of duty end reasons that count as an outcome, e.g. ``"prevention_success"``."""
    return tuple(definition("statutory_outcomes", name))


# ------------------------------------------------------------------------------ disclosure policy
@dataclass(frozen=True)
class DisclosureDefinition:
    """The partnership's disclosure rule (``definitions.yaml`` ``disclosure``)."""

    threshold: int
    min_group_for_summary: int


def disclosure_definition() -> DisclosureDefinition:
    cfg = definition("disclosure")
    return DisclosureDefinition(threshold=int(cfg["threshold"]),
                                min_group_for_summary=int(cfg["min_group_for_summary"]))


# ------------------------------------------------------------------------------- published figures
def district_households() -> pd.DataFrame:
    """Households by district, Census 2021 (``workbench/reference/census2021_households.csv``: the
    count, its rounding, whether it was checked against the ONS table, and its source)."""
    table = pd.read_csv(REFERENCE_DIR / "census2021_households.csv")
    if set(table["district"]) != set(DISTRICTS):
        raise ValueError(f"census2021_households.csv covers {sorted(table['district'])}, not {list(DISTRICTS)}")
    return table


@lru_cache(maxsize=1)
def district_population() -> dict[str, int]:
    """Usual residents by district, Census 2021 (ONS P01; ``workbench/reference/README.md``)."""
    with (REFERENCE_DIR / "census2021_population.csv").open(encoding="utf-8") as f:
        table = {row["district"]: int(row["usual_residents"]) for row in csv.DictReader(f)}
    if set(table) != set(DISTRICTS):
        raise ValueError(f"census2021_population.csv covers {sorted(table)}, not the districts {list(DISTRICTS)}")
    return {d: table[d] for d in DISTRICTS}
