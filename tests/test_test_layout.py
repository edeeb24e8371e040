"""Test files need unique names: the test folders are not packages, so pytest imports each file by
its base name, and a second file of the same name fails to collect (it did, once, on a fresh clone)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

TESTS = Path(__file__).resolve().parent


def test_no_two_test_files_share_a_name():
    names = Counter(p.name for p in TESTS.rglob("test_*.py"))
    assert not [n for n, k in names.items() if k > 1], sorted(n for n, k in names.items() if k > 1)
