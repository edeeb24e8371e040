"""The filter bar: district, period (a financial year or one of its quarters) and, where a page
has one, a group; and the state it is in."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import pandas as pd

from workbench.dashboards.aggregates import COUNTY, COUNTY_LABEL, Aggregates, Period, Quarter
from workbench.dashboards.format import area_label, esc, label
from workbench.definitions import DISTRICTS


@dataclass(frozen=True)
class FilterState:
    area: str  # a district code, or COUNTY
    period: Period
    group: str | None

    @property
    def key(self) -> str:
        return f"{self.area}|{self.period.start:%Y-%m}|{self.period.end:%Y-%m}|{self.group or ''}"


class FilterBar:
    """District, period and, where a page has one, a group.

    The period is one of fixed periods (:func:`period_options`): each financial year (the latest up
    to the extract date) and each financial-year quarter. Not any run of quarters: each distinct
    window over the same months is one more perturbed look at them, and enough of them average the
    perturbation away (issue 20 item 3; docs/assumptions/disclosure_control.md).

    All are native drop-down lists: usable with the keyboard (Tab, arrow keys) and announced by
    screen readers with their labels; a range slider was harder to use precisely."""

    def __init__(
        self,
        agg: Aggregates,
        *,
        district: bool = True,
        group_options: Sequence[tuple[str, str]] | None = None,
        group_label: str = "Group",
        default_group: str | None = None,
    ) -> None:
        import ipywidgets as widgets

        self.agg = agg
        self.periods: list[tuple[str, Period]] = period_options(agg)
        style = {"description_width": "initial"}
        self.district = widgets.Dropdown(
            options=[(COUNTY_LABEL, COUNTY)] + [(label("district", d), d) for d in DISTRICTS],
            value=COUNTY, description="District", style=style, layout=widgets.Layout(width="290px"),
        )
        self.district.add_class("wb-filter-district")
        # quarters are indented under their year (non-breaking spaces: a select drops leading spaces)
        options = [(name.replace(" ", "\u00a0", 2) if name.startswith("  ") else name, i)
                   for i, (name, _) in enumerate(self.periods)]
        self.period = widgets.Dropdown(options=options, value=0, description="Period",
                                       style=style, layout=widgets.Layout(width="380px"))
        self.period.add_class("wb-filter-period")
        self.group = widgets.Dropdown(
            options=list(group_options or [("All", "")]), description=group_label, style=style,
            layout=widgets.Layout(width="min-content"),
        )
        if default_group is not None:
            self.group.value = default_group
        self.group.add_class("wb-filter-group")
        kids = [self.district] if district else []
        kids.append(self.period)
        if group_options:
            kids.append(self.group)
        self.box = widgets.HBox(kids, layout=widgets.Layout(flex_flow="row wrap"))
        self.box.add_class("wb-filters")
        self.has_group = bool(group_options)
        self.has_district = district

    def state(self) -> FilterState:
        return FilterState(
            area=self.district.value if self.has_district else COUNTY,
            period=self.periods[self.period.value][1],
            group=(self.group.value or None) if self.has_group else None,
        )

    def observe(self, callback: Callable[[], None]) -> None:
        for w in (self.district, self.period, self.group):
            w.observe(lambda _change: callback(), names="value")

    def snapshot_html(self) -> str:
        """A static look-alike of the filter bar for the first paint (disabled until live)."""
        def select(name: str, text: str) -> str:
            return f"<label>{esc(name)} <select disabled><option>{esc(text)}</option></select></label>"

        parts = []
        if self.has_district:
            parts.append(select("District", area_label(self.district.value)))
        parts.append(select("Period", self.periods[self.period.value][0].strip()))
        if self.has_group:
            parts.append(select(self.group.description, dict((v, k) for k, v in self.group.options).get(self.group.value, "")))
        return f'<div class="wb-filters-snapshot" aria-hidden="true">{"".join(parts)}<span>Filters are loading…</span></div>'


def financial_years(agg: Aggregates) -> list[list[Quarter]]:
    """The quarters of each financial year with data (April to March), oldest first; the first
    and last may be partial."""
    years: dict[str, list[Quarter]] = {}
    for q in agg.quarters():
        years.setdefault(q.financial_year, []).append(q)
    return list(years.values())


def period_options(agg: Aggregates) -> list[tuple[str, Period]]:
    """The periods a viewer can choose: each financial year (the latest up to the extract date)
    and each financial-year quarter, newest first; fixed boundaries only, so the periods shown
    never overlap except as a quarter inside its year (see docs/assumptions/disclosure_control.md)."""
    last = agg.last_month
    out: list[tuple[str, Period]] = []
    for quarters in reversed(financial_years(agg)):
        start, end = quarters[0].start, min(quarters[-1].end, last)
        first_month = quarters[0].start.month
        partial = first_month != 4 or quarters[-1].start.month != 1 or end < quarters[-1].end
        name = f"{quarters[0].financial_year} ({period_words(start, end)}{', so far' if partial and end == last else ''})"
        out.append((name, Period(pd.Timestamp(start), pd.Timestamp(end))))
        for q in reversed(quarters):
            out.append((f"  {quarter_option(q)}", Period(pd.Timestamp(q.start), pd.Timestamp(min(q.end, last)))))
    return out


def period_words(start: pd.Timestamp, end: pd.Timestamp) -> str:
    return f"{start:%b %Y}–{end:%b %Y}"


def quarter_option(q: Quarter) -> str:
    """e.g. "Oct–Dec 2025 (2025-26 Q3)"."""
    number = (q.start.month - 4) % 12 // 3 + 1
    return f"{q.label} ({q.financial_year} Q{number})"
