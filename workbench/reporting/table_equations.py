"""The structure of a table with margins: its cells, the additive equations "sum of members =
total", and the linear programmes that secondary suppression and the audit solve over them."""

from __future__ import annotations

import math

import numpy as np
from scipy.optimize import linprog

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

