"""Ingest a folder of extracts: validate, quarantine, link people, pseudonymise, store.

``ingest_folder`` takes the folder a quarter's extracts arrive in (one file per source, and for
statutory cases one per district), and builds a new store from it:

1. match each file to its contract (from ``extract.yaml`` if present, else by file name);
2. skip everything if this exact set of files (by content hash) is what the store already holds;
3. validate every file; failing rows go to a quarantine file with their reasons;
4. link records of the same person (``workbench.linkage``: a method name, or a linker object from
   the caller) while identifiers are present;
5. replace identifiers by the keyed pseudonymous ``person_id`` and derived ages, then drop them;
6. write the new store beside the old one and swap it in atomically, with the provenance of the
   ingest (file names, sizes, hashes, contract versions, row counts, time).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import os
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pandas as pd
import yaml
from tqdm.auto import tqdm

from workbench.contracts.model import Contract, ContractSet, load_contracts
from workbench.ingest.across_files import refuse_across_files
from workbench.ingest.pseudonymise import PseudonymKey, demo_key, load_key
from workbench.ingest.quarantine_log import quarantine_log as problem_log
from workbench.ingest.quarantine_log import without_values
from workbench.ingest.readers import SUPPORTED_SUFFIXES
from workbench.ingest.validate import ValidationResult, validate_file
from workbench.linkage.persons import LINKAGE_COLUMNS, Linker, link_people, linkage_name, person_ids
from workbench.spreadsheets import write_csv
from workbench.store import STORE_FILE, default_data_dir, owner_only

log = logging.getLogger("workbench.ingest")
MANIFEST = "extract.yaml"


class IngestError(Exception):
    """The ingest cannot go ahead; the message says why in plain words."""


@dataclass
class IngestReport:
    ingest_id: str
    data_dir: Path
    extract_date: dt.date
    results: list[ValidationResult] = field(default_factory=list)
    unmatched_files: list[str] = field(default_factory=list)
    already_ingested: bool = False
    persons: int = 0
    seconds: float = 0.0
    report_dir: Path | None = None

    @property
    def rows_read(self) -> int:
        return sum(r.rows_read for r in self.results)

    @property
    def rows_accepted(self) -> int:
        return sum(r.rows_accepted for r in self.results)

    @property
    def rows_quarantined(self) -> int:
        return sum(r.rows_quarantined for r in self.results)

    @property
    def refused(self) -> list[ValidationResult]:
        return [r for r in self.results if r.refused]

    def summary(self) -> str:
        if self.already_ingested:
            return "These extracts are already in the store (same files, same contents): nothing was added."
        lines = [f"Ingest {self.ingest_id} of extracts dated {self.extract_date.isoformat()}:"]
        lines += ["  " + r.counts_line() for r in self.results]
        lines += [f"  {name}: not matched to any data contract; not read." for name in self.unmatched_files]
        lines.append(
            f"  Total: rows read {self.rows_read:,} = accepted {self.rows_accepted:,} "
            f"+ quarantined {self.rows_quarantined:,}; {len(self.refused)} file(s) refused."
        )
        lines.append(f"  {self.persons:,} people after linkage. Store: {self.data_dir / STORE_FILE}")
        if self.report_dir:
            lines.append(f"  Validation report and quarantine files: {self.report_dir}")
        return "\n".join(lines)


def read_manifest(folder: Path) -> dict:
    """The folder's ``extract.yaml``, checked: each mistake names the file, the key and the value."""
    path = folder / MANIFEST
    if not path.exists():
        return {}
    if path.is_symlink():
        raise IngestError(f"{path} is a symbolic link; it was not read. Put the manifest itself in the folder.")
    text = path.read_text(encoding="utf-8")
    try:
        manifest = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        raise IngestError(f"{path.name} is not valid YAML: {exc}") from None
    except ValueError as exc:
        # YAML itself fails on an impossible date ("month must be in 1..12", naming no key): read
        # every value as text to name the key and the value.
        as_text = yaml.load(text, Loader=yaml.BaseLoader) or {}
        check_manifest(path, {"extract_date": as_text["extract_date"]} if isinstance(as_text, dict) and "extract_date" in as_text else {})
        raise IngestError(f"{path}: a value is not a possible date ({exc}); write dates as YYYY-MM-DD.") from None
    if not isinstance(manifest, dict):
        raise IngestError(f"{path.name} should be a set of 'key: value' lines.")
    check_manifest(path, manifest)
    return manifest


def check_manifest(path: Path, manifest: dict) -> None:
    """Refuse a manifest whose keys hold values the ingest cannot use, naming file, key and value."""
    if "extract_date" in manifest:
        try:
            dt.date.fromisoformat(str(manifest["extract_date"]))
        except ValueError:
            raise IngestError(f"{path}: extract_date is {manifest['extract_date']!r}, which is not a date; "
                              "write it as YYYY-MM-DD.") from None
    if not isinstance(manifest.get("synthetic", False), bool):
        raise IngestError(f"{path}: synthetic is {manifest['synthetic']!r}; write true or false.")
    files = manifest.get("files")
    if files is None:
        return
    if not isinstance(files, list):
        raise IngestError(f"{path}: files should be a list of entries with 'path:' and 'source:', not {files!r}.")
    for n, entry in enumerate(files, start=1):
        if not isinstance(entry, dict):
            raise IngestError(f"{path}: files entry {n} is {entry!r}; each entry needs 'path:' and 'source:'.")
        for key in ("path", "source"):
            if not isinstance(entry.get(key), str) or not entry[key].strip():
                raise IngestError(f"{path}: files entry {n} has {key} {entry.get(key)!r}; each entry needs "
                                  f"'{key}:' with a {'file name' if key == 'path' else 'source name'}.")


def _inside(folder: Path, path: Path, named_by: str) -> Path:
    """``path`` if it is a plain file in the quarter's folder; symlinks and paths outside are refused unread."""
    if path.is_symlink():
        raise IngestError(f"{named_by}: {path.name} is a symbolic link; it was not read. Copy the file itself "
                          f"into {folder}.")
    if not path.resolve().is_relative_to(folder.resolve()):
        raise IngestError(f"{named_by}: the path points outside the quarter's folder {folder}; it was not read.")
    return path


def match_files(folder: Path, contracts: ContractSet, manifest: dict) -> tuple[list[tuple[Path, Contract]], list[str]]:
    """Pair each extract file with its contract: by the manifest, or by the file name's start."""
    matched, unmatched = [], []
    if manifest.get("files"):
        for n, entry in enumerate(manifest["files"], start=1):
            path = _inside(folder, folder / entry["path"], f"{folder / MANIFEST}: files entry {n}, path {entry['path']!r}")
            if entry.get("source") not in contracts.contracts:
                unmatched.append(entry["path"])
            else:
                matched.append((path, contracts[entry["source"]]))
        return matched, unmatched
    names = sorted(contracts.contracts, key=len, reverse=True)  # longest first: no prefix clashes
    for path in sorted(folder.iterdir()):
        if path.name == MANIFEST or path.name.startswith(".") or path.is_dir():
            continue
        stem = path.stem.lower()
        source = next((n for n in names if stem == n or stem.startswith(n + "_")), None)
        if source is None or path.suffix.lower() not in SUPPORTED_SUFFIXES:
            unmatched.append(path.name)  # never read, so a link here does no harm
        else:
            matched.append((_inside(folder, path, str(folder)), contracts[source]))
    return matched, unmatched


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _column_or_na(frame: pd.DataFrame, name: str | None) -> pd.Series:
    if name and name in frame.columns:
        return frame[name]
    return pd.Series(pd.NA, index=frame.index, dtype="object")


# Which field of each source plays each identifier role in linkage.
_NAME_ROLES = {"first": ("first_name", "given_name"), "last": ("last_name", "family_name")}


def _scoped(source: str, values: pd.Series) -> pd.Series:
    text = values.astype("string").str.strip()
    return (source + ":" + text).where(text.notna() & (text != ""))


def _role(contract: Contract, candidates: tuple[str, ...]) -> str | None:
    return next((c for c in candidates if c in contract.field_names), None)


def linkage_frame(accepted: list[tuple[Contract, pd.DataFrame]]) -> pd.DataFrame:
    """One row per accepted record with the identifiers linkage needs."""
    parts = []
    for contract, frame in accepted:
        parts.append(pd.DataFrame({
            "source": contract.name,
            "record_id": frame[contract.record_id].astype(str).to_numpy(),
            "first_name": _column_or_na(frame, _role(contract, _NAME_ROLES["first"])).to_numpy(),
            "last_name": _column_or_na(frame, _role(contract, _NAME_ROLES["last"])).to_numpy(),
            "date_of_birth": pd.to_datetime(_column_or_na(frame, "date_of_birth")).to_numpy(),
            "ni_number": _column_or_na(frame, "ni_number").to_numpy(),
            "approximate_age": pd.to_numeric(_column_or_na(frame, "approximate_age")).to_numpy(),
            "gender": _column_or_na(frame, "gender").to_numpy(),
            "district": _column_or_na(frame, "district").to_numpy(),
            "event_date": pd.to_datetime(frame[contract.event_date]).to_numpy(),
            # A source system's own client reference, scoped to the source (another system's
            # numbers mean nothing here).
            "client_ref": _scoped(contract.name, _column_or_na(frame, "client_ref")).to_numpy(),
        }))
    if not parts:
        return pd.DataFrame(columns=LINKAGE_COLUMNS)
    return pd.concat(parts, ignore_index=True)


def extracts_linkage_frame(extracts_dir: str | Path, extract_date: dt.date | None = None) -> pd.DataFrame:
    """The linkage frame of a folder of extracts as the ingest builds it (validated rows only),
    without building a store: for measuring a linkage on the same records."""
    folder = Path(extracts_dir)
    manifest = read_manifest(folder)
    if extract_date is None and "extract_date" in manifest:
        extract_date = dt.date.fromisoformat(str(manifest["extract_date"]))
    matched, _ = match_files(folder, load_contracts(), manifest)
    accepted = []
    for path, contract in matched:
        result = validate_file(path, contract, extract_date)
        if not result.refused and result.rows_accepted:
            accepted.append((contract, result.accepted))
    return linkage_frame(accepted)


def _age_at(dob: pd.Series, on: pd.Series) -> pd.Series:
    dob, on = pd.to_datetime(dob), pd.to_datetime(on)
    years = on.dt.year - dob.dt.year
    before_birthday = (on.dt.month < dob.dt.month) | ((on.dt.month == dob.dt.month) & (on.dt.day < dob.dt.day))
    return (years - before_birthday.astype(int)).astype("Int64").where(dob.notna() & on.notna())


def pseudonymised_table(contract: Contract, frame: pd.DataFrame, persons: pd.Series, file: str) -> pd.DataFrame:
    """The stored form of a source: identifiers replaced by person_id and age at the event."""
    out = frame.drop(columns=contract.identifier_fields + ["_row_number"]).copy()
    age = _age_at(_column_or_na(frame, "date_of_birth"), frame[contract.event_date])
    for recorded_age in ("approximate_age", "age"):  # sources that record an age instead of a birth date
        if recorded_age in frame.columns:
            age = age.fillna(frame[recorded_age].astype("Int64"))
    out.insert(0, "person_id", persons.to_numpy())
    out.insert(1, f"age_at_{contract.event_date}", age.to_numpy())
    out["source_file"] = file
    out["source_row"] = frame["_row_number"].to_numpy()
    for c in out.columns:  # DuckDB stores pandas' nullable string/boolean types as plain columns
        if isinstance(out[c].dtype, pd.StringDtype):
            out[c] = out[c].astype(object).where(out[c].notna(), None)
    return out


#: Tables written to the store between ingests (the framework form) and carried into every new store.
CARRIED_TABLES = ("current_residents",)


def _previous_provenance(store_path: Path) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, pd.DataFrame]]:
    """The previous store's provenance, quarantine log and carried tables (nothing is lost)."""
    if not store_path.exists():
        return pd.DataFrame(), pd.DataFrame(), {}
    with duckdb.connect(str(store_path), read_only=True) as con:
        have = {r[0] for r in con.execute("select table_name from information_schema.tables").fetchall()}
        carried = {t: con.execute(f'select * from "{t}"').df() for t in CARRIED_TABLES if t in have}
        return con.execute("select * from ingests").df(), con.execute("select * from quarantine_log").df(), carried


def _write_reports(report_dir: Path, report: IngestReport) -> None:
    report_dir.mkdir(parents=True, exist_ok=True)
    issues = pd.concat([r.issues for r in report.results if len(r.issues)], ignore_index=True) if any(
        len(r.issues) for r in report.results) else pd.DataFrame(columns=["file", "row_number", "column", "rule", "message", "value"])
    write_csv(issues, report_dir / "issues.csv", index=False)
    for r in report.results:
        if r.rows_quarantined:
            write_csv(r.quarantined, report_dir / f"{Path(r.file).stem}.quarantine.csv", index=False)
    (report_dir / "validation_report.md").write_text(render_report(report), encoding="utf-8")


def render_report(report: IngestReport, max_problems_per_file: int = 200) -> str:
    """The validation report in plain words, as Markdown."""
    out = [f"# Validation report: ingest {report.ingest_id}", "",
           f"Extracts dated {report.extract_date.isoformat()}.", "",
           "| file | source | rows read | accepted | quarantined | status |", "|---|---|---|---|---|---|"]
    for r in report.results:
        status = "refused" if r.refused else ("all accepted" if not r.rows_quarantined else "some rows quarantined")
        out.append(f"| {r.file} | {r.source} | {r.rows_read:,} | {r.rows_accepted:,} | {r.rows_quarantined:,} | {status} |")
    for name in report.unmatched_files:
        out.append(f"| {name} | (none) | - | - | - | not matched to any contract: not read |")
    out += ["", f"Totals: {report.rows_read:,} rows read = {report.rows_accepted:,} accepted + "
            f"{report.rows_quarantined:,} quarantined.", ""]
    for r in report.results:
        out.append(f"## {r.file}")
        if r.refused:
            out += ["", f"**Refused whole:** {r.refusal_reason}", ""]
            continue
        out += [""] + [f"- Note: {n}" for n in r.notes]
        if not len(r.issues):
            out += ["", "No problems found.", ""]
            continue
        by_rule = r.issues.groupby(["column", "rule"]).size().reset_index(name="n")
        out += ["", "Problems by column and rule:", "", "| column | rule | rows |", "|---|---|---|"]
        out += [f"| {c} | {ru} | {n:,} |" for c, ru, n in by_rule.itertuples(index=False)]
        out += ["", "Each problem (row numbers as they stand in the file):", ""]
        for p in r.issues.head(max_problems_per_file).itertuples(index=False):
            out.append(f"- Row {p.row_number}, column {p.column}: {p.message} (rule: {p.rule})")
        if len(r.issues) > max_problems_per_file:
            out.append(f"- ... and {len(r.issues) - max_problems_per_file:,} more: see issues.csv.")
        out.append("")
    return "\n".join(out)


@owner_only()
def ingest_folder(
    folder: str | Path,
    data_dir: str | Path | None = None,
    *,
    key: PseudonymKey | None = None,
    key_file: str | Path | None = None,
    linkage: str | Linker = "splink",
    linkage_profile: str | None = None,
    extract_date: dt.date | None = None,
    contracts: ContractSet | None = None,
    encoding: str = "utf-8",
    progress: bool = True,
) -> IngestReport:
    """Validate and ingest every extract in ``folder`` into a new store in ``data_dir``.

    ``linkage`` is a method name (``splink``, ``deterministic``) or a linker object with ``name`` and
    ``link(frame) -> labels`` (say the synthetic county's truth); its name goes in the provenance.
    """
    started = time.perf_counter()
    folder = Path(folder)
    if not folder.is_dir():
        raise IngestError(f"{folder} is not a folder of extracts.")
    data_dir = Path(data_dir) if data_dir is not None else default_data_dir()
    if data_dir.is_dir():
        data_dir.chmod(0o700)  # a data folder made before (or by hand) becomes owner-only too
    contracts = contracts or load_contracts()
    manifest = read_manifest(folder)
    synthetic = bool(manifest.get("synthetic", False))
    if extract_date is None:
        if "extract_date" not in manifest:
            raise IngestError(
                f"No extract date: give --extract-date YYYY-MM-DD, or put 'extract_date: YYYY-MM-DD' in {folder / MANIFEST}."
            )
        extract_date = dt.date.fromisoformat(str(manifest["extract_date"]))
    if key is None:
        key = demo_key(data_dir) if synthetic and not key_file and not os.environ.get("WORKBENCH_PSEUDONYMISATION_KEY") else load_key(key_file)
    if key.is_demo and not synthetic:
        raise IngestError("The demo key can only be used for the synthetic county; these extracts are not marked synthetic.")
    method = linkage_name(linkage)
    if linkage == "splink" and linkage_profile is not None:
        from workbench.linkage.settings import load_settings

        load_settings(profile=linkage_profile)  # an unknown profile is refused before any work

    matched, unmatched = match_files(folder, contracts, manifest)
    missing = [p.name for p, _ in matched if not p.exists()]
    if missing:
        raise IngestError(f"The manifest lists file(s) that are not in {folder}: {', '.join(missing)}.")
    if not matched:
        raise IngestError(f"No extract in {folder} matches a data contract (file names should start with the source name, e.g. outreach_contacts.csv).")

    ingest_id = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ") + "-" + uuid.uuid4().hex[:6]
    report = IngestReport(ingest_id=ingest_id, data_dir=data_dir, extract_date=extract_date, unmatched_files=unmatched)
    store_path = data_dir / STORE_FILE
    hashes = {p.name: sha256_of(p) for p, _ in tqdm(matched, desc="Hashing files", disable=not progress)}
    old_ingests, old_quarantine, carried = _previous_provenance(store_path)
    if len(old_ingests):
        last = old_ingests[old_ingests["ingest_id"] == old_ingests.sort_values("ingested_at")["ingest_id"].iloc[-1]]
        # Same files, key and linkage: nothing to do. A different linkage (say splink after truth) rebuilds.
        same_linkage = (last["linkage"].iloc[0] == method
                        and str(last.get("linkage_profile", pd.Series([""])).fillna("").iloc[0]) == (linkage_profile or ""))
        if (sorted(last["sha256"]) == sorted(hashes.values()) and last["key_fingerprint"].iloc[0] == key.fingerprint
                and same_linkage):
            report.already_ingested = True
            report.seconds = time.perf_counter() - started
            return report

    accepted: list[tuple[Contract, pd.DataFrame, str]] = []
    for path, contract in tqdm(matched, desc="Validating", disable=not progress):
        result = validate_file(path, contract, extract_date, encoding=encoding)
        report.results.append(result)
        log.info("validated %s", result.counts_line())
        if not result.refused and result.rows_accepted:
            accepted.append((contract, result.accepted, path.name))
    # Several files of one source only when expected or declared, and never a record id twice.
    report.results = refuse_across_files(report.results, contracts, declared=bool(manifest.get("files")))
    if report.refused:
        # A refused file would silently drop its source from the new store: store nothing instead.
        raise IngestError("Nothing was stored; the previous store is unchanged. These file(s) were refused:\n"
                          + "\n".join(f"  {r.file}: {r.refusal_reason}" for r in report.refused))

    frame = linkage_frame([(c, f) for c, f, _ in accepted])
    if progress:
        print(f"Linking {len(frame):,} records ({method})...", flush=True)
    labels = link_people(frame, linkage, profile=linkage_profile)
    pids = person_ids(frame, labels, key)
    report.persons = int(pids.nunique())

    tables: dict[str, list[pd.DataFrame]] = {}
    offset = 0
    for contract, f, file in accepted:
        part = pids.iloc[offset : offset + len(f)]
        offset += len(f)
        tables.setdefault(contract.name, []).append(pseudonymised_table(contract, f, part, file))
    # The linkage frame held the identifiers: drop it before anything is written.
    del frame

    sizes = {p.name: p.stat().st_size for p, _ in matched}
    provenance = pd.DataFrame([
        dict(ingest_id=ingest_id, ingested_at=dt.datetime.now(dt.UTC).replace(tzinfo=None),
             extract_date=pd.Timestamp(extract_date), file=r.file, source=r.source,
             contract_version=r.contract_version, size_bytes=sizes[r.file], sha256=hashes[r.file], rows_read=r.rows_read, rows_accepted=r.rows_accepted,
             rows_quarantined=r.rows_quarantined, refused=r.refused, linkage=method,
             linkage_profile=linkage_profile or "",
             key_fingerprint=key.fingerprint, synthetic=synthetic)
        for r in report.results
    ])
    # Where rows failed, never what they held (one row per problem); an earlier store's log loses its messages.
    quarantine_log, old_quarantine = problem_log(report.results, ingest_id), without_values(old_quarantine)

    for name, old in carried.items():
        # Rows entered between ingests are kept; a row sent again in an extract replaces its old copy.
        new = pd.concat(tables.get(name, []), ignore_index=True) if tables.get(name) else old.iloc[:0]
        keep = old[~old[contracts[name].record_id].isin(new[contracts[name].record_id])] if len(new) else old
        tables[name] = [keep, new] if len(new) else [keep]
    _write_store(store_path, tables, contracts, pids, provenance, old_ingests, quarantine_log, old_quarantine,
                 meta=dict(extract_date=extract_date.isoformat(), synthetic=str(synthetic).lower(), linkage=method,
                           linkage_profile=linkage_profile or "", key_fingerprint=key.fingerprint, key_origin=key.origin, ingest_id=ingest_id))
    report.report_dir = data_dir / "reports" / ingest_id
    _write_reports(report.report_dir, report)
    report.seconds = time.perf_counter() - started
    return report


def _write_store(store_path, tables, contracts, pids, provenance, old_ingests, quarantine_log, old_quarantine, meta) -> None:
    """Write a complete new store to a temporary file, then swap it in atomically."""
    store_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = store_path.with_name(f".{store_path.name}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        con = duckdb.connect(str(tmp))
        try:
            def put(name: str, frame: pd.DataFrame) -> None:
                # Explicit registration: no reliance on DuckDB finding Python variables by name.
                con.register("incoming", frame)
                con.execute(f'create table "{name}" as select * from incoming')
                con.unregister("incoming")

            for name in contracts.contracts:
                if tables.get(name):
                    put(name, pd.concat(tables[name], ignore_index=True))
            counts = pd.DataFrame({"person_id": pids.to_numpy()}).value_counts().reset_index(name="n_records")
            put("persons", counts.sort_values("person_id", ignore_index=True))
            put("ingests", pd.concat([old_ingests, provenance], ignore_index=True) if len(old_ingests) else provenance)
            put("quarantine_log", pd.concat([old_quarantine, quarantine_log], ignore_index=True) if len(old_quarantine) else quarantine_log)
            put("store_meta", pd.DataFrame({"key": list(meta), "value": [str(v) for v in meta.values()]}))
            con.execute("checkpoint")
        finally:
            con.close()
        os.replace(tmp, store_path)  # atomic on POSIX: readers see the old store or the new, never half
    finally:
        for leftover in (tmp, tmp.with_name(tmp.name + ".wal")):
            if leftover.exists():
                leftover.unlink()


def rows_reconcile(report: IngestReport) -> bool:
    return all(r.reconciles for r in report.results) and report.rows_read == report.rows_accepted + report.rows_quarantined


__all__ = ["IngestError", "IngestReport", "extracts_linkage_frame", "ingest_folder", "match_files", "render_report"]
