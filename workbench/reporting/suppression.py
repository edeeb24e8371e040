"""Secondary suppression: hide more cells until no hidden cell can be worked out from what is
shown (one cohesive greedy algorithm over the table's additive equations)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
from scipy.linalg import null_space

from workbench.reporting.policy import DisclosurePolicy, _primary_array
from workbench.reporting.table_equations import _equations, _lp_optimum, _lp_solve

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
        forced: np.ndarray | None = None,
    ) -> None:
        self.v = values.astype(np.int64)
        self.n = len(self.v)
        self.lines = lines
        self.is_total = is_total
        self.fixed = fixed  # public cells that can never be hidden (e.g. implied zeros)
        self.policy = policy
        # cells the caller needs hidden for its own reasons (treated like primary cells)
        self.forced = np.zeros(self.n, bool) if forced is None else forced & ~fixed
        self.a = _equations(lines, self.n)
        self.cell_lines: list[list[int]] = [[] for _ in range(self.n)]
        for i, line in enumerate(lines):
            for c in line:
                self.cell_lines[int(c)].append(i)

    def run(self) -> tuple[np.ndarray, np.ndarray]:
        primary = _primary_array(self.v.astype(float), self.policy) & ~self.fixed
        mask = primary | self.forced
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

