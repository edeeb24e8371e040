"""Shared by the calibration tests (test_study_calibration*.py): replicate counts, bands and checks."""

from __future__ import annotations

import pandas as pd

from workbench.synthetic.calibration import binomial_band, run_replicates, summarise

R, SCALE, ALPHA = 20, 0.2, 0.002
PLANTED_SUBGROUPS = ("rough_sleeping_and_substance_use", "young_person_18_25", "women_with_domestic_abuse")
FAST = {"supported_housing": {"n_bootstrap": 50}}


def no_failures(rows: pd.DataFrame) -> None:
    failed = rows[rows["kind"] == "error"]
    assert failed.empty, failed[["study", "seed", "note"]].to_string()


def covers(row: pd.Series, name: str) -> None:
    lo, _ = binomial_band(int(row.with_interval), 0.95, ALPHA)
    assert row.covered >= lo, (f"{name}: the 95% interval covered the truth in {row.covered} of {row.with_interval} "
                               f"counties; the exact band for 95% starts at {lo} (bias {row.bias:+.4f})")


def false_positives(row: pd.Series, name: str) -> None:
    assert row.null, f"{name}: the truth is not null"
    _, hi = binomial_band(int(row.replicates), 0.05, ALPHA)
    assert row.findings <= hi, (f"{name}: printed in {row.findings} of {row.replicates} counties where it is false; "
                                f"the exact band for 5% ends at {hi}")


def calibrated_counties(scenario: str, seed_start: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """R counties of ``scenario`` run through both studies: the rows and their summary by estimate
    (printed, so a failure shows the whole table for the diagnosis)."""
    rows = run_replicates(["supported_housing", "returns"], scenario, R, seed_start=seed_start, scale=SCALE,
                          workers=1, study_parameters=FAST, progress=False)
    summary = summarise(rows)
    print(summary.drop(columns=["note"]).to_string())
    return rows, summary.set_index(["study", "estimate"])
