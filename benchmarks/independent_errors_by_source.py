"""Recall of the independent identifier-error model's records by source (outreach or not), overall and
for three kinds: a follow-up of benchmarks/results/linkage_independent_errors.md, packaged settings.

    python benchmarks/independent_errors_by_source.py 300
"""

from __future__ import annotations

import importlib.util
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from workbench.ingest.pipeline import extracts_linkage_frame
from workbench.linkage.model import link_frame
from workbench.linkage.settings import load_settings
from workbench.synthetic import generate_county
from workbench.synthetic.evaluation import link_truth

DISTRICT_SUFFIX = r"(_(oxford_city|cherwell|south_oxfordshire|vale_of_white_horse|west_oxfordshire))?\.csv$"


def _independent():
    spec = importlib.util.spec_from_file_location(
        "independent_identifier_errors", Path(__file__).with_name("independent_identifier_errors.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def recall_rows(truth: np.ndarray, labels: np.ndarray, rows: np.ndarray) -> tuple[float, int]:
    """Of the other records of each given record's person, the share in its cluster (pooled)."""
    cells = pd.DataFrame({"t": truth, "p": labels})
    size = cells.groupby("t")["t"].transform("size").to_numpy()
    together = cells.groupby(["t", "p"])["t"].transform("size").to_numpy()
    rows = rows[size[rows] > 1]
    return float((together[rows] - 1).sum() / (size[rows] - 1).sum()), len(rows)


def main(seed: int) -> None:
    ind = _independent()
    bench = ind._bench()
    with tempfile.TemporaryDirectory() as tmp:
        county = Path(tmp)
        generate_county(county, seed=seed, scale=0.5, progress=False)
        log = ind.perturb_county(county, seed=10_000 + seed)
        log_source = log["file"].str.replace(DISTRICT_SUFFIX, "", regex=True)
        for ref in ("with", "without"):
            if ref == "without":
                bench.blank_client_reference(county / "extracts")
            frame = extracts_linkage_frame(county / "extracts")
            truth = np.asarray(link_truth(frame, county / "truth"))
            labels = link_frame(frame, load_settings()).labels
            src = frame["source"].astype(str).to_numpy()
            keyed = pd.Series(np.arange(len(frame)), index=pd.MultiIndex.from_arrays([src, frame["record_id"].astype(str)]))
            out = {f"all {name}": recall_rows(truth, labels, np.flatnonzero(sel))
                   for name, sel in (("outreach", src == "outreach_contacts"), ("other sources", src != "outreach_contacts"))}
            for kind in ("surname_change", "typo", "name_variant"):
                for name, is_outreach in (("outreach", True), ("other sources", False)):
                    sel = (log["kind"] == kind) & ((log_source == "outreach_contacts") == is_outreach)
                    keys = pd.MultiIndex.from_arrays([log_source[sel], log.loc[sel, "record_id"]]).unique()
                    rows = keyed.reindex(keys).dropna().astype(int).to_numpy()
                    out[f"{kind} {name}"] = recall_rows(truth, labels, rows) if len(rows) else (float("nan"), 0)
            for key, (recall, n) in out.items():
                print(f"seed {seed} ref {ref} | {key} | recall {recall:.3f} | records {n}", flush=True)


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 300)
