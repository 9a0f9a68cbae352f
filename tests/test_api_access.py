"""Who may do what over HTTP: tokens, the role matrix, customer isolation, credentials."""

from __future__ import annotations

from typing import Any

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import select
from test_api_cases import CASES, SCHOOL, SWITCH, call, open_body

from conftest import Api
from core.store import orm
from core.store.secrets import CredentialVault
from core.store.tokens import hash_token, revoke_token

CUSTOMER_A = "wdkn-hospital"  # holds HOSPITAL
CUSTOMER_B = "rsyz"  # holds SCHOOL
MISSING = "MS-2026-999999"
SECRET_IP, SECRET_PASSWORD = "10.8.1.20", "S3cr3t-Pa55-Zq9"

# every route on one case: (method, suffix, a valid body)
SHA = "ab" * 32  # an attachment hash, in the path pattern
CASE_ROUTES: list[tuple[str, str, dict[str, Any] | None]] = [
    ("GET", "", None),
    ("GET", "/credentials", None),
    ("POST", "/assign", {"engineer": "yu-tao"}),
    ("POST", "/first-response", {"agreed_content": "check the uplink"}),
    ("POST", "/diagnosis", {"finding": "PSU dead", "hardware_fault": True}),
    (
        "POST",
        "/remote-access",
        {
            "consent_by": "姜丽",
            "consent_at": "2026-10-14T10:00:00+08:00",
            "credentials": {"password": "x"},
        },
    ),
    ("POST", "/remote-login", {}),
    ("POST", "/onsite-request", {"reason": "needs hands"}),
    ("POST", "/onsite-arrival", {}),
    ("POST", "/onsite-emergency", {"reason": "campus network down"}),
    ("POST", "/onsite/prepared", {"files": ["设备档案"]}),
    ("POST", "/onsite/request-signed", {"signed_by": "宋晓光"}),
    ("POST", "/onsite/solution-approved", {"approved_by": "姜丽", "solution": "reload"}),
    ("POST", "/onsite/operation-approved", {"operation": "restart", "approved_by": "姜丽"}),
    ("POST", "/onsite/operations", {"operation": "restart", "description": "reload"}),
    ("POST", "/onsite/report-signed", {"signed_by": "宋晓光", "summary": "done"}),
    ("POST", "/onsite/training", {"topic": "logs"}),
    ("GET", "/onsite", None),
    ("POST", "/attachments", {}),
    ("GET", f"/attachments/{SHA}", None),
    ("POST", "/spare-shipped", {"note": "RMA"}),
    ("POST", "/spare-arrived", {}),
    ("GET", "/spares", None),
    ("POST", "/spares", {"part": "PSU"}),
    ("POST", "/spares/steps", {"request": 1, "step": "shipped", "waybill": "SF1"}),
    ("POST", "/spares/vendor-case", {"request": 1, "vendor": "Cisco", "vendor_case": "SR 1"}),
    ("POST", "/notes", {"text": "hello", "visibility": "customer"}),
    ("POST", "/comments", {"text": "the printer is in room 204"}),
    ("POST", "/calls", {"direction": "outbound", "party": "姜丽", "summary": "update"}),
    ("POST", "/priority", {"priority": "P1", "reason": "whole campus down"}),
    ("POST", "/status", {"status": "in_progress"}),
    ("POST", "/escalations", {"level": 1, "reason": "slow", "target_group": "experts"}),
    ("POST", "/handovers", {"target": "expert-group", "reason": "needs a specialist"}),
    ("POST", "/progress-reports", {"text": "on site, testing the uplink"}),
    ("POST", "/exclusions", {"kind": "resolution", "cause": "force-majeure", "note": "typhoon"}),
    ("POST", "/resolve", {"resolution": "done"}),
    (
        "POST",
        "/close",
        {"confirmed_by": "姜丽", "confirmed_at": "2026-10-14T10:00:00+08:00", "checklist": []},
    ),
    ("POST", "/reopen", {"reason": "back again"}),
    # maintenance (api/maintenance.py): inspections and change review
    ("POST", "/inspection/results", {"serial": "J302K4LQ", "outcome": "ok"}),
    ("POST", "/inspection/report", {"summary": "done", "attachments": ["0" * 64]}),
    ("GET", "/inspection", None),
    (
        "POST",
        "/changes",
        {"title": "upgrade", "change_kind": "upgrade", "major": True, "plan": "p"},
    ),
    ("POST", "/changes/review", {"change": 1, "decision": "approved", "comment": "ok"}),
    ("POST", "/changes/implemented", {"change": 1, "note": "done"}),
    # vendor RMAs (api/rma.py): 1 stands for an RMA id
    ("GET", "/rmas", None),
    ("POST", "/rmas", {}),
    ("POST", "/rmas/1/updates", {"state": "shipped", "waybill": "SF1"}),
    ("POST", "/rmas/1/cancel", {"reason": "not needed"}),
    # the score signed on the technical service form (api/quality.py, issue 15)
    (
        "POST",
        "/survey-form",
        {"score": 4, "signed_by": "姜丽", "signed_at": "2026-10-14T10:00:00+08:00"},
    ),
    # past fixes beside the case (api/knowledge.py): staff who work it, never customers
    ("GET", "/related-fixes", None),
]
ROUTE_IDS = [f"{method} {suffix or '/'}" for method, suffix, _ in CASE_ROUTES]
# reads open to every role on a case (the customer: its own), beside GET of the case itself
OPEN_READS = frozenset({("GET", "/spares"), ("GET", "/rmas")})

# the role matrix of docs/api.md, written out independently of api/cases.py
STAFF_ROLES = (
    "admin",
    "agent",
    "complaint_manager",
    "engineer",
    "project_manager",
    "service_manager",
)
ALL_STAFF = frozenset(STAFF_ROLES)
MATRIX: dict[str, frozenset[str]] = {
    "/assign": frozenset({"agent", "service_manager", "admin"}),
    "/first-response": frozenset({"agent", "engineer", "service_manager"}),
    "/diagnosis": frozenset({"engineer", "service_manager"}),
    "/remote-access": frozenset({"engineer", "service_manager"}),
    "/remote-login": frozenset({"engineer", "service_manager", "agent"}),
    "/onsite-request": frozenset({"service_manager", "admin"}),
    "/onsite-arrival": frozenset({"engineer", "service_manager", "agent"}),
    "/onsite-emergency": frozenset({"engineer", "service_manager", "admin"}),
    "/onsite/prepared": frozenset({"engineer", "service_manager"}),
    "/onsite/request-signed": frozenset({"engineer", "service_manager"}),
    "/onsite/solution-approved": frozenset({"engineer", "service_manager"}),
    "/onsite/operation-approved": frozenset({"engineer", "service_manager"}),
    "/onsite/operations": frozenset({"engineer", "service_manager"}),
    "/onsite/report-signed": frozenset({"engineer", "service_manager"}),
    "/onsite/training": frozenset({"engineer", "service_manager"}),
    "/onsite": ALL_STAFF,
    "/attachments": frozenset({"engineer", "service_manager"}),
    "/spare-shipped": frozenset({"engineer", "service_manager", "agent"}),
    "/spare-arrived": frozenset({"engineer", "service_manager", "agent"}),
    "/spares": frozenset({"agent", "engineer", "service_manager"}),  # POST; GET: everyone
    "/spares/steps": frozenset({"agent", "engineer", "service_manager"}),
    "/spares/vendor-case": frozenset({"agent", "engineer", "service_manager"}),
    "/notes": ALL_STAFF,
    "/comments": frozenset(),  # customers only (their own cases); staff write notes
    "/calls": ALL_STAFF,
    "/priority": frozenset({"agent", "service_manager", "admin"}),
    "/status": ALL_STAFF,
    "/escalations": ALL_STAFF,
    "/handovers": frozenset({"engineer", "service_manager", "admin"}),
    "/progress-reports": frozenset({"engineer", "service_manager", "agent"}),
    "/exclusions": frozenset({"service_manager", "project_manager", "admin"}),
    "/resolve": frozenset({"engineer", "service_manager", "agent"}),
    "/close": frozenset({"agent", "service_manager", "admin"}),
    "/reopen": frozenset({"agent", "service_manager", "complaint_manager", "admin"}),
    "/credentials": frozenset({"engineer"}),  # and then only the assigned one
    "/survey-form": frozenset({"engineer", "service_manager"}),
    "/related-fixes": frozenset({"agent", "engineer", "project_manager", "service_manager"}),
    "/inspection/results": frozenset({"engineer", "service_manager"}),
    "/inspection/report": frozenset({"engineer", "service_manager"}),
    "/inspection": ALL_STAFF,
    "/changes": frozenset({"engineer", "service_manager", "project_manager"}),
    "/changes/review": frozenset(),  # the expert group's (expert_group tokens)
    "/changes/implemented": frozenset({"engineer", "service_manager"}),
}
# on a complaint (request_type complaint) these roles may act too (issue 11: 投诉经理)
ON_COMPLAINTS: dict[str, frozenset[str]] = {
    "/assign": frozenset({"complaint_manager"}),
    "/first-response": frozenset({"complaint_manager"}),
    "/resolve": frozenset({"complaint_manager"}),
}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def school_case(api: Api) -> dict[str, Any]:
    """A case of customer B, assigned, with a device in the 乳山 zone."""
    agent = api.headers("agent")
    body = open_body(api, contract_id=SCHOOL, site="乳山市胜利街55号")
    case = call(api, "POST", CASES, agent, json=body, expect=201).json()
    url = f"{CASES}/{case['number']}"
    return call(api, "POST", f"{url}/assign", agent, json={"engineer": "yu-tao"}, expect=200).json()


def without_instance(body: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in body.items() if k != "instance"}


def request(api: Api, method: str, url: str, headers: dict[str, str], body: Any) -> Any:
    if body is None:
        return call(api, method, url, headers)
    return call(api, method, url, headers, json=body)


# --- tokens -------------------------------------------------------------------------------


def test_missing_garbage_and_revoked_tokens_are_401_problems(api: Api) -> None:
    revoked = api.token("admin")
    with api.runtime.sessions.begin() as session:
        row = session.scalars(
            select(orm.ApiToken).where(orm.ApiToken.token_hash == hash_token(revoked))
        ).one()
        revoke_token(session, row.id, api.now)
    number = call(api, "POST", CASES, api.headers("agent"), json=open_body(api)).json()["number"]
    attempts: list[dict[str, str]] = [
        {},
        {"Authorization": "Bearer"},
        {"Authorization": "Bearer garbage"},
        {"Authorization": "Bearer ct_not-a-real-token"},
        {"Authorization": f"Basic {api.token('admin')}"},
        bearer(revoked),
    ]
    targets = [
        ("GET", CASES, None),
        ("POST", CASES, open_body(api)),
        ("GET", f"{CASES}/{number}", None),
        ("POST", f"{CASES}/{number}/notes", {"text": "x"}),
        ("GET", f"{CASES}/{number}/credentials", None),
        ("GET", f"/api/v1/customers/{CUSTOMER_A}/cases", None),
    ]
    for headers in attempts:
        for method, url, body in targets:
            response = request(api, method, url, headers, body)
            assert response.status_code == 401, (headers, url)
            assert response.headers["www-authenticate"] == "Bearer"
            assert response.json()["title"] == "invalid token"


def test_role_matrix_of_every_command(api: Api) -> None:
    tokens = {role: api.headers(role) for role in STAFF_ROLES}
    number = call(api, "POST", CASES, tokens["agent"], json=open_body(api)).json()["number"]
    checked = 0
    for method, suffix, body in CASE_ROUTES:
        if suffix not in MATRIX or (method, suffix) in OPEN_READS:
            continue
        for role in STAFF_ROLES:
            response = request(api, method, f"{CASES}/{number}{suffix}", tokens[role], body)
            if role in MATRIX[suffix]:
                assert response.status_code != 403 or suffix == "/credentials", (role, suffix)
            else:
                assert response.status_code == 403, (role, suffix, response.text)
                assert response.json()["title"] == "forbidden"
            checked += 1
    assert checked == len(MATRIX) * len(STAFF_ROLES)


def test_role_matrix_on_a_complaint(api: Api) -> None:
    tokens = {role: api.headers(role) for role in STAFF_ROLES}
    body = open_body(api, request_type="complaint")
    number = call(api, "POST", CASES, tokens["agent"], json=body).json()["number"]
    for method, suffix, payload in CASE_ROUTES:
        if suffix not in MATRIX or (method, suffix) in OPEN_READS:
            continue
        allowed = MATRIX[suffix] | ON_COMPLAINTS.get(suffix, frozenset())
        for role in STAFF_ROLES:
            response = request(api, method, f"{CASES}/{number}{suffix}", tokens[role], payload)
            if role in allowed:
                assert response.status_code != 403 or suffix == "/credentials", (role, suffix)
            else:
                assert response.status_code == 403, (role, suffix, response.text)


def test_an_engineer_cannot_assign(api: Api) -> None:
    number = call(api, "POST", CASES, api.headers("agent"), json=open_body(api)).json()["number"]
    body = {"engineer": "yu-tao"}
    response = call(api, "POST", f"{CASES}/{number}/assign", api.headers("engineer"), json=body)
    assert response.status_code == 403
    assert "agent" in response.json()["detail"]
    call(api, "POST", CASES, api.headers("engineer"), json=open_body(api), expect=403)


def test_every_case_route_is_in_the_cross_customer_list(api: Api) -> None:
    schema = call(api, "GET", "/schema/openapi.json", expect=200).json()
    documented = {
        (
            method.upper(),
            path.removeprefix(f"{CASES}/{{number}}")
            .replace("{rma_id}", "1")
            .replace("{sha256}", SHA),
        )
        for path, item in schema["paths"].items()
        if path.startswith(f"{CASES}/{{number}}")
        for method in item
        if method in ("get", "post")
    }
    assert documented == {(method, suffix) for method, suffix, _ in CASE_ROUTES}


# --- customers ----------------------------------------------------------------------------


@pytest.mark.parametrize(("method", "suffix", "body"), CASE_ROUTES, ids=ROUTE_IDS)
def test_another_customers_case_looks_exactly_like_a_missing_one(
    api: Api, method: str, suffix: str, body: dict[str, Any] | None
) -> None:
    theirs = school_case(api)
    customer_a = api.headers("customer", customer=CUSTOMER_A)
    answers = [
        request(api, method, f"{CASES}/{number}{suffix}", customer_a, body)
        for number in (theirs["number"], MISSING, "not-a-case-number")
    ]
    for response in answers:
        assert response.status_code == 404, response.text
        assert response.headers["content-type"] == answers[0].headers["content-type"]
    first, *others = (without_instance(r.json()) for r in answers)
    assert all(other == first for other in others)
    assert theirs["number"] not in str(first)  # only the instance repeats the asked path
    after = call(api, "GET", f"{CASES}/{theirs['number']}", api.headers("agent")).json()
    assert (after["version"], after["events"]) == (theirs["version"], theirs["events"])
    # on its own case the same customer reads the detail, never sees credentials, acts only
    # by commenting and confirming closure (its own act: 409 here, not resolved yet)
    customer_b = api.headers("customer", customer=CUSTOMER_B)
    own = request(api, method, f"{CASES}/{theirs['number']}{suffix}", customer_b, body)
    hidden = {"/credentials": 404, f"/attachments/{SHA}": 404}  # internal: as if missing
    expected = {"": 200, "/onsite": 200, "/comments": 200, "/close": 409, **hidden}.get(suffix, 403)
    if suffix == "/inspection":
        expected = 404  # readable, but this case is no inspection
    if (method, suffix) in OPEN_READS:
        expected = 200
    assert own.status_code == expected, own.text


def test_a_customer_sees_only_customer_visible_events(api: Api) -> None:
    agent = api.headers("agent")
    number = call(api, "POST", CASES, agent, json=open_body(api), expect=201).json()["number"]
    url = f"{CASES}/{number}"
    call(api, "POST", f"{url}/assign", agent, json={"engineer": "yu-tao"}, expect=200)
    call(api, "POST", f"{url}/notes", agent, json={"text": "internal-only-remark"}, expect=200)
    visible = {"text": "we are on it", "visibility": "customer"}
    call(api, "POST", f"{url}/notes", agent, json=visible, expect=200)
    staff_view = call(api, "GET", url, agent, expect=200).json()
    response = call(api, "GET", url, api.headers("customer", customer=CUSTOMER_A), expect=200)
    customer_view = response.json()
    assert {e["visibility"] for e in staff_view["events"]} == {"internal", "customer"}
    assert {e["visibility"] for e in customer_view["events"]} == {"customer"}
    assert [e["kind"] for e in customer_view["events"]] == ["opened", "note"]
    assert "internal-only-remark" not in response.text
    assert "we are on it" in response.text
    assert customer_view["clocks"] == staff_view["clocks"]


def test_customer_lists_and_history_hold_only_its_own_cases(api: Api) -> None:
    agent = api.headers("agent")
    mine = {call(api, "POST", CASES, agent, json=open_body(api)).json()["number"] for _ in "ab"}
    theirs = school_case(api)["number"]
    customer_a = api.headers("customer", customer=CUSTOMER_A)

    def listed(url: str, **params: Any) -> set[str]:
        page = call(api, "GET", url, customer_a, params=params, expect=200).json()
        return {item["number"] for item in page["items"]}

    assert listed(CASES) == mine
    assert listed(CASES, limit=1) < mine
    assert listed(CASES, customer=CUSTOMER_B) == set()
    assert listed(CASES, contract=SCHOOL) == set()
    assert listed(CASES, customer=CUSTOMER_A) == mine
    assert listed(CASES, status="assigned") == set()
    assert listed(f"/api/v1/customers/{CUSTOMER_A}/cases") == mine
    everything = call(api, "GET", CASES, agent, params={"limit": 500}).json()["items"]
    assert theirs in {item["number"] for item in everything}
    other = call(api, "GET", f"/api/v1/customers/{CUSTOMER_B}/cases", customer_a, expect=404)
    unknown = call(api, "GET", "/api/v1/customers/nobody/cases", customer_a, expect=404)
    assert without_instance(other.json()) == without_instance(unknown.json())
    assert theirs not in other.text


def test_a_customer_opens_cases_only_under_its_own_contracts(api: Api) -> None:
    customer_a = api.headers("customer", customer=CUSTOMER_A)
    headers = {**customer_a, "Idempotency-Key": "web-form-1"}
    created = call(api, "POST", CASES, headers, json=open_body(api, channel="web"), expect=201)
    case = created.json()
    assert case["customer_id"] == CUSTOMER_A
    assert {e["visibility"] for e in case["events"]} == {"customer"}
    again = call(api, "POST", CASES, headers, json=open_body(api, channel="web"), expect=200)
    assert again.json()["number"] == case["number"]
    foreign = call(api, "POST", CASES, customer_a, json=open_body(api, contract_id=SCHOOL))
    unknown = call(api, "POST", CASES, customer_a, json=open_body(api, contract_id="nobody"))
    assert foreign.status_code == unknown.status_code == 404
    assert foreign.json()["detail"].replace(SCHOOL, "X") == unknown.json()["detail"].replace(
        "nobody", "X"
    )
    assert "rsyz" not in unknown.text.replace(SCHOOL, "")  # no list of known contracts
    staff = call(api, "GET", CASES, api.headers("agent")).json()["items"]
    assert [item["customer_id"] for item in staff] == [CUSTOMER_A]


# --- credentials --------------------------------------------------------------------------


def test_credentials_are_shown_only_to_the_assigned_engineer(api: Api) -> None:
    agent = api.headers("agent")
    wang = bearer(api.token("engineer", name="yu-tao"))
    body = open_body(api, device_serial=SWITCH)
    number = call(api, "POST", CASES, agent, json=body, expect=201).json()["number"]
    url = f"{CASES}/{number}"
    call(api, "POST", f"{url}/assign", agent, json={"engineer": "yu-tao"}, expect=200)
    consent = {
        "consent_by": "周医生",
        "consent_at": api.now.isoformat(),
        "credentials": {"device_ip": SECRET_IP, "password": SECRET_PASSWORD},
    }
    stored = call(api, "POST", f"{url}/remote-access", wang, json=consent, expect=200)
    texts = [stored.text]

    shown = call(api, "GET", f"{url}/credentials", wang, expect=200)
    assert shown.json() == {"device_ip": SECRET_IP, "password": SECRET_PASSWORD}
    assert "no-store" in shown.headers["cache-control"]
    others = [
        bearer(api.token("engineer", name="eng:zhao")),
        bearer(api.token("agent", name="yu-tao")),  # the right name, not an engineer
        api.headers("service_manager"),
        api.headers("admin"),
    ]
    for headers in others:
        refused = call(api, "GET", f"{url}/credentials", headers, expect=403)
        texts.append(refused.text)
    for customer in (CUSTOMER_A, CUSTOMER_B):
        hidden = call(api, "GET", f"{url}/credentials", api.headers("customer", customer=customer))
        assert hidden.status_code == 404
        texts.append(hidden.text)

    customer_a = api.headers("customer", customer=CUSTOMER_A)
    for headers in (agent, wang, customer_a):
        texts.append(call(api, "GET", url, headers, expect=200).text)
        texts.append(call(api, "GET", CASES, headers, expect=200).text)
        history = call(api, "GET", f"/api/v1/customers/{CUSTOMER_A}/cases", headers, expect=200)
        texts.append(history.text)
    texts.append(call(api, "POST", f"{url}/remote-login", wang, json={}, expect=200).text)
    for text in texts:
        assert SECRET_PASSWORD not in text and SECRET_IP not in text
    events = call(api, "GET", url, agent).json()["events"]
    viewed = [e for e in events if e["kind"] == "credentials_viewed"]
    assert [e["actor"] for e in viewed] == ["yu-tao"]
    granted = next(e for e in events if e["kind"] == "remote_access_agreed")
    assert granted["payload"]["credentials_stored"] == ["device_ip", "password"]


def test_credentials_the_server_key_cannot_open_are_a_500_not_a_400(api: Api) -> None:
    """A server-side fault (the key changed under stored credentials) is ours: 500."""
    agent = api.headers("agent")
    wang = bearer(api.token("engineer", name="yu-tao"))
    body = open_body(api, device_serial=SWITCH)
    number = call(api, "POST", CASES, agent, json=body, expect=201).json()["number"]
    url = f"{CASES}/{number}"
    call(api, "POST", f"{url}/assign", agent, json={"engineer": "yu-tao"}, expect=200)
    consent = {
        "consent_by": "周医生",
        "consent_at": api.now.isoformat(),
        "credentials": {"device_ip": SECRET_IP, "password": SECRET_PASSWORD},
    }
    call(api, "POST", f"{url}/remote-access", wang, json=consent, expect=200)
    api.runtime.desk.vault = CredentialVault(Fernet.generate_key())  # another key
    refused = api.client.get(f"{url}/credentials", headers=wang)
    problem = refused.json()
    assert refused.status_code == 500
    assert (problem["status"], problem["title"]) == (500, "credentials unreadable")
    assert SECRET_PASSWORD not in refused.text and SECRET_IP not in refused.text


def test_credentials_of_an_unassigned_case_are_refused(api: Api) -> None:
    agent = api.headers("agent")
    number = call(api, "POST", CASES, agent, json=open_body(api), expect=201).json()["number"]
    engineer = bearer(api.token("engineer", name="yu-tao"))
    call(api, "GET", f"{CASES}/{number}/credentials", engineer, expect=403)
    call(api, "GET", f"{CASES}/{MISSING}/credentials", engineer, expect=404)


def test_token_lookups_are_cached_briefly_and_revocation_takes_effect_after(api: Api) -> None:
    ticks = [1000.0]
    cache = api.client.app.state.principals
    cache.clock = lambda: ticks[0]
    token = api.token("agent")
    assert call(api, "GET", CASES, bearer(token)).status_code == 200
    with api.runtime.sessions.begin() as session:
        row = session.scalars(
            select(orm.ApiToken).where(orm.ApiToken.token_hash == hash_token(token))
        ).one()
        revoke_token(session, row.id, api.now)
    assert call(api, "GET", CASES, bearer(token)).status_code == 200  # still in the cache
    ticks[0] += cache.ttl + 0.1
    assert call(api, "GET", CASES, bearer(token)).status_code == 401


# the maintenance documents (api/documents.py): contract routes, written out independently
DOCUMENT_ROUTES = [
    "/api/v1/documents/{contract}/plan",
    "/api/v1/documents/{contract}/summary",
    "/api/v1/documents/{contract}/assessment",
]
DOCUMENT_READERS = frozenset(
    {
        "admin",
        "service_manager",
        "project_manager",
        "quality_department",
        "engineer",
        "expert_group",
    }
)
DOCUMENT_ROLES = (*STAFF_ROLES, "quality_department", "expert_group")  # the token roles


def test_who_may_read_the_maintenance_documents(api: Api) -> None:
    contract = "wdkn-hospital-2026"  # CUSTOMER_A's
    own = api.headers("customer", customer=CUSTOMER_A)
    other = api.headers("customer", customer=CUSTOMER_B)
    for template in DOCUMENT_ROUTES:
        url = template.format(contract=contract)
        for role in DOCUMENT_ROLES:
            response = api.client.get(url, headers=api.headers(role))
            expected = 200 if role in DOCUMENT_READERS else 403
            assert response.status_code == expected, (role, url, response.text)
        assert api.client.get(url, headers=own).status_code == 200
        # another customer's contract looks exactly like one that does not exist
        foreign = api.client.get(url, headers=other)
        missing = api.client.get(template.format(contract="nosuch"), headers=other)
        assert foreign.status_code == missing.status_code == 404
        assert foreign.json()["title"] == missing.json()["title"]
        assert api.client.get(url).status_code == 401
