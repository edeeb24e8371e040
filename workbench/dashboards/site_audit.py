"""The site-wide disclosure audit: what could a reader work out from everything the dashboards
show, over every page and every filter combination, downloads included?

Each table a page shows (and offers for download: the same protected table) is built with
:func:`workbench.dashboards.protection.tracing` on, so every figure knows which rows of the
precomputed aggregates it sums (``ProtectedTable.sources``). The reader model is the table audit's
(:mod:`workbench.reporting.audit`), over the whole site at once:

* a shown count stands for its rounding interval (``DisclosurePolicy.rounding_interval``: a
  shown 10 is 8 to 12, a shown 0 is 0, the smallest shown value is at least the threshold);
* a shown rate worked out from true counts (``sources`` holds its numerator and denominator)
  says that the numerator is that share of the denominator, to within the rate's rounding;
* the underlying cells (rows of the aggregates) are non-negative.

For every distinct hidden figure (the same cells hidden on several pages are one figure) two
linear programmes (scipy's HiGHS) give the smallest and largest value consistent with all of
that. A hidden figure is **recoverable** when that range is narrower than the suppression
threshold (``upper - lower < threshold``; an exact recovery is range 0). The audit shares no
code with the suppression: only the figures as shown and where they come from.

Under the cell key method (``policy.method == "cell_key"``) nothing is hidden: a shown count stands
for every true count the perturbation table could show that way
(``PerturbationTable.true_range``), and every distinct figure whose true count is small (1 to
``threshold - 1``) is solved for. It is **recoverable** when it is worked out exactly, or proved to
be from 1 to ``threshold - 1`` (a small group shown to exist). A narrow range that still takes in
0 or the threshold (0 to 4, 5 to 8) is not: a shown 0 says "nobody, or a few" by design.

The variables are continuous (a linear relaxation): a reader reasoning over whole numbers could
sometimes narrow a range further than the LP does. Figures built without sources (none today)
are counted, not audited.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy.optimize import linprog
from scipy.sparse import csr_matrix

from workbench.dashboards.aggregates import COUNTY, Aggregates, Period
from workbench.dashboards.filters import FilterState, period_options
from workbench.dashboards.format import as_number
from workbench.dashboards.pages import PAGE_SPECS
from workbench.dashboards.protection import source_ids, source_name, tracing
from workbench.definitions import DISTRICTS
from workbench.reporting.policy import DisclosurePolicy
from workbench.reporting.protected_table import ProtectedTable

# --------------------------------------------------------------------------------------------
# Every page at every filter combination
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ShownTable:
    """One protected table as a page shows it (and offers it for download)."""

    page: str
    state: FilterState
    panel: str
    caption: str
    table: ProtectedTable


def site_states(agg: Aggregates, *, periods: Iterable[Period] | None = None,
                pages: Iterable[str] | None = None) -> Iterator[tuple[str, FilterState]]:
    """Every (page, filter state) a viewer can choose: each area the page offers (the county and
    each district), each period the filter offers (:func:`period_options`, or ``periods``) and
    each group the page offers."""
    periods = list(periods) if periods is not None else [p for _, p in period_options(agg)]
    for page in pages or PAGE_SPECS:
        spec = PAGE_SPECS[page]
        areas = [COUNTY, *DISTRICTS] if spec.get("district", True) else [COUNTY]
        groups = [v or None for _, v in spec.get("group_options") or [("", "")]]
        for area in areas:
            for period in periods:
                for group in groups:
                    yield page, FilterState(area, period, group)


def shown_tables(agg: Aggregates, states: Iterable[tuple[str, FilterState]], policy: DisclosurePolicy) -> list[ShownTable]:
    """The protected tables of every page at every state, traced to the aggregates' rows."""
    out: list[ShownTable] = []
    with tracing():
        for page, state in states:
            for content in PAGE_SPECS[page]["build"](agg, state, policy):
                for spec in content.tables:
                    out.append(ShownTable(page, state, content.key, spec.caption, spec.table))
    return out


# --------------------------------------------------------------------------------------------
# The reader's linear programme
# --------------------------------------------------------------------------------------------


@dataclass
class SiteAudit:
    """What the audit checked and found."""

    tables: int
    states: int
    shown_counts: int  # shown count cells, over all tables (with repeats)
    hidden_counts: int  # hidden count cells, over all tables (with repeats)
    distinct_shown: int
    distinct_hidden: int
    shown_rates: int  # rates worked out from true counts, used as constraints
    untraced: int  # count cells without sources (not audited)
    mismatched: int  # shown cells whose true value is not the sum of their sources
    #: one row per recoverable hidden figure: where it is hidden, its feasible range and its true
    #: value (this report stays inside the secure environment, like the aggregates)
    recoverable: pd.DataFrame = field(repr=False)
    threshold: int = 5
    perturbed_small: int = 0  # distinct perturbed figures with a small true count (each solved for)
    #: perturbed small counts a reader could estimate to within about 2 (95%) by combining every
    #: shown figure by least squares (the averaging attack): one row each, with the standard error
    averaged: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=_AVERAGED), repr=False)
    #: perturbed small counts narrowed to a range under the threshold wide that still takes in 0 or
    #: the threshold (such as 0 to 4: what a shown 0 says by design); not recoverable, reported
    narrowed_small: int = 0

    @property
    def n_recoverable(self) -> int:
        return len(self.recoverable)

    def summary(self) -> str:
        r = self.recoverable
        exact = int((r["upper"] == r["lower"]).sum()) if len(r) else 0
        small = int(((r["lower"] >= 1) & (r["upper"] < self.threshold)).sum()) if len(r) else 0
        return (f"{self.states:,} page x filter states, {self.tables:,} tables; {self.distinct_shown:,} distinct shown "
                f"and {self.distinct_hidden:,} distinct hidden counts ({self.shown_counts:,} and {self.hidden_counts:,} "
                f"cells with repeats), {self.shown_rates:,} rates from true counts; {self.n_recoverable:,} hidden or "
                f"perturbed small counts recoverable ({exact:,} exactly, {small:,} proved to be from 1 to "
                f"{self.threshold - 1}, {len(r) - exact - small:,} hidden counts narrowed to a range under "
                f"{self.threshold} wide); "
                f"{self.untraced:,} untraced, {self.mismatched:,} mismatched"
                + (f"; {self.perturbed_small:,} perturbed small counts solved for, {len(self.averaged):,} of them "
                   f"estimable by least squares to a standard error below {AVERAGING_SE}, {self.narrowed_small:,} "
                   f"narrowed to a range under {self.threshold} wide that takes in 0 or {self.threshold}."
                   if self.perturbed_small else "."))


def _true_values(pt: ProtectedTable) -> pd.DataFrame | None:
    """True values of a protected count table's shown cells (NaN where hidden), as the table's
    own audit keeps them."""
    parts = pt._audit.parts
    if len(parts) != 1:
        return None
    return parts[0].frame


class _Cells:
    """Distinct figures (keyed by their set of underlying cells)."""

    def __init__(self) -> None:
        self.key_of: dict[bytes, int] = {}
        self.ids: list[np.ndarray] = []
        self.lo: list[float] = []
        self.hi: list[float] = []
        self.hidden: list[bool] = []
        self.shown: list[bool] = []
        self.small: list[bool] = []  # shown perturbed, true value from 1 to threshold - 1
        self.noise: list[float] = []  # variance of a shown figure's error (perturbation or rounding)
        self.where: list[tuple[str, str, str, str, str]] = []

    def add(self, ids: np.ndarray, where: tuple[str, str, str, str, str]) -> int:
        ids = np.unique(ids)
        key = ids.tobytes()
        k = self.key_of.get(key)
        if k is None:
            k = self.key_of[key] = len(self.ids)
            self.ids.append(ids)
            self.lo.append(0.0)
            self.hi.append(math.inf)
            self.hidden.append(False)
            self.shown.append(False)
            self.small.append(False)
            self.noise.append(0.0)
            self.where.append(where)
        return k


def audit_site(shown: list[ShownTable], policy: DisclosurePolicy, agg: Aggregates, *,
               states: int | None = None) -> SiteAudit:
    """Solve, for every hidden count on the site, its feasible range given everything shown; and
    check that every shown figure's true value is the sum of the aggregates' rows it names."""
    cells = _Cells()
    rates: list[tuple[np.ndarray, np.ndarray, float, float]] = []  # num ids, den ids, lo, hi share
    n_shown = n_hidden = untraced = mismatched = 0
    true_of: dict[int, float] = {}
    ptable = policy.perturbation_table() if policy.perturbs else None
    for st in shown:
        pt = st.table
        true = _true_values(pt)
        perturbed = pt._audit.perturbed
        count_cols = [c for c in pt._audit.count_columns if c in pt.values.columns]
        for r_i, row in enumerate(pt.values.index):
            for col in pt.values.columns:
                src = (pt.sources.iloc[r_i, pt.sources.columns.get_loc(col)]
                       if pt.sources is not None and col in pt.sources.columns else None)
                where = (st.page, st.state.key, st.panel, str(row), str(col))
                if col in count_cols:
                    hidden = bool(pt.mask.iloc[r_i, pt.values.columns.get_loc(col)])
                    n_hidden += hidden
                    n_shown += not hidden
                    if not isinstance(src, np.ndarray):
                        untraced += 1
                        continue
                    k = cells.add(src, where)
                    if hidden:
                        if not cells.hidden[k]:
                            cells.where[k] = where  # report where it is hidden
                        cells.hidden[k] = True
                        continue
                    cells.shown[k] = True
                    shown_value = as_number(pt.numeric.iloc[r_i, pt.values.columns.get_loc(col)])
                    # a perturbed count stands for every true count the perturbation table could
                    # show that way; a rounded one for its rounding interval
                    lo, hi = (ptable.true_range(int(shown_value)) if perturbed and ptable is not None
                              else policy.rounding_interval(int(shown_value)))
                    cells.lo[k], cells.hi[k] = max(cells.lo[k], lo), min(cells.hi[k], hi)
                    b = policy.rounding_base or 1
                    cells.noise[k] = float(policy.perturbation_variance) if perturbed else (b * b - 1) / 12
                    if true is not None:
                        tv = true.iloc[r_i, true.columns.get_loc(col)]
                        if not pd.isna(tv):
                            true_of[k] = float(tv)
                            if perturbed and ptable is not None:
                                # the variance of this figure's own perturbation: a count near zero
                                # has its own (a true 1 is mostly shown as 0), and a reader who
                                # weighs each figure by it does best
                                cells.noise[k] = ptable.variance(int(tv))
                            if perturbed and 1 <= tv < policy.threshold:
                                cells.small[k] = True
                elif isinstance(src, tuple) and not bool(pt.mask.iloc[r_i, pt.values.columns.get_loc(col)]):
                    num, den, per, half = src
                    value = as_number(pt.numeric.iloc[r_i, pt.values.columns.get_loc(col)])
                    if value is not None:
                        rates.append((np.unique(num), np.unique(den), (value - half) / per, (value + half) / per))
    # the underlying cells' true values, to check every shown figure against its sources
    variables = np.unique(np.concatenate([*cells.ids, *(r[0] for r in rates), *(r[1] for r in rates)])
                          if cells.ids or rates else np.empty(0, np.int64))
    values = _source_values(agg)
    for k, tv in true_of.items():
        if abs(sum(values.get(int(i), 0.0) for i in cells.ids[k]) - tv) > 0.5:
            mismatched += 1
    index = {int(v): i for i, v in enumerate(variables)}
    layout = _layout(cells, rates, index)
    recoverable, narrowed = _solve(cells, layout, policy, values)
    averaged = _averaging(cells, layout, values) if policy.perturbs else pd.DataFrame(columns=_AVERAGED)
    return SiteAudit(
        tables=len(shown), states=states if states is not None else len({(s.page, s.state) for s in shown}),
        shown_counts=n_shown, hidden_counts=n_hidden,
        distinct_shown=sum(cells.shown),
        distinct_hidden=sum(cells.hidden), shown_rates=len(rates), untraced=untraced, mismatched=mismatched,
        recoverable=recoverable, threshold=policy.threshold, perturbed_small=sum(cells.small), averaged=averaged,
        narrowed_small=narrowed,
    )


def _source_values(agg: Aggregates) -> dict[int, float]:
    """The aggregates' true counts by underlying cell id."""
    out: dict[int, float] = {}
    for name, df in agg.tables.items():
        if "n" in df and len(df):
            out.update(zip(source_ids(name, "n", df.index).tolist(), df["n"].astype(float), strict=True))
    dq = agg.tables.get("dq_at_extract")
    if dq is not None and len(dq):  # the data quality counts at the extract date (numerator and the rest)
        for column, values in (("numerator", dq["numerator"]), ("rest", dq["denominator"] - dq["numerator"])):
            out.update(zip(source_ids("dq_at_extract", column, dq.index).tolist(), values.astype(float), strict=True))
    return out


def _components(rows: list[np.ndarray], n_vars: int) -> np.ndarray:
    """Connected components of the variables (linked when they appear in one constraint)."""
    parent = np.arange(n_vars)

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for r in rows:
        if len(r) > 1:
            root = find(int(r[0]))
            for v in r[1:]:
                rv = find(int(v))
                if rv != root:
                    parent[rv] = root
    return np.asarray([find(i) for i in range(n_vars)])


#: A perturbed small count a reader can estimate with a standard error below this (by least squares
#: over every shown figure) is reported: its 95% interval is about plus or minus 2.
AVERAGING_SE = 1.0
_AVERAGED = ["page", "filters", "panel", "row", "column", "estimate_se", "figures", "true", "sources"]


@dataclass
class _Layout:
    """The reader's variables: each figure's (and rate's) underlying cells as variable numbers, and
    the connected components of the constraints they make (solved one component at a time)."""

    local: list[np.ndarray]
    rate_rows: list[tuple[np.ndarray, np.ndarray, float, float]]
    comp: np.ndarray


def _layout(cells: _Cells, rates: list, index: dict[int, int]) -> _Layout:
    local = [np.asarray([index[int(i)] for i in ids], dtype=np.int64) for ids in cells.ids]
    rate_rows = [(np.asarray([index[int(i)] for i in num], np.int64), np.asarray([index[int(i)] for i in den], np.int64),
                  lo, hi) for num, den, lo, hi in rates]
    comp = (_components(local + [np.concatenate([a, b]) for a, b, _, _ in rate_rows], len(index)) if index
            else np.empty(0, np.int64))
    return _Layout(local, rate_rows, comp)


def _averaging(cells: _Cells, layout: _Layout, values: dict[int, float]) -> pd.DataFrame:
    """The averaging attack on perturbed counts: every shown figure is its true sum plus an error
    of known variance (``cells.noise``: the perturbation's, or the rounding's), independent between
    distinct figures (distinct cell keys). A reader's least-squares estimate of a figure ``c'x``
    from all of them has variance ``c' (A' W A)^+ c`` when ``c`` is in the row space of ``A``
    (else it cannot be estimated). Reported: perturbed small counts estimable with a standard error
    below :data:`AVERAGING_SE`. Each figure's variance is that of its own true count's
    perturbation (``V`` for most; its own for a count near zero, smaller for a true 1 under a large
    ``V``): the reader is credited with weighing each figure as well as the truth would allow."""
    local, comp = layout.local, layout.comp
    by_comp: dict[int, list[int]] = {}
    for k, ids in enumerate(local):
        if len(ids) and (cells.shown[k] or cells.small[k]):
            by_comp.setdefault(int(comp[ids[0]]), []).append(k)
    found = []
    for c, ks in by_comp.items():
        targets = [k for k in ks if cells.small[k]]
        if not targets:
            continue
        members = np.flatnonzero(comp == c)
        pos = {int(v): i for i, v in enumerate(members)}
        shown = [k for k in ks if cells.shown[k]]
        a = np.zeros((len(shown), len(members)))
        for r, k in enumerate(shown):
            a[r, [pos[int(v)] for v in local[k]]] = 1.0
        w = 1.0 / np.sqrt(np.maximum([cells.noise[k] for k in shown], 1e-6))
        _, sv, vt = np.linalg.svd(a * w[:, None], full_matrices=False)
        keep = sv > 1e-9 * sv.max()
        vt, sv = vt[keep], sv[keep]
        for k in targets:
            target = np.zeros(len(members))
            target[[pos[int(v)] for v in local[k]]] = 1.0
            proj = vt @ target
            if np.linalg.norm(vt.T @ proj - target) > 1e-6:
                continue  # not estimable from what is shown
            se = float(np.sqrt(np.sum((proj / sv) ** 2)))
            if se < AVERAGING_SE:
                page, filters, panel, row_label, col = cells.where[k]
                true = sum(values.get(int(i), 0.0) for i in cells.ids[k])
                found.append((page, filters, panel, row_label, col, se, len(shown), true,
                              f"{source_name(int(cells.ids[k][0]))[0]} ({len(local[k])} cells)"))
    return pd.DataFrame(found, columns=_AVERAGED)


def _solve(cells: _Cells, layout: _Layout, policy: DisclosurePolicy,
           values: dict[int, float]) -> tuple[pd.DataFrame, int]:
    """The recoverable figures, and how many perturbed small counts are narrowed without being
    recoverable."""
    cols = ["page", "filters", "panel", "row", "column", "lower", "upper", "true", "sources"]
    if len(layout.comp) == 0:
        return pd.DataFrame(columns=cols), 0
    local, rate_rows, comp = layout.local, layout.rate_rows, layout.comp
    # the constraints of each component: rows of A_ub (as {variable: coefficient}) and b_ub
    constraints: dict[int, list[tuple[dict[int, float], float]]] = {}
    targets: dict[int, list[int]] = {}
    for k, ids in enumerate(local):
        if len(ids) == 0:  # no underlying cells: a structural zero, shown as 0 wherever it is shown
            continue
        c = int(comp[ids[0]])
        if cells.shown[k]:
            row = dict.fromkeys(ids.tolist(), 1.0)
            if cells.hi[k] < math.inf:
                constraints.setdefault(c, []).append((row, cells.hi[k]))
            constraints.setdefault(c, []).append(({v: -1.0 for v in row}, -cells.lo[k]))
        if cells.hidden[k] or cells.small[k]:
            targets.setdefault(c, []).append(k)
    for num, den, lo, hi in rate_rows:
        c = int(comp[np.concatenate([num, den])[0]])
        # lo * den <= num <= hi * den
        upper: dict[int, float] = {}
        lower: dict[int, float] = {}
        for v in num.tolist():
            upper[v] = upper.get(v, 0.0) + 1.0
            lower[v] = lower.get(v, 0.0) - 1.0
        for v in den.tolist():
            upper[v] = upper.get(v, 0.0) - hi
            lower[v] = lower.get(v, 0.0) + lo
        constraints.setdefault(c, []).extend([(upper, 0.0), (lower, 0.0)])
    found, narrowed = [], 0
    for c, ks in targets.items():
        members = np.flatnonzero(comp == c)
        pos = {int(v): i for i, v in enumerate(members)}
        rows, data, colidx, b = [], [], [], []
        for r, (coef, rhs) in enumerate(constraints.get(c, [])):
            for v, a in coef.items():
                rows.append(r)
                colidx.append(pos[v])
                data.append(a)
            b.append(rhs)
        a_ub = csr_matrix((data, (rows, colidx)), shape=(len(b), len(members))) if b else None
        b_ub = np.asarray(b) if b else None
        for k in ks:
            obj = np.zeros(len(members))
            obj[[pos[int(v)] for v in local[k]]] = 1.0
            lo_res = linprog(obj, A_ub=a_ub, b_ub=b_ub, bounds=(0, None), method="highs")
            if lo_res.status != 0:
                raise ValueError(f"the shown figures are inconsistent around {cells.where[k]} ({lo_res.message})")
            hi_res = linprog(-obj, A_ub=a_ub, b_ub=b_ub, bounds=(0, None), method="highs")
            lower_v = math.ceil(lo_res.fun - 1e-6)
            upper_v = math.inf if hi_res.status == 3 else math.floor(-hi_res.fun + 1e-6)
            # a hidden figure: its range must be at least the threshold wide (a reader knows a hidden
            # count is not 0, as zeros are shown); a perturbed small count must not be worked out,
            # nor proved to be from 1 to threshold - 1 (a range such as 0 to 4 is what a shown 0
            # says by design: nobody, or a few)
            recovered = (upper_v - lower_v < policy.threshold) if cells.hidden[k] else \
                (upper_v == lower_v or (lower_v >= 1 and upper_v < policy.threshold))
            narrowed += not recovered and upper_v - lower_v < policy.threshold
            if recovered:
                page, filters, panel, row_label, col = cells.where[k]
                first = source_name(int(cells.ids[k][0]))[0]
                true = sum(values.get(int(i), 0.0) for i in cells.ids[k])
                found.append((page, filters, panel, row_label, col, lower_v, upper_v, true,
                              f"{first} ({len(local[k])} cells)"))
    return pd.DataFrame(found, columns=cols), narrowed
