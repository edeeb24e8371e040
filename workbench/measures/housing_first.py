"""Housing First (strategy action 5.4): starts per district every six months, and tenancy
sustainment at 6, 12 and 24 months.

- **Housing First tenancy**: a settled tenancy with tenure ``housing_first``.
- **Tenancy lost**: the tenancy ended for a reason other than a planned move to other settled
  housing or death (eviction for arrears or anti-social behaviour, abandonment, custody, a
  long hospital or care admission, other or not known).
- **Sustainment at t months**: the Kaplan-Meier probability of not having lost the tenancy by
  t months (t x 365.25 / 12 days) after the start, with its 95% interval (log transform, as R's
  ``survival``). Tenancies still running at the extract date are censored there; planned moves
  and deaths are censored on the day (the person did not lose their home to a failure). Until
  enough tenancies have been followed for t months the estimate is blank.
- **Comparator**: the England Housing First pilots reported about 92% of people still in their
  tenancy at 12 months (and about 84% at 3 years); see ``/work/shared/reference/definitions.md``
  and the MHCLG evaluation of the Housing First pilots. Their measure is a simple share of those
  followed up, so it is close to, but not the same as, the Kaplan-Meier estimate here.

Tenancy end dates recorded late (blank though the tenancy ended) make sustainment look better
than it is; the data-quality scorecard counts long-open records.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from workbench.definitions import COUNTY, definition
from workbench.measures.periods import add_period
from workbench.measures.sources import as_sources

# km_table (Kaplan-Meier, with scipy) is imported where it is used: the dashboards import this
# module for its constants in every page kernel (docs/assumptions/dashboards.md).

NOT_LOST: tuple[str, ...] = tuple(definition("system_performance", "housing_first", "not_lost_end_reasons"))
DAYS_PER_MONTH = 365.25 / 12
ENGLAND_PILOTS_12_MONTHS: float = definition("system_performance", "housing_first", "england_pilots_sustained_12_months")


def housing_first_tenancies(source: Any) -> pd.DataFrame:
    """One row per Housing First tenancy: tenancy_id, person_id, district, start, end,
    end_reason, days (start to end or extract date), lost (1 = tenancy lost), status."""
    src = as_sources(source)
    st = src["settled_tenancies"]
    hf = st[(st["tenure"] == "housing_first") & st["start_date"].notna()]
    x = src.extract_date
    end = hf["end_date"].where(hf["end_date"] <= x)
    lost = end.notna() & ~hf["end_reason"].isin(NOT_LOST)
    status = np.select([lost, end.notna()], ["tenancy lost", "ended: " + hf["end_reason"].fillna("not recorded")],
                       "still in tenancy")
    out = pd.DataFrame({"tenancy_id": hf["tenancy_id"], "person_id": hf["person_id"], "district": hf["district"],
                        "start": hf["start_date"], "end": end, "end_reason": hf["end_reason"].where(end.notna()),
                        "days": (end.fillna(x) - hf["start_date"]).dt.days.astype(float),
                        "lost": lost.astype(int), "status": status})
    return out.reset_index(drop=True)


def housing_first_starts(source: Any, *, freq: str = "H", period_start: Any = None, period_end: Any = None) -> pd.DataFrame:
    """Housing First tenancies started per district (and the county) in each period (default:
    half-years): district, period, period_start, period_end, started."""
    t = housing_first_tenancies(source)
    if period_start is not None:
        t = t[t["start"] >= pd.Timestamp(period_start)]
    if period_end is not None:
        t = t[t["start"] <= pd.Timestamp(period_end)]
    t = add_period(t, "start", freq)  # type: ignore[arg-type]
    both = pd.concat([t, t.assign(district=COUNTY)], ignore_index=True)
    g = both.groupby(["district", "period", "period_start", "period_end"]).size().rename("started").reset_index()
    if g.empty:
        return g
    # every district appears in every period (zeros are real zeros, and protect_long needs them)
    full = pd.MultiIndex.from_product([sorted(set(g["district"])), sorted(set(zip(g["period"], g["period_start"], g["period_end"], strict=True)))])
    g = g.set_index(["district", "period", "period_start", "period_end"])["started"]
    idx = pd.MultiIndex.from_tuples([(d, *p) for d, p in full], names=g.index.names)
    return g.reindex(idx, fill_value=0).reset_index().sort_values(["period_start", "district"], ignore_index=True)


def tenancy_sustainment(
    source: Any,
    *,
    months: tuple[int, ...] = (6, 12, 24),
    by_district: bool = True,
    period_start: Any = None,
    period_end: Any = None,
) -> pd.DataFrame:
    """Kaplan-Meier sustainment at each of ``months`` for the county (and each district):
    district, months, sustained, lower, upper, tenancies, lost, still_followed (tenancies
    followed for at least that long), comparator (England pilots at 12 months)."""
    t = housing_first_tenancies(source)
    if period_start is not None:
        t = t[t["start"] >= pd.Timestamp(period_start)]
    if period_end is not None:
        t = t[t["start"] <= pd.Timestamp(period_end)]
    frames = [t.assign(district=COUNTY)] + ([t] if by_district else [])
    both = pd.concat(frames, ignore_index=True)
    times = [m * DAYS_PER_MONTH for m in months]
    from workbench.measures.survival import km_table

    tab = km_table(both, ["district"], duration="days", event="lost", times=times)
    rows = []
    for _, r in tab.iterrows():
        g = both[both["district"] == r["district"]]
        for m, tt in zip(months, times, strict=True):
            rows.append({"district": r["district"], "months": m, "sustained": r[f"surv_{tt:g}"],
                         "lower": r[f"surv_{tt:g}_lower"], "upper": r[f"surv_{tt:g}_upper"],
                         "tenancies": int(r["n"]), "lost": int(r["events"]),
                         "still_followed": int((g["days"] >= tt).sum()),
                         "comparator": ENGLAND_PILOTS_12_MONTHS if m == 12 else np.nan, "method": r["method"]})
    return pd.DataFrame(rows, columns=["district", "months", "sustained", "lower", "upper", "tenancies", "lost",
                                       "still_followed", "comparator", "method"])
