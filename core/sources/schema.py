"""JSON Schema export of the contract file and the tier catalog."""

from __future__ import annotations

from typing import Any

import msgspec

from core.contract import Contract, TierCatalog
from core.sources.checks import TARGET_KEYS, TARGET_TABLES

# kind → (Struct, title, description)
_KINDS: dict[str, tuple[type, str, str]] = {
    "contract": (
        Contract,
        "casetrack contract",
        "One customer's service contract (contracts/*.yaml): customer, our staff, period, "
        "program, calendars, response / diagnosis / resolution targets, on-site tables, "
        "covered devices, escalation ladder, survey and complaint promises. "
        "See docs/contracts.md.",
    ),
    "tiers": (
        TierCatalog,
        "casetrack tier catalog",
        "contracts/tiers.yaml: the shared calendars, spare-part tiers (8x5xNBD, 24x7x4h...) "
        "and the programs that offer them. See docs/contracts.md.",
    ),
}


def contract_schema(kind: str = "contract") -> dict[str, Any]:
    """JSON Schema (draft 2020-12) of a contract file or of the tier catalog."""
    if kind not in _KINDS:
        raise ValueError(f"unknown schema kind {kind!r}: expected 'contract' or 'tiers'")
    struct, title, description = _KINDS[kind]
    body = msgspec.json.schema(struct)
    if struct is Contract:
        # the target tables' keys are checked semantically (so every bad key is reported);
        # editors still get to know them
        properties = body["$defs"]["Contract"]["properties"]
        for table in TARGET_TABLES:
            properties[table]["propertyNames"] = {"enum": list(TARGET_KEYS)}
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": title,
        "description": description,
        **body,
    }
