"""Fault tests on the production shape: PostgreSQL, a real Redis, `casetrack worker` processes,
the local SMTP server and the local Alibaba SMS gateway (which refuses a reused nonce, as
Alibaba does).

- Redis stops while alerts are due: the relay's passes fail and the rows stay queued; once
  Redis is back every alert is delivered.
- A worker is SIGKILLed while the gateway has accepted an SMS it has not yet answered: the
  row's lease lapses, the relay hands it out again, another worker repeats the request with
  the same nonce, the gateway refuses the duplicate, and every SMS arrived exactly once.
- The gateway answers 500 or never answers: retried with back-off, then a dead letter that
  managers see over the API and can retry.

Each test runs its own redis-server on a free port, so stopping it disturbs nothing else.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import test_delivery
import test_scheduler
import test_sms_notify
from sqlalchemy import select
from test_delivery import DUE
from test_email_notify import Recorder, free_port
from test_jobs import drop_queue, need
from test_scheduler import opened
from test_sms_notify import KEY_ID, SECRET, SIGN, FakeAlibaba

from core.jobs.broker import Jobs, make_broker, set_broker
from core.jobs.deliver import DeliveryPolicy
from core.jobs.relay import relay
from core.jobs.scheduler import tick
from core.runtime import Runtime
from core.store import orm

contracts = test_scheduler.contracts  # fixtures shared with the scheduler tests
runtime = test_scheduler.runtime
smtp = test_delivery.smtp
fake = test_sms_notify.fake

pytestmark = pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)

CASETRACK = Path(sys.executable).parent / "casetrack"
LEASE = timedelta(seconds=2)
POLICY = DeliveryPolicy(lease=LEASE, digest_window=timedelta(0))
LONG_LEASE = DeliveryPolicy(lease=timedelta(seconds=30), digest_window=timedelta(0))
CASES = 8  # each: one e-mail and one SMS to the on-duty engineer at the 50 % level


# --- a private Redis ---------------------------------------------------------------------------


class Redis:
    """A redis-server of this test's own (no persistence), to stop and start at will."""

    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.workdir = workdir
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        args = ["--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly"]
        self.proc = subprocess.Popen(
            ["redis-server", *args, "no"],
            cwd=self.workdir,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for(lambda: _answers(self.port), 10, "redis-server to listen")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)


def _answers(port: int) -> bool:
    import socket

    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


@pytest.fixture
def redis(tmp_path: Path) -> Iterator[Redis]:
    if shutil.which("redis-server") is None:
        if os.environ.get("CI"):
            pytest.fail("redis-server is required in CI (scripts/services.sh installs it)")
        pytest.skip("redis-server is not installed here (outside CI)")
    server = Redis(tmp_path)
    server.start()
    try:
        yield server
    finally:
        server.stop()


# --- workers, the relay, waiting ----------------------------------------------------------------


def wait_for(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    pytest.fail(f"timed out after {timeout} s waiting for {what}")


class Workers:
    """`casetrack worker` processes with the environment the test set up."""

    def __init__(self, runtime: Runtime, broker_url: str, tmp_path: Path, fake: FakeAlibaba):
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("CASETRACK_SMS")}
        self.env.update(
            {
                "CASETRACK_DATABASE_URL": runtime.settings.database_url,
                "CASETRACK_CONTRACTS_DIR": runtime.settings.contracts_dir,
                "CASETRACK_VAR_DIR": runtime.settings.var_dir,
                "CASETRACK_BROKER_URL": broker_url,
                "CASETRACK_DELIVERY_LEASE_SECONDS": str(LEASE.total_seconds()),
                "CASETRACK_RETRY_SECONDS": "0.2",
                "CASETRACK_RETRY_MAX_SECONDS": "0.5",
                "CASETRACK_MAX_ATTEMPTS": "3",
                "CASETRACK_SMS_ACCESS_KEY_ID": KEY_ID,
                "CASETRACK_SMS_ACCESS_KEY_SECRET": SECRET,
                "CASETRACK_SMS_SIGN_NAME": SIGN,
                "CASETRACK_SMS_ENDPOINT": fake.endpoint,
                "CASETRACK_SMS_TIMEOUT": "1",
                "NO_PROXY": "127.0.0.1",
            }
        )
        self.tmp_path = tmp_path
        self.procs: list[subprocess.Popen[bytes]] = []

    def start(self, threads: int = 2) -> subprocess.Popen[bytes]:
        log = (self.tmp_path / f"worker-{len(self.procs)}.log").open("wb")
        proc = subprocess.Popen(
            [str(CASETRACK), "worker", "--threads", str(threads)],
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        self.procs.append(proc)
        return proc

    def logs(self) -> str:
        return "\n".join(p.read_text("utf-8", "replace") for p in self.tmp_path.glob("worker-*"))

    def stop_all(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()


@pytest.fixture
def workers(
    runtime: Runtime, redis: Redis, tmp_path: Path, fake: FakeAlibaba, smtp: Recorder
) -> Iterator[Workers]:
    fake.timestamp_ok = fake.near_wall_clock  # subprocesses sign with the real time
    pool = Workers(runtime, redis.url, tmp_path, fake)
    try:
        yield pool
    finally:
        pool.stop_all()


@pytest.fixture
def jobs(runtime: Runtime, redis: Redis) -> Iterator[Jobs]:
    """The relay's side of the broker (the test process only enqueues)."""
    jobs = set_broker(runtime, make_broker(redis.url), policy=POLICY)
    try:
        yield jobs
    finally:
        jobs.close()


class RelayLoop:
    """What `casetrack scheduler` does after its ticks: relay every 0.2 s on the wall clock."""

    def __init__(self, runtime: Runtime, jobs: Jobs, policy: DeliveryPolicy = POLICY) -> None:
        self.runtime, self.jobs, self.policy = runtime, jobs, policy
        self.failures: list[str] = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self.stop.wait(0.2):
            try:
                relay(self.runtime, self.jobs, now=datetime.now(UTC), policy=self.policy)
            except Exception as exc:  # the broker is down: logged, tried again
                self.failures.append(f"{type(exc).__name__}: {exc}")

    def __enter__(self) -> RelayLoop:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join(5)


def due_alerts(runtime: Runtime, cases: int = CASES) -> None:
    """``cases`` cases whose first response reached its 50 % level (at DUE, in the past):
    2 × ``cases`` outbox rows, due. The relay and the workers then run on the wall clock."""
    for _ in range(cases):
        opened(runtime)
    report = tick(runtime, now=DUE)
    assert report.notifications == 2 * cases
    runtime.clock = lambda: datetime.now(UTC)


def states(runtime: Runtime, channel: str | None = None) -> dict[str, int]:
    with runtime.sessions() as session:
        query = select(orm.Notification.state)
        if channel:
            query = query.where(orm.Notification.channel == channel)
        found = list(session.scalars(query))
    return {state: found.count(state) for state in set(found)}


def all_final(runtime: Runtime) -> bool:
    return set(states(runtime)) <= {"sent", "failed", "dead"}


def sms_nonces(fake: FakeAlibaba) -> list[str]:
    return [p["SignatureNonce"] for p in fake.sent]


# --- the faults ----------------------------------------------------------------------------------


def test_alerts_due_while_redis_is_down_are_delivered_once_it_returns(
    runtime: Runtime,
    redis: Redis,
    jobs: Jobs,
    workers: Workers,
    fake: FakeAlibaba,
    smtp: Recorder,
) -> None:
    workers.start()
    redis.stop()
    due_alerts(runtime)
    with RelayLoop(runtime, jobs) as loop:
        wait_for(lambda: len(loop.failures) >= 3, 10, "relay passes against the stopped Redis")
        assert states(runtime) == {"queued": 2 * CASES}  # nothing lost, nothing half-relayed
        assert "Connection" in loop.failures[-1]
        redis.start()  # the same port; the worker reconnects on its own
        wait_for(lambda: all_final(runtime), 60, f"delivery after Redis returned\n{workers.logs()}")
    assert states(runtime) == {"sent": 2 * CASES}
    assert len(fake.sent) == CASES and len(set(sms_nonces(fake))) == CASES
    assert len({m.message["Message-ID"] for m in smtp.received}) == CASES


def test_a_worker_killed_mid_batch_leaves_every_sms_sent_exactly_once(
    runtime: Runtime, jobs: Jobs, workers: Workers, fake: FakeAlibaba, smtp: Recorder
) -> None:
    due_alerts(runtime)
    fake.answer_delay = 0.4  # accepted at once, answered late: a kill lands in between
    first = workers.start(threads=2)
    with RelayLoop(runtime, jobs):
        wait_for(lambda: fake.waiting.is_set() and len(fake.sent) >= 2, 30, "SMS in flight")
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
        in_flight = fake.unanswered()
        assert in_flight, "the kill should catch an accepted, unanswered SMS"
        fake.answer_delay = 0.0
        workers.start(threads=2)
        wait_for(lambda: all_final(runtime), 60, f"delivery after the kill\n{workers.logs()}")
    assert states(runtime, "sms") == {"sent": CASES}
    nonces = sms_nonces(fake)
    assert len(nonces) == CASES and len(set(nonces)) == CASES  # exactly once at the gateway
    # the rows the dead worker held were asked again, with the same nonce, and refused
    repeated = [p for p in fake.requests if p["SignatureNonce"] in in_flight]
    assert len(repeated) >= 2
    # e-mail has no such guard: at least once, each with its stable Message-ID
    assert states(runtime, "email") == {"sent": CASES}
    assert CASES <= len(smtp.received) <= CASES + 2


@pytest.mark.parametrize("fault", ["500", "hang"])
def test_a_failing_gateway_is_retried_then_dead_lettered_and_visible(
    runtime: Runtime,
    jobs: Jobs,
    workers: Workers,
    fake: FakeAlibaba,
    fault: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    due_alerts(runtime, cases=1)
    fake.always = fault
    # no worker dies here: a lease longer than any attempt on a loaded host (a hung request
    # takes the 1 s SMS timeout) keeps a slow attempt from being relayed and sent twice
    workers.env["CASETRACK_DELIVERY_LEASE_SECONDS"] = str(LONG_LEASE.lease.total_seconds())
    workers.start(threads=2)
    with RelayLoop(runtime, jobs, LONG_LEASE):
        wait_for(lambda: all_final(runtime), 60, f"the SMS to die\n{workers.logs()}")
    assert states(runtime) == {"sent": 1, "dead": 1}
    with runtime.sessions() as session:
        sms = session.scalars(
            select(orm.Notification).where(orm.Notification.channel == "sms")
        ).one()
    assert sms.attempts == 3 and sms.last_error
    assert ("500" in sms.last_error) if fault == "500" else ("time" in sms.last_error.lower())
    assert len(fake.requests) == 3 and fake.sent == []
    visible_to_managers(runtime, sms.id, fake, jobs, workers, LONG_LEASE)


def visible_to_managers(
    runtime: Runtime,
    notification_id: int,
    fake: FakeAlibaba,
    jobs: Jobs,
    workers: Workers,
    policy: DeliveryPolicy = POLICY,
) -> None:
    """The dead letter in the managers' view; their retry sends it once the gateway is back."""
    from litestar.testing import TestClient

    from core.store.tokens import create_token
    from server import create_app

    with runtime.sessions.begin() as session:
        token, _ = create_token(
            session, roles=["service_manager"], name="经理", now=runtime.clock()
        )
    auth = {"Authorization": f"Bearer {token}"}
    with TestClient(create_app(runtime.settings, runtime=runtime)) as client:
        dead = client.get("/api/v1/notifications", params={"state": "dead"}, headers=auth)
        assert dead.status_code == 200, dead.text
        [item] = dead.json()["items"]
        assert item["id"] == notification_id and item["attempts"] == 3 and item["last_error"]
        fake.always = None
        retried = client.post(f"/api/v1/notifications/{notification_id}/retry", headers=auth)
        assert retried.status_code in (200, 201), retried.text
    with RelayLoop(runtime, jobs, policy):
        wait_for(lambda: all_final(runtime), 30, f"the retried SMS\n{workers.logs()}")
    assert states(runtime) == {"sent": 2} and len(fake.sent) == 1


def test_casetrack_worker_on_rabbitmq_delivers_each_alert_once(
    runtime: Runtime, workers: Workers, fake: FakeAlibaba, smtp: Recorder
) -> None:
    """The same pipeline on the other production broker, with a queue of this test's own."""
    need(5672, "RabbitMQ")
    queue = f"casetrack-test-{uuid.uuid4().hex[:12]}"
    url = "amqp://guest:guest@127.0.0.1:5672/"
    workers.env.update({"CASETRACK_BROKER_URL": url, "CASETRACK_QUEUE": queue})
    due_alerts(runtime, cases=3)
    jobs = set_broker(runtime, make_broker(url), queue_name=queue, policy=POLICY)
    workers.start(threads=2)
    try:
        with RelayLoop(runtime, jobs):
            wait_for(lambda: all_final(runtime), 60, f"delivery over RabbitMQ\n{workers.logs()}")
    finally:
        drop_queue(jobs, queue)
        jobs.close()
    assert states(runtime) == {"sent": 6}
    assert len(fake.sent) == 3 and len(smtp.received) == 3
    assert f"on queue {queue}" in workers.logs()
