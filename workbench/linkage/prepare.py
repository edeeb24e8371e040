"""Derive the columns the linkage model compares from the ingest's linkage frame.

Everything a comparison needs is computed here, once per record, in pandas, so the SQL in the
settings stays to plain equality and ``abs()`` and runs unchanged on DuckDB and Spark.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from workbench.linkage.normalise import clean_name, normalise_name, normalise_ni
from workbench.linkage.persons import LINKAGE_COLUMNS
from workbench.linkage.settings import UNIQUE_ID, load_nicknames

DAYS_PER_YEAR = 365.25
# Gender codes that carry no information for linkage.
_UNKNOWN_GENDER = {"not_known", "unknown", ""}

_SOUNDEX_CODES = {c: d for letters, d in (("bfpv", "1"), ("cgjkqsxz", "2"), ("dt", "3"), ("l", "4"),
                                           ("mn", "5"), ("r", "6")) for c in letters}


def soundex(name: str) -> str:
    """American Soundex of a normalised (lower-case letters only) name: 'robert' -> 'R163'."""
    if not name:
        return ""
    first = name[0]
    out = [first.upper()]
    last = _SOUNDEX_CODES.get(first, "")
    for ch in name[1:]:
        code = _SOUNDEX_CODES.get(ch, "")
        if code and code != last:
            out.append(code)
        if ch not in "hw":  # h and w do not separate letters with the same code
            last = code
        if len(out) == 4:
            break
    return "".join(out).ljust(4, "0")


def _per_unique(values: pd.Series, fn) -> pd.Series:
    """Apply ``fn`` to each distinct non-missing value once (names repeat a great deal)."""
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    mapped = np.array([fn(u) for u in uniques] + [None], dtype=object)
    return pd.Series(mapped[codes], index=values.index, dtype=object)


def variant_lookup(nicknames: pd.DataFrame) -> dict[str, list[str]]:
    """name -> sorted list of the variant groups it belongs to (a group's own name is in it)."""
    pairs = pd.concat([nicknames[["group", "name"]],
                       pd.DataFrame({"group": nicknames["group"], "name": nicknames["group"]})])
    return {n: sorted(set(g)) for n, g in pairs.groupby("name")["group"]}


def family_lookup(nicknames: pd.DataFrame) -> dict[str, str]:
    """name -> its *name family*: variant groups that share a name, merged (Chris is in Christopher's
    and Christine's groups, so both are one family). One key per name, so blocking on it needs no
    array explode, and two names sharing any group always share a family."""
    groups = variant_lookup(nicknames)
    parent: dict[str, str] = {}

    def root(x: str) -> str:
        while parent.setdefault(x, x) != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for gs in groups.values():
        for g in gs[1:]:
            a, b = root(gs[0]), root(g)
            if a != b:
                parent[max(a, b)] = min(a, b)
    return {name: root(gs[0]) for name, gs in groups.items()}


def _decimal_year(dates: pd.Series) -> pd.Series:
    dates = pd.to_datetime(dates)
    return dates.dt.year + (dates.dt.dayofyear - 0.5) / DAYS_PER_YEAR


def _iso_dates(dates: pd.Series) -> pd.Series:
    """'YYYY-MM-DD' of each date (missing stays missing): numpy's formatter, as Series.dt.strftime
    formats record by record in Python and was a quarter of this step's time at county scale.
    The dates' own unit is kept (forcing nanoseconds overflows outside 1677-2262 without an error).
    A year before 1000 is written with four digits ('0999-01-02'; strftime wrote '999-01-02'), so
    every date has the ten characters the date comparisons assume."""
    text = np.datetime_as_string(dates.to_numpy().astype("datetime64[D]"), unit="D")
    return pd.Series(text, index=dates.index, dtype=object).where(dates.notna())


def _none_if_na(s: pd.Series) -> pd.Series:
    """Object column with None for missing: what both DuckDB and Spark read as NULL."""
    return s.astype(object).where(s.notna(), None)


EVENT_PERIOD_DAYS = 180


def prepare_frame(frame: pd.DataFrame, nicknames: pd.DataFrame | None = None) -> pd.DataFrame:
    """The linkage frame with the derived comparison columns; ``unique_id`` is the row position."""
    missing = [c for c in LINKAGE_COLUMNS if c not in frame.columns and c != "client_ref"]
    if missing:
        raise ValueError(f"The linkage frame lacks column(s) {', '.join(missing)}.")
    nicknames = load_nicknames() if nicknames is None else nicknames
    lookup = variant_lookup(nicknames)
    families = family_lookup(nicknames)
    n = len(frame)

    first = normalise_name(frame["first_name"]).reset_index(drop=True)
    last = normalise_name(frame["last_name"]).reset_index(drop=True)
    dob = pd.to_datetime(frame["date_of_birth"], errors="coerce").reset_index(drop=True)
    event = pd.to_datetime(frame["event_date"], errors="coerce").reset_index(drop=True)
    age = pd.to_numeric(frame["approximate_age"], errors="coerce").reset_index(drop=True).astype(float)

    has_dob = dob.notna()
    dob_str = _iso_dates(dob)
    # A day-month swap is only a different valid date when the day could be a month and differs.
    swappable = has_dob & (dob.dt.day <= 12) & (dob.dt.day != dob.dt.month)
    dob_swapped = (dob_str.str[:5] + dob_str.str[8:10] + "-" + dob_str.str[5:7]).where(swappable)
    # Year of birth implied by an approximate age at the event: the midpoint of the possible year.
    from_age = _decimal_year(event) - age - 0.5
    birth_year_est = _decimal_year(dob).where(has_dob, from_age)

    gender = frame["gender"].astype("string").str.strip().str.lower().reset_index(drop=True)
    gender = gender.where(~gender.isin(_UNKNOWN_GENDER))
    district = frame["district"].astype("string").str.strip().str.lower().reset_index(drop=True)
    ni = normalise_ni(frame["ni_number"]).reset_index(drop=True)
    ni = ni.where(ni.str.len() > 0)
    # A source system's client reference (outreach profiles); optional in hand-built frames.
    client_ref = (frame["client_ref"] if "client_ref" in frame.columns else pd.Series(None, index=frame.index))
    client_ref = client_ref.astype("string").reset_index(drop=True)

    out = pd.DataFrame({
        UNIQUE_ID: np.arange(n, dtype=np.int64),
        "source": frame["source"].astype(str).to_numpy(),
        "first_name": _none_if_na(first),
        "last_name": _none_if_na(last),
        "first_name_variants": _per_unique(first, lambda f: lookup.get(f, [f])),
        "first_name_family": _per_unique(first, lambda f: families.get(f, f)),
        "last_name_soundex": _per_unique(last, soundex),
        "dob": _none_if_na(dob_str),
        "dob_swapped": _none_if_na(dob_swapped),
        "dob_ym": _none_if_na(dob_str.str[:7]),
        "dob_days": pd.array((dob - pd.Timestamp("1970-01-01")).dt.days, dtype="Int64"),
        "birth_year": pd.array(dob.dt.year, dtype="Int64"),
        "birth_year_est": birth_year_est.round(3),
        "age_band": pd.array(np.floor(birth_year_est / 5), dtype="Int64"),
        "ni_number": _none_if_na(ni),
        "client_ref": _none_if_na(client_ref.where(client_ref.str.len() > 0)),
        "gender": _none_if_na(gender),
        "district": _none_if_na(district),
        "event_days": pd.array((event - pd.Timestamp("1970-01-01")).dt.days, dtype="Int64"),
    })
    # The first and last part of a surname in two or more parts ("Smith-Jones" -> smith, jones;
    # particles under 3 letters such as "da" left out; none for a one-part name), so that a
    # record holding one part agrees with one holding both.
    # Two scalar columns rather than a list: list comparisons made training 60% slower at county scale.
    raw_last = frame["last_name"].astype("string").reset_index(drop=True)
    parts = _per_unique(raw_last, _surname_parts)
    out["last_name_part1"] = _none_if_na(parts.map(lambda x: x[0] if isinstance(x, tuple) else None))
    out["last_name_part2"] = _none_if_na(parts.map(lambda x: x[1] if isinstance(x, tuple) else None))
    # Dates of birth that are often defaults rather than known: 1 January, or the 1st of a month.
    out["dob_jan1"] = pd.array(np.where(has_dob, (dob.dt.month == 1) & (dob.dt.day == 1), pd.NA), dtype="Int8")
    out["dob_first"] = pd.array(np.where(has_dob, dob.dt.day == 1, pd.NA), dtype="Int8")
    out["dob_md"] = _none_if_na(dob_str.str[5:10])
    out["weak"] = weak_records(out).astype(np.int8)
    # Join keys for blocking thin records in large populations: first-name family, gender and
    # district on every record, and the same key only on thin records without a client reference,
    # so a join of one to the other pairs just those records with their candidates.
    family_key = (out["first_name_family"].astype("string") + "|" + out["gender"].astype("string") + "|"
                  + out["district"].astype("string"))
    out["family_key"] = _none_if_na(family_key)
    thin = (out["weak"] == 1) & out["client_ref"].isna()
    out["weak_family_key"] = _none_if_na(family_key.where(thin))
    # 180-day period of the event: two events at most 180 days apart fall in the same or adjacent
    # periods, so the weak-record blocks can join on the period (with offsets -1, 0, +1) instead of
    # pairing every thin record with its whole family bucket across the years before filtering.
    out["event_period"] = pd.array(np.floor(out["event_days"].astype(float) / EVENT_PERIOD_DAYS), dtype="Int64")
    return out


def _surname_parts(name: str) -> tuple[str, str] | None:
    # clean_name on each piece (normalise_name's rule; a Series per name made this step slow)
    parts = [p for p in (clean_name(piece) for piece in re.split(r"[-\s]+", name)) if isinstance(p, str) and len(p) >= 3]
    return (parts[0], parts[-1]) if len(parts) >= 2 else None


def weak_records(prepared: pd.DataFrame) -> np.ndarray:
    """Records too thinly identified to be told apart from namesakes pair by pair: no last name, or
    neither a date of birth nor an NI number (typically outreach contacts giving a first name, an
    approximate age and sometimes a date of birth). Two people sharing a first name and a date of
    birth are common enough in a county's worth of records that a first name and date of birth
    alone must not join them."""
    return (prepared["last_name"].isna() | (prepared["dob"].isna() & prepared["ni_number"].isna())).to_numpy()
