"""The new arrivals page: people seen sleeping rough for the first time in five years, and their
earlier contact with services."""

from __future__ import annotations

import pandas as pd

from workbench.dashboards.aggregates import INSTITUTION_WINDOW_DAYS, NEW_LOOKBACK_MONTHS, Aggregates
from workbench.dashboards.charts import bar_chart, line_chart
from workbench.dashboards.filters import FilterState
from workbench.dashboards.format import (
    codes,
    during,
    fmt_count,
    label,
    month_label,
    period_label,
    plural,
)
from workbench.dashboards.pages.common import area_rows, not_available, place_name, shares_panel
from workbench.dashboards.panels import PanelContent
from workbench.dashboards.protection import (
    cell,
    crosstab,
    largest,
    protect,
    share,
    shares_of_total,
    total_for_shares,
    true_cell,
    with_shares,
)
from workbench.dashboards.tables import TableSpec
from workbench.reporting.policy import DisclosurePolicy
from workbench.reporting.rates import protect_rate

ARRIVAL_GROUPS: tuple[tuple[str, str], ...] = (
    ("Age group", "age_band"),
    ("Gender", "gender"),
    ("Nationality", "nationality"),
)


def study_headline_panel(agg: Aggregates, policy: DisclosurePolicy) -> PanelContent:
    """The new arrivals study's headline, as the study states it: the share who had presented
    before, corrected for linkage error where that was measured, with its 95% interval. One
    county figure for the study's period (the filters do not change it)."""
    key, title = "arrivals-study", "Had they asked for help before? The study's estimate"
    if not agg.available("new_arrivals_headline"):
        return not_available(key, title, "The study's estimate")
    h = agg["new_arrivals_headline"].iloc[0]
    # Shown only if the counts behind it could be shown (whole percentages of hundreds of people).
    if protect_rate(int(h["presented"]), int(h["arrivals"]), policy, per=100, proportion=True).suppressed:
        return PanelContent(key=key, title=title, notice="Hidden to protect privacy: too few people.",
                            headline="The study's estimate is hidden to protect privacy.")
    start, end = (pd.Timestamp(h["period_start"]).strftime("%B %Y"), pd.Timestamp(h["period_end"]).strftime("%B %Y"))
    figure = (f"{100 * h['estimate']:.0f}% (95% interval {100 * h['lower']:.0f}% to {100 * h['upper']:.0f}%)")
    who = (f"of people newly seen sleeping rough in Oxfordshire between {start} and {end} had been in touch with a "
           "council, hospital, prison or supported housing in the 2 years before")
    if h["method"] == "corrected by arrival review":
        head = f"{figure} {who}, allowing for people wrongly linked or not linked between services."
        how = ("Corrected for linkage error: reviewers checked a random sample of the new arrivals by hand (were they "
               "really new, had they really been in touch before), and the figure and its interval allow for what "
               f"they found and for chance. Before the correction the linked records give {100 * h['uncorrected']:.0f}%.")
        notice = ""
    elif h["method"] == "true linkage":
        head = f"{figure} {who}."
        how = "The synthetic county linked with its true people: there is no linkage error to allow for."
        notice = ""
    else:
        head = f"At least about {100 * h['estimate']:.0f}% {who} (not corrected for linkage error)."
        how = ("Not corrected for linkage error: nobody has yet checked a sample of the new arrivals by hand. People "
               "whose records were not joined up are counted as new and as not having been in touch, so the true "
               f"share is probably higher than this (95% interval for chance alone {100 * h['lower']:.0f}% to "
               f"{100 * h['upper']:.0f}%).")
        notice = "Not yet corrected for linkage error: read it as a lower figure, not the answer."
    return PanelContent(
        key=key, title=title, headline=head, notice=notice,
        definitions=(f"{how} The study's own figure for the whole county and its period, the same as in the new "
                     "arrivals study (action 3.2); the district and period filters do not change it. Only people "
                     "with 2 years of records before they arrived are counted."),
    )


def arrivals_panels(agg: Aggregates, state: FilterState, policy: DisclosurePolicy) -> list[PanelContent]:
    if not agg.available("new_arrivals"):
        return [not_available("arrivals", "New arrivals on the streets", "Figures on new arrivals")]
    where, when = place_name(state), period_label(state.period)
    df = area_rows(agg, "new_arrivals", state)
    group = state.group or "age_band"
    vocab = group
    out = []
    # 1. by month
    months = state.period.months()
    t = crosstab(df, "month", None, row_order=list(months), col_name="People newly seen")
    t.index = [month_label(m) for m in months]
    pt = protect(t, policy, col_total=True, index_name="Month")
    total = cell(pt, "Total", "People newly seen")
    head = (f"{fmt_count(total)} {plural(total or 0, 'person was', 'people were')} seen sleeping rough in {where} for the first time "
            f"in {NEW_LOOKBACK_MONTHS // 12} years {during(state.period)}." if total is not None else
            f"The number of people newly seen sleeping rough in {where} {during(state.period)} is hidden to protect privacy.")
    chart = line_chart("arrivals-month", state.key, list(months),
                       {"People newly seen": [cell(pt, month_label(m), "People newly seen") for m in months]},
                       title=f"People newly seen sleeping rough by month, {where}", desc=head)
    out.append(PanelContent(
        key="arrivals-month", title="People newly seen sleeping rough", headline=head, chart=chart,
        tables=[TableSpec(pt, f"People newly seen sleeping rough by month, {where}", "new_arrivals_by_month")],
        definitions=(f"A new arrival is a person seen bedded down by outreach workers with no such sighting anywhere "
                     f"in Oxfordshire in the previous {NEW_LOOKBACK_MONTHS} months (Ending Rough Sleeping Data "
                     "Framework), counted once, in the month and district where they were first seen. The data begin "
                     "in January 2018, so arrivals before 2023 have a shorter look-back."),
    ))
    # 2. who
    order = codes(vocab)  # every group offered (age band, gender, nationality) has a code list
    t2 = crosstab(df, group, None, row_order=order, col_name="People newly seen")
    t2.index = [label(vocab, c) for c in t2.index]
    pt2 = with_shares(protect(t2, policy, col_total=True, index_name=dict((v, k) for k, v in ARRIVAL_GROUPS)[group]),
                      "People newly seen")
    labels2 = [label(vocab, c) for c in order]
    shares2 = shares_of_total(pt2, labels2, "People newly seen", policy)
    shown = {lab: v for lab, v in zip(labels2, shares2, strict=True) if v is not None}
    gname = dict((v, k) for k, v in ARRIVAL_GROUPS)[group].lower()
    top = largest(shown)
    head2 = (f"The largest {gname} among people newly seen sleeping rough in {where} {during(state.period)} was "
             f"{top} ({shown[top]:.0f}%)." if top is not None else
             f"No single {gname} was clearly the largest among people newly seen sleeping rough in {where} "
             f"{during(state.period)}." if len(shown) >= 2 else
             f"The breakdown by {gname} for {where} {during(state.period)} is hidden to protect privacy.")
    out.append(PanelContent(
        key="arrivals-who", title=f"Who was newly seen, by {gname}", headline=head2,
        chart=bar_chart("arrivals-who", state.key, labels2, shares2, unit="percent", title=f"New arrivals by {gname}, {where}", desc=head2),
        tables=[TableSpec(pt2, f"People newly seen sleeping rough by {gname}, {when}, {where}", f"new_arrivals_by_{group}",
                          rate_columns=("Share (%)",))],
        definitions="As recorded by the outreach worker at the first sighting; age is the age given or estimated.",
    ))
    # 3. the study's headline, then earlier contact with services as linked
    out.append(study_headline_panel(agg, policy))
    routes = codes("route")
    t3 = crosstab(df, "route", None, row_order=routes, col_name="People newly seen")
    t3.index = [label("route", r) for r in t3.index]
    pt3 = with_shares(protect(t3, policy, col_total=True, index_name="Earlier contact"), "People newly seen")
    # shares from the true counts, rounded only for display
    true_tot = total_for_shares(pt3, "Total", "People newly seen")
    none = true_cell(pt3, label("route", "none"), "People newly seen")
    inst = true_cell(pt3, label("route", "institution_discharge"), "People newly seen")
    presented = None if true_tot is None or none is None else true_tot - none
    p_pres, p_inst = share(presented, true_tot, policy), share(inst, true_tot, policy)
    head3 = (f"As the records are linked, {p_pres:.0f}% of the people newly seen sleeping rough in {where} {during(state.period)} "
             "had been in touch with a council, hospital, prison or supported housing in the 2 years before (not corrected "
             "for linkage error: see the study's estimate above)" if p_pres is not None else
             f"How many people newly seen in {where} {during(state.period)} had been in touch with services before is hidden to protect privacy")
    head3 += (f"; {p_inst:.0f}% had left hospital or prison in the {INSTITUTION_WINDOW_DAYS} days before." if p_inst is not None else ".")
    labels3 = [label("route", r) for r in routes]
    out.append(shares_panel(
        "arrivals-contact", "Had they been in touch with services before?", head3, state, pt3, labels3,
        "People newly seen", policy, chart_title=f"Earlier contact of new arrivals, {where}",
        caption=f"Earlier contact of people newly seen sleeping rough, {when}, {where}", stem="new_arrivals_earlier_contact",
        definitions=("Each person is counted once, under the first of these that applies (in the order listed), looking back "
                     "24 months across all districts: leaving hospital or prison within 85 days, a council duty ending "
                     "with contact lost or 56 days elapsed, eviction from or abandoning supported accommodation, an "
                     "approach to another district, and so on. Records are matched between services by the linkage, "
                     "which can miss or wrongly join some people. Contact data begin in April 2018."),
        notice=("Descriptive figures. The new arrivals study (action 3.2) adds confidence intervals, linkage "
                "sensitivity and the paths people took; the research team runs it with 'workbench study new_arrivals'."),
    ))
    return out
