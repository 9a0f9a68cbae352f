"""Stale alerts on both back ends: a notice whose clock stopped or breached, whose case is
resolved, or whose level a later one superseded is dropped with its reason, never sent late."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from email import message_from_bytes
from email import policy as email_policy
from pathlib import Path

import pytest
import test_delivery
import test_scheduler
from sqlalchemy import select
from test_delivery import DUE, spooled
from test_desk import at
from test_email_notify import Recorder
from test_scheduler import answered, opened

from core.commands import FirstResponse, Resolve
from core.jobs.broker import Jobs, make_broker, set_broker
from core.jobs.deliver import DeliveryPolicy, deliver
from core.jobs.relay import relay
from core.jobs.scheduler import tick
from core.runtime import Runtime
from core.store import orm

contracts = test_scheduler.contracts  # fixtures shared with the scheduler tests
runtime = test_scheduler.runtime
smtp = test_delivery.smtp

WINDOW = timedelta(minutes=2)
POLICY = DeliveryPolicy(digest_window=WINDOW, lease=timedelta(minutes=5))
BREACHED = at("2026-10-14T10:31")  # the 30-minute first response of a case opened at 10:00


@pytest.fixture
def jobs(runtime: Runtime, smtp: Recorder) -> Iterator[Jobs]:
    """An in-process broker and no worker: relayed rows wait in ``sending``."""
    jobs = set_broker(runtime, make_broker(""), policy=POLICY)
    yield jobs
    jobs.close()


def notifications(runtime: Runtime, number: str | None = None) -> list[orm.Notification]:
    with runtime.sessions() as session:
        query = select(orm.Notification).join(orm.Case).order_by(orm.Notification.id)
        if number is not None:
            query = query.where(orm.Case.number == number)
        return list(session.scalars(query))


def resolve(runtime: Runtime, number: str, now) -> None:
    answered(runtime, number, now)
    runtime.desk.resolve(number, Resolve(resolution="fixed"), actor="eng:yu", now=now)


def test_a_warning_handed_over_before_the_breach_is_dropped_when_it_would_go_out(
    runtime: Runtime, jobs: Jobs, smtp: Recorder, tmp_path: Path
) -> None:
    number = opened(runtime)
    tick(runtime, now=DUE)  # the 50 % warning: e-mail and SMS to the engineer
    handed = relay(runtime, jobs, now=DUE + WINDOW, policy=POLICY)
    assert handed.notifications == 2  # in the broker, not yet sent
    tick(runtime, now=BREACHED)  # the clock breaches before a worker gets to them
    for ids in handed.batches:
        assert deliver(runtime, ids, now=BREACHED, policy=POLICY) == "dropped"
    assert smtp.received == [] and spooled(tmp_path) == 0
    warnings = [n for n in notifications(runtime, number) if n.level == 0]
    assert {n.state for n in warnings} == {"dropped"}
    assert {n.last_error for n in warnings} == {
        "dropped: superseded, the first_response clock has breached"
    }


def test_a_warning_handed_over_before_the_case_was_resolved_is_dropped_at_send_time(
    runtime: Runtime, jobs: Jobs, smtp: Recorder, tmp_path: Path
) -> None:
    number = opened(runtime)
    tick(runtime, now=DUE)
    handed = relay(runtime, jobs, now=DUE + WINDOW, policy=POLICY)
    resolve(runtime, number, DUE + WINDOW + timedelta(minutes=1))
    for ids in handed.batches:
        assert deliver(runtime, ids, now=DUE + WINDOW * 2, policy=POLICY) == "dropped"
    assert smtp.received == [] and spooled(tmp_path) == 0
    assert {n.last_error for n in notifications(runtime, number)} == {
        "dropped: the case is resolved"
    }


def test_warnings_held_for_a_managers_weekend_are_dropped_once_the_case_is_dealt_with(
    runtime: Runtime,
) -> None:
    friday_night = at("2026-10-16T23:00")
    number = opened(runtime, now=friday_night)
    tick(runtime, now=friday_night + timedelta(hours=2))
    manager = [
        n for n in notifications(runtime, number) if n.recipient["role"] == "service-manager"
    ]
    held = [n for n in manager if n.state == "queued"]  # the 100 % level (75 % superseded)
    assert len(held) == 2 and {n.level for n in held} == {2}  # 90 % is for P1 only
    monday = at("2026-10-19T08:30")
    assert {n.send_after for n in held} == {monday}  # the manager's calendar opens Monday
    resolve(runtime, number, at("2026-10-17T09:00"))  # Saturday: answered (late), resolved
    after = notifications(runtime, number)
    assert {n.state for n in after if n.state != "sent"} == {"dropped"}
    assert not [n for n in after if n.state in ("queued", "sending")]  # nothing waits for Monday
    assert {n.last_error for n in after if n.id in {h.id for h in held}} == {
        "dropped: the first_response clock has stopped (breached)"
    }


def test_meeting_the_clock_drops_its_queued_warnings_and_keeps_other_cases(
    runtime: Runtime,
) -> None:
    met, other = opened(runtime), opened(runtime)
    tick(runtime, now=DUE)
    runtime.desk.first_response(
        met, FirstResponse(agreed_content="remote"), actor="eng:yu", now=DUE + timedelta(minutes=1)
    )
    assert {(n.state, n.last_error) for n in notifications(runtime, met)} == {
        ("dropped", "dropped: the first_response clock has stopped (met)")
    }
    assert {n.state for n in notifications(runtime, other)} == {"queued"}


def test_a_level_superseded_by_a_later_one_for_the_same_person_is_dropped(
    runtime: Runtime,
) -> None:
    number = opened(runtime)
    tick(runtime, now=at("2026-10-14T10:23"))  # a scheduler that was down: 50 % and 75 % at once
    engineer = [n for n in notifications(runtime, number) if n.recipient["role"] == "engineer"]
    by_level = {(n.level, n.channel): (n.state, n.last_error) for n in engineer}
    assert by_level == {
        (0, "email"): ("dropped", "dropped: superseded by level 2"),
        (0, "sms"): ("dropped", "dropped: superseded by level 2"),
        (1, "email"): ("queued", None),
        (1, "sms"): ("queued", None),
    }


def test_a_digest_carries_only_its_fresh_notices(
    runtime: Runtime, jobs: Jobs, smtp: Recorder
) -> None:
    stale, fresh = opened(runtime), opened(runtime)
    tick(runtime, now=DUE)
    handed = relay(runtime, jobs, now=DUE + WINDOW, policy=POLICY)
    email = next(ids for ids in handed.batches if len(ids) == 2)  # both cases' e-mails
    resolve(runtime, stale, DUE + WINDOW)
    assert deliver(runtime, email, now=DUE + WINDOW, policy=POLICY) == "sent"
    assert len(smtp.received) == 1
    parsed = message_from_bytes(smtp.received[0].raw, policy=email_policy.default)
    text = parsed["Subject"] + parsed.get_body(("plain",)).get_content()
    assert fresh in text and stale not in text  # one notice now, not a digest of two
    states = {n.variables["case_number"]: n.state for n in notifications(runtime) if n.id in email}
    assert states == {stale: "dropped", fresh: "sent"}


def test_messages_count_levels_from_one(runtime: Runtime, smtp: Recorder) -> None:
    opened(runtime)
    tick(runtime, now=DUE)  # the ladder's first rung
    email = next(n for n in notifications(runtime) if n.channel == "email")
    assert email.level == 0 and email.variables["level"] == 1
    assert deliver(runtime, email.id, now=DUE) == "sent"
    parsed = message_from_bytes(smtp.received[0].raw, policy=email_policy.default)
    body = parsed.get_body(("plain",)).get_content()
    assert "第 1 级" in body and "第 0 级" not in body
