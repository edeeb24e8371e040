"""``workbench linkage-review`` end to end on the synthetic county ingested with splink: draw the
sample from the extracts folder and the key (the linkage re-run gives exactly the store's people),
decisions from the simulated reviewer, ``--estimate`` records precision and recall with the ingest."""

from __future__ import annotations

import stat

import pytest
from typer.testing import CliRunner

from workbench.cli import app
from workbench.ingest.linkage_review import (
    DECISIONS_FILE,
    DESIGN_FILE,
    review_dir,
    reviewed_pairs,
    sample_path,
)
from workbench.linkage.review_files import write_decisions
from workbench.store import Store
from workbench.synthetic.evaluation import simulated_review, true_record_persons

pytestmark = pytest.mark.slow
runner = CliRunner()


@pytest.fixture(scope="module")
def splink_store(synthetic_county, tmp_path_factory):
    from workbench.ingest.pipeline import ingest_folder

    data_dir = tmp_path_factory.mktemp("review-store")
    ingest_folder(synthetic_county / "extracts", data_dir, linkage="splink", progress=False)
    return data_dir


def test_linkage_review_draws_reviews_and_records(splink_store, synthetic_county):
    from workbench.linkage.review_design import review_population
    from workbench.synthetic.evaluation import link_county, review_truth

    extracts = synthetic_county / "extracts"
    out = runner.invoke(app, ["linkage-review", "--estimate", "--data-dir", str(splink_store)])
    assert out.exit_code == 2 and "draw one first" in out.output

    out = runner.invoke(app, ["linkage-review", str(extracts), "--data-dir", str(splink_store)])
    assert out.exit_code == 0, out.output
    store = Store(splink_store)
    folder = review_dir(splink_store, store.ingest_id)
    sample_file = sample_path(folder)
    assert sample_file.name == "CLERICAL_REVIEW_SYNTHETIC_sample.csv"
    assert stat.S_IMODE(sample_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert (folder / DESIGN_FILE).exists()
    sample, _, design = reviewed_pairs(folder)
    assert len(sample) == 400 and {"first_name_1", "first_name_2", "level_date_of_birth"} <= set(sample.columns)

    decisions = simulated_review(sample, true_record_persons(synthetic_county / "truth"), error_rate=0.02, seed=3)
    write_decisions(folder / DECISIONS_FILE, decisions)
    out = runner.invoke(app, ["linkage-review", "--estimate", "--data-dir", str(splink_store)])
    assert out.exit_code == 0, out.output
    assert "critical links" in out.output and "the model's own probabilities say" in out.output
    meta = Store(splink_store).meta()
    assert meta["linkage_review_pairs"] == "400"

    frame, truth, result = link_county(synthetic_county)  # the same extracts and linkage (the draw checked the people match)
    true = review_truth(review_population(result, frame), truth)
    for name in ("precision", "recall", "critical_precision", "critical_recall"):
        est, lo, hi = (float(meta[f"linkage_review_{name}{s}"]) for s in ("", "_lower", "_upper"))
        assert lo <= true[name] <= hi, (name, lo, est, hi, true[name])
        assert 0 < float(meta[f"linkage_model_{name}"]) <= 1

    # A second draw would orphan the decisions: refused unless asked.
    out = runner.invoke(app, ["linkage-review", str(extracts), "--data-dir", str(splink_store)])
    assert out.exit_code == 2 and "--redraw" in out.output


def test_linkage_review_refuses_another_key_or_other_extracts(splink_store, synthetic_county, tmp_path):
    from workbench.ingest.pseudonymise import write_new_key

    other = write_new_key(tmp_path / "other.key")
    out = runner.invoke(app, ["linkage-review", str(synthetic_county / "extracts"), "--data-dir", str(splink_store),
                              "--key-file", str(other)])
    assert out.exit_code == 2 and "not the store's key" in out.output
