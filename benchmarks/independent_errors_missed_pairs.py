"""Where pairwise recall is lost on the independent identifier-error model without the outreach client
reference (issue 18's F1 target), packaged settings:

* the share of missed pair-ends (for each record, the other records of its person outside its cluster)
  by source, by weak record (no last name, or neither date of birth nor NI number) and by anonymous
  outreach contact (the model's nickname-and-age-band contacts);
* for weak outreach records left out of every well-identified person, the best pair probability with a
  well-identified record of their own person and with one of anybody else: whether any pairwise model
  could have told them apart.

    python benchmarks/independent_errors_missed_pairs.py 310 311 312
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
from independent_errors_by_source import DISTRICT_SUFFIX, _independent  # noqa: E402  (benchmarks/ on the path)

from workbench.ingest.pipeline import extracts_linkage_frame
from workbench.linkage.model import link_frame
from workbench.linkage.quality import linkage_quality
from workbench.synthetic import generate_county
from workbench.synthetic.evaluation import link_truth


def missed_pairs(seed: int, scale: float) -> tuple[dict, pd.DataFrame, pd.DataFrame]:
    iie = _independent()
    with tempfile.TemporaryDirectory(prefix=f"missed-{seed}-") as tmp:
        county = Path(tmp)
        generate_county(county, seed=seed, scale=scale, progress=False)
        log = iie.perturb_county(county, seed=10_000 + seed)
        iie._bench().blank_client_reference(county / "extracts")
        frame = extracts_linkage_frame(county / "extracts")
        truth = np.asarray(link_truth(frame, county / "truth"))
    result = link_frame(frame)
    labels, weak = result.labels, np.asarray(result.weak, dtype=bool)
    q = linkage_quality(truth, labels)
    cells = pd.DataFrame({"t": truth, "p": labels})
    size = cells.groupby("t")["t"].transform("size").to_numpy()
    missed = size - cells.groupby(["t", "p"])["t"].transform("size").to_numpy()
    source = frame["source"].astype(str).to_numpy()
    anonymous = log[log["kind"] == "outreach_anonymous"]
    keys = pd.MultiIndex.from_arrays([anonymous["file"].str.replace(DISTRICT_SUFFIX, "", regex=True),
                                      anonymous["record_id"]])
    index = pd.Series(np.arange(len(frame)), index=pd.MultiIndex.from_arrays([source, frame["record_id"].astype(str)]))
    is_anonymous = np.zeros(len(frame), dtype=bool)
    is_anonymous[index.reindex(keys).dropna().astype(int).to_numpy()] = True
    records = pd.DataFrame({"seed": seed, "source": source, "weak": weak, "anonymous": is_anonymous,
                            "missed": missed, "possible": size - 1})
    shares = records.groupby(["seed", "source", "weak", "anonymous"])[["missed", "possible"]].sum().reset_index()
    shares["share_of_missed"] = shares["missed"] / records["missed"].sum()

    # weak outreach records in a cluster without any well-identified record: given to nobody
    strong_in_cluster = pd.Series(~weak).groupby(labels).transform("sum").to_numpy() > 0
    left_out = np.flatnonzero((source == "outreach_contacts") & weak & ~strong_in_cluster & (missed > 0))
    pairs = result.pairs
    a, b, p = (pairs["unique_id_l"].to_numpy(), pairs["unique_id_r"].to_numpy(), pairs["match_probability"].to_numpy())
    both = pd.DataFrame({"i": np.r_[a, b], "j": np.r_[b, a], "p": np.r_[p, p]})
    both = both[both["i"].isin(left_out) & ~weak[both["j"]]]
    both["own_person"] = truth[both["i"]] == truth[both["j"]]
    best = both.groupby(["i", "own_person"])["p"].max().reset_index()
    best["kind"] = np.where(is_anonymous[best["i"]], "anonymous contact", "other weak contact")
    best["seed"] = seed
    summary = {"seed": seed, "precision": q.pairwise_precision, "recall": q.pairwise_recall, "f1": q.pairwise_f1,
               "weak_outreach_share_of_missed": float(records.loc[(records.source == "outreach_contacts") & records.weak,
                                                                  "missed"].sum() / records["missed"].sum()),
               "left_out_weak_outreach_records": len(left_out)}
    return summary, shares, best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("seeds", type=int, nargs="+")
    parser.add_argument("--scale", type=float, default=0.5)
    args = parser.parse_args()
    summaries, shares, bests = zip(*(missed_pairs(s, args.scale) for s in args.seeds), strict=True)
    print(pd.DataFrame(summaries).round(4).to_string(index=False))
    print()
    shares = pd.concat(shares)
    pooled = shares.groupby(["source", "weak", "anonymous"])[["missed", "possible"]].sum()
    pooled["share_of_missed"] = pooled["missed"] / pooled["missed"].sum()
    pooled["recall"] = 1 - pooled["missed"] / pooled["possible"]
    print(pooled.round(3).to_string())
    print()
    best = pd.concat(bests).groupby(["kind", "own_person"])["p"].describe(percentiles=[0.25, 0.5, 0.75])
    print("Best pair probability of a weak outreach record given to nobody, with a well-identified record of its "
          "own person (True) or of anybody else (False):")
    print(best.round(3).to_string())


if __name__ == "__main__":
    main()
