"""Identifiers put in one form before they are compared: names and National Insurance numbers."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable

import numpy as np
import pandas as pd


def clean_name(v: str) -> object:
    """One name normalised (see :func:`normalise_name`); missing (``pd.NA``) if no letter is left."""
    s = unicodedata.normalize("NFKD", v).encode("ascii", "ignore").decode()
    s = re.sub(r"[^a-z]", "", s.lower())
    return s or pd.NA


def normalise_name(names: pd.Series) -> pd.Series:
    """Lower case, accents removed, letters only: 'O'Brien-Smith ' -> 'obriensmith'."""
    # Names repeat a great deal: clean each distinct spelling once.
    codes, uniques = pd.factorize(names.astype("string"), use_na_sentinel=True)
    cleaned = np.array([clean_name(str(u)) for u in uniques] + [pd.NA], dtype=object)
    return pd.Series(cleaned[codes], index=names.index, dtype="string")


def normalised_codes(values: pd.Series, normalise: Callable[[pd.Series], pd.Series]) -> np.ndarray:
    """Integer codes of ``normalise(values)`` (:func:`normalise_name` or :func:`normalise_ni`): equal
    codes exactly where the normalised strings are equal, -1 where missing. Only the distinct
    spellings are normalised and no string is made per record (the deterministic rules on millions
    of records)."""
    # Arrow strings: factorised without a Python string per record (the linkage frame's are already).
    try:
        text = values.astype("string[pyarrow]")
    except UnicodeEncodeError:  # a lone surrogate (a frame built in memory): Arrow holds only UTF-8
        text = values.astype("string")
    codes, uniques = pd.factorize(text, use_na_sentinel=True)
    normal_codes, _ = pd.factorize(normalise(pd.Series(uniques, dtype="string")), use_na_sentinel=True)
    return np.where(codes >= 0, np.append(normal_codes, -1)[codes], -1)


def normalise_ni(values: pd.Series) -> pd.Series:
    """Upper case, spaces removed: ' ab 12 34 56 c' -> 'AB123456C'."""
    return values.astype("string").str.upper().str.replace(r"\s", "", regex=True)
