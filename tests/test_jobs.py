"""dramatiq delivery: the in-process StubBroker end to end, and real Redis and RabbitMQ."""

from __future__ import annotations

import os
import socket
import uuid
from pathlib import Path

import pytest
import test_delivery
import test_scheduler
from sqlalchemy import select
from test_delivery import DUE, rows, spooled
from test_email_notify import Recorder
from test_scheduler import opened

from core.jobs.broker import Jobs, make_broker, set_broker
from core.jobs.deliver import DeliveryPolicy
from core.jobs.relay import relay
from core.jobs.scheduler import tick
from core.runtime import Runtime
from core.store import orm

contracts = test_scheduler.contracts  # fixtures shared with the scheduler tests
runtime = test_scheduler.runtime
smtp = test_delivery.smtp


def reachable(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


def need(port: int, name: str) -> None:
    """Skip without the broker, except in CI where a missing broker is a failure."""
    if reachable(port):
        return
    if os.environ.get("CI"):
        pytest.fail(f"{name} is not reachable on 127.0.0.1:{port} (required in CI)")
    pytest.skip(f"{name} is not reachable on 127.0.0.1:{port}")


def drop_queue(jobs: Jobs, queue: str) -> None:
    """Leave the shared broker as it was: the test queue and its delay and dead-letter
    queues are deleted (RabbitMQ keeps declared queues; Redis drops empty keys)."""
    jobs.broker.flush(queue)
    channel = getattr(jobs.broker, "channel", None)  # RabbitMQ only
    if channel is not None:
        for name in (queue, f"{queue}.DQ", f"{queue}.XQ"):
            channel.queue_delete(name)


def run(jobs: Jobs) -> None:
    """Process every queued message with an in-process worker, then stop it."""
    worker = jobs.worker()
    worker.start()
    try:
        jobs.broker.join(jobs.queue_name, timeout=20_000)
        worker.join()
    finally:
        worker.stop()


@pytest.fixture
def due(runtime: Runtime, smtp: Recorder) -> Runtime:
    opened(runtime)
    tick(runtime, now=DUE)
    runtime.clock = lambda: DUE
    return runtime


def test_stub_broker_relays_and_sends_each_notice_exactly_once(
    due: Runtime, smtp: Recorder, tmp_path: Path
) -> None:
    jobs = set_broker(due, make_broker(""), min_backoff_ms=10, max_backoff_ms=50)
    window = DeliveryPolicy().digest_window
    try:
        held = relay(due, jobs, now=DUE)  # non-urgent: held a while for a digest to form
        assert (held.messages, held.held) == (0, 2)
        report = relay(due, jobs, now=DUE + window)
        assert (report.messages, report.notifications) == (2, 2)
        assert {r.state for r in rows(due).values()} == {"sending"}
        assert relay(due, jobs, now=DUE + window).messages == 0  # already handed over
        run(jobs)
        # a redelivered message: the actor runs again but nothing is resent
        for row in rows(due).values():
            jobs.deliver_notification.send([row.id])
        run(jobs)
    finally:
        jobs.close()
    assert {r.state for r in rows(due).values()} == {"sent"}
    assert len(smtp.received) == 1 and spooled(tmp_path) == 1


@pytest.mark.parametrize(
    ("url", "port", "name"),
    [
        ("redis://127.0.0.1:6379/0", 6379, "Redis"),
        ("amqp://guest:guest@127.0.0.1:5672/", 5672, "RabbitMQ"),
    ],
)
def test_a_real_broker_delivers_one_notice(
    due: Runtime, tmp_path: Path, url: str, port: int, name: str
) -> None:
    need(port, name)
    queue = f"casetrack-test-{uuid.uuid4().hex[:12]}"
    jobs = set_broker(due, make_broker(url), queue_name=queue, min_backoff_ms=10)
    try:
        with due.sessions() as session:
            sms = session.scalars(
                select(orm.Notification).where(orm.Notification.channel == "sms")
            ).one()
        jobs.deliver_notification.send([sms.id])
        run(jobs)
    finally:
        drop_queue(jobs, queue)
        jobs.close()
    assert rows(due)["sms"].state == "sent" and spooled(tmp_path) == 1
