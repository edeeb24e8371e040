"""Studies: one module per study, one entry point ``run(store, **parameters) -> StudyResult``."""

from __future__ import annotations

import importlib
from collections.abc import Callable

from workbench.studies.base import StudyResult

#: Study name -> "module:function". A study appears here when its module lands.
STUDIES: dict[str, str] = {
    "returns": "workbench.studies.returns:run",
    "new_arrivals": "workbench.studies.new_arrivals:run",
    "supported_housing": "workbench.studies.supported_housing:run",
    "system_performance": "workbench.studies.system_performance:run",
}


def available() -> list[str]:
    """Studies whose module is installed."""
    out = []
    for name, target in STUDIES.items():
        try:
            importlib.import_module(target.split(":")[0])
        except ModuleNotFoundError:
            continue
        out.append(name)
    return out


def entry_point(name: str) -> Callable[..., StudyResult]:
    if name not in STUDIES:
        raise KeyError(f"No study called {name!r}; there are: {', '.join(STUDIES)}.")
    module, func = STUDIES[name].split(":")
    return getattr(importlib.import_module(module), func)


__all__ = ["STUDIES", "StudyResult", "available", "entry_point"]
