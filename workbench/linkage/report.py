"""``workbench linkage-quality``: how well the linkage recovers the synthetic county's true people."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from workbench.linkage.quality import LinkageQuality, linkage_quality

OUTPUT_FOLDER = "linkage_quality"


def _county(out_dir: Path, seed: int) -> Path:
    """The county in ``out_dir``: reused if already generated there, else generated."""
    if (out_dir / "extracts" / "extract.yaml").exists() and (out_dir / "truth").is_dir():
        return out_dir
    from workbench.synthetic import generate_county

    generate_county(out_dir, seed=seed, progress=False)
    return out_dir


_CACHE: dict[tuple, tuple] = {}


def link_county(county_dir: str | Path, threshold: float | None = None):
    """Linkage frame, true labels and splink result for a generated county.

    The last result is kept for the life of the process (one entry), so a report run straight
    after a test or notebook on the same county and threshold does not link it twice.
    """
    from workbench.linkage.county import county_frame
    from workbench.linkage.model import link_frame

    county = Path(county_dir).resolve()
    manifest = county / "extracts" / "extract.yaml"
    key = (str(county), manifest.stat().st_mtime_ns if manifest.exists() else None, threshold)
    if key not in _CACHE:
        _CACHE.clear()
        frame, truth = county_frame(county)
        _CACHE[key] = (frame, np.asarray(truth), link_frame(frame, threshold=threshold))
    return _CACHE[key]


def _quality_lines(q: LinkageQuality) -> list[str]:
    return [
        f"  pairwise   precision {q.pairwise_precision:.4f}  recall {q.pairwise_recall:.4f}  F1 {q.pairwise_f1:.4f}"
        f"   ({q.correct_pairs:,} of {q.predicted_pairs:,} linked pairs correct; {q.true_pairs:,} true pairs)",
        f"  B-cubed    precision {q.bcubed_precision:.4f}  recall {q.bcubed_recall:.4f}  F1 {q.bcubed_f1:.4f}",
        f"  people     {q.predicted_persons:,} found for {q.true_persons:,} true; exactly recovered "
        f"{q.persons_exactly_recovered:.1%}, split {q.persons_split:.1%}, merged with someone {q.persons_merged:.1%}",
    ]


def quality_report(seed: int | None = None, threshold: float | None = None, out_dir: str | Path | None = None) -> str:
    """Link the synthetic county and measure the result against its truth; return the report text.

    The county is generated into ``out_dir`` (or a temporary folder) unless already there. With
    ``out_dir`` the PR curve (CSV and PNG), the pairs the model is unsure about (clerical review
    sample, labelled, synthetic data only) and the report are written to ``<out_dir>/linkage_quality``.
    """
    from workbench.ingest.linkage import link_deterministic
    from workbench.linkage.quality import (
        clerical_sample,
        export_clerical_review,
        plot_pr_curve,
        pr_curve,
    )
    from workbench.synthetic import DEFAULT_SEED

    seed = DEFAULT_SEED if seed is None else seed
    with tempfile.TemporaryDirectory(prefix="workbench-linkage-") as tmp:
        root = Path(out_dir) if out_dir is not None else Path(tmp)
        root.mkdir(parents=True, exist_ok=True)
        t0 = time.perf_counter()
        county = _county(root, seed)
        frame, truth, result = link_county(county, threshold)
        wall_s = time.perf_counter() - t0

        t0 = time.perf_counter()
        baseline = link_deterministic(frame)
        det_s = time.perf_counter() - t0
        q = linkage_quality(truth, result.labels)
        qd = linkage_quality(truth, baseline)
        curve = pr_curve(result, truth)

        th = result.settings.threshold
        lines = [
            f"Person linkage on the synthetic county (seed {seed}): {len(frame):,} records, "
            f"{q.true_persons:,} true people.",
            f"splink ({result.backend}), match-probability threshold {th:g}:",
            *_quality_lines(q),
            f"  time       {result.total_seconds:.1f} s (" + ", ".join(f"{k} {v:.1f} s" for k, v in result.seconds.items())
            + f"); {len(result.pairs):,} pairs scored above {result.settings.prediction_floor:g}",
            "deterministic baseline (exact NI number, or exact first name + last name + date of birth):",
            *_quality_lines(qd),
            f"  time       {det_s:.1f} s",
            "precision-recall over thresholds (pairwise; B-cubed F1):",
            "  threshold  precision  recall    F1      B3-F1   people",
        ]
        for r in curve.itertuples():
            mark = "  <- chosen" if np.isclose(r.threshold, th) else ""
            lines.append(f"  {r.threshold:<9g}  {r.precision:.4f}     {r.recall:.4f}    {r.f1:.4f}  {r.bcubed_f1:.4f}  "
                         f"{r.persons:,}{mark}")
        best = curve.loc[curve["f1"].idxmax()]
        lines.append(f"  best pairwise F1 {best.f1:.4f} at threshold {best.threshold:g}.")
        for note in result.notes:
            lines.append(f"note: {note}")
        lines.append(f"(generating or reading the county, validating its extracts and linking took {wall_s:.1f} s)")

        if out_dir is not None:
            dest = root / OUTPUT_FOLDER
            dest.mkdir(exist_ok=True)
            curve.to_csv(dest / "pr_curve.csv", index=False)
            plot_pr_curve(curve, dest / "pr_curve.png", chosen=th)
            sample = clerical_sample(result, frame)
            review = export_clerical_review(sample, dest / "uncertain_pairs.csv", root, synthetic=True)
            pd.DataFrame([q.as_dict()]).to_csv(dest / "quality.csv", index=False)
            lines.append(f"Written to {dest}: pr_curve.csv, pr_curve.png, quality.csv, {review.name} "
                         f"({len(sample)} uncertain pairs for clerical review).")
        text = "\n".join(lines)
        if out_dir is not None:
            (root / OUTPUT_FOLDER / "report.txt").write_text(text + "\n", encoding="utf-8")
    print(text)
    return text
