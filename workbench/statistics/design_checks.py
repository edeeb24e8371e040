"""Checks on a regression's covariates shared by the fitters (Cox, recurrent events, Fine-Gray):
errors that name the offending column instead of a numpy failure deep inside the fit."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

__all__ = ["constant_within_strata", "require_covariates", "require_numeric", "require_variation"]


def require_covariates(covariates: Sequence[str] | None, formula: str | None = None) -> None:
    """The covariates must be named: an "every other column" default silently adds row
    numbers, identifiers and outcomes to the model."""
    if covariates is None and formula is None:
        raise ValueError(
            "name the covariates (covariates=[...] or formula=...): there is no default "
            "of 'every other column'"
        )


def require_numeric(frame: pd.DataFrame) -> None:
    """Every column numeric or boolean; a string column is named (use a formula, e.g.
    ``C(col)``, or dummy columns for a categorical covariate)."""
    bad = [
        str(c)
        for c in frame.columns
        if not (pd.api.types.is_numeric_dtype(frame[c]) or pd.api.types.is_bool_dtype(frame[c]))
    ]
    if bad:
        raise ValueError(
            f"covariate column(s) not numeric: {', '.join(bad)} (code them as numbers or "
            "dummy columns, or use a formula with C(...))"
        )


def constant_within_strata(
    X: np.ndarray, strata: np.ndarray, names: Sequence[str], rtol: float = 1e-7
) -> list[str]:
    """Names of the columns of ``X`` constant (to ``rtol`` of the column's scale) within
    every stratum: their Cox coefficient is not estimable, as R's ``coxph`` reports NA."""
    codes = pd.factorize(np.asarray(strata))[0]
    frame = pd.DataFrame(X).groupby(codes)
    spread = (frame.max() - frame.min()).max().to_numpy()
    scale = np.maximum(np.abs(X).max(axis=0), 1e-300) if X.size else np.ones(X.shape[1])
    return [str(n) for n, s, sc in zip(names, spread, scale, strict=True) if s <= rtol * sc]


def require_variation(X: np.ndarray, names: Sequence[str]) -> None:
    """A constant covariate has no information: name it rather than fail in a solve."""
    if X.shape[0] == 0:
        return
    spread = X.max(axis=0) - X.min(axis=0)
    bad = [str(n) for n, s in zip(names, spread, strict=True) if s == 0]
    if bad:
        raise ValueError(f"covariate(s) constant in the data, not estimable: {', '.join(bad)}")
