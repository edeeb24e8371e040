"""The ``workbench`` command: validate, ingest, generate, demo, dictionary, make-key.

Bad input never shows a traceback: every command catches the workbench's own errors and prints
the plain-English message (exit code 2). ``validate`` exits 1 when it finds problems, so it can
gate a scheduled job. Set WORKBENCH_DEBUG=1 to see tracebacks of unexpected failures.
"""

from __future__ import annotations

import datetime as dt
import functools
import os
import sys
from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(
    help="Oxfordshire homelessness research and evaluation workbench.",
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
    from workbench.linkage.settings import LinkageSettingsError
    from workbench.store import StoreNotFound

    return (FileRefused, IngestError, PseudonymKeyError, LinkageError, LinkageSettingsError, StoreNotFound, ContractError,
            FileNotFoundError, PermissionError, NotADirectoryError, IsADirectoryError)


def friendly(func):
    """Turn errors into one plain sentence on stderr (exit 2); never a traceback for bad input."""

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
            if isinstance(exc, _user_errors()):
                typer.echo(f"Error: {exc}", err=True)
            else:
                typer.echo(
                    f"Unexpected error ({type(exc).__name__}: {exc}). Nothing was changed. "
                    "Run again with WORKBENCH_DEBUG=1 to see details for a developer.",
                    err=True,
                )
            raise typer.Exit(2) from None

    return wrapper


def _date(value: str | None) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not a date; write it as YYYY-MM-DD.") from None


DataDir = Annotated[Path | None, typer.Option("--data-dir", help="Where the store lives (default: $WORKBENCH_DATA_DIR or ~/.local/share/oxfordshire-workbench).")]
ExtractDate = Annotated[str | None, typer.Option("--extract-date", help="Extract date YYYY-MM-DD (default: from extract.yaml, else today).")]


@app.command()
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
    from workbench.ingest.pipeline import IngestReport, match_files, read_manifest, render_report
    from workbench.ingest.validate import validate_file

    contracts = load_contracts()
    pairs, unmatched = [], []
    for p in paths:
        if p.is_dir():
            manifest = read_manifest(p)
            m, u = match_files(p, contracts, manifest)
            pairs += m
            unmatched += u
            extract_date = extract_date or manifest.get("extract_date") and str(manifest["extract_date"])
        elif source:
            if source not in contracts.contracts:
                raise typer.BadParameter(f"No contract named {source!r}; there are: {', '.join(contracts.contracts)}.")
            pairs.append((p, contracts[source]))
        else:
            m, u = match_files(p.parent, contracts, {})
            hit = [x for x in m if x[0].name == p.name]
            if not hit:
                typer.echo(f"Error: {p.name} does not start with a source name ({', '.join(contracts.contracts)}); "
                           "give --source.", err=True)
                raise typer.Exit(2)
            pairs += hit
    when = _date(extract_date) or dt.date.today()
    rep = IngestReport(ingest_id="validation-only", data_dir=Path("."), extract_date=when, unmatched_files=unmatched)
    for path, contract in pairs:
        result = validate_file(path, contract, when, encoding=encoding)
        rep.results.append(result)
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
    problems = any(r.refused or r.rows_quarantined for r in rep.results)
    raise typer.Exit(1 if problems else 0)


def _linker(linkage: str, folder: Path):
    """The ingest's linkage: a method name, or for ``truth`` the synthetic county's true people
    (from the truth folder beside the extracts; only the synthetic evaluation reads it)."""
    if linkage != "truth":
        return linkage
    from workbench.synthetic.evaluation import truth_linker

    return truth_linker(folder)


@app.command()
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
) -> None:
    """Validate extracts, quarantine failing rows, link and pseudonymise people, and build the store."""
    from workbench.ingest.pipeline import ingest_folder

    rep = ingest_folder(folder, data_dir, key_file=key_file, linkage=_linker(linkage, folder), linkage_profile=linkage_profile,
                        extract_date=_date(extract_date), encoding=encoding, progress=progress)
    typer.echo(rep.summary())


@app.command()
@friendly
def generate(
    out: Annotated[Path, typer.Option(help="Folder to write extracts/ and truth/ into.")] = Path("synthetic-county"),
    seed: Annotated[int | None, typer.Option(help="Random seed (same seed, same bytes).")] = None,
    scale: Annotated[float, typer.Option(help="1 = Oxfordshire; 100 = national-size benchmark data.")] = 1.0,
    extract_date: ExtractDate = None,
    progress: Annotated[bool, typer.Option(help="Show progress.")] = True,
) -> None:
    """Generate the synthetic county: raw extracts for every source, and a separate truth folder."""
    from workbench.synthetic import DEFAULT_SEED, generate_county

    kwargs = {"extract_date": _date(extract_date)} if extract_date else {}
    result = generate_county(out, seed=DEFAULT_SEED if seed is None else seed, scale=scale, progress=progress, **kwargs)
    typer.echo(f"Synthetic county written to {out} in {result.seconds:.1f} s:")
    for source, n in result.counts.items():
        typer.echo(f"  {source}: {n:,} rows")
    typer.echo(f"Extracts: {result.extracts_dir}\nTruth:    {result.truth_dir}")


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
    name: Annotated[str, typer.Argument(help="Study to run: returns, new_arrivals, supported_housing, system_performance.")],
    data_dir: DataDir = None,
    out: Annotated[Path | None, typer.Option(help="Folder for the exported tables, figures and summary.")] = None,
    param: Annotated[list[str] | None, typer.Option("--param", "-p", help="Study parameter name=value (repeatable).")] = None,
) -> None:
    """Run one study on the store and export its tables, figures and plain-English findings."""
    from workbench.store import Store
    from workbench.studies import available, entry_point

    if name not in available():
        typer.echo(f"Error: no study called {name!r} is installed; available: {', '.join(available()) or 'none'}.", err=True)
        raise typer.Exit(2)
    store = Store(data_dir)
    typer.echo(f"Running the {name} study on {store.path} ...")
    result = entry_point(name)(store, **_parse_parameters(param or []))
    folder = result.export(out or store.data_dir / "studies" / name)
    typer.echo("\n".join(result.findings))
    typer.echo(f"Tables, figures and summary written to {folder}")


@app.command()
@friendly
def dashboards(
    data_dir: DataDir = None,
    port: Annotated[int, typer.Option(help="Port for the dashboards.")] = 8866,
    ip: Annotated[str, typer.Option(help="Address to listen on (keep 127.0.0.1 behind the organisation's login proxy).")] = "127.0.0.1",
    pool_size: Annotated[int, typer.Option(help="Pre-heated kernels per page (about 130 MB each).")] = 1,
    allowed_host: Annotated[list[str] | None, typer.Option(
        "--allowed-host", help="Public host name the reverse proxy passes on (repeatable); other names are refused.")] = None,
    max_kernels: Annotated[int, typer.Option(help="Viewers' pages open at once, in total (about 300 MB each).")] = 40,
    max_kernels_per_client: Annotated[int, typer.Option(help="Pages open at once per viewer.")] = 6,
) -> None:
    """Serve the commissioner dashboards on an existing store (see docs/dashboards.md)."""
    from workbench.dashboards.server import serve
    from workbench.store import Store

    store = Store(data_dir)  # a clear error if no store has been built yet
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
