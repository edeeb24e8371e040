"""Studies: one module per study, one entry point ``run(store, **parameters) -> StudyResult``."""

from __future__ import annotations

import functools
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
    """The study's ``run``, whose findings start with the store's caveats (a source carried forward
    from an earlier quarter, an earlier snapshot read with ``as_of``): they qualify every finding.
    With ``linkage_sensitivity=True`` the study also runs under each alternative linkage the store
    holds and reports how its ``HEADLINE_FIGURES`` move (``workbench.studies.linkage_sensitivity``)."""
    if name not in STUDIES:
        raise KeyError(f"No study called {name!r}; there are: {', '.join(STUDIES)}.")
    module, func = STUDIES[name].split(":")
    run = getattr(importlib.import_module(module), func)

    @functools.wraps(run)
    def with_caveats(store=None, *args, linkage_sensitivity: bool = False, **parameters) -> StudyResult:
        result = run(store, *args, **parameters)
        caveats = store.caveats() if hasattr(store, "caveats") else []
        result.findings = [*caveats, *result.findings]
        headlines = getattr(importlib.import_module(module), "HEADLINE_FIGURES", {})
        if linkage_sensitivity and headlines and hasattr(store, "alternatives") and store.alternatives() and not args:
            from workbench.studies.linkage_sensitivity import linkage_sensitivity as sensitivity

            table, findings = sensitivity(run, store, result, headlines, parameters)
            result.tables["linkage_sensitivity_headlines"] = table
            result.findings += findings
        return result

    return with_caveats


__all__ = ["STUDIES", "StudyResult", "available", "entry_point"]
