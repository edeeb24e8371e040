"""Rough sleeping counts for the dashboards' aggregates: people seen bedded down each month with
their CHAIN status, and new arrivals on the streets with who they were and their earlier contact
with services (the cohorts of :mod:`workbench.cohorts.rough_sleeping`)."""

from __future__ import annotations

import pandas as pd

from workbench.cohorts.rough_sleeping import (
    ROUTE_LABELS,
    ROUTE_PRIORITY,
    arrival_paths,
    chain_classification,
    earlier_contacts,
    new_arrivals,
)
from workbench.definitions import DISTRICTS, definition
from workbench.measures.monthly_counts import band, count_by, month_start, yes_no

#: Age at the first sighting, by exclusive upper bound in years.
AGE_BANDS: tuple[tuple[str, int], ...] = (
    ("16_to_17", 18),
    ("18_to_25", 26),
    ("26_to_35", 36),
    ("36_to_45", 46),
    ("46_to_55", 56),
    ("56_and_over", 10**9),
)


def route_labels() -> dict[str, str]:
    """Label of each route of earlier contact, in the order a person is assigned one, then none."""
    return {r: ROUTE_LABELS[r] for r in (*ROUTE_PRIORITY, "none")}


def people_seen_counts(outreach: pd.DataFrame, county: str) -> pd.DataFrame:
    """People seen bedded down per month and CHAIN status, by district (``area``) and for the
    county (``area == county``)."""
    chain = chain_classification(outreach, freq="M")
    if not len(chain):
        return count_by(pd.DataFrame(columns=["area", "month", "status"]), ["area", "month", "status"])
    chain["month"] = chain["period"].dt.to_timestamp()
    # a person seen in two districts in a month counts once in each, and once in the county
    by_district = chain.assign(area=chain["districts"].str.split(";")).explode("area")
    by_district = by_district[by_district["area"].isin(DISTRICTS)]
    in_county = chain.assign(area=county)
    return pd.concat([count_by(by_district, ["area", "month", "status"]),
                      count_by(in_county, ["area", "month", "status"])], ignore_index=True)


def new_arrival_counts(tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """New arrivals on the streets with who they were and whether they had presented before."""
    window = int(definition("new_arrivals", "institution_window_days"))
    arrivals = new_arrivals(tables["outreach_contacts"])
    paths = arrival_paths(arrivals, earlier_contacts(arrivals, tables))
    frame = pd.DataFrame({
        "district": paths["arrival_district"],
        "month": month_start(paths["arrival_date"]),
        "gender": paths["gender"].fillna("not_known"),
        "nationality": paths["nationality"].fillna("not_known"),
        "age_band": band(paths["age"], AGE_BANDS),
        "route": paths["route"].fillna("none"),
        "presented_85d": yes_no(paths.get(f"presented_{window}d", pd.Series(False, index=paths.index))),
        "presented_12m": yes_no(paths.get("presented_12m", pd.Series(False, index=paths.index))),
        "lookback_complete": yes_no(paths["lookback_complete"]),
        "contact_history_complete": yes_no(paths["contact_history_complete"]),
    })
    return count_by(frame, list(frame.columns))
