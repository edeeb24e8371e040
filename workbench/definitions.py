"""Load ``workbench/definitions.yaml``: the windows, thresholds and category maps, kept as data."""

from __future__ import annotations

import datetime as dt
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

DEFINITIONS_FILE = Path(__file__).with_name("definitions.yaml")


@lru_cache(maxsize=4)
def _load(path: str) -> dict[str, Any]:
    return yaml.safe_load(Path(path).read_text(encoding="utf-8"))


def definitions(path: str | Path | None = None) -> dict[str, Any]:
    """The definitions as a (fresh) dict; pass ``path`` to use another file."""
    import copy

    return copy.deepcopy(_load(str(path or DEFINITIONS_FILE)))


def history_start() -> dt.date:
    value = definitions()["history_start"]
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))
