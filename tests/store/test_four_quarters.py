"""The quarterly routine: four consecutive quarters ingested into one store (issue 16, items 1 and 9).

The synthetic county is cut back to four extract dates, with a share of each quarter's ends
recorded late (``workbench.synthetic.quarters``). After all four are ingested, the first
quarter's study results are reproduced exactly with ``as_of``, and ``workbench changes`` reports
exactly the records added and revised between quarters, as the accepted rows of the extract
files themselves say.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from typer.testing import CliRunner

from workbench.cli import app
from workbench.ingest.pipeline import ingest_folder
from workbench.ingest.validate import validate_file
from workbench.reporting.changes import compare_snapshots
from workbench.store import Store
from workbench.studies import entry_point
from workbench.synthetic.evaluation import TruthLinker
from workbench.synthetic.quarters import quarterly_extracts

DATES = [dt.date(2025, 12, 31), dt.date(2026, 3, 31), dt.date(2026, 6, 30), dt.date(2026, 9, 30)]
runner = CliRunner()


@pytest.fixture(scope="module")
def quarters(synthetic_county, tmp_path_factory):
    folders = quarterly_extracts(synthetic_county / "extracts", tmp_path_factory.mktemp("quarters"), DATES,
                                 late_share=0.2, seed=5)
    data_dir = tmp_path_factory.mktemp("store")
    linker = TruthLinker(synthetic_county / "truth")
    first = ingest_folder(folders[0], data_dir, linkage=linker, progress=False)
    returns_then = entry_point("returns")(Store(data_dir))
    ids = [first.ingest_id]
    for folder in folders[1:]:
        ids.append(ingest_folder(folder, data_dir, linkage=linker, progress=False).ingest_id)
    return folders, data_dir, ids, returns_then


def test_every_quarter_is_a_snapshot_and_the_latest_is_the_default(quarters):
    _, data_dir, ids, _ = quarters
    store = Store(data_dir)
    assert store.ingest_id == ids[-1] and store.snapshot.latest
    assert list(store.snapshots()["ingest_id"]) == ids
    assert [Store(data_dir, as_of=d.isoformat()).ingest_id for d in DATES] == ids
    assert Store(data_dir, as_of="2026-05-15").ingest_id == ids[1]  # the latest extracts dated on or before it


def test_first_quarter_study_results_are_reproduced_exactly(quarters):
    _, data_dir, ids, then = quarters
    again = entry_point("returns")(Store(data_dir, as_of=ids[0]))
    assert again.estimates == then.estimates
    assert set(again.tables) == set(then.tables)
    for name, table in then.tables.items():
        pd.testing.assert_frame_equal(again.tables[name], table, check_exact=True, obj=name)
    earlier = Store(data_dir, as_of=ids[0])
    assert again.findings[0] == earlier.caveats()[0] and "earlier snapshot" in again.findings[0]
    assert again.findings[1:] == then.findings  # the same findings, said to come from an earlier snapshot
    latest = entry_point("returns")(Store(data_dir))
    assert latest.estimates != then.estimates  # a year of new data changes them: the test can fail


def _accepted(folder, contracts) -> dict[str, pd.DataFrame]:
    """Each source's accepted rows as the extract files hold them, indexed by record id."""
    out: dict[str, list[pd.DataFrame]] = {}
    for path in sorted(folder.glob("*.csv")):
        contract = next(c for c in contracts if path.stem == c.name or path.stem.startswith(c.name + "_"))
        result = validate_file(path, contract, dt.date.fromisoformat(folder.name))
        frame = result.accepted.drop(columns=["_row_number"]).set_index(contract.record_id)
        out.setdefault(contract.name, []).append(frame.astype(str))
    return {s: pd.concat(parts) for s, parts in out.items()}


def duplicated_ids(folder, source) -> set[str]:
    ids = pd.concat([pd.read_csv(p, dtype=str, keep_default_na=False).iloc[:, 0]
                     for p in folder.glob(f"{source}*.csv")])
    return set(ids[ids.duplicated()])


def test_changes_report_the_planted_revisions_exactly(quarters, contracts):
    folders, data_dir, ids, _ = quarters
    late = pd.read_csv(folders[0].parent / "late_recorded.csv", dtype=str)
    assert len(late) > 100  # the planting happened
    for k in range(3):
        report = compare_snapshots(data_dir, before=ids[k], after=ids[k + 1], studies=())
        got = report.records.groupby("source")[["added", "revised", "vanished", "relinked"]].sum()
        before, after = _accepted(folders[k], contracts), _accepted(folders[k + 1], contracts)
        for source, now in after.items():
            then = before.get(source, now.iloc[:0])
            common = now.index.intersection(then.index)
            revised = (now.loc[common] != then.loc[common, now.columns]).any(axis=1)
            assert got.loc[source, "added"] == len(now.index.difference(then.index)), (k, source)
            assert got.loc[source, "revised"] == int(revised.sum()), (k, source)
            assert got.loc[source, "vanished"] == len(then.index.difference(now.index)), (k, source)
            planted = late[(late.extract_date == DATES[k].isoformat()) & (late.source == source)]
            # a planted end on the quarantined second copy of a duplicated record id cannot show
            planted = planted[planted.record_id.isin(common) & ~planted.record_id.isin(duplicated_ids(folders[k], source))]
            if source in set(late.source):
                assert len(planted) and revised.loc[planted.record_id].all(), (k, source)  # every late end is a revision
        # With the true linkage a person keeps their id unless their earliest record leaves the
        # accepted rows (a row valid with its end blank, quarantined once the end is known).
        assert got["relinked"].sum() <= 0.001 * sum(len(f) for f in after.values())


def test_changes_command_splits_headline_changes_into_revisions_and_new_period(quarters, tmp_path):
    _, data_dir, ids, then = quarters
    out = runner.invoke(app, ["changes", "--data-dir", str(data_dir), "--before", ids[0], "--after", ids[1],
                              "--study", "returns", "--out", str(tmp_path / "changes")])
    assert out.exit_code == 0, out.output
    assert out.output.startswith("# What changed: ingest " + ids[0])
    assert "records added" in out.output and "from revisions to the earlier period" in out.output
    headlines = pd.read_csv(tmp_path / "changes" / "headlines.csv")
    assert len(headlines) > 0
    # "then" is the first quarter's study as it was reported, and the split adds up
    first = headlines.set_index("figure")["then"]
    from workbench.reporting.changes import headline_figures

    for figure, value in headline_figures(then.estimates).items():
        assert first[figure] == pytest.approx(value, rel=1e-12)
    split = headlines["from_revisions"] + headlines["from_new_period"]
    assert (split - headlines["change"]).abs().max() < 1e-12
    assert (headlines["from_revisions"].abs() > 0).any()  # late-recorded ends revise the earlier period
    for name in ("records.csv", "fields.csv", "changes.xlsx", "changes.md"):
        assert (tmp_path / "changes" / name).exists()
