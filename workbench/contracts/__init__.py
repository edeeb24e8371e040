"""Data contracts: load the YAML contracts and generate the data dictionary."""

from workbench.contracts.model import Contract, ContractSet, FieldSpec, Rule, load_contracts

__all__ = ["Contract", "ContractSet", "FieldSpec", "Rule", "load_contracts"]
