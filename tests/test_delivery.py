"""Outbox delivery on both back ends: each notice sent once, transient failures end dead."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from datetime import timedelta
from email import message_from_bytes
from email import policy as email_policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import msgspec
import pytest
import test_scheduler
from aiosmtpd.controller import Controller
from sqlalchemy import select, update
from test_desk import at
from test_email_notify import Recorder, free_port
from test_scheduler import opened

from core import hookimpl
from core.jobs.deliver import DeliveryPolicy, deliver, due_notifications
from core.jobs.outbox import NotificationNotRetryable, retry
from core.jobs.scheduler import tick
from core.notify import Delivery, Notice, TransientDeliveryError
from core.runtime import Runtime
from core.store import orm
from plugins.email_notify.sender import message_id

contracts = test_scheduler.contracts  # fixtures shared with the scheduler tests
runtime = test_scheduler.runtime

DUE = at("2026-10-14T10:16")  # the first response's 50 % level: one email and one sms row


@pytest.fixture
def smtp(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Recorder]:
    recorder = Recorder()
    port = free_port()
    controller = Controller(recorder, hostname="127.0.0.1", port=port)
    controller.start()
    monkeypatch.setenv("CASETRACK_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("CASETRACK_SMTP_PORT", str(port))
    monkeypatch.setenv("CASETRACK_SMTP_FROM", "desk@example.com")
    monkeypatch.setenv("CASETRACK_SMTP_STARTTLS", "false")
    monkeypatch.setenv("CASETRACK_SMS_SPOOL", str(tmp_path / "spool"))
    try:
        yield recorder
    finally:
        controller.stop()


def spooled(tmp_path: Path) -> int:
    return sum(1 for p in (tmp_path / "spool").rglob("*") if p.is_file())


def rows(runtime: Runtime) -> dict[str, orm.Notification]:
    with runtime.sessions() as session:
        return {r.channel: r for r in session.scalars(select(orm.Notification))}


class Flaky:
    """A ``flaky`` channel whose provider is always down for now."""

    def __init__(self) -> None:
        self.calls = 0

    def send(self, notice: Notice) -> Delivery:
        self.calls += 1
        raise TransientDeliveryError("provider busy", code=421)

    @hookimpl
    def register_notifiers(self, register: Any) -> None:
        register("flaky", self)


def flaky_row(runtime: Runtime) -> int:
    """A copy of the e-mail row on the ``flaky`` channel."""
    with runtime.sessions.begin() as session:
        src = session.scalars(select(orm.Notification).where(orm.Notification.channel == "email"))
        base = src.one()
        row = orm.Notification(
            case_id=base.case_id,
            clock_id=base.clock_id,
            event_seq=base.event_seq,
            level=base.level,
            channel="flaky",
            recipient=base.recipient,
            template=base.template,
            variables=base.variables,
            idempotency_key=base.idempotency_key + ":flaky",
            state="queued",
            attempts=0,
            send_after=base.send_after,
            created_at=base.created_at,
        )
        session.add(row)
        session.flush()
        return row.id


def test_each_channel_sends_once_and_a_redelivery_does_not_resend(
    runtime: Runtime, smtp: Recorder, tmp_path: Path
) -> None:
    opened(runtime)
    tick(runtime, now=DUE)
    with runtime.sessions() as session:
        due = due_notifications(session, DUE, 10)
        assert {r.channel for r in due} == {"email", "sms"}
    ids = {channel: row.id for channel, row in rows(runtime).items()}
    for _ in range(2):  # the second round is a redelivered message
        for notification_id in ids.values():
            assert deliver(runtime, notification_id, now=DUE) == "sent"
    assert len(smtp.received) == 1 and spooled(tmp_path) == 1
    after = rows(runtime)
    assert {(r.state, r.sent_at, r.attempts) for r in after.values()} == {("sent", DUE, 0)}
    with runtime.sessions() as session:
        assert due_notifications(session, DUE, 10) == []


def test_transient_failures_retry_with_back_off_then_dead_and_a_manager_requeues(
    runtime: Runtime,
) -> None:
    opened(runtime)
    tick(runtime, now=DUE)
    flaky = Flaky()
    runtime.pm.register(flaky, name="undo-flaky")
    notification_id = flaky_row(runtime)
    policy = DeliveryPolicy(max_attempts=3, first_retry=timedelta(seconds=30))
    now = DUE
    for attempt, wait in ((1, 30), (2, 60)):
        assert deliver(runtime, notification_id, now=now, policy=policy) == "queued"
        row = rows(runtime)["flaky"]
        assert (row.state, row.attempts, row.last_error) == ("queued", attempt, "provider busy")
        assert row.send_after == now + timedelta(seconds=wait)  # the schedule is in the row
        # a redelivered message before the back-off is over sends nothing
        assert deliver(runtime, notification_id, now=now, policy=policy) == "queued"
        assert flaky.calls == attempt
        now = row.send_after
    assert deliver(runtime, notification_id, now=now, policy=policy) == "dead"
    assert deliver(runtime, notification_id, now=now, policy=policy) == "dead"
    assert flaky.calls == 3 and rows(runtime)["flaky"].attempts == 3
    retry(runtime, notification_id, actor="经理", now=now)
    with pytest.raises(NotificationNotRetryable):  # queued again: nothing to retry
        retry(runtime, notification_id, actor="经理", now=now)
    row = rows(runtime)["flaky"]
    assert (row.state, row.attempts) == ("queued", 0)


def test_a_claimed_row_is_not_sent_again_until_its_lease_lapses(
    runtime: Runtime, smtp: Recorder
) -> None:
    opened(runtime)
    tick(runtime, now=DUE)
    email = rows(runtime)["email"]
    lease = timedelta(minutes=5)
    with runtime.sessions.begin() as session:  # a worker claimed it, then died mid-send
        session.execute(
            update(orm.Notification)
            .where(orm.Notification.id == email.id)
            .values(state="sending", relayed_at=DUE, claimed_at=DUE)
        )
    policy = DeliveryPolicy(lease=lease)
    later = DUE + timedelta(minutes=4)
    assert deliver(runtime, email.id, now=later, policy=policy) == "sending"
    assert smtp.received == []
    with runtime.sessions() as session:  # the relay does not re-pick it yet either
        assert email.id not in {r.id for r in due_notifications(session, later, lease=lease)}
        lapsed = DUE + lease
        assert email.id in {r.id for r in due_notifications(session, lapsed, lease=lease)}
    assert deliver(runtime, email.id, now=DUE + lease, policy=policy) == "sent"
    assert len(smtp.received) == 1


def test_several_rows_to_one_person_go_as_one_digest(
    runtime: Runtime, smtp: Recorder, tmp_path: Path
) -> None:
    for _ in range(3):
        opened(runtime)
    tick(runtime, now=DUE)
    with runtime.sessions() as session:
        email = list(
            session.scalars(select(orm.Notification).where(orm.Notification.channel == "email"))
        )
    assert len(email) == 3 and len({str(r.recipient["id"]) for r in email}) == 1
    ids = [r.id for r in email]
    assert deliver(runtime, ids, now=DUE) == "sent"
    assert len(smtp.received) == 1  # one message for three notices
    message = smtp.received[0]
    with runtime.sessions() as session:
        after = list(session.scalars(select(orm.Notification).where(orm.Notification.id.in_(ids))))
    keys = {r.digest_key for r in after}
    assert {r.state for r in after} == {"sent"} and len(keys) == 1
    key = keys.pop()
    assert key is not None and key.startswith("digest:")
    numbers = {r.variables["case_number"] for r in after}
    parsed = message_from_bytes(message.raw, policy=email_policy.default)
    assert isinstance(parsed, EmailMessage)
    text = parsed.get_body(("plain",))
    assert text is not None and all(n in text.get_content() for n in numbers)
    assert parsed["Message-ID"] == message_id(key, "example.com")  # the digest's own key


def test_a_channel_without_a_notifier_fails_visibly(runtime: Runtime) -> None:
    opened(runtime)
    tick(runtime, now=DUE)
    runtime.pm.set_blocked("sms_notify")
    runtime.pm.unregister(name="sms_notify")
    assert deliver(runtime, rows(runtime)["sms"].id, now=DUE) == "failed"
    assert "no notifier" in (rows(runtime)["sms"].last_error or "")


# --- the case page's link (CASETRACK_PUBLIC_URL) ---------------------------------------------


def test_alerts_carry_the_case_pages_link_when_a_public_url_is_set(
    runtime: Runtime, smtp: Recorder, tmp_path: Path
) -> None:
    linked = dataclasses.replace(
        runtime,
        settings=msgspec.structs.replace(runtime.settings, public_url="https://desk.example.cn/"),
    )
    number = opened(linked)
    tick(linked, now=DUE)
    for row in rows(linked).values():
        assert deliver(linked, row.id, now=DUE) == "sent"
    link = f"https://desk.example.cn/console/cases/{number}"
    parsed = message_from_bytes(smtp.received[0].raw, policy=email_policy.default)
    assert isinstance(parsed, EmailMessage)
    plain, html = parsed.get_body(("plain",)), parsed.get_body(("html",))
    assert plain is not None and link in plain.get_content()
    assert html is not None and f'href="{link}"' in html.get_content()
    (spooled_sms,) = [json.loads(p.read_text()) for p in (tmp_path / "spool").rglob("*.json")]
    assert spooled_sms["variables"]["link"] == link and spooled_sms["text"].endswith(link)
    assert spooled_sms["template_code"] != "SMS_000000001"  # the linked template's own code


def test_without_a_public_url_no_link_is_sent(
    runtime: Runtime, smtp: Recorder, tmp_path: Path
) -> None:
    opened(runtime)
    tick(runtime, now=DUE)
    for row in rows(runtime).values():
        assert deliver(runtime, row.id, now=DUE) == "sent"
    parsed = message_from_bytes(smtp.received[0].raw, policy=email_policy.default)
    assert isinstance(parsed, EmailMessage)
    plain = parsed.get_body(("plain",))
    assert plain is not None and "/console/cases/" not in plain.get_content()
    (spooled_sms,) = [json.loads(p.read_text()) for p in (tmp_path / "spool").rglob("*.json")]
    assert "link" not in spooled_sms["variables"] and "http" not in spooled_sms["text"]
