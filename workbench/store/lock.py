"""One writer at a time: a lock on the data directory.

Two ingests into the same data directory at once would both build a new store from the same old
one, and the second rename would silently drop the first's snapshot. ``data_dir_lock`` holds an
exclusive ``flock`` on ``<data_dir>/.lock`` for as long as an ingest (or a re-key) runs. The lock
file says who holds it (command, process id, host, start time) so the second writer can name the
first. The operating system releases a ``flock`` when its process dies, so a killed ingest never
leaves the directory locked.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import json
import os
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

LOCK_FILE = ".lock"


class DataDirBusy(Exception):
    """Another process is writing to this data directory."""


def _holder(path: Path) -> str:
    try:
        info = json.loads(path.read_text(encoding="utf-8") or "{}")
    except (OSError, ValueError):
        return "another process"
    return (f"'{info.get('command', 'a workbench command')}' (process {info.get('pid', '?')} on "
            f"{info.get('host', '?')}, started {info.get('started', '?')})")


@contextmanager
def data_dir_lock(data_dir: Path, command: str, wait_seconds: float = 0.0) -> Iterator[None]:
    """Hold the data directory's write lock; wait up to ``wait_seconds`` for another holder, then
    refuse with a message naming it."""
    data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = data_dir / LOCK_FILE
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        deadline = time.monotonic() + wait_seconds
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise DataDirBusy(
                        f"{data_dir} is in use by {_holder(path)}. Nothing was changed. Wait for it to finish, "
                        "or run again with --wait SECONDS.") from None
                time.sleep(0.5)
        os.ftruncate(fd, 0)
        os.write(fd, json.dumps({"command": command, "pid": os.getpid(), "host": socket.gethostname(),
                                 "started": dt.datetime.now().isoformat(timespec="seconds")}).encode())
        yield
    finally:
        os.close(fd)  # closing releases the lock
