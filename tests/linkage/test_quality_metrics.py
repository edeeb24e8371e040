"""Quality metrics against hand-worked examples, and the clerical-review export's safeguards."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from workbench.linkage.quality import (
    REVIEW_LABEL,
    ClericalExportError,
    export_clerical_review,
    linkage_quality,
    pr_curve,
)


def test_three_true_people_two_predicted_clusters():
    # Records 0-4. True people: {0,1} {2,3} {4}. Predicted: {0,1,2} {3,4}.
    q = linkage_quality([0, 0, 1, 1, 2], [0, 0, 0, 1, 1])
    # True pairs: (0,1), (2,3) = 2. Predicted pairs: (0,1), (0,2), (1,2), (3,4) = 4. Correct: (0,1) = 1.
    assert (q.true_pairs, q.predicted_pairs, q.correct_pairs) == (2, 4, 1)
    assert q.pairwise_precision == pytest.approx(1 / 4)
    assert q.pairwise_recall == pytest.approx(1 / 2)
    assert q.pairwise_f1 == pytest.approx(1 / 3)
    # B-cubed precision per record: 2/3, 2/3, 1/3, 1/2, 1/2; recall: 1, 1, 1/2, 1/2, 1.
    assert q.bcubed_precision == pytest.approx((2 / 3 + 2 / 3 + 1 / 3 + 1 / 2 + 1 / 2) / 5)
    assert q.bcubed_recall == pytest.approx((1 + 1 + 0.5 + 0.5 + 1) / 5)
    assert (q.true_persons, q.predicted_persons) == (3, 2)
    assert q.persons_exactly_recovered == 0
    assert q.persons_split == pytest.approx(1 / 3)  # {2,3} is split
    assert q.persons_merged == pytest.approx(1.0)  # everyone shares a cluster with someone else


def test_labels_are_names_not_numbers():
    a = linkage_quality(["x", "x", "y"], ["b", "b", "a"])
    assert a.pairwise_precision == a.pairwise_recall == a.persons_exactly_recovered == 1.0


def test_perfect_and_all_apart():
    truth = np.array([0, 0, 0, 1, 2, 2])
    perfect = linkage_quality(truth, truth + 10)
    assert perfect.pairwise_f1 == perfect.bcubed_f1 == perfect.persons_exactly_recovered == 1.0
    apart = linkage_quality(truth, np.arange(6))
    assert apart.pairwise_precision == 1.0 and apart.pairwise_recall == 0.0 and apart.pairwise_f1 == 0.0
    assert apart.predicted_pairs == 0 and apart.persons_exactly_recovered == pytest.approx(1 / 3)  # person 1
    together = linkage_quality(truth, np.zeros(6))
    assert together.pairwise_recall == 1.0 and together.pairwise_precision == pytest.approx(4 / 15)


def test_lengths_must_agree():
    with pytest.raises(ValueError, match="labels"):
        linkage_quality([0, 1], [0, 1, 2])


def test_pr_curve_clusters_at_each_threshold():
    truth = np.array([0, 0, 1, 1])
    calls = []

    def labels_at(th):
        calls.append(th)
        return np.array([0, 0, 1, 1]) if th >= 0.5 else np.array([0, 0, 0, 0])

    fake = SimpleNamespace(labels_at=labels_at, settings=SimpleNamespace(prediction_floor=0.1))
    curve = pr_curve(fake, truth, thresholds=[0.05, 0.2, 0.9])
    assert list(curve["threshold"]) == [0.2, 0.9]  # below the prediction floor is not possible
    assert list(curve["precision"]) == [pytest.approx(2 / 6), 1.0]
    assert list(curve["recall"]) == [1.0, 1.0]


def _sample() -> pd.DataFrame:
    return pd.DataFrame({"pair": [1], "match_probability": [0.6], "first_name_l": ["Ann"], "first_name_r": ["Anne"]})


def test_clerical_export_stays_inside_the_data_directory(tmp_path):
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    for outside in (tmp_path / "elsewhere.csv", data_dir / ".." / "escape.csv", "/tmp/review.csv"):
        with pytest.raises(ClericalExportError, match="inside the data directory"):
            export_clerical_review(_sample(), outside, data_dir, synthetic=True)
    assert not (tmp_path / "elsewhere.csv").exists() and not (tmp_path / "escape.csv").exists()


def test_clerical_export_is_labelled(tmp_path):
    path = export_clerical_review(_sample(), "reviews/q3.csv", tmp_path, synthetic=False)
    assert path.parent == (tmp_path / "reviews").resolve()
    assert path.name == "CLERICAL_REVIEW_IDENTIFIABLE_q3.csv"
    first = path.read_text(encoding="utf-8").splitlines()[0]
    assert first.startswith(f"# {REVIEW_LABEL}") and "authorised reviewers only" in first
    back = pd.read_csv(path, comment="#")
    assert list(back["first_name_r"]) == ["Anne"]


def test_clerical_export_refuses_a_symlink_out(tmp_path):
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    (tmp_path / "outside").mkdir()
    (data_dir / "link").symlink_to(tmp_path / "outside", target_is_directory=True)
    with pytest.raises(ClericalExportError):
        export_clerical_review(_sample(), data_dir / "link" / "r.csv", data_dir, synthetic=True)
