"""Nothing is dropped without a decision, exit codes a scheduler can trust, and an ingest that is
safe to run unattended (issue 16, items 2, 3 and 7).

Each refusal asserts the exit code, that the message names the source and file, and that the
previous store is byte-for-byte unchanged.
"""

from __future__ import annotations

import hashlib
import shutil
import threading
from pathlib import Path

import pandas as pd
import pytest
from factories import EXTRACT_DATE, valid_frame, write_csv
from typer.testing import CliRunner

import workbench.ingest.pipeline as pipeline
from workbench.cli import ExitCode, app
from workbench.ingest.pipeline import ingest_folder
from workbench.ingest.pseudonymise import write_new_key
from workbench.store import Store
from workbench.store.lock import data_dir_lock

runner = CliRunner()
MANIFEST = f"extract_date: {EXTRACT_DATE.isoformat()}\nsynthetic: true\n"
SOURCES = ("outreach_contacts", "deaths")


def _quarter(folder: Path, contracts, n: dict[str, int] | None = None, manifest: str = MANIFEST) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for i, name in enumerate(SOURCES):
        if (n or {}).get(name, 8) is not None:
            write_csv(valid_frame(contracts[name], (n or {}).get(name, 8), seed=i), folder / f"{name}.csv")
    (folder / "extract.yaml").write_text(manifest)
    return folder


@pytest.fixture(scope="module")
def first_store(tmp_path_factory, contracts):
    folder = _quarter(tmp_path_factory.mktemp("q1"), contracts)
    data = tmp_path_factory.mktemp("store")
    out = _ingest(folder, data)
    assert out.exit_code == ExitCode.OK, out.output
    return data


@pytest.fixture
def store(first_store, tmp_path):
    data = tmp_path / "data"
    shutil.copytree(first_store, data)
    return data


def _ingest(folder: Path, data: Path, *extra: str):
    return runner.invoke(app, ["ingest", str(folder), "--data-dir", str(data), "--linkage", "deterministic",
                               "--no-progress", *extra])


def _digest(data: Path) -> str:
    return hashlib.sha256((data / "workbench.duckdb").read_bytes()).hexdigest()


def _refused(folder: Path, data: Path, *fragments: str, code: int = ExitCode.REFUSED, extra: tuple = ()) -> str:
    before = _digest(data)
    out = _ingest(folder, data, *extra)
    assert out.exit_code == code, out.output
    assert "Traceback" not in out.output
    for fragment in fragments:
        assert fragment in " ".join(out.output.split()), (fragment, out.output)
    assert _digest(data) == before  # the previous store is unchanged
    return out.output


# ------------------------------------------------------------------------ nothing dropped

def test_a_refused_file_on_a_first_ingest_says_no_store_was_made(tmp_path, contracts):
    folder = _quarter(tmp_path / "q1", contracts)
    (folder / "deaths.csv").write_bytes((folder / "deaths.csv").read_bytes().replace(b"\n", "\u00e9\n".encode("cp1252"), 3))
    data = tmp_path / "data"
    out = _ingest(folder, data)
    assert out.exit_code == ExitCode.REFUSED, out.output
    text = " ".join(out.output.split())
    assert "Nothing was stored; no store was made." in text and "previous store" not in text
    assert "deaths.csv" in text and not (data / "workbench.duckdb").exists()


def test_a_missing_file_refuses_the_ingest_naming_the_source(tmp_path, store, contracts):
    folder = _quarter(tmp_path / "q2", contracts, {"deaths": None})
    _refused(folder, store, "Nothing was stored", "deaths: no file for this source", "(0 rows now against 8",
             "--carry-forward", "--allow-fewer")


@pytest.mark.parametrize("name", ["deaths register.csv", "deaths.xls", "Deaths-Q2.csv"])
def test_a_misnamed_file_refuses_the_ingest_naming_the_file(tmp_path, store, contracts, name):
    folder = _quarter(tmp_path / "q2", contracts, {"deaths": None})
    write_csv(valid_frame(contracts["deaths"], 8, seed=1), folder / name)
    _refused(folder, store, "deaths: no file for this source", f"files not matched to any source: {name}")


def test_a_file_left_out_of_the_manifest_refuses_the_ingest(tmp_path, store, contracts):
    manifest = MANIFEST + "files:\n  - path: outreach_contacts.csv\n    source: outreach_contacts\n"
    folder = _quarter(tmp_path / "q2", contracts, manifest=manifest)  # deaths.csv is there, but not listed
    _refused(folder, store, "deaths: no file for this source in the folder (or in extract.yaml's list of files)")


def test_a_header_only_file_refuses_the_ingest(tmp_path, store, contracts):
    folder = _quarter(tmp_path / "q2", contracts)
    write_csv(valid_frame(contracts["deaths"], 8).iloc[:0], folder / "deaths.csv")
    _refused(folder, store, "deaths", "deaths.csv")


def test_a_fully_quarantined_file_refuses_the_ingest(tmp_path, store, contracts):
    folder = _quarter(tmp_path / "q2", contracts)
    frame = valid_frame(contracts["deaths"], 8, seed=1)
    frame["date_of_death"] = "not a date"
    write_csv(frame, folder / "deaths.csv")
    _refused(folder, store, "deaths: every row of deaths.csv was quarantined")


def test_a_refused_encoding_refuses_the_ingest(tmp_path, store, contracts):
    folder = _quarter(tmp_path / "q2", contracts)
    (folder / "deaths.csv").write_bytes((folder / "deaths.csv").read_text().replace("Smith", "Sm\u00eftsh").encode("cp1252"))
    _refused(folder, store, "deaths.csv")


def test_every_file_header_only_on_a_first_ingest_stores_nothing(tmp_path, contracts):
    folder = _quarter(tmp_path / "q1", contracts)
    for name in SOURCES:
        write_csv(valid_frame(contracts[name], 3).iloc[:0], folder / f"{name}.csv")
    out = _ingest(folder, tmp_path / "data")
    assert out.exit_code == ExitCode.REFUSED, out.output
    assert not (tmp_path / "data" / "workbench.duckdb").exists()


def test_carry_forward_keeps_the_previous_records_and_flags_them(tmp_path, store, contracts):
    folder = _quarter(tmp_path / "q2", contracts, {"deaths": None, "outreach_contacts": 12})
    out = _ingest(folder, store, "--carry-forward", "deaths")
    assert out.exit_code == ExitCode.OK, out.output
    latest, first = Store(store), Store(store, as_of=Store(store).snapshots()["ingest_id"].iloc[0])
    assert latest.meta()["carried_forward"] == "deaths"
    pd.testing.assert_frame_equal(latest.table("deaths"), first.table("deaths"))
    assert len(latest.table("outreach_contacts")) == 12
    assert any("carried forward" in c and "deaths" in c for c in latest.caveats())
    assert not first.meta()["carried_forward"]


def test_allow_fewer_accepts_a_smaller_extract_and_keeps_the_earlier_snapshot(tmp_path, store, contracts):
    folder = _quarter(tmp_path / "q2", contracts, {"deaths": 5})
    out = _ingest(folder, store, "--allow-fewer", "deaths")
    assert out.exit_code == ExitCode.OK, out.output
    assert len(Store(store).table("deaths")) == 5
    first = Store(store).snapshots()["ingest_id"].iloc[0]
    assert len(Store(store, as_of=first).table("deaths")) == 8


def test_an_unknown_source_in_an_option_is_a_usage_error(tmp_path, store, contracts):
    folder = _quarter(tmp_path / "q2", contracts, {"deaths": None})
    _refused(folder, store, "--carry-forward death: there is no source called 'death'", code=ExitCode.USAGE,
             extra=("--carry-forward", "death"))


# ------------------------------------------------------------------------ exit codes

def test_exit_codes_are_documented_in_help():
    for command in (["--help"], ["ingest", "--help"], ["validate", "--help"]):
        out = runner.invoke(app, command)
        assert "Exit codes: 0 stored, nothing quarantined; 1 stored, some rows quarantined; 2 usage" in " ".join(
            out.output.split()), command


def test_exit_codes_of_ingest_and_validate(tmp_path, store, contracts, monkeypatch):
    clean = _quarter(tmp_path / "clean", contracts, {"outreach_contacts": 9})
    assert runner.invoke(app, ["validate", str(clean)]).exit_code == ExitCode.OK
    assert _ingest(clean, store).exit_code == ExitCode.OK
    quarantined = _quarter(tmp_path / "quarantined", contracts, {"outreach_contacts": 11})
    frame = valid_frame(contracts["outreach_contacts"], 11)
    frame.loc[3, "contact_date"] = "31/02/2021"
    write_csv(frame, quarantined / "outreach_contacts.csv")
    assert runner.invoke(app, ["validate", str(quarantined)]).exit_code == ExitCode.QUARANTINED
    assert _ingest(quarantined, store).exit_code == ExitCode.QUARANTINED
    refused = _quarter(tmp_path / "refused", contracts)
    (refused / "deaths.csv").write_bytes(b"")
    assert runner.invoke(app, ["validate", str(refused)]).exit_code == ExitCode.REFUSED
    assert _ingest(refused, store).exit_code == ExitCode.REFUSED
    assert runner.invoke(app, ["ingest", str(clean), "--no-such-option"]).exit_code == ExitCode.USAGE
    assert _ingest(tmp_path / "nowhere", store).exit_code == ExitCode.USAGE

    def broken(*args, **kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr(pipeline, "_link", broken)  # the linkage step, whichever method
    newer = _quarter(tmp_path / "newer", contracts, {"outreach_contacts": 13})
    out = _ingest(newer, store)
    assert out.exit_code == ExitCode.UNEXPECTED and "Unexpected error" in out.output and "Traceback" not in out.output


# ------------------------------------------------------------------------ safe to run unattended

def test_a_second_ingest_is_refused_while_one_runs_naming_it(tmp_path, store, contracts):
    folder = _quarter(tmp_path / "q2", contracts, {"outreach_contacts": 9})
    with data_dir_lock(store, "workbench ingest /srv/extracts/2026-Q2"):
        text = _refused(folder, store, "is in use by 'workbench ingest /srv/extracts/2026-Q2' (process",
                        "Nothing was changed", code=ExitCode.USAGE)
    assert "--wait" in text
    assert _ingest(folder, store).exit_code == ExitCode.OK  # released: the next one runs


def test_wait_lets_a_second_ingest_follow_the_first(tmp_path, store, contracts):
    folder = _quarter(tmp_path / "q2", contracts, {"outreach_contacts": 9})
    held, release = threading.Event(), threading.Event()

    def first():
        with data_dir_lock(store, "the first ingest"):
            held.set()
            release.wait(30)

    thread = threading.Thread(target=first)
    thread.start()
    held.wait(30)
    threading.Timer(1.0, release.set).start()
    out = _ingest(folder, store, "--wait", "60")
    thread.join()
    assert out.exit_code == ExitCode.OK, out.output
    assert len(Store(store).snapshots()) == 2  # both writers' work is kept: nothing was lost


def _keyed_store(tmp_path, contracts) -> tuple[Path, Path, Path]:
    folder = _quarter(tmp_path / "q1", contracts, manifest=f"extract_date: {EXTRACT_DATE.isoformat()}\n")
    old_key = write_new_key(tmp_path / "keys" / "old.key")
    data = tmp_path / "data"
    assert _ingest(folder, data, "--key-file", str(old_key)).exit_code == ExitCode.OK
    return folder, data, old_key


def test_a_different_key_is_refused_with_a_plain_message(tmp_path, contracts, monkeypatch):
    monkeypatch.delenv("WORKBENCH_PSEUDONYMISATION_KEY", raising=False)
    folder, data, _ = _keyed_store(tmp_path, contracts)
    other = write_new_key(tmp_path / "keys" / "other.key")
    write_csv(valid_frame(contracts["deaths"], 9, seed=1), folder / "deaths.csv")
    _refused(folder, data, "is not the key the store", "no person would keep their pseudonym", "workbench rekey",
             code=ExitCode.USAGE, extra=("--key-file", str(other)))


def test_rekey_needs_both_keys_and_keeps_every_person_together(tmp_path, contracts, monkeypatch):
    monkeypatch.delenv("WORKBENCH_PSEUDONYMISATION_KEY", raising=False)
    folder, data, old_key = _keyed_store(tmp_path, contracts)
    new_key = write_new_key(tmp_path / "keys" / "new.key")
    before = Store(data).table("outreach_contacts")[["contact_id", "person_id"]]
    wrong = runner.invoke(app, ["rekey", "--old-key-file", str(new_key), "--new-key-file", str(new_key),
                                "--data-dir", str(data)])
    assert wrong.exit_code == ExitCode.USAGE and "same key" in wrong.output
    stranger = write_new_key(tmp_path / "keys" / "stranger.key")
    wrong = runner.invoke(app, ["rekey", "--old-key-file", str(stranger), "--new-key-file", str(new_key),
                                "--data-dir", str(data)])
    assert wrong.exit_code == ExitCode.USAGE and "is not the key this store was built with" in wrong.output
    out = runner.invoke(app, ["rekey", "--old-key-file", str(old_key), "--new-key-file", str(new_key),
                              "--data-dir", str(data)])
    assert out.exit_code == 0, out.output
    after = Store(data).table("outreach_contacts")[["contact_id", "person_id"]]
    assert not set(after.person_id) & set(before.person_id)  # every pseudonym changed
    pairs = before.merge(after, on="contact_id", suffixes=("_old", "_new"))
    assert pairs.groupby("person_id_old")["person_id_new"].nunique().eq(1).all()  # same people, new names
    assert pairs.groupby("person_id_new")["person_id_old"].nunique().eq(1).all()
    # the next quarter ingests with the new key, and people keep their (new) pseudonyms
    write_csv(valid_frame(contracts["deaths"], 9, seed=1), folder / "deaths.csv")
    assert _ingest(folder, data, "--key-file", str(new_key)).exit_code == ExitCode.OK
    again = Store(data).table("outreach_contacts")[["contact_id", "person_id"]]
    pd.testing.assert_frame_equal(again, after)


def test_reports_are_written_before_the_store_is_swapped(tmp_path, store, contracts, monkeypatch):
    folder = _quarter(tmp_path / "q2", contracts, {"outreach_contacts": 9})
    before = _digest(store)

    def full_disk(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(pipeline, "_write_reports", full_disk)
    with pytest.raises(OSError):
        ingest_folder(folder, store, linkage="deterministic", progress=False)
    assert _digest(store) == before  # the previous store stays in place: a retry is a fresh ingest
    monkeypatch.undo()
    assert not ingest_folder(folder, store, linkage="deterministic", progress=False).already_ingested


def test_leftovers_of_a_killed_ingest_are_cleaned_up(tmp_path, store, contracts):
    for name in (".workbench.duckdb.0badc0de.tmp", ".workbench.duckdb.0badc0de.tmp.wal", ".aggregates-x1.tmp"):
        (store / name).write_bytes(b"half a store")
    folder = _quarter(tmp_path / "q2", contracts, {"outreach_contacts": 9})
    assert _ingest(folder, store).exit_code == ExitCode.OK
    assert not [p.name for p in store.iterdir() if ".tmp" in p.name]


def test_the_store_and_everything_ingest_writes_stay_owner_only(store):
    for path in [store, *store.rglob("*")]:
        mode = path.stat().st_mode & 0o777
        assert mode & 0o077 == 0, (path, oct(mode))
