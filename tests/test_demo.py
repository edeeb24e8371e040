"""The main job's store: the synthetic county ingested with the probabilistic linkage, as a real
ingest would be, with that linkage's error rates measured against the truth and recorded."""

from __future__ import annotations

import shutil

import pytest

from workbench.demo import DEMO_LINKAGE, build_demo_store, synthetic_folder
from workbench.store import Store
from workbench.studies import new_arrivals
from workbench.studies.new_arrivals.study import SOURCES
from workbench.synthetic import DEFAULT_SEED
from workbench.synthetic.evaluation import relinked, true_person_ids

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def demo_store(synthetic_county, tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("demo")
    # The session's county is the demo's (same seed): copy it rather than generate it again.
    shutil.copytree(synthetic_county / "extracts", synthetic_folder(data_dir, DEFAULT_SEED) / "extracts")
    shutil.copytree(synthetic_county / "truth", synthetic_folder(data_dir, DEFAULT_SEED) / "truth")
    summary = build_demo_store(data_dir, progress=False)
    return Store(data_dir), summary


def test_demo_links_with_splink_and_records_its_measured_error(demo_store):
    store, summary = demo_store
    meta = store.meta()
    assert DEMO_LINKAGE == "splink" and meta["linkage"] == "splink"
    assert "Linkage measured against the synthetic truth: pairwise precision" in summary
    # The targets hold for the store the dashboards read.
    assert float(meta["linkage_pairwise_precision"]) >= 0.99 and float(meta["linkage_pairwise_f1"]) >= 0.98
    for rate in ("linkage_precision", "linkage_recall"):
        assert 0.9 < float(meta[rate]) <= 1
    assert 0 < float(meta["spurious_arrival_share"]) < 0.2 and 0 <= float(meta["hidden_arrival_share"]) < 0.05


def test_new_arrivals_on_the_demo_store_brackets_the_truth(demo_store, synthetic_county):
    """The study reads the recorded rates by itself; its bounds contain the share under the true
    linkage (the realised value, 0.600 with the default seed)."""
    import pandas as pd

    store, _ = demo_store
    result = new_arrivals.run(store)
    assert result.parameters["linkage"] == "splink"
    b = result.tables["linkage_sensitivity"].iloc[0]
    assert bool(b["arrival_set_errors_given"])
    start, end = (pd.Timestamp(result.parameters[k]) for k in ("period_start", "period_end"))
    true_share = new_arrivals.run(tables=_true_tables(store, synthetic_county),
                                  extract_date=end.date(), period_start=start.date(),
                                  period_end=end.date()).estimates["presented_share"]["any"][0]
    assert b["lower_bound"] <= true_share <= b["upper_bound"]
    assert abs(b["corrected_estimate"] - true_share) < abs(b["estimate"] - true_share)
    # The study leads with the share corrected by the (simulated) arrival review recorded by the demo.
    estimate, lower, upper = result.estimates["headline"]
    assert result.estimates["headline_method"] == "corrected by arrival review"
    assert lower <= true_share <= upper
    assert abs(estimate - true_share) < abs(result.estimates["presented_share"]["any"][0] - true_share)
    assert result.findings[0].startswith("Headline:") and f"{100 * estimate:.1f}%" in result.findings[0]


def _true_tables(store: Store, county) -> dict:

    ids = true_person_ids(county / "truth")
    tables = {s: store.table(s) for s in SOURCES if s in store.tables()}
    return relinked(tables, ids)


def test_the_store_keeps_alternative_linkages_and_every_study_reports_its_sensitivity(demo_store):
    """Issue 18 item 4: the ingest keeps each record's person id at the neighbouring thresholds and
    under the deterministic rules; a study re-run on each reports how far its headline moves."""
    from workbench.studies import entry_point

    store, _ = demo_store
    assert store.alternatives() == ["deterministic rules", "splink at 0.95", "splink at 0.999"]
    people = {alt: len(Store(store.data_dir, linkage=alt).table("persons")) for alt in store.alternatives()}
    people["splink at 0.99"] = len(store.table("persons"))
    # a lower threshold can only merge clusters; the records are the same under every linkage
    assert people["splink at 0.95"] <= people["splink at 0.99"] <= people["splink at 0.999"]
    records = store.query("select count(*) n from outreach_contacts")["n"][0]
    assert Store(store.data_dir, linkage="deterministic rules").query("select count(*) n from outreach_contacts")["n"][0] == records
    result = entry_point("new_arrivals")(store, linkage_sensitivity=True)
    table = result.tables["linkage_sensitivity_headlines"]
    assert set(table["linkage"]) == {"splink (chosen)", *store.alternatives()}
    values = table.set_index("linkage")["value"]
    assert values.nunique() > 1  # the linkages differ, so the range is not empty
    found = [f for f in result.findings if f.startswith("Linkage sensitivity: the share of new arrivals")]
    assert len(found) == 1 and f"{values.min():.1%} to {values.max():.1%}" in found[0]
