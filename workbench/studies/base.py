"""What every study returns: one result object with tables, figures, plain-English findings and
the definitions used, exportable in one call.

Each study is one module in ``workbench.studies`` with one entry point ``run(store, **parameters)``
returning a :class:`StudyResult` that carries its provenance (:mod:`workbench.studies.provenance`).
The ``workbench study NAME`` command and the notebooks call it.

A result is written to files by :func:`workbench.reporting.export`, never by this layer: the default
export is *shareable* (every table through disclosure control), the research export
(``kind="research"``) is unsuppressed and labelled not for sharing. Disclosure control sits above
the studies (``lint-imports``), so the writing does too.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd


@dataclass
class StudyResult:
    """The outcome of one run of a study."""

    study: str
    parameters: dict[str, Any]
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    figures: dict[str, Any] = field(default_factory=dict)  # name -> matplotlib Figure
    findings: list[str] = field(default_factory=list)  # plain-English sentences, with uncertainty
    definitions: list[str] = field(default_factory=list)  # every definition used, in words
    estimates: dict[str, Any] = field(default_factory=dict)  # headline numbers for tests and checks
    run_at: str = field(default_factory=lambda: dt.datetime.now(dt.UTC).isoformat(timespec="seconds"))
    #: which data, definitions, code, parameters and seeds produced it (filled by the study's run)
    provenance: dict[str, Any] = field(default_factory=dict)

    def summary(self) -> str:
        lines = [f"# {self.study}", "", "Parameters: " + ", ".join(f"{k}={v}" for k, v in self.parameters.items()), ""]
        lines += ["## Findings", ""] + [f"- {f}" for f in self.findings]
        lines += ["", "## Definitions", ""] + [f"- {d}" for d in self.definitions]
        return "\n".join(lines)

    def export(self, folder: str | Path, **kwargs: Any) -> Path:
        """Not here: exports go through disclosure control, which sits above the studies."""
        raise NotImplementedError(
            "Write a study's files with workbench.reporting.export(result, folder): shareable by default "
            "(every table through disclosure control), or kind='research' for the unsuppressed export "
            "that must not leave the secure environment.")


def model_size(frame: pd.DataFrame, covariates: list[str], event: pd.Series | None = None) -> dict[str, int]:
    """The counts behind a regression that output checking asks for: observations, events, the
    number of parameters, and the smallest cell behind it (each level of every binary covariate,
    with and without the event). Recorded in ``estimates["model_sizes"]``; nothing is estimated."""
    ev = pd.Series(1, index=frame.index) if event is None else event.reindex(frame.index).fillna(0).astype(int)
    cells = []
    for c in covariates:
        x = frame[c]
        if x.dropna().isin([0, 1]).all():
            for level in (0, 1):
                at = x == level
                cells += [int((at & (ev == 1)).sum())] + ([int((at & (ev == 0)).sum())] if event is not None else [])
    return {"n": len(frame), "events": int(ev.sum()), "parameters": len(covariates),
            "min_cell": min(cells) if cells else len(frame)}
