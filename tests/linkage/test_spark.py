"""The same settings through splink's Spark backend (local mode) give the same people as DuckDB."""

from __future__ import annotations

import os
import sys

import numpy as np
import pandas as pd
import pytest

from workbench.linkage.model import link_frame
from workbench.linkage.quality import linkage_quality
from workbench.linkage.spark import SparkUnavailable, local_spark_session


def test_without_pyspark_the_error_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "pyspark", None)
    monkeypatch.setitem(sys.modules, "pyspark.sql", None)
    with pytest.raises(SparkUnavailable, match="pip install"):
        local_spark_session()


@pytest.mark.slow
def test_spark_and_duckdb_agree_on_a_small_frame():
    # pyspark is a test dependency (pyproject [test]); under CI a missing Spark is a failure.
    if os.environ.get("CI"):
        import pyspark  # noqa: F401
    else:
        pytest.importorskip("pyspark")
    from people import frame_with_planted

    frame = frame_with_planted(n_people=300, seed=11)  # ~1,400 records: above min_records, quick on Spark
    try:
        spark = local_spark_session(cores=2)
    except SparkUnavailable as exc:
        if os.environ.get("CI"):
            pytest.fail(f"Spark local mode must run in CI: {exc}")
        pytest.skip(str(exc))
    duck = link_frame(frame)
    on_spark = link_frame(frame, backend="spark", spark_session=spark)
    assert on_spark.backend == "spark" and on_spark.notes == duck.notes  # no step failed on Spark only

    truth = pd.factorize(frame["person"])[0]
    qd, qs = linkage_quality(truth, duck.labels), linkage_quality(truth, on_spark.labels)
    # u is sampled with the same seed but each engine draws its own random sample, so probabilities
    # differ slightly; the people found must be (nearly) the same.
    same_people = linkage_quality(duck.labels, on_spark.labels)
    assert same_people.pairwise_f1 >= 0.995, same_people
    assert abs(qd.pairwise_f1 - qs.pairwise_f1) <= 0.005 and abs(qd.pairwise_precision - qs.pairwise_precision) <= 0.005
    lab = pd.Series(on_spark.labels, index=frame["record_id"].to_numpy())
    assert lab["NICK-1"] == lab["NICK-2"] and lab["SWAP-1"] == lab["SWAP-2"] and lab["SAME-1"] != lab["SAME-3"]
    assert lab["ZEB-ONLY"] == lab["ZEB-1"] and lab["IGN-ONLY"] not in (lab["IGN-A1"], lab["IGN-B1"])
    # Both engines score the same candidate pairs (blocking is deterministic SQL).
    both = duck.pairs.merge(on_spark.pairs, on=["unique_id_l", "unique_id_r"], how="outer", indicator=True)
    assert (both["_merge"] == "both").mean() >= 0.99
    assert np.nanmedian(np.abs(both["match_probability_x"] - both["match_probability_y"])) < 0.01
