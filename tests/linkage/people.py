"""Hand-made linkage frames: a small background population plus planted cases with known answers.

Independent of the synthetic county generator on purpose: the linkage must work on any frame, and
these tests must not pass merely because the model has learned the generator's habits.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from workbench.linkage.persons import LINKAGE_COLUMNS

FIRST_MALE = """Aaron Adam Alan Albert Alex Andrew Anthony Arthur Barry Ben Brian Callum Carl Charles
Colin Craig Daniel Darren David Dean Dennis Derek Edward Frank Gary George Gordon Graham Harry Henry
Ian Jack Jacob James Jason John Jonathan Joseph Keith Kevin Lee Leon Luke Mark Martin Matthew
Michael Neil Nathan Oliver Patrick Paul Peter Philip Raymond Richard Robert Roger Ryan Samuel Scott
Simon Stephen Stuart Thomas Timothy Tony Trevor Wayne William""".split()
FIRST_FEMALE = """Alison Amanda Amy Angela Anna Barbara Carol Caroline Catherine Charlotte Claire Clare
Deborah Diane Donna Elizabeth Emily Emma Gemma Hannah Helen Jacqueline Jane Janet Jennifer Jessica
Joanne Julie Karen Kate Kelly Kerry Laura Lauren Linda Lisa Louise Lucy Margaret Maria Mary Michelle
Natalie Nicola Patricia Rachel Rebecca Sally Samantha Sandra Sarah Sharon Sophie Stephanie Susan
Tracey Victoria Wendy Zoe""".split()
LAST = """Adams Allen Bailey Baker Barnes Bell Bennett Brooks Brown Butler Campbell Carter Clarke
Collins Cook Cooper Cox Davies Davis Dixon Edwards Ellis Evans Fisher Foster Green Griffiths Hall
Harris Harrison Hill Holmes Hughes Hunt Jackson James Johnson Jones Kelly King Knight Lee Lewis
Marshall Martin Mason Matthews Mills Mitchell Moore Morgan Morris Murphy Owen Palmer Parker Patel
Phillips Powell Price Richards Richardson Roberts Robinson Rogers Russell Scott Shaw Simpson Smith
Stevens Stewart Taylor Thomas Thompson Turner Walker Ward Watson White Wilkinson Williams Wilson
Wood Wright Young""".split()
DISTRICTS = ["oxford_city", "cherwell", "south_oxfordshire", "vale_of_white_horse", "west_oxfordshire"]
SOURCES = ["statutory_cases", "supported_accommodation", "settled_tenancies", "institutional_discharges", "outreach_contacts"]


NICKNAMES = {"William": "Bill", "Robert": "Bob", "Michael": "Mike", "James": "Jim", "David": "Dave",
             "Thomas": "Tom", "Richard": "Rick", "Anthony": "Tony", "Elizabeth": "Liz", "Margaret": "Maggie",
             "Catherine": "Kate", "Rebecca": "Becky", "Samantha": "Sam", "Stephen": "Steve", "Daniel": "Danny"}


def _typo(name: str, rng: np.random.Generator) -> str:
    i = int(rng.integers(1, max(len(name) - 1, 2)))
    return name[:i] + name[i + 1:]


def background(n_people: int = 700, seed: int = 7, start: str = "2019-01-01") -> pd.DataFrame:
    """A population seen 1-8 times across sources; columns LINKAGE_COLUMNS + ``person``."""
    rng = np.random.default_rng(seed)
    rows = []
    t0 = pd.Timestamp(start)
    for p in range(n_people):
        male = rng.random() < 0.65
        first = str(rng.choice(FIRST_MALE if male else FIRST_FEMALE))
        last = str(rng.choice(LAST))
        dob = pd.Timestamp("1950-01-01") + pd.Timedelta(days=int(rng.integers(0, 52 * 365)))
        ni = f"{'ABCEGHJKLMNPRSTWXYZ'[p % 19]}{'ABCEGHJKLMNPRSTWXYZ'[(p // 19) % 19]}{rng.integers(0, 999999):06d}A" if rng.random() < 0.5 else None
        district = str(rng.choice(DISTRICTS))
        first_day = int(rng.integers(0, 5 * 365))
        for k in range(int(rng.integers(1, 9))):
            source = str(rng.choice(SOURCES, p=[0.4, 0.15, 0.15, 0.1, 0.2]))
            day = t0 + pd.Timedelta(days=first_day + int(rng.integers(0, 400)))
            f, la, d, n, age, dist, ref = first, last, dob, ni, np.nan, district, None
            if rng.random() < 0.03:
                la = _typo(la, rng)
            if rng.random() < 0.15:
                dist = str(rng.choice(DISTRICTS))
            if rng.random() < 0.03 and dob.day <= 12 and dob.day != dob.month:
                d = pd.Timestamp(year=dob.year, month=dob.day, day=dob.month)
            if source == "outreach_contacts":
                if first in NICKNAMES and rng.random() < 0.4:
                    f = NICKNAMES[first]
                n = None
                age = float((day - dob).days // 365 + rng.integers(-2, 3))
                if rng.random() < 0.3:
                    d = None
                if rng.random() < 0.3:
                    la = None
                # The outreach system's client profile: one per person, now and then not recorded.
                ref = f"OC-{p:06d}" if rng.random() < 0.9 else None
            rows.append(dict(source=source, record_id=f"{source[:2].upper()}-{p:04d}{k}", first_name=f, last_name=la,
                             date_of_birth=d, ni_number=n, approximate_age=age, gender="male" if male else "female",
                             district=dist, event_date=day, client_ref=ref, person=f"bg{p}"))
    return pd.DataFrame(rows)


def as_frame(rows: list[dict]) -> pd.DataFrame:
    frame = pd.DataFrame(rows)
    for col in LINKAGE_COLUMNS + ["person"]:
        if col not in frame.columns:
            frame[col] = None
    frame["date_of_birth"] = pd.to_datetime(frame["date_of_birth"])
    frame["event_date"] = pd.to_datetime(frame["event_date"])
    frame["approximate_age"] = pd.to_numeric(frame["approximate_age"])
    return frame[LINKAGE_COLUMNS + ["person"]]


def planted() -> pd.DataFrame:
    """Records of named people with a known answer (record ids say which case they belong to)."""
    def rec(rid, source, first, last, dob, person, *, ni=None, age=None, gender="male", district="oxford_city",
            day="2022-03-01", ref=None):
        return dict(source=source, record_id=rid, first_name=first, last_name=last, date_of_birth=dob, ni_number=ni,
                    approximate_age=age, gender=gender, district=district, event_date=day, client_ref=ref, person=person)

    return as_frame([
        # Nickname: William in statutory cases, Bill on the street, same surname and date of birth.
        rec("NICK-1", "statutory_cases", "William", "Fairbrother", "1975-06-14", "william", ni="JB112233C", day="2021-02-01"),
        rec("NICK-2", "outreach_contacts", "Bill", "Fairbrother", "1975-06-14", "william", age=47, day="2022-09-12"),
        rec("NICK-3", "supported_accommodation", "William", "Fairbrother", "1975-06-14", "william", day="2022-10-01"),
        # Day and month of birth swapped in one source.
        rec("SWAP-1", "statutory_cases", "Joanna", "Kowalczyk", "1988-03-07", "joanna", gender="female", day="2020-05-05"),
        rec("SWAP-2", "settled_tenancies", "Joanna", "Kowalczyk", "1988-07-03", "joanna", gender="female", district="cherwell", day="2021-01-10"),
        # Two different men with the same common name and different dates of birth.
        rec("SAME-1", "statutory_cases", "John", "Smith", "1970-01-12", "smith70", day="2020-02-02"),
        rec("SAME-2", "supported_accommodation", "John", "Smith", "1970-01-12", "smith70", day="2020-06-02"),
        rec("SAME-3", "statutory_cases", "John", "Smith", "1985-09-23", "smith85", day="2020-03-03"),
        rec("SAME-4", "settled_tenancies", "John", "Smith", "1985-09-23", "smith85", day="2021-04-04"),
        # Outreach: a first name and an age only. Zebedee is the only Zebedee about: linked.
        rec("ZEB-1", "outreach_contacts", "Zebedee", "Quarmby", "1981-02-01", "zebedee", age=41, day="2022-03-01"),
        rec("ZEB-2", "outreach_contacts", "Zebedee", "Quarmby", "1981-02-01", "zebedee", age=40, day="2022-03-20"),
        rec("ZEB-3", "statutory_cases", "Zebedee", "Quarmby", "1981-02-01", "zebedee", ni="JC445566D", day="2022-04-02"),
        rec("ZEB-ONLY", "outreach_contacts", "Zebedee", None, None, "zebedee", age=41, day="2022-03-10"),
        # Outreach: "Ignatius, about 40" when two different Ignatiuses of that age are about: not linked.
        rec("IGN-A1", "outreach_contacts", "Ignatius", "Pemberton", "1982-05-05", "ignatius_a", age=40, day="2022-06-01",
            ref="OC-900002"),
        rec("IGN-A2", "statutory_cases", "Ignatius", "Pemberton", "1982-05-05", "ignatius_a", day="2022-06-15"),
        rec("IGN-B1", "outreach_contacts", "Ignatius", "Okonedo", "1981-11-11", "ignatius_b", age=41, day="2022-06-05"),
        rec("IGN-B2", "supported_accommodation", "Ignatius", "Okonedo", "1981-11-11", "ignatius_b", day="2022-06-20"),
        rec("IGN-ONLY", "outreach_contacts", "Ignatius", None, None, "unknown_ignatius", age=40, day="2022-06-10"),
        # ... but logged against Ignatius Pemberton's outreach profile, the same thin contact is his.
        rec("IGN-REF", "outreach_contacts", "Ignatius", None, None, "ignatius_a", age=40, day="2022-06-12", ref="OC-900002"),
        # A well-identified contact logged against the wrong profile (Ignatius Pemberton's): names and
        # date of birth outweigh the reference.
        rec("REF-WRONG", "outreach_contacts", "Ahmed", "Karimi", "1995-08-08", "ahmed", age=26, day="2022-06-03",
            ref="OC-900002"),
        rec("AHM-2", "statutory_cases", "Ahmed", "Karimi", "1995-08-08", "ahmed", ni="JD778899A", day="2022-02-14"),
    ])


def frame_with_planted(n_people: int = 700, seed: int = 7) -> pd.DataFrame:
    return pd.concat([background(n_people, seed), planted()], ignore_index=True)


# ------------------------------------------------------------------ richer identifier errors
COMMON_NON_UK_FIRST = ["Mohammed", "Ahmed", "Ali", "Hassan", "Abdi", "Yusuf", "Omar", "Ibrahim"]
COMMON_NON_UK_LAST = ["Ali", "Ahmed", "Hassan", "Mohamed", "Abdi", "Yusuf", "Osman", "Ibrahim"]


def richer_background(n_people: int = 900, seed: int = 11, start: str = "2019-01-01") -> pd.DataFrame:
    """A background population with the identifier errors real records carry, written here
    independently of the synthetic county's generator: forename and surname swapped (3% of records),
    a woman's surname changed part way (15% of women), a date of birth typed with the year one off
    (1%), and a fifth of people with common Somali/Arabic names, 40% of whom are registered as born
    on 1 January of their year (on every record)."""
    rng = np.random.default_rng(seed)
    rows = []
    t0 = pd.Timestamp(start)
    for p in range(n_people):
        male = rng.random() < 0.65
        common = rng.random() < 0.2
        if common:
            first = str(rng.choice(COMMON_NON_UK_FIRST if male else ["Fatima", "Amina", "Halima", "Maryam"]))
            last = str(rng.choice(COMMON_NON_UK_LAST))
        else:
            first = str(rng.choice(FIRST_MALE if male else FIRST_FEMALE))
            last = str(rng.choice(LAST))
        dob = pd.Timestamp("1955-01-01") + pd.Timedelta(days=int(rng.integers(0, 48 * 365)))
        if common and rng.random() < 0.4:
            dob = pd.Timestamp(year=dob.year, month=1, day=1)
        ni = f"{'ABCEGHJKLMNPRSTWXYZ'[p % 19]}{'ABCEGHJKLMNPRSTWXYZ'[(p // 19) % 19]}{rng.integers(0, 999999):06d}B" if rng.random() < 0.5 else None
        district = str(rng.choice(DISTRICTS))
        first_day = int(rng.integers(0, 5 * 365))
        new_last = str(rng.choice(LAST)) if (not male and rng.random() < 0.15) else None
        change_day = first_day + int(rng.integers(0, 400))
        for k in range(int(rng.integers(1, 9))):
            source = str(rng.choice(SOURCES, p=[0.4, 0.15, 0.15, 0.1, 0.2]))
            offset = first_day + int(rng.integers(0, 400))
            day = t0 + pd.Timedelta(days=offset)
            f, la, d, n, age, dist = first, last, dob, ni, np.nan, district
            if new_last and offset >= change_day:
                la = new_last
            if rng.random() < 0.03:
                f, la = la, f
            if rng.random() < 0.01:
                d = d.replace(year=d.year + 1) if not (d.month == 2 and d.day == 29) else d
            if rng.random() < 0.15:
                dist = str(rng.choice(DISTRICTS))
            if source == "outreach_contacts":
                n = None
                age = float((day - dob).days // 365 + rng.integers(-2, 3))
                if rng.random() < 0.3:
                    d = None
            rows.append(dict(source=source, record_id=f"R{source[:2].upper()}-{p:04d}{k}", first_name=f, last_name=la,
                             date_of_birth=d, ni_number=n, approximate_age=age, gender="male" if male else "female",
                             district=dist, event_date=day, client_ref=None, person=f"rb{p}"))
    return pd.DataFrame(rows)


def richer_planted() -> pd.DataFrame:
    """Known answers for the richer errors."""
    def rec(rid, source, first, last, dob, person, *, ni=None, gender="male", district="oxford_city", day="2022-03-01"):
        return dict(source=source, record_id=rid, first_name=first, last_name=last, date_of_birth=dob, ni_number=ni,
                    approximate_age=None, gender=gender, district=district, event_date=day, client_ref=None,
                    person=person)

    return as_frame([
        # Forename and surname recorded in swapped order by one source.
        rec("ORDER-1", "statutory_cases", "Gideon", "Ashworth", "1979-04-22", "gideon", day="2020-04-01"),
        rec("ORDER-2", "supported_accommodation", "Ashworth", "Gideon", "1979-04-22", "gideon", day="2021-02-11"),
        # A woman's surname changed at marriage between her council case and her tenancy.
        rec("MARRIED-1", "statutory_cases", "Philippa", "Underwood", "1990-10-17", "philippa", gender="female",
            district="cherwell", day="2019-05-02"),
        rec("MARRIED-2", "settled_tenancies", "Philippa", "Carrington", "1990-10-17", "philippa", gender="female",
            district="cherwell", day="2023-08-20"),
        # Two different men with a common name, both registered as born on 1 January 1990, with
        # different NI numbers (which can be mistyped, so not proof on their own).
        rec("JAN1-A", "statutory_cases", "Mohammed", "Ali", "1990-01-01", "mohammed_a", ni="TW123456A",
            district="oxford_city", day="2020-07-07"),
        rec("JAN1-B", "settled_tenancies", "Mohammed", "Ali", "1990-01-01", "mohammed_b", ni="PL654321C",
            district="cherwell", day="2024-01-15"),
        # The same with a date of birth that is not a default (the comparison for the one above).
        rec("DATE-A", "statutory_cases", "Mohammed", "Ali", "1987-06-17", "mohammed_c", ni="TW223344B",
            district="oxford_city", day="2020-08-08"),
        rec("DATE-B", "settled_tenancies", "Mohammed", "Ali", "1987-06-17", "mohammed_d", ni="PL443322D",
            district="cherwell", day="2024-02-16"),
    ])


def frame_with_richer_errors(n_people: int = 900, seed: int = 11) -> pd.DataFrame:
    return pd.concat([richer_background(n_people, seed), richer_planted()], ignore_index=True)
