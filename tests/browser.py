"""Chromium for the browser tests (dashboards and reports).

One Playwright session per test worker: the sync API runs an asyncio loop in the worker's main
thread for as long as it is open, so a second ``sync_playwright()`` in the same worker fails with
"using Playwright Sync API inside the asyncio loop". Every browser test therefore asks for the
session ``browser`` fixture (tests/conftest.py) rather than starting its own."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]


def require_chromium() -> None:
    """Browser tests skip without Chromium locally, but FAIL on CI (CI must run them)."""
    if CHROMIUM.exists():
        return
    message = f"Chromium is not installed at {CHROMIUM}; the browser tests need it (apt install chromium)."
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)
