"""The deterministic rules: exact agreement on the normalised NI number, or on normalised first
name, last name and date of birth; a missing part never agrees."""

import numpy as np
import pandas as pd

from workbench.linkage.deterministic import link_deterministic


def _frame(rows):
    f = pd.DataFrame(rows, columns=["first_name", "last_name", "date_of_birth", "ni_number"])
    return f.assign(date_of_birth=pd.to_datetime(f["date_of_birth"], format="ISO8601"),
                    **{c: f[c].astype("string") for c in ("first_name", "last_name", "ni_number")})


def _same(labels, i, j):
    return labels[i] == labels[j]


def test_the_rules_link_what_they_should_and_nothing_else():
    labels = link_deterministic(_frame([
        ("Anné", "O'Brien", "1980-01-02", None),         # 0
        ("anne ", "OBRIEN", "1980-01-02 13:00", None),   # 1: same name and day as 0
        ("Anne", "OBrien", "1980-01-03", None),          # 2: a day later: no
        ("Anne", None, "1980-01-02", None),              # 3: no surname: never by name
        (None, None, None, "ab 12 34 56 c"),             # 4
        ("Zed", "Zulu", "1901-03-04", "AB123456C"),      # 5: NI as 4 once normalised
        ("Anne", "OBrien", None, None),                  # 6: no date of birth: no
        ("Bob", "Ng", None, None),                       # 7
        ("Bob", "Ng", None, None),                       # 8: missing dates never agree
        ("Zed", "Zulu", "1901-03-04", None),             # 9: name and date as 5: joins 4 through 5
    ]))
    assert _same(labels, 0, 1) and _same(labels, 4, 5) and _same(labels, 5, 9)
    for i, j in [(0, 2), (0, 3), (0, 6), (7, 8), (0, 4), (2, 6)]:
        assert not _same(labels, i, j), (i, j)
    assert len(set(labels)) == 7


def test_codes_are_integers_not_strings_and_scale_without_collisions():
    # Many distinct (name, date) combinations: folding codes must not merge two of them.
    n = 50_000
    rng = np.random.default_rng(3)
    first = rng.integers(0, 400, n)
    last = rng.integers(0, 400, n)
    day = rng.integers(0, 30_000, n)
    word = lambda k: "".join("abcdefghijklmnopqrstuvwxyz"[int(c)] for c in str(k))  # noqa: E731 (letters only survive)
    f = _frame([(word(a), word(b), None, None) for a, b in zip(first, last, strict=True)])
    f["date_of_birth"] = pd.Timestamp("1920-01-01") + pd.to_timedelta(day, unit="D")
    labels = link_deterministic(f)
    keys = pd.Series(list(zip(first, last, day, strict=True)))
    assert len(set(labels)) == keys.nunique()
    assert (pd.Series(labels).groupby(keys.factorize()[0]).nunique() == 1).all()


def test_dates_with_a_time_zone_compare_by_local_day_and_odd_text_still_links():
    f = _frame([("Ann", "Ng", None, None)] * 2 + [("a\udcff", "Ng", None, None)] * 2)
    f["date_of_birth"] = pd.to_datetime(["1980-01-02 23:30", "1980-01-03 01:00", "1980-01-02 00:00",
                                         "1980-01-02 00:00"]).tz_localize("Asia/Tokyo")
    labels = link_deterministic(f.assign(first_name=f["first_name"].astype(object)))
    assert not _same(labels, 0, 1) and _same(labels, 2, 3)
