"""Probabilistic person linkage (splink), measured against the synthetic county's truth.

- :mod:`workbench.linkage.settings` - the model as data (``settings.yaml``, ``nicknames.csv``);
- :mod:`workbench.linkage.model` - train, score and cluster: :func:`link_frame`;
- :mod:`workbench.linkage.quality` - pairwise and cluster metrics, PR curve, clerical review;
- :mod:`workbench.linkage.report` - :func:`quality_report` on the synthetic county;
- :mod:`workbench.linkage.sensitivity` - :func:`compare_linkage`: a study's headline figure under
  the true and the estimated linkage.

Ingest uses it through ``workbench.ingest.linkage.link_people(frame, "splink")``.
"""

from workbench.linkage.model import LinkageResult, link_frame
from workbench.linkage.quality import LinkageQuality, linkage_quality
from workbench.linkage.settings import LinkageSettings, load_settings

__all__ = ["LinkageQuality", "LinkageResult", "LinkageSettings", "link_frame", "linkage_quality", "load_settings"]
