"""Roles as the handbook defines them (issue 11 §5): the complaint manager owns complaints,
engineers are people of the staff directory, a manual escalation notifies its target group,
and the customer's confirmation of closure is the customer's own act."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import select
from test_api_cases import CASES, HOSPITAL, at, call, open_body

from conftest import Api
from core.events import ManualEscalation, payload_of
from core.service_types import effective_service_type
from core.staff import load_staff
from core.store import orm

ROOT = Path(__file__).resolve().parent.parent
STAFF = ROOT / "contracts" / "staff" / "staff.yaml"
STORIES = ROOT / "cli" / "demo" / "stories.yaml"


def opened(api: Api, **changes: Any) -> str:
    body = open_body(api, **changes)
    return str(
        call(api, "POST", CASES, api.headers("agent"), json=body, expect=201).json()["number"]
    )


def events_of(api: Api, number: str, kind: str) -> list[dict[str, Any]]:
    case = call(api, "GET", f"{CASES}/{number}", api.headers("admin"), expect=200).json()
    return [e for e in case["events"] if e["kind"] == kind]


# --- the complaint manager owns complaints --------------------------------------------------


def test_the_complaint_manager_replies_assigns_and_resolves_a_complaint(api: Api) -> None:
    manager = api.headers("complaint_manager")
    number = opened(api, request_type="complaint", summary="投诉:接口调试一再延期")
    url = f"{CASES}/{number}"
    call(api, "POST", f"{url}/assign", manager, json={"engineer": "陈静"}, expect=200)
    case = call(
        api, "POST", f"{url}/first-response", manager, json={"agreed_content": "致歉并承诺"}
    ).json()
    replies = {c["kind"]: c["state"] for c in case["clocks"]}
    assert replies["complaint_first_reply"] == "met"
    case = call(api, "POST", f"{url}/resolve", manager, json={"resolution": "已驻场完成"}).json()
    assert case["status"] == "resolved"


def test_on_other_cases_the_complaint_manager_keeps_the_old_rules(api: Api) -> None:
    manager = api.headers("complaint_manager")
    url = f"{CASES}/{opened(api)}"
    for suffix, body in [
        ("/assign", {"engineer": "yu-tao"}),
        ("/first-response", {"agreed_content": "x"}),
        ("/resolve", {"resolution": "x"}),
    ]:
        refused = call(api, "POST", f"{url}{suffix}", manager, json=body, expect=403).json()
        assert "complaint_manager on complaints only" in refused["detail"]


# --- engineers are people of the staff directory ---------------------------------------------


def test_assigning_someone_outside_the_staff_directory_is_refused(api: Api) -> None:
    agent = api.headers("agent")
    url = f"{CASES}/{opened(api)}"
    refused = call(api, "POST", f"{url}/assign", agent, json={"engineer": "王某某"}, expect=422)
    assert refused.json()["title"] == "unknown engineer"
    assert "'王某某' is not in the staff directory" in refused.json()["detail"]
    assert events_of(api, url.rsplit("/", 1)[1], "assigned") == []
    by_id = call(api, "POST", f"{url}/assign", agent, json={"engineer": "yu-tao"}).json()
    by_name = call(api, "POST", f"{url}/assign", agent, json={"engineer": "于涛"}).json()
    assert (by_id["assignee"], by_name["assignee"]) == ("yu-tao", "于涛")


def test_without_a_staff_directory_any_name_is_accepted(api: Api) -> None:
    api.runtime.desk.staff = lambda: None  # as a deployment without contracts/staff/
    url = f"{CASES}/{opened(api)}"
    body = {"engineer": "王某某"}
    assert call(api, "POST", f"{url}/assign", api.headers("agent"), json=body).status_code == 200


def test_the_demos_engineers_are_in_the_staff_directory() -> None:
    stories = yaml.safe_load(STORIES.read_text(encoding="utf-8"))
    people = stories["people"]
    names = {people["engineer"], people["engineer_2"], stories["engineer"]}
    for contract in stories["contracts"]:
        for story in contract.get("stories", []):
            names.add(story.get("engineer", stories["engineer"]))
            names |= {s["engineer"] for s in story.get("steps", []) if "engineer" in s}
    staff = load_staff(STAFF)
    assert names and [n for n in sorted(names) if staff.person(n) is None] == []


# --- a manual escalation notifies its target group -------------------------------------------


def test_a_manual_escalation_notifies_its_target_group_through_the_outbox(api: Api) -> None:
    number = opened(api)
    url = f"{CASES}/{number}"
    call(api, "POST", f"{url}/assign", api.headers("agent"), json={"engineer": "yu-tao"})
    body = {"level": 2, "reason": "全院断网", "target_group": "服务经理 孙鹏飞 / 华为TAC"}
    call(api, "POST", f"{url}/escalations", api.headers("engineer"), json=body, expect=200)
    [event] = events_of(api, number, "escalated")
    payload = event["payload"]
    # the hospital's ladder notifies the service manager by e-mail and SMS
    assert payload["notify"] == ["service-manager", "sun-pengfei"]
    assert payload["channels"] == ["email", "sms"]
    planned = {(p["name"], p["channel"]) for p in payload["planned"]}
    assert planned == {(n, c) for n in ("刘洋", "孙鹏飞") for c in ("email", "sms")}
    assert [s["reason"] for s in payload["skipped"]] == ["'华为TAC': no role or person we know"]
    with api.runtime.sessions() as session:
        rows = session.scalars(select(orm.Notification).order_by(orm.Notification.id)).all()
        assert len(rows) == 4
        for row in rows:
            assert (row.template, row.state, row.event_seq) == ("escalated", "queued", event["seq"])
            assert row.send_after.replace(tzinfo=UTC) == api.now.astimezone(UTC)  # at once
            assert row.variables["level"] == 2 and row.variables["reason"] == "全院断网"
            assert row.variables["urgent"] is True  # the relay sends it alone, not in a digest
    # a second escalation is a new alarm: new notices, never refused as duplicates
    call(api, "POST", f"{url}/escalations", api.headers("engineer"), json=body, expect=200)
    with api.runtime.sessions() as session:
        assert len(session.scalars(select(orm.Notification)).all()) == 8


def test_a_target_group_naming_nobody_we_know_records_the_alarm_only(api: Api) -> None:
    number = opened(api)
    body = {"level": 1, "reason": "slow", "target_group": "experts"}
    call(api, "POST", f"{CASES}/{number}/escalations", api.headers("agent"), json=body, expect=200)
    [event] = events_of(api, number, "escalated")
    assert set(event["payload"]) == {"alarm", "level", "reason", "target_group", "alarm_at"}
    with api.runtime.sessions() as session:
        assert session.scalars(select(orm.Notification)).all() == []


def test_an_old_manual_escalation_payload_keeps_its_bytes() -> None:
    alarm = datetime(2026, 10, 14, 2, 30, tzinfo=UTC)
    old = ManualEscalation(level=1, reason="slow", target_group="experts", alarm_at=alarm)
    assert payload_of(old) == {
        "alarm": True,
        "level": 1,
        "reason": "slow",
        "target_group": "experts",
        "alarm_at": alarm,
    }


# --- the customer confirms closure ------------------------------------------------------------


def resolved(api: Api) -> tuple[str, dict[str, Any]]:
    """A resolved consultation of the hospital, and a complete confirmation of it."""
    number = opened(api)
    url = f"{CASES}/{number}"
    call(api, "POST", f"{url}/assign", api.headers("agent"), json={"engineer": "yu-tao"})
    call(api, "POST", f"{url}/resolve", api.headers("engineer"), json={"resolution": "done"})
    lc = api.runtime.contracts.get(HOSPITAL)
    service = effective_service_type("consulting", lc.contract.service_types)
    confirmation = {
        "confirmed_by": "周医生",
        "confirmed_at": at(api),
        "checklist": list(service.checklist_ids),
        "deliverables": {d: "DMS-1" for d in service.deliverable_ids},
    }
    return number, confirmation


def test_the_customer_confirms_closure_with_its_own_token(api: Api) -> None:
    number, confirmation = resolved(api)
    customer = api.headers("customer", customer="wdkn-hospital")
    case = call(
        api, "POST", f"{CASES}/{number}/close", customer, json=confirmation, expect=200
    ).json()
    assert case["status"] == "closed"
    [closed] = events_of(api, number, "closed")
    assert closed["payload"]["entered_by"] == "customer"
    assert "confirmation_document" not in closed["payload"]


def test_staff_record_a_paper_confirmation_only_with_its_document(api: Api) -> None:
    number, confirmation = resolved(api)
    agent, url = api.headers("agent"), f"{CASES}/{number}/close"
    refused = call(api, "POST", url, agent, json=confirmation, expect=422).json()
    assert "confirmation_document" in refused["detail"]
    paper = {**confirmation, "confirmation_document": "DMS-2026-0042 signed form"}
    assert call(api, "POST", url, agent, json=paper, expect=200).json()["status"] == "closed"
    [closed] = events_of(api, number, "closed")
    assert closed["payload"]["entered_by"] == "staff"
    assert closed["payload"]["confirmation_document"] == "DMS-2026-0042 signed form"


def test_a_confirmation_in_the_future_or_before_the_case_is_refused(api: Api) -> None:
    number, confirmation = resolved(api)
    customer = api.headers("customer", customer="wdkn-hospital")
    url = f"{CASES}/{number}/close"
    for when in (at(api, minutes=6), at(api, hours=-1)):  # skew 5 min; opened just now
        body = {**confirmation, "confirmed_at": when}
        problem = call(api, "POST", url, customer, json=body, expect=422).json()
        assert problem["errors"][0]["path"] == "$.confirmed_at"
    assert events_of(api, number, "closed") == []


def test_a_customer_cannot_close_another_customers_case(api: Api) -> None:
    number, confirmation = resolved(api)
    stranger = api.headers("customer", customer="rsyz")
    call(api, "POST", f"{CASES}/{number}/close", stranger, json=confirmation, expect=404)
