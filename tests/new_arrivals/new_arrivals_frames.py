"""Hand-made store tables for the new-arrivals tests: a few rows, written out in full."""

from __future__ import annotations

import datetime as dt

import pandas as pd

HISTORY_START = dt.date(2018, 1, 1)


def outreach(rows: list[tuple]) -> pd.DataFrame:
    """Rows of (person_id, contact_id, date, district, verified[, gender, nationality, age])."""
    out = []
    for r in rows:
        pid, cid, date, district, verified, *rest = r
        gender, nationality, age = (rest + ["male", "uk", 35][len(rest):])[:3]
        out.append({"person_id": pid, "contact_id": cid, "contact_date": pd.Timestamp(date), "district": district,
                    "verified_bedded_down": verified, "gender": gender, "nationality": nationality,
                    "age_at_contact_date": age, "approximate_age": age})
    return pd.DataFrame(out)


def case(person_id: str, case_id: str, district: str, approach: str, *, referral_route: str = "self_referral",
         assessment: str = "homeless", prevention: tuple | None = None, relief: tuple | None = None,
         main_duty: tuple | None = None, support_needs: str | None = None, nrpf: bool | None = None) -> dict:
    """A statutory case; ``prevention``/``relief`` are (start, end or None, reason or None)."""
    def d(x):
        return pd.Timestamp(x) if x else pd.NaT

    p = prevention or (None, None, None)
    r = relief or (None, None, None)
    m = main_duty or (None, None)
    return {"person_id": person_id, "case_id": case_id, "district": district, "approach_date": d(approach),
            "referral_route": referral_route, "assessment": assessment, "prevention_duty_start": d(p[0]),
            "prevention_duty_end": d(p[1]), "prevention_duty_end_reason": p[2], "relief_duty_start": d(r[0]),
            "relief_duty_end": d(r[1]), "relief_duty_end_reason": r[2], "main_duty_decision": m[0],
            "main_duty_decision_date": d(m[1]), "support_needs": support_needs, "no_recourse_public_funds": nrpf,
            "gender": "male", "nationality": "uk"}


def discharge(person_id: str, discharge_id: str, date: str, *, institution: str = "prison",
              district: str = "oxford_city", accommodation: str = "no_fixed_abode") -> dict:
    return {"person_id": person_id, "discharge_id": discharge_id, "discharge_date": pd.Timestamp(date),
            "admission_date": pd.Timestamp(date) - pd.Timedelta(days=30), "institution_type": institution,
            "district": district, "accommodation_on_release": accommodation}


def stay(person_id: str, episode_id: str, start: str, end: str | None, reason: str | None, *,
         district: str = "oxford_city", support_needs: str | None = None) -> dict:
    return {"person_id": person_id, "episode_id": episode_id, "start_date": pd.Timestamp(start),
            "end_date": pd.Timestamp(end) if end else pd.NaT, "departure_reason": reason, "district": district,
            "model": "congregate_hostel", "support_needs": support_needs}


def tenancy(person_id: str, tenancy_id: str, start: str, end: str | None, reason: str | None) -> dict:
    return {"person_id": person_id, "tenancy_id": tenancy_id, "start_date": pd.Timestamp(start),
            "end_date": pd.Timestamp(end) if end else pd.NaT, "end_reason": reason, "district": "oxford_city",
            "tenure": "social_rented"}


def tables(outreach_frame: pd.DataFrame, cases=(), discharges=(), stays=(), tenancies=()) -> dict[str, pd.DataFrame]:
    def frame(rows, columns):
        return pd.DataFrame(list(rows), columns=columns) if rows else pd.DataFrame(columns=columns)

    return {
        "outreach_contacts": outreach_frame,
        "statutory_cases": frame(cases, list(case("x", "x", "x", "2020-01-01"))),
        "institutional_discharges": frame(discharges, list(discharge("x", "x", "2020-01-01"))),
        "supported_accommodation": frame(stays, list(stay("x", "x", "2020-01-01", None, None))),
        "settled_tenancies": frame(tenancies, list(tenancy("x", "x", "2020-01-01", None, None))),
    }
