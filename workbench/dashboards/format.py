"""Labels and numbers as the dashboards write them: plain-English labels of codes, counts and
percentages (hidden figures as the marker), months and periods in words, HTML escaping."""

from __future__ import annotations

import html
import math
from functools import cache

import pandas as pd

from workbench import definitions
from workbench.dashboards.aggregates import COUNTY, COUNTY_LABEL, Period
from workbench.measures.rough_sleeping import AGE_BANDS, route_labels
from workbench.measures.supported_housing import LOS_BANDS

#: CHAIN status of a person seen sleeping rough in a month (workbench.cohorts.rough_sleeping).
CHAIN_STATUS_LABELS: dict[str, str] = {
    "new": "New to the streets",
    "stock": "Also seen the month before",
    "returner": "Returned to the streets",
}
#: Shorter wording than the contracts' labels, which explain each code; these read well in sentences.
SHORT_LABELS: dict[str, dict[str, str]] = {
    "chain_status": CHAIN_STATUS_LABELS,
    "tenure": {"social_rented": "Social rented", "private_rented": "Private rented", "housing_first": "Housing First"},
    "accommodation_model": {
        "congregate_hostel": "Congregate hostels",
        "shared_house": "Shared supported houses",
        "dispersed": "Dispersed supported flats",
        "housing_first": "Housing First",
        "hospital_step_down": "Hospital step-down beds",
        "women_only": "Women-only services",
        "young_persons": "Young people's services",
        "mental_health": "Mental health services",
    },
}


@cache
def _measure_codes() -> dict[str, tuple[str, ...]]:
    """Code lists the measures define (bands, routes); their labels follow :func:`_plain`."""
    return {
        "age_band": (*(b for b, _ in AGE_BANDS), "not_known"),
        "stay_length": (*(b for b, _ in LOS_BANDS), "not_known"),
        "route": tuple(route_labels()),
    }


def _plain(code: str) -> str:
    """A code as words: "56_and_over" -> "56 and over", "not_known" -> "Not known"."""
    return code.replace("_", " ").capitalize()


def label(vocab: str, code: str) -> str:
    """Plain-English label of a code (the code in words if the vocabulary does not know it)."""
    if vocab in SHORT_LABELS:
        return SHORT_LABELS[vocab].get(code, _plain(code))
    if vocab == "route":
        return route_labels().get(code, _plain(code))
    if vocab in _measure_codes() or code not in definitions.codes(vocab):
        return _plain(code)
    return definitions.label(vocab, code)


def codes(vocab: str) -> list[str]:
    """The codes of a vocabulary in reporting order (the contracts' or the measures' order)."""
    if vocab in _measure_codes():
        return list(_measure_codes()[vocab])
    if vocab == "chain_status":
        return list(CHAIN_STATUS_LABELS)
    return list(definitions.codes(vocab))


def area_label(area: str) -> str:
    return COUNTY_LABEL if area == COUNTY else label("district", area)


# --------------------------------------------------------------------------------------------
# Formatting
# --------------------------------------------------------------------------------------------


def as_number(x: object) -> float | None:
    """A shown number, or None if hidden/missing."""
    if x is None:
        return None
    try:
        v = float(x)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(v) else v


def fmt_count(x: object) -> str:
    v = as_number(x)
    return "[c]" if v is None else f"{int(round(v)):,}"


def fmt_pct(x: object, digits: int = 0) -> str:
    v = as_number(x)
    return "[c]" if v is None else f"{v:.{digits}f}%"


def plural(n: float, one: str, many: str) -> str:
    return one if int(round(n)) == 1 else many


def month_label(m: pd.Timestamp) -> str:
    return f"{pd.Timestamp(m):%B %Y}"


def period_label(period: Period) -> str:
    s, e = pd.Timestamp(period.start), pd.Timestamp(period.end)
    if s == e:
        return month_label(s)
    if s.year == e.year:
        return f"{s:%B} to {e:%B %Y}"
    return f"{s:%B %Y} to {e:%B %Y}"


def during(period: Period) -> str:
    """'in September 2026' or 'between October 2025 and September 2026'."""
    s, e = pd.Timestamp(period.start), pd.Timestamp(period.end)
    if s == e:
        return f"in {month_label(s)}"
    return f"between {s:%B %Y} and {e:%B %Y}"


def esc(text: object) -> str:
    return html.escape(str(text), quote=True)

