"""No module hard-codes a definition that the registry holds.

The registry (:mod:`workbench.definitions`) reads districts and category lists from the data
contracts, and sources, code sets and settings from ``definitions.yaml``. This test reads every
module of the package (its syntax tree, so comments and docstrings don't count) and fails on:

- a district code written as a string (no behaviour may depend on one named district);
- a list, tuple, set or dict-key literal naming two or more different sources: the list of
  sources is ``definitions.SOURCES`` and per-source settings live in ``definitions.yaml``. Naming
  one source to read its table is allowed;
- a list, tuple or set literal of two or more codes of one contract vocabulary (a code list that
  decides membership, e.g. which end reasons count as success): code sets are in
  ``definitions.yaml``. Dicts from codes to plain-English wording are allowed: they are labels;
- a numeric default of a parameter named like a setting in ``definitions.yaml`` (``grace_days``,
  ``lookback_months``, ``threshold``...) with the YAML's value: a silent copy of a definition.

The synthetic generator is exempt from the first three rules: it writes each source's extract with
code of its own and plants distributions over codes and districts (its data, not definitions). It
still takes the lists of districts and sources from the registry.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from workbench.contracts import load_contracts
from workbench.definitions import DISTRICTS, SOURCES, definitions

PACKAGE = Path(__file__).resolve().parents[1] / "workbench"
GENERATOR = {p.relative_to(PACKAGE).as_posix() for p in (PACKAGE / "synthetic").glob("*.py")} - {"synthetic/evaluation.py"}
REGISTRY = {"definitions.py", "contracts/model.py"}


def _settings_values() -> dict[str, set[float]]:
    """Every numeric setting in definitions.yaml by its key name."""
    found: dict[str, set[float]] = {}

    def walk(node: object) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if isinstance(value, int | float) and not isinstance(value, bool):
                    found.setdefault(str(key), set()).add(value)
                walk(value)

    walk(definitions())
    return found


def _is_labels(node: ast.AST) -> bool:
    """A dict whose values are all plain strings: wording for codes or sources, not a definition."""
    def text(v: ast.AST) -> bool:
        if isinstance(v, ast.IfExp):  # "a" if flag else "b"
            return text(v.body) and text(v.orelse)
        return isinstance(v, ast.JoinedStr) or (isinstance(v, ast.Constant) and isinstance(v.value, str))

    return isinstance(node, ast.Dict) and bool(node.values) and all(text(v) for v in node.values)


def findings_in(source: str, module: str) -> list[str]:
    """The hard-coded definitions in one module's source text."""
    districts, sources = set(DISTRICTS), set(SOURCES)
    vocabularies = {n: set(v.codes) for n, v in load_contracts().vocabularies.items()
                    if n not in ("district", "district_or_outside")}
    settings = _settings_values()
    out = []
    for node in ast.walk(ast.parse(source)):
        if module in GENERATOR:
            pass
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value in districts:
            out.append(f"{module}:{node.lineno} names the district {node.value!r}")
        elif isinstance(node, ast.List | ast.Tuple | ast.Set | ast.Dict) and not _is_labels(node):
            elements = node.keys if isinstance(node, ast.Dict) else node.elts
            strings = [e.value for e in elements if isinstance(e, ast.Constant) and isinstance(e.value, str)]
            named = sorted(set(strings) & sources)
            if len(named) >= 2:
                out.append(f"{module}:{node.lineno} lists the sources {named}")
            elif not isinstance(node, ast.Dict) and len(strings) >= 2:
                for name, codes in vocabularies.items():
                    if set(strings) <= codes:
                        out.append(f"{module}:{node.lineno} lists codes of {name}: {strings}")
                        break
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            a = node.args
            positional = a.args[len(a.args) - len(a.defaults):]
            pairs = [*zip(positional, a.defaults, strict=True),
                     *[(k, d) for k, d in zip(a.kwonlyargs, a.kw_defaults, strict=True) if d is not None]]
            for arg, default in pairs:
                if (isinstance(default, ast.Constant) and isinstance(default.value, int | float)
                        and not isinstance(default.value, bool) and default.value in settings.get(arg.arg, ())):
                    out.append(f"{module}:{node.lineno} {node.name}({arg.arg}={default.value}) copies definitions.yaml")
    return out


def test_no_module_hard_codes_a_definition():
    problems = []
    for path in sorted(PACKAGE.rglob("*.py")):
        module = path.relative_to(PACKAGE).as_posix()
        if module not in REGISTRY:
            problems += findings_in(path.read_text(encoding="utf-8"), module)
    assert not problems, "Use workbench.definitions instead:\n" + "\n".join(problems)


@pytest.mark.parametrize("snippet, what", [
    ('if district == "cherwell": pass', "names the district"),
    ('NAMES = ("statutory_cases", "outreach_contacts")', "lists the sources"),
    ('OK = ["secured_6_months_stayed", "secured_6_months_moved"]', "lists codes of prevention_end_reason"),
    ("def f(x, grace_days=14):\n    return x", "copies definitions.yaml"),
])
def test_the_check_catches_each_kind(snippet, what):
    assert any(what in f for f in findings_in(snippet, "example.py"))


def test_the_check_allows_labels_and_single_tables():
    allowed = ('LABELS = {"evicted": "Evicted", "abandoned": "Abandoned"}\n'
               'NAMES = {"statutory_cases": "Council", "deaths": "Deaths"}\n'
               't = store.table("outreach_contacts")\n'
               "def f(x, grace_days=None):\n    return x\n")
    assert findings_in(allowed, "example.py") == []
