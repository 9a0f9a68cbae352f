"""Notification delivery state on the case and the managers' dead-letter view, on both back ends.

Outbox rows are real: a case is opened over HTTP, the scheduler fires its first-response
warning (one e-mail and one SMS to the on-duty engineer) and core.jobs.deliver sends them through
a scripted notifier that answers sent, failed (refused for good) or transient (dead after
one attempt).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
import pytest
import schemathesis
from scrape import value
from sqlalchemy import event, select
from test_api_cases import CASES, call, open_body

from conftest import Api
from core import hookimpl
from core.events import RecordedEvent
from core.jobs.deliver import DeliveryPolicy, deliver, due_notifications
from core.jobs.outbox import NotificationNotRetryable
from core.jobs.outbox import retry as outbox_retry
from core.jobs.scheduler import tick
from core.notify import Delivery, Notice, TransientDeliveryError
from core.store import orm
from core.store.audit import verify
from core.store.queries import get_case, mask_email, mask_mobile, redact

NOTIFICATIONS = "/api/v1/notifications"
MANAGERS = ("service_manager", "project_manager", "complaint_manager", "admin")
ONE_ATTEMPT = DeliveryPolicy(max_attempts=1)
MASKED_MOBILE = re.compile(r"^\+?\d{3}\*{4}\d{4}$")
MASKED_EMAIL = re.compile(r"^.\*{3}@[^@*]+$")


class Scripted:
    """The ``email`` and ``sms`` channels, answering per (case, channel) as scripted.

    The refusals quote the address, as real providers do, so masking is tested on them.
    """

    def __init__(self) -> None:
        self.outcomes: dict[tuple[str, str], str] = {}

    def notifier(self, channel: str) -> Any:
        script = self

        class Channel:
            def send(self, notice: Notice) -> Delivery:
                outcome = script.outcomes[(str(notice.variables["case_number"]), channel)]
                address = notice.recipient.email if channel == "email" else notice.recipient.phone
                if outcome == "transient":
                    raise TransientDeliveryError(f"452 4.2.2 <{address}>: mailbox full", code=452)
                if outcome == "failed":
                    return Delivery(status="failed", detail=f"{address!r} cannot receive this")
                return Delivery(status="sent", detail="accepted", provider_id="p-1")

        return Channel()

    @hookimpl
    def register_notifiers(self, register: Any) -> None:
        register("email", self.notifier("email"))
        register("sms", self.notifier("sms"))


@dataclass
class Outbox:
    """Case A: e-mail dead, SMS failed. Case B: e-mail sent, SMS still queued."""

    api: Api
    a: str
    b: str
    ids: dict[tuple[str, str], int]  # (case number, channel) -> notification id
    person: dict[str, Any]  # the recipient as the outbox row holds it
    escalated_seq: int

    def row(self, number: str, channel: str) -> orm.Notification:
        with self.api.runtime.sessions() as session:
            row = session.get(orm.Notification, self.ids[(number, channel)])
            assert row is not None
            return row


def rows_of(api: Api, number: str) -> dict[str, orm.Notification]:
    with api.runtime.sessions() as session:
        query = select(orm.Notification).join(orm.Case).where(orm.Case.number == number)
        return {r.channel: r for r in session.scalars(query)}


@pytest.fixture
def outbox(api: Api) -> Iterator[Outbox]:
    agent = api.headers("agent")
    a = call(api, "POST", CASES, agent, json=open_body(api), expect=201).json()["number"]
    b = call(api, "POST", CASES, agent, json=open_body(api), expect=201).json()["number"]
    due = api.now + timedelta(minutes=16)  # past 50 % of the 30-minute first response
    report = tick(api.runtime, now=due)
    assert report.notifications == 4 and not report.errors, report
    scripted = Scripted()
    scripted.outcomes = {
        (a, "email"): "transient",
        (a, "sms"): "failed",
        (b, "email"): "sent",
    }
    pm = api.runtime.pm
    for name in ("email_notify", "sms_notify"):
        pm.set_blocked(name)
    pm.register(scripted, name="scripted-notifier")
    ids = {(n, ch): r.id for n in (a, b) for ch, r in rows_of(api, n).items()}
    for key in scripted.outcomes:
        deliver(api.runtime, ids[key], now=due, policy=ONE_ATTEMPT)
    api.now = due + timedelta(minutes=1)
    first = rows_of(api, a)["email"]
    yield Outbox(api, a, b, ids, dict(first.recipient), first.event_seq)


def bearer(api: Api, *roles: str, name: str = "test") -> dict[str, str]:
    return {"Authorization": f"Bearer {api.token(*roles, name=name)}"}


def listed(api: Api, query: str = "", role: str = "service_manager") -> dict[str, Any]:
    return call(api, "GET", f"{NOTIFICATIONS}{query}", bearer(api, role), expect=200).json()


def retry(api: Api, notification_id: int, headers: dict[str, str], expect: int) -> httpx.Response:
    return call(api, "POST", f"{NOTIFICATIONS}/{notification_id}/retry", headers, expect=expect)


def case_events(api: Api, number: str) -> list[orm.CaseEvent]:
    with api.runtime.sessions() as session:
        query = (
            select(orm.CaseEvent)
            .join(orm.Case)
            .where(orm.Case.number == number)
            .order_by(orm.CaseEvent.seq)
        )
        return list(session.scalars(query))


# --- masking (pure) ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "masked"),
    [
        ("13963112312", "139****2312"),
        ("+86 139-6311-2312", "139****2312"),
        ("0086 13963112312", "139****2312"),
        ("＋８６ １３９６３１１２３１２", "139****2312"),
        ("+852 9123 4567", "+852****4567"),
        ("5187755", "****55"),
    ],
)
def test_mobile_numbers_keep_the_prefix_and_the_last_four_digits(raw: str, masked: str) -> None:
    assert mask_mobile(raw) == masked


def test_email_addresses_keep_the_first_letter_and_the_domain() -> None:
    assert mask_email("zhang.wei@example.cn") == "z***@example.cn"
    assert mask_email("not an address") == "***"


def test_addresses_inside_an_error_text_are_masked() -> None:
    text = "{'li.na@example.cn': (550, b'5.1.1 unknown')} and '139-6311-2312', +85291234567"
    masked = redact(text, ["139-6311-2312"])
    assert masked == "{'l***@example.cn': (550, b'5.1.1 unknown')} and '139****2312', +852****4567"
    assert redact(None) is None and redact("") == ""


# --- the case detail --------------------------------------------------------------------------


def test_staff_see_each_notification_of_the_case_with_addresses_masked(outbox: Outbox) -> None:
    api = outbox.api
    response = call(api, "GET", f"{CASES}/{outbox.a}", bearer(api, "engineer"), expect=200)
    shown = {n["channel"]: n for n in response.json()["notifications"]}
    assert set(shown) == {"email", "sms"}
    email, sms = shown["email"], shown["sms"]
    assert email["id"] == outbox.ids[(outbox.a, "email")]
    assert (email["state"], email["attempts"]) == ("dead", 1)
    assert (sms["state"], sms["attempts"]) == ("failed", 0)
    for n in (email, sms):
        assert n["case_number"] == outbox.a
        assert (n["clock"], n["level"], n["event_seq"]) == (
            "first_response",
            1,  # the ladder's first rung, counted from 1 as messages do
            outbox.escalated_seq,
        )
        assert n["template"] == "clock_warning"
        assert n["sent_at"] is None
        assert n["send_after"] and n["created_at"].endswith("Z")
        recipient = n["recipient"]
        assert (recipient["id"], recipient["name"], recipient["role"]) == (
            outbox.person["id"],
            outbox.person["name"],
            "engineer",
        )
        assert MASKED_EMAIL.match(recipient["email"]), recipient
        assert MASKED_MOBILE.match(recipient["mobile"]), recipient
    assert "mailbox full" in email["last_error"] and "***@" in email["last_error"]
    assert "****" in sms["last_error"]
    # nowhere in the answer, not even in the providers' error texts
    assert outbox.person["email"] not in response.text
    assert outbox.person["mobile"] not in response.text
    escalated = [e for e in response.json()["events"] if e["seq"] == outbox.escalated_seq]
    assert escalated and escalated[0]["kind"] == "escalated"


def test_a_sent_notification_shows_when_it_went(outbox: Outbox) -> None:
    api = outbox.api
    detail = call(api, "GET", f"{CASES}/{outbox.b}", bearer(api, "agent"), expect=200).json()
    shown = {n["channel"]: n for n in detail["notifications"]}
    assert (shown["email"]["state"], shown["email"]["last_error"]) == ("sent", None)
    assert shown["email"]["sent_at"] == shown["email"]["send_after"]
    assert (shown["sms"]["state"], shown["sms"]["sent_at"]) == ("queued", None)


def test_customers_never_see_notifications(outbox: Outbox) -> None:
    api = outbox.api
    customer = api.headers("customer", customer="wdkn-hospital")
    response = call(api, "GET", f"{CASES}/{outbox.a}", customer, expect=200)
    assert "notifications" not in response.json()
    assert outbox.person["name"] not in response.text
    assert "escalated" not in {e["kind"] for e in response.json()["events"]}
    call(api, "GET", NOTIFICATIONS, customer, expect=403)


def test_a_case_without_notifications_has_no_notifications_key(api: Api) -> None:
    agent = api.headers("agent")
    number = call(api, "POST", CASES, agent, json=open_body(api), expect=201).json()["number"]
    assert "notifications" not in call(api, "GET", f"{CASES}/{number}", agent).json()


def test_the_detail_reads_every_notification_in_one_query(outbox: Outbox) -> None:
    api = outbox.api
    statements: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    def detail_queries() -> tuple[int, int]:
        statements.clear()
        event.listen(api.runtime.engine, "before_cursor_execute", count)
        try:
            with api.runtime.sessions() as session:
                detail = get_case(session, outbox.a)
        finally:
            event.remove(api.runtime.engine, "before_cursor_execute", count)
        return len(detail.notifications), len([s for s in statements if "notifications" in s])

    assert detail_queries() == (2, 1)
    tick(api.runtime, now=api.now + timedelta(minutes=6))  # the 75 % level: more rows
    more, queries = detail_queries()
    assert more > 2 and queries == 1


# --- the list ---------------------------------------------------------------------------------


def test_the_dead_letter_view_lists_by_state_case_and_channel(outbox: Outbox) -> None:
    api, a, b = outbox.api, outbox.a, outbox.b
    ids = outbox.ids

    def found(query: str) -> list[int]:
        return [n["id"] for n in listed(api, query)["items"]]

    assert found("?state=dead") == [ids[(a, "email")]]
    assert sorted(found("?state=dead&state=failed")) == sorted([ids[(a, "email")], ids[(a, "sms")]])
    assert found("?state=sent") == [ids[(b, "email")]]
    assert found("?state=queued") == [ids[(b, "sms")]]
    assert sorted(found(f"?case={b}")) == sorted([ids[(b, "email")], ids[(b, "sms")]])
    assert found(f"?case={a}&channel=sms") == [ids[(a, "sms")]]
    assert found(f"?case={b}&state=dead") == []
    assert found("?case=MS-2026-999999") == []
    everything = found("")
    assert everything == sorted(ids.values(), reverse=True)  # newest first
    dead = listed(api, "?state=dead")["items"][0]
    assert dead["recipient"]["name"] == outbox.person["name"]
    assert outbox.person["email"] not in str(listed(api))


@pytest.mark.parametrize("role", MANAGERS)
def test_every_manager_role_sees_the_list(outbox: Outbox, role: str) -> None:
    assert len(listed(outbox.api, "?state=dead", role=role)["items"]) == 1


@pytest.mark.parametrize("role", ["agent", "engineer"])
def test_agents_and_engineers_do_not_see_the_list(outbox: Outbox, role: str) -> None:
    response = call(outbox.api, "GET", NOTIFICATIONS, bearer(outbox.api, role), expect=403)
    assert "service_manager" in response.json()["detail"]


def test_the_list_pages_with_an_opaque_cursor(outbox: Outbox) -> None:
    api = outbox.api
    seen: list[int] = []
    cursor: str | None = None
    while True:
        query = "?limit=1" + (f"&cursor={cursor}" if cursor else "")
        page = listed(api, query)
        seen += [n["id"] for n in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == sorted(outbox.ids.values(), reverse=True)
    two = listed(api, "?state=dead&state=failed&limit=1")
    rest = listed(api, f"?state=dead&state=failed&limit=1&cursor={two['next_cursor']}")
    assert rest["next_cursor"] is None and len(rest["items"]) == 1


def test_bad_filters_limits_and_cursors_are_400(outbox: Outbox) -> None:
    api = outbox.api
    manager = bearer(api, "service_manager")
    case_cursor = call(api, "GET", f"{CASES}?limit=1", manager).json()["next_cursor"]
    assert case_cursor
    for query in (
        "?state=lost",
        "?limit=0",
        "?limit=501",
        "?cursor=not-a-cursor",
        f"?cursor={case_cursor}",  # a case list's cursor is not this list's
        "?case=not-a-case-number",
        "?case=MS-2026-0000%001",  # a NUL byte, which PostgreSQL text refuses
        "?channel=%00",
    ):
        response = call(api, "GET", f"{NOTIFICATIONS}{query}", manager, expect=400)
        assert response.json()["status"] == 400


# --- retry ------------------------------------------------------------------------------------


def test_a_manager_retries_a_dead_letter_and_the_history_says_who(outbox: Outbox) -> None:
    api = outbox.api
    dead_id = outbox.ids[(outbox.a, "email")]
    before = outbox.row(outbox.a, "email")
    manager = bearer(api, "service_manager", name="mgr:liu")
    answer = retry(api, dead_id, manager, 200).json()
    assert (answer["id"], answer["state"], answer["attempts"]) == (dead_id, "queued", 0)
    assert outbox.person["email"] not in str(answer)
    row = outbox.row(outbox.a, "email")
    assert (row.state, row.attempts, row.claimed_at, row.relayed_at) == ("queued", 0, None, None)
    assert row.last_error == before.last_error  # kept: "tried again after this"
    assert row.send_after <= api.now
    [retried] = [e for e in case_events(api, outbox.a) if e.kind == "notification_retried"]
    assert retried.actor.startswith("mgr:liu (token ")
    assert retried.at == api.now and retried.visibility == "internal"
    payload = retried.payload
    assert payload["notification_id"] == dead_id
    assert (payload["previous_state"], payload["attempts"]) == ("dead", 1)
    assert payload["channel"] == "email" and payload["escalation_seq"] == outbox.escalated_seq
    assert "mailbox full" in payload["last_error"]
    assert outbox.person["email"] not in str(payload)
    events = len(case_events(api, outbox.a))
    with api.runtime.sessions() as session:
        report = verify(session, outbox.a)
        assert report.ok and report.events_checked == events
        assert dead_id in [r.id for r in due_notifications(session, api.now)]
    # the detail shows it queued again and the event in the history
    detail = call(api, "GET", f"{CASES}/{outbox.a}", manager, expect=200).json()
    assert {n["id"]: n["state"] for n in detail["notifications"]}[dead_id] == "queued"
    assert detail["events"][-1]["kind"] == "notification_retried"
    # and it goes out like any queued row
    assert deliver(api.runtime, dead_id, now=api.now, policy=ONE_ATTEMPT) == "dead"  # still down


def test_a_failed_notification_can_be_retried_once_the_cause_is_fixed(outbox: Outbox) -> None:
    api = outbox.api
    failed_id = outbox.ids[(outbox.a, "sms")]
    answer = retry(api, failed_id, bearer(api, "project_manager"), 200).json()
    assert (answer["state"], answer["attempts"]) == ("queued", 0)
    [retried] = [e for e in case_events(api, outbox.a) if e.kind == "notification_retried"]
    assert retried.payload["previous_state"] == "failed"
    assert outbox.person["mobile"] not in str(retried.payload)
    scripted = api.runtime.pm.get_plugin("scripted-notifier")
    scripted.outcomes[(outbox.a, "sms")] = "sent"  # the number was fixed at the provider
    assert deliver(api.runtime, failed_id, now=api.now, policy=ONE_ATTEMPT) == "sent"


def test_retrying_twice_is_409_naming_the_state(outbox: Outbox) -> None:
    api = outbox.api
    dead_id = outbox.ids[(outbox.a, "email")]
    manager = bearer(api, "admin")
    retry(api, dead_id, manager, 200)
    problem = retry(api, dead_id, manager, 409).json()
    assert problem["title"] == "notification not retryable"
    assert "is queued" in problem["detail"]
    assert [e.kind for e in case_events(api, outbox.a)].count("notification_retried") == 1


@pytest.mark.parametrize(("channel", "state"), [("email", "sent"), ("sms", "queued")])
def test_only_dead_or_failed_rows_are_retried(outbox: Outbox, channel: str, state: str) -> None:
    api = outbox.api
    version = outbox.row(outbox.b, channel)
    problem = retry(api, outbox.ids[(outbox.b, channel)], bearer(api, "service_manager"), 409)
    assert problem.json()["status"] == 409
    assert f"is {state}" in problem.json()["detail"]
    assert outbox.row(outbox.b, channel).state == version.state == state
    assert "notification_retried" not in [e.kind for e in case_events(api, outbox.b)]


@pytest.mark.parametrize("role", ["engineer", "agent"])
def test_engineers_and_agents_cannot_retry(outbox: Outbox, role: str) -> None:
    api = outbox.api
    dead_id = outbox.ids[(outbox.a, "email")]
    retry(api, dead_id, bearer(api, role), 403)
    customer = api.headers("customer", customer="wdkn-hospital")
    retry(api, dead_id, customer, 403)
    assert outbox.row(outbox.a, "email").state == "dead"


def test_an_unknown_or_impossible_id_is_a_problem(outbox: Outbox) -> None:
    api = outbox.api
    manager = bearer(api, "service_manager")
    assert retry(api, 999_999, manager, 404).json()["detail"] == "no notification 999999"
    retry(api, 0, manager, 400)
    retry(api, 2**31, manager, 400)


def test_openapi_documents_the_notification_operations(api: Api) -> None:
    schema = call(api, "GET", "/schema/openapi.json", expect=200).json()
    listing = schema["paths"][NOTIFICATIONS]["get"]
    again = schema["paths"][f"{NOTIFICATIONS}/{{notification_id}}/retry"]["post"]
    assert (listing["operationId"], again["operationId"]) == (
        "listNotifications",
        "retryNotification",
    )
    assert listing["tags"] == again["tags"] == ["notifications"]
    assert {"400", "401", "403"} <= set(listing["responses"])
    assert {"200", "404", "409"} <= set(again["responses"])
    assert "state" in {p["name"] for p in listing["parameters"]}


def test_answers_with_real_outbox_rows_conform_to_the_schema(outbox: Outbox) -> None:
    """The fuzz test's demo has no outbox rows; here the documented shapes meet real ones."""
    api = outbox.api
    manager = bearer(api, "service_manager")
    schema = schemathesis.openapi.from_asgi("/schema/openapi.json", api.client.app)
    operations = {
        op.definition.raw["operationId"]: op
        for op in (result.ok() for result in schema.get_all_operations())
    }
    checks = [
        ("getCase", {"path_parameters": {"number": outbox.a}}),
        ("listNotifications", {"query": {"state": ["dead", "failed"], "limit": 1}}),
        ("listNotifications", {"query": {"case": outbox.b}}),
        (
            "retryNotification",
            {"path_parameters": {"notification_id": outbox.ids[(outbox.a, "sms")]}},
        ),
        (
            "retryNotification",
            {"path_parameters": {"notification_id": outbox.ids[(outbox.b, "email")]}},
        ),
    ]
    for operation_id, parts in checks:
        case = operations[operation_id].Case(**parts)
        case.call_and_validate(headers=manager)


class Heard:
    """Records the events plugins are told about."""

    def __init__(self) -> None:
        self.kinds: list[str] = []

    @hookimpl
    def case_event_recorded(self, event: RecordedEvent, contract: Any) -> None:
        self.kinds.append(event.kind)


def test_plugins_hear_the_retry_after_it_is_committed(outbox: Outbox) -> None:
    api = outbox.api
    heard = Heard()
    api.runtime.pm.register(heard, name="heard")
    retry(api, outbox.ids[(outbox.a, "email")], bearer(api, "service_manager"), 200)
    assert heard.kinds == ["notification_retried"]


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_two_managers_retrying_at_once_retry_it_once(outbox: Outbox) -> None:
    api = outbox.api
    dead_id = outbox.ids[(outbox.a, "email")]
    barrier = threading.Barrier(4)
    outcomes: list[str] = []

    def attempt(name: str) -> None:
        barrier.wait()
        try:
            outbox_retry(api.runtime, dead_id, actor=name, now=api.now)
            outcomes.append("retried")
        except NotificationNotRetryable as exc:
            outcomes.append(exc.state)

    threads = [threading.Thread(target=attempt, args=(f"mgr:{i}",)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(outcomes) == ["queued", "queued", "queued", "retried"]
    kinds = [e.kind for e in case_events(api, outbox.a)]
    assert kinds.count("notification_retried") == 1
    with api.runtime.sessions() as session:
        assert verify(session, outbox.a).ok


def test_metrics_show_dead_letters_and_how_late_the_oldest_due_notice_is(
    outbox: Outbox,
) -> None:
    text = outbox.api.client.get("/metrics").text
    pending = outbox.row(outbox.b, "sms")
    late = (outbox.api.now - pending.send_after).total_seconds()
    assert late > 0
    assert value(text, "casetrack_notifications_dead") == 1
    assert value(text, "casetrack_notifications_failed") == 1
    assert value(text, "casetrack_notifications_pending") == 1
    assert value(text, "casetrack_notifications_oldest_due_seconds") == late
    assert value(text, "casetrack_notifications_by_state", state="dead") == 1
