"""The linkage model as data: load ``settings.yaml`` and turn it into splink objects.

The YAML names comparison levels by kind (null, exact, jaro_winkler, ...) rather than by SQL where
it can, so splink writes the right SQL for each backend (DuckDB's ``jaro_winkler_similarity`` is
Spark's ``jaro_winkler``). Custom SQL levels are kept to operators both backends share.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from workbench.linkage.clustering import WeakRecordRule
from workbench.linkage.normalise import normalise_name

SETTINGS_FILE = "settings.yaml"
NICKNAMES_FILE = "nicknames.csv"
UNIQUE_ID = "unique_id"


class LinkageSettingsError(ValueError):
    """The linkage settings are not usable; the message says which entry and why."""


@dataclass
class LinkageSettings:
    """The parsed settings file. ``raw`` keeps the YAML as read, for provenance."""

    threshold: float
    prediction_floor: float
    min_records: int
    predict_chunk_records: int
    seed: int
    clerical_band: tuple[float, float]
    weak_rule: WeakRecordRule | None
    prior_rules: list[str]
    prior_recall: float
    u_max_pairs: float
    u_drop_exact_duplicates: bool
    m_steps: list[dict[str, Any]]
    m_fallback: dict[str, Any] | None
    m_floor: float
    em_max_pairs: float | None
    blocking: list[dict[str, Any]]
    comparisons: list[dict[str, Any]]
    sensitivity_thresholds: tuple[float, ...] = ()
    raw: dict[str, Any] = field(repr=False, default_factory=dict)

    def with_threshold(self, threshold: float | None) -> LinkageSettings:
        if threshold is None:
            return self
        out = copy.copy(self)
        out.threshold = float(threshold)
        _check_probability("threshold", out.threshold)
        return out

    def for_frame(self, prepared: pd.DataFrame) -> tuple[LinkageSettings, list[str]]:
        """These settings less any comparison or blocking rule on a column no record holds (say a
        client reference in extracts without one): such a comparison has no m to estimate and can
        only ever say "missing". Returns the settings and a note per rule left out."""
        empty = {c for c in prepared.columns if prepared[c].isna().all()}
        dropped = [c for c in self.comparisons if _missing_column(c) in empty]
        if not dropped:
            return self, []
        out = copy.copy(self)
        names = {c["name"] for c in dropped}
        out.comparisons = [c for c in self.comparisons if c["name"] not in names]
        out.blocking = [b for b in self.blocking if not set(b.get("columns", [])) & empty]
        out.m_steps = [{**st, "estimates": [e for e in st["estimates"] if e not in names]} for st in self.m_steps]
        return out, [f"comparison {c['name']} left out: no record holds {_missing_column(c)}" for c in dropped]


def _missing_column(comparison: dict[str, Any]) -> str | None:
    """The column a comparison's "missing" level tests (the column it is about)."""
    return next((lv.get("column") for lv in comparison.get("levels", []) if lv.get("kind") == "missing"), None)


def _weak_rule(spec: dict[str, Any] | None) -> WeakRecordRule | None:
    if spec is None:
        return None
    unknown = set(spec) - set(WeakRecordRule.__dataclass_fields__)
    if unknown:
        raise LinkageSettingsError(f"Unknown clustering.weak_records setting(s): {', '.join(sorted(unknown))}.")
    return WeakRecordRule(**spec)


def _check_probability(name: str, value: float) -> None:
    if not 0.0 < value < 1.0:
        raise LinkageSettingsError(f"{name} must be strictly between 0 and 1, not {value!r}.")


def load_settings(path: str | Path | dict | None = None, profile: str | None = None) -> LinkageSettings:
    """Read the linkage settings: the packaged ``settings.yaml`` by default, or a path or dict.

    ``profile`` names an entry of the file's ``profiles`` whose keys replace the base settings'
    (a mapping is updated key by key, anything else replaced), e.g. ``"large_population"``.
    """
    if isinstance(path, dict):
        raw = copy.deepcopy(path)
    else:
        text = (
            Path(path).read_text(encoding="utf-8") if path is not None
            else resources.files("workbench.linkage").joinpath(SETTINGS_FILE).read_text(encoding="utf-8")
        )
        raw = yaml.safe_load(text) or {}
    if profile is not None:
        profiles = raw.get("profiles") or {}
        if profile not in profiles:
            raise LinkageSettingsError(f"No linkage settings profile {profile!r}; the settings have: "
                                       f"{', '.join(profiles) or 'none'}.")
        for key, value in profiles[profile].items():
            if isinstance(value, dict) and isinstance(raw.get(key), dict):
                raw[key] = {**raw[key], **value}
            else:
                raw[key] = copy.deepcopy(value)
        raw["profile"] = profile
    try:
        training = raw["training"]
        settings = LinkageSettings(
            threshold=float(raw["threshold"]),
            prediction_floor=float(raw.get("prediction_floor", 0.01)),
            min_records=int(raw.get("min_records", 1000)),
            predict_chunk_records=int(raw.get("predict_chunk_records", 250_000)),
            seed=int(raw["seed"]),
            clerical_band=(float(raw["clerical_band"][0]), float(raw["clerical_band"][1])),
            weak_rule=_weak_rule(raw.get("clustering", {}).get("weak_records")),
            prior_rules=list(training["prior_rules"]),
            prior_recall=float(training["prior_recall"]),
            u_max_pairs=float(training["u"]["max_pairs"]),
            u_drop_exact_duplicates=bool(training["u"].get("drop_exact_duplicates", True)),
            m_steps=[dict(step) for step in training["m_steps"]],
            m_fallback=dict(training["m_fallback"]) if training.get("m_fallback") else None,
            m_floor=float(training.get("m_floor", 1e-4)),
            em_max_pairs=float(training["em_max_pairs"]) if training.get("em_max_pairs") else None,
            blocking=list(raw["blocking"]),
            comparisons=list(raw["comparisons"]),
            sensitivity_thresholds=tuple(float(t) for t in raw.get("sensitivity_thresholds") or ()),
            raw=raw,
        )
    except (KeyError, TypeError, IndexError) as exc:
        raise LinkageSettingsError(f"Linkage settings are missing or malformed at {exc!s}.") from None
    _check_probability("threshold", settings.threshold)
    _check_probability("prediction_floor", settings.prediction_floor)
    _check_probability("training.prior_recall", settings.prior_recall)
    lo, hi = settings.clerical_band
    if not 0 <= lo < hi <= 1:
        raise LinkageSettingsError(f"clerical_band must be two probabilities, low then high, not {settings.clerical_band}.")
    if settings.prediction_floor > settings.threshold:
        raise LinkageSettingsError("prediction_floor must not be above the clustering threshold.")
    for t in settings.sensitivity_thresholds:
        _check_probability("sensitivity_thresholds", t)
        if t < settings.prediction_floor:
            raise LinkageSettingsError(f"sensitivity_thresholds: {t} is below prediction_floor "
                                       f"{settings.prediction_floor}; pairs that low are not kept.")
    _check_m_steps(settings)
    return settings


def _check_m_steps(settings: LinkageSettings) -> None:
    """Every comparison's m must come from some step, and each step must say how it estimates."""
    names = [c["name"] for c in settings.comparisons]
    covered: set[str] = set()
    for step in settings.m_steps:
        if ("em" in step) == ("labels" in step):
            raise LinkageSettingsError(f"Each m step needs exactly one of 'em' or 'labels': {step}.")
        unknown = set(step.get("estimates", [])) - set(names)
        if unknown:
            raise LinkageSettingsError(f"m step {step} names unknown comparison(s): {', '.join(sorted(unknown))}.")
        covered |= set(step.get("estimates", []))
    missing = [n for n in names if n not in covered]
    if missing:
        raise LinkageSettingsError(f"No m step estimates comparison(s) {', '.join(missing)}.")


def load_nicknames(path: str | Path | None = None) -> pd.DataFrame:
    """The nickname/variant table: columns ``group``, ``name`` (normalised)."""
    src = Path(path) if path is not None else resources.files("workbench.linkage").joinpath(NICKNAMES_FILE)
    with src.open("r", encoding="utf-8") as fh:  # type: ignore[union-attr]
        table = pd.read_csv(fh, comment="#", dtype=str)
    table = pd.DataFrame({"group": normalise_name(table["group"]), "name": normalise_name(table["name"])})
    return table.dropna().drop_duplicates().reset_index(drop=True)


# ---------------------------------------------------------------------------------------------
# YAML -> splink
# ---------------------------------------------------------------------------------------------

#: Level kinds that may carry ``only_if`` (a cheap condition the level implies, tested first).
ONLY_IF_KINDS = ("array_intersect", "levenshtein", "jaro_winkler")


def _level(spec: dict[str, Any]):
    import splink.comparison_level_library as cll

    kind = spec.get("kind")
    col = spec.get("column")
    if spec.get("only_if") and kind not in ONLY_IF_KINDS:
        # elsewhere it would be dropped (sql levels) or would drop a term-frequency adjustment
        raise LinkageSettingsError(f"only_if is for levels of kind {', '.join(ONLY_IF_KINDS)}, not {kind!r}: {spec}.")
    if kind == "missing":
        level = cll.NullLevel(col)
    elif kind == "exact":
        level = cll.ExactMatchLevel(col, term_frequency_adjustments=bool(spec.get("tf", False)))
    elif kind == "array_intersect":
        level = cll.ArrayIntersectLevel(col, min_intersection=int(spec.get("min_intersection", 1)))
    elif kind == "jaro_winkler":
        level = cll.JaroWinklerLevel(col, float(spec["threshold"]))
    elif kind == "levenshtein":
        level = cll.LevenshteinLevel(col, int(spec["threshold"]))
    elif kind == "sql":
        level = cll.CustomLevel(spec["sql"], label_for_charts=spec.get("label"))
        if spec.get("is_null"):
            level.configure(is_null_level=True)
        if spec.get("tf_column"):
            # Term-frequency adjusted on this column's value: agreeing on a common value (a default
            # date such as 1 January 1990) counts for less than agreeing on a rare one.
            level.configure(tf_adjustment_column=spec["tf_column"], tf_adjustment_weight=1.0)
        return level
    elif kind == "else":
        return cll.ElseLevel()
    else:
        raise LinkageSettingsError(f"Unknown comparison level kind {kind!r} in {spec}.")
    if spec.get("only_if"):
        # A cheap condition the level implies, checked first: the costly function (a list
        # intersection, an edit distance) then runs on few pairs where the database evaluates the
        # rest of AND only where the first part holds (DuckDB did here, measured; no engine promises
        # it). Same pairs, same level.
        level = cll.And(cll.CustomLevel(spec["only_if"]), level)
        level.configure(label_for_charts=spec.get("label") or _default_label(kind, spec))
    elif spec.get("label"):
        level.configure(label_for_charts=spec["label"])
    return level


def _default_label(kind: str, spec: dict[str, Any]) -> str:
    """The label splink gives the level on its own (the And above would otherwise show both parts)."""
    if kind == "array_intersect":
        return f"Array intersection size >= {int(spec.get('min_intersection', 1))}"
    if kind == "levenshtein":
        return f"Levenshtein distance of {spec['column']} <= {int(spec['threshold'])}"
    return kind


def comparison_creators(settings: LinkageSettings) -> list:
    import splink.comparison_library as cl

    out = []
    for comp in settings.comparisons:
        levels = [_level(s) for s in comp["levels"]]
        out.append(cl.CustomComparison(levels, output_column_name=comp["name"],
                                       comparison_description=comp.get("description")))
    return out


def blocking_rule(spec: dict[str, Any] | list[str] | str):
    from splink import block_on
    from splink.blocking_rule_library import CustomRule

    if isinstance(spec, str):
        return CustomRule(spec)
    if isinstance(spec, list):
        return block_on(*spec)
    if "sql" in spec:
        return CustomRule(spec["sql"], arrays_to_explode=spec.get("explode") or None)
    return block_on(*spec["columns"], arrays_to_explode=spec.get("explode") or None)


def splink_settings(settings: LinkageSettings):
    """A splink ``SettingsCreator`` for a dedupe_only model over the prepared frame."""
    from splink import SettingsCreator

    return SettingsCreator(
        link_type="dedupe_only",
        unique_id_column_name=UNIQUE_ID,
        comparisons=comparison_creators(settings),
        blocking_rules_to_generate_predictions=[blocking_rule(b) for b in settings.blocking],
        retain_matching_columns=False,
        retain_intermediate_calculation_columns=False,
        additional_columns_to_retain=[],
        max_iterations=25,
        em_convergence=1e-4,
    )
