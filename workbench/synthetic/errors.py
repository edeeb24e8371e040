"""Planted contract breaks: a small share of rows each break exactly one contract rule.

Each planted row is listed in ``truth/planted_errors.csv`` (file, row_number, record_id, column,
rule) with the rule names the validator reports, so its quarantine can be checked exactly.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from workbench.contracts import load_contracts


def _shift(iso: str, days: int) -> str:
    return str(np.datetime64(iso, "D") + np.timedelta64(int(days), "D"))


@dataclass(frozen=True)
class Break:
    rule: str
    column: str
    applies: Callable[[pd.Series, str], bool]
    make: Callable[[pd.Series, np.random.Generator, str], str]


def _always(row: pd.Series, x: str) -> bool:
    return True


def _has(col: str) -> Callable[[pd.Series, str], bool]:
    return lambda row, x: row[col] != ""


def _end_before_start(start: str, end: str) -> Break:
    # The end date moved before the start (the row must have both).
    def applies(row, x):
        return row[start] != "" and row[end] != ""

    return Break("", end, applies, lambda row, rng, x: _shift(row[start], -int(rng.integers(1, 40))))


def _born_after(event: str) -> Callable[[pd.Series, np.random.Generator, str], str]:
    def make(row, rng, x):
        room = (np.datetime64(x) - np.datetime64(row[event])).astype(int)
        return _shift(row[event], int(rng.integers(1, min(room, 300) + 1)))

    return make


def _born_after_applies(event: str) -> Callable[[pd.Series, str], bool]:
    return lambda row, x: row[event] != "" and (np.datetime64(x) - np.datetime64(row[event])).astype(int) >= 2


BAD_DATES = ("31/02/2021", "2021-13-45", "unknown", "30/02/2019", "2020-02-30")


def _bad_date(row, rng, x):
    return BAD_DATES[int(rng.integers(0, len(BAD_DATES)))]


def _choice(*values: str):
    return lambda row, rng, x: values[int(rng.integers(0, len(values)))]


def _after_extract(row, rng, x):
    return _shift(x, int(rng.integers(1, 200)))


def _dob_too_old(row, rng, x):
    return f"19{int(rng.integers(0, 19)):02d}-0{int(rng.integers(1, 10))}-1{int(rng.integers(0, 10))}"


def _unique(row, rng, x):
    return "__previous__"  # filled in with an earlier row's record id


def _with_rule(b: Break, rule: str) -> Break:
    return Break(rule, b.column, b.applies, b.make)


BREAKS: dict[str, list[Break]] = {
    "statutory_cases": [
        Break("type", "main_duty_decision_date", _always, _bad_date),
        Break("type", "disability", _always, _choice("maybe", "unsure", "Y?")),
        Break("required", "gender", _always, _choice("")),
        Break("required", "household_type", _always, _choice("")),
        Break("allowed_values", "gender", _always, _choice("M", "F", "man")),
        Break("allowed_values", "referral_route", _always, _choice("self", "walk_in")),
        Break("pattern", "ni_number", _always, _choice("QQ123456A", "AB12345C", "AB1234567C")),
        Break("min", "date_of_birth", _always, _dob_too_old),
        Break("not_after_extract_date", "main_duty_decision_date", _always, _after_extract),
        _with_rule(_end_before_start("prevention_duty_start", "prevention_duty_end"), "prevention_end_after_start"),
        _with_rule(_end_before_start("relief_duty_start", "relief_duty_end"), "relief_end_after_start"),
        Break("prevention_end_has_reason", "prevention_duty_end_reason", _has("prevention_duty_end"), _choice("")),
        Break("relief_end_has_reason", "relief_duty_end_reason", _has("relief_duty_end"), _choice("")),
        Break("born_before_approach", "date_of_birth", _born_after_applies("approach_date"), _born_after("approach_date")),
        Break("unique", "case_id", _always, _unique),
    ],
    "outreach_contacts": [
        Break("type", "approximate_age", _always, _choice("twelve", "forties", "40ish")),
        Break("type", "verified_bedded_down", _always, _choice("maybe", "seen?")),
        Break("required", "gender", _always, _choice("")),
        Break("required", "given_name", _always, _choice("")),
        Break("allowed_values", "location_type", _always, _choice("street", "bench")),
        Break("allowed_values", "nationality", _always, _choice("british", "polish")),
        Break("min", "approximate_age", _always, _choice("12", "9", "0")),
        Break("max", "approximate_age", _always, _choice("130", "450")),
        Break("not_after_extract_date", "contact_date", _always, _after_extract),
        Break("born_before_contact", "date_of_birth", _born_after_applies("contact_date"), _born_after("contact_date")),
        Break("unique", "contact_id", _always, _unique),
    ],
    "supported_accommodation": [
        Break("type", "date_of_birth", _always, _bad_date),
        Break("required", "model", _always, _choice("")),
        Break("required", "route_in", _always, _choice("")),
        Break("allowed_values", "model", _always, _choice("hostel", "HF")),
        Break("allowed_values", "destination", _has("destination"), _choice("home", "moved")),
        Break("pattern", "ni_number", _always, _choice("QQ123456A", "AB12345C")),
        Break("min", "date_of_birth", _always, _dob_too_old),
        Break("not_after_extract_date", "end_date", _has("end_date"), _after_extract),
        _with_rule(_end_before_start("start_date", "end_date"), "end_after_start"),
        Break("ended_stay_has_reason", "departure_reason", _has("end_date"), _choice("")),
        Break("born_before_start", "date_of_birth", _born_after_applies("start_date"), _born_after("start_date")),
        Break("unique", "episode_id", _always, _unique),
    ],
    "settled_tenancies": [
        Break("type", "date_of_birth", _always, _bad_date),
        Break("required", "tenure", _always, _choice("")),
        Break("required", "route_in", _always, _choice("")),
        Break("allowed_values", "tenure", _always, _choice("council", "HA")),
        Break("pattern", "ni_number", _always, _choice("QQ123456A", "AB12345C")),
        Break("min", "date_of_birth", _always, _dob_too_old),
        Break("not_after_extract_date", "end_date", _has("end_date"), _after_extract),
        _with_rule(_end_before_start("start_date", "end_date"), "end_after_start"),
        Break("ended_tenancy_has_reason", "end_reason", _has("end_date"), _choice("")),
        Break("born_before_start", "date_of_birth", _born_after_applies("start_date"), _born_after("start_date")),
        Break("unique", "tenancy_id", _always, _unique),
    ],
    "institutional_discharges": [
        Break("type", "date_of_birth", _always, _bad_date),
        Break("required", "accommodation_on_release", _always, _choice("")),
        Break("required", "institution_type", _always, _choice("")),
        Break("allowed_values", "institution_type", _always, _choice("jail", "A&E")),
        Break("pattern", "ni_number", _always, _choice("QQ123456A", "AB12345C")),
        Break("min", "date_of_birth", _always, _dob_too_old),
        Break("not_after_extract_date", "discharge_date", _always, _after_extract),
        Break("discharge_after_admission", "admission_date", _born_after_applies("discharge_date"), _born_after("discharge_date")),
        Break("born_before_discharge", "date_of_birth", _born_after_applies("discharge_date"), _born_after("discharge_date")),
        Break("unique", "discharge_id", _always, _unique),
    ],
    "deaths": [
        Break("type", "date_of_birth", _always, _bad_date),
        Break("required", "place", _always, _choice("")),
        Break("allowed_values", "place", _always, _choice("street", "home")),
        Break("pattern", "ni_number", _always, _choice("QQ123456A", "AB12345C")),
        Break("min", "date_of_birth", _always, _dob_too_old),
        Break("not_after_extract_date", "date_of_death", _always, _after_extract),
        Break("born_before_death", "date_of_birth", _born_after_applies("date_of_death"), _born_after("date_of_death")),
        Break("unique", "death_id", _always, _unique),
    ],
}


def plant_errors(
    source: str, frame: pd.DataFrame, files: np.ndarray, rate: float, extract_date: str, rng: np.random.Generator
) -> pd.DataFrame:
    """Break about ``rate`` of rows (at least one per source), one rule per row, in place."""
    n = len(frame)
    id_col = frame.columns[0]
    # Line number within its own file: header is line 1.
    row_number = np.zeros(n, dtype=np.int64)
    for f in np.unique(files):
        sel = np.flatnonzero(files == f)
        row_number[sel] = np.arange(len(sel)) + 2
    k = max(1, int(rng.binomial(n, rate))) if n > 5 else 0
    chosen = np.sort(rng.choice(np.arange(1, n), size=min(k, n - 1), replace=False)) if k else np.array([], dtype=int)
    breaks = BREAKS[source]
    log = []
    position = {c: j for j, c in enumerate(frame.columns)}
    ids = frame[id_col].to_numpy(dtype=object)
    bad = set()
    for i in chosen:
        row = frame.iloc[i].copy()
        for j in rng.permutation(len(breaks)):
            b = breaks[j]
            if not b.applies(row, extract_date):
                continue
            if b.rule == "unique":
                earlier = next((r for r in range(i - 1, -1, -1) if files[r] == files[i] and r not in bad), None)
                if earlier is None:
                    continue
                value = ids[earlier]
            else:
                value = b.make(row, rng, extract_date)
            if value == row[b.column]:
                continue
            frame.iat[i, position[b.column]] = value
            bad.add(int(i))
            log.append({"file": files[i], "row_number": int(row_number[i]), "record_id": frame.iat[i, 0],
                        "column": b.column, "rule": b.rule})
            break
    errors = pd.DataFrame(log, columns=["file", "row_number", "record_id", "column", "rule"])
    # Cross-field rules are reported against the rule's own field (as a validator would);
    # the column actually altered is kept alongside.
    errors["changed_column"] = errors["column"]
    rule_fields = {r.id: r.field for r in load_contracts()[source].rules}
    errors["column"] = [rule_fields.get(r, c) for r, c in zip(errors["rule"], errors["column"], strict=True)]
    return errors
