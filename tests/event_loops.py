"""Running a coroutine from a test, whatever else is running."""

from __future__ import annotations

import asyncio
import concurrent.futures
from collections.abc import Callable, Coroutine
from typing import Any


def run_in_own_loop(scenario: Callable[[], Coroutine[Any, Any, Any]], timeout: float = 300) -> Any:
    """Run ``scenario()`` in an event loop of its own thread: the browser tests' Playwright keeps
    a loop running in the main thread, where ``asyncio.run`` would refuse."""
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, scenario()).result(timeout=timeout)
