"""Linkage tested against an identifier-error model written independently of the linkage (issue 18, item 2).

The synthetic generator's own identifier errors (``realistic_identifiers``) were written by the same
hands that tuned the linkage settings, on the same error model. This module is a second, independent
model, written from the issue's list of kinds only, without reading the generator's error code or
the linkage settings. It is a test, not a tuning set: nothing in workbench/linkage is changed
because of what it shows.

How it works. A county is generated in the default scenario. For every record, each identifier the
extract carries (forename, surname, date of birth, NI number; blanks stay blank, so the extract's
pattern of missing identifiers is the generator's) is first REGENERATED from the person's true
identity in ``truth/persons.parquet`` (so the generator's own errors are gone), then perturbed by the
kinds below. Nothing but those identifier columns (and, for anonymous outreach contacts,
``approximate_age``) changes. Each change is logged (file, record_id, column, kind, true_value,
recorded_value) in the generator's mess-log layout so that benchmarks/bench_linkage_errors.py can
measure recall by kind.

Rates, fixed before the first run, with the reasoning. They are judgement, informed by (not copied
from) the linkage-error literature on English administrative data: Hagger-Johnson et al. on HES
(missed matches concentrate in ethnic minority, migrant and young, mobile patients; dates of birth
with day/month transposed and default dates are the common date errors) and Harron et al. (2017,
"Challenges in administrative data linkage for research", Big Data & Society; and the guidance on
linkage error: errors are not random, they cluster in marginalised groups). Homelessness services
record identity as it is told, often without documents, by staff under pressure, so the rates are
set above what is reported for hospital data. Per record unless said otherwise:

====================  ==========================================================================
kind                  rate and reasoning
====================  ==========================================================================
name_variant          forename 3%, surname 2% of names that have a variant (Stephen/Steven,
                      Smith/Smyth, Phillips/Philips, or a spelling rule such as ph->f, double ->
                      single letter, -ie/-y): names spelled as heard.
typo                  1.5% of each name field: one keystroke (substitute, delete, insert or swap
                      two adjacent letters) on names of 3 letters or more.
forename_initial      2% of records with a full forename (not outreach, where names are spoken):
                      forms and referrals that carry only an initial.
name_order_swap       1% of records for UK nationals, 4% for everyone else: forename and surname
                      exchanged (name order differs by culture; forms read the wrong way round).
surname_change        person level: 6% of women aged 16-50 at the start of 2018 change surname
                      once (marriage, divorce, re-partnering) at a date drawn uniformly between
                      their first and last record; records after it carry the new surname.
double_barrelled      person level: 2% of people have a double-barrelled surname (their true
                      surname joined to a second surname from the county); each of their records
                      carries the whole name (50%) or only the first (25%) or second (25%) part;
                      only the split records are logged.
dob_day_month_swap    1.5% of dates of birth whose day is 12 or less and differs from the month.
dob_default_jan1      1% of dates of birth of UK nationals, 4% for others: recorded as 1 January of
                      the year of birth (unknown birthday, documents that give the year only).
ni_digit_typo         2% of NI numbers present: one of the six digits mistyped.
outreach_anonymous    15% of outreach contacts: the person gives only a nickname (from a short
                      list of English diminutives; the first name when it has none), no surname,
                      no date of birth, and the worker records an age band (its midpoint, as
                      the integer field requires: 16-24 -> 20, 25-34 -> 30, ... 65+ -> 70).
====================  ==========================================================================

The nickname and variant lists are written here, not taken from workbench/linkage/nicknames.csv.

    python benchmarks/independent_identifier_errors.py --seeds 300 301 302 --scale 0.5 \\
        --settings before=benchmarks/linkage_settings_before_issue18.yaml after=package \\
        --csv benchmarks/results/linkage_independent_errors.csv \\
        --md benchmarks/results/linkage_independent_errors.md

Rows are appended to the CSV as each run ends and runs already there are skipped.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib.util
import re
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from workbench.definitions import event_date, record_id

RATES: dict[str, float] = {
    "name_variant_forename": 0.03, "name_variant_surname": 0.02, "typo": 0.015, "forename_initial": 0.02,
    "name_order_swap_uk": 0.01, "name_order_swap_other": 0.04, "surname_change_women_16_50": 0.06,
    "double_barrelled_people": 0.02, "dob_day_month_swap": 0.015, "dob_default_jan1_uk": 0.01,
    "dob_default_jan1_other": 0.04, "ni_digit_typo": 0.02, "outreach_anonymous": 0.15,
}
KINDS = ("name_variant", "typo", "forename_initial", "name_order_swap", "surname_change", "double_barrelled",
         "dob_day_month_swap", "dob_default_jan1", "ni_digit_typo", "outreach_anonymous")

# Identifier columns by extract: forename, surname, date of birth, NI number (None: not carried).
COLUMNS = {"outreach_contacts": ("given_name", "family_name", "date_of_birth", None)}
DEFAULT_COLUMNS = ("first_name", "last_name", "date_of_birth", "ni_number")

NICKNAMES = {
    "William": ["Bill", "Will", "Billy"], "Robert": ["Bob", "Rob", "Bobby"], "Richard": ["Rick", "Rich", "Dick"],
    "James": ["Jim", "Jimmy", "Jamie"], "John": ["Johnny", "Jack"], "Michael": ["Mike", "Mick", "Micky"],
    "Anthony": ["Tony"], "Thomas": ["Tom", "Tommy"], "Christopher": ["Chris"], "Stephen": ["Steve"],
    "Steven": ["Steve"], "Andrew": ["Andy", "Drew"], "David": ["Dave", "Davy"], "Daniel": ["Dan", "Danny"],
    "Matthew": ["Matt"], "Peter": ["Pete"], "Joseph": ["Joe", "Joey"], "Edward": ["Ed", "Eddie", "Ted"],
    "Kenneth": ["Ken", "Kenny"], "Nicholas": ["Nick", "Nicky"], "Samuel": ["Sam", "Sammy"], "Benjamin": ["Ben"],
    "Jonathan": ["Jon", "Jonny"], "Alexander": ["Alex", "Sandy"], "Patrick": ["Pat", "Paddy"],
    "Charles": ["Charlie", "Chas"], "Gary": ["Gaz"], "Darren": ["Daz"], "Barry": ["Baz"], "Kevin": ["Kev"],
    "Timothy": ["Tim"], "Philip": ["Phil"], "Gregory": ["Greg"], "Ronald": ["Ron", "Ronnie"], "Donald": ["Don"],
    "Raymond": ["Ray"], "Terence": ["Terry"], "Lawrence": ["Larry"], "Frederick": ["Fred"], "Adam": ["Ad"],
    "Elizabeth": ["Liz", "Beth", "Lizzie"], "Margaret": ["Maggie", "Peggy", "Meg"], "Patricia": ["Pat", "Trish"],
    "Susan": ["Sue", "Suzy"], "Jennifer": ["Jen", "Jenny"], "Catherine": ["Cath", "Kate", "Cathy"],
    "Katherine": ["Kate", "Kath", "Katie"], "Rebecca": ["Becky", "Becca"], "Victoria": ["Vicky", "Tori"],
    "Deborah": ["Debbie", "Deb"], "Samantha": ["Sam", "Sammy"], "Jacqueline": ["Jackie"],
    "Christine": ["Chris", "Tina"], "Kimberly": ["Kim"], "Kimberley": ["Kim"], "Alexandra": ["Alex", "Lexi"],
    "Nicola": ["Nicky", "Nic"], "Sharon": ["Shaz"], "Sandra": ["Sandy"], "Pamela": ["Pam"], "Amanda": ["Mandy"],
    "Helen": ["Nell"], "Jessica": ["Jess"], "Natalie": ["Nat"], "Stephanie": ["Steph"], "Carol": ["Caz"],
    "Mohammed": ["Mo"], "Muhammad": ["Mo"], "Krzysztof": ["Krzys"], "Wojciech": ["Wojtek"], "Aleksander": ["Olek"],
    "Tomasz": ["Tomek"], "Piotr": ["Piotrek"], "Alexandru": ["Alex"], "Mihai": ["Mihaita"], "Ionut": ["Ionel"],
}

_VARIANT_GROUPS = [
    ["Stephen", "Steven"], ["Jon", "John"], ["Mohammed", "Mohammad", "Muhammad", "Mohamed"],
    ["Catherine", "Katherine", "Kathryn"], ["Sara", "Sarah"], ["Ann", "Anne"], ["Philip", "Phillip"],
    ["Geoffrey", "Jeffrey"], ["Lee", "Leigh"], ["Claire", "Clare"], ["Rachel", "Rachael"], ["Jane", "Jayne"],
    ["Carly", "Carley"], ["Kerry", "Kerrie"], ["Hayley", "Haley"], ["Nicola", "Nichola"], ["Kimberly", "Kimberley"],
    ["Aleksander", "Alexander"], ["Zoe", "Zoey"], ["Louise", "Louisa"], ["Allan", "Alan", "Allen"],
    ["Smith", "Smyth"], ["Thompson", "Thomson"], ["Phillips", "Philips"], ["Reid", "Reed", "Read"], ["Gray", "Grey"],
    ["Clarke", "Clark"], ["Brown", "Browne"], ["Davies", "Davis"], ["Matthews", "Mathews"], ["Mcdonald", "Macdonald"],
    ["Stevens", "Stephens"], ["Stevenson", "Stephenson"], ["Lloyd", "Loyd"], ["Ali", "Aly"], ["Khan", "Kahn"],
]
VARIANTS = {name: [v for v in group if v != name] for group in _VARIANT_GROUPS for name in group}
# Spelling rules for names not in the groups: (pattern, replacement), first that changes the name.
_RULES = [("ph", "f"), ("ll", "l"), ("nn", "n"), ("tt", "t"), ("ss", "s"), ("mm", "m"), ("rr", "r"),
          ("ck", "k"), ("ie$", "y"), ("ey$", "y"), ("y$", "ie"), ("son$", "sen"), ("ei", "ie"), ("ou", "ow")]
_LETTERS = np.array(list("abcdefghijklmnopqrstuvwxyz"))


def spelling_variant(name: str, rng: np.random.Generator) -> str | None:
    """Another spelling of ``name`` (a known variant or one spelling rule), or None if there is none."""
    if name in VARIANTS:
        return str(rng.choice(VARIANTS[name]))
    for pattern, repl in _RULES:
        changed = re.sub(pattern, repl, name, count=1)
        if changed != name and len(changed) >= 2:
            return changed[0].upper() + changed[1:]
    return None


def typo(name: str, rng: np.random.Generator) -> str:
    """One keystroke error: substitute, delete, insert, or swap two adjacent letters (not the first)."""
    s = list(name)
    i = int(rng.integers(1, len(s)))
    op = int(rng.integers(4))
    letter = str(rng.choice(_LETTERS))
    if op == 0:
        s[i] = letter if letter != s[i].lower() else ("e" if s[i].lower() != "e" else "a")
    elif op == 1:
        del s[i]
    elif op == 2:
        s.insert(i, letter)
    else:
        j = i - 1 if i == len(s) - 1 else i
        if s[j] == s[j + 1]:
            s[j + 1] = "e" if s[j + 1].lower() != "e" else "a"
        else:
            s[j], s[j + 1] = s[j + 1], s[j]
    out = "".join(s)
    return out if out != name else name + letter


def age_band_midpoint(age: int) -> int:
    """The worker's estimate recorded as a band: 16-24 -> 20, 25-34 -> 30, ..., 65+ -> 70."""
    if age < 25:
        return 20
    return min(70, 30 + 10 * ((age - 25) // 10))


def perturb(extracts: dict[str, pd.DataFrame], sources: dict[str, str], persons: pd.DataFrame,
            record_persons: pd.DataFrame, seed: int) -> tuple[dict[str, pd.DataFrame], pd.DataFrame]:
    """The extracts (file name -> frame of strings) with identifiers regenerated from the truth and
    perturbed; and the log of changes (file, record_id, column, kind, true_value, recorded_value).

    ``persons``: person_id, first_name, last_name, date_of_birth, ni_number, gender, nationality;
    ``record_persons``: file, row_number (2 = first data row), person_id."""
    rng = np.random.default_rng(seed)
    people = persons.set_index("person_id")
    start = pd.Timestamp(dt.date(2018, 1, 1))
    surnames = people["last_name"].dropna().unique()

    # Which person each row is, and each row's date (for the surname change).
    rows = []
    for file, frame in extracts.items():
        src = sources[file]
        rp = record_persons[record_persons["file"] == file].set_index("row_number")["person_id"]
        pid = rp.reindex(np.arange(len(frame)) + 2)
        if pid.isna().any():
            raise ValueError(f"{file}: rows without a true person in record_persons")
        rows.append(pd.DataFrame({"file": file, "row": np.arange(len(frame)), "person_id": pid.to_numpy(),
                                  "date": pd.to_datetime(frame[event_date(src)], errors="coerce").to_numpy()}))
    allrows = pd.concat(rows, ignore_index=True)

    # Person-level draws.
    dob = pd.to_datetime(people["date_of_birth"], errors="coerce")
    age_2018 = (start - dob).dt.days / 365.25
    women = people.index[(people["gender"] == "female") & (age_2018 >= 16) & (age_2018 <= 50)]
    changers = women[rng.random(len(women)) < RATES["surname_change_women_16_50"]]
    span = allrows.groupby("person_id")["date"].agg(["min", "max"])
    change = {}
    for p in changers:
        if p in span.index and pd.notna(span.at[p, "min"]):
            lo, hi = span.at[p, "min"], span.at[p, "max"]
            when = lo + (hi - lo) * rng.random()
            new = str(rng.choice(surnames))
            change[p] = (when, new if new != people.at[p, "last_name"] else new + "s")
    dbl_people = people.index[rng.random(len(people)) < RATES["double_barrelled_people"]]
    double = {p: str(rng.choice(surnames)) for p in dbl_people}

    log: list[tuple] = []
    out = {}
    for file, frame in extracts.items():
        src = sources[file]
        fcol, scol, dcol, ncol = COLUMNS.get(src, DEFAULT_COLUMNS)
        rid = frame[record_id(src)].to_numpy()
        pids = allrows.loc[allrows["file"] == file, "person_id"].to_numpy()
        dates = allrows.loc[allrows["file"] == file, "date"].to_numpy()
        frame = frame.copy()
        new_cols = {c: frame[c].to_numpy(dtype=object).copy() for c in (fcol, scol, dcol, ncol, "approximate_age")
                    if c and c in frame.columns}
        for i, p in enumerate(pids):
            who = people.loc[p]
            true = {fcol: who["first_name"], scol: who["last_name"], dcol: who["date_of_birth"]}
            if ncol:
                true[ncol] = who["ni_number"]
            rec = {c: ("" if new_cols[c][i] == "" or pd.isna(true[c]) else str(true[c])) for c in true}
            nonuk = who["nationality"] != "uk"

            def note(col: str, kind: str, before: str, after: str, _key: tuple = (file, rid[i])) -> None:
                log.append((*_key, col, kind, before, after))

            if src == "outreach_contacts" and rng.random() < RATES["outreach_anonymous"]:
                nick = NICKNAMES.get(who["first_name"])
                given = str(rng.choice(nick)) if nick else str(who["first_name"])
                age = new_cols["approximate_age"][i]
                true_age = (int((pd.Timestamp(dates[i]) - dob[p]).days // 365.25)
                            if pd.notna(dob[p]) and pd.notna(dates[i]) else (int(age) if age else 40))
                note(fcol, "outreach_anonymous", str(who["first_name"]), given)
                new_cols[fcol][i], new_cols[scol][i], new_cols[dcol][i] = given, "", ""
                new_cols["approximate_age"][i] = str(age_band_midpoint(true_age))
                continue
            # Surname: changed at marriage, or one part of a double-barrelled name.
            if rec[scol]:
                if p in change and pd.notna(dates[i]) and dates[i] > change[p][0]:
                    note(scol, "surname_change", rec[scol], change[p][1])
                    rec[scol] = change[p][1]
                elif p in double:
                    u = rng.random()
                    whole = f"{rec[scol]}-{double[p]}"
                    if u < 0.25:
                        note(scol, "double_barrelled", whole, rec[scol])
                    elif u < 0.5:
                        note(scol, "double_barrelled", whole, double[p])
                        rec[scol] = double[p]
                    else:
                        rec[scol] = whole
            for col, rate in ((fcol, RATES["name_variant_forename"]), (scol, RATES["name_variant_surname"])):
                if rec[col] and rng.random() < rate:
                    v = spelling_variant(rec[col], rng)
                    if v:
                        note(col, "name_variant", rec[col], v)
                        rec[col] = v
            if src != "outreach_contacts" and len(rec[fcol]) > 1 and rng.random() < RATES["forename_initial"]:
                note(fcol, "forename_initial", rec[fcol], rec[fcol][0])
                rec[fcol] = rec[fcol][0]
            for col in (fcol, scol):
                if len(rec[col]) >= 3 and rng.random() < RATES["typo"]:
                    t = typo(rec[col], rng)
                    note(col, "typo", rec[col], t)
                    rec[col] = t
            swap = RATES["name_order_swap_other" if nonuk else "name_order_swap_uk"]
            if rec[fcol] and rec[scol] and rng.random() < swap:
                note(fcol, "name_order_swap", rec[fcol], rec[scol])
                rec[fcol], rec[scol] = rec[scol], rec[fcol]
            if rec[dcol]:
                y, m, d = rec[dcol].split("-")
                if d <= "12" and d != m and rng.random() < RATES["dob_day_month_swap"]:
                    note(dcol, "dob_day_month_swap", rec[dcol], f"{y}-{d}-{m}")
                    rec[dcol] = f"{y}-{d}-{m}"
                elif (m, d) != ("01", "01") and rng.random() < RATES[
                        "dob_default_jan1_other" if nonuk else "dob_default_jan1_uk"]:
                    note(dcol, "dob_default_jan1", rec[dcol], f"{y}-01-01")
                    rec[dcol] = f"{y}-01-01"
            if ncol and rec[ncol] and rng.random() < RATES["ni_digit_typo"]:
                s = list(rec[ncol])
                k = 2 + int(rng.integers(6))
                s[k] = str((int(s[k]) + 1 + int(rng.integers(9))) % 10)
                note(ncol, "ni_digit_typo", rec[ncol], "".join(s))
                rec[ncol] = "".join(s)
            for col, value in rec.items():
                new_cols[col][i] = value
        for col, values in new_cols.items():
            frame[col] = values
        out[file] = frame
    return out, pd.DataFrame(log, columns=["file", "record_id", "column", "kind", "true_value", "recorded_value"])


def perturb_county(county: Path, seed: int) -> pd.DataFrame:
    """Perturb a generated county's extracts in place; return (and write to truth/) the change log."""
    extracts_dir, truth_dir = county / "extracts", county / "truth"
    manifest = yaml.safe_load((extracts_dir / "extract.yaml").read_text(encoding="utf-8"))
    sources = {f["path"]: f["source"] for f in manifest["files"]}
    frames = {f: pd.read_csv(extracts_dir / f, dtype=str, keep_default_na=False) for f in sources}
    persons = pd.read_parquet(truth_dir / "persons.parquet")
    record_persons = pd.read_parquet(truth_dir / "record_persons.parquet")
    out, log = perturb(frames, sources, persons, record_persons, seed)
    for f, frame in out.items():
        frame.to_csv(extracts_dir / f, index=False)
    log.to_csv(truth_dir / "independent_errors_log.csv", index=False)
    return log


def _bench():
    """benchmarks/bench_linkage_errors.py as a module (its county, linkage and measures are reused)."""
    spec = importlib.util.spec_from_file_location("bench_linkage_errors", Path(__file__).with_name("bench_linkage_errors.py"))
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_linkage_errors"] = module
    spec.loader.exec_module(module)
    return module


KEY = ["seed", "client_ref", "settings"]


def run(args: argparse.Namespace) -> pd.DataFrame:
    from workbench.ingest.pipeline import extracts_linkage_frame
    from workbench.synthetic import generate_county
    from workbench.synthetic.evaluation import link_truth

    bench = _bench()
    done = pd.read_csv(args.csv) if args.csv and args.csv.exists() else pd.DataFrame(columns=KEY)
    have = set(map(tuple, done[KEY].astype(str).to_numpy()))
    named = dict(s.split("=", 1) for s in args.settings)
    rows = []
    for seed in args.seeds:
        todo = [(ref, name) for ref in ("with", "without") for name in named if (str(seed), ref, name) not in have]
        if not todo:
            continue
        with tempfile.TemporaryDirectory(prefix=f"linkind-{seed}-") as tmp:
            county = Path(tmp)
            generate_county(county, seed=seed, scale=args.scale, progress=False)
            log = perturb_county(county, seed=10_000 + seed)
            for ref in ("with", "without"):
                if ref == "without":
                    bench.blank_client_reference(county / "extracts")
                frame = extracts_linkage_frame(county / "extracts")
                truth = np.asarray(link_truth(frame, county / "truth"))
                for name, path in named.items():
                    if (ref, name) not in todo:
                        continue
                    row = {"seed": seed, "client_ref": ref, "settings": name, "scale": args.scale,
                           **bench.measure(frame, truth, path, log, kinds=KINDS)}
                    print(row, flush=True)
                    rows.append(row)
                    if args.csv:
                        pd.DataFrame([row]).to_csv(args.csv, mode="a", header=not args.csv.exists(), index=False)
    return pd.concat([done, pd.DataFrame(rows)], ignore_index=True) if rows else done


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[300, 301, 302])
    parser.add_argument("--scale", type=float, default=0.5)
    parser.add_argument("--settings", nargs="+", default=["after=package"],
                        help="NAME=PATH of linkage settings files (PATH 'package' for the packaged one)")
    parser.add_argument("--csv", type=Path, default=None)
    parser.add_argument("--md", type=Path, default=None)
    args = parser.parse_args()
    runs = run(args).assign(scenario="independent_errors")
    bench = sys.modules["bench_linkage_errors"]
    runs = bench.in_settings_order(runs, args.settings, ["client_ref"])
    text = (f"Generated by `python benchmarks/independent_identifier_errors.py` on {dt.date.today().isoformat()}: "
            f"default-scenario counties, seeds {sorted(runs['seed'].unique().tolist())} at scale "
            f"{runs['scale'].iloc[0]}, identifiers regenerated from the truth and perturbed by the independent "
            "error model (rates in the script's docstring); means over seeds; people split and merged as a share "
            "of true people (mean count in brackets).\n\n" + bench.summary(runs))
    kinds = [f"recall_{k}" for k in KINDS if f"recall_{k}" in runs.columns]
    text += bench.recall_table(runs, ["client_ref", "settings"], kinds)
    print(text)
    if args.md:
        args.md.write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
