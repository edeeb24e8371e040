"""What every study returns: one result object with tables, figures, plain-English findings and
the definitions used, exportable in one call.

Each study is one module in ``workbench.studies`` with one entry point ``run(store, **parameters)``
returning a :class:`StudyResult`. The ``workbench study NAME`` command and the notebooks call it.
A study's exports are research outputs (unsuppressed, for analysts working under the data sharing
agreement). Everything shown to commissioners goes through the dashboards, whose tables and
downloads all pass disclosure control (:mod:`workbench.reporting`); to share a study table more widely,
pass it through ``protect_counts`` / ``protect_long`` first.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from workbench.spreadsheets import write_csv, write_excel


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

    def summary(self) -> str:
        lines = [f"# {self.study}", "", "Parameters: " + ", ".join(f"{k}={v}" for k, v in self.parameters.items()), ""]
        lines += ["## Findings", ""] + [f"- {f}" for f in self.findings]
        lines += ["", "## Definitions", ""] + [f"- {d}" for d in self.definitions]
        return "\n".join(lines)

    def export(self, folder: str | Path, *, excel: bool = True) -> Path:
        """Write every table (CSV, and one Excel workbook), every figure (PNG and SVG) and the summary."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        for name, table in self.tables.items():
            write_csv(table, folder / f"{name}.csv", index=False)
        if excel and self.tables:
            with pd.ExcelWriter(folder / f"{self.study}_tables.xlsx") as xl:
                for name, table in self.tables.items():
                    write_excel(table, xl, sheet_name=name[:31], index=False)
        for name, fig in self.figures.items():
            fig.savefig(folder / f"{name}.png", dpi=150, bbox_inches="tight")
            fig.savefig(folder / f"{name}.svg", bbox_inches="tight")
        (folder / "summary.md").write_text(self.summary() + "\n", encoding="utf-8")
        (folder / "run.json").write_text(json.dumps(
            {"study": self.study, "parameters": self.parameters, "run_at": self.run_at,
             "estimates": self.estimates}, indent=2, default=str) + "\n", encoding="utf-8")
        return folder
