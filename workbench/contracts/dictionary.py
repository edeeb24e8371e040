"""Generate the readable data dictionary (Markdown) from the contracts, so nothing is written twice."""

from __future__ import annotations

from workbench.contracts.model import ContractSet, FieldSpec, load_contracts


def _constraints(spec: FieldSpec) -> str:
    parts = []
    if spec.unique:
        parts.append("unique in the file")
    if spec.vocabulary:
        parts.append(f"codes from [{spec.vocabulary}](#vocabulary-{spec.vocabulary.replace('_', '-')})")
    if spec.type == "category_list":
        parts.append("several codes separated by ';'")
    if spec.min is not None:
        parts.append(f"at least {spec.min}")
    if spec.max is not None:
        parts.append(f"at most {spec.max}")
    if spec.pattern:
        parts.append(f"format `{spec.pattern}`")
    if spec.max_length:
        parts.append(f"up to {spec.max_length} characters")
    if spec.type == "date":
        parts.append("not after the extract date")
    if spec.is_identifier:
        parts.append("**direct identifier: used for linkage only, never stored**")
    return "; ".join(parts)


_TYPE_WORDS = {
    "string": "text", "integer": "whole number", "date": "date (YYYY-MM-DD)", "boolean": "yes / no",
    "category": "code", "category_list": "list of codes",
}


def render_dictionary(contracts: ContractSet | None = None) -> str:
    contracts = contracts or load_contracts()
    out = [
        "# Data dictionary",
        "",
        "Generated from `data_contracts/*.yaml` by `workbench dictionary`; do not edit by hand.",
        "",
        "Every extract is a CSV (UTF-8), Excel (.xlsx) or Parquet file with one header row naming the",
        "columns below. Dates are written YYYY-MM-DD (DD/MM/YYYY is also accepted); yes/no columns accept",
        "yes, no, y, n, true, false, 1, 0; a blank cell means not recorded. Every date must be on or before",
        "the extract date.",
        "",
    ]
    for c in contracts:
        out += [f"## {c.title} (`{c.name}`, version {c.version})", "", c.description, "",
                f"- **One row per:** {c.grain.rstrip('.').removeprefix('One row per ')}.",
                f"- **Supplied by:** {c.supplied_by}",
                f"- **Record id:** `{c.record_id}`. **Main date:** `{c.event_date}`.",
                f"- **File names:** start with `{c.name}` (e.g. `{c.name}.csv`" + (
                    f", or `{c.name}_cherwell.csv` per district)." if c.name == "statutory_cases" else ")."),
                "", "| column | type | required | meaning | rules |", "|---|---|---|---|---|"]
        for f in c.fields:
            out.append(f"| `{f.name}` | {_TYPE_WORDS[f.type]} | {'yes' if f.required else 'no'} | {f.description} | {_constraints(f)} |")
        if c.rules:
            out += ["", "Rules across columns:", ""]
            out += [f"- `{r.id}`: {r.description}" for r in c.rules]
        out.append("")
    out += ["## Vocabularies (allowed codes)", ""]
    for v in contracts.vocabularies.values():
        out += [f"### Vocabulary: {v.name}", "", v.description, "", "| code | meaning |", "|---|---|"]
        out += [f"| `{code}` | {label} |" for code, label in v.codes.items()]
        out.append("")
    return "\n".join(out)
