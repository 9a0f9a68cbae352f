"""The case page's action forms (web/case_actions.py): the same roles as the API's command
routes, and forms decoded into the API's commands with the field at fault named."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from litestar.handlers import HTTPRouteHandler

from api.cases import CaseController
from core.commands import Close, ConfirmDiagnosis, Escalate
from core.errors import InvalidField
from web.case_actions import ACTIONS, BY_SLUG, command_of, field_key


def _api_routes() -> dict[str, HTTPRouteHandler]:
    routes = {}
    for value in vars(CaseController).values():
        if isinstance(value, HTTPRouteHandler) and "POST" in (value.http_methods or ()):
            for path in value.paths:
                routes[path.rsplit("/", 1)[-1]] = value
    return routes


@pytest.mark.parametrize("action", ACTIONS, ids=lambda a: a.slug)
def test_each_action_admits_the_roles_of_its_api_route(action) -> None:
    route = _api_routes()[action.slug]
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
