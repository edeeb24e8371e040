"""Findings safe to share: every number a study's plain-English finding quotes, checked against the
shareable tables before the finding goes into a report that leaves the secure environment.

A study writes its findings from exact figures ("393 people (50.1%)"). A board report may carry a
finding only if it gives away nothing the shareable tables do not: :func:`shareable_findings`
reads every number in a finding and

- leaves **settings and design figures** as they are: dates, durations ("within 85 days", "12
  months", "53 more days"), confidence levels ("95% CI", "99.8% limits"), interval limits of a
  duration, the number of groups tested;
- treats every other whole number as a **count of people or records**: below the disclosure
  threshold the finding is withheld; otherwise it is rounded as the tables round (to the nearest 5,
  "about 1,980") and must be a count the shareable tables show somewhere, else the finding is
  withheld (it would quote a count the tables hide, e.g. by secondary suppression, or leave out);
- rounds **shares** quoted with decimals to whole percentages (limits of an interval outwards), as a
  share of an exact count quoted finely could help give the count back;
- requires every other **decimal figure** (a hazard, odds or risk ratio, an E-value, a p-value, a
  difference in percentage points), together with the limits of its interval, to be shown in one
  row of the shareable tables (to the decimals quoted), so a finding from a model whose table
  failed output checking or was left out is withheld.

The check is on values, not on where a value sits in the tables: a count or estimate that happens to
equal another shown cell passes. Counts written in words ("three people") are not recognised; the
studies write counts as figures. Decisions: ``docs/assumptions/disclosure_control.md``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import pandas as pd

from workbench.reporting.policy import DisclosurePolicy

_DATE = re.compile(r"\b\d{4}-\d{2}(?:-\d{2})?\b")
# a number: an optional sign (not a hyphen between two numbers, as in "1.18-1.52"), digits with
# thousands separators, optional decimals
_NUMBER = re.compile(r"(?<![\w.\-])(-?)(\d{1,3}(?:,\d{3})+|\d+)(\.\d+)?(?![\w])")
_DURATION = re.compile(r"^\+?\s*(?:[a-z]+\s+)?(?:day|week|month|quarter|year)s?\b", re.IGNORECASE)
_DESIGN = re.compile(r"^\s*(?:sub)?groups?\b|^\s*(?:districts?|sources?|indicators?|replicates?)\b", re.IGNORECASE)
_LEVEL = re.compile(r"^%\s*(?:CI|confidence|interval|simultaneous|funnel|limit)", re.IGNORECASE)
_POINTS = re.compile(r"^\s*percentage points?", re.IGNORECASE)
_INTERVAL_START = re.compile(r"(?:\bCI|\binterval)\s*$", re.IGNORECASE)


@dataclass
class CheckedFindings:
    """Findings as they may be shared, and how many were withheld and why (never their text: it
    holds the exact numbers)."""

    shareable: list[str]
    withheld: list[str] = field(default_factory=list)  # one reason per finding withheld
    changed: int = 0  # findings kept with numbers rounded


class _Withhold(Exception):
    pass


def shown_values(tables: Mapping[str, pd.DataFrame], count_columns: Mapping[str, Iterable[str]],
                 marker: str) -> tuple[set[int], list[list[float]]]:
    """The counts the shareable tables show, and each shown row's other figures (hidden cells left out)."""
    counts: set[int] = set()
    rows: list[list[float]] = []
    for name, table in tables.items():
        counted = set(count_columns.get(name, ()))
        numeric = table.apply(lambda c: pd.to_numeric(c.where(c != marker), errors="coerce"))
        for col in counted & set(numeric.columns):
            counts.update(int(v) for v in numeric[col].dropna())
        others = numeric[[c for c in numeric.columns if c not in counted]].to_numpy(dtype=float)
        rows += [[float(v) for v in row if math.isfinite(v)] for row in others]
    return counts, [r for r in rows if r]


def _fmt_count(n: int, like: str, before: str) -> str:
    text = f"{n:,}" if ("," in like or n >= 1000) else str(n)
    # "about 1,980" says the figure is rounded; "the 1,980" reads better and the note says so
    return text if re.search(r"\b(?:the|of about|about)\s*$", before, re.IGNORECASE) else f"about {text}"


def _in_one_row(group: list[tuple[float, int]], rows: list[list[float]]) -> bool:
    """Whether one shown row gives every figure of ``group`` (an estimate and the limits of its
    interval) at the decimals quoted, as it is or as a percentage."""

    def hit(x: float, decimals: int, row: list[float]) -> bool:
        tol = 0.5 * 10 ** -decimals + 1e-9
        return any(abs(f - x) <= tol or abs(100 * f - x) <= tol for f in row)

    return any(all(hit(x, d, row) for x, d in group) for row in rows)


_TO = re.compile(r"(?:\bto\s*|\d-)$")


def _check_one(text: str, policy: DisclosurePolicy, counts: set[int], rows: list[list[float]]) -> str:
    dates = [(m.start(), m.end()) for m in _DATE.finditer(text)]
    out: list[str] = []
    last = 0
    previous_pct_lower = False  # the last share was the lower limit of "a% to b%"
    in_interval = False  # inside "(95% CI a to b)": limits of the figure before it
    groups: list[list[tuple[float, int]]] = []  # decimal figures, each with the limits of its interval
    for m in _NUMBER.finditer(text):
        start, end = m.start(), m.end()
        if any(a <= start < b for a, b in dates):
            continue
        sign, whole, decimals = m.group(1), m.group(2), m.group(3) or ""
        pre, post = text[max(0, start - 40):start], text[end:end + 40]
        value = float(f"{sign}{whole.replace(',', '')}{decimals}")
        if post.startswith("%"):
            to_follows = re.match(r"^%\s*to\s*-?\d", post) is not None
            if decimals and not _LEVEL.match(post):
                # a share quoted finely: whole percentages, the limits of an interval outwards
                shown = (math.floor(value) if to_follows else
                         math.ceil(value) if previous_pct_lower and _TO.search(pre) else round(value))
                out += [text[last:start], f"{shown:d}"]
                last = end
            previous_pct_lower = to_follows
            continue
        if _INTERVAL_START.search(pre):
            in_interval = True
        elif not _TO.search(pre):
            in_interval = False
        if decimals or _POINTS.match(post):
            figure = (value, len(decimals) - 1 if decimals else 0)
            if in_interval and groups:
                groups[-1].append(figure)
            else:
                groups.append([figure])
            continue
        if _DURATION.match(post) or _DESIGN.match(post) or in_interval:
            continue  # a duration, the number of groups tested, or the limits of an interval
        n = int(value)
        if n < 0 or (n == 0 and not policy.suppress_zeros):
            continue
        if n == 0 or policy.is_primary(n):
            raise _Withhold(f"it quotes a count below {policy.threshold}")
        rounded = policy.round_count(n)
        if rounded not in counts:
            raise _Withhold("it quotes a count that the shareable tables do not show")
        if rounded != n:
            out += [text[last:start], _fmt_count(rounded, whole, text[:start])]
            last = end
    for group in groups:
        if not _in_one_row(group, rows):
            raise _Withhold("it quotes an estimate that the shareable tables do not show")
    out.append(text[last:])
    return "".join(out)


def shareable_findings(findings: Iterable[str], tables: Mapping[str, pd.DataFrame],
                       count_columns: Mapping[str, Iterable[str]], policy: DisclosurePolicy) -> CheckedFindings:
    """The findings that may be shared, with their numbers rounded as the tables round them; the
    others are withheld, with the reason (see the module's docstring)."""
    counts, rows = shown_values(tables, count_columns, policy.suppressed_marker)
    checked = CheckedFindings(shareable=[])
    for text in findings:
        try:
            safe = _check_one(text, policy, counts, rows)
        except _Withhold as why:
            checked.withheld.append(str(why))
            continue
        checked.shareable.append(safe)
        checked.changed += safe != text
    return checked
