"""One vocabulary: Priority, Role and NotificationState are defined once (core/case.py), spell
what is stored exactly as before, and the two role spellings map one way."""

from __future__ import annotations

import ast
from datetime import UTC, datetime
from pathlib import Path
from typing import get_args

import msgspec
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from test_api_cases import CASES, call, open_body

from conftest import Api
from core.case import (
    NOTIFY_ROLES,
    PRIORITIES,
    STAFF_ROLES,
    TOKEN_ROLES,
    NotificationState,
    NotifyRoleName,
    Priority,
    Role,
    StaffRoleName,
)
from core.contract import EscalationStep, OurStaff
from core.escalation import CONTACT_ROLES, DIRECTORY_ROLES, MANAGER_ROLES
from core.store import orm
from core.store.tokens import authenticate, create_token

ROOT = Path(__file__).resolve().parent.parent
NOW = datetime(2026, 10, 14, 2, 0, tzinfo=UTC)


def test_the_values_are_the_strings_stored_before() -> None:
    assert list(PRIORITIES) == ["P1", "P2", "P3", "P4"] == [p.value for p in Priority]
    assert [s.value for s in NotificationState] == [
        "queued", "sending", "sent", "failed", "dead", "dropped"
    ]  # fmt: skip
    assert msgspec.json.encode([Priority.P1, Role.SERVICE_MANAGER, NotificationState.DEAD]) == (
        b'["P1","service-manager","dead"]'
    )


def test_tokens_spell_roles_in_snake_case_and_map_back() -> None:
    # the names `casetrack tokens create --role` took before, in the order it lists them
    # (quality_department since issue 15: survey problems)
    assert [role.snake for role in TOKEN_ROLES] == [
        "agent", "engineer", "service_manager", "project_manager", "complaint_manager",
        "quality_department", "admin", "customer", "expert_group",
    ]  # fmt: skip
    for role in Role:
        assert Role.from_snake(role.snake) is role
        assert Role.from_snake(role) is role
    for wrong in ("service-manager", "boss", "Service_Manager", ""):
        with pytest.raises(ValueError):
            Role.from_snake(wrong)


def test_the_files_role_lists_are_roles() -> None:
    assert [r.value for r in STAFF_ROLES] == list(get_args(StaffRoleName))
    assert [r.value for r in NOTIFY_ROLES] == list(get_args(NotifyRoleName))
    assert set(STAFF_ROLES) < set(NOTIFY_ROLES)
    # an escalation step still refuses a role no contract may notify, as before
    with pytest.raises(msgspec.ValidationError, match="Invalid enum value 'agent'"):
        msgspec.convert({"at": "50%", "notify": ["agent"], "channels": ["email"]}, EscalationStep)


def test_every_notify_role_is_resolved_one_documented_way() -> None:
    """Engineer: the assignee or who is on duty; managers: the contract's ``our-staff`` field
    named ``Role.snake``; the rest: the directory or the customer's contacts."""
    ways = [{Role.ENGINEER}, MANAGER_ROLES, DIRECTORY_ROLES, set(CONTACT_ROLES)]
    assert sorted(r for way in ways for r in way) == sorted(NOTIFY_ROLES)
    assert {role.snake for role in MANAGER_ROLES} == set(OurStaff.__struct_fields__)


def test_a_token_stores_snake_names_and_authenticates_to_roles(
    sessions: sessionmaker[Session],
) -> None:
    with sessions.begin() as session:
        token, row = create_token(session, roles=["service_manager", Role.AGENT], name="m", now=NOW)
        token_id = row.id
    with sessions() as session:
        stored = session.scalars(select(orm.ApiToken.roles).where(orm.ApiToken.id == token_id))
        assert stored.one() == ["agent", "service_manager"]
        principal = authenticate(session, token)
    assert principal.roles == {Role.AGENT, Role.SERVICE_MANAGER}
    assert principal.role_names == "agent, service_manager"


def test_a_refusal_names_roles_as_tokens_spell_them(api: Api) -> None:
    number = call(api, "POST", CASES, api.headers("agent"), json=open_body(api)).json()["number"]
    headers = api.headers("project_manager", "complaint_manager")
    response = call(api, "POST", f"{CASES}/{number}/assign", headers, json={"engineer": "x"})
    assert response.status_code == 403
    assert response.json()["detail"] == (
        "this needs one of the roles admin, agent, complaint_manager, service_manager "
        "(complaint_manager on complaints only); the token has complaint_manager, project_manager"
    )


STATE_FILES = [*sorted((ROOT / "core" / "jobs").glob("*.py")), ROOT / "api" / "health.py"]


@pytest.mark.parametrize("path", STATE_FILES, ids=lambda p: p.name)
def test_no_bare_notification_state_literals(path: Path) -> None:
    """The states are NotificationState members; a notifier's own outcome
    (``Delivery(status="sent" | "failed")``, the plugin interface) is the one exception."""
    tree = ast.parse(path.read_text("utf-8"))
    allowed = {
        id(node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.keyword) and node.arg == "status"
    }
    for node in ast.walk(tree):  # docstrings are expression statements, not values
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):
            allowed.add(id(node.value))
    states = {state.value for state in NotificationState}
    bare = [
        f"{path.name}:{node.lineno} {node.value!r}"
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and node.value in states and id(node) not in allowed
    ]
    assert bare == []
