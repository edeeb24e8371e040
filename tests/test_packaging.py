"""The project's own files agree with each other: environment.yml mirrors pyproject.toml, the data
dictionary is generated from the contracts, and the README holds the two quick-start commands."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import yaml

from workbench.contracts.dictionary import render_dictionary

ROOT = Path(__file__).resolve().parents[1]
# conda-forge names that differ from PyPI's.
CONDA_TO_PYPI = {"python-duckdb": "duckdb"}


def _split(requirement: str) -> tuple[str, str]:
    m = re.match(r"^\s*([A-Za-z0-9_.\-\[\]]+)\s*(.*)$", requirement)
    name = re.sub(r"\[.*\]", "", m.group(1)).lower().replace("_", "-")
    return CONDA_TO_PYPI.get(name, name), m.group(2).replace(" ", "")


def test_environment_yml_mirrors_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = dict(_split(r) for r in project["dependencies"] + project["optional-dependencies"]["test"])
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    have: dict[str, str] = {}
    pip_lines: list[str] = []
    for dep in env["dependencies"]:
        if isinstance(dep, dict):
            pip_lines += dep["pip"]
        else:
            name, spec = _split(dep)
            have[name] = spec
    for line in pip_lines:
        if not line.startswith("-e"):
            name, spec = _split(line)
            have[name] = spec
    assert any(line.replace(" ", "").startswith("-e.") for line in pip_lines), "environment.yml must pip-install the package"
    assert have.pop("python") == "=3.11"
    have.pop("pip")
    assert have == wanted, "environment.yml and pyproject.toml list different dependencies or versions"
    assert project["requires-python"] == ">=3.11"


def test_data_dictionary_is_generated_from_contracts():
    committed = (ROOT / "docs" / "data_dictionary.md").read_text()
    assert committed == render_dictionary() + "\n", "Regenerate it: workbench dictionary --out docs/data_dictionary.md"


def test_every_contract_field_is_documented(contracts):
    for c in contracts:
        assert c.description and c.grain and c.supplied_by
        for f in c.fields:
            assert len(f.description) > 15, (c.name, f.name)


def test_readme_quick_start_has_two_commands_and_ci_calls_the_test_one():
    readme = (ROOT / "README.md").read_text()
    quick = readme.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    commands = re.findall(r"^(?:\$ )?(scripts/\S+.*)$", quick, flags=re.M)
    assert commands == ["scripts/demo", "scripts/test"], commands
    assert "scripts/test" in (ROOT / ".ci" / "run").read_text()
