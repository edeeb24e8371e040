"""Data contracts: what each source extract must look like, loaded from ``data_contracts/*.yaml``.

The YAML files are the single place where fields, types, allowed values and cross-field rules are
written down. Validation (``workbench.ingest.validate``), the synthetic county generator and the
data dictionary all read them through this module, so nothing is written twice.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Literal

import yaml

FieldType = Literal["string", "integer", "date", "boolean", "category", "category_list"]
FIELD_TYPES: tuple[str, ...] = ("string", "integer", "date", "boolean", "category", "category_list")
RuleKind = Literal["not_before", "requires"]

#: Text accepted for yes/no fields, case-insensitive. Blank means "not recorded".
TRUE_WORDS = frozenset({"yes", "y", "true", "t", "1"})
FALSE_WORDS = frozenset({"no", "n", "false", "f", "0"})
#: Date formats accepted in text files: ISO first, then the UK day-first form councils often export.
DATE_FORMATS: tuple[str, ...] = ("%Y-%m-%d", "%d/%m/%Y")
#: Separator between codes in a category_list cell, e.g. "mental_health;drug_dependency".
LIST_SEPARATOR = ";"


class ContractError(ValueError):
    """A contract file itself is malformed (a developer's error, not a data error)."""


def default_contracts_dir() -> Path:
    """The contracts shipped with the package (``workbench/data_contracts/``; the repository's
    top-level ``data_contracts`` is a link to it), found through the package, not the source tree."""
    folder = Path(str(resources.files("workbench") / "data_contracts"))
    if not (folder / "vocabularies.yaml").exists():
        raise ContractError(f"The package's data contracts are missing from {folder}; reinstall the workbench.")
    return folder


@dataclass(frozen=True)
class Vocabulary:
    name: str
    description: str
    codes: dict[str, str]  # code -> plain-English label

    def label(self, code: str) -> str:
        return self.codes.get(code, code)


@dataclass(frozen=True)
class FieldSpec:
    name: str
    type: FieldType
    description: str
    required: bool = False
    unique: bool = False
    vocabulary: str | None = None
    allowed: tuple[str, ...] = ()
    min: str | float | int | None = None
    max: str | float | int | None = None
    pattern: str | None = None
    max_length: int | None = None
    identifier: str | None = None  # kind of direct identifier: name, date_of_birth, ni_number

    @property
    def is_identifier(self) -> bool:
        return self.identifier is not None


@dataclass(frozen=True)
class Rule:
    id: str
    kind: RuleKind
    field: str
    reference: str
    description: str


@dataclass(frozen=True)
class Contract:
    name: str
    title: str
    version: str
    description: str
    grain: str
    supplied_by: str
    record_id: str
    event_date: str  # the record's main date (approach, contact, start...): ages and periods use it
    fields: tuple[FieldSpec, ...]
    rules: tuple[Rule, ...] = ()
    path: Path | None = None

    @property
    def field_names(self) -> list[str]:
        return [f.name for f in self.fields]

    @property
    def identifier_fields(self) -> list[str]:
        return [f.name for f in self.fields if f.is_identifier]

    def field(self, name: str) -> FieldSpec:
        for f in self.fields:
            if f.name == name:
                return f
        raise KeyError(name)


@dataclass(frozen=True)
class ContractSet:
    """All contracts and the shared vocabularies, as loaded from one folder."""

    contracts: dict[str, Contract]
    vocabularies: dict[str, Vocabulary]
    folder: Path = field(default_factory=Path)

    def __getitem__(self, name: str) -> Contract:
        return self.contracts[name]

    def __iter__(self):
        return iter(self.contracts.values())

    def codes(self, vocabulary: str) -> list[str]:
        return list(self.vocabularies[vocabulary].codes)


def _load_vocabularies(path: Path) -> dict[str, Vocabulary]:
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    out = {}
    for name, spec in raw["vocabularies"].items():
        out[name] = Vocabulary(
            name=name,
            description=str(spec.get("description", "")).strip(),
            codes={str(k): str(v) for k, v in spec["codes"].items()},
        )
    return out


def _load_contract(path: Path, vocabularies: dict[str, Vocabulary]) -> Contract:
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    try:
        fields = []
        for f in raw["fields"]:
            ftype = f["type"]
            if ftype not in FIELD_TYPES:
                raise ContractError(f"{path.name}: field {f['name']} has unknown type {ftype!r}")
            vocab = f.get("vocabulary")
            if ftype in ("category", "category_list"):
                if vocab not in vocabularies:
                    raise ContractError(f"{path.name}: field {f['name']} names unknown vocabulary {vocab!r}")
                allowed = tuple(vocabularies[vocab].codes)
            else:
                allowed = ()
            fields.append(
                FieldSpec(
                    name=f["name"],
                    type=ftype,
                    description=" ".join(str(f.get("description", "")).split()),
                    required=bool(f.get("required", False)),
                    unique=bool(f.get("unique", False)),
                    vocabulary=vocab,
                    allowed=allowed,
                    min=f.get("min"),
                    max=f.get("max"),
                    pattern=f.get("pattern"),
                    max_length=f.get("max_length"),
                    identifier=f.get("identifier"),
                )
            )
        names = {f.name for f in fields}
        rules = []
        for r in raw.get("rules", []) or []:
            for col in (r["field"], r["reference"]):
                if col not in names:
                    raise ContractError(f"{path.name}: rule {r['id']} names unknown field {col!r}")
            rules.append(
                Rule(
                    id=r["id"],
                    kind=r["kind"],
                    field=r["field"],
                    reference=r["reference"],
                    description=str(r["description"]),
                )
            )
        if raw["event_date"] not in names:
            raise ContractError(f"{path.name}: event_date {raw['event_date']!r} is not a field")
        if raw["record_id"] not in names:
            raise ContractError(f"{path.name}: record_id {raw['record_id']!r} is not a field")
        return Contract(
            name=raw["name"],
            title=raw["title"],
            version=str(raw["version"]),
            description=" ".join(str(raw.get("description", "")).split()),
            grain=str(raw.get("grain", "")),
            supplied_by=str(raw.get("supplied_by", "")),
            record_id=raw["record_id"],
            event_date=raw["event_date"],
            fields=tuple(fields),
            rules=tuple(rules),
            path=path,
        )
    except KeyError as exc:  # a contract missing a mandatory key
        raise ContractError(f"{path.name}: missing key {exc}") from exc


@lru_cache(maxsize=8)
def load_contracts(folder: str | Path | None = None) -> ContractSet:
    """Load every contract in ``folder`` (default: the repository's ``data_contracts/``)."""
    folder = Path(folder) if folder is not None else default_contracts_dir()
    vocabularies = _load_vocabularies(folder / "vocabularies.yaml")
    contracts = {}
    for path in sorted(folder.glob("*.yaml")):
        if path.name == "vocabularies.yaml":
            continue
        c = _load_contract(path, vocabularies)
        contracts[c.name] = c
    return ContractSet(contracts=contracts, vocabularies=vocabularies, folder=folder)
