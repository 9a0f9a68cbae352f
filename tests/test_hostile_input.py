"""Hostile input on both back ends: never a 500, never a stored half-value (issue 9, part 2).

Text longer than its column, NUL bytes, deep JSON, extreme offsets and dates, hand-made
cursors, loosely typed bodies, implausible times and coordinates: each is refused with a 4xx
problem naming what is wrong, and nothing is stored.
"""

from __future__ import annotations

import base64
from datetime import timedelta
from typing import Any

import httpx
import msgspec
import pytest
from sqlalchemy import Engine, String, func, inspect, select

from conftest import API_NOW, Api
from core import limits
from core.case import Category, Channel, RequestType, Status
from core.commands import Assign, Caller, ChangeStatus, ExcludeClock, OpenCase, Priority
from core.service_types import effective_service_type
from core.store import orm

CASES = "/api/v1/cases"
NOTIFICATIONS = "/api/v1/notifications"
HOSPITAL = "wdkn-hospital-2026"
SWITCH = "219801A23B8205Q0021K"
PROBLEM = "application/problem+json"


def call(api: Api, method: str, url: str, headers: dict[str, str], **kwargs: Any) -> httpx.Response:
    """A request that must be answered without a 5xx, errors as problem+json."""
    response = api.client.request(method, url, headers=headers, **kwargs)
    assert response.status_code < 500, response.text
    if response.status_code >= 400:
        assert response.headers["content-type"].startswith(PROBLEM), response.text
    return response


def refused(response: httpx.Response, status: int, path: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.text
    problem = response.json()
    if path is not None:
        assert path in [e["path"] for e in problem["errors"]], response.text
    return problem


def open_body(**changes: Any) -> dict[str, Any]:
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


def at(api: Api, **delta: float) -> str:
    return (api.now + timedelta(**delta)).isoformat()


def case_count(api: Api) -> int:
    with api.runtime.sessions() as session:
        return session.scalar(select(func.count()).select_from(orm.Case)) or 0


def stored_case(api: Api, number: str) -> orm.Case:
    with api.runtime.sessions() as session:
        return session.scalars(select(orm.Case).where(orm.Case.number == number)).one()


def opened(api: Api, **changes: Any) -> str:
    response = call(api, "POST", CASES, api.headers("agent"), json=open_body(**changes))
    assert response.status_code == 201, response.text
    return str(response.json()["number"])


def in_progress(api: Api) -> str:
    """A case assigned to yu-tao whose first response is recorded."""
    number = opened(api)
    url = f"{CASES}/{number}"
    agent = api.headers("agent", "engineer")
    assert call(api, "POST", f"{url}/assign", agent, json={"engineer": "yu-tao"}).is_success
    body = {"agreed_content": "check the uplink"}
    assert call(api, "POST", f"{url}/first-response", agent, json=body).is_success
    return number


# --- every String column against its API field --------------------------------------------

# (Struct, field, table, column): the API field whose text lands in that column
API_COLUMNS: list[tuple[type[msgspec.Struct], str, str, str]] = [
    (OpenCase, "contract_id", "cases", "contract_id"),
    (Caller, "name", "cases", "caller_name"),
    (Caller, "company", "cases", "caller_company"),
    (Caller, "phone", "cases", "caller_phone"),
    (Caller, "email", "cases", "caller_email"),
    (Caller, "address", "cases", "caller_address"),
    (OpenCase, "summary", "cases", "summary"),
    (OpenCase, "device_serial", "cases", "device_serial"),
    (OpenCase, "site", "cases", "site"),
    (Assign, "engineer", "cases", "assignee"),
    (ChangeStatus, "cause", "sla_clocks", "pause_cause"),
    (ExcludeClock, "kind", "sla_clocks", "kind"),
    (ExcludeClock, "cause", "sla_clocks", "exclusion_cause"),
]
# columns of the tables requests write into whose text the server chooses, or a closed set
SERVER_CHOSEN = {
    ("cases", "number"),
    ("cases", "customer_id"),  # the contract's customer
    ("cases", "zone"),
    ("cases", "last_hash"),
    ("cases", "head_mac"),  # core.store.seal: the HMAC of the chain head
    ("cases", "opened_request_id"),  # X-Request-ID if 1-64 of [A-Za-z0-9._-], else made (core.logs)
    ("sla_clocks", "state"),
    ("sla_clocks", "calendar"),
    ("sla_clocks", "target"),
}
ENUM_COLUMNS = {
    ("cases", "category"): [str(c) for c in Category],
    ("cases", "request_type"): [str(r) for r in RequestType],
    ("cases", "priority"): [str(p) for p in Priority],
    ("cases", "channel"): [str(c) for c in Channel],
    ("cases", "status"): [str(s) for s in Status],
}


def max_length(struct: type[msgspec.Struct], name: str) -> int | None:
    [field] = [f for f in msgspec.inspect.type_info(struct).fields if f.name == name]
    kinds = field.type.types if isinstance(field.type, msgspec.inspect.UnionType) else [field.type]
    [text] = [t for t in kinds if isinstance(t, msgspec.inspect.StrType)]
    assert text.pattern == limits.NO_NUL, f"{struct.__name__}.{name} lets NUL through"
    return text.max_length


def test_every_string_column_matches_its_api_field(engine: Engine) -> None:
    """The migrated schema of each back end: every VARCHAR a request fills has an API field of
    exactly its length (not more: PostgreSQL 500s, SQLite keeps it; not less: data refused)."""
    columns = {
        (table, c["name"]): c["type"].length
        for table in ("cases", "sla_clocks")
        for c in inspect(engine).get_columns(table)
        if isinstance(c["type"], String) and c["type"].length is not None
    }
    covered = {(table, column) for _, _, table, column in API_COLUMNS}
    assert set(columns) == covered | SERVER_CHOSEN | set(ENUM_COLUMNS)
    for struct, name, table, column in API_COLUMNS:
        assert max_length(struct, name) == columns[table, column], (struct, name, column)
    for key, values in ENUM_COLUMNS.items():
        assert max(len(v) for v in values) <= columns[key], key


def test_orm_and_limits_agree() -> None:
    """core.store.orm reads core.limits: the model (what migrations are made from) agrees too."""
    for struct, name, table, column in API_COLUMNS:
        model_type = orm.Base.metadata.tables[table].c[column].type
        assert isinstance(model_type, String)
        assert max_length(struct, name) == model_type.length, (struct, name)


# (JSON path, limit, body with the text in place): opening a case
OPEN_FIELDS = [
    ("$.caller.phone", limits.PHONE, lambda t: open_body(caller={"name": "x", "phone": t})),
    ("$.caller.email", limits.NAME, lambda t: open_body(caller={"name": "x", "email": t})),
    ("$.caller.company", limits.NAME, lambda t: open_body(caller={"name": "x", "company": t})),
    ("$.caller.address", limits.ADDRESS, lambda t: open_body(caller={"name": "x", "address": t})),
    ("$.caller.name", limits.NAME, lambda t: open_body(caller={"name": t})),
    ("$.summary", limits.ADDRESS, lambda t: open_body(summary=t)),
    ("$.site", limits.ADDRESS, lambda t: open_body(site=t)),
    ("$.device_serial", limits.SERIAL, lambda t: open_body(device_serial=t)),
]
COLUMN_OF = {
    "$.caller.phone": "caller_phone",
    "$.caller.email": "caller_email",
    "$.caller.company": "caller_company",
    "$.caller.address": "caller_address",
    "$.caller.name": "caller_name",
    "$.summary": "summary",
    "$.site": "site",
    "$.device_serial": "device_serial",
}


@pytest.mark.parametrize(("path", "limit", "body"), OPEN_FIELDS, ids=[f[0] for f in OPEN_FIELDS])
def test_open_text_longer_than_its_column_is_400_and_the_limit_itself_is_kept(
    api: Api, path: str, limit: int, body: Any
) -> None:
    agent = api.headers("agent")
    refused(call(api, "POST", CASES, agent, json=body("七" * (limit + 1))), 400, path)
    assert case_count(api) == 0
    text = "七" * (limit - 1) + "x"  # multi-byte: the limit counts characters
    response = call(api, "POST", CASES, agent, json=body(text))
    assert response.status_code == 201, response.text
    case = stored_case(api, response.json()["number"])
    assert getattr(case, COLUMN_OF[path]) == text


def test_engineer_longer_than_the_assignee_column_is_400(api: Api) -> None:
    number = opened(api)
    agent = api.headers("agent")
    url = f"{CASES}/{number}/assign"
    refused(call(api, "POST", url, agent, json={"engineer": "e" * 101}), 400, "$.engineer")
    assert stored_case(api, number).assignee is None
    # 100 characters decode; the name then meets the staff directory (issue 11)
    answer = call(api, "POST", url, agent, json={"engineer": "e" * 100})
    assert (answer.status_code, answer.json()["title"]) == (422, "unknown engineer")
    assert stored_case(api, number).assignee is None


def test_status_cause_longer_than_its_column_is_400(api: Api) -> None:
    number = in_progress(api)
    url = f"{CASES}/{number}/status"
    staff = api.headers("engineer")
    body = {"status": "pending_customer", "cause": "c" * (limits.CAUSE + 1)}
    refused(call(api, "POST", url, staff, json=body), 400, "$.cause")
    assert stored_case(api, number).status == "in_progress"
    body["cause"] = "c" * limits.CAUSE
    answer = call(api, "POST", url, staff, json=body)
    assert answer.status_code == 200, answer.text
    resolution = {c["kind"]: c for c in answer.json()["clocks"]}["resolution"]
    assert resolution["pause_cause"] == body["cause"]


# --- NUL bytes ------------------------------------------------------------------------------


def test_a_nul_byte_in_any_text_is_400_naming_the_field(api: Api) -> None:
    agent = api.headers("agent", "engineer", "service_manager")
    nul = "a\x00b"
    for body, path in [
        (open_body(caller={"name": nul}), "$.caller.name"),
        (open_body(caller={"name": "x", "phone": nul}), "$.caller.phone"),
        (open_body(caller={"name": "x", "email": nul}), "$.caller.email"),
        (open_body(summary=nul), "$.summary"),
        (open_body(site=nul), "$.site"),
        (open_body(device_serial=nul), "$.device_serial"),
        (open_body(description=nul), "$.description"),
        (open_body(contract_id=nul), "$.contract_id"),
    ]:
        problem = refused(call(api, "POST", CASES, agent, json=body), 400, path)
        assert "NUL" in problem["detail"]
    assert case_count(api) == 0
    number = in_progress(api)
    url = f"{CASES}/{number}"
    consent = {"consent_by": "周医生", "consent_at": at(api)}
    for action, body, path in [
        ("assign", {"engineer": nul}, "$.engineer"),
        ("notes", {"text": nul}, "$.text"),
        ("status", {"status": "pending_customer", "cause": nul}, "$.cause"),
        ("calls", {"direction": "inbound", "party": nul, "summary": "x"}, "$.party"),
        ("spare-shipped", {"note": nul}, "$.note"),
        ("remote-access", {**consent, "credentials": {"password": nul}}, "$.credentials[...]"),
        ("remote-access", {**consent, "credentials": {nul: "x"}}, "$.credentials"),
        ("handovers", {"target": "vendor", "reason": "x", "ticket": nul}, "$.ticket"),
    ]:
        refused(call(api, "POST", f"{url}/{action}", agent, json=body), 400, path)
    assert stored_case(api, number).version == 3  # opened, assigned, first response


def test_a_nul_byte_in_a_query_or_path_is_a_4xx(api: Api) -> None:
    staff = api.headers("agent")
    response = call(api, "GET", CASES, staff, params={"customer": "a\x00b"})
    refused(response, 400)
    response = call(api, "GET", "/api/v1/customers/a%00b/cases", staff)
    assert response.status_code in (400, 404), response.text
    manager = api.headers("service_manager")
    refused(call(api, "GET", NOTIFICATIONS, manager, params={"channel": "s\x00"}), 400)


# --- deep JSON ------------------------------------------------------------------------------


@pytest.mark.parametrize("depth", [975, 5000, 100_000])
def test_deeply_nested_json_is_400(api: Api, depth: int) -> None:
    agent = {**api.headers("agent"), "content-type": "application/json"}
    for body in [
        b"[" * depth + b"]" * depth,
        b'{"contract_id":' + b"[" * depth + b"]" * depth + b"}",
        b'{"caller":{"name":"x","phone":' + b'{"a":' * depth + b"1" + b"}" * depth + b"}}",
    ]:
        refused(call(api, "POST", CASES, agent, content=body), 400)
    number = opened(api)
    body = b'{"consent_by":"x","consent_at":"2026-10-14T02:00:00Z","credentials":{"a":'
    body += b"[" * depth + b"]" * depth + b"}}"
    url = f"{CASES}/{number}/remote-access"
    refused(call(api, "POST", url, {**agent, **api.headers("engineer")}, content=body), 400)


def test_untyped_deep_json_is_refused_by_the_decoder_not_a_500() -> None:
    """Where it exploded: msgspec raises RecursionError on the untyped decode litestar does."""
    from litestar.exceptions import ValidationException

    from api.decoding import decode_body

    depth = 100_000
    with pytest.raises(ValidationException) as caught:
        decode_body(b"[" * depth + b"]" * depth, Any)
    assert "nested too deeply" in str(caught.value.extra)


# --- extreme offsets, dates and cursors -----------------------------------------------------


def test_due_before_with_an_extreme_offset_is_400(api: Api) -> None:
    staff = api.headers("agent")
    opened(api)
    for value in ["0001-01-01T00:00:00+23:59", "9999-12-31T23:59:59-23:59"]:
        problem = refused(call(api, "GET", CASES, staff, params={"due_before": value}), 400)
        assert "due_before" in problem["detail"]
    ok = call(api, "GET", CASES, staff, params={"due_before": "9999-12-31T23:59:59+00:00"})
    assert ok.status_code == 200 and len(ok.json()["items"]) == 1


def _cursor(value: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(msgspec.json.encode(value)).rstrip(b"=").decode()


HUGE_IDS = [2**31, 2**63, 10**30]


def test_hand_made_cursors_with_huge_ids_are_400(api: Api) -> None:
    staff, manager = api.headers("agent"), api.headers("service_manager")
    opened(api)
    for huge in HUGE_IDS:
        cursor = _cursor({"o": "id", "id": huge})
        refused(call(api, "GET", CASES, staff, params={"cursor": cursor}), 400)
        url = "/api/v1/customers/wdkn-hospital/cases"
        refused(call(api, "GET", url, staff, params={"cursor": cursor}), 400)
        due = {"o": "due", "deadline": "2026-10-14T02:00:00Z", "id": huge}
        params = {"cursor": _cursor(due), "due_before": "2027-01-01T00:00:00Z"}
        refused(call(api, "GET", CASES, staff, params=params), 400)
        cursor = _cursor({"o": "notification", "id": huge})
        refused(call(api, "GET", NOTIFICATIONS, manager, params={"cursor": cursor}), 400)
    due = {"o": "due", "deadline": "0001-01-01T00:00:00+23:59", "id": 1}
    params = {"cursor": _cursor(due), "due_before": "2027-01-01T00:00:00Z"}
    refused(call(api, "GET", CASES, staff, params=params), 400)
    # the largest id a row can have is still a cursor
    largest = {"cursor": _cursor({"o": "id", "id": limits.MAX_ID})}
    assert len(call(api, "GET", CASES, staff, params=largest).json()["items"]) == 1


def test_huge_ids_elsewhere_are_4xx(api: Api) -> None:
    manager = api.headers("service_manager")
    for huge in HUGE_IDS:
        response = call(api, "POST", f"{NOTIFICATIONS}/{huge}/retry", manager)
        assert response.status_code in (400, 404), response.text
    number = opened(api)
    body = {"engineer": "yu-tao", "expected_version": 2**63}
    url = f"{CASES}/{number}/assign"
    refused(call(api, "POST", url, api.headers("agent"), json=body), 400, "$.expected_version")


# --- schema looseness -----------------------------------------------------------------------


def test_strings_are_not_booleans_or_numbers(api: Api) -> None:
    agent = api.headers("agent")
    refused(call(api, "POST", CASES, agent, json=open_body(emergency="true")), 400, "$.emergency")
    refused(call(api, "POST", CASES, agent, json=open_body(lat="36.9", lon="122.1")), 400, "$.lat")
    assert case_count(api) == 0
    number = opened(api)
    url = f"{CASES}/{number}/assign"
    body = {"engineer": "yu-tao", "expected_version": "1"}
    refused(call(api, "POST", url, agent, json=body), 400, "$.expected_version")
    body = {"level": "2", "reason": "x", "target_group": "NOC"}
    refused(call(api, "POST", f"{CASES}/{number}/escalations", agent, json=body), 400, "$.level")
    assert stored_case(api, number).version == 1


def test_an_appointment_of_numbers_is_400(api: Api) -> None:
    body = open_body(category="fault_rescue", appointment={"start": 0, "end": 1})
    refused(call(api, "POST", CASES, api.headers("agent"), json=body), 400, "$.appointment.start")
    assert case_count(api) == 0


@pytest.mark.parametrize(
    ("start", "end", "path"),
    [
        ("1970-01-01T00:00:00Z", "1970-01-01T00:00:01Z", "$.appointment.end"),
        ("0001-01-01T00:00:00+23:59", "0001-01-02T00:00:00+23:59", "$.appointment.end"),
        ({"hours": -3}, {"hours": -1}, "$.appointment.end"),  # over before the case opened
        ({"days": -2}, {"hours": 2}, "$.appointment.start"),
        ({"days": 1}, {"days": 367}, "$.appointment.end"),
        ("9999-12-31T20:00:00-23:59", "9999-12-31T23:59:59-23:59", "$.appointment.end"),
    ],
    ids=["1970", "year-1", "over", "began-days-ago", "beyond-a-year", "year-9999"],
)
def test_implausible_appointments_are_422(api: Api, start: Any, end: Any, path: str) -> None:
    def instant(value: Any) -> str:
        return value if isinstance(value, str) else at(api, **value)

    window = {"start": instant(start), "end": instant(end)}
    body = open_body(category="fault_rescue", device_serial=SWITCH, appointment=window)
    problem = refused(call(api, "POST", CASES, api.headers("agent"), json=body), 422, path)
    assert problem["title"] == "implausible time"
    assert case_count(api) == 0


def test_plausible_appointments_open(api: Api) -> None:
    agent = api.headers("agent")
    for start, end in [({"hours": -20}, {"hours": 1}), ({"days": 300}, {"days": 300, "hours": 4})]:
        window = {"start": at(api, **start), "end": at(api, **end)}
        body = open_body(category="fault_rescue", device_serial=SWITCH, appointment=window)
        assert call(api, "POST", CASES, agent, json=body).status_code == 201


def _resolved(api: Api) -> str:
    number = in_progress(api)
    api.now += timedelta(hours=1)
    body = {"resolution": "restarted"}
    url = f"{CASES}/{number}/resolve"
    assert call(api, "POST", url, api.headers("engineer"), json=body).status_code == 200
    return number


@pytest.mark.parametrize(
    "confirmed_at",
    [
        "9999-12-31T23:59:59-23:59",
        "2999-01-01T00:00:00Z",
        "1970-01-01T00:00:00Z",
        "0001-01-01T00:00:00+23:59",
        {"minutes": 6},  # beyond the 5-minute skew
        {"hours": -1, "minutes": -6},  # before the case opened (an hour before now)
    ],
    ids=["year-9999", "2999", "1970", "year-1", "ahead", "before-opening"],
)
def test_close_confirmed_at_outside_the_case_is_422(api: Api, confirmed_at: Any) -> None:
    number = _resolved(api)
    when = confirmed_at if isinstance(confirmed_at, str) else at(api, **confirmed_at)
    body = {"confirmed_by": "周医生", "confirmed_at": when, "confirmation_document": "DMS-9"}
    url = f"{CASES}/{number}/close"
    refused(call(api, "POST", url, api.headers("agent"), json=body), 422, "$.confirmed_at")
    assert stored_case(api, number).status == "resolved"


def test_close_confirmed_within_the_skew_closes(api: Api) -> None:
    number = _resolved(api)
    service = effective_service_type(
        "consulting", api.runtime.contracts.get(HOSPITAL).contract.service_types
    )
    body = {
        "confirmed_by": "周医生",
        "confirmed_at": at(api, minutes=4),
        "checklist": list(service.checklist_ids),
        "deliverables": {d: "DMS-1" for d in service.deliverable_ids},
        "confirmation_document": "DMS-9",  # staff record a confirmation given on paper
    }
    response = call(api, "POST", f"{CASES}/{number}/close", api.headers("agent"), json=body)
    assert response.status_code == 200, response.text
    naive = {**body, "confirmed_at": "2026-10-14T10:00:00"}  # no offset: no instant
    refused(call(api, "POST", f"{CASES}/{number}/close", api.headers("agent"), json=naive), 400)


def test_remote_access_consent_at_extremes_is_422(api: Api) -> None:
    number = in_progress(api)
    engineer = api.headers("engineer")
    url = f"{CASES}/{number}/remote-access"
    for when in ["9999-12-31T23:59:59-23:59", "0001-01-01T00:00:00+23:59", "2999-01-01T00:00:00Z"]:
        body = {"consent_by": "周医生", "consent_at": when}
        refused(call(api, "POST", url, engineer, json=body), 422, "$.consent_at")
    body = {"consent_by": "周医生", "consent_at": at(api)}
    assert call(api, "POST", url, engineer, json=body).status_code == 200


def test_coordinates_out_of_range_are_400(api: Api) -> None:
    agent = api.headers("agent")
    for lat, lon, path in [
        (999, 122.1, "$.lat"),
        (-90.5, 122.1, "$.lat"),
        (36.9, 999, "$.lon"),
        (36.9, -180.01, "$.lon"),
    ]:
        body = open_body(lat=lat, lon=lon)
        refused(call(api, "POST", CASES, agent, json=body), 400, path)
    infinite = msgspec.json.encode(open_body(lon=122.1)).replace(b'"lon"', b'"lat":1e999,"lon"')
    headers = {**agent, "content-type": "application/json"}
    refused(call(api, "POST", CASES, headers, content=infinite), 400, "$.lat")
    assert case_count(api) == 0
    assert call(api, "POST", CASES, agent, json=open_body(lat=37.2, lon=122.1)).status_code == 201


def test_the_openapi_document_states_the_limits(api: Api) -> None:
    schema = api.client.get("/schema/openapi.json").json()["components"]["schemas"]
    caller = schema["Caller"]["properties"]
    assert caller["phone"]["maxLength"] == limits.PHONE
    assert caller["phone"]["pattern"] == limits.NO_NUL
    opening = schema["OpenCase"]["properties"]
    assert (opening["lat"]["minimum"], opening["lat"]["maximum"]) == (-90, 90)
    assert (opening["lon"]["minimum"], opening["lon"]["maximum"]) == (-180, 180)
    assert opening["emergency"]["type"] == "boolean"


# --- token names: recorded as the actor of every event ----------------------------------------


def test_token_names_fit_the_actor_columns(sessions: Any) -> None:
    from core.store.tokens import Principal, TokenError, create_token

    longest = "n" * limits.TOKEN_NAME
    actor = Principal(limits.MAX_ID, longest, frozenset({"agent"}), None).actor
    assert len(actor) <= limits.ENGINEER == orm.CaseEvent.__table__.c.actor.type.length
    with sessions.begin() as session:
        create_token(session, roles=["agent"], name=longest, now=API_NOW)
    for name in ["n" * (limits.TOKEN_NAME + 1), "a\x00b", " "]:
        with sessions.begin() as session, pytest.raises(TokenError):
            create_token(session, roles=["agent"], name=name, now=API_NOW)
    roles = ["admin", "agent", "complaint_manager", "engineer", "project_manager"]
    assert len("+".join([*roles, "service_manager"])) <= limits.TOKEN_NAME  # the CLI's default
