"""Linkage sensitivity for every study: its headline figures under the store's alternative linkages.

The ingest keeps, beside the chosen linkage, each record's person id at neighbouring thresholds
(``sensitivity_thresholds`` in the linkage settings) and under the deterministic rules
(``linkage_alternatives``). :func:`linkage_sensitivity` re-runs a study on the same snapshot read
as if people had been linked each way (``Store(linkage=...)``) and reports how far its headline
figures move: a table and one finding per headline. Each study names its headline figures in
``HEADLINE_FIGURES`` (a dotted path into its ``estimates`` and what it is, in words).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

import pandas as pd

#: How a headline is written: a share as a percentage, a ratio or difference to two places, a count.
FORMATS: dict[str, Callable[[float], str]] = {
    "share": lambda v: f"{v:.1%}",
    "difference": lambda v: f"{v * 100:+.1f} points",
    "ratio": lambda v: f"{v:.2f}",
    "count": lambda v: f"{v:,.0f}",
    "days": lambda v: f"{v:.0f} days",
}


def figure(estimates: Mapping[str, Any], path: str) -> float | None:
    """The number at ``path`` ("a.b.c") in a study's estimates; an ``[estimate, lower, upper]`` gives
    its estimate; None when the study could not compute it."""
    value: Any = estimates
    for part in path.split("."):
        if not isinstance(value, Mapping):
            return None
        value = value.get(part, value.get(int(part)) if part.isdigit() else None)
    if isinstance(value, list | tuple) and value:
        value = value[0]
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    return float(value)


def linkage_sensitivity(run: Callable[..., Any], store, result, headlines: Mapping[str, tuple[str, str]],
                        parameters: Mapping[str, Any]) -> tuple[pd.DataFrame, list[str]]:
    """Each headline under the chosen linkage and every alternative the snapshot holds, and one
    finding per headline with the range. ``headlines``: path -> (words, format name)."""
    from workbench.store import Store

    chosen = store.meta().get("linkage", "chosen")
    runs = {f"{chosen} (chosen)": result.estimates}
    for alternative in store.alternatives():
        other = Store(store.data_dir, as_of=store.ingest_id, linkage=alternative)
        runs[alternative] = run(other, **parameters).estimates
    rows = [{"figure": path, "what": words, "linkage": name, "value": figure(estimates, path)}
            for path, (words, _) in headlines.items() for name, estimates in runs.items()]
    table = pd.DataFrame(rows, columns=["figure", "what", "linkage", "value"])
    findings = []
    for path, (words, kind) in headlines.items():
        values = table[(table["figure"] == path) & table["value"].notna()]
        if len(values) < 2:
            continue
        show = FORMATS[kind]
        main = values.iloc[0]["value"]
        others = "; ".join(f"{r.linkage}: {show(r.value)}" for r in values.iloc[1:].itertuples())
        findings.append(
            f"Linkage sensitivity: {words} is {show(main)} with the linkage used ({chosen}); linked other ways it is "
            f"{others} (range {show(values['value'].min())} to {show(values['value'].max())}). A change smaller "
            "than this range cannot be told apart from a change in how people were linked.")
    return table, findings
