"""Phase two of action 7.3: the agreed framework for current supported housing residents.

The study's variables are the data contract ``current_residents`` (``data_contracts/``). Providers
enter one assessment at a time through :class:`ResidentForm` (ipywidgets, in a notebook or Voila),
or send an extract. Each entry is validated against the contract exactly as an extract row would
be (same code path: :func:`workbench.ingest.validate.validate_raw`); a good entry is appended to the
store's ``current_residents`` table, a bad one is refused with the plain-English reasons. Ingest
keeps these entries in every later snapshot, so nothing entered is lost.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from workbench.contracts import load_contracts
from workbench.contracts.model import Contract
from workbench.ingest.pipeline import pseudonymised_table
from workbench.ingest.readers import RawExtract
from workbench.ingest.validate import validate_raw
from workbench.store import Store
from workbench.store.history import append_records
from workbench.store.lock import data_dir_lock

SOURCE = "current_residents"


@dataclass
class EntryResult:
    ok: bool
    assessment_id: str | None = None
    problems: list[str] = field(default_factory=list)

    def message(self) -> str:
        if self.ok:
            return f"Saved assessment {self.assessment_id}."
        return "Not saved. Please correct:\n" + "\n".join(f"- {p}" for p in self.problems)


def _existing_ids(data_dir: str | Path | None) -> set[str]:
    store = Store(data_dir)
    if SOURCE not in store.tables():
        return set()
    return set(store.query(f"select assessment_id from {SOURCE}")["assessment_id"])


def next_assessment_id(existing: set[str]) -> str:
    numbers = [int(i.split("-")[1]) for i in existing if i.startswith("CR-") and i.split("-")[1].isdigit()]
    return f"CR-{(max(numbers) + 1) if numbers else 1:07d}"


def submit_entry(values: dict[str, object], data_dir: str | Path | None = None, *,
                 today: dt.date | None = None) -> EntryResult:
    """Validate one assessment against the contract and append it to the store if it passes."""
    contract: Contract = load_contracts()[SOURCE]
    store = Store(data_dir)
    today = today or dt.date.today()
    with data_dir_lock(store.data_dir, "the supported housing residents form", wait_seconds=30):
        existing = _existing_ids(data_dir)
        row = {f.name: values.get(f.name) for f in contract.fields}
        row["assessment_id"] = row.get("assessment_id") or next_assessment_id(existing)
        text = {k: (None if v is None or v == "" else
                    ";".join(v) if isinstance(v, list | tuple) else
                    ("yes" if v else "no") if isinstance(v, bool) else
                    v.isoformat() if isinstance(v, dt.date) else str(v)) for k, v in row.items()}
        frame = pd.DataFrame([text]).astype("string")
        result = validate_raw(RawExtract(Path("framework form"), frame, np.array([1])), contract, today)
        problems = [f"{p.column}: {p.message}" for p in result.issues.itertuples()]
        if row["assessment_id"] in existing:
            problems.append(f"assessment_id: {row['assessment_id']} is already in the store.")
        if problems:
            return EntryResult(False, None, problems)
        stored = pseudonymised_table(contract, result.accepted, pd.Series([None], dtype=object), "framework form")
        append_records(store.path, SOURCE, stored)
    return EntryResult(True, row["assessment_id"])


class ResidentForm:
    """The data-collection form, built from the contract (ipywidgets): ``display(ResidentForm().widget)``."""

    def __init__(self, data_dir: str | Path | None = None) -> None:
        import ipywidgets as w

        self.data_dir = data_dir
        self.contract = load_contracts()[SOURCE]
        vocab = load_contracts().vocabularies
        self.inputs: dict[str, w.Widget] = {}
        style = {"description_width": "220px"}
        layout = w.Layout(width="560px")
        for f in self.contract.fields:
            if f.name == "assessment_id":
                continue  # assigned on saving
            label = f.name.replace("_", " ").capitalize() + (" *" if f.required else "")
            if f.type == "category":
                options = [("(choose)", "")] + [(lab, code) for code, lab in vocab[f.vocabulary].codes.items()]
                widget = w.Dropdown(options=options, value="", description=label, style=style, layout=layout)
            elif f.type == "category_list":
                options = [(lab, code) for code, lab in vocab[f.vocabulary].codes.items()]
                widget = w.SelectMultiple(options=options, description=label, rows=8, style=style, layout=layout)
            elif f.type == "date":
                widget = w.DatePicker(description=label, style=style, layout=layout)
            elif f.type == "integer":
                widget = w.BoundedIntText(value=int(f.min or 0), min=int(f.min or 0), max=int(f.max or 120),
                                          description=label, style=style, layout=layout)
            elif f.type == "boolean":
                widget = w.Checkbox(description=label, indent=False)
            else:
                widget = w.Text(description=label, style=style, layout=layout, placeholder=f.description[:60])
            widget.tooltip = f.description
            self.inputs[f.name] = widget
        self.save = w.Button(description="Save assessment", button_style="primary")
        self.output = w.HTML()
        self.save.on_click(lambda _: self._on_save())
        self.widget = w.VBox([w.HTML("<h3>Current resident assessment</h3><p>Fields marked * are required. "
                                     "No names or dates of birth: use your service's resident reference.</p>"),
                              *self.inputs.values(), self.save, self.output])

    def values(self) -> dict[str, object]:
        out: dict[str, object] = {}
        for name, widget in self.inputs.items():
            v = widget.value
            out[name] = list(v) if isinstance(v, tuple) else v
        return out

    def _on_save(self) -> EntryResult:
        result = submit_entry(self.values(), self.data_dir)
        colour = "#006400" if result.ok else "#8B0000"
        self.output.value = f"<pre style='color:{colour}'>{result.message()}</pre>"
        return result


def residents_from_open_stays(store, assessment_date: dt.date | None = None) -> pd.DataFrame:
    """Framework rows for people in supported accommodation on the extract date (for the demo
    and for providers who send stays instead of using the form)."""
    sa = store.table("supported_accommodation")
    open_stays = sa[sa["end_date"].isna()].reset_index(drop=True)
    when = assessment_date or dt.date.fromisoformat(store.meta()["extract_date"])
    return pd.DataFrame({
        "assessment_id": [f"CR-{i + 1:07d}" for i in range(len(open_stays))],
        "resident_ref": open_stays["episode_id"].str.replace("SA-", "RES-", regex=False),
        "assessment_date": pd.Timestamp(when), "service_name": open_stays["service_name"],
        "model": open_stays["model"], "district": open_stays["district"],
        "start_date": pd.to_datetime(open_stays["start_date"]), "age_at_assessment_date": open_stays.get("age_at_start_date"),
        "gender": open_stays["gender"], "route_in": open_stays["route_in"],
        "support_needs": open_stays["support_needs"].fillna(""), "move_on_plan": pd.NA,
    })


def profile_residents(residents: pd.DataFrame, subgroup_effects: pd.DataFrame, alpha: float = 0.05) -> pd.DataFrame:
    """Count current residents in each pre-specified subgroup, beside the study's finding for it.

    ``subgroup_effects`` is the supported housing study's ``subgroup_effects`` table. A finding
    reads "congregate appeared to help" (or "harm") only when the subgroup's effect has a
    Holm-adjusted p-value (across the pre-specified subgroups) below ``alpha``, and "no clear
    difference" otherwise: an unadjusted interval that excludes zero is expected by chance in one
    of several subgroups.
    """
    from workbench.cohorts.returns import has_need
    from workbench.definitions import definitions

    r = residents.copy()
    needs = r["support_needs"].fillna("")
    for code in definitions()["supported_housing"]["covariate_needs"]:
        r[code] = has_need(needs, code)
    r["young_18_25"] = has_need(needs, "young_person_18_25")
    r["female"] = (r["gender"] == "female").astype(int)
    r["age"] = pd.to_numeric(r.get("age_at_assessment_date"), errors="coerce")
    r["in_congregate"] = (r["model"] == "congregate_hostel").astype(int)
    spec = definitions()["supported_housing"]["subgroups"]
    effects = subgroup_effects.set_index("subgroup")
    rows = []
    for name, s in spec.items():
        members = r.eval(s["condition"]).fillna(False).astype(bool)
        row = {"subgroup": name, "label": s["label"], "current_residents": int(members.sum()),
               "of_whom_in_congregate": int((members & (r.in_congregate == 1)).sum())}
        if name in effects.index:
            e = effects.loc[name]
            # the study's multiplicity-adjusted evidence (Holm across subgroups), not the unadjusted interval
            clear = e.effect_p_holm < alpha
            row.update(estimated_difference=e.risk_difference, lower=e.lower, upper=e.upper,
                       adjusted_p=e.effect_p_holm,
                       # "a lead to check": where nothing differed the study still named a subgroup in
                       # about one synthetic county in twenty (supported housing assumptions log row 10)
                       finding=("congregate appeared to help (a lead to check)" if clear and e.risk_difference > 0 else
                                "congregate appeared to harm (a lead to check)" if clear and e.risk_difference < 0 else
                                "no clear difference"))
        else:
            row.update(estimated_difference=np.nan, lower=np.nan, upper=np.nan, adjusted_p=np.nan,
                       finding="too few people to estimate")
        rows.append(row)
    return pd.DataFrame(rows)
