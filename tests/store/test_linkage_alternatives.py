"""The store keeps alternative linkages, and a study can be read under each (issue 18 item 4).

The county store is ingested with the true linkage, so its one alternative is the deterministic
rules: the same records, each with the person id those rules give."""

from __future__ import annotations

import pandas as pd
import pytest

from workbench.store import SnapshotNotFound, Store
from workbench.studies import entry_point


def test_an_alternative_linkage_changes_person_ids_only(county_store):
    assert county_store.alternatives() == ["deterministic rules"]
    other = Store(county_store.data_dir, linkage="deterministic rules")
    for source in ("statutory_cases", "settled_tenancies"):
        truth, rules = county_store.table(source), other.table(source)
        pd.testing.assert_frame_equal(truth.drop(columns="person_id"), rules.drop(columns="person_id"))
        assert rules["person_id"].notna().all() and (rules["person_id"] != truth["person_id"]).any()
    assert len(other.table("persons")) != len(county_store.table("persons"))
    with pytest.raises(SnapshotNotFound, match="no alternative linkage 'splink at 0.5'"):
        Store(county_store.data_dir, linkage="splink at 0.5")


def test_a_study_reports_its_headlines_under_each_linkage(county_store):
    result = entry_point("returns")(county_store, linkage_sensitivity=True)
    table = result.tables["linkage_sensitivity_headlines"]
    assert set(table["linkage"]) == {"truth (chosen)", "deterministic rules"}
    assert set(table["figure"]) == {"cumulative_incidence.12", "hazard_ratios.housing_first"}
    chosen = table[table["linkage"] == "truth (chosen)"].set_index("figure")["value"]
    assert chosen["cumulative_incidence.12"] == pytest.approx(result.estimates["cumulative_incidence"][12][0])
    found = [f for f in result.findings if f.startswith("Linkage sensitivity:")]
    assert len(found) == 2 and "deterministic rules:" in found[0]
    plain = entry_point("returns")(county_store)  # off unless asked: the same study without it
    assert "linkage_sensitivity_headlines" not in plain.tables
