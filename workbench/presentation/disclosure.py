"""Statistical disclosure control for every table, chart and export the workbench publishes.

Every number a commissioner sees on a dashboard or in a CSV/Excel export goes through this module.
The rules follow common UK practice (see ``docs/assumptions/disclosure_control.md`` and
``/work/shared/reference/definitions.md``):

* **Primary suppression** - counts from 1 to ``threshold - 1`` are hidden (zeros too, if
  ``suppress_zeros``); margins ("Total" rows/columns) are counts like any other.
* **Secondary suppression** - more cells are hidden until no hidden cell can be worked out exactly
  from the cells and totals that are shown, and (``interval_protection``) until the shown totals
  no longer prove that a hidden small count is below the threshold.
* **Rates** are hidden when their count is hidden or their denominator is small.
* **Means and medians** are shown only for groups of ``min_group_for_summary`` or more.
* **Rounding** (optional) of the counts that remain, with a documented rule.

The settings live in one :class:`DisclosurePolicy` (data, loadable from YAML), and every entry
point returns a :class:`ProtectedTable` that carries the display values, a numeric copy for charts,
the suppression masks and a plain-English footnote. :func:`find_disclosure_risks` is an independent
audit (linear programming over the published table) used by tests and available to exports.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, overload

import numpy as np
import pandas as pd
import yaml
from pandas.core.groupby import SeriesGroupBy
from scipy.linalg import null_space
from scipy.optimize import linprog

__all__ = [
    "TOTAL",
    "DisclosurePolicy",
    "DisclosureRiskError",
    "ProtectedTable",
    "ProtectedValue",
    "assert_safe",
    "feasible_intervals",
    "find_disclosure_risks",
    "protect_counts",
    "protect_long",
    "protect_rate",
    "protect_summary",
]

#: Default label of margin rows/columns.
TOTAL = "Total"

_RISK_COLUMNS = ["part", "row", "column", "kind", "shown", "lower", "upper", "detail"]
_TOL = 1e-7


# --------------------------------------------------------------------------------------------
# Policy
# --------------------------------------------------------------------------------------------


def _check_int(name: str, value: Any, minimum: int) -> None:
    # bool is an int subclass; "threshold: true" in YAML is a mistake, not a threshold of 1.
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")


@dataclass(frozen=True)
class DisclosurePolicy:
    """The partnership's disclosure settings, as data.

    Parameters
    ----------
    threshold:
        Counts from 1 to ``threshold - 1`` are suppressed (default 5: 1-4 hidden).
    suppress_zeros:
        Also hide zeros. Default False: a zero is a structural value and may be shown.
    rounding_base:
        If set (e.g. 5 or 10), counts that are shown are rounded to the nearest multiple of this
        base, halves rounded up; a non-zero count is never shown as 0 or as a value below the
        threshold (it is shown as the smallest multiple of the base that is at least the
        threshold). Totals are rounded on their own, so they may not equal the sum of the shown
        rounded cells.
    min_group_for_summary:
        Means and medians are shown only for groups of at least this many (default 10).
    rate_min_denominator:
        Rates are hidden when the denominator is below this (default: ``threshold``).
    suppressed_marker:
        Shown in place of hidden figures; "[c]" is the ONS convention for "confidential".
    interval_protection:
        Beyond stopping exact recovery, make sure the shown figures never prove that a hidden
        small count is below the threshold (see the assumptions note). Default True.
    footnote:
        Replaces the generated plain-English footnote when given.
    """

    threshold: int = 5
    suppress_zeros: bool = False
    rounding_base: int | None = None
    min_group_for_summary: int = 10
    rate_min_denominator: int | None = None
    suppressed_marker: str = "[c]"
    interval_protection: bool = True
    footnote: str | None = None

    def __post_init__(self) -> None:
        _check_int("threshold", self.threshold, 1)
        _check_int("min_group_for_summary", self.min_group_for_summary, 1)
        if self.rounding_base is not None:
            _check_int("rounding_base", self.rounding_base, 1)
        if self.rate_min_denominator is None:
            # frozen dataclass: resolve the documented default once, so to_dict() shows it
            object.__setattr__(self, "rate_min_denominator", self.threshold)
        _check_int("rate_min_denominator", self.rate_min_denominator, 0)
        if not isinstance(self.suppress_zeros, bool) or not isinstance(
            self.interval_protection, bool
        ):
            raise ValueError("suppress_zeros and interval_protection must be true or false")
        if not isinstance(self.suppressed_marker, str) or not self.suppressed_marker.strip():
            raise ValueError("suppressed_marker must be a non-empty string")
        if self.footnote is not None and not isinstance(self.footnote, str):
            raise ValueError("footnote must be text")

    # -- loading --------------------------------------------------------------------------
    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> DisclosurePolicy:
        """Build from a mapping; unknown keys are an error (a typo must not silently relax rules)."""
        data = dict(data or {})
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"Unknown disclosure setting(s): {unknown}; known: {sorted(known)}")
        return cls(**data)

    @classmethod
    def from_yaml(cls, path: str | Path) -> DisclosurePolicy:
        """Load from a YAML file: either the settings at top level or under a ``disclosure:`` key."""
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
        if isinstance(data, Mapping) and isinstance(data.get("disclosure"), Mapping):
            data = data["disclosure"]
        if data is not None and not isinstance(data, Mapping):
            raise ValueError(f"{path}: expected a mapping of disclosure settings")
        return cls.from_dict(data)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    # -- the rules as small functions -------------------------------------------------------
    def is_primary(self, count: float) -> bool:
        """True if a count of this size is hidden by the primary (small count) rule."""
        return bool(_primary_array(np.asarray([count], dtype=float), self)[0])

    def round_count(self, count: int) -> int:
        """The value shown for an unsuppressed count (identity when rounding is off)."""
        return int(_round_array(np.asarray([count], dtype=float), self)[0])

    def rounding_interval(self, shown: int) -> tuple[int, int]:
        """The counts that this policy would display as ``shown`` (for audits of rounded tables).

        A reader who knows the rules knows a shown 0 is a true 0 and a shown non-zero count was
        never below the threshold, so the interval is tighter than plus or minus half the base.
        """
        if self.rounding_base is None or shown == 0:
            return int(shown), int(shown)
        b = self.rounding_base
        lo = math.ceil(shown - b / 2)
        hi = math.ceil(shown + b / 2) - 1
        if shown == _bump_value(self):
            lo = max(self.threshold, 1)  # every shown count up to here was bumped to this value
        return lo, hi

    def footnote_text(
        self, *, counts: bool = True, rates: bool = True, summaries: bool = True
    ) -> str:
        """Plain-English note for readers; ``footnote`` overrides it."""
        if self.footnote:
            return self.footnote
        m = self.suppressed_marker
        parts = [f"{m} means the figure is hidden to protect the privacy of the people counted."]
        t = self.threshold
        if counts and (t > 1 or self.suppress_zeros):
            if t > 2:
                small = f"Counts from 1 to {t - 1}"
            elif t == 2:
                small = "Counts of 1"
            else:
                small = ""
            if self.suppress_zeros:
                small = f"{small} and zeros" if small else "Zeros"
            parts.append(
                f"{small} are hidden, and some other figures are hidden too so that the hidden "
                "counts cannot be worked out from the totals."
            )
        if rates:
            parts.append(
                "Rates and percentages are hidden when the count they are based on is hidden, or "
                f"when they are based on fewer than {self.rate_min_denominator} people."
            )
        if summaries:
            parts.append(
                "Averages (means and medians) are shown only for groups of "
                f"{self.min_group_for_summary} or more."
            )
        if counts and self.rounding_base:
            parts.append(
                f"Counts are rounded to the nearest {self.rounding_base}, and totals are rounded "
                "separately, so figures may not add up exactly to the totals."
            )
        return " ".join(parts)


def _primary_array(values: np.ndarray, policy: DisclosurePolicy) -> np.ndarray:
    small = (values >= 1) & (values < policy.threshold)
    if policy.suppress_zeros:
        small |= values == 0
    return small


def _bump_value(policy: DisclosurePolicy) -> int:
    """Smallest rounded value a non-zero shown count may take (never 0, never below threshold)."""
    b = policy.rounding_base or 1
    return b * max(1, math.ceil(policy.threshold / b))


def _round_array(values: np.ndarray, policy: DisclosurePolicy) -> np.ndarray:
    """Round half up to ``rounding_base``; NaN stays NaN."""
    if policy.rounding_base is None:
        return values.astype(float)
    b = policy.rounding_base
    out = np.floor(values / b + 0.5) * b
    # a shown non-zero count must not look like a small count or a structural zero
    bump = (values > 0) & ((out < policy.threshold) | (out == 0))
    return np.where(bump, _bump_value(policy), out)


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

    @property
    def secondary_mask(self) -> pd.DataFrame:
        return self.mask & ~self.primary_mask

    def to_csv(self, path: str | Path) -> Path:
        """Write the protected table, then a blank line and the footnote."""
        path = Path(path)
        with path.open("w", newline="", encoding="utf-8") as fh:
            self.values.to_csv(fh, index=self._index_in_exports)
            writer = csv.writer(fh)
            writer.writerow([])
            writer.writerow([f"Note: {self.footnote}"])
        return path

    def to_excel(self, path: str | Path, sheet_name: str = "Table") -> Path:
        """Write the protected table with the footnote two rows below it."""
        path = Path(path)
        with pd.ExcelWriter(path, engine="openpyxl") as writer:
            self.values.to_excel(writer, sheet_name=sheet_name, index=self._index_in_exports)
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


# --------------------------------------------------------------------------------------------
# Table structure: cells and the additive equations "sum of members = total"
# --------------------------------------------------------------------------------------------


def _lines(n_rows: int, n_cols: int, tr: int | None, tc: int | None) -> list[np.ndarray]:
    """Each line lists flat cell indices, members first and the line's total last.

    With a total column every row (including the total row) sums to its total; with a total row
    every column (including the total column) sums to its total. So with both margins the grand
    total appears in two lines: sum of row totals, and sum of column totals.
    """
    out: list[np.ndarray] = []
    if tc is not None:
        for r in range(n_rows):
            members = [r * n_cols + c for c in range(n_cols) if c != tc]
            out.append(np.asarray([*members, r * n_cols + tc], dtype=np.int64))
    if tr is not None:
        for c in range(n_cols):
            members = [r * n_cols + c for r in range(n_rows) if r != tr]
            out.append(np.asarray([*members, tr * n_cols + c], dtype=np.int64))
    return out


def _equations(lines: list[np.ndarray], n_cells: int) -> np.ndarray:
    a = np.zeros((len(lines), n_cells))
    for i, line in enumerate(lines):
        a[i, line[:-1]] = 1.0
        a[i, line[-1]] = -1.0
    return a


def _is_total_cells(n_rows: int, n_cols: int, tr: int | None, tc: int | None) -> np.ndarray:
    grid = np.zeros((n_rows, n_cols), dtype=bool)
    if tr is not None:
        grid[tr, :] = True
    if tc is not None:
        grid[:, tc] = True
    return grid.ravel()


def _lp_solve(
    objective: np.ndarray,
    a_eq: np.ndarray,
    b_eq: np.ndarray,
    bounds: list[tuple[float, float | None]],
) -> tuple[float, np.ndarray | None]:
    """Minimum of ``objective @ x`` and a minimiser; (-inf, None) if unbounded.

    Raises ValueError if no table satisfies the constraints.
    """
    if a_eq.shape[0] == 0:
        a_eq = b_eq = None  # type: ignore[assignment]
    res = linprog(objective, A_eq=a_eq, b_eq=b_eq, bounds=bounds, method="highs")
    if res.status == 3:
        return -math.inf, None
    if res.status != 0:
        raise ValueError(f"inconsistent table: the shown figures do not add up ({res.message})")
    return float(res.fun), np.asarray(res.x)


def _lp_optimum(
    objective: np.ndarray,
    a_eq: np.ndarray,
    b_eq: np.ndarray,
    bounds: list[tuple[float, float | None]],
) -> float:
    return _lp_solve(objective, a_eq, b_eq, bounds)[0]


# --------------------------------------------------------------------------------------------
# Suppression (primary, then secondary to a fixed point)
# --------------------------------------------------------------------------------------------


class _Suppressor:
    """Secondary suppression on one additive table.

    Rules, applied until nothing changes:

    1. A line (a row, column or margin equation) with exactly one hidden member gets another.
    2. (interval protection) A line whose total is shown must not have hidden members summing to
       less than the threshold - the difference would reveal a small group.
    3. No hidden cell may be determined by the equations alone (checked with the null space of
       the equations restricted to hidden cells) or, where hidden zeros sit on their lower bound,
       by the equations plus non-negativity (checked with a small cone LP).
    4. (interval protection) No hidden small cell may have a feasible maximum below the threshold.

    Each rule adds one cell at a time, chosen as the cheapest unsuppressed cell in the offending
    line(s): non-zero interior cells first, then totals, then zeros; within those the smallest
    value, counting the cost of a follow-up suppression when the cell's other line would be left
    with a single hidden cell. More hidden cells only enlarge the set of tables consistent with
    what is shown, so checks that have passed stay passed and the loop ends.
    """

    def __init__(
        self,
        values: np.ndarray,
        lines: list[np.ndarray],
        is_total: np.ndarray,
        fixed: np.ndarray,
        policy: DisclosurePolicy,
    ) -> None:
        self.v = values.astype(np.int64)
        self.n = len(self.v)
        self.lines = lines
        self.is_total = is_total
        self.fixed = fixed  # public cells that can never be hidden (e.g. implied zeros)
        self.policy = policy
        self.a = _equations(lines, self.n)
        self.cell_lines: list[list[int]] = [[] for _ in range(self.n)]
        for i, line in enumerate(lines):
            for c in line:
                self.cell_lines[int(c)].append(i)

    def run(self) -> tuple[np.ndarray, np.ndarray]:
        primary = _primary_array(self.v.astype(float), self.policy) & ~self.fixed
        mask = primary.copy()
        interval_ok = np.zeros(self.n, dtype=bool)
        while True:
            if self._line_rules(mask):
                continue
            exposed = self._first_exposed(mask)
            if exposed is not None:
                self._suppress_near(exposed, mask)
                continue
            if self.policy.interval_protection:
                pinned = self._first_pinned(mask, interval_ok)
                if pinned is not None:
                    self._suppress_near(pinned, mask)
                    continue
            return mask, primary

    # rule 1 and 2
    def _line_rules(self, mask: np.ndarray) -> bool:
        changed = False
        for i, line in enumerate(self.lines):
            hidden = mask[line]
            k = int(hidden.sum())
            if k == 0 or k == len(line):
                continue
            need = k == 1
            if not need and self.policy.interval_protection and not mask[line[-1]]:
                need = int(self.v[line][hidden].sum()) < self.policy.threshold
            if need:
                cand = self._best_candidate([i], mask)
                if cand is not None:
                    mask[cand] = True
                    changed = True
        return changed

    # rule 3
    def _first_exposed(self, mask: np.ndarray) -> int | None:
        hidden = np.flatnonzero(mask)
        if hidden.size == 0:
            return None
        a = self.a[:, hidden]
        a = a[np.abs(a).sum(axis=1) > 0]
        if a.shape[0] == 0:
            return None
        basis = null_space(a)
        movable = (
            np.abs(basis).max(axis=1) > 1e-9 if basis.shape[1] else np.zeros(hidden.size, bool)
        )
        for local in np.flatnonzero(~movable):
            return int(hidden[local])  # determined by the equations alone
        zeros = self.v[hidden] == 0
        if zeros.any():
            # hidden zeros cannot go down: moving along the null space is only feasible in
            # directions where those cells do not decrease
            bounds = [(0.0, 1.0) if z else (-1.0, 1.0) for z in zeros]
            rhs = np.zeros(a.shape[0])
            for local in range(hidden.size):
                obj = np.zeros(hidden.size)
                obj[local] = -1.0
                if -_lp_optimum(obj, a, rhs, bounds) > 1e-9:
                    continue
                if not zeros[local]:
                    obj[local] = 1.0
                    if _lp_optimum(obj, a, rhs, bounds) < -1e-9:
                        continue
                return int(hidden[local])
        return None

    # rule 4
    def _first_pinned(self, mask: np.ndarray, verified: np.ndarray) -> int | None:
        t = self.policy.threshold
        todo = np.flatnonzero(mask & ~verified & (self.v < t))
        if todo.size == 0:
            return None
        hidden = np.flatnonzero(mask)
        local = np.searchsorted(hidden, todo)
        a = self.a[:, hidden]
        keep = np.abs(a).sum(axis=1) > 0
        a, rhs = a[keep], -(self.a[keep][:, ~mask] @ self.v[~mask])
        # one LP pushing all unverified cells up together; any cell it lifts to the threshold is
        # verified by that witness table (the box keeps the LP bounded; the true table fits in it)
        obj = np.zeros(hidden.size)
        obj[local] = -1.0
        cap = float(self.v.sum()) + t
        _, x = _lp_solve(obj, a, rhs, [(0.0, cap)] * hidden.size)
        if x is not None:
            verified[todo[x[local] >= t - 0.5]] = True
        for j, loc in zip(todo, local, strict=True):
            if verified[j]:
                continue
            obj = np.zeros(hidden.size)
            obj[loc] = -1.0
            if -_lp_optimum(obj, a, rhs, [(0.0, None)] * hidden.size) < t - 0.5:
                return int(j)
            verified[j] = True
        return None

    # choosing what to hide next
    def _cost_key(self, c: int, line: int, mask: np.ndarray) -> tuple[Any, ...]:
        v = int(self.v[c])
        extra = 0
        for other in self.cell_lines[c]:
            if other == line or mask[self.lines[other]].any():
                continue
            # hiding c leaves `other` with one hidden cell, which will cost one more suppression
            rest = [
                int(self.v[k])
                for k in self.lines[other]
                if k != c and not self.fixed[k] and self.v[k] > 0
            ]
            extra += min(rest) if rest else 0
        return (v == 0, bool(self.is_total[c]), v + extra, v, c)

    def _best_candidate(self, line_ids: Iterable[int], mask: np.ndarray) -> int | None:
        best: tuple[tuple[Any, ...], int] | None = None
        for i in line_ids:
            for c in self.lines[i]:
                c = int(c)
                if mask[c] or self.fixed[c]:
                    continue
                key = self._cost_key(c, i, mask)
                if best is None or key < best[0]:
                    best = (key, c)
        return None if best is None else best[1]

    def _suppress_near(self, cell: int, mask: np.ndarray) -> None:
        """Hide the best candidate in the cell's lines, widening through hidden cells if needed."""
        seen_lines: set[int] = set()
        seen_cells = {cell}
        frontier = list(self.cell_lines[cell])
        while frontier:
            cand = self._best_candidate(frontier, mask)
            if cand is not None:
                mask[cand] = True
                return
            seen_lines.update(frontier)
            nxt: list[int] = []
            for i in frontier:
                for c in self.lines[i]:
                    c = int(c)
                    if mask[c] and c not in seen_cells:
                        seen_cells.add(c)
                        nxt.extend(j for j in self.cell_lines[c] if j not in seen_lines)
            frontier = list(dict.fromkeys(nxt))
        rest = np.flatnonzero(~mask & ~self.fixed)
        if rest.size == 0:  # cannot happen for additive tables: all hidden is always safe
            raise RuntimeError("disclosure control could not protect this table")
        best = min(rest, key=lambda c: (self.v[c] == 0, bool(self.is_total[c]), int(self.v[c]), c))
        mask[best] = True


# --------------------------------------------------------------------------------------------
# Input handling
# --------------------------------------------------------------------------------------------


def _as_count_frame(table: pd.DataFrame | pd.Series) -> pd.DataFrame:
    if isinstance(table, pd.Series):
        table = table.to_frame(name=table.name if table.name is not None else "count")
    if not isinstance(table, pd.DataFrame):
        raise TypeError("expected a pandas DataFrame or Series of counts")
    if isinstance(table.index, pd.MultiIndex) or isinstance(table.columns, pd.MultiIndex):
        raise ValueError("flatten MultiIndex rows/columns before protecting (1-D or 2-D only)")
    if table.index.has_duplicates or table.columns.has_duplicates:
        raise ValueError("row and column labels must be unique")
    if table.empty:
        raise ValueError("empty table")
    _check_counts(table.to_numpy(dtype=float, na_value=np.nan), "table")
    return table


def _check_counts(values: np.ndarray, what: str) -> None:
    if np.isnan(values).any():
        raise ValueError(f"{what}: counts must not be missing")
    if (values < 0).any() or (values != np.round(values)).any():
        raise ValueError(f"{what}: counts must be non-negative whole numbers")


def _with_margins(
    frame: pd.DataFrame, row_total: bool | None, col_total: bool | None, label: Hashable
) -> tuple[pd.DataFrame, Hashable | None, Hashable | None]:
    """Return the frame with its margins and the labels of the total row and total column."""
    frame = frame.copy()
    has_col = label in frame.columns  # a "Total" column holds row sums
    has_row = label in frame.index  # a "Total" row holds column sums
    if row_total is False and has_col:
        raise ValueError(f"row_total=False but the table has a {label!r} column")
    if col_total is False and has_row:
        raise ValueError(f"col_total=False but the table has a {label!r} row")
    inner_cols = [c for c in frame.columns if c != label]
    inner_rows = [r for r in frame.index if r != label]
    if not inner_cols or not inner_rows:
        raise ValueError("the table needs at least one row and column besides the totals")
    if row_total and not has_col:
        frame[label] = frame[inner_cols].sum(axis=1)
        has_col = True
    if col_total and not has_row:
        frame.loc[label] = frame.loc[inner_rows].sum(axis=0)
        has_row = True
    tr = label if has_row else None
    tc = label if has_col else None
    _check_additive(frame, tr, tc)
    return frame, tr, tc


def _check_additive(frame: pd.DataFrame, tr: Hashable | None, tc: Hashable | None) -> None:
    # secondary suppression is only valid if the margins really are sums of the cells
    if tc is not None:
        inner = frame.drop(columns=[tc]).sum(axis=1)
        bad = inner.index[(inner - frame[tc]).abs() > _TOL]
        if len(bad):
            raise ValueError(
                f"the {tc!r} column is not the sum of its row for {list(bad)[:5]}; "
                "add an explicit 'Unknown'/'Other' category so totals are additive"
            )
    if tr is not None:
        inner = frame.drop(index=[tr]).sum(axis=0)
        bad = inner.index[(inner - frame.loc[tr]).abs() > _TOL]
        if len(bad):
            raise ValueError(
                f"the {tr!r} row is not the sum of its column for {list(bad)[:5]}; "
                "add an explicit 'Unknown'/'Other' category so totals are additive"
            )


def _protect_frame(
    frame: pd.DataFrame,
    tr: Hashable | None,
    tc: Hashable | None,
    policy: DisclosurePolicy,
    fixed: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Suppress one additive table; returns (mask, primary) as 2-D arrays."""
    n_rows, n_cols = frame.shape
    tr_pos = None if tr is None else frame.index.get_loc(tr)
    tc_pos = None if tc is None else frame.columns.get_loc(tc)
    values = frame.to_numpy(dtype=float).ravel()
    fixed_flat = np.zeros(values.size, bool) if fixed is None else fixed.ravel()
    suppressor = _Suppressor(
        values,
        _lines(n_rows, n_cols, tr_pos, tc_pos),  # type: ignore[arg-type]
        _is_total_cells(n_rows, n_cols, tr_pos, tc_pos),  # type: ignore[arg-type]
        fixed_flat,
        policy,
    )
    mask, primary = suppressor.run()
    return mask.reshape(n_rows, n_cols), primary.reshape(n_rows, n_cols)


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


# --------------------------------------------------------------------------------------------
# Public API: counts
# --------------------------------------------------------------------------------------------


def protect_counts(
    table: pd.DataFrame | pd.Series,
    policy: DisclosurePolicy | None = None,
    *,
    row_total: bool | None = None,
    col_total: bool | None = None,
    total_label: Hashable = TOTAL,
) -> ProtectedTable:
    """Protect a 1-D or 2-D frequency table (non-negative whole-number counts).

    Margins are rows/columns labelled ``total_label``. ``row_total`` refers to the *column* of row
    sums and ``col_total`` to the *row* of column sums: ``None`` uses whatever the table has,
    ``True`` adds the margin if missing, ``False`` rejects a table that has it. A Series is a 1-D
    table (its "Total" entry, if any, is the column total).
    """
    policy = policy or DisclosurePolicy()
    frame, tr, tc = _with_margins(_as_count_frame(table), row_total, col_total, total_label)
    mask_arr, primary_arr = _protect_frame(frame, tr, tc, policy)
    mask = pd.DataFrame(mask_arr, index=frame.index, columns=frame.columns)
    primary = pd.DataFrame(primary_arr, index=frame.index, columns=frame.columns)
    true = frame.astype(float)
    rounded = pd.DataFrame(
        _round_array(true.to_numpy(), policy), index=frame.index, columns=frame.columns
    )
    numeric = rounded.mask(mask)
    audit = _AuditInfo(
        parts=(_Part("table", true.mask(mask), tr, tc),),
        count_columns=tuple(frame.columns),
    )
    return ProtectedTable(
        values=_as_display(numeric, mask, policy.suppressed_marker, frame.columns),
        numeric=numeric,
        mask=mask,
        primary_mask=primary,
        footnote=policy.footnote_text(rates=False, summaries=False),
        policy=policy,
        _audit=audit,
    )


def protect_long(
    df: pd.DataFrame,
    count_col: str,
    *,
    by: Sequence[str],
    policy: DisclosurePolicy | None = None,
    totals: Mapping[str, Hashable] | None = None,
    rate_cols: Mapping[str, str] | None = None,
    strata: Sequence[str] = (),
) -> ProtectedTable:
    """Protect a long ("tidy") table as used by dashboards, e.g. counts by district and month.

    ``by`` names one or two dimension columns; together with ``strata`` they must identify rows
    uniquely. ``totals`` maps a dimension to the label of its total level already present in the
    data, e.g. ``{"district": "Oxfordshire"}`` when each month has a county row that is the sum
    of the districts. Each stratum (e.g. each service) is protected as its own table.
    ``rate_cols`` maps a rate column to its denominator column: a rate is hidden when its count
    is hidden or its denominator is missing or below ``rate_min_denominator``. With rounding on,
    shown rates are rescaled to the rounded count so they cannot reveal the unrounded one.

    Combinations absent from ``df`` are treated as public zeros. Returns a ProtectedTable with
    the same rows and columns as ``df``; only the count and rate columns change.
    """
    policy = policy or DisclosurePolicy()
    by = list(by)
    strata = list(strata)
    totals = dict(totals or {})
    rate_cols = dict(rate_cols or {})
    if not 1 <= len(by) <= 2:
        raise ValueError("by must name one or two dimension columns")
    missing = [c for c in [count_col, *by, *strata, *rate_cols, *rate_cols.values()] if c not in df]
    if missing:
        raise ValueError(f"columns not in the data: {missing}")
    if set(totals) - set(by):
        raise ValueError(f"totals refers to columns not in by: {sorted(set(totals) - set(by))}")
    if df[by].isna().any().any():
        raise ValueError(f"missing values in the dimension columns {by}")
    if df.duplicated(strata + by).any():
        raise ValueError(f"rows are not unique by {strata + by}")
    _check_counts(df[count_col].to_numpy(dtype=float, na_value=np.nan), count_col)

    row_dim = by[0]
    col_dim = by[1] if len(by) == 2 else None
    count_mask = pd.Series(False, index=df.index)
    count_primary = pd.Series(False, index=df.index)
    parts: list[_Part] = []
    groups = df.groupby(strata, sort=False, dropna=False) if strata else [((), df)]
    for key, group in groups:
        name = (
            "table"
            if not strata
            else ", ".join(f"{s}={k}" for s, k in zip(strata, key, strict=True))
        )
        col_keys = group[col_dim] if col_dim else pd.Series(count_col, index=group.index)
        wide = pd.Series(
            group[count_col].to_numpy(dtype=float),
            index=pd.MultiIndex.from_arrays([group[row_dim], col_keys]),
        ).unstack()
        present = wide.notna().to_numpy()
        wide = wide.fillna(0.0)
        tr = totals.get(row_dim)
        tc = totals.get(col_dim) if col_dim else None
        for dim, label, axis in ((row_dim, tr, wide.index), (col_dim, tc, wide.columns)):
            if label is not None and label not in axis:
                raise ValueError(f"{name}: total level {label!r} of {dim!r} is not in the data")
        _check_additive(wide, tr, tc)
        mask_arr, primary_arr = _protect_frame(wide, tr, tc, policy, fixed=~present)
        mask_w = pd.DataFrame(mask_arr, index=wide.index, columns=wide.columns)
        primary_w = pd.DataFrame(primary_arr, index=wide.index, columns=wide.columns)
        rows = group[row_dim].to_numpy()
        cols = col_keys.to_numpy()
        ri = wide.index.get_indexer(rows)
        ci = wide.columns.get_indexer(cols)
        count_mask.loc[group.index] = mask_w.to_numpy()[ri, ci]
        count_primary.loc[group.index] = primary_w.to_numpy()[ri, ci]
        parts.append(_Part(str(name), wide.mask(mask_w), tr, tc, implied=~present))

    true = df[count_col].astype(float)
    rounded = pd.Series(_round_array(true.to_numpy(), policy), index=df.index)
    numeric = df.copy()
    mask = pd.DataFrame(False, index=df.index, columns=df.columns)
    primary = mask.copy()
    numeric[count_col] = rounded.mask(count_mask)
    mask[count_col] = count_mask
    primary[count_col] = count_primary
    for rate_col, den_col in rate_cols.items():
        den = pd.to_numeric(df[den_col], errors="coerce")
        small_den = den.isna() | (den < policy.rate_min_denominator)
        rate = pd.to_numeric(df[rate_col], errors="coerce").astype(float)
        # the rate of a shown count must agree with the shown (rounded) count
        scale = (rounded / true).where(true > 0, 1.0)
        numeric[rate_col] = (rate * scale).mask(count_mask | small_den)
        mask[rate_col] = count_mask | small_den
        primary[rate_col] = count_primary | small_den
    values = _as_display(numeric, mask, policy.suppressed_marker, [count_col])
    audit = _AuditInfo(
        parts=tuple(parts),
        count_columns=(count_col,),
        rates=tuple((r, count_col, d) for r, d in rate_cols.items()),
    )
    return ProtectedTable(
        values=values,
        numeric=numeric,
        mask=mask,
        primary_mask=primary,
        footnote=policy.footnote_text(rates=bool(rate_cols), summaries=False),
        policy=policy,
        _audit=audit,
        _index_in_exports=False,
    )


# --------------------------------------------------------------------------------------------
# Public API: rates and summaries
# --------------------------------------------------------------------------------------------


def _rate_reasons(
    num: np.ndarray, den: np.ndarray, policy: DisclosurePolicy, proportion: bool
) -> list[str | None]:
    reasons: list[str | None] = []
    for n, d in zip(num, den, strict=True):
        if np.isnan(n):
            reasons.append("count hidden")
        elif np.isnan(d) or d < policy.rate_min_denominator or d <= 0:
            reasons.append(f"denominator below {policy.rate_min_denominator}")
        elif _primary_array(np.asarray([n]), policy)[0]:
            reasons.append("small count")
        elif proportion and 1 <= d - n < policy.threshold:
            # "all but 2 returned" reveals a small group just as well as "2 returned"
            reasons.append("small complement")
        else:
            reasons.append(None)
    return reasons


@overload
def protect_rate(
    numerator: float,
    denominator: float,
    policy: DisclosurePolicy | None = ...,
    *,
    per: float = ...,
    proportion: bool = ...,
) -> ProtectedValue: ...


@overload
def protect_rate(
    numerator: pd.Series | np.ndarray | Sequence[float],
    denominator: pd.Series | np.ndarray | Sequence[float] | float,
    policy: DisclosurePolicy | None = ...,
    *,
    per: float = ...,
    proportion: bool = ...,
) -> ProtectedTable: ...


def protect_rate(
    numerator: Any,
    denominator: Any,
    policy: DisclosurePolicy | None = None,
    *,
    per: float = 1.0,
    proportion: bool = False,
) -> ProtectedValue | ProtectedTable:
    """Rate ``numerator / denominator * per`` (``per=100`` for percentages), or hidden.

    Hidden when the numerator is missing (NaN: already suppressed in its table, so pass
    ``ProtectedTable.numeric``), a small count, or when the denominator is missing or below
    ``rate_min_denominator``. With ``proportion=True`` (numerator is a subset of denominator) it
    is also hidden when ``denominator - numerator`` is a small count. With rounding on, the rate
    uses the rounded numerator. Scalars give a ProtectedValue, arrays a one-column ProtectedTable.
    """
    policy = policy or DisclosurePolicy()
    scalar = np.ndim(numerator) == 0 and np.ndim(denominator) == 0
    index = numerator.index if isinstance(numerator, pd.Series) else None
    num = np.atleast_1d(np.asarray(numerator, dtype=float))
    den = np.broadcast_to(np.asarray(denominator, dtype=float), num.shape)
    reasons = _rate_reasons(num, den, policy, proportion)
    hidden = np.asarray([r is not None for r in reasons])
    with np.errstate(divide="ignore", invalid="ignore"):
        rate = np.where(hidden, np.nan, _round_array(num, policy) / den * per)
    note = policy.footnote_text(counts=False, summaries=False)
    if scalar:
        value = None if hidden[0] else float(rate[0])
        return ProtectedValue(
            value=value,
            display=policy.suppressed_marker if value is None else value,
            suppressed=bool(hidden[0]),
            reason=reasons[0],
            footnote=note,
        )
    numeric = pd.DataFrame({"rate": rate}, index=index)
    mask = pd.DataFrame({"rate": hidden}, index=numeric.index)
    primary = pd.DataFrame(
        {"rate": [r not in (None, "count hidden") for r in reasons]}, index=numeric.index
    )
    return ProtectedTable(
        values=_as_display(numeric, mask, policy.suppressed_marker, []),
        numeric=numeric,
        mask=mask,
        primary_mask=primary,
        footnote=note,
        policy=policy,
    )


def protect_summary(
    values: pd.Series | np.ndarray | Sequence[float] | SeriesGroupBy,
    policy: DisclosurePolicy | None = None,
) -> ProtectedTable:
    """Group size, mean and median, with the mean/median shown only for groups of
    ``min_group_for_summary`` or more (and the size itself under the small count rule).

    Pass a sequence for one group, or ``df.groupby(...)[column]`` for one row per group.
    Missing values are dropped before counting.
    """
    policy = policy or DisclosurePolicy()
    if isinstance(values, SeriesGroupBy):
        groups = [(k, g.dropna()) for k, g in values]
        index = pd.Index([k for k, _ in groups])
    else:
        series = pd.Series(np.asarray(values, dtype=float)).dropna()
        groups = [("all", series)]
        index = pd.Index(["all"])
    n = np.asarray([len(g) for _, g in groups], dtype=float)
    mean = np.asarray([g.mean() if len(g) else np.nan for _, g in groups])
    median = np.asarray([g.median() if len(g) else np.nan for _, g in groups])
    n_hidden = _primary_array(n, policy)
    small_group = (n < policy.min_group_for_summary) | n_hidden
    numeric = pd.DataFrame(
        {
            "n": np.where(n_hidden, np.nan, _round_array(n, policy)),
            "mean": np.where(small_group, np.nan, mean),
            "median": np.where(small_group, np.nan, median),
        },
        index=index,
    )
    mask = pd.DataFrame({"n": n_hidden, "mean": small_group, "median": small_group}, index=index)
    return ProtectedTable(
        values=_as_display(numeric, mask, policy.suppressed_marker, ["n"]),
        numeric=numeric,
        mask=mask,
        primary_mask=mask.copy(),
        footnote=policy.footnote_text(rates=False),
        policy=policy,
        _audit=_AuditInfo(count_columns=("n",), summary=True),
    )


# --------------------------------------------------------------------------------------------
# Audit: what can a reader work out from the published table?
# --------------------------------------------------------------------------------------------


def _risk(
    part: str,
    cell: tuple[Any, Any],
    kind: str,
    detail: str,
    shown: Any = None,
    lo: Any = None,
    hi: Any = None,
) -> dict:
    row, col = cell
    return dict(zip(_RISK_COLUMNS, (part, row, col, kind, shown, lo, hi, detail), strict=True))


def _parse_shown(frame: pd.DataFrame, marker: str) -> pd.DataFrame:
    """Published cells as floats, NaN where hidden (marker, blank or NaN)."""

    def parse(x: Any) -> float:
        if isinstance(x, str):
            text = x.strip()
            if text in (marker, ""):
                return math.nan
            try:
                return float(text.replace(",", ""))
            except ValueError as err:
                raise ValueError(f"cannot read published cell {x!r}") from err
        return math.nan if x is None or pd.isna(x) else float(x)

    return frame.apply(lambda col: col.map(parse)).astype(float)


def _intervals(
    shown: pd.DataFrame,
    tr: Hashable | None,
    tc: Hashable | None,
    policy: DisclosurePolicy,
    *,
    rounded: bool,
    settled_at: float | None = None,
) -> list[tuple[int, float, float]]:
    """(flat index, min, max) of every hidden cell over all tables consistent with what is shown.

    This deliberately does not reuse the suppression algorithm: for each hidden cell it solves
    two linear programmes - minimise and maximise the cell over all non-negative tables that
    reproduce the shown cells (exactly, or within their rounding interval) and satisfy every
    "cells sum to total" equation. The constraint matrix of a table with margins is totally
    unimodular, so with whole-number bounds the optima are whole numbers and equal what a reader
    could deduce by reasoning over whole-number tables. Raises ValueError if nothing fits.

    With ``settled_at`` (risk screening), a cell whose values in feasible tables already found
    differ and reach ``settled_at`` is not solved for: its (narrower, witnessed) range is returned,
    which is enough to know it is neither exactly recoverable nor proved to be below that value.
    """
    n_rows, n_cols = shown.shape
    tr_pos = None if tr is None else shown.index.get_loc(tr)
    tc_pos = None if tc is None else shown.columns.get_loc(tc)
    flat = shown.to_numpy(dtype=float).ravel()
    hidden = np.isnan(flat)
    a = _equations(_lines(n_rows, n_cols, tr_pos, tc_pos), flat.size)  # type: ignore[arg-type]
    bounds: list[tuple[float, float | None]] = []
    for j, x in enumerate(flat):
        if hidden[j]:
            bounds.append((0.0, None))
        else:
            lo, hi = policy.rounding_interval(int(round(x))) if rounded else (x, x)
            bounds.append((float(lo), float(hi)))
    rhs = np.zeros(a.shape[0])
    if not hidden.any():
        _lp_optimum(np.zeros(flat.size), a, rhs, bounds)  # only checks that the figures add up
    seen_lo = np.full(flat.size, math.inf)
    seen_hi = np.full(flat.size, -math.inf)

    def witness(x: np.ndarray | None) -> None:
        if x is not None:
            np.minimum(seen_lo, x, out=seen_lo)
            np.maximum(seen_hi, x, out=seen_hi)

    def settled(j: int) -> bool:
        return (
            settled_at is not None
            and seen_hi[j] - seen_lo[j] >= 0.5
            and seen_hi[j] >= settled_at - 0.5
        )

    if settled_at is not None and hidden.any():
        # two cheap LPs: all hidden cells down together, then up together (boxed so the maximum
        # exists); both solutions are feasible tables, so they bound every range from inside
        cap = sum(hi for lo, hi in bounds if hi is not None) + max(settled_at, 0) + 10
        boxed = [(0.0, cap) if h else bnd for h, bnd in zip(hidden, bounds, strict=True)]
        for sign in (1.0, -1.0):
            try:
                witness(_lp_solve(sign * hidden, a, rhs, boxed)[1])
            except ValueError:
                break  # the box was too tight; fall back to solving every cell
    out: list[tuple[int, float, float]] = []
    for j in map(int, np.flatnonzero(hidden)):
        if not a[:, j].any():
            out.append((j, 0.0, math.inf))  # in no equation: any value is possible
            continue
        if settled(j):
            out.append((j, float(seen_lo[j]), float(seen_hi[j])))
            continue
        obj = np.zeros(flat.size)
        obj[j] = 1.0
        lo, x = _lp_solve(obj, a, rhs, bounds)
        witness(x)
        if settled(j):
            out.append((j, lo, float(seen_hi[j])))
            continue
        hi = -_lp_optimum(-obj, a, rhs, bounds)
        out.append((j, lo, hi))
    return out


def _audit_part(
    name: str,
    shown: pd.DataFrame,
    tr: Hashable | None,
    tc: Hashable | None,
    policy: DisclosurePolicy,
    *,
    rounded: bool,
    check_interval: bool,
    implied: np.ndarray | None = None,
) -> list[dict]:
    n_cols = shown.shape[1]
    flat = shown.to_numpy(dtype=float).ravel()
    displayed = ~np.isnan(flat) if implied is None else ~np.isnan(flat) & ~implied.ravel()
    risks: list[dict] = []

    def label(j: int) -> tuple[Any, Any]:
        return shown.index[j // n_cols], shown.columns[j % n_cols]

    for j in np.flatnonzero(displayed & _primary_array(np.nan_to_num(flat, nan=-1.0), policy)):
        msg = f"a count below {policy.threshold} is shown"
        risks.append(
            _risk(name, label(int(j)), "small_count_shown", msg, flat[j], flat[j], flat[j])
        )
    try:
        settled_at = policy.threshold if check_interval else -math.inf
        intervals = _intervals(shown, tr, tc, policy, rounded=rounded, settled_at=settled_at)
    except ValueError as err:
        return [*risks, _risk(name, (None, None), "inconsistent", str(err))]
    for j, lo, hi in intervals:
        if hi - lo < 0.5:
            msg = f"the hidden value can be worked out exactly ({lo:g})"
            risks.append(_risk(name, label(j), "exact_recovery", msg, None, lo, hi))
        elif check_interval and hi < policy.threshold - 0.5:
            msg = f"the shown figures prove the hidden value is at most {hi:g}"
            risks.append(_risk(name, label(j), "shown_to_be_small", msg, None, lo, hi))
    return risks


def _published_margins(
    frame: pd.DataFrame, row_total: bool | None, col_total: bool | None, label: Hashable
) -> tuple[Hashable | None, Hashable | None]:
    has_col = label in frame.columns
    has_row = label in frame.index
    for flag, present, what in ((row_total, has_col, "column"), (col_total, has_row, "row")):
        if flag is True and not present:
            raise ValueError(f"expected a {label!r} {what}")
        if flag is False and present:
            raise ValueError(f"unexpected {label!r} {what}")
    return (label if has_row else None), (label if has_col else None)


def feasible_intervals(
    table: pd.DataFrame | pd.Series,
    policy: DisclosurePolicy | None = None,
    *,
    row_total: bool | None = None,
    col_total: bool | None = None,
    total_label: Hashable = TOTAL,
) -> pd.DataFrame:
    """What a reader can deduce about each hidden cell of a published table.

    One row per hidden cell with the smallest and largest value consistent with the shown cells
    (read as in :func:`find_disclosure_risks`), the margins and non-negativity; ``upper`` is
    ``inf`` when nothing bounds the cell.
    """
    policy = policy or DisclosurePolicy()
    frame = table.to_frame() if isinstance(table, pd.Series) else table
    tr, tc = _published_margins(frame, row_total, col_total, total_label)
    shown = _parse_shown(frame, policy.suppressed_marker)
    n_cols = shown.shape[1]
    rows = [
        (shown.index[j // n_cols], shown.columns[j % n_cols], lo, hi)
        for j, lo, hi in _intervals(shown, tr, tc, policy, rounded=policy.rounding_base is not None)
    ]
    return pd.DataFrame(rows, columns=["row", "column", "lower", "upper"])


def find_disclosure_risks(
    table: ProtectedTable | pd.DataFrame | pd.Series,
    policy: DisclosurePolicy | None = None,
    *,
    row_total: bool | None = None,
    col_total: bool | None = None,
    total_label: Hashable = TOTAL,
    check_interval: bool | None = None,
) -> pd.DataFrame:
    """List the disclosure risks in a published table (empty DataFrame if none).

    Kinds: ``small_count_shown`` (a count in 1..threshold-1, or a zero when zeros are
    suppressed, is displayed); ``exact_recovery`` (a hidden cell's feasible range given the shown
    cells and margins is a single value); ``shown_to_be_small`` (with ``check_interval``, default
    ``policy.interval_protection``: the feasible maximum is below the threshold, so the table
    proves the hidden count is small); ``rate_on_hidden_count`` / ``rate_on_small_denominator``;
    ``average_on_small_group``; ``inconsistent`` (shown figures do not add up).

    A ProtectedTable is audited against the true values of its shown cells (before rounding:
    the strictest reading). A plain DataFrame is read as published - the marker, blanks or NaN
    are hidden, margins are rows/columns labelled ``total_label`` - and, if the policy rounds,
    each shown count stands for its whole rounding interval.
    """
    if isinstance(table, ProtectedTable):
        policy = policy or table.policy
        check = policy.interval_protection if check_interval is None else check_interval
        return _audit_protected(table, policy, check)
    policy = policy or DisclosurePolicy()
    check = policy.interval_protection if check_interval is None else check_interval
    frame = table.to_frame() if isinstance(table, pd.Series) else table
    tr, tc = _published_margins(frame, row_total, col_total, total_label)
    shown = _parse_shown(frame, policy.suppressed_marker)
    risks = _audit_part(
        "table",
        shown,
        tr,
        tc,
        policy,
        rounded=policy.rounding_base is not None,
        check_interval=check,
    )
    return pd.DataFrame(risks, columns=_RISK_COLUMNS)


def _audit_protected(table: ProtectedTable, policy: DisclosurePolicy, check: bool) -> pd.DataFrame:
    info = table._audit
    risks: list[dict] = []
    for part in info.parts:
        risks += _audit_part(
            part.name,
            part.frame,
            part.total_row,
            part.total_col,
            policy,
            rounded=False,
            check_interval=check,
            implied=part.implied,
        )
    # what readers actually see (after rounding) must not look like a small count either
    for col in info.count_columns:
        shown = table.numeric[col]
        small = shown.notna() & _primary_array(shown.fillna(-1.0).to_numpy(), policy)
        for idx in shown.index[small]:
            msg = f"a count below {policy.threshold} is displayed"
            risks.append(_risk("display", (idx, col), "small_count_shown", msg, shown[idx]))
    for rate, count, den in info.rates:
        shown_rate = table.numeric[rate].notna()
        denominators = pd.to_numeric(table.values[den], errors="coerce")
        for idx in shown_rate.index[shown_rate & table.mask[count]]:
            msg = "a rate is shown although its count is hidden"
            risks.append(_risk("display", (idx, rate), "rate_on_hidden_count", msg))
        small_den = shown_rate & (
            denominators.isna() | (denominators < policy.rate_min_denominator)
        )
        for idx in shown_rate.index[small_den]:
            msg = f"a rate is shown with a denominator below {policy.rate_min_denominator}"
            risks.append(_risk("display", (idx, rate), "rate_on_small_denominator", msg))
    if info.summary:
        n = table.numeric["n"]
        for idx in n.index:
            shown_avg = table.numeric.loc[idx, ["mean", "median"]].notna().any()
            n_max = math.inf if pd.isna(n[idx]) else policy.rounding_interval(int(n[idx]))[1]
            if shown_avg and (pd.isna(n[idx]) or n_max < policy.min_group_for_summary):
                msg = "an average is shown for a small or hidden group"
                risks.append(_risk("display", (idx, "mean/median"), "average_on_small_group", msg))
    return pd.DataFrame(risks, columns=_RISK_COLUMNS)


def assert_safe(
    table: ProtectedTable | pd.DataFrame | pd.Series,
    policy: DisclosurePolicy | None = None,
    **kwargs: Any,
) -> None:
    """Raise :class:`DisclosureRiskError` if :func:`find_disclosure_risks` finds anything.

    Exports call this just before writing; tests call it on every protected table.
    """
    risks = find_disclosure_risks(table, policy, **kwargs)
    if len(risks):
        raise DisclosureRiskError(risks)
