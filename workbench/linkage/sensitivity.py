"""How much does linkage error move a study's result? Rerun its headline figure twice: with the true
linkage of the synthetic county, and with the estimated (splink) linkage, and report both.

    from workbench.linkage.sensitivity import compare_linkage

    def share_of_outreach_people_with_a_statutory_case(person_ids):
        source = person_ids.index.get_level_values("source")
        outreach = set(person_ids[source == "outreach_contacts"])
        return len(outreach & set(person_ids[source == "statutory_cases"])) / len(outreach)

    result = compare_linkage(county_dir, share_of_outreach_people_with_a_statutory_case)
    result.true_value, result.estimated_value, result.difference

The headline function receives one person id per record, indexed by (source, record_id), so it can
count people per source, follow a person across sources, or join to the extracts' other columns.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from workbench.linkage.quality import LinkageQuality, linkage_quality


@dataclass(frozen=True)
class LinkageSensitivity:
    true_value: float
    estimated_value: float
    quality: LinkageQuality  # of the estimated linkage against the truth
    method: str = "splink"

    @property
    def difference(self) -> float:
        """Estimated minus true: how far linkage error moves the figure."""
        return self.estimated_value - self.true_value

    @property
    def relative_difference(self) -> float:
        return self.difference / self.true_value if self.true_value else float("nan")

    def summary(self, name: str = "headline") -> str:
        return (f"{name}: {self.true_value:.4g} with the true linkage, {self.estimated_value:.4g} with "
                f"{self.method} linkage (difference {self.difference:+.4g}, {self.relative_difference:+.1%}); "
                f"linkage pairwise precision {self.quality.pairwise_precision:.3f}, "
                f"recall {self.quality.pairwise_recall:.3f}.")


def person_series(frame: pd.DataFrame, labels: np.ndarray, prefix: str = "p") -> pd.Series:
    """Person id per record, indexed by (source, record_id)."""
    index = pd.MultiIndex.from_arrays([frame["source"].astype(str).to_numpy(),
                                       frame["record_id"].astype(str).to_numpy()], names=["source", "record_id"])
    return pd.Series([f"{prefix}{int(v)}" for v in labels], index=index, name="person_id")


def compare_linkage(
    frame_or_county: pd.DataFrame | str | Path,
    headline: Callable[[pd.Series], float],
    *,
    truth_dir: str | Path | None = None,
    true_labels: np.ndarray | None = None,
    estimated_labels: np.ndarray | None = None,
    method: str = "splink",
    threshold: float | None = None,
) -> LinkageSensitivity:
    """The headline figure under the true and the estimated linkage.

    ``frame_or_county`` is a generated county's folder (with ``extracts/`` and ``truth/``) or a
    linkage frame; with a frame give ``truth_dir`` or ``true_labels``. ``estimated_labels`` skips
    rerunning the linkage when it has already been run on the same frame.
    """
    from workbench.ingest.linkage import link_deterministic, link_truth

    if isinstance(frame_or_county, str | Path):
        from workbench.linkage.county import county_frame

        frame, true_labels = county_frame(frame_or_county)
    else:
        frame = frame_or_county.reset_index(drop=True)
        if true_labels is None:
            if truth_dir is None:
                raise ValueError("With a linkage frame, give truth_dir or true_labels.")
            true_labels = link_truth(frame, truth_dir)
    true_labels = np.asarray(true_labels)
    if estimated_labels is None:
        if method == "splink":
            from workbench.linkage.model import link_frame

            estimated_labels = link_frame(frame, threshold=threshold).labels
        elif method == "deterministic":
            estimated_labels = link_deterministic(frame)
        else:
            raise ValueError(f"Unknown linkage method {method!r}: splink or deterministic.")
    estimated_labels = np.asarray(estimated_labels)
    if len(true_labels) != len(frame) or len(estimated_labels) != len(frame):
        raise ValueError("Labels must have one entry per row of the linkage frame.")
    return LinkageSensitivity(
        true_value=float(headline(person_series(frame, true_labels, "t"))),
        estimated_value=float(headline(person_series(frame, estimated_labels, "e"))),
        quality=linkage_quality(true_labels, estimated_labels),
        method=method,
    )
