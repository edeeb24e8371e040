"""The ``workbench`` command: validate, ingest, changes, study, report, dashboards, and more.

Bad input never shows a traceback: every command catches the workbench's own errors and prints
the plain-English message. Exit codes a scheduler can trust (``ExitCode``; the same in ``--help``
and the README): 0 stored (or checked) with nothing quarantined; 1 stored with rows quarantined
(``validate``: rows would be quarantined); 2 usage or environment error (a wrong option, no key,
the data directory busy: nothing changed); 3 refused (``validate``: a file would be refused;
``ingest``: nothing stored); 4 an unexpected failure (a bug; nothing changed). Set
WORKBENCH_DEBUG=1 to see tracebacks of unexpected failures.
"""

from __future__ import annotations

import datetime as dt
import enum
import functools
import os
import sys
from pathlib import Path
from typing import Annotated

import typer


class ExitCode(enum.IntEnum):
    """What a scheduled job can read from the exit status."""

    OK = 0  # stored (or checked), nothing quarantined
    QUARANTINED = 1  # stored, some rows quarantined (validate: some rows would be)
    USAGE = 2  # usage or environment error: nothing changed
    REFUSED = 3  # the extracts were refused: nothing stored (validate: a file would be refused)
    UNEXPECTED = 4  # a bug: nothing changed


EXIT_CODES_HELP = (
    "Exit codes: 0 stored, nothing quarantined; 1 stored, some rows quarantined; 2 usage or environment "
    "error, nothing changed; 3 extracts refused, nothing stored; 4 unexpected failure, nothing changed."
)

app = typer.Typer(
    help="Oxfordshire homelessness research and evaluation workbench.",
    epilog=EXIT_CODES_HELP,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


def _user_errors() -> tuple[type[BaseException], ...]:
    from workbench.contracts.model import ContractError
    from workbench.ingest.pipeline import IngestError
    from workbench.ingest.pseudonymise import PseudonymKeyError
    from workbench.ingest.readers import FileRefused
    from workbench.linkage.persons import LinkageError
    from workbench.linkage.review_files import ReviewFileError
    from workbench.linkage.settings import LinkageSettingsError
    from workbench.reporting.exports import ExportRefused
    from workbench.reporting.report_render import ReportError
    from workbench.store import SnapshotNotFound, StoreNotFound
    from workbench.store.history import StoreWriteError
    from workbench.store.lock import DataDirBusy
    from workbench.store.rekey import RekeyError

    return (ExportRefused, ReportError, FileRefused, ReviewFileError, IngestError, PseudonymKeyError, LinkageError,
            LinkageSettingsError, StoreNotFound,
            ContractError, SnapshotNotFound, DataDirBusy, RekeyError, StoreWriteError,
            # the environment: a missing file, no permission, a full disk (nothing was changed)
            OSError)


def _refusals() -> tuple[type[BaseException], ...]:
    from workbench.ingest.pipeline import ExtractsRefused
    from workbench.ingest.readers import FileRefused

    return (ExtractsRefused, FileRefused)


def friendly(func):
    """Turn errors into one plain sentence on stderr with their exit code; never a traceback for bad input."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except typer.Exit:
            raise
        except KeyboardInterrupt:
            typer.echo("Interrupted; the store was left as it was before this command.", err=True)
            raise typer.Exit(130) from None
        except Exception as exc:
            if os.environ.get("WORKBENCH_DEBUG"):
                raise
            if isinstance(exc, _refusals()):
                typer.echo(f"Refused: {exc}", err=True)
                raise typer.Exit(ExitCode.REFUSED) from None
            if isinstance(exc, _user_errors()):
                typer.echo(f"Error: {exc}", err=True)
                raise typer.Exit(ExitCode.USAGE) from None
            typer.echo(
                f"Unexpected error ({type(exc).__name__}: {exc}). Nothing was changed. "
                "Run again with WORKBENCH_DEBUG=1 to see details for a developer.",
                err=True,
            )
            raise typer.Exit(ExitCode.UNEXPECTED) from None

    return wrapper


def _date(value: str | None) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not a date; write it as YYYY-MM-DD.") from None


AsOf = Annotated[str | None, typer.Option("--as-of", help="Read an earlier snapshot of the store: an ingest id, or a date (the latest ingest of extracts dated on or before it). Default: the latest.")]
DataDir = Annotated[Path | None, typer.Option("--data-dir", help="Where the store lives (default: $WORKBENCH_DATA_DIR or ~/.local/share/oxfordshire-workbench).")]
ExtractDate = Annotated[str | None, typer.Option("--extract-date", help="Extract date YYYY-MM-DD (default: from extract.yaml, else today).")]


@app.command(epilog=EXIT_CODES_HELP)
@friendly
def validate(
    paths: Annotated[list[Path], typer.Argument(help="Extract files, or a folder of them.")],
    source: Annotated[str | None, typer.Option(help="Contract name, if the file name does not start with it.")] = None,
    extract_date: ExtractDate = None,
    encoding: Annotated[str, typer.Option(help="Text encoding of CSV files.")] = "utf-8",
    report: Annotated[Path | None, typer.Option(help="Also write the full report (Markdown) here.")] = None,
    max_problems: Annotated[int, typer.Option(help="Problems listed per file on screen.")] = 20,
) -> None:
    """Check extracts against their data contracts without storing anything."""
    from workbench.contracts import load_contracts
    from workbench.ingest.across_files import accepted_columns_for, refuse_across_files
    from workbench.ingest.pipeline import IngestReport, match_files, read_manifest, render_report
    from workbench.ingest.staging import use_system_memory_pool
    from workbench.ingest.validate import validate_file

    use_system_memory_pool()
    contracts = load_contracts()
    # Files are checked together as the ingest would: a folder's as one set; files named one by one as
    # another, several for a source being intended (their record ids must still not repeat).
    groups: list[tuple[list, bool]] = []
    named: list = []
    unmatched: list[str] = []
    for p in paths:
        if p.is_dir():
            manifest = read_manifest(p)
            m, u = match_files(p, contracts, manifest)
            groups.append((m, bool(manifest.get("files"))))
            unmatched += u
            extract_date = extract_date or manifest.get("extract_date") and str(manifest["extract_date"])
        elif source:
            if source not in contracts.contracts:
                raise typer.BadParameter(f"No contract named {source!r}; there are: {', '.join(contracts.contracts)}.")
            named.append((p, contracts[source]))
        else:
            m, u = match_files(p.parent, contracts, {})
            hit = [x for x in m if x[0].name == p.name]
            if not hit:
                typer.echo(f"Error: {p.name} does not start with a source name ({', '.join(contracts.contracts)}); "
                           "give --source.", err=True)
                raise typer.Exit(ExitCode.USAGE)
            named += hit
    groups.append((named, True))
    when = _date(extract_date) or dt.date.today()
    rep = IngestReport(ingest_id="validation-only", data_dir=Path("."), extract_date=when, unmatched_files=unmatched)
    for pairs, declared in groups:
        # Of accepted rows only the record ids are kept, and only for the check across a source's files.
        keep = accepted_columns_for([contract.name for _, contract in pairs])
        checked = [validate_file(path, contract, when, encoding=encoding, accepted_columns=keep[contract.name])
                   for path, contract in pairs]
        rep.results += refuse_across_files(checked, contracts, declared=declared)
    for result in rep.results:
        typer.echo(result.counts_line())
        for note in result.notes:
            typer.echo(f"  note: {note}")
        for p in result.issues.head(max_problems).itertuples(index=False):
            typer.echo(f"  row {p.row_number}, column {p.column}: {p.message} [rule: {p.rule}]")
        if len(result.issues) > max_problems:
            typer.echo(f"  ... {len(result.issues) - max_problems:,} more problems (use --report for all).")
    for name in unmatched:
        typer.echo(f"{name}: not matched to any data contract; not checked.")
    if report:
        report.write_text(render_report(rep, max_problems_per_file=10**9), encoding="utf-8")
        typer.echo(f"Full report: {report}")
    if any(r.refused for r in rep.results):
        raise typer.Exit(ExitCode.REFUSED)
    raise typer.Exit(ExitCode.QUARANTINED if any(r.rows_quarantined for r in rep.results) else ExitCode.OK)


def _linker(linkage: str, folder: Path):
    """The ingest's linkage: a method name, or for ``truth`` the synthetic county's true people
    (from the truth folder beside the extracts; only the synthetic evaluation reads it)."""
    if linkage != "truth":
        return linkage
    from workbench.synthetic.evaluation import truth_linker

    return truth_linker(folder)


@app.command(epilog=EXIT_CODES_HELP)
@friendly
def ingest(
    folder: Annotated[Path, typer.Argument(help="Folder holding this quarter's extracts.")],
    data_dir: DataDir = None,
    key_file: Annotated[Path | None, typer.Option(help="Pseudonymisation key file, kept outside any repository.")] = None,
    linkage: Annotated[str, typer.Option(help="Person linkage: splink (probabilistic, the default), deterministic, or truth (synthetic county only).")] = "splink",
    linkage_profile: Annotated[str | None, typer.Option(help="splink settings profile, e.g. large_population for national-size extracts (narrower blocks).")] = None,
    extract_date: ExtractDate = None,
    encoding: Annotated[str, typer.Option(help="Text encoding of CSV files.")] = "utf-8",
    progress: Annotated[bool, typer.Option(help="Show progress bars.")] = True,
    carry_forward: Annotated[list[str] | None, typer.Option("--carry-forward", help="Keep the previous snapshot's records of this source (repeatable); flagged on every output built from it.")] = None,
    allow_fewer: Annotated[list[str] | None, typer.Option("--allow-fewer", help="Accept fewer records of this source than the previous snapshot held (repeatable).")] = None,
    wait: Annotated[float, typer.Option(help="Seconds to wait if another ingest is writing to the data directory.")] = 0.0,
) -> None:
    """Validate extracts, quarantine failing rows, link and pseudonymise people, and store them as a new snapshot.

    Every earlier snapshot is kept (read one with --as-of on other commands). A source that would
    have fewer records than before stops the ingest unless named in --carry-forward or --allow-fewer.
    """
    from workbench.ingest.pipeline import IngestOptions, ingest_folder
    from workbench.ingest.staging import use_system_memory_pool

    use_system_memory_pool()
    options = IngestOptions(carry_forward=frozenset(carry_forward or ()), allow_fewer=frozenset(allow_fewer or ()),
                            wait_seconds=wait)
    rep = ingest_folder(folder, data_dir, key_file=key_file, linkage=_linker(linkage, folder), linkage_profile=linkage_profile,
                        extract_date=_date(extract_date), encoding=encoding, progress=progress, options=options)
    typer.echo(rep.summary())
    raise typer.Exit(ExitCode.QUARANTINED if rep.rows_quarantined else ExitCode.OK)


@app.command()
@friendly
def generate(
    out: Annotated[Path, typer.Option(help="Folder to write extracts/ and truth/ into.")] = Path("synthetic-county"),
    seed: Annotated[int | None, typer.Option(help="Random seed (same seed, same bytes).")] = None,
    scale: Annotated[float, typer.Option(help="1 = Oxfordshire; 100 = national-size benchmark data.")] = 1.0,
    extract_date: ExtractDate = None,
    progress: Annotated[bool, typer.Option(help="Show progress.")] = True,
    scenario: Annotated[str, typer.Option(help="A named profile that breaks an assumption of the studies "
                                          "(workbench/synthetic/scenarios.yaml, docs/scenarios.md); default: none.")] = "default",
) -> None:
    """Generate the synthetic county: raw extracts for every source, and a separate truth folder."""
    from workbench.synthetic import DEFAULT_SEED, generate_county
    from workbench.synthetic.scenarios import ScenarioError
    from workbench.synthetic.scenarios import scenario as find_scenario

    try:
        spec = find_scenario(scenario)
    except ScenarioError as err:
        typer.echo(f"Error: {err}", err=True)
        raise typer.Exit(ExitCode.USAGE) from None
    kwargs = {"extract_date": _date(extract_date)} if extract_date else {}
    result = generate_county(out, seed=DEFAULT_SEED if seed is None else seed, scale=scale, progress=progress,
                             scenario=scenario, **kwargs)
    if scenario != "default":
        typer.echo(f"Scenario {scenario}: {spec.title}.")
    typer.echo(f"Synthetic county written to {out} in {result.seconds:.1f} s:")
    for source, n in result.counts.items():
        typer.echo(f"  {source}: {n:,} rows")
    typer.echo(f"Extracts: {result.extracts_dir}\nTruth:    {result.truth_dir}")


@app.command()
@friendly
def calibrate(
    study: Annotated[str, typer.Argument(help="Study to calibrate: supported_housing, returns or system_performance.")],
    scenario: Annotated[str, typer.Option(help="Generator profile (docs/scenarios.md).")] = "default",
    replicates: Annotated[int, typer.Option(help="Independent counties (seeds seed-start, seed-start + 1, ...).")] = 20,
    seed_start: Annotated[int, typer.Option(help="Seed of the first county.")] = 1,
    scale: Annotated[float, typer.Option(help="County size (1 = Oxfordshire); smaller is faster, with wider intervals.")] = 0.25,
    workers: Annotated[int | None, typer.Option(help="Parallel processes (default: the available cores).")] = None,
    param: Annotated[list[str] | None, typer.Option("--param", "-p", help="Study parameter name=value (repeatable), e.g. n_bootstrap=200.")] = None,
    out: Annotated[Path | None, typer.Option(help="Also write summary.csv and replicates.csv here.")] = None,
    progress: Annotated[bool, typer.Option(help="Show progress.")] = True,
    linkage: Annotated[str, typer.Option(help="true (the statistics alone), or splink / deterministic: linked as real "
                                              "extracts are, so linkage errors count too.")] = "true",
) -> None:
    """Calibrate a study over replicate synthetic counties: bias, RMSE and coverage of the 95% intervals
    of each estimate, and the false-positive rate of each finding wherever the truth is null.

    Synthetic counties only, ingested by default with their true linkage (the study's statistics alone);
    --linkage splink links them as real extracts are, so each estimate's bias and coverage include
    linkage errors."""
    from workbench.synthetic.calibration import CALIBRATED_STUDIES, LINKAGES
    from workbench.synthetic.calibration import calibrate as run_calibration
    from workbench.synthetic.scenarios import ScenarioError
    from workbench.synthetic.scenarios import scenario as find_scenario

    if study not in CALIBRATED_STUDIES:
        typer.echo(f"Error: no calibration for {study!r}; calibrated studies: {', '.join(CALIBRATED_STUDIES)}.", err=True)
        raise typer.Exit(ExitCode.USAGE)
    try:
        find_scenario(scenario)
    except ScenarioError as err:
        typer.echo(f"Error: {err}", err=True)
        raise typer.Exit(ExitCode.USAGE) from None
    if linkage not in LINKAGES:
        typer.echo(f"Error: --linkage must be one of {', '.join(LINKAGES)}, not {linkage!r}.", err=True)
        raise typer.Exit(ExitCode.USAGE)
    if replicates < 1 or scale <= 0:
        typer.echo("Error: --replicates must be at least 1 and --scale above 0.", err=True)
        raise typer.Exit(ExitCode.USAGE)
    result = run_calibration(study, scenario, replicates=replicates, seed_start=seed_start, scale=scale,
                             workers=workers, study_parameters=_parse_parameters(param or []), progress=progress,
                             linkage=linkage)
    typer.echo(result.text())
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        from workbench.spreadsheets import write_csv

        write_csv(result.summary, out / "summary.csv", index=False)
        write_csv(result.rows, out / "replicates.csv", index=False)
        typer.echo(f"Written to {out}: summary.csv, replicates.csv")


@app.command()
@friendly
def demo(
    data_dir: DataDir = None,
    seed: Annotated[int | None, typer.Option(help="Synthetic county seed.")] = None,
    serve: Annotated[bool, typer.Option(help="Serve the dashboards after building the store.")] = True,
    port: Annotated[int, typer.Option(help="Port for the dashboards.")] = 8866,
) -> None:
    """The main job: generate the synthetic county, ingest it, summarise, and serve the dashboards."""
    from workbench.demo import build_demo_store, serve_dashboards

    summary = build_demo_store(data_dir, seed=seed)
    typer.echo(summary)
    if serve:
        serve_dashboards(data_dir, port=port)


def _parse_parameters(pairs: list[str]) -> dict[str, object]:
    import yaml

    out: dict[str, object] = {}
    for pair in pairs:
        if "=" not in pair:
            raise typer.BadParameter(f"{pair!r}: write parameters as name=value, e.g. period_start=2022-04-01.")
        name, value = pair.split("=", 1)
        parsed = yaml.safe_load(value)  # numbers, dates, lists as YAML
        out[name.strip()] = parsed
    return out


@app.command()
@friendly
def study(
    name: Annotated[str | None, typer.Argument(help="Study to run: returns, new_arrivals, supported_housing, system_performance.")] = None,
    data_dir: DataDir = None,
    out: Annotated[Path | None, typer.Option(help="Folder for the exported tables, figures and summary.")] = None,
    param: Annotated[list[str] | None, typer.Option("--param", "-p", help="Study parameter name=value (repeatable).")] = None,
    as_of: AsOf = None,
    research: Annotated[bool, typer.Option("--research", help="Write the unsuppressed research export (owner-only, labelled "
                                           "not for sharing outside the secure environment) instead of the shareable one.")] = False,
    rerun: Annotated[Path | None, typer.Option("--rerun", help="Repeat the run recorded in this run.json (its study and "
                                               "parameters) on the store, at the snapshot it used unless --as-of.")] = None,
) -> None:
    """Run one study on the store and export its tables, figures and summary: shareable (every table
    through disclosure control) unless --research."""
    from workbench.reporting import export
    from workbench.store import Store
    from workbench.studies import available, entry_point
    from workbench.studies.provenance import call_from_run_json, snapshot_of_run_json

    parameters = _parse_parameters(param or [])
    if rerun is not None:
        try:
            recorded_name, recorded = call_from_run_json(rerun)
        except (ValueError, KeyError) as err:
            typer.echo(f"Error: {err}", err=True)
            raise typer.Exit(2) from None
        if name not in (None, recorded_name):
            typer.echo(f"Error: {rerun} records a run of {recorded_name}, not {name}.", err=True)
            raise typer.Exit(2)
        name, parameters = recorded_name, {**recorded, **parameters}
        as_of = as_of or snapshot_of_run_json(rerun)  # the same data as the run it repeats
    if name is None:
        typer.echo("Error: name a study (or give --rerun run.json).", err=True)
        raise typer.Exit(2)
    if name not in available():
        typer.echo(f"Error: no study called {name!r} is installed; available: {', '.join(available()) or 'none'}.", err=True)
        raise typer.Exit(2)
    store = Store(data_dir, as_of=as_of)
    typer.echo(f"Running the {name} study on {store.path}, snapshot {store.ingest_id} "
               f"(extracts dated {store.snapshot.extract_date.isoformat()}) ...")
    # every headline also under the store's alternative linkages (neighbouring thresholds, deterministic rules)
    result = entry_point(name)(store, linkage_sensitivity=True, **parameters)
    kind = "research" if research else "shareable"
    folder = export(result, out or store.data_dir / "studies" / f"{name}-{kind}", kind=kind)
    if research:
        typer.echo("\n".join(result.findings))
        typer.echo(f"RESEARCH export (unsuppressed, owner-only, not for sharing outside the secure environment) "
                   f"written to {folder}")
    else:
        typer.echo(f"Shareable export (every table through disclosure control) written to {folder}; "
                   "findings with exact numbers are in the research export (--research).")


@app.command()
@friendly
def report(
    name: Annotated[str, typer.Argument(help="Study to report: returns, new_arrivals, supported_housing, system_performance.")],
    data_dir: DataDir = None,
    out: Annotated[Path | None, typer.Option(help="Folder for the HTML, Word and PDF files (default: reports/<study> in the data directory).")] = None,
    param: Annotated[list[str] | None, typer.Option("--param", "-p", help="Study parameter name=value (repeatable).")] = None,
    as_of: AsOf = None,
) -> None:
    """Write a board-ready report of one study: one self-contained HTML file, a Word document and a PDF.

    Plain-English findings first, then figures (with alt text), the shareable tables, definitions,
    caveats and provenance; every number passes disclosure control, and the code is hidden.
    """
    from workbench.reporting.report_render import render_report
    from workbench.store import Store

    store = Store(data_dir, as_of=as_of)  # a clear error if no store (or no such snapshot) exists
    folder = out or store.data_dir / "reports" / name
    typer.echo(f"Writing the {name} report from {store.path}, snapshot {store.ingest_id} ...")
    paths = render_report(name, folder, data_dir=store.data_dir, parameters=_parse_parameters(param or []),
                          as_of=as_of)
    typer.echo("Report (protected: every number passed disclosure control) written to "
               + ", ".join(str(p) for p in paths.values()))


@app.command()
@friendly
def changes(
    data_dir: DataDir = None,
    before: Annotated[str | None, typer.Option(help="The earlier snapshot: an ingest id or date (default: the one before --after).")] = None,
    after: Annotated[str | None, typer.Option(help="The later snapshot (default: the latest).")] = None,
    out: Annotated[Path | None, typer.Option(help="Folder for changes.md, the CSV tables and changes.xlsx.")] = None,
    study: Annotated[list[str] | None, typer.Option("--study", help="Studies whose headline figures to compare (repeatable; default: all).")] = None,
) -> None:
    """What changed since last quarter: records added, revised and gone per source and district, and each
    study's headline figures then and now, with how much of the change comes from revisions to earlier periods."""
    from workbench.reporting.changes import DEFAULT_STUDIES, compare_snapshots
    from workbench.store import owner_only

    report = compare_snapshots(data_dir, before, after, studies=study or DEFAULT_STUDIES)
    typer.echo(report.text())
    with owner_only():
        folder = report.export(out or Path(report_folder(data_dir)) / f"{report.before.ingest_id}--{report.after.ingest_id}")
    typer.echo(f"Tables written to {folder}")


def report_folder(data_dir: Path | None) -> Path:
    from workbench.store import default_data_dir

    return (data_dir or default_data_dir()) / "changes"


@app.command()
@friendly
def dashboards(
    data_dir: DataDir = None,
    port: Annotated[int, typer.Option(help="Port for the dashboards.")] = 8866,
    ip: Annotated[str, typer.Option(help="Address to listen on (keep 127.0.0.1 behind the organisation's login proxy).")] = "127.0.0.1",
    pool_size: Annotated[int, typer.Option(help="Pre-heated kernels per page (about 130 MB each).")] = 1,
    as_of: AsOf = None,
    allowed_host: Annotated[list[str] | None, typer.Option(
        "--allowed-host", help="Public host name the reverse proxy passes on (repeatable); other names are refused.")] = None,
    max_kernels: Annotated[int, typer.Option(help="Viewers' pages open at once, in total (about 130 MB each).")] = 40,
    max_kernels_per_client: Annotated[int, typer.Option(help="Pages open at once per viewer.")] = 14,
) -> None:
    """Serve the commissioner dashboards on an existing store (see docs/dashboards.md)."""
    from workbench.dashboards.server import serve
    from workbench.store import AS_OF_ENV, Store

    store = Store(data_dir, as_of=as_of)  # a clear error if no store (or no such snapshot) exists
    if as_of:
        os.environ[AS_OF_ENV] = store.ingest_id  # the pages read this snapshot, from their own aggregates
    typer.echo(f"Serving the dashboards on {store.path} at http://{ip}:{port}/ (Ctrl-C stops them)")
    serve(store.data_dir, port=port, ip=ip, pool_size=pool_size, allowed_hosts=allowed_host or (),
          max_kernels=max_kernels, max_kernels_per_client=max_kernels_per_client)


@app.command("linkage-quality")
@friendly
def linkage_quality(
    seed: Annotated[int | None, typer.Option(help="Synthetic county seed (default: the standard one).")] = None,
    threshold: Annotated[float | None, typer.Option(help="Match-probability threshold (default: the setting).")] = None,
    out: Annotated[Path | None, typer.Option(help="Folder for the precision-recall curve and clerical-review sample.")] = None,
) -> None:
    """Link the synthetic county's records and print precision, recall and F1 against the truth."""
    from workbench.synthetic.evaluation import quality_report

    typer.echo(quality_report(seed=seed, threshold=threshold, out_dir=out))


@app.command("linkage-review")
@friendly
def linkage_review(
    folder: Annotated[Path | None, typer.Argument(help="The latest ingest's extracts folder (to draw the sample; not needed with --estimate).")] = None,
    data_dir: DataDir = None,
    key_file: Annotated[Path | None, typer.Option(help="The store's pseudonymisation key file (proves you may see its identifiers).")] = None,
    pairs: Annotated[int, typer.Option(help="Pairs to review (a stratified sample; 300 to 500 is usual).")] = 400,
    seed: Annotated[int | None, typer.Option(help="Seed of the sample (default: the design's).")] = None,
    redraw: Annotated[bool, typer.Option("--redraw", help="Draw a new sample although a review is under way (its decisions are kept, renamed).")] = False,
    estimate: Annotated[bool, typer.Option("--estimate", help="Turn the decisions into precision and recall and record them with the ingest.")] = False,
) -> None:
    """Clerical review of the latest ingest's linkage: draw a stratified sample of record pairs for
    reviewers (notebooks/linkage_review.ipynb), then --estimate precision and recall from their decisions.

    Runs only in the secure setting: the sample shows identifiers side by side, and is written
    owner-only inside the data directory."""
    import dataclasses

    from workbench.ingest.linkage_review import draw_review, estimate_review, summary
    from workbench.linkage.review_design import ReviewDesign

    if estimate:
        typer.echo(summary(estimate_review(data_dir)))
        typer.echo("Recorded with the ingest's snapshot (store_meta, keys linkage_review_*).")
        return
    if folder is None:
        raise typer.BadParameter("give the latest ingest's extracts folder (or --estimate).")
    design = ReviewDesign(pairs=pairs)
    if seed is not None:
        design = dataclasses.replace(design, seed=seed)
    out = draw_review(folder, data_dir, key_file=key_file, design=design, redraw=redraw)
    typer.echo(f"Review sample of {pairs} pairs written to {out} (identifiers: owner-only, keep it in the secure "
               "setting). Review it in notebooks/linkage_review.ipynb, then run 'workbench linkage-review --estimate'.")


@app.command()
@friendly
def dictionary(
    out: Annotated[Path | None, typer.Option(help="Write the Markdown here (default: print it).")] = None,
) -> None:
    """Write the data dictionary generated from the data contracts."""
    from workbench.contracts.dictionary import render_dictionary

    text = render_dictionary()
    if out:
        out.write_text(text + "\n", encoding="utf-8")
        typer.echo(f"Data dictionary written to {out}")
    else:
        sys.stdout.write(text + "\n")


@app.command()
@friendly
def rekey(
    old_key_file: Annotated[Path, typer.Option(help="The key the store was built with.")],
    new_key_file: Annotated[Path, typer.Option(help="The new key (make it with 'workbench make-key').")],
    data_dir: DataDir = None,
    wait: Annotated[float, typer.Option(help="Seconds to wait if another ingest is writing to the data directory.")] = 0.0,
) -> None:
    """Re-key the store: every person keeps their records under a new pseudonym made with the new key."""
    from workbench.ingest.pseudonymise import read_key_file
    from workbench.store import default_data_dir
    from workbench.store.rekey import rekey_store

    folder = data_dir or default_data_dir()
    n = rekey_store(folder, read_key_file(old_key_file), read_key_file(new_key_file),
                    wait_seconds=wait)
    typer.echo(f"Re-keyed {n:,} people in {folder}; every snapshot now uses the new key. Ingest with --key-file "
               f"{new_key_file} from now on.")


@app.command("make-key")
@friendly
def make_key(path: Annotated[Path, typer.Argument(help="Where to write the new key (outside any repository).")]) -> None:
    """Create a new random pseudonymisation key for real extracts."""
    from workbench.ingest.pseudonymise import write_new_key

    typer.echo(f"New key written to {write_new_key(path)}. Keep it secret and backed up: without it, "
               "new extracts cannot be linked to earlier ones.")


def main() -> None:  # pragma: no cover - entry point
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
