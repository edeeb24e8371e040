"""The current-residents framework form: good entries are validated and saved in the store (and
survive the next ingest); bad entries are refused with a clear message."""

from __future__ import annotations

import datetime as dt

import pytest
from factories import write_extract_folder

from workbench.ingest.pipeline import ingest_folder
from workbench.store import Store
from workbench.studies.current_residents import ResidentForm, submit_entry

GOOD = dict(resident_ref="RES-0042", assessment_date=dt.date(2026, 3, 1), service_name="Example House",
            model="congregate_hostel", district="oxford_city", start_date=dt.date(2025, 11, 3), age=34,
            gender="female", route_in="rough_sleeping", support_needs=["history_rough_sleeping", "alcohol_dependency"],
            move_on_plan=True)


@pytest.fixture
def store_dir(tmp_path, contracts):
    folder = write_extract_folder(tmp_path / "extracts", contracts, n=5)
    (folder / "current_residents.csv").unlink()  # the form is the only source here
    ingest_folder(folder, tmp_path / "data", progress=False)
    return tmp_path / "data"


def test_good_entry_is_saved_and_survives_reingest(store_dir, tmp_path, contracts):
    first = submit_entry(GOOD, store_dir, today=dt.date(2026, 3, 2))
    second = submit_entry({**GOOD, "resident_ref": "RES-0043"}, store_dir, today=dt.date(2026, 3, 2))
    assert first.ok and second.ok and first.assessment_id == "CR-0000001" and second.assessment_id == "CR-0000002"
    table = Store(store_dir).table("current_residents").set_index("assessment_id")
    assert table.loc["CR-0000001", "support_needs"] == "history_rough_sleeping;alcohol_dependency"
    assert table.loc["CR-0000002", "resident_ref"] == "RES-0043" and table.loc["CR-0000001", "age_at_assessment_date"] == 34
    # A new quarter's ingest rebuilds the store: the framework entries are carried, not lost.
    from factories import valid_frame, write_csv
    write_csv(valid_frame(contracts["deaths"], 9, seed=5), tmp_path / "extracts" / "deaths.csv")
    ingest_folder(tmp_path / "extracts", store_dir, progress=False)
    assert len(Store(store_dir).table("current_residents")) == 2


@pytest.mark.parametrize("change, column, words", [
    ({"model": ""}, "model", "required"),
    ({"resident_ref": "Jane Smith"}, "resident_ref", "format"),
    ({"age": 7}, "age", "lowest allowed"),
    ({"start_date": dt.date(2026, 5, 1)}, "start_date", "after the extract date"),
    ({"assessment_date": dt.date(2025, 1, 1)}, "assessment_date", "cannot come before the stay began"),
])
def test_bad_entries_are_refused_with_a_clear_message(store_dir, change, column, words):
    result = submit_entry({**GOOD, **change}, store_dir, today=dt.date(2026, 3, 2))
    assert not result.ok
    text = result.message()
    assert text.startswith("Not saved") and column in text and words in text, text
    assert "current_residents" not in Store(store_dir).tables()  # nothing was written


def test_form_widgets_are_built_from_the_contract_and_save(store_dir):
    form = ResidentForm(store_dir)
    assert set(form.inputs) == {f.name for f in form.contract.fields} - {"assessment_id"}
    for name, value in GOOD.items():
        form.inputs[name].value = tuple(value) if isinstance(value, list) else value
    result = form._on_save()
    assert result.ok and "Saved assessment" in form.output.value
    form.inputs["gender"].value = ""
    assert not form._on_save().ok and "gender" in form.output.value


def test_profile_counts_residents_by_subgroup_and_reads_findings():
    import pandas as pd

    from workbench.studies.current_residents import profile_residents

    residents = pd.DataFrame({
        "support_needs": ["history_rough_sleeping;drug_dependency", "young_person_18_25", "domestic_abuse", ""],
        "gender": ["male", "female", "female", "male"], "age_at_assessment_date": [50, 20, 30, 60],
        "model": ["congregate_hostel", "congregate_hostel", "women_only", "dispersed"],
    })
    effects = pd.DataFrame({"subgroup": ["rough_sleeping_and_substance_use", "young_person_18_25", "women", "aged_45_plus"],
                            "risk_difference": [0.15, -0.12, 0.01, 0.09], "lower": [0.02, -0.3, -0.1, 0.01],
                            "upper": [0.3, 0.06, 0.1, 0.17], "effect_p_holm": [0.01, 0.6, 0.9, 0.143]})
    p = profile_residents(residents, effects).set_index("subgroup")
    assert p.loc["rough_sleeping_and_substance_use", "current_residents"] == 1
    assert p.loc["rough_sleeping_and_substance_use", "finding"] == "congregate appeared to help (a lead to check)"
    # the case: an unadjusted interval above zero, but Holm-adjusted p = 0.143: no claim
    assert p.loc["aged_45_plus", "finding"] == "no clear difference" and p.loc["aged_45_plus", "adjusted_p"] == 0.143
    assert p.loc["young_person_18_25", "of_whom_in_congregate"] == 1
    assert p.loc["young_person_18_25", "finding"] == "no clear difference"
    assert p.loc["women_with_domestic_abuse", "current_residents"] == 1
    assert p.loc["women_with_domestic_abuse", "finding"] == "too few people to estimate"
    assert p.loc["aged_45_plus", "current_residents"] == 2 and p.loc["women", "current_residents"] == 2
