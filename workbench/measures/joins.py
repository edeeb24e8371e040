"""The "joins" between services (strategy action 1.1): how long people wait at each handover.

Each handover starts with a dated event for a person and ends with the first qualifying event of
the same person on or after it (the same day counts, as 0 days):

- ``hospital_discharge_to_accommodation``: discharge from a general or mental health hospital of
  a person homeless or at risk (``institutional_discharges``; discharges to the person's own
  settled home are left out) -> the start of a stay in supported accommodation or of a settled
  tenancy;
- ``prison_release_to_accommodation``: release from prison or approved premises (same rules);
- ``first_outreach_contact_to_accommodation``: the first outreach contact of a street episode
  (no contact in the previous ``inactive_after_days``, 90, days) -> the start of supported
  accommodation or a settled tenancy. Offers of accommodation are not in the extracts, so the
  handover is measured to entry;
- ``supported_accommodation_to_move_on``: the start of a stay in supported accommodation (not
  Housing First) -> a settled tenancy starting during the stay or within ``grace_days`` (14) of
  its end. A stay that ended any other way leaves the handover (censored at its end);
- ``prevention_duty_to_outcome`` / ``relief_duty_to_outcome``: the start of the duty -> its end,
  whatever the reason.

Handovers that start before ``history_start`` are left out (what happened before then is not in
the extracts).

**Censoring.** A handover not yet made is censored: at the extract date (still waiting), at death,
at the end of the handover window (``system_performance.joins.window_days``, 365 days for the
accommodation handovers: a move a year or more later is not this handover), or when a supported
stay ends without a move-on. Medians are Kaplan-Meier medians over everyone who started the
handover, with their 95% intervals; medians of the completed handovers alone (biased towards
quick ones) are shown beside them with the number censored. Kaplan-Meier treats the censored as
if they would have waited like those still waiting, which for deaths and stays ending otherwise is
an assumption (noted in ``docs/assumptions/system_performance.md``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from workbench.definitions import COUNTY, definitions, history_start
from workbench.measures.periods import add_period
from workbench.measures.sources import as_sources
from workbench.measures.survival import km_table

HANDOVERS: dict[str, str] = {
    "hospital_discharge_to_accommodation": "Hospital discharge to supported accommodation or a settled tenancy",
    "prison_release_to_accommodation": "Prison release to supported accommodation or a settled tenancy",
    "first_outreach_contact_to_accommodation": "First outreach contact of a street episode to supported accommodation or a settled tenancy",
    "supported_accommodation_to_move_on": "Supported accommodation entry to a settled move-in",
    "prevention_duty_to_outcome": "Prevention duty start to its end",
    "relief_duty_to_outcome": "Relief duty start to its end",
}
COLUMNS = ["handover", "person_id", "district", "from_date", "to_date", "days", "event", "status", "to_kind"]


def settings() -> dict[str, Any]:
    d = definitions()
    cfg = dict(d["system_performance"]["joins"])
    cfg["episode_gap_days"] = d["by_name_list"]["inactive_after_days"]
    cfg["grace_days"] = d["returns"]["grace_days"]
    return cfg


def _accommodation_starts(src) -> pd.DataFrame:
    sa, st = src["supported_accommodation"], src["settled_tenancies"]
    parts = [pd.DataFrame({"person_id": sa.person_id, "to_date": sa.start_date, "to_kind": "supported_accommodation"}),
             pd.DataFrame({"person_id": st.person_id, "to_date": st.start_date, "to_kind": "settled_tenancy"})]
    out = pd.concat(parts, ignore_index=True).dropna(subset=["person_id", "to_date"])
    out["to_date"] = pd.to_datetime(out["to_date"])
    return out.sort_values(["to_date", "to_kind"], ignore_index=True)


def _first_after(starts: pd.DataFrame, targets: pd.DataFrame) -> pd.DataFrame:
    """For each start (person_id, from_date), the first target on or after it."""
    left = starts.reset_index().sort_values("from_date")
    right = targets.sort_values("to_date")
    m = pd.merge_asof(left, right, left_on="from_date", right_on="to_date", by="person_id", direction="forward",
                      allow_exact_matches=True)
    return m.set_index("index").sort_index()


def _close(frame: pd.DataFrame, handover: str, extract: pd.Timestamp, deaths: pd.Series,
           window_days: int | None, stop: pd.Series | None = None, stop_status: str = "") -> pd.DataFrame:
    """Turn (from_date, to_date) into time-to-event rows with the censoring rules."""
    f = frame.copy()
    f["handover"] = handover
    death = pd.to_datetime(f["person_id"].map(deaths))
    death = death.where(death >= f["from_date"])
    limit = pd.Series(extract, index=f.index)
    status = pd.Series("waiting at extract date", index=f.index, dtype=object)
    if window_days is not None:
        w = f["from_date"] + pd.Timedelta(days=int(window_days))
        status = status.mask(w < limit, f"not within {window_days} days")
        limit = limit.where(w >= limit, w)
    if stop is not None:
        s = pd.to_datetime(stop)
        earlier = s.notna() & (s < limit)
        status = status.mask(earlier, stop_status)
        limit = limit.where(~earlier, s)
    died = death.notna() & (death < limit)
    status = status.mask(died, "died")
    limit = limit.where(~died, death)
    made = f["to_date"].notna() & (f["to_date"] <= limit)
    f["event"] = made.astype(int)
    f["status"] = status.mask(made, "handed over")
    f["to_kind"] = f["to_kind"].where(made)
    f["to_date"] = f["to_date"].where(made)
    f["days"] = np.where(made, (f["to_date"] - f["from_date"]).dt.days, (limit - f["from_date"]).dt.days).astype(float)
    return f[COLUMNS]


def handover_events(source: Any, handovers: list[str] | None = None) -> pd.DataFrame:
    """One row per handover started: handover, person_id, district, from_date, to_date, days,
    event (1 = handed over, 0 = censored), status (handed over / waiting at extract date / not
    within N days / died / stay ended without move-on / duty still open), to_kind."""
    src = as_sources(source)
    cfg = settings()
    x = src.extract_date
    dd = src["deaths"]
    deaths = dd.dropna(subset=["date_of_death"]).groupby("person_id")["date_of_death"].min() if len(dd) else pd.Series(dtype="datetime64[ns]")
    wanted = handovers or list(HANDOVERS)
    unknown = set(wanted) - set(HANDOVERS)
    if unknown:
        raise ValueError(f"unknown handovers {sorted(unknown)}; known: {list(HANDOVERS)}")
    targets = _accommodation_starts(src)
    out = []
    di = src["institutional_discharges"]
    for name, kinds in (("hospital_discharge_to_accommodation", cfg["hospitals"]),
                        ("prison_release_to_accommodation", cfg["prisons"])):
        if name not in wanted:
            continue
        d = di[di["institution_type"].isin(kinds) & (di["accommodation_on_release"] != "settled")]
        starts = pd.DataFrame({"person_id": d.person_id, "district": d.district, "from_date": d.discharge_date}).dropna(subset=["from_date"])
        out.append(_close(_first_after(starts, targets), name, x, deaths, cfg["window_days"]))
    if "first_outreach_contact_to_accommodation" in wanted:
        oc = src["outreach_contacts"].dropna(subset=["contact_date"]).sort_values(["person_id", "contact_date"])
        gap = oc.groupby("person_id")["contact_date"].diff().dt.days
        first = oc[gap.isna() | (gap > cfg["episode_gap_days"])]
        starts = pd.DataFrame({"person_id": first.person_id, "district": first.district, "from_date": first.contact_date})
        out.append(_close(_first_after(starts, targets), "first_outreach_contact_to_accommodation", x, deaths, cfg["window_days"]))
    if "supported_accommodation_to_move_on" in wanted:
        sa = src["supported_accommodation"]
        s = sa[(sa["model"] != "housing_first") & sa["start_date"].notna()]
        starts = pd.DataFrame({"person_id": s.person_id, "district": s.district, "from_date": s.start_date})
        tenancies = targets[targets["to_kind"] == "settled_tenancy"]
        m = _first_after(starts, tenancies)
        # a move-on belongs to the stay: it starts before the stay ended + grace
        stay_end = s["end_date"]
        belongs = m["to_date"].notna() & (stay_end.isna() | (m["to_date"] <= stay_end + pd.Timedelta(days=cfg["grace_days"])))
        m["to_date"] = m["to_date"].where(belongs)
        # the handover closes grace_days after a stay that ended without a move-on
        out.append(_close(m, "supported_accommodation_to_move_on", x, deaths, None,
                          stop=stay_end + pd.Timedelta(days=cfg["grace_days"]), stop_status="stay ended without move-on"))
    sc = src["statutory_cases"]
    for name, start, end, reason in (("prevention_duty_to_outcome", "prevention_duty_start", "prevention_duty_end", "prevention_duty_end_reason"),
                                     ("relief_duty_to_outcome", "relief_duty_start", "relief_duty_end", "relief_duty_end_reason")):
        if name not in wanted:
            continue
        d = sc[sc[start].notna()]
        f = pd.DataFrame({"person_id": d.person_id, "district": d.district, "from_date": d[start], "to_date": d[end],
                          "to_kind": d[reason]})
        r = _close(f, name, x, pd.Series(dtype="datetime64[ns]"), None)
        r["status"] = r["status"].replace({"waiting at extract date": "duty still open"})
        out.append(r)
    if not out:
        return pd.DataFrame(columns=COLUMNS)
    ev = pd.concat(out, ignore_index=True)
    # Handovers starting before the history begins are left out: what happened to them before
    # then is not in the extracts (and stays still open then are the long ones).
    return ev[ev["from_date"] >= pd.Timestamp(history_start())].reset_index(drop=True)


def handover_summary(
    events: pd.DataFrame,
    *,
    freq: str | None = "Y",
    period_start: Any = None,
    period_end: Any = None,
    within_days: list[int] | None = None,
) -> pd.DataFrame:
    """Per handover, district (and the county) and period of the handover's start: n, events,
    censored, median_observed (completed handovers only), km_median with 95% CI, and the share
    handed over within each of ``within_days`` (Kaplan-Meier: 1 - S(t)) with 95% CI.
    ``freq=None`` gives one row per handover and district over the whole period ("all")."""
    within = list(within_days or settings()["within_days"])
    ev = events.copy()
    if period_start is not None:
        ev = ev[ev["from_date"] >= pd.Timestamp(period_start)]
    if period_end is not None:
        ev = ev[ev["from_date"] <= pd.Timestamp(period_end)]
    if freq is None:
        ev = ev.assign(period="all", period_start=ev["from_date"].min(), period_end=ev["from_date"].max())
    else:
        ev = add_period(ev, "from_date", freq)  # type: ignore[arg-type]
    both = pd.concat([ev, ev.assign(district=COUNTY)], ignore_index=True)
    both["district"] = both["district"].fillna("not recorded")
    tab = km_table(both, ["handover", "district", "period", "period_start", "period_end"], times=within)
    if tab.empty:
        return tab
    for t in within:
        s, lo, hi = tab.pop(f"surv_{t:g}"), tab.pop(f"surv_{t:g}_lower"), tab.pop(f"surv_{t:g}_upper")
        tab[f"within_{t}_days"], tab[f"within_{t}_days_lower"], tab[f"within_{t}_days_upper"] = 1 - s, 1 - hi, 1 - lo
    return tab.sort_values(["handover", "period_start", "district"], ignore_index=True)
