"""Commissioner-facing versions of the system performance study's tables (issue 9).

The study (:mod:`workbench.studies.system_performance`) returns exact tables for researchers;
:func:`protected_tables` takes its result and puts the main tables through disclosure control
(:mod:`workbench.reporting.measure_tables`).
"""

from __future__ import annotations

from workbench.definitions import COUNTY
from workbench.measures import by_name_list
from workbench.reporting.measure_tables import protect_breakdown, protect_tidy
from workbench.reporting.policy import DisclosurePolicy
from workbench.reporting.protected_table import ProtectedTable
from workbench.studies.base import StudyResult


def protected_tables(result: StudyResult, policy: DisclosurePolicy | None = None) -> dict[str, ProtectedTable]:
    """Commissioner-facing versions of the main tables, through disclosure control.

    Returns name -> :class:`~workbench.reporting.protected_table.ProtectedTable` (``.values`` for
    display, ``.numeric`` for charts, ``.footnote`` to print under it). Tables a measure could not
    fill (too little data) are left out."""
    policy = policy or DisclosurePolicy()
    T = {name: t for name, t in result.tables.items() if len(t)}  # a measure without data has nothing to show
    county = {"district": COUNTY}
    out: dict[str, ProtectedTable] = {}
    if "bnl_monthly" in T:
        m = T["bnl_monthly"]
        out["bnl_active"] = protect_tidy(m[["district", "period", "active_end"]], ["active_end"], by=["period", "district"],
                                         totals=county, policy=policy)
        for flow, reasons in (("inflow", list(by_name_list.ENTRY_REASONS)), ("outflow", list(by_name_list.EXIT_REASONS))):
            long = m.melt(id_vars=["district", "period"], value_vars=reasons, var_name="reason", value_name="people")
            out[f"bnl_{flow}"] = protect_breakdown(long, "people", row="district", column="reason", strata=["period"],
                                                   row_total=COUNTY, column_total=flow, policy=policy)
    if "bnl_time_to_move_in" in T:
        out["bnl_time_to_move_in"] = protect_tidy(
            T["bnl_time_to_move_in"], ["housed", "within_brief"], by=["period", "district"], totals=county,
            rates={"share_within_brief": ("within_brief", "housed")},
            summaries={"mean_days": "housed", "median_days": "housed"}, policy=policy)
    if "district_indicators" in T:
        out["district_indicators"] = protect_tidy(
            T["district_indicators"], ["numerator", "denominator"], by=["district", "indicator"], totals=county,
            rates={"rate": ("numerator", "denominator")}, intervals={"rate_lower": "rate", "rate_upper": "rate"},
            policy=policy)
    if "duty_outcomes" in T:
        out["duty_outcomes"] = protect_breakdown(T["duty_outcomes"], "count", row="district", column="end_reason",
                                                 strata=["duty", "period"], row_total=COUNTY, column_total="all ended",
                                                 policy=policy)
    if "housing_first_starts" in T:
        out["housing_first_starts"] = protect_tidy(T["housing_first_starts"], ["started"], by=["period", "district"],
                                                   totals=county, policy=policy)
    if "equality_outcomes" in T:
        out["equality_outcomes"] = protect_tidy(
            T["equality_outcomes"], ["successes", "n"], by=["group", "outcome"], strata=["characteristic"],
            rates={"rate": ("successes", "n")},
            intervals={"rate_lower": "rate", "rate_upper": "rate", "risk_ratio": "rate", "rr_lower": "rate",
                       "rr_upper": "rate"}, policy=policy)
    return out
