"""Train the splink model on the linkage frame, score candidate pairs, and cluster them into people.

Every parameter is estimated from the frame being linked:

1. ``probability_two_random_records_match`` from pairs agreeing on near-certain rules (NI number;
   first name + last name + date of birth), scaled by the assumed recall of those rules;
2. u probabilities from random pairs (seeded, so reruns agree);
3. m probabilities by expectation maximisation over pairs blocked on a few rules in turn.

The DuckDB backend is the default; Spark (local or a cluster) runs the same settings.
"""

from __future__ import annotations

import contextlib
import copy
import logging
import math
import time
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from workbench.linkage.clustering import canonical_labels, cluster_pairs
from workbench.linkage.deterministic import link_deterministic
from workbench.linkage.prepare import prepare_frame, weak_records
from workbench.linkage.settings import (
    LinkageSettings,
    LinkageSettingsError,
    blocking_rule,
    load_settings,
    splink_settings,
)

log = logging.getLogger("workbench.linkage")
Backend = Literal["duckdb", "spark"]
PAIR_COLUMNS = ["unique_id_l", "unique_id_r", "match_probability", "match_weight"]


@dataclass
class LinkageResult:
    """Scored pairs and clusters for one linkage frame."""

    labels: np.ndarray
    pairs: pd.DataFrame  # unique_id_l, unique_id_r (row positions), match_probability, match_weight
    weak: np.ndarray  # per record: thinly identified (see workbench.linkage.prepare.weak_records)
    event_days: np.ndarray  # per record: its date as days since 1970 (for clustering weak records)
    settings: LinkageSettings
    backend: str
    seconds: dict[str, float] = field(default_factory=dict)
    model: dict[str, Any] = field(default_factory=dict, repr=False)  # trained splink settings
    notes: list[str] = field(default_factory=list)

    def labels_at(self, threshold: float) -> np.ndarray:
        """Clusters at another threshold (no re-scoring: pairs are kept down to prediction_floor)."""
        if self.backend.startswith("deterministic"):
            return self.labels  # no model was estimated: nothing to re-threshold
        if threshold < self.settings.prediction_floor:
            raise LinkageSettingsError(
                f"Pairs were kept only down to probability {self.settings.prediction_floor}; "
                f"cannot cluster at {threshold}.")
        return cluster_pairs(len(self.weak), self.pairs["unique_id_l"].to_numpy(),
                             self.pairs["unique_id_r"].to_numpy(),
                             self.pairs["match_probability"].to_numpy(), threshold,
                             self.weak, self.event_days, self.settings.weak_rule)

    @property
    def total_seconds(self) -> float:
        return float(sum(self.seconds.values()))


def _duckdb_api():
    import duckdb
    from splink import DuckDBAPI

    con = duckdb.connect()
    con.execute("SET enable_progress_bar = false")  # no progress bars in ingest logs or reports
    return DuckDBAPI(connection=con)


def _spark_api(spark_session=None):
    from workbench.linkage.spark import SparkUnavailable, local_spark_session

    try:
        from splink.backends.spark import SparkAPI
    except ImportError as exc:
        raise SparkUnavailable(
            "The Spark backend needs pyspark (pip install 'pyspark>=3.5') and Java 17 or later; "
            f"it could not be imported here: {exc}") from exc
    if spark_session is None:
        spark_session = local_spark_session()
    # Intermediate tables are small next to memory here: persist them rather than write parquet.
    return SparkAPI(spark_session=spark_session, break_lineage_method="persist",
                    num_partitions_on_repartition=spark_session.sparkContext.defaultParallelism)


@contextlib.contextmanager
def _clamp_tiny_em_proportions():
    """Work around splink 5: an EM proportion below splink's floor (a subnormal ~1e-318 on Spark,
    exactly 0 on DuckDB when a level never occurs among a block's likely matches) is rejected when
    assigned, failing the whole step. Clamp it to that floor (1e-300), as splink does when it computes
    weights; ``_assemble_m`` then floors every m at ``m_floor`` anyway."""
    from splink.internals import expectation_maximisation as em
    from splink.internals.comparison_level import M_U_CLAMP_MIN

    original = em.compute_proportions_for_new_parameters

    def clamped(df_params):
        records = original(df_params)
        for r in records:
            for key in ("m_probability", "u_probability"):
                v = r.get(key)
                if isinstance(v, float) and v < M_U_CLAMP_MIN and r.get("output_column_name") != "_probability_two_random_records_match":
                    r[key] = M_U_CLAMP_MIN
        return records

    em.compute_proportions_for_new_parameters = clamped
    try:
        yield
    finally:
        em.compute_proportions_for_new_parameters = original


def _fresh(model: dict[str, Any]) -> dict[str, Any]:
    """A copy of a model dict that a new Linker can take (its own id, so no cache clashes)."""
    out = copy.deepcopy(model)
    out.pop("linker_uid", None)
    return out


def _as_m(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) else None


def _assemble_m(estimates: list[list[float | None]], floor: float) -> list[float]:
    """Average a comparison's m estimates level by level; unseen levels get ``floor``; sum to 1."""
    # A level with no m in an estimate was not seen among that step's matches: proportion 0.
    levels = np.array([[0.0 if v is None else v for v in est] for est in estimates], dtype=float)
    m = np.maximum(levels.mean(axis=0), floor)
    return list(m / m.sum())


def _estimate_m(linker, step: dict[str, Any], settings: LinkageSettings) -> None:
    if "em" in step:
        linker.training.estimate_parameters_using_expectation_maximisation(
            blocking_rule(step["em"]), estimate_without_term_frequencies=True, max_pairs=settings.em_max_pairs)
    else:
        linker.training.estimate_m_from_label_column(step["labels"])


def _run_m_step(linker, step: dict[str, Any], comparisons: list[str], settings: LinkageSettings,
                m_estimates: dict[str, list[list[float | None]]], notes: list[str]) -> None:
    """Run one m step and keep its m values for ``comparisons``."""
    try:
        with _clamp_tiny_em_proportions():
            _estimate_m(linker, step, settings)
    except Exception as exc:  # noqa: BLE001 - e.g. no pair shares the key in a small frame
        notes.append(f"m step {step} skipped: {type(exc).__name__}: {str(exc).splitlines()[0][:200]}")
        log.info("m step %s skipped: %s", step, exc)
        return
    for comp in linker.misc.save_model_to_json()["comparisons"]:
        if comp["output_column_name"] in comparisons:
            levels = [lv for lv in comp["comparison_levels"] if not lv.get("is_null_level")]
            values = [_as_m(lv.get("m_probability")) for lv in levels]
            if any(v is not None for v in values):
                m_estimates.setdefault(comp["output_column_name"], []).append(values)


def train_model(
    db_api,
    table,
    prepared: pd.DataFrame,
    exact_duplicates: np.ndarray,
    settings: LinkageSettings,
    notes: list[str],
) -> dict[str, Any]:
    """Estimate the prior, u and m from the frame; return the trained splink model as a dict."""
    from splink import Linker

    # u: random pairs of (as far as exact rules can tell) different people.
    if settings.u_drop_exact_duplicates:
        first_of_each = ~pd.Series(exact_duplicates).duplicated().to_numpy()
        u_table = db_api.register(prepared[first_of_each].reset_index(drop=True),
                                  dataset_display_name="linkage_frame_u_sample")
    else:
        u_table = table
    base = Linker(u_table, splink_settings(settings), log_level=None)
    on_spark = db_api.sql_dialect.sql_dialect_str == "spark"
    # Chunking lets DuckDB stop sampling early; on Spark each chunk is a round of jobs, so one.
    chunks = 1 if on_spark else 10
    base.training.estimate_u_using_random_sampling(max_pairs=settings.u_max_pairs, seed=settings.seed,
                                                   num_chunks=chunks)
    model = base.misc.save_model_to_json()

    # prior: pairs agreeing on near-certain rules over all pairs, scaled by the rules' assumed recall.
    linker = Linker(table, _fresh(model), log_level=None)
    try:
        linker.training.estimate_probability_two_random_records_match(
            [blocking_rule(r) for r in settings.prior_rules], recall=settings.prior_recall)
        prior = linker.misc.save_model_to_json()["probability_two_random_records_match"]  # public API
    except ValueError as exc:  # too few records for the rules' count to be consistent
        prior = 0.0
        notes.append(f"prior not estimated: {exc}")
    n = len(prepared)
    if prior <= 0:
        # No pair agrees on the near-certain rules (a tiny frame): assume one matching pair in all.
        prior = 2.0 / max(n * (n - 1), 2)
        notes.append("no pair agrees on the prior rules: prior set to one match among all pairs")

    # m: each comparison from the step(s) the settings name for it.
    m_estimates: dict[str, list[list[float | None]]] = {}
    for step in settings.m_steps:
        _run_m_step(Linker(table, _fresh(model), log_level=None), step, step["estimates"], settings,
                    m_estimates, notes)
    names = [c["name"] for c in settings.comparisons]
    missing = [name for name in names if name not in m_estimates]
    if missing and settings.m_fallback:
        notes.append(f"m for {', '.join(missing)} from the fallback step {settings.m_fallback}")
        _run_m_step(Linker(table, _fresh(model), log_level=None), settings.m_fallback, missing, settings,
                    m_estimates, notes)

    final = _fresh(model)
    final["probability_two_random_records_match"] = float(prior)
    for comp in final["comparisons"]:
        name = comp["output_column_name"]
        levels = [lv for lv in comp["comparison_levels"] if not lv.get("is_null_level")]
        if name not in m_estimates:
            notes.append(f"m for {name} could not be estimated: splink's default m values used")
            continue
        for level, m in zip(levels, _assemble_m(m_estimates[name], settings.m_floor), strict=True):
            level["m_probability"] = m
    return final


def score_pairs(
    prepared: pd.DataFrame,
    exact_duplicates: np.ndarray,
    settings: LinkageSettings,
    backend: Backend = "duckdb",
    *,
    spark_session=None,
) -> tuple[pd.DataFrame, dict[str, Any], dict[str, float], list[str]]:
    """Train on the prepared frame and score the blocked pairs down to ``prediction_floor``."""
    from splink import Linker

    seconds: dict[str, float] = {}
    notes: list[str] = []
    t0 = time.perf_counter()
    if backend == "duckdb":
        db_api = _duckdb_api()
    elif backend == "spark":
        db_api = _spark_api(spark_session)
    else:
        raise LinkageSettingsError(f"Unknown splink backend {backend!r}; choose duckdb or spark.")
    table = db_api.register(prepared, dataset_display_name="linkage_frame")
    model = train_model(db_api, table, prepared, exact_duplicates, settings, notes)
    linker = Linker(table, _fresh(model), log_level=None)
    seconds["train"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    chunks = max(1, math.ceil(len(prepared) / settings.predict_chunk_records))
    scored = linker.inference.predict(threshold_match_probability=settings.prediction_floor,
                                      num_chunks_left=chunks, num_chunks_right=chunks, warning_mode="never")
    pairs = scored.as_pandas_dataframe()[PAIR_COLUMNS]
    seconds["predict"] = time.perf_counter() - t0
    linker.table_management.delete_tables_created_by_splink_from_db()
    pairs = pairs.astype({"unique_id_l": np.int64, "unique_id_r": np.int64,
                          "match_probability": float, "match_weight": float})
    # Deterministic order whatever the backend's parallelism did.
    pairs = pairs.sort_values(["unique_id_l", "unique_id_r"], ignore_index=True)
    return pairs, model, seconds, notes


def model_summary(model: dict[str, Any]) -> pd.DataFrame:
    """The trained model as a table: each comparison level's m, u and match weight (log2 m/u)."""
    rows = []
    for comp in model.get("comparisons", []):
        for level in comp["comparison_levels"]:
            if level.get("is_null_level"):
                continue
            m, u = _as_m(level.get("m_probability")), _as_m(level.get("u_probability"))
            rows.append(dict(comparison=comp["output_column_name"], level=level.get("label_for_charts", ""),
                             m=m, u=u, weight=np.log2(m / u) if m and u else np.nan))
    return pd.DataFrame(rows)


def link_frame(
    frame: pd.DataFrame,
    settings: LinkageSettings | str | dict | None = None,
    *,
    threshold: float | None = None,
    backend: Backend = "duckdb",
    spark_session=None,
) -> LinkageResult:
    """Link one linkage frame (the ingest's, :data:`~workbench.linkage.persons.LINKAGE_COLUMNS`) with splink."""
    if not isinstance(settings, LinkageSettings):
        settings = load_settings(settings)
    settings = settings.with_threshold(threshold)
    t0 = time.perf_counter()
    prepared = prepare_frame(frame)
    weak = weak_records(prepared)
    event_days = prepared["event_days"].to_numpy(dtype=float, na_value=np.nan)
    prep_s = time.perf_counter() - t0
    exact = link_deterministic(frame)
    if len(prepared) < settings.min_records:
        # Too few records to estimate m and u: the exact rules are the honest fallback.
        note = (f"only {len(prepared):,} records (fewer than min_records = {settings.min_records:,}): "
                "too few to estimate a model, so the deterministic rules were used")
        return LinkageResult(canonical_labels(exact), pd.DataFrame(columns=PAIR_COLUMNS), weak, event_days,
                             settings, "deterministic (fallback)", {"prepare": prep_s}, notes=[note])
    settings, dropped = settings.for_frame(prepared)
    pairs, model, seconds, notes = score_pairs(prepared, exact, settings, backend, spark_session=spark_session)
    notes = dropped + notes
    t0 = time.perf_counter()
    result = LinkageResult(np.empty(0), pairs, weak, event_days, settings, backend,
                           {"prepare": prep_s, **seconds}, model, notes)
    result.labels = result.labels_at(settings.threshold)
    result.seconds["cluster"] = time.perf_counter() - t0
    return result
