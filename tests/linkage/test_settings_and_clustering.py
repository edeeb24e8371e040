"""The settings file, name handling and the clustering rules, without running splink."""

from __future__ import annotations

import copy

import numpy as np
import pandas as pd
import pytest

from workbench.linkage.clustering import WeakRecordRule, cluster_pairs
from workbench.linkage.prepare import prepare_frame, soundex, variant_lookup, weak_records
from workbench.linkage.settings import (
    LinkageSettingsError,
    blocking_rule,
    load_nicknames,
    load_settings,
    splink_settings,
)


def test_default_settings_load_and_build_a_splink_model():
    s = load_settings()
    assert 0.5 <= s.threshold < 1 and s.prediction_floor < s.threshold
    names = [c["name"] for c in s.comparisons]
    assert names[:3] == ["first_name", "last_name", "date_of_birth"] and "age" in names and "ni_number" in names
    creator = splink_settings(s)
    assert creator.link_type == "dedupe_only"
    settings_dict = creator.create_settings_dict("duckdb")
    assert len(settings_dict["comparisons"]) == len(s.comparisons)
    assert any("jaro_winkler" in str(c) for c in settings_dict["comparisons"])
    assert all(c.get("m_probability") is None for comp in settings_dict["comparisons"]
               for c in comp["comparison_levels"]), "no hand-set weights"
    # Spark gets its own SQL for the same model.
    assert "jaro_winkler(" in str(creator.create_settings_dict("spark")["comparisons"])


def test_large_population_profile_narrows_the_blocks():
    base, large = load_settings(), load_settings(profile="large_population")
    assert large.raw["profile"] == "large_population" and large.prediction_floor == 0.3
    assert large.comparisons == base.comparisons and large.threshold == base.threshold  # same model
    # No block on a date of birth alone or on a first name and district alone.
    assert {"columns": ["dob"]} in base.blocking and {"columns": ["dob"]} not in large.blocking
    assert all(len(b.get("columns", [])) != 1 or b["columns"][0] in ("ni_number", "client_ref") for b in large.blocking)
    with pytest.raises(LinkageSettingsError, match="No linkage settings profile 'national'"):
        load_settings(profile="national")


def test_name_families_keep_every_shared_variant_group_together():
    from workbench.linkage.prepare import family_lookup

    nicknames = load_nicknames()
    families, groups = family_lookup(nicknames), variant_lookup(nicknames)
    assert families["bill"] == families["william"] and families["chris"] == families["christine"] == families["krzysztof"]
    # Any two names sharing a variant group share a family (so blocking on the family loses no pair
    # that blocking on exploded groups would find) ...
    for a, ga in groups.items():
        for b, gb in groups.items():
            if set(ga) & set(gb):
                assert families[a] == families[b], (a, b)
    # ... and names outside the table are their own family.
    prepared = prepare_frame(pd.DataFrame({c: [None] for c in
                                           ["source", "record_id", "first_name", "last_name", "date_of_birth",
                                            "ni_number", "approximate_age", "gender", "district", "event_date"]})
                             .assign(first_name="Zebedee", event_date=pd.Timestamp("2022-01-01")))
    assert prepared["first_name_family"].iloc[0] == "zebedee"


def test_settings_are_checked():
    raw = load_settings().raw
    bad = copy.deepcopy(raw)
    bad["threshold"] = 1.5
    with pytest.raises(LinkageSettingsError, match="threshold"):
        load_settings(bad)
    bad = copy.deepcopy(raw)
    bad["training"]["m_steps"] = bad["training"]["m_steps"][:1]
    with pytest.raises(LinkageSettingsError, match="No m step estimates"):
        load_settings(bad)
    bad = copy.deepcopy(raw)
    bad["comparisons"][0]["levels"][1]["kind"] = "fuzzy"
    with pytest.raises(LinkageSettingsError, match="fuzzy"):
        splink_settings(load_settings(bad))
    assert load_settings().with_threshold(0.8).threshold == 0.8


def test_blocking_rules_from_settings():
    rule = blocking_rule({"columns": ["first_name_variants", "last_name_soundex"], "explode": ["first_name_variants"]})
    assert rule.arrays_to_explode == ["first_name_variants"]
    assert "dob_swapped" in blocking_rule({"sql": "l.dob_swapped = r.dob"}).create_sql(
        __import__("splink.internals.dialects", fromlist=["x"]).SplinkDialect.from_string("duckdb"))


def test_nickname_table():
    lookup = variant_lookup(load_nicknames())
    assert set(lookup["bill"]) & set(lookup["william"])
    assert set(lookup["chris"]) >= {"christopher", "christine"}  # ambiguous short forms sit in several groups
    assert not set(lookup["bill"]) & set(lookup["robert"])


@pytest.mark.parametrize("name,code", [("robert", "R163"), ("rupert", "R163"), ("ashcraft", "A261"),
                                       ("tymczak", "T522"), ("pfister", "P236"), ("honeyman", "H555"), ("lee", "L000")])
def test_soundex(name, code):
    assert soundex(name) == code


def test_prepare_frame_derives_the_compared_columns():
    frame = pd.DataFrame({
        "source": ["statutory_cases", "outreach_contacts"], "record_id": ["A", "B"],
        "first_name": ["Bill", "Zoë"], "last_name": ["O'Brien", None],
        "date_of_birth": pd.to_datetime(["1980-03-07", None]), "ni_number": ["ab 12 34 56 c", None],
        "approximate_age": [None, 40], "gender": ["male", "not_known"], "district": ["oxford_city", "cherwell"],
        "event_date": pd.to_datetime(["2020-01-01", "2021-07-02"]),
    })
    p = prepare_frame(frame)
    assert list(p["first_name"]) == ["bill", "zoe"] and p["last_name"][0] == "obrien" and p["last_name"][1] is None
    assert "william" in p["first_name_variants"][0]
    assert (p["dob"][0], p["dob_swapped"][0], p["dob_ym"][0]) == ("1980-03-07", "1980-07-03", "1980-03")
    assert p["ni_number"][0] == "AB123456C" and p["gender"][1] is None
    assert p["birth_year_est"][1] == pytest.approx(2021.5 - 40 - 0.5, abs=0.01)
    assert list(weak_records(p)) == [False, True]


RULE = WeakRecordRule(min_share=0.75, rounds=3)


def _cluster(n, edges, threshold=0.9, weak=None, days=None, rule=RULE):
    left, right, p = (np.array(x) for x in zip(*edges, strict=True))
    return cluster_pairs(n, left, right, p, threshold, None if weak is None else np.array(weak),
                         None if days is None else np.array(days, float), rule)


def test_plain_components_without_weak_records():
    labels = _cluster(5, [(0, 1, 0.99), (1, 2, 0.95), (3, 4, 0.5)])
    assert labels[0] == labels[1] == labels[2] and labels[3] != labels[4]
    assert list(labels) == [0, 0, 0, 1, 2]  # numbered by first record


def test_weak_record_goes_to_the_only_person_nearby():
    # 0,1: one person; 2: weak, compatible with both records of that person.
    labels = _cluster(3, [(0, 1, 0.99), (0, 2, 0.6), (1, 2, 0.7)], weak=[0, 0, 1], days=[0, 10, 5])
    assert len(set(labels)) == 1


def test_weak_record_between_two_people_stays_apart():
    # 0,1 person A; 2,3 person B; 4 weak and equally compatible with both: ambiguous.
    edges = [(0, 1, 0.99), (2, 3, 0.99), (0, 4, 0.8), (1, 4, 0.8), (2, 4, 0.8), (3, 4, 0.8)]
    labels = _cluster(5, edges, weak=[0, 0, 0, 0, 1], days=[0, 1, 2, 3, 2])
    assert labels[0] == labels[1] != labels[2] == labels[3]
    assert labels[4] not in (labels[0], labels[2])


def test_weak_record_far_in_time_or_barely_compatible_is_not_claimed():
    labels = _cluster(3, [(0, 1, 0.99), (1, 2, 0.9)], weak=[0, 0, 1], days=[0, 0, 400])
    assert labels[2] != labels[0]
    labels = _cluster(3, [(0, 1, 0.99), (1, 2, 0.1)], weak=[0, 0, 1], days=[0, 0, 3])
    assert labels[2] != labels[0]


def test_weak_records_never_join_two_people():
    # Weak 2 and 3 link to each other strongly, but 2 sits with A and 3 with B.
    edges = [(0, 2, 0.9), (1, 3, 0.9), (2, 3, 0.99)]
    labels = _cluster(4, edges, weak=[0, 0, 1, 1], days=[0, 0, 1, 1])
    assert labels[0] != labels[1]


def test_unclaimed_weak_records_link_to_each_other():
    labels = _cluster(3, [(1, 2, 0.99)], weak=[0, 1, 1], days=[0, 5, 6])
    assert labels[1] == labels[2] != labels[0]
    no_link = _cluster(3, [(1, 2, 0.99)], weak=[0, 1, 1], days=[0, 5, 6],
                       rule=WeakRecordRule(link_unassigned=False))
    assert len(set(no_link)) == 3


GAP_RULE = WeakRecordRule(min_share=0.75, rounds=3, long_gap_min_probability=0.99)


def test_weak_record_seen_again_after_a_long_gap_is_linked_where_the_evidence_is_strong():
    # 0,1: one person; 2,3: weak contacts 600 days later, 2 linking to the person at 0.995 and 3
    # following 2 a week later (near it only).
    edges = [(0, 1, 0.999), (1, 2, 0.995), (2, 3, 0.9)]
    days = [0, 10, 610, 617]
    labels = _cluster(4, edges, weak=[0, 0, 1, 1], days=days, rule=GAP_RULE)
    assert len(set(labels)) == 1
    # Without the long-gap vote the returning contacts stay a separate person (the rule of before).
    labels = _cluster(4, edges, weak=[0, 0, 1, 1], days=days, rule=RULE)
    assert labels[2] == labels[3] != labels[0]


def test_long_gap_vote_needs_strong_links_and_no_split_nearby_evidence():
    # A distant link below the long-gap probability does not claim the record.
    labels = _cluster(3, [(0, 1, 0.999), (1, 2, 0.95)], weak=[0, 0, 1], days=[0, 10, 610], rule=GAP_RULE)
    assert labels[2] != labels[0]
    # A weak record whose nearby evidence is split between two people is not settled by a distant link.
    edges = [(0, 1, 0.999), (2, 3, 0.999), (1, 4, 0.8), (2, 4, 0.8), (5, 4, 0.999), (5, 0, 0.999)]
    labels = _cluster(6, edges, weak=[0, 0, 0, 0, 1, 0], days=[600, 600, 600, 600, 601, 0], rule=GAP_RULE)
    assert labels[4] not in (labels[0], labels[2])


def test_only_if_conditions_never_change_a_level():
    """A level's ``only_if`` is a speed-up only: over every pair of a frame rich in near-miss dates and
    names that share variant groups, the level with it holds exactly where the level without it does
    (each packaged level with one, and a pair that fails the cheap condition is counted, so the check
    could fail)."""
    import duckdb
    import splink.comparison_level_library as cll

    from workbench.linkage.settings import _level

    names = load_nicknames()["name"].drop_duplicates().tolist()
    rng = np.random.default_rng(5)
    base = pd.Timestamp("1970-01-01") + pd.to_timedelta(rng.integers(0, 20_000, 15), unit="D")
    # every date one character away from a base date (each digit position), plus unrelated dates
    near = [d.strftime("%Y-%m-%d") for d in base]
    for d in list(near):
        for pos in (0, 1, 2, 3, 5, 6, 8, 9):
            for digit in "0123456789":
                s = d[:pos] + digit + d[pos + 1:]
                if pd.to_datetime(s, errors="coerce", format="%Y-%m-%d") is not pd.NaT:
                    near.append(s)
    n = max(len(near), len(names))
    frame = pd.DataFrame({
        "source": "statutory_cases", "record_id": [str(i) for i in range(n)],
        "first_name": [names[i % len(names)] for i in range(n)], "last_name": "smith",
        "date_of_birth": pd.to_datetime([near[i % len(near)] for i in range(n)]), "ni_number": None,
        "approximate_age": None, "gender": "male", "district": "cherwell", "event_date": pd.Timestamp("2020-01-01"),
    })
    p = prepare_frame(frame)
    con = duckdb.connect()
    con.register("p", p)
    cols = ", ".join(f"l.{c} AS {c}_l, r.{c} AS {c}_r" for c in p.columns)
    con.execute(f"CREATE TABLE pairs AS SELECT {cols} FROM p l JOIN p r ON l.unique_id < r.unique_id")
    checked = 0
    for comp in load_settings().comparisons:
        for spec in comp["levels"]:
            if not spec.get("only_if"):
                continue
            plain = {k: v for k, v in spec.items() if k != "only_if"}
            fast = _level(spec).get_comparison_level("duckdb").sql_condition
            slow = _level(plain).get_comparison_level("duckdb").sql_condition
            held, cheap_failed, differ = con.execute(
                f"SELECT count(*) FILTER (WHERE {slow}), count(*) FILTER (WHERE NOT ({spec['only_if']})), "
                f"count(*) FILTER (WHERE ({fast}) IS DISTINCT FROM ({slow})) FROM pairs").fetchone()
            assert held > 100 and cheap_failed > 0, (comp["name"], held, cheap_failed)
            assert differ == 0, f"{comp['name']} level {spec.get('label')}: {differ} pairs differ"
            checked += 1
    assert checked == 2
    assert isinstance(_level({"kind": "levenshtein", "column": "dob", "threshold": 1, "only_if": "1 = 1"}), cll.And)


def test_dates_of_birth_keep_their_day_whatever_their_unit():
    """A date far from today kept in microseconds (as Arrow gives it) is written as the same day:
    forcing nanoseconds would overflow 1500 into 2084 without an error."""
    frame = pd.DataFrame({
        "source": ["statutory_cases"] * 2, "record_id": ["A", "B"], "first_name": ["Ann", "Bob"],
        "last_name": ["Lee", "Roe"], "date_of_birth": pd.Series(np.array(["1500-03-04", "1980-05-06"], dtype="datetime64[us]")),
        "ni_number": [None, None], "approximate_age": [None, None], "gender": ["female", "male"],
        "district": ["cherwell"] * 2, "event_date": pd.to_datetime(["2020-01-01"] * 2),
    })
    p = prepare_frame(frame)
    assert list(p["dob"]) == ["1500-03-04", "1980-05-06"] and p["dob_swapped"][0] == "1500-04-03"


def test_only_if_is_refused_where_it_would_be_ignored_or_drop_an_adjustment():
    from workbench.linkage.settings import LinkageSettingsError, _level

    for spec in ({"kind": "sql", "sql": "a_l = a_r", "only_if": "b_l = b_r"},
                 {"kind": "exact", "column": "dob", "tf": True, "only_if": "b_l = b_r"}):
        with pytest.raises(LinkageSettingsError, match="only_if"):
            _level(spec)
