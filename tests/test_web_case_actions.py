"""The case page's action forms (web/case_actions.py): the same roles as the API's command
routes, and forms decoded into the API's commands with the field at fault named."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from litestar.handlers import HTTPRouteHandler

from api.cases import CaseController
from api.spares import SpareController
from core.commands import Close, ConfirmDiagnosis, Escalate, RecordSpareStep, RequestSpare
from core.errors import InvalidField
from core.spares import DeliveryMode, SpareStep
from web.case_actions import ACTIONS, BY_SLUG, command_of, field_key
from web.i18n import LANGUAGES, catalog

# the page's slug is one path segment; the API's route under the case where they differ
API_PATH = {"spare-steps": "spares/steps", "spare-vendor-case": "spares/vendor-case"}


def _api_routes() -> dict[str, HTTPRouteHandler]:
    routes = {}
    for controller in (CaseController, SpareController):
        for value in vars(controller).values():
            if isinstance(value, HTTPRouteHandler) and "POST" in (value.http_methods or ()):
                for path in value.paths:
                    routes[path.partition("/{number:str}/")[2]] = value
    return routes


@pytest.mark.parametrize("action", ACTIONS, ids=lambda a: a.slug)
def test_each_action_admits_the_roles_of_its_api_route(action) -> None:
    route = _api_routes()[API_PATH.get(action.slug, action.slug)]
    assert set(action.roles) == set(route.opt["case_roles"])
    assert set(action.on_complaints) == set(route.opt.get("complaint_roles", ()))


def test_a_checkbox_and_a_number_become_the_commands_types() -> None:
    cmd = command_of(BY_SLUG["diagnosis"], {"finding": "disk", "hardware_fault": "on"}, "UTC")
    assert cmd == ConfirmDiagnosis(finding="disk", hardware_fault=True)
    unchecked = command_of(BY_SLUG["diagnosis"], {"finding": "disk"}, "UTC")
    assert unchecked.hardware_fault is False
    esc = command_of(
        BY_SLUG["escalations"],
        {"level": "2", "target_group": "experts", "reason": "r", "expected_version": "7"},
        "UTC",
    )
    assert esc == Escalate(level=2, target_group="experts", reason="r", expected_version=7)


def test_a_wall_time_is_read_on_the_desks_zone_and_the_checklist_split() -> None:
    form = {"confirmed_by": "Dr. Sun", "confirmed_at": "2026-12-05T14:30",
            "checklist": "backup, tested\nsigned", "confirmation_document": ""}  # fmt: skip
    cmd = command_of(BY_SLUG["close"], form, "Asia/Shanghai")
    assert isinstance(cmd, Close)
    assert cmd.confirmed_at == datetime(2026, 12, 5, 6, 30, tzinfo=UTC)
    assert cmd.checklist == ["backup", "tested", "signed"]
    assert cmd.confirmation_document is None


@pytest.mark.parametrize(
    ("slug", "form", "field"),
    [
        ("escalations", {"level": "12", "target_group": "x", "reason": "y"}, "level"),
        ("escalations", {"level": "two", "target_group": "x", "reason": "y"}, "level"),
        ("assign", {"engineer": ""}, "engineer"),
        ("close", {"confirmed_by": "x", "confirmed_at": "yesterday"}, "confirmed_at"),
    ],
)
def test_a_bad_value_names_its_field(slug: str, form: dict[str, str], field: str) -> None:
    with pytest.raises(InvalidField) as raised:
        command_of(BY_SLUG[slug], form, "UTC")
    assert field_key(raised.value.field) == field


def test_a_spare_forms_empty_fields_are_left_out_and_the_request_is_a_number() -> None:
    form = {"request": "2", "step": "shipped", "carrier": "SF", "waybill": "SF1",
            "rma_number": "", "new_serial": " ", "note": "", "internal_note": ""}  # fmt: skip
    cmd = command_of(BY_SLUG["spare-steps"], form, "UTC")
    assert cmd == RecordSpareStep(request=2, step=SpareStep.SHIPPED, carrier="SF", waybill="SF1")
    spare = command_of(BY_SLUG["spares"], {"part": "PSU", "mode": "standby"}, "UTC")
    assert spare == RequestSpare(part="PSU", mode=DeliveryMode.STANDBY, chargeable=False)


@pytest.mark.parametrize(
    ("slug", "form", "field"),
    [
        ("spares", {"part": "", "mode": "courier"}, "part"),
        ("spares", {"part": "PSU", "mode": "drone"}, "mode"),
        ("spare-steps", {"request": "0", "step": "shipped"}, "request"),
        ("handovers", {"target": "ibm", "reason": "x"}, "target"),
        ("exclusions", {"kind": "resolution", "cause": "force-majeure", "note": ""}, "note"),
        ("progress-reports", {"text": "", "visibility": "internal"}, "text"),
    ],
)
def test_a_bad_value_of_the_newer_forms_names_its_field(
    slug: str, form: dict[str, str], field: str
) -> None:
    with pytest.raises(InvalidField) as raised:
        command_of(BY_SLUG[slug], form, "UTC")
    assert field_key(raised.value.field) == field


def test_every_form_has_its_messages_in_both_languages() -> None:
    for lang in LANGUAGES:
        messages = catalog(lang)
        for action in ACTIONS:
            key = action.slug.replace("-", "_")
            assert f"action_{key}" in messages and f"done_{key}" in messages, (lang, key)
            missing = [f.message for f in action.fields if f.message not in messages]
            assert missing == [], (lang, action.slug)
