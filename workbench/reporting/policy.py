"""The disclosure policy: the partnership's rules as data, and the rules as small functions.

Counts from 1 to ``threshold - 1`` are hidden (zeros too, if ``suppress_zeros``); rates need a
denominator of ``rate_min_denominator``; means and medians a group of ``min_group_for_summary``;
shown counts may be rounded. The threshold and minimum group come from the registry
(``workbench.definitions.disclosure_definition()``, i.e. ``definitions.yaml``) unless the caller
passes its own; see ``docs/assumptions/disclosure_control.md``.
"""

from __future__ import annotations

import functools
import math
import os
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from workbench.definitions import definition, disclosure_definition

#: A YAML file of disclosure settings that replaces the policy of everything shared (dashboards, exports).
POLICY_ENV = "WORKBENCH_DISCLOSURE_POLICY"

#: Shared counts are rounded to the nearest 5 unless the policy says otherwise. Why: readers choose
#: districts and periods freely on the dashboards, and a shareable export holds many tables over the
#: same people; subtracting one table's shown figures from another's (e.g. April-March minus
#: April-December, or the county minus four districts) could otherwise recover a count hidden in a
#: third. Rounding every shown count makes such differences imprecise; suppression within each
#: table still applies.
SHARED_ROUNDING_BASE = 5
#: How shown counts are protected (``DisclosurePolicy.method``).
METHODS = ("suppression", "cell_key")


def shareable_policy(**defaults: Any) -> DisclosurePolicy:
    """The policy of everything that may leave the secure environment (dashboards and shareable
    study exports alike): ``$WORKBENCH_DISCLOSURE_POLICY`` (a YAML file) if set, used as is; else the
    registry's ``disclosure`` definition with counts rounded to :data:`SHARED_ROUNDING_BASE` unless
    that definition sets its own rounding. ``defaults`` are settings that either source may
    override (the dashboards pass ``method="cell_key"``)."""
    path = os.environ.get(POLICY_ENV)
    if path:
        return DisclosurePolicy.from_dict({**defaults, **_yaml_settings(path)})
    settings = {**defaults, **definition("disclosure")}
    settings.setdefault("rounding_base", SHARED_ROUNDING_BASE)
    return DisclosurePolicy.from_dict(settings)

# --------------------------------------------------------------------------------------------
# Policy
# --------------------------------------------------------------------------------------------


def _check_int(name: str, value: Any, minimum: int) -> None:
    # bool is an int subclass; "threshold: true" in YAML is a mistake, not a threshold of 1.
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")


@dataclass(frozen=True)
class DisclosurePolicy:
    """The partnership's disclosure settings, as data.

    Parameters
    ----------
    threshold:
        Counts from 1 to ``threshold - 1`` are suppressed. None (the default): the registry's
        ``disclosure.threshold`` (``definitions.yaml``).
    suppress_zeros:
        Also hide zeros. Default False: a zero is a structural value and may be shown.
    rounding_base:
        If set (e.g. 5 or 10), counts that are shown are rounded to the nearest multiple of this
        base, halves rounded up; a non-zero count is never shown as 0 or as a value below the
        threshold (it is shown as the smallest multiple of the base that is at least the
        threshold). Totals are rounded on their own, so they may not equal the sum of the shown
        rounded cells.
    min_group_for_summary:
        Means and medians are shown only for groups of at least this many. None (the default):
        the registry's ``disclosure.min_group_for_summary``.
    rate_min_denominator:
        Rates are hidden when the denominator is below this (default: ``threshold``).
    suppressed_marker:
        Shown in place of hidden figures; "[c]" is the ONS convention for "confidential".
    interval_protection:
        Beyond stopping exact recovery, make sure the shown figures never prove that a hidden
        small count is below the threshold (see the assumptions note). Default True.
    footnote:
        Replaces the generated plain-English footnote when given.
    method:
        ``"suppression"`` (the default): small counts hidden, with secondary suppression and
        rounding. ``"cell_key"``: every count perturbed by the cell key method
        (:mod:`workbench.reporting.cell_key`): nothing hidden, no count from 1 to ``threshold - 1``
        shown, the same cell always shown the same; for tables a reader re-cuts (the dashboards).
        Tables built without cell keys are still protected by suppression.
    perturbation_max, perturbation_variance:
        The cell key method's largest change (``D``, at least ``threshold - 1``; default
        ``3 * threshold``) and its variance (``V``, default 16) for counts of ``threshold`` or more.
        ``V`` sets what a reader gains by averaging many tables; ``D`` how far a reader can bound a
        count by combining tables. The defaults are the smallest the site-wide audit of the
        dashboards found safe on both (docs/assumptions/disclosure_control.md).
    """

    # None means "as the registry defines it": the rule is written once, in definitions.yaml
    threshold: int | None = None
    suppress_zeros: bool = False
    rounding_base: int | None = None
    min_group_for_summary: int | None = None
    rate_min_denominator: int | None = None
    suppressed_marker: str = "[c]"
    interval_protection: bool = True
    footnote: str | None = None
    method: str = "suppression"
    perturbation_max: int | None = None
    perturbation_variance: float = 16.0

    def __post_init__(self) -> None:
        # frozen dataclass: resolve the registry's values once, so to_dict() shows them
        if self.threshold is None or self.min_group_for_summary is None:
            registry = disclosure_definition()
            if self.threshold is None:
                object.__setattr__(self, "threshold", registry.threshold)
            if self.min_group_for_summary is None:
                object.__setattr__(self, "min_group_for_summary", registry.min_group_for_summary)
        _check_int("threshold", self.threshold, 1)
        _check_int("min_group_for_summary", self.min_group_for_summary, 1)
        if self.rounding_base is not None:
            _check_int("rounding_base", self.rounding_base, 1)
        if self.rate_min_denominator is None:
            # frozen dataclass: resolve the documented default once, so to_dict() shows it
            object.__setattr__(self, "rate_min_denominator", self.threshold)
        _check_int("rate_min_denominator", self.rate_min_denominator, 0)
        if not isinstance(self.suppress_zeros, bool) or not isinstance(
            self.interval_protection, bool
        ):
            raise ValueError("suppress_zeros and interval_protection must be true or false")
        if not isinstance(self.suppressed_marker, str) or not self.suppressed_marker.strip():
            raise ValueError("suppressed_marker must be a non-empty string")
        if self.footnote is not None and not isinstance(self.footnote, str):
            raise ValueError("footnote must be text")
        if self.method not in METHODS:
            raise ValueError(f"method must be one of {', '.join(METHODS)}, got {self.method!r}")
        if self.perturbation_max is None:  # frozen dataclass: resolve the documented default once
            object.__setattr__(self, "perturbation_max", 3 * self.threshold)
        _check_int("perturbation_max", self.perturbation_max, max(1, self.threshold - 1))
        if isinstance(self.perturbation_variance, bool) or not isinstance(self.perturbation_variance, int | float) \
                or not 0 < self.perturbation_variance <= self.perturbation_max ** 2:
            raise ValueError(f"perturbation_variance must be a number in (0, perturbation_max^2], "
                             f"got {self.perturbation_variance!r}")

    @property
    def perturbs(self) -> bool:
        """Counts are perturbed by the cell key method (where a table has cell keys)."""
        return self.method == "cell_key"

    def perturbation_table(self):  # noqa: ANN201 - a PerturbationTable (imported here: scipy.optimize)
        """The cell key method's perturbation table for this policy."""
        return _ptable(self.perturbation_max, float(self.perturbation_variance), self.threshold - 1)

    def perturbation_words(self) -> str:
        """How much counts change, for readers: "by about 3 on average, never more than 15"."""
        typical = self.perturbation_table().typical_change
        return f"by about {max(1, round(typical))} on average, never more than {self.perturbation_max}"

    # -- loading --------------------------------------------------------------------------
    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> DisclosurePolicy:
        """Build from a mapping; unknown keys are an error (a typo must not silently relax rules)."""
        data = dict(data or {})
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"Unknown disclosure setting(s): {unknown}; known: {sorted(known)}")
        return cls(**data)

    @classmethod
    def from_yaml(cls, path: str | Path) -> DisclosurePolicy:
        """Load from a YAML file: either the settings at top level or under a ``disclosure:`` key."""
        return cls.from_dict(_yaml_settings(path))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    # -- the rules as small functions -------------------------------------------------------
    def is_primary(self, count: float) -> bool:
        """True if a count of this size is hidden by the primary (small count) rule."""
        return bool(_primary_array(np.asarray([count], dtype=float), self)[0])

    def round_count(self, count: int) -> int:
        """The value shown for an unsuppressed count (identity when rounding is off)."""
        return int(_round_array(np.asarray([count], dtype=float), self)[0])

    def rounding_interval(self, shown: int) -> tuple[int, int]:
        """The counts that this policy would display as ``shown`` (for audits of rounded tables).

        A reader who knows the rules knows a shown 0 is a true 0 and a shown non-zero count was
        never below the threshold, so the interval is tighter than plus or minus half the base.
        """
        if self.rounding_base is None or shown == 0:
            return int(shown), int(shown)
        b = self.rounding_base
        lo = math.ceil(shown - b / 2)
        hi = math.ceil(shown + b / 2) - 1
        if shown == _bump_value(self):
            lo = max(self.threshold, 1)  # every shown count up to here was bumped to this value
        return lo, hi

    def footnote_text(
        self, *, counts: bool = True, rates: bool = True, summaries: bool = True, perturbed: bool = False
    ) -> str:
        """Plain-English note for readers; ``footnote`` overrides it. ``perturbed``: for a table whose
        counts the cell key method perturbed (under ``method: cell_key``, a table without cell keys
        is still suppressed, and says so)."""
        if self.footnote:
            return self.footnote
        m = self.suppressed_marker
        parts = [f"{m} means the figure is hidden to protect the privacy of the people counted."]
        t = self.threshold
        if counts and perturbed and self.perturbs:
            parts = [
                f"To protect the privacy of the people counted, every count has been changed a little "
                f"({self.perturbation_words()}), the same way wherever it appears. No count from 1 to {t - 1} is shown: "
                f"a 0 may stand for a few people. Totals are changed on their own, so figures may not add up "
                f"exactly to the totals. Percentages are worked out from the counts shown: a share of a total from "
                f"the parts shown beside it, so the shares of a total add up to 100%."]
            if summaries:
                parts.append("Averages (means and medians) are shown only for groups of "
                             f"{self.min_group_for_summary} or more.")
            return " ".join(parts)
        if counts and (t > 1 or self.suppress_zeros):
            if t > 2:
                small = f"Counts from 1 to {t - 1}"
            elif t == 2:
                small = "Counts of 1"
            else:
                small = ""
            if self.suppress_zeros:
                small = f"{small} and zeros" if small else "Zeros"
            parts.append(
                f"{small} are hidden, and some other figures are hidden too so that the hidden "
                "counts cannot be worked out from the totals."
            )
        if rates:
            parts.append(
                "Rates and percentages are hidden when the count they are based on is hidden, or "
                f"when they are based on fewer than {self.rate_min_denominator} people."
            )
        if summaries:
            parts.append(
                "Averages (means and medians) are shown only for groups of "
                f"{self.min_group_for_summary} or more."
            )
        if counts and self.rounding_base:
            parts.append(
                f"Counts are rounded to the nearest {self.rounding_base}, and totals are rounded "
                "separately, so figures may not add up exactly to the totals."
            )
        return " ".join(parts)


def _yaml_settings(path: str | Path) -> dict[str, Any]:
    """The disclosure settings in a YAML file: at top level or under a ``disclosure:`` key."""
    data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    if isinstance(data, Mapping) and isinstance(data.get("disclosure"), Mapping):
        data = data["disclosure"]
    if data is not None and not isinstance(data, Mapping):
        raise ValueError(f"{path}: expected a mapping of disclosure settings")
    return dict(data or {})


@functools.lru_cache(maxsize=8)
def _ptable(d: int, v: float, js: int):  # noqa: ANN202
    from workbench.reporting.cell_key import PerturbationTable

    return PerturbationTable(D=d, V=v, js=js)


def _primary_array(values: np.ndarray, policy: DisclosurePolicy) -> np.ndarray:
    small = (values >= 1) & (values < policy.threshold)
    if policy.suppress_zeros:
        small |= values == 0
    return small


def _bump_value(policy: DisclosurePolicy) -> int:
    """Smallest rounded value a non-zero shown count may take (never 0, never below threshold)."""
    b = policy.rounding_base or 1
    return b * max(1, math.ceil(policy.threshold / b))


def _round_array(values: np.ndarray, policy: DisclosurePolicy) -> np.ndarray:
    """Round half up to ``rounding_base``; NaN stays NaN."""
    if policy.rounding_base is None:
        return values.astype(float)
    b = policy.rounding_base
    out = np.floor(values / b + 0.5) * b
    # a shown non-zero count must not look like a small count or a structural zero
    bump = (values > 0) & ((out < policy.threshold) | (out == 0))
    return np.where(bump, _bump_value(policy), out)

