"""The clerical review's files: the sample a reviewer sees (both records' identifiers side by side
and how each comparison came out) and the decisions they make.

The sample holds identifiers, so it is written only inside the data directory, owner-only, under
a name and first line that say so (:func:`workbench.linkage.quality.export_clerical_review`). The
decisions hold no identifiers: a pair is keyed by its two records' source and record id
(``pair_key``), which the store keeps anyway, so they survive a re-drawn frame order.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import numpy as np
import pandas as pd

from workbench.linkage.prepare import prepare_frame
from workbench.linkage.review_estimate import DECISIONS
from workbench.spreadsheets import write_csv

IDENTIFIER_COLUMNS = ["source", "record_id", "first_name", "last_name", "date_of_birth", "ni_number", "client_ref",
                      "approximate_age", "gender", "district", "event_date"]
DECISION_COLUMNS = ["pair_key", "decision", "reviewer", "decided_at"]


class ReviewFileError(ValueError):
    """A review file cannot be used as it is; the message names the file, row and column."""


def pair_keys(frame: pd.DataFrame, left: np.ndarray, right: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A stable key per pair, ``source/record_id|source/record_id`` in sorted order, and which
    row is shown first (the smaller name) so that the same pair always looks the same."""
    names = (frame["source"].astype(str) + "/" + frame["record_id"].astype(str)).to_numpy()
    a, b = names[np.asarray(left)], names[np.asarray(right)]
    swap = a > b
    first = np.where(swap, right, left)
    second = np.where(swap, left, right)
    keys = np.where(swap, np.char.add(np.char.add(b.astype(str), "|"), a.astype(str)),
                    np.char.add(np.char.add(a.astype(str), "|"), b.astype(str)))
    return keys, first, second


def comparison_levels(model: dict, frame: pd.DataFrame, left: np.ndarray, right: np.ndarray) -> pd.DataFrame:
    """How each comparison came out for each pair (the level's label, e.g. "Day and month
    swapped"), from the trained splink model, one row per pair. Scores only these pairs: each pair
    is its own block."""
    import duckdb
    from splink import DuckDBAPI, Linker

    if not model or not len(left):
        return pd.DataFrame(index=range(len(left)))
    prepared = prepare_frame(frame)
    rows = np.empty(2 * len(left), dtype=np.int64)
    rows[0::2], rows[1::2] = left, right
    table = prepared.iloc[rows].reset_index(drop=True)
    table["unique_id"] = np.arange(len(table), dtype=np.int64)
    table["review_pair"] = np.repeat(np.arange(len(left), dtype=np.int64), 2)
    settings = dict(model)
    settings.pop("linker_uid", None)
    settings["blocking_rules_to_generate_predictions"] = [{"blocking_rule": "l.review_pair = r.review_pair",
                                                           "sql_dialect": model.get("sql_dialect", "duckdb")}]
    settings["retain_intermediate_calculation_columns"] = True
    settings["additional_columns_to_retain"] = ["review_pair"]
    con = duckdb.connect()
    con.execute("SET enable_progress_bar = false")
    api = DuckDBAPI(connection=con)
    linker = Linker(api.register(table, dataset_display_name="review_pairs"), settings, log_level=None)
    out = linker.inference.predict(warning_mode="never").as_pandas_dataframe()
    out = out.set_index("review_pair_l").sort_index()
    levels = {}
    for comp in model["comparisons"]:
        name = comp["output_column_name"]
        # The output keeps each comparison's partial match weight, log2(m/u) of the level it hit
        # (0 for the null level): the level is the one with that weight.
        weights, labels, unknown = [0.0], ["not compared (missing on one side)"], []
        for lv in comp["comparison_levels"]:
            m, u = lv.get("m_probability"), lv.get("u_probability")
            if lv.get("is_null_level"):
                continue
            if m and u:
                weights.append(float(np.log2(m / u)))
                labels.append(lv.get("label_for_charts", ""))
            else:  # splink used its default for a value training never saw: the weight is not known here
                unknown.append(lv.get("label_for_charts", ""))
        got = out[f"mw_{name}"].to_numpy(dtype=float)
        gap = np.abs(got[:, None] - np.array(weights)[None, :])
        hit = np.array(labels, dtype=object)[gap.argmin(axis=1)]
        other = unknown[0] if len(unknown) == 1 else "level not identified"
        levels[name] = np.where(gap.min(axis=1) < 1e-6, hit, other)
    con.close()
    return pd.DataFrame(levels).reset_index(drop=True)


def sample_with_identifiers(sample: pd.DataFrame, frame: pd.DataFrame, model: dict) -> pd.DataFrame:
    """The sampled pairs as a reviewer sees them: the key, stratum and design weight, each
    record's identifiers (``_1`` and ``_2``) and each comparison's level."""
    keys, first, second = pair_keys(frame, sample["left"].to_numpy(), sample["right"].to_numpy())
    cols = [c for c in IDENTIFIER_COLUMNS if c in frame.columns]
    base = frame.reset_index(drop=True)[cols].copy()
    for c in ("date_of_birth", "event_date"):
        if c in base.columns:
            base[c] = pd.to_datetime(base[c]).dt.strftime("%Y-%m-%d")
    one = base.iloc[first].add_suffix("_1").reset_index(drop=True)
    two = base.iloc[second].add_suffix("_2").reset_index(drop=True)
    head = pd.DataFrame({"pair_key": keys, "stratum": sample["stratum"].to_numpy(),
                         "linked": sample["linked"].to_numpy(), "critical": sample["critical"].to_numpy(),
                         "design_weight": sample["design_weight"].to_numpy(),
                         "match_weight": sample["match_weight"].to_numpy()})
    levels = comparison_levels(model, frame, first, second).add_prefix("level_")
    side = [f"{c}_{s}" for c in cols for s in ("1", "2")]
    return pd.concat([head, pd.concat([one, two], axis=1)[side], levels], axis=1)


def read_sample(path: str | Path) -> pd.DataFrame:
    """A review sample written by :func:`workbench.linkage.quality.export_clerical_review`."""
    sample = pd.read_csv(path, skiprows=1, dtype=str, keep_default_na=False)
    for col in ("linked", "critical"):
        sample[col] = sample[col].str.lower() == "true"
    sample["design_weight"] = pd.to_numeric(sample["design_weight"])
    return sample


def read_decisions(path: str | Path) -> pd.DataFrame:
    """The decisions so far (none if the file does not exist); every row checked."""
    path = Path(path)
    if not path.exists():
        return pd.DataFrame(columns=DECISION_COLUMNS)
    d = pd.read_csv(path, dtype=str, keep_default_na=False)
    missing = [c for c in DECISION_COLUMNS if c not in d.columns]
    if missing:
        raise ReviewFileError(f"{path}: column(s) {', '.join(missing)} missing; the header must be "
                              f"{','.join(DECISION_COLUMNS)}.")
    bad = ~d["decision"].isin(DECISIONS)
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0]) + 2  # the file's line number (header is line 1)
        raise ReviewFileError(f"{path}, row {row}, column decision: {d['decision'].iloc[row - 2]!r} is not one of "
                              f"{', '.join(DECISIONS)} (rule: decision vocabulary).")
    return d[DECISION_COLUMNS]


def record_decision(path: str | Path, pair_key: str, decision: str, reviewer: str) -> None:
    """Append one decision (owner-only file); a later decision on the same pair overrides it."""
    if decision not in DECISIONS:
        raise ReviewFileError(f"Decision {decision!r} is not one of {', '.join(DECISIONS)}.")
    path = Path(path)
    new = not path.exists()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    row = pd.DataFrame([[pair_key, decision, reviewer, dt.datetime.now(dt.UTC).isoformat(timespec="microseconds")]],
                       columns=DECISION_COLUMNS)
    with os.fdopen(fd, "a", encoding="utf-8", newline="") as fh:
        write_csv(row, fh, index=False, header=new)


def write_decisions(path: str | Path, decisions: pd.DataFrame) -> None:
    """Write many decisions at once (owner-only), e.g. from a reviewer's spreadsheet."""
    path = Path(path)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
        write_csv(decisions[DECISION_COLUMNS], fh, index=False)
