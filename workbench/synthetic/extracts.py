"""Turn simulated records into contract-shaped extract files, with realistic recording mess.

Order of work per source: duplicates -> sort by date and number the records -> identifiers as each
source records them (nicknames, typos, swapped or missing dates of birth, NI numbers sometimes) ->
late-recorded end dates -> text -> planted contract breaks -> CSV. Every instance of mess is logged
for the truth folder.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from workbench.definitions import DISTRICTS, SOURCES
from workbench.synthetic import identifier_errors
from workbench.synthetic.hazards import DAYS_PER_YEAR
from workbench.synthetic.names import NAME_VARIANTS
from workbench.synthetic.population import NEEDS, zero_pad
from workbench.synthetic.settings import DISTRICT_PREFIX, CountySettings
from workbench.synthetic.simulate import EPOCH, NA, Simulation

# Main date (sort order) and record-id prefix of each source.
MAIN_DATE = {
    "statutory_cases": "approach",
    "outreach_contacts": "contact_date",
    "supported_accommodation": "start",
    "settled_tenancies": "start",
    "institutional_discharges": "discharge",
    "deaths": "date",
}
ID_PREFIX = {
    "outreach_contacts": "OR",
    "supported_accommodation": "SA",
    "settled_tenancies": "TN",
    "institutional_discharges": "DC",
    "deaths": "DT",
}
# Internal column -> contract field, for columns copied as they are.
RENAME = {
    "statutory_cases": {
        "approach": "approach_date", "prev_start": "prevention_duty_start", "prev_end": "prevention_duty_end",
        "prev_reason": "prevention_duty_end_reason", "rel_start": "relief_duty_start", "rel_end": "relief_duty_end",
        "rel_reason": "relief_duty_end_reason", "main_decision": "main_duty_decision",
        "main_date": "main_duty_decision_date", "acc_secured": "accommodation_secured",
    },
    "outreach_contacts": {"verified": "verified_bedded_down"},
    "supported_accommodation": {"start": "start_date", "end": "end_date", "departure": "departure_reason"},
    "settled_tenancies": {"start": "start_date", "end": "end_date"},
    "institutional_discharges": {"admission": "admission_date", "discharge": "discharge_date",
                                 "accommodation": "accommodation_on_release"},
    "deaths": {"date": "date_of_death"},
}
# End dates that may be recorded late, with the columns blanked with them.
LATE_END = {
    "supported_accommodation": ("end_date", ("departure_reason", "destination")),
    "settled_tenancies": ("end_date", ("end_reason",)),
}


@dataclass
class ExtractTable:
    source: str
    frame: pd.DataFrame  # contract columns as text, in contract order
    person: np.ndarray  # true person per row
    key: np.ndarray  # internal key per row (-1 for nothing)
    duplicate_of: np.ndarray  # internal key of the original for duplicate rows, else -1
    file_of_row: np.ndarray  # file name per row


@dataclass
class MessLog:
    rows: list[pd.DataFrame] = field(default_factory=list)

    def add(self, file, record_id, column, kind, true_value, recorded_value) -> None:
        n = len(record_id)
        if n:
            self.rows.append(pd.DataFrame({
                "file": np.broadcast_to(np.asarray(file, dtype=object), (n,)), "record_id": record_id,
                "column": column, "kind": kind, "true_value": true_value, "recorded_value": recorded_value,
            }))

    def frame(self) -> pd.DataFrame:
        cols = ["file", "record_id", "column", "kind", "true_value", "recorded_value"]
        return pd.concat(self.rows, ignore_index=True) if self.rows else pd.DataFrame(columns=cols)


def days_to_text(days: np.ndarray) -> np.ndarray:
    """ISO text for day numbers ("" for missing), via a lookup table (numpy's date->str is slow)."""
    days = np.asarray(days, dtype=np.int64)
    missing = days == NA
    if missing.all():
        return np.full(len(days), "", dtype=object)
    lo, hi = int(days[~missing].min()), int(days[~missing].max())
    table = (EPOCH + np.arange(lo, hi + 1).astype("timedelta64[D]")).astype(str).astype(object)
    text = table[np.where(missing, lo, days) - lo]
    text[missing] = ""
    return text


def _concat(chunks: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    return {k: np.concatenate([c[k] for c in chunks]) for k in chunks[0]}


def typo(rng: np.random.Generator, name: str) -> str:
    """One-character substitution, transposition or deletion (never empty, keeps capitals)."""
    if len(name) < 3:
        return name + "e"
    kind = rng.integers(0, 3)
    i = int(rng.integers(1, len(name) - 1))
    if kind == 0:
        letters = "aeiourstnlm"
        c = letters[int(rng.integers(0, len(letters)))]
        if c == name[i]:
            c = "y"
        return name[:i] + c + name[i + 1:]
    if kind == 1:
        return name[:i] + name[i + 1] + name[i] + name[i + 2:] if name[i] != name[i + 1] else name[:i] + name[i + 1:]
    return name[:i] + name[i + 1:]


def iter_tables(sim: Simulation, settings: CountySettings, rng_for, mess: MessLog, late_rows: list[pd.DataFrame]):
    """Yield each source's extract table (before planted errors), one at a time to bound memory.

    Mess instances go to ``mess`` and late-recorded end dates to ``late_rows``. The simulated records
    of a source are released once its table is built.
    """
    # Person-level identifier errors (none by default), drawn once so every source agrees.
    person_ids = _person_identifiers(sim, settings) if identifier_errors.any_on(settings.mess) else None
    for source in SOURCES:
        rng = rng_for()
        chunks = sim.records[source]
        if not chunks:
            frame = pd.DataFrame({f: pd.Series(dtype=object) for f in settings_contract_fields(source)})
            empty = np.zeros(0, dtype=np.int64)
            yield ExtractTable(source, frame, empty, empty, empty, np.zeros(0, dtype=object))
            continue
        rec = _concat(chunks)
        sim.records[source] = []
        n0 = len(rec["_key"])
        # Duplicates: the same person and event recorded twice under two record ids.
        dup = rng.random(n0) < settings.mess.duplicate_record
        idx = np.concatenate([np.arange(n0), np.flatnonzero(dup)])
        is_dup = np.concatenate([np.zeros(n0, dtype=bool), np.ones(int(dup.sum()), dtype=bool)])
        rec = {k: v[idx] for k, v in rec.items()}
        order = np.lexsort((is_dup, rec["_key"], rec["person"], rec[MAIN_DATE[source]]))
        rec = {k: v[order] for k, v in rec.items()}
        is_dup = is_dup[order]
        n = len(order)
        person = rec["person"]
        if source == "statutory_cases":
            record_id = np.empty(n, dtype=object)
            files = np.empty(n, dtype=object)
            for d in DISTRICTS:
                sel = rec["district"] == d
                nums = np.arange(1, int(sel.sum()) + 1) + 1000
                record_id[sel] = DISTRICT_PREFIX[d] + "-" + zero_pad(nums, 7)
                files[sel] = f"statutory_cases_{d}.csv"
        else:
            nums = np.arange(1, n + 1) + 100
            record_id = ID_PREFIX[source] + "-" + zero_pad(nums, 7)
            files = np.full(n, f"{source}.csv", dtype=object)
        record_id = record_id.astype(object)
        dup_of = np.where(is_dup, rec["_key"], -1)
        key = np.where(is_dup, -1, rec["_key"])
        mess.add(files[is_dup], record_id[is_dup], "", "duplicate_record", "", "")

        out: dict[str, np.ndarray] = {}
        ppl = sim.people
        id_col = sim_contract_id(source)
        out[id_col] = record_id
        for k, v in rec.items():
            if k in ("person", "_key"):
                continue
            name = RENAME[source].get(k, k)
            if v.dtype == np.int64:
                out[name] = days_to_text(v)
            elif v.dtype == bool:
                out[name] = np.where(v, "yes", "no").astype(object)
            else:
                out[name] = v.astype(object)
        # ------------------------------------------------------------ identifiers as recorded
        first = ppl["first_name"][person].astype(object)
        last = ppl["last_name"][person].astype(object)
        richer = identifier_errors.any_on(settings.mess)
        if richer:
            # Surname changes and two-part surnames belong to the person (identifier_errors.py).
            known_as, double, new_name, change_day, dob_jan1 = person_ids
            last, changed, part = identifier_errors.surnames_as_recorded(
                sim.seed, source, known_as[person], new_name[person], change_day[person], double[person],
                rec[MAIN_DATE[source]], settings.mess)
            mess.add(files[changed], record_id[changed], "last_name", "surname_change", known_as[person][changed],
                     last[changed])
            mess.add(files[part], record_id[part], "last_name", "double_barrelled_part", known_as[person][part],
                     last[part])
        variant_rate = settings.mess.nickname_in_outreach if source == "outreach_contacts" else settings.mess.name_variant_elsewhere
        has_variant = pd.Series(first, dtype=object).isin(list(NAME_VARIANTS)).to_numpy()
        use_variant = has_variant & (rng.random(n) < variant_rate)
        rows = np.flatnonzero(use_variant)
        before = first[rows].copy()
        pick = rng.random(len(rows))
        first[rows] = [NAME_VARIANTS[f][int(u * len(NAME_VARIANTS[f]))] for f, u in zip(before, pick, strict=True)]
        mess.add(files[rows], record_id[rows], "first_name", "name_variant", before, first[rows])
        typo_rows = np.flatnonzero(rng.random(n) < settings.mess.name_typo)
        typo_last = rng.random(len(typo_rows)) < 0.5
        for arr, col, rows in ((last, "last_name", typo_rows[typo_last]), (first, "first_name", typo_rows[~typo_last])):
            before = arr[rows].copy()
            arr[rows] = [typo(rng, x) for x in before]
            mess.add(files[rows], record_id[rows], col, "typo", before, arr[rows])
        dob = ppl["dob"][person].copy()
        if richer and dob_jan1[person].any():
            # Registered as born on 1 January of their year (no documented date of birth).
            jan = dob_jan1[person]
            true_text = days_to_text(dob[jan])
            years = (EPOCH + dob[jan].astype("timedelta64[D]")).astype("datetime64[Y]")
            dob[jan] = (years.astype("datetime64[D]") - EPOCH).astype(np.int64)
            moved = true_text != days_to_text(dob[jan])
            mess.add(files[jan][moved], record_id[jan][moved], "date_of_birth", "dob_jan1_person", true_text[moved],
                     days_to_text(dob[jan])[moved])
        dob_text = days_to_text(dob)
        as_date = (EPOCH + dob.astype("timedelta64[D]")).astype("datetime64[D]")
        month_start = as_date.astype("datetime64[M]")
        day_num = (as_date - month_start.astype("datetime64[D]")).astype(int) + 1
        month_num = month_start.astype(int) % 12 + 1
        swappable = (day_num <= 12) & (day_num != month_num)
        if source == "outreach_contacts":
            missing = rng.random(n) < settings.mess.outreach_dob_missing
        elif source == "institutional_discharges":
            missing = np.zeros(n, dtype=bool)  # institutions always hold it (required)
        else:
            missing = rng.random(n) < settings.mess.dob_missing_other
        # The rate is a share of all dates of birth, so it is applied to the swappable ones (day <= 12).
        p_swap = min(1.0, settings.mess.dob_day_month_swap / max(float((swappable & ~missing).mean()), 1e-9)
                     * float((~missing).mean()))
        swap = swappable & ~missing & (rng.random(n) < p_swap)
        swapped = dob_text.copy()
        swapped[swap] = [t[:5] + t[8:10] + "-" + t[5:7] for t in dob_text[swap]]
        mess.add(files[swap], record_id[swap], "date_of_birth", "dob_day_month_swap", dob_text[swap], swapped[swap])
        dob_rec = np.where(swap, swapped, dob_text).astype(object)
        mess.add(files[missing], record_id[missing], "date_of_birth", "dob_missing", dob_text[missing], np.full(int(missing.sum()), "", dtype=object))
        dob_rec[missing] = ""
        gender = ppl["gender"][person].astype(object)
        ni_rec = None
        if source != "outreach_contacts":
            held = {"statutory_cases": settings.mess.ni_held_statutory, "supported_accommodation": settings.mess.ni_held_supported,
                    "settled_tenancies": settings.mess.ni_held_tenancy, "institutional_discharges": settings.mess.ni_held_discharge,
                    "deaths": settings.mess.ni_held_death}[source]
            ni = ppl["ni_number"][person].astype(object)
            # Share of records holding an NI number, given the person has one.
            ni_rec = np.where(rng.random(n) < held / 0.9, ni, "").astype(object)
        if richer:
            _record_errors(sim, source, settings, person, first, last, dob_rec, ni_rec, files, record_id, mess)
        if source == "outreach_contacts":
            out["given_name"] = first
            fam_missing = rng.random(n) < settings.mess.outreach_family_name_missing
            out["family_name"] = np.where(fam_missing, "", last).astype(object)
            out["date_of_birth"] = dob_rec
            contact = rec["contact_date"]
            age = np.floor((contact - dob) / DAYS_PER_YEAR + rng.normal(0, 2.5, n)).astype(int)
            age = np.clip(age, 16, 100)
            age_text = age.astype(str).astype(object)
            age_text[~missing & (rng.random(n) < 0.2)] = ""
            out["approximate_age"] = age_text
            out["gender"] = gender
            out["nationality"] = ppl["nationality"][person].astype(object)
            out["client_ref"] = outreach_client_refs(sim.seed, person, contact, rec["district"], files, record_id,
                                                     mess, settings.mess)
        else:
            out["first_name"] = first
            out["last_name"] = last
            out["date_of_birth"] = dob_rec
            out["ni_number"] = ni_rec
            out["gender"] = gender
        if source in ("statutory_cases", "supported_accommodation"):
            eth = ppl["ethnicity"][person].astype(object)
            out["ethnicity"] = np.where(rng.random(n) < settings.mess.ethnicity_not_recorded, "", eth).astype(object)
            needs = ppl["needs"][person]
            if settings.mess.need_not_recorded or settings.mess.need_recorded_wrongly:
                true_text = needs_to_text(needs)
                needs = misrecorded_needs(sim.seed, source, needs, settings.mess)
                needs_text = needs_to_text(needs)
                wrong = needs_text != true_text
                mess.add(files[wrong], record_id[wrong], "support_needs", "needs_misrecorded", true_text[wrong],
                         needs_text[wrong])
            else:
                needs_text = needs_to_text(needs)
            out["support_needs"] = needs_text
        if source == "statutory_cases":
            disab = needs[:, NEEDS.index("physical_ill_health")] | needs[:, NEEDS.index("learning_disability")]
            out["disability"] = np.where(rng.random(n) < 0.1, "", np.where(disab, "yes", "no")).astype(object)
            out["sexual_orientation"] = np.where(
                rng.random(n) < 0.3, "",
                np.array(["heterosexual", "gay_lesbian", "bisexual", "other", "not_known"], dtype=object)[
                    rng.choice(5, n, p=[0.82, 0.04, 0.04, 0.01, 0.09])],
            ).astype(object)
            out["nationality"] = ppl["nationality"][person].astype(object)
            nat = ppl["nationality"][person]
            nrpf = (nat == "non_eu") & (rng.random(n) < 0.2)
            out["no_recourse_public_funds"] = np.where(rng.random(n) < 0.15, "", np.where(nrpf, "yes", "no")).astype(object)
            out["household_type"] = ppl["household_type"][person].astype(object)

        # ------------------------------------------------------------ late-recorded end dates
        if source in LATE_END:
            end_col, deps = LATE_END[source]
            late = _late_mask(rng, rec["end"], sim.extract_day, settings)
            for c in (end_col, *deps):
                late_rows.append(pd.DataFrame({"file": files[late], "record_id": record_id[late], "column": c,
                                               "true_value": out[c][late]}))
                out[c] = out[c].copy()
                out[c][late] = ""
        elif source == "statutory_cases":
            # The last stage's end may be recorded late (only when nothing was recorded after it).
            rel_last = (rec["rel_end"] != NA) & (rec["main_date"] == NA)
            prev_last = (rec["prev_end"] != NA) & (rec["rel_start"] == NA)
            for end_col, deps, cand in (("relief_duty_end", ("relief_duty_end_reason", "accommodation_secured"), rel_last),
                                        ("prevention_duty_end", ("prevention_duty_end_reason", "accommodation_secured"), prev_last)):
                internal = "rel_end" if end_col.startswith("relief") else "prev_end"
                late = cand & _late_mask(rng, rec[internal], sim.extract_day, settings)
                for c in (end_col, *deps):
                    late_rows.append(pd.DataFrame({"file": files[late], "record_id": record_id[late], "column": c,
                                                   "true_value": out[c][late]}))
                    out[c] = out[c].copy()
                    out[c][late] = ""
        contract_fields = settings_contract_fields(source)
        frame = pd.DataFrame({f: out[f] for f in contract_fields})
        del out, rec
        yield ExtractTable(source, frame, person, key, dup_of, files)


def _person_identifiers(sim: Simulation, settings: CountySettings):
    """Person-level identifier errors, drawn once per county (every source sees the same)."""
    start = int((np.datetime64(settings.simulation_start, "D") - EPOCH).astype(int))
    return identifier_errors.person_surnames(sim.seed, sim.people, start, sim.extract_day, settings.mess)


def _record_errors(sim, source, settings, person, first, last, dob_rec, ni_rec, files, record_id, mess) -> None:
    """Per-record identifier errors (identifier_errors.py), applied in place and logged."""
    before = {"first_name": first.copy(), "last_name": last.copy(), "date_of_birth": dob_rec.copy(),
              "ni_number": None if ni_rec is None else ni_rec.copy()}
    non_uk = sim.people["nationality"][person] != "uk"
    masks = identifier_errors.record_errors(sim.seed, source, first, last, dob_rec, ni_rec, non_uk, settings.mess)
    columns = {"name_order_swap": ("first_name", "last_name"), "forename_initial": ("first_name",),
               "dob_default_jan1": ("date_of_birth",), "dob_first_of_month": ("date_of_birth",),
               "dob_year_off": ("date_of_birth",), "ni_digit_typo": ("ni_number",)}
    after = {"first_name": first, "last_name": last, "date_of_birth": dob_rec, "ni_number": ni_rec}
    for kind, mask in masks.items():
        for col in columns[kind]:
            mess.add(files[mask], record_id[mask], col, kind, before[col][mask], after[col][mask])


def needs_to_text(needs: np.ndarray) -> np.ndarray:
    """Support needs as recorded: codes joined by ";" in vocabulary order (blank for none)."""
    needs_text = np.full(len(needs), "", dtype=object)
    for j, need in enumerate(NEEDS):
        has = needs[:, j]
        needs_text[has] = np.where(needs_text[has] == "", need, needs_text[has] + ";" + need)
    return needs_text


def misrecorded_needs(seed: int, source: str, needs: np.ndarray, m) -> np.ndarray:
    """Needs as a worker records them (a scenario): each true need left off a record with probability
    ``need_not_recorded``, each absent one put on with ``need_recorded_wrongly``, independently per
    record, so one person's records disagree. Drawn from a stream of its own per source."""
    rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence([seed, 0x4EED5, SOURCES.index(source)])))
    u = rng.random(needs.shape)
    return np.where(needs, u >= m.need_not_recorded, u < m.need_recorded_wrongly)


def outreach_client_refs(seed: int, person: np.ndarray, day: np.ndarray, district: np.ndarray, files: np.ndarray,
                         record_id: np.ndarray, mess: MessLog, m) -> np.ndarray:
    """The outreach system's client reference on each contact (rows in date order).

    A person's first contact opens a profile; a later contact opens a new one when the worker does
    not recognise them (rate ``outreach_new_profile``, or ``..._after_gap`` after an absence of more
    than ``outreach_profile_gap_days``). Some contacts carry no client and a few the wrong one: a
    client seen in the same district around then. Drawn from a stream of its own, so adding the
    reference changed no other column of the county.
    """
    rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence([seed, 0x0C11E27])))
    n = len(person)
    frame = pd.DataFrame({"person": person, "day": day})
    gap = frame.groupby("person", sort=False)["day"].diff().to_numpy()
    first = np.isnan(gap)
    p_new = np.where(gap > m.outreach_profile_gap_days, m.outreach_new_profile_after_gap, m.outreach_new_profile)
    opens = first | (rng.random(n) < np.where(first, 1.0, p_new))
    # Profile = the person's count of profiles opened so far; numbered in order of opening.
    frame["opened"] = opens.astype(np.int64)
    frame["nth"] = frame.groupby("person", sort=False)["opened"].cumsum()
    profile = pd.factorize(pd.MultiIndex.from_arrays([frame["person"], frame["nth"]]))[0]
    ref = ("OC-" + zero_pad(profile + 10001, 6)).astype(object)
    new_profile = opens & ~first
    mess.add(files[new_profile], record_id[new_profile], "client_ref", "client_ref_new_profile",
             np.full(int(new_profile.sum()), "", dtype=object), ref[new_profile])
    true_ref = ref.copy()
    # Wrong client: another client's contact in the same district, a few rows (days) away.
    wrong = np.flatnonzero(rng.random(n) < m.outreach_client_ref_wrong)
    for i in wrong:
        near = np.flatnonzero((district[max(0, i - 40):i + 40] == district[i])
                              & (person[max(0, i - 40):i + 40] != person[i])) + max(0, i - 40)
        if len(near):
            ref[i] = true_ref[near[int(rng.integers(0, len(near)))]]
    wrong = wrong[ref[wrong] != true_ref[wrong]]
    mess.add(files[wrong], record_id[wrong], "client_ref", "client_ref_wrong_client", true_ref[wrong], ref[wrong])
    missing = rng.random(n) < m.outreach_client_ref_missing
    mess.add(files[missing], record_id[missing], "client_ref", "client_ref_missing", ref[missing],
             np.full(int(missing.sum()), "", dtype=object))
    ref[missing] = ""
    return ref


def _late_mask(rng: np.random.Generator, end: np.ndarray, extract_day: int, settings: CountySettings) -> np.ndarray:
    m = settings.mess
    has = end != NA
    recent = has & (end > extract_day - m.late_end_recent_days)
    u = rng.random(len(end))
    return (recent & (u < m.late_end_recent)) | (has & ~recent & (u < m.late_end_older))


def sim_contract_id(source: str) -> str:
    from workbench.contracts import load_contracts

    return load_contracts()[source].record_id


def settings_contract_fields(source: str) -> list[str]:
    from workbench.contracts import load_contracts

    return load_contracts()[source].field_names
