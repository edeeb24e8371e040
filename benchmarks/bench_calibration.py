"""The calibration table of every study in every scenario (issue 17): regenerates docs/calibration.md.

For each scenario of workbench/synthetic/scenarios.yaml and each calibrated study it names (the
default scenario: every study), R replicate counties (seeds seed-start, seed-start + 1, ...) are
generated at ``--scale``, ingested with the true linkage and run through the studies (one county
serves every study of its scenario), in parallel over ``--workers`` processes. Per estimate: bias,
RMSE, coverage of the 95% interval with its exact 95% interval, and the rate of each printed finding
(a false-positive rate where the truth is null). Replicate rows go to ``--rows`` (gzipped CSV, kept in
git: synthetic results, no person's data) so a long run can be resumed and re-summarised
(``--summarise-only``), and one study can be rerun without rerunning the others.

``--carry FILE`` keeps, from an earlier version of the generated file, the table rows of every
(scenario, linkage, study) that the rows file does not hold, each section saying which run they come
from. It exists because the rows behind the first 200-county table were not kept: after a change to
one study, that study is rerun and the others' rows are carried, unchanged, from the run that made them.

    python benchmarks/bench_calibration.py                          # R = 200 everywhere: many hours
    python benchmarks/bench_calibration.py --replicates 20 --scenarios default null_all
    python benchmarks/bench_calibration.py --summarise-only         # rebuild the Markdown from the rows
    python benchmarks/bench_calibration.py --studies supported_housing --rerun   # after a change to one study
    python benchmarks/bench_calibration.py --linkage splink --scenarios default   # with linkage errors
    python benchmarks/bench_calibration.py --studies supported_housing --carry docs/calibration.md

At scale 0.25 one county takes 15-30 s of one core (most of it ingesting and the supported housing
study), so R = 200 over the 13 scenarios is about 15-20 core-hours: start it with nohup. The rows are saved
after every ``--chunk`` seeds, and a rerun skips the seeds already done (per scenario and scale).
"""

from __future__ import annotations

import argparse
import datetime as dt
import math
import re
import time
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from workbench.spreadsheets import write_csv
from workbench.synthetic.calibration import CALIBRATED_STUDIES, LINKAGES, run_replicates, summarise
from workbench.synthetic.scenarios import scenarios

ROOT = Path(__file__).resolve().parents[1]
STUDY_PARAMETERS = {"supported_housing": {"n_bootstrap": 200}}


def studies_of(name: str) -> list[str]:
    spec = scenarios()[name]
    named = [s for s in spec.studies if s in CALIBRATED_STUDIES]
    return list(CALIBRATED_STUDIES) if name == "default" or not spec.studies else named


def _fmt(x: float, digits: int = 3) -> str:
    return "" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:+.{digits}f}"


@dataclass
class Carried:
    """Table rows kept from an earlier version of the generated file (see ``--carry``)."""

    started: str = ""
    #: (scenario, linkage) -> {study: [table lines]}
    lines: dict[tuple[str, str], dict[str, list[str]]] = field(default_factory=dict)
    #: (scenario, linkage) -> {study: [closing-note bullets]}
    low: dict[tuple[str, str], dict[str, list[str]]] = field(default_factory=dict)


HEADING = re.compile(r"^## (?P<name>[a-z0-9_]+)(?:, linked by (?P<link>[a-z]+))?: ")


def read_carried(path: Path) -> Carried:
    """The table rows and closing-note bullets of a file this script wrote, by scenario, linkage and study."""
    text = path.read_text(encoding="utf-8")
    found = re.search(r"Run started ([0-9T:-]+)", text)
    carried = Carried(started=found.group(1) if found else "an earlier run")
    section: tuple[str, str] | None = None
    closing = False
    for line in text.splitlines():
        head = HEADING.match(line)
        if head:
            section = (head["name"], head["link"] or "true")
            continue
        if line.startswith("## Closing note"):
            closing = True
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if not closing and section and line.startswith("| ") and len(cells) == 8 and cells[0] not in ("study", "---"):
            carried.lines.setdefault(section, {}).setdefault(cells[0], []).append(line)
        elif closing and line.startswith("- ") and line != "- none":
            where, study = line[2:].split(", ")[:2]
            name, _, rest = where.partition(" (linked by ")
            key = (name, rest.rstrip(")") or "true")
            carried.low.setdefault(key, {}).setdefault(study, []).append(line)
    return carried


def markdown(rows: pd.DataFrame, scale: float, started: str, carried: Carried | None = None) -> str:
    every = scenarios()
    carried = carried or Carried()
    lines = [
        "# Calibration of the studies over replicate counties",
        "",
        "Generated by `benchmarks/bench_calibration.py` (do not edit by hand); scenarios in "
        "`docs/scenarios.md`. Each row: one estimate of one study in one scenario over independent "
        f"synthetic counties (scale {scale:g}; linked by the truth, so the statistics alone are calibrated, unless a "
        "section says it was linked as real extracts are). "
        "*Coverage* is the share of counties whose 95% interval held the true value (exact 95% interval "
        "in brackets); *finding* is the share of counties where the study printed the finding (its interval "
        "excluded no difference, or a subgroup or district was named); where the truth is null that is a "
        f"**false-positive rate**. Run started {started}.",
        "",
    ]
    if carried.lines:
        lines[-2] += (f" Where a section says so, some studies' rows are carried unchanged from the run started "
                      f"{carried.started} (their code had not changed; their replicate rows were not kept).")
    failed = rows[rows["kind"] == "error"] if "kind" in rows else rows.iloc[0:0]
    # One summary per scenario and linkage, for its table and for the closing list.
    parts = []
    for name, link in [(n, k) for n in every for k in LINKAGES]:
        mine = (rows["scenario"] == name) & (rows["linkage"] == link) if len(rows) else []
        part = summarise(rows[mine]) if len(rows) and mine.any() else pd.DataFrame(columns=["study"])
        kept = {s: ls for s, ls in carried.lines.get((name, link), {}).items() if s not in set(part["study"])}
        if len(part) or kept:
            parts.append((name, link, part, kept))
    for name, link, part, kept in parts:
        spec = every[name]
        heading = f"## {name}: {spec.title}" if link == "true" else f"## {name}, linked by {link}: {spec.title}"
        how = ([] if link == "true" else [
            f"*Linkage:* the extracts are linked by the workbench's {link} linkage from the identifiers with their "
            "planted errors, as real extracts are, so bias and coverage here include what linkage errors do.", ""])
        new = "" if not len(part) else f"this run ({started}): {', '.join(dict.fromkeys(part['study']))}"
        origin = ([f"*Rows from* {new}{'; ' if new else ''}the run started {carried.started}, carried: "
                   f"{', '.join(kept)}.", ""] if kept else [])
        lines += [heading, "", f"*Breaks:* {spec.breaks}", "", *how,
                  f"*A correct study reports:* {spec.correct_study_reports}", "", *origin,
                  "| study | estimate | R | true | bias | RMSE | coverage | finding |",
                  "|---|---|---|---|---|---|---|---|"]
        for r in part.itertuples():
            cov = (f"{r.coverage:.0%} ({r.coverage_lower:.0%}-{r.coverage_upper:.0%})" if r.with_interval else "")
            find = "" if math.isnan(r.finding_rate) else (f"**{r.finding_rate:.1%} false**" if r.null else f"{r.finding_rate:.0%}")
            lines.append(f"| {r.study} | {r.estimate} | {r.replicates} | {_fmt(r.true_mean)} | {_fmt(r.bias)} | "
                         f"{'' if math.isnan(r.rmse) else f'{r.rmse:.3f}'} | {cov} | {find} |")
        lines += [line for ls in kept.values() for line in ls]
        bad = failed[(failed["scenario"] == name) & (failed["linkage"] == link)]
        if len(bad):
            lines += ["", f"{len(bad)} study run(s) failed: " + "; ".join(f"{r.study} seed {r.seed}: {r.note}" for r in bad.head(5).itertuples())]
        lines.append("")
    lines += ["## Closing note", "", "Cases with coverage below 90% (scenario, study, estimate, coverage):", ""]
    low = []
    for name, link, part, kept in parts:
        where = name if link == "true" else f"{name} (linked by {link})"
        if len(part):
            part = part[(part["with_interval"] > 0) & (part["coverage"] < 0.90)]
            low += [f"- {where}, {r.study}, {r.estimate}: {r.coverage:.0%} (bias {_fmt(r.bias)})" for r in part.itertuples()]
        low += [b for s, bs in carried.low.get((name, link), {}).items() if s in kept for b in bs]
    lines += low or ["- none"]
    lines.append("")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replicates", type=int, default=200)
    parser.add_argument("--seed-start", type=int, default=1000)
    parser.add_argument("--scale", type=float, default=0.25)
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument("--scenarios", nargs="*", default=None, help="Default: every scenario.")
    parser.add_argument("--rows", type=Path, default=ROOT / "benchmarks" / "results" / "calibration_rows.csv.gz")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "calibration.md")
    parser.add_argument("--chunk", type=int, default=10, help="Seeds run between saves of the rows.")
    parser.add_argument("--summarise-only", action="store_true")
    parser.add_argument("--studies", nargs="*", default=None,
                        help="Only these studies (the rows of the others are kept). Default: every calibrated one.")
    parser.add_argument("--linkage", choices=LINKAGES, default="true",
                        help="true: the statistics alone; splink or deterministic: linked as real extracts are.")
    parser.add_argument("--rerun", action="store_true",
                        help="Drop the saved rows of the chosen scenarios and studies first (after a change to a study).")
    parser.add_argument("--carry", type=Path, default=None,
                        help="An earlier version of the generated file: keep its rows for what the rows file lacks.")
    args = parser.parse_args()
    # read before anything is written: --carry may name --out itself
    carried = read_carried(args.carry) if args.carry else None
    started = dt.datetime.now().isoformat(timespec="minutes")
    # dtype: pandas would read a column of "true" as booleans
    done = pd.read_csv(args.rows, dtype={"linkage": str}) if args.rows.exists() else pd.DataFrame()
    if len(done):  # rows from before --linkage were all linked by the truth
        done["linkage"] = done["linkage"].fillna("true") if "linkage" in done else "true"
    if args.rerun and len(done):
        chosen = done["scenario"].isin(args.scenarios or list(scenarios())) & (done["linkage"] == args.linkage)
        if args.studies:
            chosen &= done["study"].isin(args.studies)
        print(f"--rerun: {int(chosen.sum())} saved rows dropped")
        done = done[~chosen].reset_index(drop=True)
    if not args.summarise_only:
        for name in args.scenarios or list(scenarios()):
            studies = [s for s in studies_of(name) if not args.studies or s in args.studies]
            if not studies:
                print(f"{name}: none of the chosen calibrated studies (or a linkage scenario); skipped")
                continue
            t0 = time.perf_counter()
            wanted = range(args.seed_start, args.seed_start + args.replicates)
            # Resumable by chunk of seeds: a run stopped part way keeps every chunk it finished.
            for chunk_start in range(wanted.start, wanted.stop, args.chunk):
                chunk = range(chunk_start, min(chunk_start + args.chunk, wanted.stop))
                if len(done):
                    mine = done[(done["scenario"] == name) & (done["scale"] == args.scale)
                                & (done["linkage"] == args.linkage)]
                    if all(set(chunk) <= set(mine.loc[mine["study"] == s, "seed"]) for s in studies):
                        continue
                rows = run_replicates(studies, name, len(chunk), chunk.start, args.scale, args.workers,
                                      STUDY_PARAMETERS, progress=False, linkage=args.linkage)
                done = pd.concat([done, rows], ignore_index=True)
                args.rows.parent.mkdir(parents=True, exist_ok=True)
                write_csv(done, args.rows, index=False)
                args.out.write_text(markdown(done, args.scale, started, carried), encoding="utf-8")  # so far
                print(f"{name}: seeds {chunk.start}-{chunk.stop - 1} done ({time.perf_counter() - t0:.0f} s)", flush=True)
    scales = set(done["scale"]) if len(done) else set()
    if len(scales) == 1 and args.summarise_only:  # the table says the scale its rows were run at
        args.scale = float(scales.pop())
    if len(done) or carried:
        args.out.write_text(markdown(done, args.scale, started, carried), encoding="utf-8")
        print(f"Written {args.out}")


if __name__ == "__main__":
    main()
