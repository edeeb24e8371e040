"""What disclosure control returns: a :class:`ProtectedTable` (display values, numeric copy for
charts, masks, footnote, exports) or a :class:`ProtectedValue` (one headline figure), and the error
the audit raises."""

from __future__ import annotations

import csv
from collections.abc import Hashable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from workbench.reporting.policy import DisclosurePolicy
from workbench.spreadsheets import write_csv, write_excel

# --------------------------------------------------------------------------------------------
# Result types
# --------------------------------------------------------------------------------------------


class DisclosureRiskError(ValueError):
    """Raised by :func:`assert_safe`; ``risks`` lists what was found."""

    def __init__(self, risks: pd.DataFrame) -> None:
        self.risks = risks
        lines = [
            f"{r.kind} at ({r.row!r}, {r.column!r}) in {r.part!r}: {r.detail}"
            for r in risks.head(20).itertuples()
        ]
        more = f"\n... and {len(risks) - 20} more" if len(risks) > 20 else ""
        super().__init__(f"{len(risks)} disclosure risk(s):\n" + "\n".join(lines) + more)


@dataclass(frozen=True)
class _Part:
    """One additive table kept for audits: true values of shown cells, NaN where hidden."""

    name: str
    frame: pd.DataFrame
    total_row: Hashable | None  # label of the margin row holding column sums
    total_col: Hashable | None  # label of the margin column holding row sums
    implied: np.ndarray | None = None  # zeros not published as cells (absent rows of a long table)


@dataclass(frozen=True)
class _AuditInfo:
    parts: tuple[_Part, ...] = ()
    count_columns: tuple[Hashable, ...] = ()
    rates: tuple[tuple[Hashable, Hashable, Hashable], ...] = ()  # (rate, count, denominator)
    summary: bool = False
    #: counts perturbed by the cell key method (the parts then hold every true value)
    perturbed: bool = False


@dataclass(frozen=True)
class ProtectedTable:
    """A table that has passed disclosure control.

    ``values`` is for display (numbers, or the marker where hidden); ``numeric`` is for charts
    (floats, NaN where hidden); ``mask`` is True where hidden and ``primary_mask`` where hidden by
    a primary rule (small count, small denominator, small group). Write exports with
    :meth:`to_csv` / :meth:`to_excel`, which always include the footnote.
    """

    values: pd.DataFrame
    numeric: pd.DataFrame
    mask: pd.DataFrame
    primary_mask: pd.DataFrame
    footnote: str
    policy: DisclosurePolicy
    _audit: _AuditInfo = field(default_factory=_AuditInfo, repr=False)
    _index_in_exports: bool = True
    #: Where each figure comes from, for audits across many tables (the dashboards' site-wide
    #: audit): an object frame like ``values`` holding, for a count, the ids of the underlying
    #: cells it sums; for a rate worked out from true counts, ``(numerator ids, denominator ids,
    #: per)``; None where unknown. Never exported.
    sources: pd.DataFrame | None = field(default=None, repr=False, compare=False)

    @property
    def secondary_mask(self) -> pd.DataFrame:
        return self.mask & ~self.primary_mask

    def to_csv(self, path: str | Path) -> Path:
        """Write the protected table, then a blank line and the footnote."""
        path = Path(path)
        with path.open("w", newline="", encoding="utf-8") as fh:
            write_csv(self.values, fh, index=self._index_in_exports)
            writer = csv.writer(fh)
            writer.writerow([])
            writer.writerow([f"Note: {self.footnote}"])
        return path

    def to_excel(self, path: str | Path, sheet_name: str = "Table") -> Path:
        """Write the protected table with the footnote two rows below it."""
        path = Path(path)
        with pd.ExcelWriter(path, engine="openpyxl") as writer:
            write_excel(self.values, writer, sheet_name=sheet_name, index=self._index_in_exports)
            note_row = len(self.values) + self.values.columns.nlevels + 1
            pd.DataFrame({"Note": [self.footnote]}).to_excel(
                writer, sheet_name=sheet_name, startrow=note_row, index=False
            )
        return path


@dataclass(frozen=True)
class ProtectedValue:
    """A single protected figure (e.g. a headline tile on a dashboard)."""

    value: float | None  # None where hidden
    display: float | str
    suppressed: bool
    reason: str | None
    footnote: str


def _as_display(
    numbers: pd.DataFrame, mask: pd.DataFrame, marker: str, int_cols: Iterable[Hashable]
) -> pd.DataFrame:
    """Object frame for display: whole numbers as int (no trailing .0), the marker where hidden."""
    shown = numbers.astype(object)
    for col in int_cols:
        shown[col] = pd.Series(
            [x if pd.isna(x) else int(x) for x in numbers[col]], index=numbers.index, dtype=object
        )
    return shown.mask(mask, marker)

