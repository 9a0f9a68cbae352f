"""The 13 service types (R-CAT): completion checklists and deliverables, with contract overrides."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from functools import cache
from importlib import resources
from typing import Annotated, Literal

import msgspec
from msgspec import Meta

from core.case import APPOINTMENT_CATEGORIES, Category
from core.errors import ContractError, NotFoundError, ServerError
from core.sources.yamlsource import convert, parse

# core.contract imports this module (Contract.service_types), so nothing here may import
# core.contract: the Structs below repeat its conventions (frozen, kebab-case, unknown keys
# rejected) instead of sharing its Base.

RESOURCE = "service_types.yaml"

ItemId = Annotated[
    str,
    Meta(
        pattern=r"^[a-z0-9][a-z0-9-]*$",
        max_length=64,
        description="lower-case kebab-case id, e.g. inspection-record",
        examples=["inspection-record", "requirements-confirmed"],
    ),
]
Schedule = Literal["working-hours-or-agreed", "appointment"]


class ServiceTypesError(ServerError):
    """The shipped service catalog (core/service_types.yaml) is broken: a packaging bug."""

    title = "invalid service catalog"


class _Base(msgspec.Struct, frozen=True, forbid_unknown_fields=True, rename="kebab", kw_only=True):
    """Immutable, unknown keys rejected, kebab-case keys in YAML (as core.contract.Base)."""


class ChecklistItem(_Base, kw_only=True):
    """One completion-standard item (服务完成标准) the customer confirms."""

    id: ItemId
    text: str


class Deliverable(_Base, kw_only=True):
    """A standard document the service hands over; the case cannot close without it."""

    id: ItemId
    label: str


class ServiceType(_Base, kw_only=True):
    """One of the 13 service types; tuples, because loaded types are shared from a cache."""

    id: str
    label: str
    schedule: Schedule
    checklist: tuple[ChecklistItem, ...]
    deliverables: tuple[Deliverable, ...]

    @property
    def checklist_ids(self) -> tuple[str, ...]:
        return tuple(item.id for item in self.checklist)

    @property
    def deliverable_ids(self) -> tuple[str, ...]:
        return tuple(item.id for item in self.deliverables)


class ServiceTypeOverride(_Base, kw_only=True):
    """A contract's change to one service type (``service-types.<id>`` in a contract).

    ``checklist`` / ``deliverables`` replace the shipped lists when given; ``extra-deliverables``
    are appended to whichever deliverables apply.
    """

    checklist: list[ChecklistItem] | None = None
    deliverables: list[Deliverable] | None = None
    extra_deliverables: list[Deliverable] = []


# --- the shipped catalog -----------------------------------------------------------------------


@cache
def load_service_types() -> dict[str, ServiceType]:
    """The shipped service types by id, in the handbook's order; checked against Category.

    Cached: callers must not mutate the returned dict (the types themselves are immutable).
    """
    source = resources.files("core").joinpath(RESOURCE)
    file = f"core/{RESOURCE}"
    try:
        doc = parse(file, source.read_text(encoding="utf-8"))
        raw = convert(doc, dict[str, dict])
        types = {
            key: convert(doc, ServiceType, path=f"$.{key}", data={**body, "id": key})
            for key, body in raw.items()
        }
    except ContractError as exc:
        raise ServiceTypesError(exc.detail) from exc
    problems = list(_catalog_problems(types))
    if problems:
        raise ServiceTypesError(f"{file}: " + "; ".join(problems))
    return types


def _catalog_problems(types: Mapping[str, ServiceType]) -> Iterable[str]:
    """What would make the catalog disagree with core.case or let a case close unchecked."""
    expected = {c.value for c in Category}
    if missing := sorted(expected - types.keys()):
        yield f"service types missing: {', '.join(missing)}"
    if unknown := sorted(types.keys() - expected):
        yield f"service types not in core.case.Category: {', '.join(unknown)}"
    for key, st in types.items():
        appointment = key in {c.value for c in APPOINTMENT_CATEGORIES}
        if appointment != (st.schedule == "appointment"):
            yield f"{key}: schedule {st.schedule} disagrees with core.case.APPOINTMENT_CATEGORIES"
        if not st.checklist:
            yield f"{key}: no checklist item"
        if not st.deliverables:
            yield f"{key}: no deliverable"
        yield from (f"{key}: {p}" for p in duplicate_ids(st))


def duplicate_ids(service_type: ServiceType) -> list[str]:
    """Checklist or deliverable ids used twice in one type (a confirmation would be ambiguous)."""
    found: list[str] = []
    for kind, ids in (
        ("checklist item", service_type.checklist_ids),
        ("deliverable", service_type.deliverable_ids),
    ):
        seen: set[str] = set()
        for item_id in ids:
            if item_id in seen:
                found.append(f"{kind} {item_id!r} listed twice")
            seen.add(item_id)
    return found


def service_type(category: str) -> ServiceType:
    """The shipped type for ``category``; NotFoundError naming the known ids otherwise."""
    types = load_service_types()
    if category not in types:
        raise NotFoundError(f"unknown service type {category!r} (known: {', '.join(types)})")
    return types[category]


# --- contract overrides and closing ------------------------------------------------------------


def apply_override(base: ServiceType, override: ServiceTypeOverride | None) -> ServiceType:
    """``base`` with a contract's replacements and extra deliverables applied."""
    if override is None:
        return base
    checklist = base.checklist if override.checklist is None else tuple(override.checklist)
    deliverables = base.deliverables if override.deliverables is None else override.deliverables
    return msgspec.structs.replace(
        base,
        checklist=checklist,
        deliverables=(*deliverables, *override.extra_deliverables),
    )


def effective_service_type(
    category: str, overrides: Mapping[str, ServiceTypeOverride]
) -> ServiceType:
    """The service type a case of ``category`` follows under a contract's ``service-types``."""
    return apply_override(service_type(category), overrides.get(category))


def missing_for_close(
    service_type: ServiceType, confirmed_items: Iterable[str], delivered: Iterable[str]
) -> tuple[list[str], list[str]]:
    """(unconfirmed checklist item ids, missing deliverable ids), each in the type's order.

    Ids the type does not know are ignored here: recording them is the case store's concern.
    """
    confirmed, have = set(confirmed_items), set(delivered)
    unconfirmed = [i for i in service_type.checklist_ids if i not in confirmed]
    missing = [d for d in service_type.deliverable_ids if d not in have]
    return unconfirmed, missing
