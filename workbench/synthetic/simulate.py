"""Simulate people's paths through homelessness and the services, vectorised over people.

Each person has at most one pending *state entry* at a time (approach a council, sleep rough, stay
in supported accommodation, temporary accommodation, a settled tenancy, custody, hospital). Each
round takes every pending entry, handles all entries of one state together with numpy, writes the
records that state produces (in every source) and queues each person's next entry. Rounds repeat
until every path has passed the extract date, ended in death or left the county's services.

The planted effects are built into the handlers exactly (see ``truth.py`` for what is written):
returns (``_tenancy``), supported housing (``_supported`` assigns the model, ``_tenancy`` the
outcome), new arrivals (``_new_arrivals``), districts and equality (``_approach``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from scipy.stats import norm

from workbench.definitions import DISTRICTS, SOURCES
from workbench.synthetic.hazards import (
    DAYS_PER_YEAR,
    death_rate_per_day,
    expit,
    housing_first_pieces,
    sample_event_times,
)
from workbench.synthetic.population import NEED_INDEX, concat_people, draw, make_people
from workbench.synthetic.settings import CountySettings

NA = np.int64(-(2**40))  # missing day number (dates are days since 1970-01-01)
EPOCH = np.datetime64("1970-01-01", "D")
RETURN_ROUTES_IN = ("rough_sleeping", "temporary_accommodation", "supported_accommodation", "relief_duty")
SA_MODELS_OTHER = ("shared_house", "dispersed")
UNMEASURED_STREAM = 0x5CE7A1  # the unmeasured confounder's own random stream (scenario profiles)


def map_values(codes: np.ndarray, mapping: dict[str, float]) -> np.ndarray:
    """Vectorised dict lookup for an array of codes (all codes must be keys)."""
    keys = np.array(sorted(mapping), dtype=object)
    values = np.array([mapping[k] for k in keys], dtype=float)
    return values[np.searchsorted(keys, codes)]


def to_day(iso: str) -> int:
    return int((np.datetime64(iso, "D") - EPOCH).astype(np.int64))


def lognormal_days(rng: np.random.Generator, median: float, sigma: float, size: int, lo: int = 1) -> np.ndarray:
    return np.maximum(lo, np.ceil(np.exp(np.log(median) + sigma * rng.standard_normal(size)))).astype(np.int64)


@dataclass
class Pending:
    """A batch of state entries (one per person), column arrays of equal length."""

    person: np.ndarray
    state: np.ndarray
    day: np.ndarray
    district: np.ndarray
    route: np.ndarray
    kind: np.ndarray
    model: np.ndarray
    ref: np.ndarray
    aux: np.ndarray

    def take(self, sel: np.ndarray) -> Pending:
        return Pending(**{k: getattr(self, k)[sel] for k in self.__dataclass_fields__})


@dataclass
class Simulation:
    settings: CountySettings
    seed: int
    scale: float
    extract_day: int
    records: dict[str, list[dict[str, np.ndarray]]] = field(default_factory=lambda: {s: [] for s in SOURCES})
    counters: dict[str, int] = field(default_factory=lambda: dict.fromkeys(SOURCES, 0))
    truth: dict[str, list[dict[str, np.ndarray]]] = field(default_factory=dict)
    _queue: list[Pending] = field(default_factory=list)
    _rng_calls: int = 0
    rounds: int = 0

    # ----------------------------------------------------------------------------------- plumbing
    def rng(self) -> np.random.Generator:
        """A fresh child stream per call; calls happen in a fixed order, so output is reproducible."""
        self._rng_calls += 1
        return np.random.Generator(np.random.PCG64(np.random.SeedSequence([self.seed, self._rng_calls])))

    def emit(self, source: str, **cols: np.ndarray) -> np.ndarray:
        """Store records of ``source``; returns their internal keys (order of emission)."""
        n = len(next(iter(cols.values())))
        keys = np.arange(self.counters[source], self.counters[source] + n, dtype=np.int64)
        self.counters[source] += n
        if n:
            cols["_key"] = keys
            self.records[source].append(cols)
        return keys

    def add_truth(self, table: str, **cols: np.ndarray) -> None:
        if len(next(iter(cols.values()))):
            self.truth.setdefault(table, []).append(cols)

    def push(self, state: str, person, day, district, route="", kind="", model="", ref=-1, aux=NA) -> None:
        person = np.asarray(person, dtype=np.int64)
        n = len(person)
        day = np.broadcast_to(np.asarray(day, dtype=np.int64), (n,))
        keep = day <= self.extract_day  # later entries are beyond the extract: never seen

        def col(x, dtype):
            return np.broadcast_to(np.asarray(x, dtype=dtype), (n,))[keep].copy()

        if keep.any():
            self._queue.append(
                Pending(
                    person=person[keep],
                    state=np.full(int(keep.sum()), state, dtype=object),
                    day=day[keep].copy(),
                    district=col(district, object),
                    route=col(route, object),
                    kind=col(kind, object),
                    model=col(model, object),
                    ref=col(ref, np.int64),
                    aux=col(aux, np.int64),
                )
            )

    def age_years(self, person: np.ndarray, day: np.ndarray) -> np.ndarray:
        return (day - self.people["dob"][person]) / DAYS_PER_YEAR

    def need(self, person: np.ndarray, name: str) -> np.ndarray:
        return self.people["needs"][person, NEED_INDEX[name]]

    def rough_sleeping_allowed(self, person: np.ndarray, day: np.ndarray) -> np.ndarray:
        """Only people already seen bedded down (within 60 months) go back to the streets.

        Everyone else arriving on the streets is a planted new arrival, so the new-arrivals truth is
        exact (nobody becomes "new" by accident).
        """
        last = self.last_bedded_down[person]
        window = self.settings.new_arrivals.lookback_new_days - 30
        return (last != NA) & (day - last <= window)

    # ------------------------------------------------------------------------------------- people
    def create_people(self) -> None:
        s = self.settings
        v = s.volumes
        start = to_day(s.simulation_start)
        stat_start = to_day(s.statutory_start)
        end = self.extract_day
        blocks: list[dict[str, np.ndarray]] = []
        entries: list[tuple[str, np.ndarray]] = []  # (kind, entry days) per block, same order

        def n_over(rate_per_year: float, first: int) -> int:
            return int(self.rng().poisson(rate_per_year * self.scale * (end - first + 1) / DAYS_PER_YEAR))

        def uniform_days(n: int, first: int) -> np.ndarray:
            return np.sort(self.rng().integers(first, end + 1, n))

        plan = [
            ("household", "household", n_over(v.household_approaches_per_year, stat_start), stat_start),
            ("street", "arrival", n_over(v.new_rough_sleepers_per_year, start), start),
            ("street", "stock", int(self.rng().poisson(v.rough_sleeping_stock_at_start * self.scale)), None),
            ("supported", "sa_direct", n_over(v.supported_direct_entries_per_year, start), start),
            ("supported", "sa_stock", int(self.rng().poisson(v.supported_stock_at_start * self.scale)), None),
        ]
        if v.tenancy_move_ins_before_start_per_year > 0:  # a scenario: tenancies that began before the data
            years = v.tenancies_before_start_years
            plan.append(("household", "tenancy_before_start",
                         int(self.rng().poisson(v.tenancy_move_ins_before_start_per_year * self.scale * years)),
                         start - int(round(years * DAYS_PER_YEAR))))
        for profile, kind, n, first in plan:
            if first is None:
                days = start + self.rng().integers(0, 45 if kind == "stock" else 1, n)
                days = np.sort(days)
            elif kind == "tenancy_before_start":
                days = np.sort(self.rng().integers(first, start, n))
            else:
                days = uniform_days(n, first)
            blocks.append(make_people(self.rng(), profile, days))
            entries.append((kind, days))
        self.people = concat_people(blocks)
        n_people = len(self.people["dob"])
        self.last_bedded_down = np.full(n_people, NA, dtype=np.int64)
        self.death_day = np.full(n_people, NA, dtype=np.int64)
        offset = 0
        self.person_block: dict[str, np.ndarray] = {}
        for kind, days in entries:
            idx = np.arange(offset, offset + len(days), dtype=np.int64)
            offset += len(days)
            self.person_block[kind] = idx
        self.people["block"] = np.concatenate([np.full(len(d), k, dtype=object) for k, d in entries])
        sh = s.supported_housing
        if sh.unmeasured_prevalence > 0:  # a scenario: drawn from a stream of its own
            own = np.random.Generator(np.random.PCG64(np.random.SeedSequence([self.seed, UNMEASURED_STREAM])))
            self.unmeasured = (own.random(n_people) < sh.unmeasured_prevalence).astype(float)
        self._seed_entries(entries)

    def _seed_entries(self, entries: list[tuple[str, np.ndarray]]) -> None:
        s = self.settings
        rng = self.rng()
        start = to_day(s.simulation_start)
        for kind, days in entries:
            idx = self.person_block[kind]
            n = len(idx)
            if kind == "household":
                district = draw(rng, s.volumes.district_shares, n)
                after_discharge = rng.random(n) < s.volumes.approach_after_discharge_share
                self._discharges_before_approach(idx[after_discharge], days[after_discharge], district[after_discharge])
                kinds = np.where(after_discharge, "after_discharge", "general")
                self.push("approach", idx, days, district, kind=kinds, route=self._referral(rng, kinds, idx))
            elif kind == "arrival":
                self._new_arrivals(idx, days)
            elif kind == "stock":
                district = draw(rng, s.volumes.street_district_shares, n)
                self.push("rough_sleeping", idx, days, district, kind="stock")
            elif kind == "sa_direct":
                route = draw(rng, {"relief_duty": 0.25, "hospital": 0.15, "prison": 0.15,
                                   "family_friends": 0.30, "other": 0.15}, n)
                district = draw(rng, s.volumes.street_district_shares, n)
                for r, inst in (("hospital", "hospital_general"), ("prison", "prison")):
                    sel = route == r
                    self._discharge_records(
                        idx[sel], days[sel] - rng.integers(0, 3, int(sel.sum())), district[sel], inst,
                        np.full(int(sel.sum()), "supported_accommodation", dtype=object),
                    )
                self.push("supported", idx, days, district, route=route, kind="entry")
            elif kind == "tenancy_before_start":
                route = draw(rng, {"relief_duty": 0.45, "temporary_accommodation": 0.4, "rough_sleeping": 0.15}, n)
                tenure = np.where(route == "rough_sleeping", "housing_first",
                                  np.where(rng.random(n) < 0.7, "social_rented", "private_rented")).astype(object)
                district = draw(rng, s.volumes.district_shares, n)
                self.push("tenancy", idx, days, district, route=route, kind=tenure)
            elif kind == "sa_stock":
                route = draw(rng, {"rough_sleeping": 0.45, "relief_duty": 0.2, "hospital": 0.1, "prison": 0.1,
                                   "family_friends": 0.15}, n)
                district = draw(rng, s.volumes.street_district_shares, n)
                backdated = start - rng.integers(1, 700, n)
                self.push("supported", idx, days, district, route=route, kind="stock", aux=backdated)

    def _referral(self, rng: np.random.Generator, kinds: np.ndarray, person: np.ndarray) -> np.ndarray:
        n = len(kinds)
        general = draw(rng, {"self_referral": 0.74, "dtr_jobcentre": 0.03, "dtr_social_care": 0.04,
                             "dtr_probation": 0.02, "dtr_armed_forces": 0.003, "other_agency": 0.09,
                             "other_authority": 0.02, "not_known": 0.057}, n)
        inst = draw(rng, {"dtr_hospital": 0.45, "dtr_prison": 0.25, "dtr_mental_health": 0.2, "dtr_probation": 0.1}, n)
        return np.where(kinds == "after_discharge", inst, general)

    # --------------------------------------------------------------------------- discharge records
    def _discharge_records(self, person, discharge_day, district, institution, accommodation) -> np.ndarray:
        rng = self.rng()
        n = len(person)
        institution = np.broadcast_to(np.asarray(institution, dtype=object), (n,))
        median = np.where(np.isin(institution, ["prison", "probation_approved_premises"]), 110.0, 12.0)
        stay = np.maximum(1, np.ceil(median * np.exp(0.8 * rng.standard_normal(n)))).astype(np.int64)
        admission = discharge_day - stay
        admission = np.where(rng.random(n) < 0.08, NA, admission)  # admission date not always sent
        keep = discharge_day <= self.extract_day
        return self.emit(
            "institutional_discharges",
            person=person[keep], institution_type=institution[keep], district=np.asarray(district, dtype=object)[keep],
            admission=admission[keep], discharge=np.asarray(discharge_day)[keep],
            accommodation=np.asarray(accommodation, dtype=object)[keep],
        )

    def _discharges_before_approach(self, person, approach_day, district) -> None:
        rng = self.rng()
        n = len(person)
        inst = draw(rng, {"hospital_general": 0.45, "hospital_mental_health": 0.2, "prison": 0.25,
                          "probation_approved_premises": 0.1}, n)
        acc = draw(rng, {"no_fixed_abode": 0.45, "family_friends": 0.3, "not_known": 0.15, "settled": 0.1}, n)
        self._discharge_records(person, approach_day - rng.integers(0, 15, n), district, inst, acc)

    # ------------------------------------------------------------------------------- new arrivals
    def _new_arrivals(self, person: np.ndarray, arrival: np.ndarray) -> None:
        """Planted effect 3: each new rough sleeper's earlier presentation (or none)."""
        s = self.settings.new_arrivals
        rng = self.rng()
        n = len(person)
        district = draw(rng, self.settings.volumes.street_district_shares, n)
        in_cohort = arrival >= to_day(s.cohort_start)
        # Exact allocation (a random permutation of a fixed composition), so the cohort's realised share
        # and route mix equal the planted ones up to rounding: the truth is the sample, not a superpopulation.
        cohort = np.flatnonzero(in_cohort)
        presented = np.zeros(n, dtype=bool)
        n_pres = int(round(s.share_presented_earlier * len(cohort)))
        chosen = rng.permutation(cohort)[:n_pres]
        presented[chosen] = True
        route = np.full(n, "", dtype=object)
        names = list(s.route_shares)
        shares = np.array([s.route_shares[r] for r in names], dtype=float)
        counts = np.floor(shares / shares.sum() * n_pres).astype(int)
        counts[: n_pres - counts.sum()] += 1  # largest-remainder style top-up, deterministic
        route[np.sort(chosen)] = rng.permutation(np.repeat(np.array(names, dtype=object), counts))
        gap = np.zeros(n, dtype=np.int64)
        for r, median in s.route_median_days.items():
            sel = route == r
            k = int(sel.sum())
            # Lognormal truncated to [1, max]: inverse CDF of a uniform on the truncated range.
            mu, sig = np.log(median), s.route_sigma
            hi = norm.cdf((np.log(s.route_max_days[r]) - mu) / sig)
            u = rng.random(k) * hi
            gap[sel] = np.clip(np.ceil(np.exp(mu + sig * norm.ppf(u))), 1, s.route_max_days[r]).astype(np.int64)
        earlier_source = np.full(n, "", dtype=object)
        earlier_key = np.full(n, -1, dtype=np.int64)
        earlier_day = arrival - gap

        sel = route == "duty_ended_contact_lost_or_56_days"
        if sel.any():
            keys = self._arrival_relief_cases(person[sel], arrival[sel], gap[sel], district[sel], rng)
            earlier_source[sel], earlier_key[sel] = "statutory_cases", keys
        sel = route == "institution_discharge"
        if sel.any():
            k = int(sel.sum())
            inst = draw(rng, {"prison": 0.45, "hospital_general": 0.3, "hospital_mental_health": 0.15,
                              "probation_approved_premises": 0.10}, k)
            acc = draw(rng, {"no_fixed_abode": 0.5, "rough_sleeping": 0.2, "not_known": 0.15, "family_friends": 0.15}, k)
            dist = np.where(rng.random(k) < 0.15, "outside_oxfordshire", district[sel]).astype(object)
            earlier_source[sel] = "institutional_discharges"
            earlier_key[sel] = self._discharge_records(person[sel], earlier_day[sel], dist, inst, acc)
        sel = route == "supported_accommodation_eviction"
        if sel.any():
            k = int(sel.sum())
            end = earlier_day[sel]
            start = end - lognormal_days(rng, 120, 0.8, k)
            model = draw(rng, {"congregate_hostel": 0.5, "shared_house": 0.25, "dispersed": 0.1,
                               "young_persons": 0.1, "mental_health": 0.05}, k)
            earlier_source[sel] = "supported_accommodation"
            earlier_key[sel] = self._sa_records(
                person[sel], start, end, district[sel], model,
                draw(rng, {"family_friends": 0.5, "other": 0.3, "relief_duty": 0.2}, k),
                np.full(k, "evicted", dtype=object),
                draw(rng, {"rough_sleeping": 0.6, "not_known": 0.4}, k),
            )
        sel = route == "approach_other_district"
        if sel.any():
            keys = self._arrival_other_district_cases(person[sel], arrival[sel], gap[sel], district[sel], rng)
            earlier_source[sel], earlier_key[sel] = "statutory_cases", keys

        self.add_truth(
            "new_arrivals",
            person=person, arrival_day=arrival, district=district, in_cohort=in_cohort,
            presented_earlier=presented, route=route, earlier_source=earlier_source,
            earlier_key=earlier_key, earlier_day=np.where(presented, earlier_day, NA),
            days_before_arrival=np.where(presented, gap, NA),
        )
        self.push("rough_sleeping", person, arrival, district, kind="arrival")

    def _case_frame(self, n: int) -> dict[str, np.ndarray]:
        blank = np.full(n, "", dtype=object)
        nad = np.full(n, NA, dtype=np.int64)
        return {
            "assessment": blank.copy(), "loss_reason": blank.copy(), "referral_route": blank.copy(),
            "prev_start": nad.copy(), "prev_end": nad.copy(), "prev_reason": blank.copy(),
            "rel_start": nad.copy(), "rel_end": nad.copy(), "rel_reason": blank.copy(),
            "main_decision": blank.copy(), "main_date": nad.copy(), "acc_secured": blank.copy(),
        }

    def _emit_cases(self, person, district, approach, c: dict[str, np.ndarray]) -> np.ndarray:
        """Cut a case at the extract date (later parts are not yet known) and store it."""
        x = self.extract_day
        c = {k: v.copy() for k, v in c.items()}
        prev_unknown = c["prev_start"] > x
        c["prev_start"][prev_unknown] = NA
        c["prev_end"][prev_unknown] = NA
        c["prev_reason"][prev_unknown] = ""
        prev_open = c["prev_end"] > x
        c["prev_end"][prev_open] = NA
        c["prev_reason"][prev_open] = ""
        rel_unknown = c["rel_start"] > x
        for k in ("rel_start", "rel_end", "main_date"):
            c[k][rel_unknown] = NA
        c["rel_reason"][rel_unknown] = ""
        c["main_decision"][rel_unknown] = ""
        rel_open = c["rel_end"] > x
        c["rel_end"][rel_open] = NA
        c["rel_reason"][rel_open] = ""
        c["main_decision"][rel_open] = ""
        c["main_date"][rel_open] = NA
        main_late = c["main_date"] > x
        c["main_date"][main_late] = NA
        c["main_decision"][main_late] = "no_decision"
        # Accommodation secured is only known once the duty that secured it has ended.
        secured_open = (prev_open & (c["prev_start"] != NA) & (c["rel_start"] == NA)) | rel_open | rel_unknown
        c["acc_secured"][secured_open & (c["acc_secured"] != "")] = ""
        return self.emit("statutory_cases", person=person, district=district, approach=approach, **c)

    def _arrival_relief_cases(self, person, arrival, gap, district, rng) -> np.ndarray:
        n = len(person)
        case_district = np.where(rng.random(n) < 0.8, district, draw(rng, self.settings.volumes.district_shares, n))
        c = self._case_frame(n)
        reason = np.where(rng.random(n) < 0.55, "contact_lost", "days_56_elapsed").astype(object)
        dur = np.where(reason == "contact_lost", rng.integers(5, 57, n), 56 + rng.integers(0, 8, n))
        c["rel_end"] = arrival - gap
        c["rel_start"] = c["rel_end"] - dur
        approach = c["rel_start"] - rng.integers(0, 4, n)
        c["assessment"][:] = "homeless"
        c["rel_reason"] = reason
        c["loss_reason"] = draw(rng, {"family_friends": 0.35, "end_ast": 0.15, "relationship_breakdown": 0.12,
                                      "left_institution": 0.08, "other_violence": 0.05, "other": 0.25}, n)
        c["referral_route"] = draw(rng, {"self_referral": 0.8, "other_agency": 0.15, "not_known": 0.05}, n)
        elapsed = reason == "days_56_elapsed"
        decision = draw(rng, {"not_priority": 0.6, "intentionally_homeless": 0.15, "no_decision": 0.25}, n)
        c["main_decision"] = np.where(elapsed, decision, "").astype(object)
        decided = elapsed & (decision != "no_decision")
        wait = np.minimum(rng.integers(0, 15, n), np.maximum(gap - 1, 0))
        c["main_date"] = np.where(decided, c["rel_end"] + wait, NA)
        return self._emit_cases(person, case_district, approach, c)

    def _arrival_other_district_cases(self, person, arrival, gap, district, rng) -> np.ndarray:
        n = len(person)
        others = np.array(DISTRICTS, dtype=object)
        shift = rng.integers(1, len(DISTRICTS), n)
        pos = np.array([DISTRICTS.index(d) for d in district])
        case_district = others[(pos + shift) % len(DISTRICTS)]
        c = self._case_frame(n)
        approach = arrival - gap
        homeless = (rng.random(n) < 0.6) & (gap > 4)
        c["assessment"] = np.where(homeless, "homeless", "not_threatened").astype(object)
        c["rel_start"] = np.where(homeless, approach + rng.integers(0, 3, n), NA)
        end = np.minimum(c["rel_start"] + rng.integers(3, 50, n), arrival - 1)
        c["rel_end"] = np.where(homeless, end, NA)
        c["rel_reason"] = np.where(
            homeless,
            draw(rng, {"local_connection_referral": 0.4, "withdrew_or_died": 0.3, "refused_cooperate": 0.1, "not_known": 0.2}, n),
            "",
        ).astype(object)
        c["loss_reason"] = draw(rng, {"family_friends": 0.4, "end_ast": 0.15, "relationship_breakdown": 0.15, "other": 0.3}, n)
        c["referral_route"] = draw(rng, {"self_referral": 0.85, "other_agency": 0.15}, n)
        return self._emit_cases(person, case_district, approach, c)

    # ----------------------------------------------------------------------------------- handlers
    def _approach(self, b: Pending) -> None:
        """A statutory case: assessment, prevention, relief and main duty (effects 4 and 5)."""
        s, h = self.settings, self.settings.hazards
        rng = self.rng()
        n = len(b.person)
        p, a = b.person, b.day
        general = np.isin(b.kind, ["general", "after_discharge"])
        c = self._case_frame(n)
        c["referral_route"] = np.where(general, b.route, "").astype(object)
        c["referral_route"][~general] = draw(rng, {"self_referral": 0.7, "other_agency": 0.25, "not_known": 0.05}, int((~general).sum()))
        loss = draw(rng, {"family_friends": 0.26, "end_ast": 0.22, "end_private_other": 0.03, "domestic_abuse": 0.11,
                          "relationship_breakdown": 0.08, "end_social_tenancy": 0.04, "eviction_supported_housing": 0.02,
                          "other_violence": 0.02, "asylum_support_ended": 0.03, "home_unsuitable": 0.03,
                          "other": 0.16}, n)
        loss = np.where((loss == "domestic_abuse") & ~self.need(p, "domestic_abuse"), "relationship_breakdown", loss)
        loss = np.where(b.kind == "after_discharge", "left_institution", loss)
        loss = np.where(b.kind == "return_relief",
                        draw(rng, {"end_social_tenancy": 0.45, "end_ast": 0.3, "other": 0.25}, n), loss)
        loss = np.where(b.kind == "rs_relief", draw(rng, {"other": 0.6, "family_friends": 0.4}, n), loss)
        c["loss_reason"] = loss.astype(object)
        c["assessment"] = np.where(general, draw(rng, h.assessment_shares, n), "homeless").astype(object)

        # Prevention duty. Success depends only on district (effect 4) and ethnicity (effect 5).
        prev = c["assessment"] == "threatened_with_homelessness"
        c["prev_start"] = np.where(prev, a + rng.integers(0, 6, n), NA)
        p_district = map_values(b.district, s.districts.prevention_success)
        eth = self.people["ethnicity"][p]
        rr = np.where(eth == s.equality.ethnic_group, s.equality.risk_ratio, 1.0)
        p_success = p_district * rr
        success = prev & (rng.random(n) < p_success)
        stayed = rng.random(n) < s.districts.stayed_share
        fail_reason = draw(rng, h.prevention_fail_reasons, n)
        c["prev_reason"] = np.where(
            success, np.where(stayed, "secured_6_months_stayed", "secured_6_months_moved"),
            np.where(prev, fail_reason, ""),
        ).astype(object)
        r = c["prev_reason"]
        dur = np.select(
            [success, r == "homeless", r == "days_56_elapsed", r == "contact_lost"],
            [lognormal_days(rng, 45, 0.5, n, lo=5), rng.integers(5, 57, n), 56 + rng.integers(0, 22, n),
             rng.integers(7, 80, n)],
            rng.integers(5, 90, n),
        )
        c["prev_end"] = np.where(prev, c["prev_start"] + dur, NA)
        c["acc_secured"] = np.where(
            success & stayed, draw(rng, {"private_rented": 0.5, "social_rented": 0.3, "staying_family_friends": 0.15,
                                         "owner_occupier": 0.05}, n),
            np.where(success, draw(rng, {"social_rented": 0.3, "private_rented": 0.45, "staying_family_friends": 0.1,
                                         "supported_housing": 0.05, "other": 0.07, "not_known": 0.03}, n), ""),
        ).astype(object)

        # Relief duty (straight away, or when prevention ends because the household became homeless).
        relief = (c["assessment"] == "homeless") | (prev & (r == "homeless"))
        c["rel_start"] = np.where(c["assessment"] == "homeless", a + rng.integers(0, 4, n),
                                  np.where(relief, c["prev_end"], NA))
        if (b.kind == "return_relief").any():  # a return is recorded on the day it happens
            c["rel_start"] = np.where(b.kind == "return_relief", a, c["rel_start"])
        rel_ok = relief & (rng.random(n) < h.relief_success)
        c["rel_reason"] = np.where(rel_ok, "secured_6_months",
                                   np.where(relief, draw(rng, h.relief_fail_reasons, n), "")).astype(object)
        rr_ = c["rel_reason"]
        rdur = np.select([rel_ok, rr_ == "days_56_elapsed"], [rng.integers(7, 57, n), 56 + rng.integers(0, 15, n)],
                         rng.integers(3, 57, n))
        c["rel_end"] = np.where(relief, c["rel_start"] + rdur, NA)
        acc = draw(rng, h.relief_secured_accommodation, n)
        c["acc_secured"] = np.where(rel_ok, acc, c["acc_secured"]).astype(object)
        elapsed = relief & (rr_ == "days_56_elapsed")
        decision = draw(rng, h.main_duty_decisions, n)
        c["main_decision"] = np.where(elapsed, decision, "").astype(object)
        decided = elapsed & (decision != "no_decision")
        c["main_date"] = np.where(decided, c["rel_end"] + rng.integers(0, 31, n), NA)
        keys = self._emit_cases(p, b.district, a, c)
        self.add_truth(
            "prevention", case_key=keys[prev], person=p[prev], district=b.district[prev],
            ethnicity=eth[prev], p_success=p_success[prev], success=success[prev], prevention_start=c["prev_start"][prev],
            prevention_end=c["prev_end"][prev], end_reason=c["prev_reason"][prev],
        )

        # Next steps.
        housed = rel_ok & np.isin(acc, ["social_rented", "private_rented"])
        via_ta = rng.random(n) < 0.3
        route_in = np.where(b.kind == "rs_relief", "relief_duty", np.where(via_ta, "temporary_accommodation", "relief_duty"))
        self.push("tenancy", p[housed], c["rel_end"][housed], b.district[housed], route=route_in[housed],
                  kind=acc[housed], ref=keys[housed])
        to_sa = rel_ok & (acc == "supported_housing")
        self.push("supported", p[to_sa], c["rel_end"][to_sa], b.district[to_sa], route="relief_duty", kind="entry")
        accepted = decided & (decision == "accepted")
        self.push("temporary", p[accepted], c["main_date"][accepted], b.district[accepted])
        lost = (b.kind == "rs_relief") & relief & (rr_ == "contact_lost")
        back_day = c["rel_end"] + rng.integers(1, 30, n)
        back = lost & self.rough_sleeping_allowed(p, back_day)
        self.push("rough_sleeping", p[back], back_day[back], b.district[back], kind="again")
        exited = general & ~housed & ~to_sa & ~accepted
        again = exited & (rng.random(n) < s.volumes.repeat_approach_share)
        last = np.maximum.reduce([a, c["prev_end"], c["rel_end"], c["main_date"]])
        move = rng.random(n) < 0.15
        new_district = np.where(move, draw(rng, s.volumes.district_shares, n), b.district)
        self.push("approach", p[again], (last + rng.integers(60, 900, n))[again], new_district[again],
                  kind="general", route=self._referral(rng, np.full(n, "general"), p)[again])

    def _rough_sleeping(self, b: Pending) -> None:
        h = self.settings.hazards
        rng = self.rng()
        n = len(b.person)
        p, s0 = b.person, b.day
        median = np.where(b.kind == "stock", h.rough_sleeping_median_days * 4, h.rough_sleeping_median_days)
        length = np.maximum(1, np.ceil(median * np.exp(h.rough_sleeping_sigma * rng.standard_normal(n)))).astype(np.int64)
        rate = death_rate_per_day(h.death_rate_rough_sleeping, h.death_age_slope, self.age_years(p, s0))
        death_after = np.ceil(rng.exponential(1.0, n) / rate).astype(np.int64)
        died = death_after < length
        end = s0 + np.where(died, death_after, length)
        # Contacts: the first on the day the spell starts (seen bedded down), then more over the spell.
        more = rng.poisson(h.outreach_contacts_per_day * (end - s0))
        owner = np.repeat(np.arange(n), more)
        offs = np.floor(rng.random(len(owner)) * (end - s0)[owner]).astype(np.int64) + 1
        c_person = np.concatenate([p, p[owner]])
        c_day = np.concatenate([s0, s0[owner] + offs])
        c_verified = np.concatenate([np.ones(n, dtype=bool), rng.random(len(owner)) < h.later_contact_verified])
        c_district = np.concatenate([b.district, b.district[owner]])
        wander = rng.random(len(c_district)) < 0.12
        c_district = np.where(wander, draw(rng, self.settings.volumes.street_district_shares, len(c_district)), c_district)
        keep = c_day <= self.extract_day
        loc = draw(rng, {"doorway": 0.35, "park": 0.12, "car_park": 0.08, "tent": 0.15, "vehicle": 0.04,
                         "transport": 0.08, "bin_store": 0.08, "other": 0.10}, len(c_day))
        loc = np.where(rng.random(len(loc)) < 0.05, "", loc)
        keys = self.emit("outreach_contacts", person=c_person[keep], contact_date=c_day[keep], district=c_district[keep],
                         verified=c_verified[keep], location_type=loc[keep])
        first_keys = keys[: int(keep[:n].sum())]
        self.add_truth("spell_starts", person=p[keep[:n]], day=s0[keep[:n]], kind=b.kind[keep[:n]], contact_key=first_keys)
        vd = np.where(c_verified & keep, c_day, NA)
        np.maximum.at(self.last_bedded_down, c_person, vd)
        dead = died & (end <= self.extract_day)
        self._deaths(p[dead], end[dead], b.district[dead], "rough_sleeping")
        alive = ~died
        exit_ = draw(rng, h.rough_sleeping_exits, n)
        early = (exit_ == "relief_approach") & (end < to_day(self.settings.statutory_start))
        exit_ = np.where(early, "supported_accommodation", exit_)
        go = lambda x: alive & (exit_ == x)  # noqa: E731
        sa_district = np.where(rng.random(n) < 0.7, b.district, "oxford_city")
        self.push("supported", p[go("supported_accommodation")], end[go("supported_accommodation")],
                  sa_district[go("supported_accommodation")], route="rough_sleeping", kind="entry")
        self.push("tenancy", p[go("housing_first")], end[go("housing_first")], sa_district[go("housing_first")],
                  route="rough_sleeping", kind="housing_first")
        self.push("approach", p[go("relief_approach")], end[go("relief_approach")], b.district[go("relief_approach")],
                  kind="rs_relief")
        self.push("custody", p[go("custody")], end[go("custody")], b.district[go("custody")], route="rough_sleeping")

    def _sa_records(self, person, start, end, district, model, route_in, departure, destination) -> np.ndarray:
        x = self.extract_day
        rng = self.rng()
        open_ = end > x
        names = _service_names(rng, model, district)
        return self.emit(
            "supported_accommodation", person=person, service_name=names, model=model, district=district,
            route_in=route_in, start=start, end=np.where(open_, NA, end),
            departure=np.where(open_, "", departure).astype(object),
            destination=np.where(open_, "", destination).astype(object),
        )

    def propensity_congregate(self, p: np.ndarray, route_in: np.ndarray) -> np.ndarray:
        e = self.settings.supported_housing
        x = self.sh_covariates(p, route_in)
        lin = e.propensity_intercept + sum(coef * x[k] for k, coef in e.propensity_coefficients.items())
        lin = self._beyond_adjustment(lin, x, p, e.propensity_interactions, e.unmeasured_propensity_log_odds)
        return expit(lin)

    def _beyond_adjustment(self, lin: np.ndarray, x: dict[str, np.ndarray], p: np.ndarray,
                           interactions: dict[str, float], unmeasured_log_odds: float) -> np.ndarray:
        """Scenario terms the study's main-effects adjustment cannot capture: interactions of two
        confounders and the unmeasured confounder. Nothing is added by default (same numbers)."""
        for key, coef in interactions.items():
            a, b = (name.strip() for name in key.split("*"))
            lin = lin + coef * x[a] * x[b]
        if self.settings.supported_housing.unmeasured_prevalence > 0 and unmeasured_log_odds:
            lin = lin + unmeasured_log_odds * self.unmeasured[p]
        return lin

    def sh_covariates(self, p: np.ndarray, route_in: np.ndarray) -> dict[str, np.ndarray]:
        female = self.people["gender"][p] == "female"
        return {
            "drug_dependency": self.need(p, "drug_dependency").astype(float),
            "alcohol_dependency": self.need(p, "alcohol_dependency").astype(float),
            "history_rough_sleeping": self.need(p, "history_rough_sleeping").astype(float),
            "offending_history": self.need(p, "offending_history").astype(float),
            "mental_health": self.need(p, "mental_health").astype(float),
            "young_18_25": self.need(p, "young_person_18_25").astype(float),
            "female": female.astype(float),
            "domestic_abuse": self.need(p, "domestic_abuse").astype(float),
            "route_rough_sleeping": (np.asarray(route_in) == "rough_sleeping").astype(float),
        }

    def _supported(self, b: Pending) -> None:
        """A stay in supported accommodation; the model is drawn from the planted propensity."""
        h = self.settings.hazards
        rng = self.rng()
        n = len(b.person)
        p, s0 = b.person, b.day
        congregate = rng.random(n) < self.propensity_congregate(p, b.route)
        female = self.people["gender"][p] == "female"
        u = rng.random(n)
        other = np.where(rng.random(n) < 0.55, "shared_house", "dispersed").astype(object)
        other = np.where((b.route == "hospital") & (u < 0.6), "hospital_step_down", other)
        other = np.where(self.need(p, "mental_health") & (u > 0.75), "mental_health", other)
        other = np.where(self.need(p, "young_person_18_25") & (u < 0.5), "young_persons", other)
        other = np.where(female & self.need(p, "domestic_abuse") & (u < 0.6), "women_only", other)
        model = np.where(congregate, "congregate_hostel", other).astype(object)
        length = lognormal_days(rng, h.supported_median_days, h.supported_sigma, n)
        rate = death_rate_per_day(h.death_rate_supported, h.death_age_slope, self.age_years(p, s0))
        death_after = np.ceil(rng.exponential(1.0, n) / rate).astype(np.int64)
        died = death_after < length
        end = s0 + np.where(died, death_after, length)
        start = np.where(b.kind == "stock", b.aux, s0)
        dep = np.where(died, "died", draw(rng, h.supported_departures, n)).astype(object)
        street_ok = self.rough_sleeping_allowed(p, end + 1)
        social = rng.random(n) < h.move_on_social_share
        dest = np.select(
            [dep == "planned_move_on", np.isin(dep, ["evicted", "abandoned"]) & street_ok, dep == "transferred",
             dep == "custody", dep == "hospital", dep == "died"],
            [np.where(social, "social_rented", "private_rented"), "rough_sleeping", "supported_accommodation",
             "custody", "hospital", "died"],
            np.where(rng.random(n) < 0.6, "family_friends", "not_known"),
        ).astype(object)
        keys = self._sa_records(p, start, end, b.district, model, b.route, dep, dest)
        dead = died & (end <= self.extract_day)
        self._deaths(p[dead], end[dead], b.district[dead], "supported_accommodation")
        go = lambda d: (dest == d) & ~died  # noqa: E731
        moved = go("social_rented") | go("private_rented")
        self.push("tenancy", p[moved], end[moved], b.district[moved], route="supported_accommodation",
                  kind=dest[moved], model=model[moved], ref=keys[moved], aux=np.where(b.route == "rough_sleeping", 1, 0)[moved])
        self.push("rough_sleeping", p[go("rough_sleeping")], (end + rng.integers(0, 5, n))[go("rough_sleeping")],
                  b.district[go("rough_sleeping")], kind="again")
        self.push("supported", p[go("supported_accommodation")], end[go("supported_accommodation")],
                  b.district[go("supported_accommodation")], route="supported_accommodation", kind="entry")
        self.push("custody", p[go("custody")], end[go("custody")], b.district[go("custody")], route="supported_accommodation")
        self.push("hospital", p[go("hospital")], end[go("hospital")], b.district[go("hospital")])

    def _tenancy(self, b: Pending) -> None:
        """A settled tenancy: planted returns model (effect 1) and tenancy keeping (effect 2)."""
        h, e, sh = self.settings.hazards, self.settings.returns, self.settings.supported_housing
        rng = self.rng()
        n = len(b.person)
        p, m = b.person, b.day
        tenure = b.kind
        hf = (tenure == "housing_first").astype(float)
        drug = self.need(p, "drug_dependency").astype(float)
        age10 = (m - self.people["dob"][p]) / DAYS_PER_YEAR / 10.0
        lp = np.log(e.hr_housing_first) * hf + np.log(e.hr_drug_dependency) * drug + np.log(e.hr_age_per_10_years) * (
            age10 - e.age_centre / 10.0
        )
        if e.hr_housing_first_late is None:
            t_return = sample_event_times(rng, np.exp(lp), e.baseline_pieces)
        else:  # a scenario: the Housing First hazard ratio changes at hr_change_day (not proportional)
            t_return = np.empty(n)
            hfs_ = hf == 1
            others = np.exp(lp - np.log(e.hr_housing_first) * hf)
            t_return[~hfs_] = sample_event_times(rng, others[~hfs_], e.baseline_pieces)
            t_return[hfs_] = sample_event_times(rng, others[hfs_], housing_first_pieces(e))
        death_rate = death_rate_per_day(h.death_rate_housed, h.death_age_slope, age10 * 10.0)
        t_death = rng.exponential(1.0, n) / death_rate
        r_day = np.ceil(t_return).astype(np.int64)
        d_day = np.maximum(1, np.ceil(t_death)).astype(np.int64)
        follow = self.extract_day - m
        returned = (r_day <= follow) & (t_return < t_death)
        died = ~returned & (d_day <= follow)
        event = np.where(returned, "return", np.where(died, "death", "censored")).astype(object)
        time = np.where(returned, r_day, np.where(died, d_day, follow))

        # Losing the tenancy without (yet) returning: planted for move-ons from supported housing.
        from_sa = b.route == "supported_accommodation"
        x = self.sh_covariates(p, np.where(b.aux == 1, "rough_sleeping", "other"))
        congregate = (b.model == "congregate_hostel").astype(float)
        base = sh.failure_intercept + sum(coef * x[k] for k, coef in sh.failure_coefficients.items())
        base = self._beyond_adjustment(base, x, p, sh.failure_interactions, sh.unmeasured_failure_log_odds)
        effect = (sh.effect_base
                  + sh.effect_rough_sleeping_and_substance * x["history_rough_sleeping"]
                  * np.maximum(x["drug_dependency"], x["alcohol_dependency"])
                  + sh.effect_young_18_25 * x["young_18_25"]
                  + sh.effect_women_domestic_abuse * x["female"] * x["domestic_abuse"])
        q0, q1 = expit(base), expit(base + effect)
        q = np.where(from_sa, np.where(congregate == 1, q1, q0), h.tenancy_failure_12m)
        fails = rng.random(n) < q
        fail_day = rng.integers(15, 366, n)
        planned = rng.random(n) < h.planned_move_after_12m
        planned_day = 366 + rng.integers(0, 1000, n)
        big = np.int64(10**9)
        ends = np.vstack([
            np.where(fails, fail_day, big), np.where(returned, r_day, big), np.where(died, d_day, big),
            np.where(planned, planned_day, big),
        ])
        first = ends.argmin(axis=0)
        end_after = ends.min(axis=0)
        loss_reason = draw(rng, {"eviction_arrears": 0.4, "eviction_asb": 0.25, "abandoned": 0.35}, n)
        end_reason = np.array(["", "", "died", "planned_move"], dtype=object)[first]
        end_reason = np.where(first <= 1, loss_reason, end_reason).astype(object)
        tenancy_end = np.where(end_after <= follow, m + end_after, NA)
        end_reason = np.where(tenancy_end == NA, "", end_reason).astype(object)
        data_start = to_day(self.settings.simulation_start)
        before = m < data_start
        if before.any():
            # A scenario: move-ins before the data begin reach the extracts only if the tenancy was
            # still running then (left truncation); the others, and everything about them, are never seen.
            keep = ~before | (m + end_after > data_start)
            b = b.take(keep)
            n = int(keep.sum())
            (p, m, tenure, hf, drug, age10, lp, death_rate, r_day, d_day, follow, returned, died, event, time, from_sa,
             congregate, q0, q1, fails, fail_day, end_reason, tenancy_end) = (
                v[keep] for v in (p, m, tenure, hf, drug, age10, lp, death_rate, r_day, d_day, follow, returned, died,
                                  event, time, from_sa, congregate, q0, q1, fails, fail_day, end_reason, tenancy_end))
            x = {k: v[keep] for k, v in x.items()}
        keys = self.emit("settled_tenancies", person=p, district=b.district, tenure=tenure, route_in=b.route,
                         start=m, end=tenancy_end, end_reason=end_reason)
        # Housing First is also a supported "stay" that begins on move-in day (inside the grace window).
        hfs = hf == 1
        if hfs.any():
            dep = np.select([end_reason == "died", end_reason == "planned_move", np.isin(end_reason, ["eviction_arrears", "eviction_asb"])],
                            ["died", "planned_move_on", "evicted"], "abandoned")
            dest = np.select([end_reason == "died", end_reason == "planned_move"], ["died", "social_rented"], "not_known")
            self._sa_records(p[hfs], m[hfs], np.where(tenancy_end == NA, big, tenancy_end)[hfs], b.district[hfs],
                             np.full(int(hfs.sum()), "housing_first", dtype=object), b.route[hfs],
                             dep[hfs].astype(object), dest[hfs].astype(object))
        # A few people from the street are seen bedded down again inside the 14-day grace window.
        grace_day = rng.integers(1, e.grace_days + 1, n)
        grace = (b.route == "rough_sleeping") & (rng.random(n) < h.grace_window_contact_share) & (grace_day < np.where(died, d_day, big)) & (grace_day <= follow)
        grace &= m + grace_day >= data_start  # nobody was contacted before the data begin
        if grace.any():
            self.emit("outreach_contacts", person=p[grace], contact_date=(m + grace_day)[grace], district=b.district[grace],
                      verified=np.ones(int(grace.sum()), dtype=bool), location_type=np.full(int(grace.sum()), "doorway", dtype=object))
            np.maximum.at(self.last_bedded_down, p[grace], (m + grace_day)[grace])

        # Deaths while housed.
        self._deaths(p[died], (m + d_day)[died], b.district[died], np.where(rng.random(n) < 0.3, "hospital", "settled_accommodation")[died])

        # Returns: recorded in the channel's source on the exact day of the return.
        rday = m + r_day
        channel = draw(rng, h.return_channels, n)
        street_ok = self.rough_sleeping_allowed(p, rday)
        channel = np.where((channel == "rough_sleeping") & ~street_ok,
                           np.where(rng.random(n) < 0.4, "supported_accommodation", "relief_duty"), channel).astype(object)
        # Statutory data only begin when the Homelessness Reduction Act started: earlier returns are stays.
        early = (channel == "relief_duty") & (rday < to_day(self.settings.statutory_start))
        channel = np.where(early, "supported_accommodation", channel)
        channel = np.where(returned, channel, "").astype(object)
        self.push("rough_sleeping", p[channel == "rough_sleeping"], rday[channel == "rough_sleeping"],
                  b.district[channel == "rough_sleeping"], kind="return")
        sa_route = np.where(fails & (fail_day < r_day), "family_friends", "settled_accommodation")
        sel = channel == "supported_accommodation"
        self.push("supported", p[sel], rday[sel], b.district[sel], route=sa_route[sel], kind="return")
        sel = channel == "relief_duty"
        self.push("approach", p[sel], rday[sel], b.district[sel], kind="return_relief")

        in_cohort = np.isin(b.route, RETURN_ROUTES_IN)
        self.add_truth(
            "returns", tenancy_key=keys, person=p, move_in_day=m, tenure=tenure, route_in=b.route, in_cohort=in_cohort,
            housing_first=hf.astype(int), drug_dependency=drug.astype(int), age10=age10, linear_predictor=lp,
            hazard_multiplier=np.exp(lp), death_rate_per_day=death_rate, event=event, time_days=time,
            return_channel=channel,
        )
        if from_sa.any():
            surv_r = np.exp(-np.exp(lp) * _cum_hazard(sh.follow_up_days, e.baseline_pieces))
            surv_d = np.exp(-death_rate * sh.follow_up_days)
            y_fail = fails & (fail_day <= sh.follow_up_days)
            y_return = returned & (r_day <= sh.follow_up_days)
            y_death = died & (d_day <= sh.follow_up_days)
            sel = from_sa
            self.add_truth(
                "supported_housing", tenancy_key=keys[sel], sa_key=b.ref[sel], person=p[sel], move_in_day=m[sel],
                model=b.model[sel], congregate=congregate[sel].astype(int),
                **{k: v[sel].astype(int) for k, v in x.items()}, age_years=(age10 * 10.0)[sel],
                propensity=self.propensity_congregate(p[sel], np.where(b.aux == 1, "rough_sleeping", "other")[sel]),
                q_fail_other=q0[sel], q_fail_congregate=q1[sel], p_no_return_365=surv_r[sel], p_alive_365=surv_d[sel],
                p_kept_congregate=(surv_r * surv_d * (1 - q1))[sel], p_kept_other=(surv_r * surv_d * (1 - q0))[sel],
                eligible=(follow >= sh.follow_up_days)[sel],
                lost_tenancy_12m=y_fail[sel], returned_12m=y_return[sel], died_12m=y_death[sel],
                kept_12m=~(y_fail | y_return | y_death)[sel],
            )

    def _temporary(self, b: Pending) -> None:
        rng = self.rng()
        n = len(b.person)
        stay = lognormal_days(rng, self.settings.hazards.temporary_accommodation_median_days, 0.6, n)
        tenure = np.where(rng.random(n) < 0.85, "social_rented", "private_rented")
        self.push("tenancy", b.person, b.day + stay, b.district, route="temporary_accommodation", kind=tenure)

    def _custody(self, b: Pending) -> None:
        rng = self.rng()
        n = len(b.person)
        release = b.day + lognormal_days(rng, self.settings.hazards.custody_median_days, 0.7, n)
        inst = np.where(rng.random(n) < 0.85, "prison", "probation_approved_premises").astype(object)
        acc = draw(rng, {"rough_sleeping": 0.3, "no_fixed_abode": 0.25, "supported_accommodation": 0.35, "not_known": 0.10}, n)
        self._discharge_records(b.person, release, b.district, inst, acc)
        street = np.isin(acc, ["rough_sleeping", "no_fixed_abode"])
        back = release + rng.integers(0, 8, n)
        ok = street & self.rough_sleeping_allowed(b.person, back)
        self.push("rough_sleeping", b.person[ok], back[ok], b.district[ok], kind="again")
        sa = acc == "supported_accommodation"
        self.push("supported", b.person[sa], release[sa], b.district[sa], route="prison", kind="entry")

    def _hospital(self, b: Pending) -> None:
        rng = self.rng()
        n = len(b.person)
        out = b.day + lognormal_days(rng, 25, 0.8, n)
        inst = np.where(rng.random(n) < 0.7, "hospital_general", "hospital_mental_health").astype(object)
        self._discharge_records(b.person, out, b.district, inst, np.full(n, "supported_accommodation", dtype=object))
        self.push("supported", b.person, out, b.district, route="hospital", kind="entry")

    def _deaths(self, person, day, district, place) -> None:
        n = len(person)
        if not n:
            return
        first = self.death_day[person] == NA
        self.death_day[person[first]] = np.asarray(day)[first]
        place = np.broadcast_to(np.asarray(place, dtype=object), (n,))
        self.emit("deaths", person=person, date=np.asarray(day), district=np.asarray(district, dtype=object), place=place)

    # ---------------------------------------------------------------------------------------- run
    def run(self, progress: Callable[[int, int], None] | None = None) -> None:
        self.create_people()
        handlers = {
            "approach": self._approach,
            "rough_sleeping": self._rough_sleeping,
            "supported": self._supported,
            "tenancy": self._tenancy,
            "temporary": self._temporary,
            "custody": self._custody,
            "hospital": self._hospital,
        }
        while self._queue:
            batch = Pending(**{k: np.concatenate([getattr(q, k) for q in self._queue]) for k in Pending.__dataclass_fields__})
            self._queue = []
            self.rounds += 1
            if progress is not None:
                progress(self.rounds, len(batch.person))
            for state, handler in handlers.items():
                sel = batch.state == state
                if sel.any():
                    handler(batch.take(sel))


def _cum_hazard(t: float, pieces: list[tuple[float, float]]) -> float:
    from workbench.synthetic.hazards import cumulative_baseline

    return float(cumulative_baseline(np.array([t]), pieces)[0])


SERVICE_NAMES: dict[str, tuple[str, ...]] = {
    "congregate_hostel": ("Castle Yard Hostel", "Bridge Street Hostel", "Abbey Road Centre", "Marston Court"),
    "shared_house": ("Elm Tree House", "Cowley Road Shared Housing", "Wantage Lodge", "Banbury Cross House"),
    "dispersed": ("Alliance Dispersed Flats", "Didcot Dispersed Scheme", "Witney Move-On Flats"),
    "housing_first": ("Housing First Oxfordshire",),
    "hospital_step_down": ("Step-Down Beds (Warneford)", "Hospital Discharge Step-Down"),
    "women_only": ("Rosa House (women only)", "Juniper Women's Service"),
    "young_persons": ("Foyer Young People's Service", "Young Futures Banbury"),
    "mental_health": ("Meadow View Recovery House", "Riverside Mental Health Housing"),
}


def _service_names(rng: np.random.Generator, model: np.ndarray, district: np.ndarray) -> np.ndarray:
    out = np.empty(len(model), dtype=object)
    for m, names in SERVICE_NAMES.items():
        sel = model == m
        out[sel] = np.array(names, dtype=object)[rng.integers(0, len(names), int(sel.sum()))]
    return out
