"""The case API over HTTP on both back ends: open, idempotency, validation, lifecycle, lists."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import msgspec
from sqlalchemy import func, select

from api.schemas import CASE_DETAIL_EXAMPLE, OPEN_CASE_EXAMPLE
from conftest import Api
from core.service_types import effective_service_type
from core.store import orm
from core.store.queries import CaseDetail

CASES = "/api/v1/cases"
HOSPITAL = "wdkn-hospital-2026"  # customer wdkn-hospital, 2026-01-01 .. 2026-12-31
SCHOOL = "rsyz-2026"  # customer rsyz, 2026-03-01 .. 2026-12-31
SWITCH = "219801A23B8205Q0021K"  # H3C switch of the hospital, 8x5xNBD, 文登
PROBLEM = "application/problem+json"


def call(
    api: Api,
    method: str,
    url: str,
    headers: dict[str, str] | None = None,
    *,
    expect: int | None = None,
    **kwargs: Any,
) -> httpx.Response:
    """Every request of these tests goes through here: never a 5xx, optionally one status."""
    response = api.client.request(method, url, headers=headers, **kwargs)
    assert response.status_code < 500, response.text
    if response.status_code >= 400:
        assert response.headers["content-type"].startswith(PROBLEM), response.text
    if expect is not None:
        assert response.status_code == expect, response.text
    return response


def at(api: Api, **delta: float) -> str:
    return (api.now + timedelta(**delta)).isoformat()


def open_body(api: Api, **changes: Any) -> dict[str, Any]:
    """A consultation under the hospital contract (no appointment needed)."""
    body: dict[str, Any] = {
        "contract_id": HOSPITAL,
        "caller": {"name": "周医生", "company": "文登康宁医院", "phone": "0631-8451234"},
        "summary": "HIS server unreachable from wards",
        "category": "consulting",
        "request_type": "problem_report",
        "priority": "P2",
        "channel": "phone",
    }
    body.update(changes)
    return body


def rescue_body(api: Api, **changes: Any) -> dict[str, Any]:
    """A fault rescue about the covered switch, in an agreed window."""
    window = {"start": at(api), "end": at(api, hours=8)}
    rescue = {"category": "fault_rescue", "device_serial": SWITCH, "appointment": window}
    return open_body(api, **{**rescue, **changes})


def open_case(api: Api, headers: dict[str, str], **changes: Any) -> dict[str, Any]:
    return call(api, "POST", CASES, headers, json=open_body(api, **changes), expect=201).json()


def case_count(api: Api) -> int:
    with api.runtime.sessions() as session:
        return session.scalar(select(func.count()).select_from(orm.Case)) or 0


def problem_paths(response: httpx.Response) -> list[str]:
    return [e["path"] for e in response.json()["errors"]]


# --- open ---------------------------------------------------------------------------------


def test_open_answers_201_with_location_and_the_case_with_its_clocks(api: Api) -> None:
    response = call(api, "POST", CASES, api.headers("agent"), json=rescue_body(api), expect=201)
    case = response.json()
    assert response.headers["location"] == f"{CASES}/{case['number']}"
    assert case["number"] == "MS-2026-000001"
    assert (case["status"], case["customer_id"], case["zone"]) == (
        "new",
        "wdkn-hospital",
        "wendeng",
    )
    kinds = {c["kind"]: c for c in case["clocks"]}
    assert set(kinds) == {"first_response", "resolution"}
    assert kinds["first_response"]["deadline"] == "2026-10-14T02:30:00Z"
    assert kinds["resolution"]["deadline"] == "2026-10-14T10:00:00Z"  # the agreed window
    assert [e["kind"] for e in case["events"]] == ["opened"]
    again = call(api, "GET", response.headers["location"], api.headers("agent"), expect=200)
    assert again.json() == case


def test_idempotent_retry_replays_the_first_case(api: Api) -> None:
    headers = {**api.headers("agent"), "Idempotency-Key": "call-7f3a"}
    first = call(api, "POST", CASES, headers, json=open_body(api), expect=201)
    again = call(api, "POST", CASES, headers, json=open_body(api), expect=200)
    assert again.json()["number"] == first.json()["number"]
    assert again.headers["location"] == first.headers["location"]
    assert case_count(api) == 1
    # the same key from another token is another request
    other = {**api.headers("agent"), "Idempotency-Key": "call-7f3a"}
    assert call(api, "POST", CASES, other, json=open_body(api), expect=201).json()["number"] == (
        "MS-2026-000002"
    )


def test_idempotency_key_reused_with_another_body_is_422(api: Api) -> None:
    headers = {**api.headers("agent"), "Idempotency-Key": "k-1"}
    call(api, "POST", CASES, headers, json=open_body(api), expect=201)
    response = call(api, "POST", CASES, headers, json=open_body(api, summary="other"), expect=422)
    assert "different request" in response.json()["detail"]
    assert case_count(api) == 1


def test_idempotency_key_longer_than_200_characters_is_400(api: Api) -> None:
    headers = {**api.headers("agent"), "Idempotency-Key": "k" * 201}
    call(api, "POST", CASES, headers, json=open_body(api), expect=400)
    headers["Idempotency-Key"] = "k" * 200
    call(api, "POST", CASES, headers, json=open_body(api), expect=201)


def test_missing_caller_name_is_400_with_its_path(api: Api) -> None:
    body = open_body(api, caller={"company": "文登康宁医院"})
    response = call(api, "POST", CASES, api.headers("agent"), json=body, expect=400)
    [path] = problem_paths(response)
    assert path in ("$.caller.name", "$.caller")
    assert "name" in response.json()["detail"]


def test_wrong_types_and_unknown_fields_are_400(api: Api) -> None:
    agent = api.headers("agent")
    cases = [
        (open_body(api, priority="P9"), "$.priority"),
        (open_body(api, emergency="yes"), "$.emergency"),
        (open_body(api, caller="周医生"), "$.caller"),
        (open_body(api, caller={"name": ""}), "$.caller.name"),
        (open_body(api, category="plumbing"), "$.category"),
        (open_body(api, lat="north"), "$.lat"),
        (open_body(api, color="red"), "$"),
        ({**open_body(api), "summary": None}, "$.summary"),
    ]
    for body, path in cases:
        response = call(api, "POST", CASES, agent, json=body, expect=400)
        assert problem_paths(response) == [path], response.text
    call(api, "POST", CASES, agent, content=b"{not json", expect=400)
    call(api, "POST", CASES, agent, json=[1, 2], expect=400)
    window = {"start": at(api, hours=2), "end": at(api)}
    response = call(api, "POST", CASES, agent, json=rescue_body(api, appointment=window))
    assert response.status_code == 400 and problem_paths(response) == ["$.appointment"]
    assert case_count(api) == 0


def test_unknown_contract_is_a_404_problem(api: Api) -> None:
    body = open_body(api, contract_id="nobody-2026")
    response = call(api, "POST", CASES, api.headers("agent"), json=body, expect=404)
    assert response.json()["title"] == "not found"
    assert "nobody-2026" in response.json()["detail"]


def test_appointment_service_without_a_window_is_422(api: Api) -> None:
    body = rescue_body(api, appointment=None)
    response = call(api, "POST", CASES, api.headers("agent"), json=body, expect=422)
    assert "appointment is required" in response.json()["detail"]
    assert case_count(api) == 0


def test_oversized_body_is_a_413_problem(api: Api) -> None:
    body = open_body(api, description="x" * 1_100_000)
    response = call(api, "POST", CASES, api.headers("agent"), json=body, expect=413)
    assert response.json()["status"] == 413
    assert case_count(api) == 0


def test_garbage_case_numbers_are_404(api: Api) -> None:
    agent = api.headers("agent")
    for number in ("garbage", "ms-2026-000001", "MS-2026-1", "MS-2026-000001x", "%20"):
        call(api, "GET", f"{CASES}/{number}", agent, expect=404)
    call(api, "GET", f"{CASES}/MS-2026-999999", agent, expect=404)
    call(api, "POST", f"{CASES}/garbage/notes", agent, json={"text": "x"}, expect=404)


# --- the lifecycle ------------------------------------------------------------------------


def test_the_full_lifecycle_over_http(api: Api) -> None:
    agent, engineer = api.headers("agent"), api.headers("engineer")
    manager, complaints = api.headers("service_manager"), api.headers("complaint_manager")
    case = call(api, "POST", CASES, agent, json=rescue_body(api), expect=201).json()
    url = f"{CASES}/{case['number']}"

    def act(action: str, headers: dict[str, str], body: dict[str, Any], **delta: float) -> Any:
        api.now += timedelta(**delta)
        return call(api, "POST", f"{url}/{action}", headers, json=body, expect=200).json()

    case = act("assign", agent, {"engineer": "yu-tao", "expected_version": case["version"]})
    assert (case["status"], case["assignee"]) == ("assigned", "yu-tao")
    case = act("first-response", engineer, {"agreed_content": "check the uplink"}, minutes=20)
    clocks = {c["kind"]: c for c in case["clocks"]}
    assert case["status"] == "in_progress"
    assert clocks["first_response"]["state"] == "met"
    assert clocks["diagnosis"]["state"] == "running"
    case = act("diagnosis", engineer, {"finding": "PSU dead", "hardware_fault": True}, hours=1)
    clocks = {c["kind"]: c for c in case["clocks"]}
    assert clocks["diagnosis"]["state"] == "met"
    assert clocks["spare_ship"]["state"] == "running"
    case = act("spare-shipped", agent, {"note": "DC RMA 4711"}, hours=2)
    assert {c["kind"]: c["state"] for c in case["clocks"]}["spare_ship"] == "met"
    case = act("status", engineer, {"status": "pending_customer", "cause": "logs"}, minutes=5)
    resolution = {c["kind"]: c for c in case["clocks"]}["resolution"]
    assert (case["status"], resolution["state"]) == ("pending_customer", "paused")
    assert resolution["pause_cause"] == "logs"
    case = act("status", manager, {"status": "in_progress"}, hours=1)
    assert {c["kind"]: c for c in case["clocks"]}["resolution"]["state"] == "running"
    case = act("resolve", engineer, {"resolution": "PSU replaced"}, minutes=30)
    assert case["status"] == "resolved" and case["resolved_at"]

    lc = api.runtime.contracts.get(HOSPITAL)
    service = effective_service_type("fault_rescue", lc.contract.service_types)
    checklist = list(service.checklist_ids)
    documents = {d: f"DMS-{i}" for i, d in enumerate(service.deliverable_ids)}
    partial = dict(list(documents.items())[1:])
    confirm = {
        "confirmed_by": "周医生",
        "confirmed_at": at(api),
        "checklist": checklist,
        "confirmation_document": "DMS-signed-form",  # staff record the paper confirmation
    }
    refused = call(
        api, "POST", f"{url}/close", agent, json={**confirm, "deliverables": partial}, expect=422
    ).json()
    assert refused["missing_deliverables"] == [service.deliverable_ids[0]]
    assert service.deliverable_ids[0] in refused["detail"]
    case = act("close", agent, {**confirm, "deliverables": documents}, minutes=1)
    assert case["status"] == "closed" and case["closed_at"]
    case = act("reopen", complaints, {"reason": "the fault is back"}, days=1)
    assert case["status"] == "in_progress" and case["closed_at"] is None
    resolutions = [c["state"] for c in case["clocks"] if c["kind"] == "resolution"]
    assert resolutions[-1] == "running" and len(resolutions) == 2
    kinds = [e["kind"] for e in case["events"]]
    assert kinds == [
        "opened",
        "assigned",
        "first_response",
        "diagnosis_confirmed",
        "rma_status",
        "status_changed",
        "status_changed",
        "resolved",
        "closed",
        "reopened",
    ]


def test_other_commands_over_http(api: Api) -> None:
    agent, manager = api.headers("agent"), api.headers("service_manager")
    number = open_case(api, agent, device_serial=SWITCH)["number"]  # the switch is in 文登
    url = f"{CASES}/{number}"
    call(api, "POST", f"{url}/assign", agent, json={"engineer": "yu-tao"}, expect=200)
    onsite = {"reason": "needs hands", "override_reason": "the customer's phone line is down"}
    case = call(api, "POST", f"{url}/onsite-request", manager, json=onsite, expect=200).json()
    assert {c["kind"] for c in case["clocks"]} >= {"onsite_arrival"}
    call(api, "POST", f"{url}/onsite-arrival", api.headers("engineer"), json={}, expect=200)
    call(api, "POST", f"{url}/notes", agent, json={"text": "internal"}, expect=200)
    call_log = {"direction": "outbound", "party": "周医生", "summary": "update"}
    call(api, "POST", f"{url}/calls", agent, json=call_log, expect=200)
    change = {"priority": "P1", "reason": "all wards down"}
    case = call(api, "POST", f"{url}/priority", agent, json=change, expect=200).json()
    assert case["priority"] == "P1"
    escalation = {"level": 2, "reason": "no progress", "target_group": "experts"}
    call(api, "POST", f"{url}/escalations", agent, json=escalation, expect=200)
    exclusion = {"kind": "resolution", "cause": "force-majeure", "note": "typhoon"}
    case = call(api, "POST", f"{url}/exclusions", manager, json=exclusion, expect=200).json()
    resolution = {c["kind"]: c for c in case["clocks"]}["resolution"]
    assert resolution["exclusion_cause"] == "force-majeure"
    bad = {"kind": "resolution", "cause": "bad weather", "note": "x"}
    call(api, "POST", f"{url}/exclusions", manager, json=bad, expect=422)
    # no consent recorded: not entitled to log in (tests/test_entitlements.py)
    call(api, "POST", f"{url}/remote-login", agent, json={}, expect=422)
    call(api, "POST", f"{url}/priority", agent, json=change, expect=422)  # already P1


def test_illegal_transition_is_409_and_records_nothing(api: Api) -> None:
    agent = api.headers("agent")
    case = open_case(api, agent)
    url = f"{CASES}/{case['number']}"
    response = call(api, "POST", f"{url}/resolve", agent, json={"resolution": "x"}, expect=409)
    assert "cannot resolve" in response.json()["detail"]
    call(api, "POST", f"{url}/status", agent, json={"status": "in_progress"}, expect=409)
    call(api, "POST", f"{url}/reopen", agent, json={"reason": "x"}, expect=409)
    after = call(api, "GET", url, agent, expect=200).json()
    assert (after["version"], len(after["events"])) == (case["version"], 1)


def test_stale_expected_version_is_409(api: Api) -> None:
    agent = api.headers("agent")
    case = open_case(api, agent)
    url = f"{CASES}/{case['number']}/notes"
    seen = case["version"]
    call(api, "POST", url, agent, json={"text": "A", "expected_version": seen}, expect=200)
    response = call(api, "POST", url, agent, json={"text": "B", "expected_version": seen})
    assert response.status_code == 409
    assert "reload and retry" in response.json()["detail"]


def test_pending_customer_needs_a_cause(api: Api) -> None:
    agent = api.headers("agent")
    url = f"{CASES}/{open_case(api, agent)['number']}"
    call(api, "POST", f"{url}/assign", agent, json={"engineer": "yu-tao"}, expect=200)
    body = {"status": "pending_customer"}
    call(api, "POST", f"{url}/status", agent, json=body, expect=422)
    call(api, "POST", f"{url}/status", agent, json={"status": "on_hold"}, expect=400)


# --- lists --------------------------------------------------------------------------------


def numbers(response: httpx.Response) -> list[str]:
    return [item["number"] for item in response.json()["items"]]


def test_list_filters(api: Api) -> None:
    agent = api.headers("agent")
    p1 = open_case(api, agent, priority="P1")["number"]
    p2 = open_case(api, agent, priority="P2")["number"]
    school = open_case(api, agent, contract_id=SCHOOL, priority="P3")["number"]
    call(api, "POST", f"{CASES}/{p2}/assign", agent, json={"engineer": "yu-tao"}, expect=200)

    def listed(**params: Any) -> list[str]:
        return numbers(call(api, "GET", CASES, agent, params=params, expect=200))

    assert listed() == [school, p2, p1]
    assert listed(status="assigned") == [p2]
    assert listed(status=["new", "assigned"]) == [school, p2, p1]
    assert listed(priority=["P1", "P3"]) == [school, p1]
    assert listed(customer="rsyz") == [school]
    assert listed(contract=HOSPITAL) == [p2, p1]
    assert listed(customer="rsyz", priority="P1") == []
    assert listed(breached="false") == [school, p2, p1]
    assert listed(breached="true") == []
    api.runtime.desk.note_breaches(now=api.now + timedelta(days=30))
    assert set(listed(breached="true")) == {school, p2, p1}
    soon = (api.now + timedelta(minutes=31)).isoformat()
    urgent = call(api, "GET", CASES, agent, params={"due_before": soon}).json()["items"]
    assert {p1, p2} <= {c["number"] for c in urgent}  # first responses due at 10:30
    assert urgent == sorted(urgent, key=lambda c: (c["next_deadline"], c["number"]))
    assert listed(due_before=api.now.isoformat()) == []
    call(api, "GET", CASES, agent, params={"status": "lost"}, expect=400)
    call(api, "GET", CASES, agent, params={"priority": "P9"}, expect=400)
    call(api, "GET", CASES, agent, params={"breached": "maybe"}, expect=400)
    call(api, "GET", CASES, agent, params={"due_before": "tomorrow"}, expect=400)
    for bad in ("a\x00b", "a b", "x" * 65):  # a NUL byte once reached PostgreSQL: 500
        call(api, "GET", CASES, agent, params={"customer": bad}, expect=400)
        call(api, "GET", CASES, agent, params={"contract": bad}, expect=400)


def test_naive_due_before_is_a_400_problem(api: Api) -> None:
    response = call(
        api, "GET", CASES, api.headers("agent"), params={"due_before": "2026-10-14T10:30:00"}
    )
    assert response.status_code == 400
    assert "time zone" in response.json()["detail"]


def test_cursor_pagination_walks_every_case_once(api: Api) -> None:
    agent = api.headers("agent")
    opened = [open_case(api, agent)["number"] for _ in range(5)]
    for params in ({}, {"due_before": at(api, days=365)}):
        seen: list[str] = []
        cursor = None
        while True:
            page = call(
                api,
                "GET",
                CASES,
                agent,
                params={**params, "limit": 2, "cursor": cursor}
                if cursor
                else {**params, "limit": 2},
                expect=200,
            ).json()
            assert len(page["items"]) <= 2
            seen += [item["number"] for item in page["items"]]
            cursor = page["next_cursor"]
            if cursor is None:
                break
        assert sorted(seen) == sorted(opened) and len(seen) == 5
    call(api, "GET", CASES, agent, params={"cursor": "garbage"}, expect=400)
    call(api, "GET", CASES, agent, params={"limit": 0}, expect=400)
    call(api, "GET", CASES, agent, params={"limit": 501}, expect=400)
    assert len(call(api, "GET", CASES, agent, params={"limit": 500}).json()["items"]) == 5


def test_customer_history_for_staff(api: Api) -> None:
    agent = api.headers("agent")
    mine = open_case(api, agent)["number"]
    open_case(api, agent, contract_id=SCHOOL)
    history = call(api, "GET", "/api/v1/customers/wdkn-hospital/cases", agent, expect=200)
    assert numbers(history) == [mine]
    unknown = call(api, "GET", "/api/v1/customers/nobody/cases", agent, expect=200)
    assert unknown.json() == {"items": [], "next_cursor": None}


def test_openapi_documents_every_case_operation_with_examples(api: Api) -> None:
    schema = call(api, "GET", "/schema/openapi.json", expect=200).json()
    operations = [
        op
        for path, item in schema["paths"].items()
        if path.startswith((CASES, "/api/v1/customers")) and "/rmas" not in path  # test_rma_api
        for op in item.values()
    ]
    # 25 + spare parts (4, api/spares.py) + on-site (10) + attachment download (1)
    # + survey form (1, api/quality.py) + related fixes (1, api/knowledge.py)
    # + maintenance (6, api/maintenance.py) + a customer's comment (1)
    assert len(operations) == 49
    for op in operations:
        assert op["operationId"] and op["tags"] == ["cases"], op
    handlers = [
        handler
        for route in api.client.app.routes
        if route.path.startswith((CASES, "/api/v1/customers")) and "/rmas" not in route.path
        for handler in getattr(route, "route_handlers", [])
        if handler.http_methods & {"GET", "POST"}
    ]
    assert len(handlers) == 49
    assert all((handler.fn.__doc__ or "").strip() for handler in handlers)
    open_op = schema["paths"][CASES]["post"]
    assert open_op["requestBody"]["content"]["application/json"]["schema"]["examples"]
    assert open_op["responses"]["201"]["content"]["application/json"]["examples"]
    detail = schema["paths"][f"{CASES}/{{number}}"]["get"]["responses"]["200"]
    assert detail["content"]["application/json"]["examples"]
    # the examples are real: the body opens a case, the detail decodes as one
    opened = call(api, "POST", CASES, api.headers("agent"), json=OPEN_CASE_EXAMPLE, expect=201)
    assert set(opened.json()) == set(CASE_DETAIL_EXAMPLE)
    msgspec.convert(CASE_DETAIL_EXAMPLE, CaseDetail)
