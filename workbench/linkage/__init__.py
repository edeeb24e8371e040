"""Person linkage: which records belong to the same person, before identifiers are dropped.

- :mod:`workbench.linkage.persons` - the linkage frame's columns, :func:`link_people` (a method
  name or a linker object), :func:`person_ids`;
- :mod:`workbench.linkage.normalise` - names and NI numbers in one form;
- :mod:`workbench.linkage.deterministic` - exact agreement, the fallback and baseline;
- :mod:`workbench.linkage.settings` - the probabilistic model as data (``settings.yaml``, ``nicknames.csv``);
- :mod:`workbench.linkage.model` - train, score and cluster with splink: :func:`link_frame`;
- :mod:`workbench.linkage.quality` - pairwise and cluster metrics, PR curve, clerical review.

The ingest uses it through ``workbench.linkage.persons.link_people(frame, "splink")``; it imports
nothing from the ingest, the store or the synthetic county. Measuring a linkage against the synthetic
county's truth is the synthetic county's evaluation module's work (``synthetic/evaluation.py``).
"""

from workbench.linkage.model import LinkageResult, link_frame
from workbench.linkage.quality import LinkageQuality, linkage_quality
from workbench.linkage.settings import LinkageSettings, load_settings

__all__ = ["LinkageQuality", "LinkageResult", "LinkageSettings", "link_frame", "linkage_quality", "load_settings"]
