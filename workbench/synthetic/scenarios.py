"""Named scenarios of the synthetic county: generator settings that break the studies' assumptions.

A scenario is data (``scenarios.yaml`` beside this module): a title, what it breaks, what a correct
study should then report, and overrides of :class:`~workbench.synthetic.settings.CountySettings`.

    from workbench.synthetic.scenarios import scenario_settings
    generate_county(out, seed=1, settings=scenario_settings("null_supported_housing"))

The default scenario overrides nothing, so the default county is unchanged by the machinery.
"""

from __future__ import annotations

import copy
import dataclasses
import functools
from dataclasses import dataclass
from importlib import resources
from typing import Any

import yaml

from workbench.synthetic.settings import CountySettings

DEFAULT_SCENARIO = "default"


class ScenarioError(ValueError):
    """A scenario name or override that does not exist."""


@dataclass(frozen=True)
class Scenario:
    name: str
    title: str
    breaks: str
    correct_study_reports: str
    studies: tuple[str, ...]
    overrides: dict[str, dict[str, Any]]


@functools.cache
def _raw() -> dict[str, dict[str, Any]]:
    text = resources.files("workbench.synthetic").joinpath("scenarios.yaml").read_text(encoding="utf-8")
    return yaml.safe_load(text)


def scenarios() -> dict[str, Scenario]:
    """Every named scenario, in the file's order."""
    out = {}
    for name, spec in _raw().items():
        out[name] = Scenario(name=name, title=spec["title"], breaks=spec["breaks"],
                             correct_study_reports=spec["correct_study_reports"],
                             studies=tuple(spec.get("studies", ())),
                             overrides=copy.deepcopy(spec.get("overrides") or {}))
    return out


def scenario(name: str) -> Scenario:
    known = scenarios()
    if name not in known:
        raise ScenarioError(f"No scenario called {name!r}; there are: {', '.join(known)}.")
    return known[name]


def apply_overrides(settings: CountySettings, overrides: dict[str, dict[str, Any]], name: str = "") -> CountySettings:
    """A copy of ``settings`` with ``overrides`` (section -> field -> value) applied; a dict-valued
    field is updated key by key (its other keys kept). An unknown section, field or dict key is an
    error naming it (a typo must not silently leave the default in place)."""
    out = copy.deepcopy(settings)
    where = f"scenario {name!r}: " if name else ""
    for section, fields in overrides.items():
        part = getattr(out, section, None)
        if not dataclasses.is_dataclass(part):
            raise ScenarioError(f"{where}no settings section {section!r}.")
        known = {f.name for f in dataclasses.fields(part)}
        for field_name, value in (fields or {}).items():
            if field_name not in known:
                raise ScenarioError(f"{where}{section} has no setting {field_name!r}.")
            current = getattr(part, field_name)
            if isinstance(current, dict) and isinstance(value, dict) and current:
                unknown = set(value) - set(current)
                if unknown:
                    raise ScenarioError(f"{where}{section}.{field_name} has no key(s) {', '.join(sorted(unknown))}.")
                value = {**current, **value}
            setattr(part, field_name, value)
    return out


def scenario_settings(name: str = DEFAULT_SCENARIO, base: CountySettings | None = None) -> CountySettings:
    """The generator's settings for a named scenario (on top of ``base``, default settings if None)."""
    spec = scenario(name)
    return apply_overrides(base or CountySettings(), spec.overrides, name)
