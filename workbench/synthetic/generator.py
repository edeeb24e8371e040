"""Generate a synthetic county: extracts (the raw files) and truth (what is really there)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from workbench.definitions import DISTRICTS
from workbench.synthetic.errors import plant_errors
from workbench.synthetic.extracts import MessLog, iter_tables
from workbench.synthetic.population import NEEDS
from workbench.synthetic.scenarios import DEFAULT_SCENARIO, scenario_settings
from workbench.synthetic.settings import CountySettings
from workbench.synthetic.simulate import Simulation, to_day
from workbench.synthetic.truth import (
    districts_and_equality_truth,
    new_arrivals_truth,
    person_ids,
    returns_truth,
    supported_housing_truth,
)

DEFAULT_SEED = 20240401
DEFAULT_EXTRACT_DATE = date(2026, 9, 30)


@dataclass(frozen=True)
class GeneratedCounty:
    extracts_dir: Path
    truth_dir: Path
    counts: dict[str, int]  # data rows written per source
    seconds: float


def _write_csv(frame: pd.DataFrame, path: Path) -> None:
    """Standard CSV (minimal quoting, "\n" line ends, UTF-8), built with C-level joins for speed.

    Byte-for-byte what ``frame.to_csv(index=False, lineterminator="\n")`` writes for text columns,
    several times faster at national scale. Fixed line endings and encoding keep output identical
    on every platform.
    """
    def quoted(values: np.ndarray) -> list[str]:
        text = [v if isinstance(v, str) else str(v) for v in values.tolist()]
        joined = "".join(text)
        # Only a column holding a separator, quote or line break needs the per-value check.
        if any(ch in joined for ch in ',"\r\n'):
            text = ['"' + v.replace('"', '""') + '"' if any(ch in v for ch in ',"\r\n') else v for v in text]
        return text

    header = ",".join(quoted(np.array(frame.columns, dtype=object)))
    columns = [quoted(frame[c].to_numpy(dtype=object)) for c in frame.columns]
    body = "".join(line + "\n" for line in map(",".join, zip(*columns, strict=True)))
    path.write_bytes((header + "\n" + body).encode("utf-8"))


def _yaml(data: object, path: Path) -> None:
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100), encoding="utf-8")


def _plain(x: object) -> object:
    """numpy scalars -> Python, recursively (for YAML)."""
    if isinstance(x, dict):
        return {str(k): _plain(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [_plain(v) for v in x]
    if isinstance(x, np.generic):
        return x.item()
    if isinstance(x, float):
        return round(x, 10)
    return x


def generate_county(
    out_dir: str | Path,
    seed: int = DEFAULT_SEED,
    scale: float = 1.0,
    extract_date: date = DEFAULT_EXTRACT_DATE,
    progress: bool = False,
    settings: CountySettings | None = None,
    scenario: str | None = None,
) -> GeneratedCounty:
    """Simulate the county and write ``<out_dir>/extracts`` and ``<out_dir>/truth``.

    The same seed, scale, extract date and settings give byte-identical output. ``scenario`` names a
    profile of ``scenarios.yaml`` (its settings, on top of ``settings`` if given); its name is written
    to the truth's ``settings.yaml``, never to the extracts. The default scenario is the default county.
    """
    started = time.perf_counter()
    settings = settings or CountySettings()
    if scenario is not None and scenario != DEFAULT_SCENARIO:
        settings = scenario_settings(scenario, settings)
    else:
        scenario = None
    out = Path(out_dir)
    extracts_dir, truth_dir = out / "extracts", out / "truth"
    extracts_dir.mkdir(parents=True, exist_ok=True)
    truth_dir.mkdir(parents=True, exist_ok=True)
    x_iso = extract_date.isoformat()

    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(desc="simulating paths", unit=" round")

    def tick(round_no: int, n: int) -> None:
        if bar is not None:
            bar.update(1)
            bar.set_postfix(entries=n)

    sim = Simulation(settings=settings, seed=int(seed), scale=float(scale), extract_day=to_day(x_iso))
    sim.run(progress=tick)
    if bar is not None:
        bar.close()

    mess = MessLog()
    late_rows: list[pd.DataFrame] = []
    counts: dict[str, int] = {}
    manifest_files = []
    record_persons = []
    all_errors = []
    key_to_id: dict[str, np.ndarray] = {}
    seen = np.zeros(len(sim.people["dob"]), dtype=bool)
    for table in iter_tables(sim, settings, sim.rng, mess, late_rows):
        source = table.source
        ids = table.frame.iloc[:, 0].to_numpy(dtype=object).copy()  # as assigned, before planted breaks
        errors = plant_errors(source, table.frame, table.file_of_row, settings.mess.planted_error_rate, x_iso, sim.rng())
        all_errors.append(errors)
        frame = table.frame
        k2i = np.full(sim.counters[source], "", dtype=object)
        orig = table.key >= 0
        k2i[table.key[orig]] = ids[orig]
        key_to_id[source] = k2i
        seen[table.person] = True
        files = [f"statutory_cases_{d}.csv" for d in DISTRICTS] if source == "statutory_cases" else [f"{source}.csv"]
        row_number = np.zeros(len(frame), dtype=np.int64)
        for f in files:
            sel = table.file_of_row == f
            _write_csv(frame[sel], extracts_dir / f)
            row_number[sel] = np.arange(int(sel.sum())) + 2
            manifest_files.append({"path": f, "source": source})
        counts[source] = len(frame)
        record_persons.append(pd.DataFrame({
            "source": source, "file": table.file_of_row, "row_number": row_number,
            "record_id": frame.iloc[:, 0].to_numpy(dtype=object), "person_id": person_ids(table.person),
            "original_record_id": ids, "is_duplicate": (table.duplicate_of >= 0).astype(int),
        }))
        del frame, table
    late = pd.concat(late_rows, ignore_index=True) if late_rows else pd.DataFrame(
        columns=["file", "record_id", "column", "true_value"])
    _yaml({"extract_date": extract_date, "synthetic": True, "seed": int(seed), "scale": float(scale), "files": manifest_files},
          extracts_dir / "extract.yaml")

    # ---------------------------------------------------------------- truth
    errors = pd.concat(all_errors, ignore_index=True)
    _write_csv(errors, truth_dir / "planted_errors.csv")
    rp = pd.concat(record_persons, ignore_index=True)
    bad = errors[["file", "row_number"]].assign(planted_error=1).drop_duplicates()
    rp = rp.merge(bad, on=["file", "row_number"], how="left", sort=False)
    rp["planted_error"] = rp["planted_error"].fillna(0).astype(int)
    rp.to_parquet(truth_dir / "record_persons.parquet", index=False)
    ppl = sim.people
    persons = pd.DataFrame({
        "person_id": person_ids(np.arange(len(ppl["dob"]))),
        "first_name": ppl["first_name"], "last_name": ppl["last_name"],
        "date_of_birth": _days(ppl["dob"]), "gender": ppl["gender"], "ethnicity": ppl["ethnicity"],
        "nationality": ppl["nationality"], "ni_number": ppl["ni_number"], "household_type": ppl["household_type"],
        "profile": ppl["profile"], "entry_block": ppl["block"], "date_of_death": _days(sim.death_day),
    })
    for j, need in enumerate(NEEDS):
        persons[f"need_{need}"] = ppl["needs"][:, j].astype(int)
    persons["in_any_extract"] = seen.astype(int)
    if hasattr(sim, "unmeasured"):  # a scenario's unmeasured confounder (in no extract)
        persons["unmeasured_confounder"] = sim.unmeasured.astype(int)
    persons.to_parquet(truth_dir / "persons.parquet", index=False)
    _write_csv(mess.frame(), truth_dir / "mess_log.csv")
    _write_csv(late, truth_dir / "late_end_dates.csv")

    returns_table, returns_effect = returns_truth(sim, key_to_id)
    _write_csv(returns_table, truth_dir / "returns_cohort.csv")
    sh_table, sh_effect = supported_housing_truth(sim, key_to_id)
    _write_csv(sh_table, truth_dir / "supported_housing_cohort.csv")
    na_table, na_effect = new_arrivals_truth(sim, key_to_id)
    _write_csv(na_table, truth_dir / "new_arrivals.csv")
    prev_table, district_effect, equality_effect = districts_and_equality_truth(sim, key_to_id)
    _write_csv(prev_table, truth_dir / "prevention_duties.csv")
    effects = {
        "seed": int(seed), "scale": float(scale), "extract_date": x_iso,
        "returns_to_homelessness": returns_effect,
        "supported_housing_congregate": sh_effect,
        "new_arrivals_presented_earlier": na_effect,
        "district_prevention_success": district_effect,
        "equality_prevention_success": equality_effect,
    }
    _yaml(_plain(effects), truth_dir / "planted_effects.yaml")
    written = settings.to_dict(seed, scale, extract_date)
    if scenario is not None:
        written = {"scenario": scenario, **written}
    _yaml(_plain(written), truth_dir / "settings.yaml")
    (truth_dir / "README.md").write_text(truth_readme(counts, len(errors)), encoding="utf-8")
    return GeneratedCounty(extracts_dir, truth_dir, counts, time.perf_counter() - started)


def _days(days: np.ndarray) -> np.ndarray:
    from workbench.synthetic.extracts import days_to_text

    return days_to_text(days)


def truth_readme(counts: dict[str, int], n_errors: int) -> str:
    rows = "\n".join(f"| {s} | {n:,} |" for s, n in counts.items())
    return f"""# Ground truth of this synthetic county

Generated by `workbench.synthetic.generate_county`. The extracts in `../extracts/` are what services
would send; this folder says what is really there. It must never be given to the analysis under
test: it is the answer sheet.

| source | rows |
|---|---|
{rows}

## Files

- `settings.yaml`: every setting used (volumes, hazards, planted effects, mess rates), with seed, scale and extract date.
- `planted_effects.yaml`: the five planted effects, each with its definition and exact value:
  `returns_to_homelessness` (hazard ratios, baseline hazard, cumulative incidence at 6/12/24 months),
  `supported_housing_congregate` (sample ATE, subgroup effects, expected and observed naive difference),
  `new_arrivals_presented_earlier` (share, route shares, time before arrival),
  `district_prevention_success` (true rate per district, the outlier) and
  `equality_prevention_success` (risk ratio).
- `persons.parquet`: one row per simulated person: `person_id`, true names, date of birth, gender, ethnicity,
  nationality, NI number (blank if none), household type, profile and entry block, date of death, one
  `need_<code>` column (0/1) per support need, `in_any_extract`.
- `record_persons.parquet`: one row per data row of every extract file (duplicates and planted bad rows included):
  `source`, `file`, `row_number` (line in the file, header = 1), `record_id` (as in the file),
  `original_record_id` (as first assigned; differs only where a duplicated id was planted), `person_id`,
  `is_duplicate`, `planted_error`.
- `planted_errors.csv` ({n_errors} rows): `file`, `row_number`, `record_id`, `column`, `rule` for every row that
  deliberately breaks its contract (one rule per row); `changed_column` is the cell altered (for cross-field
  rules `column` is the rule's field). Rules: type, required, allowed_values, pattern, min, max,
  not_after_extract_date, unique (the second occurrence), or a contract rule id.
- `mess_log.csv`: every instance of recording mess: `kind` in typo, name_variant, dob_day_month_swap,
  dob_missing, duplicate_record, and for the outreach client reference client_ref_new_profile (a worker opened
  a second profile for someone already known), client_ref_wrong_client (logged against someone else's profile)
  and client_ref_missing; in scenarios with richer identifier errors also name_order_swap, forename_initial,
  surname_change, double_barrelled_part, dob_jan1_person, dob_default_jan1, dob_first_of_month, dob_year_off and
  ni_digit_typo; with `true_value` and `recorded_value`.
- `late_end_dates.csv`: records whose end date (and its reason columns) is blank in the extract although it really
  ended: `file`, `record_id`, `column`, `true_value`.
- `returns_cohort.csv`: one row per move-in in the returns cohort: `tenancy_id`, `person_id`, `move_in_date`,
  `tenure`, `route_in`, covariates `housing_first`, `drug_dependency`, `age10` (age at move-in / 10), the true
  `linear_predictor`, `death_rate_per_day`, `event` (return, death, censored), `time_days` (move-in to event or
  censoring), `event_date`, `return_channel` (rough_sleeping, supported_accommodation, relief_duty) and the
  planted per-person cumulative incidence of return at 6, 12 and 24 months.
- `supported_housing_cohort.csv`: one row per move from supported accommodation into a tenancy: ids, `model`,
  `congregate`, the confounders, true `propensity`, failure probabilities, potential-outcome probabilities
  `p_kept_congregate` / `p_kept_other`, `eligible` (12 months of follow-up) and the realised outcome `kept_12m`
  with its parts.
- `new_arrivals.csv`: one row per new arrival on the streets in the study cohort: `person_id`, `arrival_date`,
  `arrival_contact_id`, `district`, `presented_earlier`, `route`, the earlier record (`earlier_source`,
  `earlier_record_id`, `earlier_date`) and `days_before_arrival`.
- `prevention_duties.csv`: one row per prevention duty: `case_id`, `district`, true `ethnicity`, true end date and
  reason, `ended_by_extract_date`, `success` and the planted success probability `p_success`.
"""
