"""Synthetic county: a deterministic generator of realistic extracts with planted, known truths.

    from workbench.synthetic import generate_county, CountySettings
    result = generate_county("/tmp/county", seed=20240401, scale=1.0)

See ``truth/README.md`` in the output and docs/assumptions/synthetic_county.md.

The generator imports only the contracts and the definitions registry. Reading the truth back to
measure the workbench against it (true linkage, linkage quality, the new arrivals study's linkage
errors) is :mod:`workbench.synthetic.evaluation`, which sits above everything else and is not
imported here.
"""

from workbench.synthetic.generator import (
    DEFAULT_EXTRACT_DATE,
    DEFAULT_SEED,
    GeneratedCounty,
    generate_county,
)
from workbench.synthetic.settings import CountySettings

__all__ = ["DEFAULT_EXTRACT_DATE", "DEFAULT_SEED", "CountySettings", "GeneratedCounty", "generate_county"]
