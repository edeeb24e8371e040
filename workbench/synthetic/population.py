"""The people of the synthetic county: true attributes, names, dates of birth, NI numbers.

People are drawn in blocks by profile ("household" approaching a council, "street" arriving on the
streets, "supported" entering supported accommodation directly). All draws are vectorised.
"""

from __future__ import annotations

import numpy as np

from workbench.synthetic.hazards import DAYS_PER_YEAR
from workbench.synthetic.names import FIRST_NAMES, SURNAMES

#: Support needs in the order of the ``support_need`` vocabulary (checked against it in the tests).
NEEDS: tuple[str, ...] = (
    "mental_health",
    "physical_ill_health",
    "learning_disability",
    "drug_dependency",
    "alcohol_dependency",
    "offending_history",
    "history_rough_sleeping",
    "history_repeat_homelessness",
    "domestic_abuse",
    "abuse_non_domestic",
    "young_person_16_17",
    "young_person_18_25",
    "young_parent",
    "care_leaver",
    "former_asylum_seeker",
    "old_age",
    "armed_forces",
    "education_employment_training",
    "budgeting",
    "modern_slavery",
)
NEED_INDEX = {n: i for i, n in enumerate(NEEDS)}

# Prevalence of each need by profile (H-CLIC-like for households; outreach/hostel studies for the
# street and supported profiles). Age-, gender- and nationality-linked needs are set separately.
NEED_PREVALENCE: dict[str, dict[str, float]] = {
    "household": {
        "mental_health": 0.25, "physical_ill_health": 0.15, "learning_disability": 0.04,
        "drug_dependency": 0.06, "alcohol_dependency": 0.05, "offending_history": 0.08,
        "history_rough_sleeping": 0.04, "history_repeat_homelessness": 0.07,
        "abuse_non_domestic": 0.03, "young_parent": 0.03, "care_leaver": 0.03,
        "armed_forces": 0.02, "education_employment_training": 0.05, "budgeting": 0.09,
        "modern_slavery": 0.004,
    },
    "street": {
        "mental_health": 0.50, "physical_ill_health": 0.25, "learning_disability": 0.06,
        "drug_dependency": 0.42, "alcohol_dependency": 0.35, "offending_history": 0.35,
        "history_rough_sleeping": 0.30, "history_repeat_homelessness": 0.20,
        "abuse_non_domestic": 0.08, "young_parent": 0.0, "care_leaver": 0.07,
        "armed_forces": 0.05, "education_employment_training": 0.05, "budgeting": 0.10,
        "modern_slavery": 0.02,
    },
    "supported": {
        "mental_health": 0.45, "physical_ill_health": 0.20, "learning_disability": 0.06,
        "drug_dependency": 0.30, "alcohol_dependency": 0.25, "offending_history": 0.30,
        "history_rough_sleeping": 0.35, "history_repeat_homelessness": 0.20,
        "abuse_non_domestic": 0.08, "young_parent": 0.0, "care_leaver": 0.08,
        "armed_forces": 0.03, "education_employment_training": 0.06, "budgeting": 0.12,
        "modern_slavery": 0.01,
    },
}
GENDER_SHARES = {
    "household": {"female": 0.50, "male": 0.48, "non_binary": 0.01, "not_known": 0.01},
    "street": {"male": 0.84, "female": 0.15, "non_binary": 0.01},
    "supported": {"male": 0.70, "female": 0.29, "non_binary": 0.01},
}
# Age in years at entry = 18 + gamma(shape, scale).
AGE_GAMMA = {"household": (2.2, 8.0), "street": (3.0, 7.0), "supported": (2.0, 8.0)}
ETHNICITY_SHARES = {"white": 0.80, "asian": 0.06, "black": 0.06, "mixed": 0.04, "other": 0.02, "not_known": 0.02}
NATIONALITY_SHARES = {
    "household": {"uk": 0.84, "eu": 0.09, "non_eu": 0.06, "not_known": 0.01},
    "street": {"uk": 0.72, "eu": 0.17, "non_eu": 0.10, "not_known": 0.01},
    "supported": {"uk": 0.82, "eu": 0.10, "non_eu": 0.07, "not_known": 0.01},
}
NI_HELD = {"uk": 0.95, "eu": 0.80, "non_eu": 0.55, "not_known": 0.5}
HOUSEHOLD_TYPES = {
    "female": {"single_female": 0.45, "single_parent_female": 0.40, "couple_with_children": 0.08,
               "couple_no_children": 0.05, "other": 0.02},
    "male": {"single_male": 0.70, "single_parent_male": 0.05, "couple_with_children": 0.12,
             "couple_no_children": 0.10, "other": 0.03},
    "non_binary": {"single_other": 0.9, "couple_no_children": 0.1},
    "not_known": {"single_other": 0.9, "other": 0.1},
}
# NI prefix letters (the contract's pattern) less the prefixes HMRC never issues.
NI_LETTERS = np.array(list("ABCEGHJKLMNPRSTWXYZ"))
NI_BAD_PREFIXES = ("BG", "GB", "KN", "NK", "NT", "TN", "ZZ")


def draw(rng: np.random.Generator, shares: dict[str, float], size: int) -> np.ndarray:
    """Categorical draw from a {code: share} mapping (shares normalised), as an object array."""
    codes = np.array(list(shares), dtype=object)
    p = np.array(list(shares.values()), dtype=float)
    return codes[rng.choice(len(codes), size=size, p=p / p.sum())]


def _zipf_choice(rng: np.random.Generator, names: tuple[str, ...], size: int) -> np.ndarray:
    # Common names are more common: weight 1/(rank+8).
    w = 1.0 / (np.arange(len(names)) + 8.0)
    return np.array(names, dtype=object)[rng.choice(len(names), size=size, p=w / w.sum())]


def _names(rng: np.random.Generator, gender: np.ndarray, nationality: np.ndarray, ethnicity: np.ndarray):
    n = len(gender)
    # Name origin: nationality, and for UK nationals of Asian/Black heritage often a non-UK name.
    origin = np.where(nationality == "eu", "eu", np.where(nationality == "non_eu", "non_eu", "uk")).astype(object)
    heritage = (origin == "uk") & np.isin(ethnicity, ["asian", "black"]) & (rng.random(n) < 0.45)
    origin[heritage] = "non_eu"
    name_gender = np.where(np.isin(gender, ["male", "female"]), gender, np.where(rng.random(n) < 0.5, "male", "female"))
    first = np.empty(n, dtype=object)
    last = np.empty(n, dtype=object)
    for o in ("uk", "eu", "non_eu"):
        for g in ("male", "female"):
            sel = (origin == o) & (name_gender == g)
            first[sel] = _zipf_choice(rng, FIRST_NAMES[(o, g)], int(sel.sum()))
        sel = origin == o
        last[sel] = _zipf_choice(rng, SURNAMES[o], int(sel.sum()))
    return first, last


def zero_pad(numbers: np.ndarray, width: int) -> np.ndarray:
    """Numbers as zero-padded text (object array); safe for empty input."""
    numbers = np.asarray(numbers)
    if numbers.size == 0:
        return np.zeros(0, dtype=object)
    return np.char.zfill(numbers.astype(str), width).astype(object)


def _ni_numbers(rng: np.random.Generator, n: int) -> np.ndarray:
    a = NI_LETTERS[rng.integers(0, len(NI_LETTERS), n)].astype(object)
    b = NI_LETTERS[rng.integers(0, len(NI_LETTERS), n)].astype(object)
    prefix = a + b
    bad = np.isin(prefix, NI_BAD_PREFIXES)
    prefix[bad] = "AB"
    digits = rng.integers(0, 1_000_000, n)
    suffix = np.array(list("ABCD"), dtype=object)[rng.integers(0, 4, n)]
    return prefix + zero_pad(digits, 6) + suffix


def make_people(rng: np.random.Generator, profile: str, entry_day: np.ndarray) -> dict[str, np.ndarray]:
    """Draw ``len(entry_day)`` people of a profile; ages are measured at their entry day."""
    n = len(entry_day)
    gender = draw(rng, GENDER_SHARES[profile], n)
    shape, scale = AGE_GAMMA[profile]
    age = np.minimum(18.0 + rng.gamma(shape, scale, n), 88.0)
    dob = (entry_day - np.floor(age * DAYS_PER_YEAR)).astype(np.int64)
    ethnicity = draw(rng, ETHNICITY_SHARES, n)
    nationality = draw(rng, NATIONALITY_SHARES[profile], n)
    needs = np.zeros((n, len(NEEDS)), dtype=bool)
    for need, p in NEED_PREVALENCE[profile].items():
        needs[:, NEED_INDEX[need]] = rng.random(n) < p
    female = gender == "female"
    needs[:, NEED_INDEX["domestic_abuse"]] = rng.random(n) < np.where(female, 0.25, 0.03)
    needs[:, NEED_INDEX["young_person_18_25"]] = (age < 26) & (rng.random(n) < 0.5)
    needs[:, NEED_INDEX["old_age"]] = (age >= 60) & (rng.random(n) < 0.5)
    needs[:, NEED_INDEX["former_asylum_seeker"]] = (nationality == "non_eu") & (rng.random(n) < 0.3)
    if profile == "household":
        household_type = np.empty(n, dtype=object)
        for g, shares in HOUSEHOLD_TYPES.items():
            sel = gender == g
            household_type[sel] = draw(rng, shares, int(sel.sum()))
    else:
        household_type = np.where(
            gender == "male", "single_male", np.where(gender == "female", "single_female", "single_other")
        ).astype(object)
    first, last = _names(rng, gender, nationality, ethnicity)
    has_ni = rng.random(n) < np.array([NI_HELD[x] for x in nationality])
    ni = np.where(has_ni, _ni_numbers(rng, n), "").astype(object)
    return {
        "profile": np.full(n, profile, dtype=object),
        "entry_day": entry_day.astype(np.int64),
        "gender": gender,
        "dob": dob,
        "ethnicity": ethnicity,
        "nationality": nationality,
        "household_type": household_type,
        "first_name": first,
        "last_name": last,
        "ni_number": ni,
        "needs": needs,
    }


def concat_people(blocks: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    return {k: np.concatenate([b[k] for b in blocks]) for k in blocks[0]}
