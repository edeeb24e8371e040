"""The supported housing page: how stays in supported accommodation ended and what happened next."""

from __future__ import annotations

import numpy as np
import pandas as pd

from workbench.dashboards.aggregates import COUNTY, Aggregates
from workbench.dashboards.charts import bar_chart
from workbench.dashboards.filters import FilterState
from workbench.dashboards.format import codes, during, fmt_count, label, period_label, plural
from workbench.dashboards.pages.common import (
    area_rows,
    cohort_period,
    not_available,
    outcome_panel,
    place_name,
    shares_panel,
)
from workbench.dashboards.panels import PanelContent
from workbench.dashboards.protection import (
    cell,
    crosstab,
    protect,
    ranked,
    share,
    total_for_shares,
    true_cell,
    true_sum,
    with_rates,
    with_shares,
)
from workbench.dashboards.tables import TableSpec
from workbench.measures.benchmarking import SETTLED_DESTINATIONS
from workbench.measures.supported_housing import settled_home_kept
from workbench.reporting.policy import DisclosurePolicy
from workbench.reporting.protected_table import ProtectedTable


def move_on_panel(agg: Aggregates, state: FilterState, policy: DisclosurePolicy, key: str,
                   model: str | None = None) -> PanelContent:
    title = "How stays in supported accommodation ended"
    if not agg.available("sa_departures"):
        return not_available(key, title, "Figures on supported accommodation")
    df = area_rows(agg, "sa_departures", state, model=model)
    where, when = place_name(state), period_label(state.period)
    svc = f" ({label('accommodation_model', model)})" if model else ""

    def headline(pt: ProtectedTable, noun: str) -> str:
        total = cell(pt, "Total", "Stays ended")
        if total is None or total == 0:
            return f"No stays in supported accommodation{svc} that ended {during(state.period)} in {where} can be shown."
        pct = share(true_cell(pt, label("departure_reason", "planned_move_on"), "Stays ended"),
                    total_for_shares(pt, "Total", "Stays ended"), policy)
        lead = f"Of the {fmt_count(total)} stays in supported accommodation{svc} that ended {during(state.period)} in {where}, "
        return lead + (f"{pct:.0f}% ended in a planned move-on." if pct is not None
                       else "the share ending in a planned move-on is hidden to protect privacy.")

    defs = ("Counts stays (episodes) in supported accommodation by the month they ended and the reason the "
            "provider recorded. Planned move-on share = planned move-ons out of all stays that ended, including "
            "transfers to another supported service.")
    return outcome_panel(key, title, df, "departure_reason", codes("departure_reason"), "departure_reason", policy, state,
                          noun="stays", caption=f"Stays ended by reason, {when}, {where}", headline=headline,
                          definitions=defs, stem="supported_accommodation_stays_ended", column="Stays ended")



def supported_panels(agg: Aggregates, state: FilterState, policy: DisclosurePolicy) -> list[PanelContent]:
    if not agg.available("sa_departures"):
        return [not_available("sa", "Supported housing outcomes", "Figures on supported housing")]
    model = state.group or None
    where, when = place_name(state), period_label(state.period)
    out = [move_on_panel(agg, state, policy, "sa-ended", model=model)]
    # planned move-on by type of service
    df = area_rows(agg, "sa_departures", state)
    models = codes("accommodation_model")
    dd = df.assign(result=np.where(df["departure_reason"] == "planned_move_on", "Planned move-on", "Other endings"))
    t = crosstab(dd, "model", "result", row_order=models, col_order=["Planned move-on", "Other endings"])
    t.index = [label("accommodation_model", m) for m in t.index]
    pt = with_rates(protect(t, policy, row_total=True, col_total=True, index_name="Type of service"),
                    {"Planned move-on (%)": ("Planned move-on", "Total")})
    labels = [label("accommodation_model", m) for m in models]
    rates = [cell(pt, lab, "Planned move-on (%)") for lab in labels]
    # shares from the true counts (the table's column); named only when rounding cannot reorder them
    true_rates = {lab: share(true_cell(pt, lab, "Planned move-on"), total_for_shares(pt, lab, "Total"), policy)
                  if cell(pt, lab, "Planned move-on (%)") is not None else None for lab in labels}
    ends = ranked(true_rates)
    n_hidden = sum(1 for lab in labels if true_rates[lab] is None and cell(pt, lab, "Total") != 0)
    among = f" (of the {sum(v is not None for v in true_rates.values())} types whose figures can be shown)" if n_hidden else ""
    if ends is not None:
        hi, lo = ends
        head = (f"In {where}, stays that ended {during(state.period)} most often ended in a planned move-on in "
                f"{hi} ({true_rates[hi]:.0f}%) and least often in {lo} ({true_rates[lo]:.0f}%){among}.")
    elif sum(v is not None for v in true_rates.values()) >= 2:
        head = (f"In {where}, the share of stays ending in a planned move-on {during(state.period)} is too close "
                "between types of service to say which was highest or lowest.")
    else:
        head = f"Too few stays ended in {where} {during(state.period)} to compare types of service."
    out.append(PanelContent(
        key="sa-by-model", title="Planned move-on by type of service", headline=head,
        chart=bar_chart("sa-by-model", state.key, labels, rates, unit="percent", title=f"Planned move-on by type of service, {where}", desc=head),
        tables=[TableSpec(pt, f"Stays ended by type of service, {when}, {where}", "planned_move_on_by_service_type",
                          rate_columns=("Planned move-on (%)",))],
        definitions=("Differences between types of service partly reflect who each service takes in (for example "
                     "people with higher needs go to congregate hostels); the supported housing study (action 7.3) "
                     "adjusts for needs at entry. These are descriptive figures."),
    ))
    # where people went
    dm = df if model is None else df[df["model"] == model]
    dest = codes("destination")
    t3 = crosstab(dm, "destination", None, row_order=dest, col_name="Stays ended")
    t3.index = [label("destination", d) for d in t3.index]
    pt3 = with_shares(protect(t3, policy, col_total=True, index_name="Went to"), "Stays ended")
    tot3 = cell(pt3, "Total", "Stays ended")
    settled = true_sum(pt3, [label("destination", d) for d in SETTLED_DESTINATIONS], "Stays ended")
    p3 = share(settled, total_for_shares(pt3, "Total", "Stays ended"), policy) if tot3 is not None else None
    svc = f" ({label('accommodation_model', model)})" if model else ""
    head3 = (f"{p3:.0f}% of people leaving supported accommodation{svc} in {where} {during(state.period)} went to a settled home "
             "(social or private rented, or Housing First)." if p3 is not None else
             f"The share of people leaving supported accommodation{svc} in {where} {during(state.period)} for a settled home is hidden to protect privacy.")
    labels3 = [label("destination", d) for d in dest]
    out.append(shares_panel(
        "sa-destinations", "Where people went when they left", head3, state, pt3, labels3, "Stays ended", policy,
        chart_title=f"Destinations on leaving supported accommodation, {where}",
        caption=f"Destinations of stays ended, {when}, {where}", stem="supported_accommodation_destinations",
        definitions="Destination as the provider recorded it when the stay ended.",
    ))
    # kept the settled home for 12 months
    dk = area_rows(agg, "sa_departures", state, month_shift=12, model=model)
    dk = settled_home_kept(dk).assign(
        result=lambda d: np.where(d["kept"], "Kept it 12 months", "Lost it, returned or died"))
    t4 = crosstab(dk, "model", "result", row_order=models, col_order=["Kept it 12 months", "Lost it, returned or died"])
    t4.index = [label("accommodation_model", m) for m in t4.index]
    pt4 = with_rates(protect(t4, policy, row_total=True, col_total=True, index_name="Type of service"),
                     {"Kept (%)": ("Kept it 12 months", "Total")})
    n4, r4 = cell(pt4, "Total", "Total"), cell(pt4, "Total", "Kept (%)")
    cohort = period_label(cohort_period(state, 12))
    head4 = (f"Of the {fmt_count(n4)} people who left supported accommodation{svc} for a settled home {during(cohort_period(state, 12))} in {where}, "
             f"{r4:.0f}% still had a settled home 12 months later." if n4 and r4 is not None else
             f"How many people who moved on {during(cohort_period(state, 12))} kept their settled home for 12 months is hidden or not known yet.")
    labels4 = [label("accommodation_model", m) for m in models]
    out.append(PanelContent(
        key="sa-kept", title="Kept their settled home for 12 months", headline=head4,
        chart=bar_chart("sa-kept", state.key, labels4, [cell(pt4, lab, "Kept (%)") for lab in labels4], unit="percent",
                        title=f"Kept their settled home for 12 months, {where}", desc=head4),
        tables=[TableSpec(pt4, f"Moved on to a settled home in {cohort}: outcome at 12 months, {where}", "kept_settled_home_12_months",
                          rate_columns=("Kept (%)",))],
        definitions=("People who moved into a settled tenancy within 14 days of leaving, whose first 12 months ended in "
                     "the chosen period. Kept = the tenancy had not ended (other than by a planned move), and they had "
                     "not returned to homelessness or died, 12 months after moving in (supported housing study definitions)."),
    ))
    # length of stay
    bands = codes("stay_length")
    t5 = crosstab(dm, "stay_length", None, row_order=bands, col_name="Stays ended")
    t5.index = [label("stay_length", b) for b in t5.index]
    pt5 = with_shares(protect(t5, policy, col_total=True, index_name="Length of stay"), "Stays ended")
    tot5 = cell(pt5, "Total", "Stays ended")
    long_ = true_sum(pt5, [label("stay_length", b) for b in ("1_to_2_years", "over_2_years")], "Stays ended")
    p5 = share(long_, total_for_shares(pt5, "Total", "Stays ended"), policy) if tot5 is not None else None
    head5 = (f"{p5:.0f}% of the stays{svc} that ended in {where} {during(state.period)} had lasted more than a year."
             if p5 is not None else f"How long stays{svc} lasted in {where} {during(state.period)} is hidden to protect privacy.")
    labels5 = [label("stay_length", b) for b in bands]
    out.append(shares_panel(
        "sa-length", "How long people stayed", head5, state, pt5, labels5, "Stays ended", policy,
        chart_title=f"Length of stay, {where}", caption=f"Length of stays ended, {when}, {where}",
        stem="supported_accommodation_length_of_stay", definitions="From the start to the end of the stay.",
    ))
    # current residents
    cur = agg.select("sa_current", district=None if state.area == COUNTY else state.area)
    t6 = crosstab(cur, "model", None, row_order=models, col_name="People resident") if len(cur) else \
        pd.DataFrame({"People resident": [0] * len(models)}, index=models)
    t6.index = [label("accommodation_model", m) for m in t6.index]
    pt6 = protect(t6, policy, col_total=True, index_name="Type of service")
    n6 = cell(pt6, "Total", "People resident")
    ex = agg.extract_date
    head6 = (f"On {ex.day} {ex:%B %Y}, {fmt_count(n6)} {plural(n6, 'stay was', 'stays were')} open in supported accommodation in {where}."
             if n6 is not None else f"The number of people in supported accommodation in {where} is hidden to protect privacy.")
    out.append(PanelContent(
        key="sa-current", title="Living in supported accommodation on the extract date", headline=head6,
        chart=bar_chart("sa-current", state.key, labels4, [cell(pt6, lab, "People resident") for lab in labels4],
                        title=f"Open stays by type of service, {where}", desc=head6),
        tables=[TableSpec(pt6, f"Open stays on {ex.day} {ex:%B %Y}, {where}", "supported_accommodation_open_stays")],
        definitions="Stays that had started and not ended by the extract date; not affected by the period filter.",
    ))
    return out
