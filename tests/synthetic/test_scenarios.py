"""Scenarios of the synthetic county (issue 17 item 1): named profiles that break the studies'
assumptions, each doing what it says, and the default county untouched by the machinery."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from workbench.cli import app
from workbench.synthetic import CountySettings, generate_county
from workbench.synthetic.scenarios import (
    ScenarioError,
    apply_overrides,
    scenario_settings,
    scenarios,
)

SEED, SCALE = 7, 0.1
#: sha256 of truth/settings.yaml of the default county (seed 7, scale 0.05): every planted effect,
#: volume, hazard and mess rate. It may never change (issue 17: the default's planted effects stay).
DEFAULT_SETTINGS_SHA256 = "ab9190f16c18e5f64f050ab077864c2b37b87b01eb8e7d93fa4127ff530706eb"


def _hashes(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def counties(tmp_path_factory):
    """One small county per scenario this module looks into, same seed."""
    root = tmp_path_factory.mktemp("scenarios")
    names = ["default", "null_all", "unmeasured_confounder", "needs_misrecorded", "before_data_begin",
             "fading_housing_first", "outreach_without_client_ref", "nonlinear_confounding", "late_recorded_ends"]
    for name in names:
        generate_county(root / name, seed=SEED, scale=SCALE, scenario=name)
    return root


def _read(county: Path, file: str) -> pd.DataFrame:
    return pd.read_csv(county / "extracts" / file, dtype=str, keep_default_na=False)


def _effects(county: Path) -> dict:
    return yaml.safe_load((county / "truth" / "planted_effects.yaml").read_text())


def test_default_planted_settings_never_change(tmp_path):
    generate_county(tmp_path, seed=SEED, scale=0.05)
    digest = hashlib.sha256((tmp_path / "truth" / "settings.yaml").read_bytes()).hexdigest()
    assert digest == DEFAULT_SETTINGS_SHA256, "the default county's settings (its planted effects) changed"


def test_default_scenario_is_byte_identical_to_no_scenario(counties, tmp_path):
    generate_county(tmp_path, seed=SEED, scale=SCALE)
    assert _hashes(tmp_path) == _hashes(counties / "default")


def test_every_scenario_documents_itself_and_changes_only_what_it_names():
    every = scenarios()
    assert {"default", "nonlinear_confounding", "unmeasured_confounder", "fading_housing_first", "needs_misrecorded",
            "null_housing_first", "null_supported_housing", "null_district", "null_equality", "before_data_begin",
            "late_recorded_ends", "outreach_without_client_ref"} <= set(every)
    default = CountySettings()
    for name, spec in every.items():
        assert spec.title and spec.breaks and spec.correct_study_reports, name
        settings = scenario_settings(name)
        for section, fields in spec.overrides.items():
            for field, value in fields.items():
                got = getattr(getattr(settings, section), field)
                if isinstance(value, dict) and getattr(getattr(default, section), field):
                    assert all(got[k] == v for k, v in value.items()), (name, section, field)
                else:
                    assert got == value, (name, section, field)
        if name != "default":
            assert settings != default, f"{name} changes nothing"
    assert scenario_settings("default") == default


def test_unknown_scenario_or_setting_is_an_error_naming_it():
    with pytest.raises(ScenarioError, match="no_such_profile"):
        scenario_settings("no_such_profile")
    with pytest.raises(ScenarioError, match="hr_housing_frist"):
        apply_overrides(CountySettings(), {"returns": {"hr_housing_frist": 1.0}}, "typo")
    with pytest.raises(ScenarioError, match="oxford_cty"):
        apply_overrides(CountySettings(), {"districts": {"prevention_success": {"oxford_cty": 0.5}}}, "typo")
    result = CliRunner().invoke(app, ["generate", "--scenario", "no_such_profile", "--out", "unused"])
    assert result.exit_code == 2
    assert "no_such_profile" in result.output and "Traceback" not in result.output


def test_null_scenario_removes_every_planted_effect(counties):
    e, d = _effects(counties / "null_all"), _effects(counties / "default")
    assert e["returns_to_homelessness"]["hazard_ratios"]["housing_first"] == 1.0
    assert d["returns_to_homelessness"]["hazard_ratios"]["housing_first"] == 0.5
    sh = e["supported_housing_congregate"]
    assert sh["ate_risk_difference"] == 0.0 and all(v == 0.0 for v in sh["subgroup_effects"].values())
    assert d["supported_housing_congregate"]["subgroup_effects"]["history_rough_sleeping_and_drug_or_alcohol"] > 0.1
    assert e["district_prevention_success"]["outlier_district"] is None
    assert len(set(e["district_prevention_success"]["true_rate"].values())) == 1
    assert e["equality_prevention_success"]["risk_ratio"] == 1.0
    settings = yaml.safe_load((counties / "null_all" / "truth" / "settings.yaml").read_text())
    assert settings["scenario"] == "null_all"
    assert "scenario" not in (counties / "null_all" / "extracts" / "extract.yaml").read_text()


def test_unmeasured_confounder_is_in_the_truth_only_and_drives_placement(counties):
    persons = pd.read_parquet(counties / "unmeasured_confounder" / "truth" / "persons.parquet")
    assert 0.25 < persons["unmeasured_confounder"].mean() < 0.35
    assert "unmeasured_confounder" not in pd.read_parquet(counties / "default" / "truth" / "persons.parquet")
    sh = pd.read_csv(counties / "unmeasured_confounder" / "truth" / "supported_housing_cohort.csv")
    u = sh.merge(persons[["person_id", "unmeasured_confounder"]], on="person_id")
    # Placement: the planted propensity is higher for the confounder's holders, other needs alike.
    by_u = u.groupby("unmeasured_confounder")["propensity"].mean()
    assert by_u[1] > by_u[0] + 0.1
    assert (u.groupby("unmeasured_confounder")["q_fail_other"].mean().diff().iloc[-1]) > 0.05
    for file in ("supported_accommodation.csv", "statutory_cases_oxford_city.csv"):
        assert "unmeasured" not in " ".join(_read(counties / "unmeasured_confounder", file).columns)


def test_needs_misrecorded_differ_between_a_persons_records(counties):
    def needs_by_person(name):
        rp = pd.read_parquet(counties / name / "truth" / "record_persons.parquet")
        sa = _read(counties / name, "supported_accommodation.csv").merge(
            rp[rp.source == "supported_accommodation"][["record_id", "person_id"]].rename(
                columns={"record_id": "episode_id"}), on="episode_id")
        return sa.groupby("person_id")["support_needs"].nunique()

    messy, clean = needs_by_person("needs_misrecorded"), needs_by_person("default")
    assert (clean > 1).sum() == 0  # by default every record of a person carries the same needs
    assert (messy > 1).sum() >= 10
    log = pd.read_csv(counties / "needs_misrecorded" / "truth" / "mess_log.csv", dtype=str, keep_default_na=False)
    assert (log["kind"] == "needs_misrecorded").sum() > 50


def test_move_ins_before_the_data_begin_are_left_truncated(counties):
    t = _read(counties / "before_data_begin", "settled_tenancies.csv")
    early = t[t["start_date"] < "2018-01-01"]
    assert len(early) >= 30
    assert early["start_date"].min() < "2013-01-01"  # up to six years before
    ended = early[early["end_date"] != ""]
    assert (ended["end_date"] >= "2018-01-01").all()  # only tenancies still running when the data begin
    assert (_read(counties / "default", "settled_tenancies.csv")["start_date"] >= "2018-01-01").all()
    truth = pd.read_csv(counties / "before_data_begin" / "truth" / "returns_cohort.csv", dtype={"event_date": str})
    early_truth = truth[truth["move_in_date"] < "2018-01-01"]
    assert len(early_truth) >= 30 and (early_truth["event_date"] >= "2018-01-01").all()


def test_fading_housing_first_effect_is_not_proportional(counties):
    e = _effects(counties / "fading_housing_first")["returns_to_homelessness"]
    over_time = e["hazard_ratio_housing_first_over_time"]
    assert over_time["before_day_365"] == 0.5 and over_time["from_day_365"] == 1.0
    assert "hazard_ratio_housing_first_over_time" not in _effects(counties / "default")["returns_to_homelessness"]
    # Among Housing First move-ins the planted 24-month incidence is higher than with a constant 0.5.
    fading = pd.read_csv(counties / "fading_housing_first" / "truth" / "returns_cohort.csv")
    constant = pd.read_csv(counties / "default" / "truth" / "returns_cohort.csv")
    hf = lambda t: t[t["housing_first"] == 1]  # noqa: E731
    ratio_12 = hf(fading)["cif_return_12_months"].mean() / hf(constant)["cif_return_12_months"].mean()
    ratio_24 = hf(fading)["cif_return_24_months"].mean() / hf(constant)["cif_return_24_months"].mean()
    assert ratio_24 > ratio_12 + 0.1


def test_outreach_without_client_reference_and_late_ends(counties):
    assert (_read(counties / "outreach_without_client_ref", "outreach_contacts.csv")["client_ref"] == "").all()
    assert (_read(counties / "default", "outreach_contacts.csv")["client_ref"] != "").mean() > 0.9
    late = {n: len(pd.read_csv(counties / n / "truth" / "late_end_dates.csv")) for n in ("default", "late_recorded_ends")}
    assert late["late_recorded_ends"] > 3 * late["default"]


def test_nonlinear_confounding_changes_placement_by_combinations_of_needs(counties):
    def share(name):
        sh = pd.read_csv(counties / name / "truth" / "supported_housing_cohort.csv")
        both = (sh.drug_dependency == 1) & (sh.alcohol_dependency == 1)
        return float(sh.loc[both, "propensity"].mean()), float(sh.loc[~both, "propensity"].mean())

    (nl_both, nl_rest), (d_both, d_rest) = share("nonlinear_confounding"), share("default")
    assert nl_both - d_both > 0.1  # the drug x alcohol interaction raises placement for people with both
    assert np.isclose(nl_rest, d_rest, atol=0.08)
