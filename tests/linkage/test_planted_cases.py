"""splink linkage on a hand-made frame: a background population plus cases with a known answer."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from workbench.linkage.model import link_frame, model_summary
from workbench.linkage.persons import METHODS, link_people
from workbench.linkage.quality import linkage_quality


def _labels(frame: pd.DataFrame, result) -> pd.Series:
    return pd.Series(result.labels, index=frame["record_id"].to_numpy())


def test_nickname_is_linked(planted_linkage):
    frame, result = planted_linkage
    lab = _labels(frame, result)
    assert lab["NICK-1"] == lab["NICK-2"] == lab["NICK-3"]  # William / Bill / William


def test_day_month_swapped_date_of_birth_is_linked(planted_linkage):
    frame, result = planted_linkage
    lab = _labels(frame, result)
    assert lab["SWAP-1"] == lab["SWAP-2"]


def test_same_common_name_different_date_of_birth_not_linked(planted_linkage):
    frame, result = planted_linkage
    lab = _labels(frame, result)
    assert lab["SAME-1"] == lab["SAME-2"] and lab["SAME-3"] == lab["SAME-4"]
    assert lab["SAME-1"] != lab["SAME-3"]


def test_first_name_and_age_only_linked_when_unambiguous(planted_linkage):
    frame, result = planted_linkage
    lab = _labels(frame, result)
    # The only Zebedee about, seen days before and after: linked.
    assert lab["ZEB-ONLY"] == lab["ZEB-1"] == lab["ZEB-3"]
    # "Ignatius, about 40" when two men of that name and age are about: linked to neither ...
    assert lab["IGN-A1"] == lab["IGN-A2"] and lab["IGN-B1"] == lab["IGN-B2"] and lab["IGN-A1"] != lab["IGN-B1"]
    assert lab["IGN-ONLY"] not in (lab["IGN-A1"], lab["IGN-B1"])
    # ... although pair by pair it scores highly with both.
    ids = {r: i for i, r in enumerate(frame["record_id"])}
    p = result.pairs.set_index(["unique_id_l", "unique_id_r"])["match_probability"]
    for other in ("IGN-A1", "IGN-B1"):
        assert p[tuple(sorted((ids["IGN-ONLY"], ids[other])))] > result.settings.threshold


def test_client_reference_is_evidence_not_proof(planted_linkage):
    frame, result = planted_linkage
    lab = _labels(frame, result)
    # A thin contact on a known client's profile joins that client (where name and age alone could not) ...
    assert lab["IGN-REF"] == lab["IGN-A1"] == lab["IGN-A2"]
    # ... but a well-identified contact logged against the wrong profile stays with its own person.
    assert lab["REF-WRONG"] == lab["AHM-2"] != lab["IGN-A1"]


def test_background_population_is_linked_well(planted_linkage):
    frame, result = planted_linkage
    q = linkage_quality(pd.factorize(frame["person"])[0], result.labels)
    assert q.pairwise_precision >= 0.99 and q.pairwise_recall >= 0.95


def test_every_weight_is_estimated_from_the_data(planted_linkage):
    _, result = planted_linkage
    summary = model_summary(result.model)
    assert summary["m"].notna().all() and summary["m"].between(0, 1).all()
    assert summary.groupby("comparison")["m"].sum().round(6).eq(1).all()
    assert 0 < result.model["probability_two_random_records_match"] < 0.01
    assert not [n for n in result.notes if "could not be estimated" in n]


def test_same_frame_same_clusters(planted_linkage):
    frame, result = planted_linkage
    again = link_frame(frame)
    assert np.array_equal(again.labels, result.labels)
    pd.testing.assert_frame_equal(again.pairs, result.pairs, check_exact=False, rtol=1e-9)


def test_raising_the_threshold_never_merges_more(planted_linkage):
    frame, result = planted_linkage
    truth = pd.factorize(frame["person"])[0]
    low, high = (linkage_quality(truth, result.labels_at(t)) for t in (0.5, 0.999))
    assert high.predicted_pairs <= low.predicted_pairs


def test_small_frames_fall_back_to_the_deterministic_rules():
    from people import planted

    frame = planted().drop(columns="person")
    result = link_frame(frame)
    assert result.backend == "deterministic (fallback)" and "too few" in result.notes[0]
    lab = pd.Series(result.labels, index=frame["record_id"].to_numpy())
    assert lab["SAME-1"] == lab["SAME-2"] and lab["SAME-1"] != lab["SAME-3"]
    assert "splink" in METHODS
    assert np.array_equal(link_people(frame, "splink"), result.labels)


def test_unknown_backend_is_refused(planted_linkage):
    frame, _ = planted_linkage
    from workbench.linkage.settings import LinkageSettingsError

    with pytest.raises(LinkageSettingsError, match="backend"):
        link_frame(frame, backend="oracle")  # type: ignore[arg-type]


def test_without_ni_numbers_a_fallback_step_estimates_the_date_of_birth(planted_linkage):
    frame, _ = planted_linkage
    result = link_frame(frame.assign(ni_number=None))
    assert any("fallback" in n and "date_of_birth" in n for n in result.notes)
    # NI itself is left out of the model (no record holds one) rather than given splink's defaults.
    assert "comparison ni_number left out: no record holds ni_number" in result.notes
    assert not [n for n in result.notes if "could not be estimated" in n]
    assert "ni_number" not in set(model_summary(result.model)["comparison"])
    lab = _labels(frame, result)
    assert lab["NICK-1"] == lab["NICK-2"] and lab["SAME-1"] != lab["SAME-3"]


def test_large_population_profile_links_the_planted_cases_alike(planted_linkage):
    from workbench.linkage.settings import load_settings

    frame, base = planted_linkage
    large = link_frame(frame, load_settings(profile="large_population"))
    truth = pd.factorize(frame["person"])[0]
    q_base, q_large = linkage_quality(truth, base.labels), linkage_quality(truth, large.labels)
    assert q_large.pairwise_precision >= 0.99 and q_large.pairwise_f1 >= q_base.pairwise_f1 - 0.02
    lab = pd.Series(large.labels, index=frame["record_id"].to_numpy())
    assert lab["NICK-1"] == lab["NICK-2"] and lab["SWAP-1"] == lab["SWAP-2"] and lab["SAME-1"] != lab["SAME-3"]
    assert lab["IGN-REF"] == lab["IGN-A1"] and lab["REF-WRONG"] == lab["AHM-2"]
