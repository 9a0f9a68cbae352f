"""The relay on both back ends: digests, urgent notices at once, lost messages re-picked,
and a broker failure that leaves the rows queued."""

from __future__ import annotations

import logging
import time
from datetime import timedelta
from pathlib import Path

import dramatiq
import pytest
import test_delivery
import test_scheduler
from sqlalchemy import select
from test_delivery import DUE, rows
from test_desk import at
from test_email_notify import Recorder
from test_scheduler import opened

from cli.main import main
from cli.serve import ServeOptions, start_background
from core.jobs.broker import Jobs, make_broker, set_broker
from core.jobs.deliver import DeliveryPolicy
from core.jobs.loop import Background
from core.jobs.relay import plan_batches, relay
from core.jobs.scheduler import tick
from core.runtime import Runtime
from core.store import orm

contracts = test_scheduler.contracts  # fixtures shared with the scheduler tests
runtime = test_scheduler.runtime
smtp = test_delivery.smtp

WINDOW = timedelta(minutes=2)
POLICY = DeliveryPolicy(digest_window=WINDOW, lease=timedelta(minutes=5))


def row(key: str, person: str, channel: str = "email", *, urgent: bool = False, after: int = 0):
    return orm.Notification(
        id=hash(key) % 10_000,
        idempotency_key=key,
        channel=channel,
        recipient={"id": person},
        variables={"urgent": urgent},
        send_after=DUE + timedelta(seconds=after),
    )


def test_a_persons_notices_wait_for_the_window_then_go_together() -> None:
    a1, a2 = row("a1", "ann"), row("a2", "ann", after=60)
    b1 = row("b1", "bob", after=30)
    batches, held = plan_batches([a1, a2, b1], DUE + timedelta(seconds=60), WINDOW)
    assert (batches, held) == ([], 3)  # nobody has waited the window yet
    batches, held = plan_batches([a1, a2, b1], DUE + WINDOW, WINDOW)
    assert batches == [[a1, a2]] and held == 1  # ann's oldest waited; bob's not yet


def test_urgent_notices_go_alone_and_at_once_and_channels_stay_apart() -> None:
    urgent, warning = row("u", "ann", urgent=True), row("w", "ann")
    sms = row("s", "ann", "sms")
    batches, held = plan_batches([urgent, warning, sms], DUE, WINDOW)
    assert batches == [[urgent]] and held == 2
    batches, _ = plan_batches([warning, sms], DUE + WINDOW, WINDOW)
    assert sorted(batches, key=lambda b: b[0].channel) == [[warning], [sms]]


def test_a_zero_window_sends_each_notice_alone_at_once() -> None:
    rows_ = [row("a1", "ann"), row("a2", "ann")]
    assert plan_batches(rows_, DUE, timedelta(0)) == ([[rows_[0]], [rows_[1]]], 0)


@pytest.fixture
def jobs(runtime: Runtime, smtp: Recorder) -> Jobs:
    jobs = set_broker(runtime, make_broker(""), policy=POLICY)
    yield jobs
    jobs.close()


def test_three_cases_warn_one_person_in_one_digest_per_channel(
    runtime: Runtime, jobs: Jobs
) -> None:
    for _ in range(3):
        opened(runtime)
    tick(runtime, now=DUE)
    report = relay(runtime, jobs, now=DUE + WINDOW, policy=POLICY)
    assert (report.messages, report.notifications) == (2, 6)  # e-mail and SMS, 3 each
    assert sorted(len(batch) for batch in report.batches) == [3, 3]


def test_a_lost_message_is_relayed_again_after_the_lease(runtime: Runtime, jobs: Jobs) -> None:
    opened(runtime)
    tick(runtime, now=DUE)
    first = relay(runtime, jobs, now=DUE + WINDOW, policy=POLICY)
    assert first.notifications == 2
    jobs.broker.flush_all()  # the broker lost them (an in-memory broker restarted)
    soon = DUE + WINDOW + timedelta(minutes=4)
    assert relay(runtime, jobs, now=soon, policy=POLICY).messages == 0  # lease not over
    lapsed = DUE + WINDOW + POLICY.lease
    again = relay(runtime, jobs, now=lapsed, policy=POLICY)
    assert again.notifications == 2
    assert {r.relayed_at for r in rows(runtime).values()} == {lapsed}


class DownBroker(dramatiq.Broker):
    """A broker whose server is away: every enqueue fails like a lost connection."""

    def consume(self, queue_name, prefetch=1, timeout=30000):  # pragma: no cover
        raise ConnectionError("broker down")

    def declare_queue(self, queue_name):
        self.queues = getattr(self, "queues", {})
        self.queues[queue_name] = None

    def enqueue(self, message, *, delay=None):
        raise ConnectionError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    def get_declared_queues(self):
        return set(getattr(self, "queues", {}))

    def get_declared_delay_queues(self):
        return set()


def test_a_broker_failure_rolls_back_and_the_rows_stay_queued(
    runtime: Runtime, tmp_path: Path
) -> None:
    opened(runtime)
    tick(runtime, now=DUE)
    down = set_broker(runtime, DownBroker(), policy=POLICY)
    with pytest.raises(ConnectionError):
        relay(runtime, down, now=DUE + WINDOW, policy=POLICY)
    assert {(r.state, r.relayed_at) for r in rows(runtime).values()} == {("queued", None)}
    up = set_broker(runtime, make_broker(""), policy=POLICY)
    try:
        assert relay(runtime, up, now=DUE + WINDOW, policy=POLICY).notifications == 2
    finally:
        up.close()
    with runtime.sessions() as session:
        states = session.scalars(select(orm.Notification.state)).all()
    assert set(states) == {"sending"}


def test_the_background_loop_logs_a_failed_pass_and_carries_on(runtime: Runtime) -> None:
    opened(runtime)
    runtime.clock = lambda: DUE
    lines: list[str] = []
    at_once = DeliveryPolicy(digest_window=timedelta(0))
    down = set_broker(runtime, DownBroker(), policy=at_once)
    background = Background(runtime, down, interval=0.1, worker=False, log=lines.append)
    assert background.run_pass() is None  # the tick committed, the relay failed: not raised
    assert len(lines) == 1 and "pass failed" in lines[0] and "Connection refused" in lines[0]
    assert {r.state for r in rows(runtime).values()} == {"queued"}
    background.jobs = set_broker(runtime, make_broker(""), policy=at_once)
    done = background.run_pass()
    assert done is not None and done.relay.notifications == 2
    assert any(line.startswith("relay: 2 messages") for line in lines)
    background.jobs.close()


def test_worker_without_a_broker_url_is_one_line(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CASETRACK_DATABASE_URL", runtime.settings.database_url)
    monkeypatch.setenv("CASETRACK_CONTRACTS_DIR", runtime.settings.contracts_dir)
    monkeypatch.delenv("CASETRACK_BROKER_URL", raising=False)
    assert main(["worker"]) == 1
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "CASETRACK_BROKER_URL" in err


def test_worker_with_an_unknown_broker_scheme_is_one_line(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CASETRACK_DATABASE_URL", runtime.settings.database_url)
    monkeypatch.setenv("CASETRACK_CONTRACTS_DIR", runtime.settings.contracts_dir)
    monkeypatch.setenv("CASETRACK_BROKER_URL", "kafka://127.0.0.1:9092")
    assert main(["worker"]) == 1
    err = capsys.readouterr().err
    assert "unsupported scheme 'kafka'" in err and "redis://" in err


def test_a_night_of_warnings_reaches_a_manager_as_one_morning_digest(
    runtime: Runtime, jobs: Jobs
) -> None:
    night = at("2026-10-14T23:00")  # a Wednesday; working hours open 08:30 Thursday
    for minutes in (0, 20, 40):
        opened(runtime, now=night + timedelta(minutes=minutes))
    tick(runtime, now=night + timedelta(hours=2))  # every first response breached
    engineer = relay(runtime, jobs, now=night + timedelta(hours=2) + WINDOW, policy=POLICY)
    assert engineer.messages > 0  # the on-duty engineer is told at night
    held = [r for r in all_rows(runtime) if r.recipient["role"] == "service-manager"]
    managers = {r.id for r in held if r.state == "queued"}
    # 3 cases × the 100 % level × e-mail and SMS, held for the morning; the 80 % warnings
    # fired in the same tick are superseded by the breach and dropped, not sent at 08:30
    assert len(managers) == 6
    dropped = [r for r in held if r.state == "dropped"]
    assert len(dropped) == 6
    assert max(r.level for r in dropped) < min(r.level for r in held if r.id in managers)
    assert all("superseded by level" in (r.last_error or "") for r in dropped)
    morning = at("2026-10-15T08:30")
    early = relay(runtime, jobs, now=morning, policy=POLICY)  # (re-picks the night's: no worker)
    assert not any(set(batch) & managers for batch in early.batches)  # window not over yet
    report = relay(runtime, jobs, now=morning + WINDOW, policy=POLICY)
    bundled = [batch for batch in report.batches if set(batch) <= managers]
    assert sorted(len(batch) for batch in bundled) == [3, 3]  # one digest per channel


def all_rows(runtime: Runtime) -> list[orm.Notification]:
    with runtime.sessions() as session:
        return list(session.scalars(select(orm.Notification)))


def test_an_embedded_restart_queues_what_the_last_run_had_handed_over(
    runtime: Runtime, jobs: Jobs, smtp: Recorder, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    opened(runtime)
    tick(runtime, now=DUE)
    assert relay(runtime, jobs, now=DUE + WINDOW, policy=POLICY).notifications == 2
    jobs.close()  # the process died with both messages in its in-process broker
    assert {r.state for r in rows(runtime).values()} == {"sending"}
    runtime.clock = lambda: DUE + WINDOW
    caplog.set_level(logging.INFO, "casetrack.scheduler")  # its lines are log records
    background = start_background(runtime, ServeOptions())
    assert background is not None
    try:
        wait = time.monotonic() + 20
        while {r.state for r in rows(runtime).values()} != {"sent"} and time.monotonic() < wait:
            time.sleep(0.05)
    finally:
        background.stop()
        background.jobs.close()
    assert {r.state for r in rows(runtime).values()} == {"sent"}, caplog.text
    assert "2 notifications the last run had not sent are queued again" in caplog.text
    assert len(smtp.received) == 1
