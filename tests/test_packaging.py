"""The project's own files agree with each other: the lock pins versions that pyproject.toml allows,
environment.yml installs that lock, the data dictionary is generated from the contracts, and the
README holds the two quick-start commands."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from workbench.contracts.dictionary import render_dictionary

ROOT = Path(__file__).resolve().parents[1]
LOCK = ROOT / "requirements" / "lock.txt"
TEST_LOCK = ROOT / "requirements" / "lock-test.txt"
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9_.\-]*)==([^\s;\\]+)")


def _project() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def _pins(lock: Path) -> dict[str, tuple[Version, list[str]]]:
    """name -> (pinned version, hashes) for every package in a lock file."""
    pins: dict[str, tuple[Version, list[str]]] = {}
    name = None
    for line in lock.read_text().splitlines():
        if m := PIN.match(line):
            name = canonicalize_name(m.group(1))
            pins[name] = (Version(m.group(2)), [])
        elif name and (h := re.search(r"--hash=(sha256:[0-9a-f]{64})", line)):
            pins[name][1].append(h.group(1))
        elif line.strip() and not line.lstrip().startswith("#"):
            raise AssertionError(f"{lock.name}: unexpected line {line!r}")
    return pins


def test_lock_pins_what_pyproject_allows():
    project = _project()
    runtime = [Requirement(r) for r in project["dependencies"]]
    test = [Requirement(r) for r in project["optional-dependencies"]["test"]]
    pins, test_pins = _pins(LOCK), _pins(TEST_LOCK)
    for lock, wanted in ((pins, runtime), (test_pins, runtime + test)):
        for req in wanted:
            name = canonicalize_name(req.name)
            assert name in lock, f"{name} is in pyproject.toml but not locked: run scripts/update-lock"
            assert req.specifier.contains(lock[name][0], prereleases=True), (
                f"{name}=={lock[name][0]} is locked but pyproject.toml asks for {req.specifier}: run scripts/update-lock")
    # The runtime lock is the test lock's runtime part, at the same versions.
    assert {n: v for n, (v, _) in pins.items()} == {n: test_pins[n][0] for n in pins}


def test_lock_is_hashed_and_points_at_no_local_file():
    for lock in (LOCK, TEST_LOCK):
        text = lock.read_text()
        assert not re.search(r"file:|/opt/|--find-links|-f |--index-url|--extra-index-url", text), lock.name
        for name, (_, hashes) in _pins(lock).items():
            assert hashes, f"{lock.name}: {name} has no hash"


def test_every_dependency_relied_on_has_an_upper_bound():
    """Compatible ranges: the code patches splink 5 internals; the others' behaviour is relied on."""
    bounded = {"splink", "duckdb", "pandas", "numpy", "pandera", "lifelines", "statsmodels", "voila",
               "ipywidgets", "scipy", "pyarrow"}
    for r in map(Requirement, _project()["dependencies"]):
        if canonicalize_name(r.name) in bounded:
            assert any(s.operator == "<" for s in r.specifier), f"{r.name} has no upper bound"
    splink = next(Requirement(r) for r in _project()["dependencies"] if r.startswith("splink"))
    assert str(splink.specifier) in (">=5,<6", "<6,>=5")


def test_environment_yml_installs_the_lock():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    conda = [d for d in env["dependencies"] if not isinstance(d, dict)]
    pip = [line for d in env["dependencies"] if isinstance(d, dict) for line in d["pip"]]
    assert conda == ["python=3.11", "pip"], "conda provides Python and pip; the lock provides the rest"
    assert pip == ["-r requirements/lock-test.txt"]
    assert _project()["requires-python"] == ">=3.11"


def test_setup_installs_from_the_lock():
    setup = (ROOT / "scripts" / "setup").read_text()
    assert "--require-hashes -r" in setup and "requirements/lock.txt" in setup and "requirements/lock-test.txt" in setup
    assert "--no-deps -e ." in setup


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
