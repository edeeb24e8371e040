"""Identifier errors of the kinds real administrative records carry, beyond the generator's own
typos, nicknames and day-month swaps (issue 18, item 2).

Each kind has its own rate in :class:`~workbench.synthetic.settings.MessRates`, 0 by default, so the
default county is unchanged; the ``realistic_identifiers`` scenario switches them on (rates and
their evidence: docs/assumptions/linkage.md). Every instance is written to the mess log.

Two kinds belong to the *person* and are drawn once per person from a stream of their own, so all
sources agree on them:

* ``surname_change``: the person's surname changes on a day in the period (marriage, divorce, a
  partner's name; mostly women). Records dated after it carry the new name, except that a source
  may keep the old one (``surname_change_old_kept``);
* ``double_barrelled``: the person has a two-part surname ("Smith-Jones"); some records hold one
  part only (``double_barrelled_part``);
* ``dob_jan1_person``: a person without a documented date of birth (most often someone who came
  through the asylum system) is registered as born on 1 January of their year, on every record.

The rest are drawn per record, from a stream per source: forename and surname in swapped order; a
forename recorded as its initial; a date of birth defaulted to 1 January or to the 1st of the month
(a placeholder), or with the year typed one off; an NI number with one digit mistyped.
"""

from __future__ import annotations

import numpy as np

from workbench.definitions import SOURCES
from workbench.synthetic.names import SURNAMES

_STREAM = 0x1DE47


def _rng(seed: int, *parts: int) -> np.random.Generator:
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence([seed, _STREAM, *parts])))


def any_on(m) -> bool:
    """Whether any of the richer identifier errors is switched on (else nothing here runs)."""
    return any(getattr(m, f) > 0 for f in RATE_FIELDS)


RATE_FIELDS = ("name_order_swap", "name_order_swap_non_uk", "forename_initial", "surname_change_women",
               "surname_change_men", "double_barrelled_share", "dob_jan1_person_non_eu", "dob_default_jan1",
               "dob_first_of_month", "dob_year_off", "ni_digit_typo")


def person_surnames(seed: int, people: dict[str, np.ndarray], simulation_start: int, extract_day: int, m):
    """Per person: the surname they are known by (two-part for some), the new surname after a
    change ("" for none) and the day of the change (-1 for none)."""
    rng = _rng(seed, 0)
    n = len(people["last_name"])
    last = people["last_name"].astype(object).copy()
    nationality = people["nationality"]
    origin = np.where(nationality == "eu", "eu", np.where(nationality == "non_eu", "non_eu", "uk"))
    # Two-part surnames: a second surname of the same origin joined by a hyphen.
    double = rng.random(n) < m.double_barrelled_share
    second = np.array([SURNAMES[o][int(u * len(SURNAMES[o]))] for o, u in zip(origin, rng.random(n), strict=True)],
                      dtype=object)
    double &= (second != last) & np.array(["-" not in x for x in last], dtype=bool)
    last[double] = last[double] + "-" + second[double]
    female = people["gender"] == "female"
    p_change = np.where(female, m.surname_change_women, m.surname_change_men)
    change = rng.random(n) < p_change
    new = np.array([SURNAMES[o][int(u * len(SURNAMES[o]))] for o, u in zip(origin, rng.random(n), strict=True)],
                   dtype=object)
    change &= new != last
    day = np.where(change, rng.integers(simulation_start, max(extract_day, simulation_start + 1), n), -1)
    dob_jan1 = (nationality == "non_eu") & (rng.random(n) < m.dob_jan1_person_non_eu)
    return last, double, np.where(change, new, ""), day, dob_jan1


def surnames_as_recorded(seed: int, source: str, last_true: np.ndarray, new: np.ndarray, change_day: np.ndarray,
                         double: np.ndarray, record_day: np.ndarray, m) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Surname on each record (rows of one source): returns the names, a changed-name mask and a
    one-part-recorded mask."""
    rng = _rng(seed, 1, SOURCES.index(source))
    n = len(last_true)
    last = last_true.astype(object).copy()
    changed = (change_day >= 0) & (record_day >= change_day) & (rng.random(n) >= m.surname_change_old_kept)
    last[changed] = new[changed]
    part = double & ~changed & (rng.random(n) < m.double_barrelled_part)
    pick_second = rng.random(n) < 0.5
    for i in np.flatnonzero(part):
        a, b = last[i].split("-", 1)
        last[i] = b if pick_second[i] else a
    return last, changed, part


def record_errors(seed: int, source: str, first: np.ndarray, last: np.ndarray, dob: np.ndarray,
                  ni: np.ndarray | None, non_uk: np.ndarray, m) -> dict[str, np.ndarray]:
    """Per-record errors for one source; returns masks per kind (the arrays are changed in place)."""
    rng = _rng(seed, 2, SOURCES.index(source))
    n = len(first)
    has_last = np.array([x != "" for x in last], dtype=bool)
    p_swap = np.where(non_uk, m.name_order_swap_non_uk, m.name_order_swap)
    swap = has_last & (rng.random(n) < p_swap)
    first[swap], last[swap] = last[swap].copy(), first[swap].copy()
    initial = ~swap & (rng.random(n) < m.forename_initial) & np.array([len(x) > 1 for x in first], dtype=bool)
    first[initial] = [x[0] for x in first[initial]]
    has_dob = np.array([x != "" for x in dob], dtype=bool)
    u = rng.random(n)
    jan1 = has_dob & (u < m.dob_default_jan1)
    first_of_month = has_dob & ~jan1 & (u < m.dob_default_jan1 + m.dob_first_of_month)
    year_off = has_dob & ~jan1 & ~first_of_month & (u < m.dob_default_jan1 + m.dob_first_of_month + m.dob_year_off)
    jan1 &= np.array([x[5:] != "01-01" for x in dob], dtype=bool)
    first_of_month &= np.array([x[8:] != "01" for x in dob], dtype=bool)
    dob[jan1] = [x[:4] + "-01-01" for x in dob[jan1]]
    dob[first_of_month] = [x[:8] + "01" for x in dob[first_of_month]]
    step = np.where(rng.random(n) < 0.5, -1, 1)
    # 29 February typed into a year that has none would not be a date: move it to the 28th.
    dob[year_off] = [f"{int(x[:4]) + int(s):04d}" + (x[4:] if x[5:] != "02-29" else "-02-28")
                     for x, s in zip(dob[year_off], step[year_off], strict=True)]
    out = {"name_order_swap": swap, "forename_initial": initial, "dob_default_jan1": jan1,
           "dob_first_of_month": first_of_month, "dob_year_off": year_off}
    if ni is not None:
        has_ni = np.array([x != "" for x in ni], dtype=bool)
        typo = has_ni & (rng.random(n) < m.ni_digit_typo)
        pos = rng.integers(2, 8, n)
        digit = rng.integers(1, 10, n)
        for i in np.flatnonzero(typo):
            old = ni[i][pos[i]]
            new = str((int(old) + int(digit[i])) % 10)
            ni[i] = ni[i][:pos[i]] + new + ni[i][pos[i] + 1:]
        out["ni_digit_typo"] = typo
    return out
