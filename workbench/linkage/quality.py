"""Linkage quality against a known truth: pairwise and cluster metrics, the precision-recall curve,
and a clerical-review sample of uncertain pairs.

Pairwise metrics count *record pairs placed in the same person*: a pair is predicted if both records
share a predicted cluster, true if both share a true person. So a person with 20 outreach contacts
contributes 190 pairs: pairwise metrics weigh heavily-recorded people most. Cluster metrics
(B-cubed, exact recovery) weigh every record or every person equally, so they are reported too.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from workbench.spreadsheets import write_csv

REVIEW_LABEL = "CLERICAL REVIEW - CONTAINS IDENTIFIERS"


class ClericalExportError(PermissionError):
    """The clerical review file would be written somewhere it must not be."""


@dataclass(frozen=True)
class LinkageQuality:
    records: int
    true_persons: int
    predicted_persons: int
    true_pairs: int
    predicted_pairs: int
    correct_pairs: int
    pairwise_precision: float
    pairwise_recall: float
    pairwise_f1: float
    bcubed_precision: float
    bcubed_recall: float
    bcubed_f1: float
    persons_exactly_recovered: float  # share of true persons whose records form exactly one predicted cluster
    persons_split: float  # share of true persons spread over two or more predicted clusters
    persons_merged: float  # share of true persons sharing a predicted cluster with someone else

    def as_dict(self) -> dict[str, float]:
        return asdict(self)


def _pairs(counts: np.ndarray) -> int:
    counts = counts.astype(np.int64)
    return int((counts * (counts - 1) // 2).sum())


def _f1(p: float, r: float) -> float:
    return 0.0 if p + r == 0 else 2 * p * r / (p + r)


def linkage_quality(true_labels: np.ndarray | pd.Series, predicted_labels: np.ndarray | pd.Series) -> LinkageQuality:
    """Pairwise and cluster-level agreement of predicted clusters with the true persons."""
    t = pd.factorize(pd.Series(np.asarray(true_labels)))[0]
    p = pd.factorize(pd.Series(np.asarray(predicted_labels)))[0]
    if len(t) != len(p):
        raise ValueError(f"{len(t)} true labels but {len(p)} predicted labels.")
    n = len(t)
    if n == 0:
        raise ValueError("No records to measure.")
    cells = pd.DataFrame({"t": t, "p": p}).value_counts()  # records per (true, predicted) pair
    true_size = np.bincount(t)
    pred_size = np.bincount(p)
    correct = _pairs(cells.to_numpy())
    true_pairs, pred_pairs = _pairs(true_size), _pairs(pred_size)
    precision = correct / pred_pairs if pred_pairs else 1.0
    recall = correct / true_pairs if true_pairs else 1.0

    # B-cubed: for each record, the share of its predicted cluster that is truly its person
    # (precision) and the share of its person found in its predicted cluster (recall).
    ct, cp = cells.index.get_level_values("t"), cells.index.get_level_values("p")
    k = cells.to_numpy().astype(float)
    b_precision = float((k * k / pred_size[cp]).sum() / n)
    b_recall = float((k * k / true_size[ct]).sum() / n)

    ct, cp = np.asarray(ct), np.asarray(cp)
    clusters_per_person = np.bincount(ct, minlength=len(true_size))
    persons_per_cluster = np.bincount(cp, minlength=len(pred_size))
    whole = clusters_per_person == 1
    # Exactly recovered: all the person's records in one predicted cluster that holds nobody else.
    alone = np.zeros(len(true_size), dtype=bool)
    alone[ct[persons_per_cluster[cp] == 1]] = True
    merged = np.zeros(len(true_size), dtype=bool)
    merged[ct[persons_per_cluster[cp] > 1]] = True
    return LinkageQuality(
        records=n, true_persons=len(true_size), predicted_persons=len(pred_size),
        true_pairs=true_pairs, predicted_pairs=pred_pairs, correct_pairs=correct,
        pairwise_precision=precision, pairwise_recall=recall, pairwise_f1=_f1(precision, recall),
        bcubed_precision=b_precision, bcubed_recall=b_recall, bcubed_f1=_f1(b_precision, b_recall),
        persons_exactly_recovered=float((whole & alone).mean()),
        persons_split=float((~whole).mean()),
        persons_merged=float(merged.mean()),
    )


DEFAULT_CURVE_THRESHOLDS = (0.02, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.95,
                            0.97, 0.98, 0.99, 0.995, 0.999, 0.9999)


def pr_curve(result, true_labels: np.ndarray, thresholds: tuple[float, ...] | list[float] | None = None) -> pd.DataFrame:
    """Pairwise and B-cubed precision/recall/F1 at each clustering threshold, from one scoring.

    ``result`` is a :class:`workbench.linkage.model.LinkageResult` (anything with ``labels_at``).
    """
    thresholds = DEFAULT_CURVE_THRESHOLDS if thresholds is None else thresholds
    rows = []
    floor = result.settings.prediction_floor
    for th in sorted(t for t in thresholds if t >= floor):
        q = linkage_quality(true_labels, result.labels_at(th))
        rows.append(dict(threshold=th, precision=q.pairwise_precision, recall=q.pairwise_recall,
                         f1=q.pairwise_f1, bcubed_precision=q.bcubed_precision,
                         bcubed_recall=q.bcubed_recall, bcubed_f1=q.bcubed_f1,
                         persons=q.predicted_persons, exactly_recovered=q.persons_exactly_recovered))
    return pd.DataFrame(rows)


def plot_pr_curve(curve: pd.DataFrame, path: str | Path | None = None, *, chosen: float | None = None):
    """Precision against recall (pairwise and B-cubed), thresholds marked; saved if ``path`` given."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 4.8))
    ax.plot(curve["recall"], curve["precision"], "o-", label="pairwise", ms=3)
    ax.plot(curve["bcubed_recall"], curve["bcubed_precision"], "s--", label="B-cubed", ms=3)
    for r in curve.itertuples():
        if r.threshold in (0.1, 0.5, 0.9, 0.95, 0.99, 0.999) or r.threshold == chosen:
            ax.annotate(f"{r.threshold:g}", (r.recall, r.precision), fontsize=7,
                        xytext=(3, -9), textcoords="offset points")
    if chosen is not None and (curve["threshold"] == chosen).any():
        c = curve[curve["threshold"] == chosen].iloc[0]
        ax.plot([c.recall], [c.precision], "r*", ms=12, label=f"threshold {chosen:g}")
    ax.set_xlabel("recall")
    ax.set_ylabel("precision")
    ax.set_title("Person linkage: precision and recall by threshold")
    ax.grid(alpha=0.3)
    ax.legend(loc="lower left")
    fig.tight_layout()
    if path is not None:
        fig.savefig(path, dpi=120)
        plt.close(fig)
    return fig


def clerical_sample(
    result,
    frame: pd.DataFrame,
    *,
    band: tuple[float, float] | None = None,
    n: int = 200,
    seed: int | None = None,
) -> pd.DataFrame:
    """A random sample of uncertain pairs (probability within ``band``) with both records side by
    side, for a person to judge. Identifiers are included: keep it inside the secure setting."""
    band = band or result.settings.clerical_band
    seed = result.settings.seed if seed is None else seed
    pairs = result.pairs
    uncertain = pairs[(pairs["match_probability"] >= band[0]) & (pairs["match_probability"] < band[1])]
    sample = uncertain.sample(n=min(n, len(uncertain)), random_state=seed).sort_values("match_probability")
    cols = ["source", "record_id", "first_name", "last_name", "date_of_birth", "ni_number", "client_ref",
            "approximate_age", "gender", "district", "event_date"]
    cols = [c for c in cols if c in frame.columns]  # hand-built frames may lack the client reference
    base = frame.reset_index(drop=True)[cols]
    left = base.iloc[sample["unique_id_l"].to_numpy()].add_suffix("_l").reset_index(drop=True)
    right = base.iloc[sample["unique_id_r"].to_numpy()].add_suffix("_r").reset_index(drop=True)
    out = pd.concat([sample[["match_probability", "match_weight"]].reset_index(drop=True), left, right], axis=1)
    interleaved = ["match_probability", "match_weight"] + [f"{c}_{s}" for c in cols for s in ("l", "r")]
    out = out[interleaved]
    out.insert(0, "pair", np.arange(1, len(out) + 1))
    out["reviewer_decision"] = ""  # same person / different people / cannot tell
    return out


def export_clerical_review(sample: pd.DataFrame, path: str | Path, data_dir: str | Path, *, synthetic: bool) -> Path:
    """Write the clerical sample as CSV, only inside ``data_dir`` and under a name that says what it is.

    The file holds direct identifiers side by side, which is acceptable only for the synthetic
    county or for an authorised reviewer inside the secure ingest setting: so it is refused anywhere
    outside the data directory, and its name and first line carry the label.
    """
    data_dir = Path(data_dir).resolve()
    target = Path(path)
    if not target.is_absolute():
        target = data_dir / target
    target = target.resolve()
    if not target.is_relative_to(data_dir):
        raise ClericalExportError(
            f"Refusing to write the clerical review file to {target}: it holds identifiers and may only "
            f"be written inside the data directory {data_dir}.")
    tag = "SYNTHETIC" if synthetic else "IDENTIFIABLE"
    if not target.name.startswith("CLERICAL_REVIEW"):
        target = target.with_name(f"CLERICAL_REVIEW_{tag}_{target.name}")
    if target.suffix.lower() != ".csv":
        target = target.with_suffix(".csv")
    target.parent.mkdir(parents=True, exist_ok=True)
    header = (f"# {REVIEW_LABEL} ({'synthetic county' if synthetic else 'REAL DATA - authorised reviewers only'}); "
              f"written {dt.datetime.now(dt.UTC).strftime('%Y-%m-%d %H:%M UTC')}; "
              "do not copy outside the secure setting; delete after review.\n")
    with target.open("w", encoding="utf-8", newline="") as fh:
        fh.write(header)
        write_csv(sample, fh, index=False)
    return target
