"""Disclosure control of a study's tables for a shareable export: one :class:`Rule` per table says
what each column is, and :func:`protect_study` applies the dashboards' policy to every table and
audits the result across the tables of the export.

Every column of a table must have a role in its rule, else the table is withheld ("fail closed": a
column added to a study later is not shared until someone has said how to protect it). Roles:

- ``dims``: the columns that identify a row (labels; never changed);
- ``counts``: counts of people or records: primary and secondary suppression within the table
  (with its total row, or with the total held in another table of the export, ``overall``), then
  rounding, exactly as on the dashboards;
- ``rates``: a rate of two count columns of the table: hidden with either count, with a small
  denominator or a small complement, and otherwise recomputed from the *shown* (rounded) counts,
  so it cannot undo their rounding;
- ``estimates``: a model-based figure (a cumulative incidence, a hazard ratio, a p-value), hidden
  when the count behind it is hidden or below the threshold; rounded to ``decimals``;
- ``summaries``: a mean, median or quantile, shown only for groups of ``min_group_for_summary``;
- ``intervals``: a confidence limit, hidden with the figure it belongs to and rounded more coarsely
  (two decimals for shares), so that it cannot be solved back to the exact counts;
- ``keep``: labels and design constants (months, days, a quantile's level, degrees of freedom of a
  test) that are not data about people.

Model tables (``model``) pass the output-checking rules of UK trusted research environments
(SACRO's defaults): at least :data:`MIN_RESIDUAL_DF` residual degrees of freedom, and at least
``threshold`` observations, events and people in the smallest cell behind the model (each level
of a binary covariate, with and without the event); otherwise the whole table is withheld.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from workbench.reporting.audit import find_disclosure_risks
from workbench.reporting.measure_tables import protect_tidy
from workbench.reporting.policy import DisclosurePolicy

#: Residual degrees of freedom a regression needs to be released (SACRO/ACRO default, SDC handbook).
MIN_RESIDUAL_DF = 10
_OVERALL = "All (from the overall table)"


@dataclass(frozen=True)
class Rule:
    """How to protect one table: the role of every column (see the module's docstring)."""

    dims: tuple[str, ...] = ()
    counts: tuple[str, ...] = ()
    rates: Mapping[str, tuple[str, str]] = field(default_factory=dict)
    per: Mapping[str, tuple[str, str, float]] = field(default_factory=dict)  # rate -> (count, public denominator, per)
    estimates: Mapping[str, str] = field(default_factory=dict)  # column -> count column behind it, or "@size"
    summaries: Mapping[str, str] = field(default_factory=dict)  # column -> group size count column, or "@size"
    intervals: Mapping[str, str] = field(default_factory=dict)  # column -> the rate/estimate/summary it belongs to
    keep: tuple[str, ...] = ()
    total: tuple[str, Any] | None = None  # (dimension, label of its total row in this table)
    overall: tuple[str, str, Any] | None = None  # (table, its column, value) holding the total of dims[0]
    sums: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # count column = sum of these count columns
    model: str | None = None  # key of estimates["model_sizes"]: the model's n, events, parameters, smallest cell
    size: Callable[[Any], float | None] | None = None  # the count behind "@size" figures, from the result
    decimals: int = 3

    def columns(self) -> set[str]:
        return {*self.dims, *self.counts, *self.rates, *self.per, *self.estimates, *self.summaries, *self.intervals, *self.keep}


@dataclass
class ShareableTables:
    """The shareable version of a study's tables."""

    tables: dict[str, pd.DataFrame]  # display values: numbers, or the marker where hidden
    withheld: dict[str, str]  # table -> why it is not in the shareable export
    count_columns: dict[str, tuple[str, ...]]
    audit: pd.DataFrame  # risks found (empty when the export is safe)
    policy: DisclosurePolicy
    notes: list[str] = field(default_factory=list)


class _Withheld(Exception):
    pass


def model_checks(sizes: Mapping[str, Any] | None, policy: DisclosurePolicy) -> str | None:
    """Why a model's table may not be released (None when it may): TRE output-checking rules."""
    if not sizes:
        return "the counts behind the model were not recorded"
    n, k = sizes.get("n"), sizes.get("parameters")
    if n is None or k is None:
        return "the model's size was not recorded"
    if n - k < MIN_RESIDUAL_DF:
        return f"{n - k} residual degrees of freedom, fewer than {MIN_RESIDUAL_DF}"
    for what in ("n", "events", "min_cell"):
        v = sizes.get(what)
        if v is not None and v < policy.threshold:
            return f"a count behind the model ({what.replace('_', ' ')}) is below {policy.threshold}"
    return None


def _round(values: pd.Series, decimals: int) -> pd.Series:
    return pd.to_numeric(values, errors="coerce").astype(float).round(decimals)


def _additive(d: pd.DataFrame, dims: list[str], total: Mapping[str, Any] | None, cols: list[str]) -> bool:
    """Whether the total rows of ``dims[0]`` are the sums of the other rows for every column."""
    if not total or dims[0] not in total:
        return False
    at_total = d[dims[0]] == total[dims[0]]
    rest = dims[1:]
    members = d[~at_total].groupby(rest)[cols].sum() if rest else d.loc[~at_total, cols].sum().to_frame().T
    totals = d[at_total].set_index(rest)[cols] if rest else d.loc[at_total, cols].reset_index(drop=True)
    if len(totals) == 0:
        return False
    members = members.reindex(totals.index, fill_value=0)
    return bool(((members - totals).abs() < 1e-9).all().all())


def _protect_counts(df: pd.DataFrame, rule: Rule, result: Any, policy: DisclosurePolicy) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Rounded counts (NaN where hidden) and the mask, for the rows of ``df``."""
    d = df.copy()
    dims = list(rule.dims)
    if not dims:
        d["_row"], dims = range(len(d)), ["_row"]
    total = dict([rule.total]) if rule.total else None
    n_own = len(d)
    if rule.overall:
        name, col, value = rule.overall
        ov = result.tables.get(name)
        if ov is None:
            raise _Withheld(f"its overall table {name!r} is missing")
        ov = ov[ov[col] == value].drop(columns=[col]).assign(**{dims[0]: _OVERALL})
        d = pd.concat([d, ov[[c for c in d.columns if c in ov.columns]]], ignore_index=True)
        total = {dims[0]: _OVERALL}
    for c in rule.counts:
        d[c] = pd.to_numeric(d[c], errors="coerce").fillna(0).round().astype(int)
    if d.duplicated(dims).any():
        raise _Withheld(f"its rows are not unique by {dims}")
    summed = {m for total_col, members in rule.sums.items() for m in (total_col, *members)}
    singles = [c for c in rule.counts if c not in summed]
    numeric = pd.DataFrame(index=d.index, columns=list(rule.counts), dtype=float)
    mask = pd.DataFrame(False, index=d.index, columns=list(rule.counts))
    try:
        if singles:
            pt = protect_tidy(d, singles, by=dims[:2], strata=dims[2:], totals=total, policy=policy)
            numeric[singles], mask[singles] = pt.numeric[singles], pt.mask[singles]
        for total_col, members in rule.sums.items():
            # columns that add up to a column: one table per row of the other dimensions, with the
            # column total as a margin (as protect_breakdown does), so a hidden member cannot be
            # worked out from the total
            cols = [*members, total_col]
            long = d[[*dims, *cols]].melt(id_vars=dims, value_vars=cols, var_name="_column", value_name="_count")
            # a total row that is not the sum of its rows (e.g. moves between districts, which are no move
            # at county level) is an ordinary row; the column total still protects each row
            row_total = dict(total) if _additive(d, dims, total, cols) else {}
            pt = protect_tidy(long, ["_count"], by=[dims[0], "_column"], strata=dims[1:],
                              totals={**row_total, "_column": total_col}, policy=policy)
            shown = pt.numeric.assign(_column=long["_column"])
            hide = pt.mask["_count"].to_numpy()
            for i, c in enumerate(cols):
                part = slice(i * len(d), (i + 1) * len(d))
                numeric[c] = shown["_count"].to_numpy()[part]
                mask[c] = hide[part]
    except ValueError as err:
        raise _Withheld(f"its counts could not be protected ({err})") from None
    numeric, mask = numeric.iloc[:n_own], mask.iloc[:n_own]
    return numeric.set_axis(df.index), mask.set_axis(df.index)


def protect_table(name: str, df: pd.DataFrame, rule: Rule, result: Any, policy: DisclosurePolicy) -> pd.DataFrame:
    """The shareable display version of one table (raises ``_Withheld`` with the reason)."""
    missing = [c for c in df.columns if c not in rule.columns()]
    if missing:
        raise _Withheld(f"no disclosure rule for its column(s) {missing}")
    if rule.model:
        why = model_checks(result.estimates.get("model_sizes", {}).get(rule.model), policy)
        if why:
            raise _Withheld(f"the model fails output checking: {why}")
    df = df.reset_index(drop=True)
    marker = policy.suppressed_marker
    shown: dict[str, pd.Series] = {}
    hidden: dict[str, pd.Series] = {}
    if rule.counts:
        numeric, mask = _protect_counts(df, rule, result, policy)
        for c in rule.counts:
            shown[c], hidden[c] = numeric[c], mask[c] | numeric[c].isna()
    size = rule.size(result) if rule.size else None

    def behind(col: str) -> tuple[pd.Series, pd.Series]:
        """True size behind a figure, and whether that count is hidden."""
        if col == "@size":
            n = pd.Series(np.nan if size is None else float(size), index=df.index)
            return n, n.isna()
        n = pd.to_numeric(df[col], errors="coerce").astype(float)
        return n, hidden.get(col, pd.Series(False, index=df.index))

    for r, (num, den) in rule.rates.items():
        n, d = df[num].astype(float), df[den].astype(float)
        off = hidden[num] | hidden[den] | d.isna() | (d < policy.rate_min_denominator)
        off |= (d - n >= 1) & (d - n < policy.threshold)  # "all but 2" shows a small group too
        with np.errstate(divide="ignore", invalid="ignore"):
            shown[r] = (shown[num] / shown[den]).where(~off).round(rule.decimals)
        hidden[r] = off
    for r, (num, den, per) in rule.per.items():
        # a rate over a published denominator (households) gives the count back unless it is
        # computed from the shown (rounded) count
        d = pd.to_numeric(df[den], errors="coerce").astype(float)
        off = hidden[num] | d.isna() | (d <= 0)
        shown[r], hidden[r] = (shown[num] / d * per).where(~off).round(rule.decimals), off
    for e, col in rule.estimates.items():
        n, off = behind(col)
        off = off | n.isna() | (n < policy.threshold)
        shown[e], hidden[e] = _round(df[e], rule.decimals).where(~off), off
    for s, col in rule.summaries.items():
        n, off = behind(col)
        off = off | n.isna() | (n < policy.min_group_for_summary)
        shown[s], hidden[s] = _round(df[s], 1).where(~off), off
    for i, parent in rule.intervals.items():
        # limits are exact functions of the true counts: coarser, so they cannot give them back
        decimals = 1 if parent in rule.summaries or parent in rule.per else 2 if parent in rule.rates else rule.decimals
        shown[i], hidden[i] = _round(df[i], decimals).where(~hidden[parent]), hidden[parent]
    out = df.copy().astype(object)
    for c, values in shown.items():
        show = ~hidden[c] & values.notna()
        if c in rule.counts:
            out[c] = [int(v) if s else marker for v, s in zip(values, show, strict=True)]
        else:
            out[c] = [v if s else (marker if hidden[c].iloc[i] else "") for i, (v, s) in enumerate(zip(values, show, strict=True))]
    return out


# ------------------------------------------------------------------------------ the export's audit
def _published(value: Any, marker: str) -> float:
    if isinstance(value, str):
        return math.nan if value in (marker, "") else float(value)
    return float(value)


def _line_frames(name: str, rule: Rule, true: pd.DataFrame, shown: pd.DataFrame, tables: Mapping[str, pd.DataFrame],
                 result: Any, marker: str) -> list[tuple[str, pd.Series]]:
    """The additive lines a reader can write down: a dimension's values and their total (in this table
    or in the overall table), and columns that sum to a column, as published 1-D tables."""
    lines: list[tuple[str, pd.Series]] = []
    true = true.reset_index(drop=True)
    group = rule.dims[0] if rule.dims else None
    rest = list(rule.dims[1:])
    if group and (rule.total or rule.overall):
        if rule.total:
            total_rows_true = true[true[group] == rule.total[1]]
            total_rows_shown = shown[true[group] == rule.total[1]]
            members = true[group] != rule.total[1]
        else:
            t, col, value = rule.overall
            if t not in tables:
                return lines
            ov_true = result.tables[t]
            keep = (ov_true[col] == value).to_numpy()
            total_rows_true = ov_true[keep].reset_index(drop=True)
            total_rows_shown = tables[t][keep].reset_index(drop=True)
            members = pd.Series(True, index=true.index)
        for c in rule.counts:
            keys = [tuple(r) for r in total_rows_true[rest].itertuples(index=False)] if rest else [()]
            for i, key in enumerate(keys):
                sel = members.copy()
                for k, v in zip(rest, key, strict=True):
                    sel &= true[k] == v
                cells = pd.Series([_published(v, marker) for v in shown.loc[sel, c]],
                                  index=[str(g) for g in true.loc[sel, group]], dtype=float)
                total_true = float(total_rows_true[c].iloc[i])
                gap = total_true - float(true.loc[sel, c].sum())
                if gap < -1e-9:
                    continue  # the "total" is not a sum of these rows: a reader has no equation here
                if gap > 1e-9:
                    cells["(not in any group: unpublished)"] = math.nan
                cells["Total"] = _published(total_rows_shown[c].iloc[i], marker)
                lines.append((f"{name}.{c} by {group} {dict(zip(rest, key, strict=True))}", cells))
    for total_col, member_cols in rule.sums.items():
        for idx in shown.index:
            cells = pd.Series({m: _published(shown.loc[idx, m], marker) for m in member_cols}, dtype=float)
            cells["Total"] = _published(shown.loc[idx, total_col], marker)
            if cells.isna().any():
                lines.append((f"{name}.{total_col} row {idx}", cells))
    return lines


def audit_export(tables: Mapping[str, pd.DataFrame], rules: Mapping[str, Rule], result: Any,
                 policy: DisclosurePolicy) -> pd.DataFrame:
    """Every risk a reader of the whole export could exploit: a count from 1 to threshold-1 shown
    anywhere, and a hidden count that the shown figures and totals, within a table or across the
    tables of the export, pin down exactly or prove to be small (linear programming,
    :func:`~workbench.reporting.audit.find_disclosure_risks`, reading each shown count as its
    whole rounding interval)."""
    marker = policy.suppressed_marker
    risks = []
    for name, shown in tables.items():
        rule = rules[name]
        for c in rule.counts:
            for idx, v in shown[c].items():
                x = _published(v, marker)
                if not math.isnan(x) and 1 <= x < policy.threshold:
                    risks.append({"table": name, "where": f"row {idx}, column {c}", "kind": "small_count_shown",
                                  "detail": f"{x:g} is shown"})
        if not any(shown[c].eq(marker).any() for c in rule.counts):
            continue  # nothing hidden in this table: nothing to recover
        for where, line in _line_frames(name, rule, result.tables[name], shown, tables, result, marker):
            if not line.isna().any():
                continue
            try:
                found = find_disclosure_risks(line.to_frame("count"), policy, col_total=True, row_total=False)
            except ValueError as err:
                risks.append({"table": name, "where": where, "kind": "inconsistent", "detail": str(err)})
                continue
            for r in found.itertuples():
                risks.append({"table": name, "where": f"{where}: {r.row}", "kind": r.kind, "detail": r.detail})
    return pd.DataFrame(risks, columns=["table", "where", "kind", "detail"])


def protect_study(result: Any, rules: Mapping[str, Rule], policy: DisclosurePolicy) -> ShareableTables:
    """Every table of ``result`` through disclosure control; tables without a rule, failing a rule,
    or involved in a risk found by :func:`audit_export` are withheld (with the reason)."""
    tables: dict[str, pd.DataFrame] = {}
    withheld: dict[str, str] = {}
    for name, df in result.tables.items():
        rule = rules.get(name)
        if rule is None:
            withheld[name] = "no disclosure rule for this table yet"
            continue
        if not len(df):
            withheld[name] = "empty (too little data)"
            continue
        try:
            tables[name] = protect_table(name, df, rule, result, policy)
        except _Withheld as why:
            withheld[name] = str(why)
    audit = audit_export(tables, rules, result, policy)
    # fail closed: a table involved in a risk is not shared, and what is left is audited again
    while len(audit):
        for name in audit["table"].unique():
            first = audit[audit["table"] == name].iloc[0]
            withheld[name] = f"the disclosure audit found a risk ({first.kind} at {first['where']})"
            tables.pop(name, None)
        audit = audit_export(tables, rules, result, policy)
    return ShareableTables(tables=tables, withheld=withheld,
                           count_columns={n: tuple(rules[n].counts) for n in tables}, audit=audit, policy=policy)
