"""Linkage under richer identifier errors, before and after the linkage change (issue 18, item 2).

For each seed: generate the county in the default scenario and in ``realistic_identifiers``
(name-order swaps, surname changes, default dates of birth, ...: workbench/synthetic/identifier_errors.py),
link it with each named linkage settings file, first with the outreach client reference and then
with it blanked (as benchmarks/calibrate_new_arrivals.py does), and measure against the truth:
pairwise precision, recall and F1, fragments (true people split over two or more clusters, and the
extra clusters they make) and false merges (true people sharing a cluster with someone else), and
the linkage time (splink: train, score, cluster).

    python benchmarks/bench_linkage_errors.py --seeds 200 201 202 --scale 0.5 \\
        --settings before=benchmarks/linkage_settings_before_issue18.yaml after=package \\
        --csv benchmarks/results/linkage_errors.csv --md benchmarks/results/linkage_errors.md

``package`` is the packaged workbench/linkage/settings.yaml. Rows are appended to the CSV as each
run ends and runs already there are skipped, so a stopped run resumes. Seeds 1-3 were used while
changing the linkage; report others.
"""

from __future__ import annotations

import argparse
import datetime as dt
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from workbench.ingest.pipeline import extracts_linkage_frame
from workbench.linkage.model import link_frame
from workbench.linkage.quality import linkage_quality
from workbench.linkage.settings import load_settings
from workbench.synthetic import generate_county
from workbench.synthetic.evaluation import link_truth

SCENARIOS = ("default", "realistic_identifiers")
KEY = ["seed", "scenario", "client_ref", "settings"]


def blank_client_reference(extracts: Path) -> None:
    """Empty the outreach extract's client_ref column (the extract as a provider without one sends it)."""
    path = extracts / "outreach_contacts.csv"
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    frame["client_ref"] = ""
    frame.to_csv(path, index=False)


def fragments_and_merges(true_labels: np.ndarray, labels: np.ndarray) -> dict[str, int]:
    """People split (and the extra clusters they make) and people merged with someone else."""
    cells = pd.DataFrame({"t": true_labels, "p": labels}).drop_duplicates()
    clusters_per_person = cells.groupby("t").size()
    persons_per_cluster = cells.groupby("p").size()
    merged_clusters = persons_per_cluster[persons_per_cluster > 1].index
    return {"people": int(len(clusters_per_person)),
            "people_split": int((clusters_per_person > 1).sum()),
            "extra_clusters": int((clusters_per_person - 1).sum()),
            "people_merged": int(cells[cells["p"].isin(merged_clusters)]["t"].nunique()),
            "merged_clusters": int(len(merged_clusters))}


PER_KIND = ("name_order_swap", "forename_initial", "surname_change", "double_barrelled_part", "dob_jan1_person",
            "dob_default_jan1", "dob_first_of_month", "dob_year_off", "ni_digit_typo", "typo", "name_variant",
            "dob_day_month_swap")


def recall_by_kind(frame: pd.DataFrame, truth: np.ndarray, labels: np.ndarray, mess: pd.DataFrame,
                   kinds: tuple[str, ...] = PER_KIND) -> dict[str, float]:
    """Pairwise recall of the true pairs involving a record with each kind of identifier error:
    of the other records of its person, the share in its predicted cluster (pooled over records)."""
    cells = pd.DataFrame({"t": truth, "p": labels})
    person_size = cells.groupby("t")["t"].transform("size").to_numpy()
    together = cells.groupby(["t", "p"])["t"].transform("size").to_numpy()
    source = mess["file"].str.replace(r"(_(oxford_city|cherwell|south_oxfordshire|vale_of_white_horse|"
                                      r"west_oxfordshire))?\.csv$", "", regex=True)
    keyed = pd.Series(np.arange(len(frame)), index=pd.MultiIndex.from_arrays(
        [frame["source"].astype(str), frame["record_id"].astype(str)]))
    out = {}
    for kind in kinds:
        sel = mess["kind"] == kind
        keys = pd.MultiIndex.from_arrays([source[sel], mess.loc[sel, "record_id"]]).unique()
        rows = keyed.reindex(keys).dropna().astype(int).to_numpy()
        rows = rows[person_size[rows] > 1]
        out[f"recall_{kind}"] = (float((together[rows] - 1).sum() / (person_size[rows] - 1).sum())
                                 if len(rows) else float("nan"))
    return out


def measure(frame: pd.DataFrame, truth: np.ndarray, settings_path: str | None,
            mess: pd.DataFrame | None = None, kinds: tuple[str, ...] = PER_KIND) -> dict:
    settings = load_settings(None if settings_path in (None, "package") else settings_path)
    result = link_frame(frame, settings)
    q = linkage_quality(truth, result.labels)
    per_kind = recall_by_kind(frame, truth, result.labels, mess, kinds) if mess is not None else {}
    return {"records": len(frame), "precision": q.pairwise_precision, "recall": q.pairwise_recall,
            "f1": q.pairwise_f1, **fragments_and_merges(truth, result.labels),
            "pairs_scored": len(result.pairs), "link_seconds": round(result.total_seconds, 1), **per_kind}


def run(args: argparse.Namespace) -> pd.DataFrame:
    done = pd.read_csv(args.csv) if args.csv and args.csv.exists() else pd.DataFrame(columns=KEY)
    have = set(map(tuple, done[KEY].astype(str).to_numpy()))
    named = dict(s.split("=", 1) for s in args.settings)
    rows = []
    for seed in args.seeds:
        for scenario in args.scenarios:
            todo = [(ref, name) for ref in ("with", "without") for name in named
                    if (str(seed), scenario, ref, name) not in have]
            if not todo:
                continue
            with tempfile.TemporaryDirectory(prefix=f"linkerr-{seed}-") as tmp:
                county = Path(tmp)
                generate_county(county, seed=seed, scale=args.scale, scenario=scenario, progress=False)
                for ref in ("with", "without"):
                    if ref == "without":
                        blank_client_reference(county / "extracts")
                    frame = extracts_linkage_frame(county / "extracts")
                    truth = np.asarray(link_truth(frame, county / "truth"))
                    mess = (pd.read_csv(county / "truth" / "mess_log.csv", dtype=str, keep_default_na=False)
                            if args.per_kind else None)
                    for name, path in named.items():
                        if (ref, name) not in todo:
                            continue
                        row = {"seed": seed, "scenario": scenario, "client_ref": ref, "settings": name,
                               "scale": args.scale, **measure(frame, truth, path, mess)}
                        print(row, flush=True)
                        rows.append(row)
                        if args.csv:
                            pd.DataFrame([row]).to_csv(args.csv, mode="a", header=not args.csv.exists(), index=False)
    return pd.concat([done, pd.DataFrame(rows)], ignore_index=True) if rows else done


def summary(runs: pd.DataFrame) -> str:
    lines = ["| scenario | client reference | settings | seeds | precision | recall | F1 (min-max) | people split "
             "(extra clusters) | people merged | link time (s) |", "|---|---|---|---|---|---|---|---|---|---|"]
    for (scenario, ref, name), r in runs.groupby(["scenario", "client_ref", "settings"], sort=False):
        lines.append(
            f"| {scenario} | {ref} | {name} | {len(r)} | {r['precision'].mean():.4f} | {r['recall'].mean():.4f} | "
            f"{r['f1'].mean():.4f} ({r['f1'].min():.3f}-{r['f1'].max():.3f}) | "
            f"{r['people_split'].mean() / r['people'].mean():.2%} ({r['extra_clusters'].mean():.0f}) | "
            f"{r['people_merged'].mean() / r['people'].mean():.2%} ({r['people_merged'].mean():.0f}) | "
            f"{r['link_seconds'].mean():.1f} |")
    return "\n".join(lines)


def time_county(scale: float, named: dict[str, str], repeat: int) -> str:
    """Linkage time of the default county (default seed) under each settings file, ``repeat`` runs
    each, alternating, with splink's stages."""
    lines = ["| settings | run | records | prepare | train | predict | cluster | total (s) | F1 |", "|---|---|---|---|---|---|---|---|---|"]
    with tempfile.TemporaryDirectory(prefix="linkerr-time-") as tmp:
        generate_county(tmp, scale=scale, progress=False)
        frame = extracts_linkage_frame(Path(tmp) / "extracts")
        truth = np.asarray(link_truth(frame, Path(tmp) / "truth"))
        for run_no in range(1, repeat + 1):
            for name, path in named.items():
                result = link_frame(frame, load_settings(None if path == "package" else path))
                st = result.seconds
                lines.append(f"| {name} | {run_no} | {len(frame):,} | " + " | ".join(
                    f"{st.get(k, float('nan')):.1f}" for k in ("prepare", "train", "predict", "cluster"))
                    + f" | {result.total_seconds:.1f} | {linkage_quality(truth, result.labels).pairwise_f1:.4f} |")
                print(lines[-1], flush=True)
    return "\n".join(lines)


def in_settings_order(runs: pd.DataFrame, settings: list[str], by: list[str]) -> pd.DataFrame:
    """Runs sorted by ``by``, then the settings in the order given on the command line, then seed."""
    order = {name: i for i, name in enumerate(s.split("=", 1)[0] for s in settings)}
    return (runs.assign(_o=runs["settings"].map(order)).sort_values([*by, "_o", "seed"], kind="stable")
            .drop(columns="_o"))


def recall_table(runs: pd.DataFrame, by: list[str], kinds: list[str]) -> str:
    """Markdown: mean pairwise recall per kind of error (``recall_<kind>`` columns) over seeds, per ``by``."""
    per = runs.groupby(by, sort=False)[kinds].mean()
    heads = {"scenario": "scenario", "client_ref": "client reference", "settings": "settings"}
    return ("\n\nPairwise recall of the true pairs involving a record with each kind of error (means over seeds):\n\n"
            "| " + " | ".join(heads.get(b, b) for b in by) + " | " + " | ".join(k[7:] for k in kinds) + " |\n|"
            + "---|" * (len(by) + len(kinds)) + "\n" + "\n".join(
                "| " + " | ".join(str(v) for v in i) + " | " + " | ".join(f"{v:.3f}" for v in r) + " |"
                for i, r in zip(per.index, per.to_numpy(), strict=True)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[200, 201, 202])
    parser.add_argument("--scale", type=float, default=0.5)
    parser.add_argument("--scenarios", nargs="+", default=list(SCENARIOS))
    parser.add_argument("--settings", nargs="+", default=["after=package"],
                        help="NAME=PATH of linkage settings files (PATH 'package' for the packaged one)")
    parser.add_argument("--csv", type=Path, default=None)
    parser.add_argument("--md", type=Path, default=None)
    parser.add_argument("--per-kind", action="store_true",
                        help="also the pairwise recall of pairs involving each kind of identifier error")
    parser.add_argument("--time-county", type=float, default=None, metavar="SCALE",
                        help="only time the linkage of the default county at this scale, each settings file twice")
    args = parser.parse_args()
    if args.time_county is not None:
        print(time_county(args.time_county, dict(s.split("=", 1) for s in args.settings), repeat=2))
        return
    runs = in_settings_order(run(args), args.settings, ["scenario", "client_ref"])
    text = (f"Generated by `python benchmarks/bench_linkage_errors.py` on {dt.date.today().isoformat()}: "
            f"seeds {sorted(runs['seed'].unique().tolist())} at scale {runs['scale'].iloc[0]}, means over seeds; "
            "people split and merged as a share of true people (mean count in brackets). Link time is splink's "
            "train + score + cluster on 2 shared cores.\n\n" + summary(runs))
    kinds = [c for c in runs.columns if c.startswith("recall_")]
    if kinds:
        text += recall_table(runs, ["scenario", "client_ref", "settings"], kinds)
    print(text)
    if args.md:
        args.md.write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
