import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from workbench.contracts import load_contracts  # noqa: E402


@pytest.fixture(scope="session")
def contracts():
    return load_contracts()
