import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))


@pytest.fixture(scope="session")
def planted_linkage():
    """The hand-made frame (background population + planted cases) and its splink linkage."""
    from people import frame_with_planted

    from workbench.linkage.model import link_frame

    frame = frame_with_planted()
    return frame, link_frame(frame)


@pytest.fixture(scope="session")
def county_linkage(synthetic_county):
    """The synthetic county's linkage frame (validated extracts), its truth, and the splink result
    (kept by the report module, so the report test does not link the county again)."""
    from workbench.synthetic.evaluation import link_county

    return link_county(synthetic_county)
