"""The production shape as separate OS processes on one PostgreSQL database and Redis, all
reading one casetrack.toml (docs/deploy.md):

- `casetrack db upgrade` once, then two APIs (`serve --workers 2 --no-migrate` given the file
  by `--config`, so its worker processes get it only through `serve`; and `serve` finding it
  through CASETRACK_CONFIG), two `casetrack scheduler` and two `casetrack worker` processes;
- cases opened through both APIs under a contract (in tmp) whose P1 first response is due in
  1 minute of a 24x7 calendar, with a ladder at 5 %, 15 % and 25 % (3, 9, 15 s): every
  level fires exactly once (one `escalated` event per case and level);
- one scheduler and one worker are SIGKILLed after the first level: the survivors fire the
  other levels, and the notices the dead worker held go out again after the lease (1.5 s);
- every notice reaches the local SMS gateway exactly once (it refuses a repeated nonce, as
  Alibaba does) and the local SMTP server with its own Message-ID (e-mail has no such
  guard: a kill between the server's "250" and the row's commit may repeat one, with the
  same Message-ID; the assertion allows that and no other repeat).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import msgspec
import pytest
import test_sms_notify
from aiosmtpd.controller import Controller
from cryptography.fernet import Fernet
from sqlalchemy import create_engine, select, text
from test_email_notify import Recorder, free_port
from test_jobs import need
from test_sms_notify import KEY_ID, SECRET, SIGN, FakeAlibaba

from conftest import PG_ADMIN_URL, _pg_reachable
from core.store import orm
from core.store.db import make_engine

fake = test_sms_notify.fake

ROOT = Path(__file__).resolve().parent.parent
CASETRACK = Path(sys.executable).parent / "casetrack"
CONTRACT_FILE = "whccb-huancui.yaml"
REDIS_URL = "redis://127.0.0.1:6379/0"
# of a 1-minute clock: 3, 9 and 15 s after opening. A level's notice still unsent when the
# next level reaches the same person is dropped as superseded (docs/escalation.md): the gaps
# leave the lease (1.5 s) and the relay's passes room to send each one first.
LEVELS = ("5%", "15%", "25%")
RECIPIENTS = 2  # service manager and project manager
CHANNELS = ("email", "sms")
CASES_PER_API = 2
LADDER = "escalation:\n" + "".join(
    f"  - at: {level}\n    notify: [service-manager, project-manager]\n"
    "    channels: [email, sms]\n    clocks: [first_response]\n    urgent: true\n"
    for level in LEVELS
)


# --- the pieces: database, contracts, the settings file ------------------------------------


@pytest.fixture
def database() -> Iterator[str]:
    """A fresh, empty PostgreSQL database (`casetrack db upgrade` migrates it)."""
    reason = _pg_reachable()
    if reason is not None:
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL is required in CI and unreachable: {reason}")
        pytest.skip(f"PostgreSQL not reachable outside CI ({reason})")
    name = f"casetrack_deploy_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"CREATE DATABASE {name}"))
    try:
        yield PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        admin.dispose()


@pytest.fixture
def queue() -> Iterator[str]:
    """A dramatiq queue of this run's own on the shared Redis, deleted afterwards."""
    need(6379, "Redis")
    import redis

    name = f"casetrack-deploy-{uuid.uuid4().hex[:10]}"
    yield name
    client = redis.Redis.from_url(REDIS_URL)
    keys = list(client.scan_iter(f"*{name}*"))  # the queue, its DQ/XQ, the workers' acks
    if keys:
        client.delete(*keys)
    client.close()


def fast_contracts(folder: Path, today: datetime) -> Path:
    """The shipped contracts, the bank's renewed around today with a 1-minute P1 response
    on the 24x7 duty calendar and a ladder of seconds."""
    shutil.copytree(ROOT / "contracts", folder)
    path = folder / CONTRACT_FILE
    source = path.read_text(encoding="utf-8")
    start, end = (today - timedelta(days=30)).date(), (today + timedelta(days=300)).date()
    source = source.replace("start: 2025-07-01\n  end: 2026-06-30", f"start: {start}\n  end: {end}")
    source = source.replace("P1:\n    within: 15m\n", "P1:\n    within: 1m\n")
    head, _, rest = source.partition("escalation:\n")
    source = head + LADDER + "\nsurvey:" + rest.partition("\nsurvey:")[2]
    assert "within: 1m" in source and f"start: {start}" in source
    path.write_text(source, encoding="utf-8")
    return folder


def settings_file(path: Path, *, database: str, contracts: Path, queue: str) -> Path:
    """One file for every process, as docs/deploy.md describes (keys shared by all)."""
    lines = {
        "database_url": database,
        "contracts_dir": str(contracts),
        "var_dir": str(path.parent / "var"),
        "broker_url": REDIS_URL,
        "queue": queue,
        "secret_key": Fernet.generate_key().decode(),
        "audit_key": uuid.uuid4().hex + uuid.uuid4().hex,
        "tick_seconds": 0.3,
        "digest_seconds": 0,
        "delivery_lease_seconds": 1.5,
        "retry_seconds": 0.2,
        "retry_max_seconds": 0.5,
        # no maintenance-plan inspections: the fleet counts the alerts of its own cases only
        "inspection_catch_up_days": 0,
    }
    # a JSON string or number is a TOML one too
    body = "".join(f"{key} = {msgspec.json.encode(v).decode()}\n" for key, v in lines.items())
    path.write_text(body, encoding="utf-8")
    return path


# --- the processes ---------------------------------------------------------------------------


class Fleet:
    """The casetrack processes of one deployment; the settings file is the only shared config
    (the notifier plugins' own variables come from the environment, as in the unit files)."""

    def __init__(self, workdir: Path, config: Path, smtp_port: int, sms: FakeAlibaba) -> None:
        self.workdir, self.config = workdir, config
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("CASETRACK_")}
        self.env.update(
            {
                "CASETRACK_SMTP_HOST": "127.0.0.1",
                "CASETRACK_SMTP_PORT": str(smtp_port),
                "CASETRACK_SMTP_FROM": "desk@example.com",
                "CASETRACK_SMS_ACCESS_KEY_ID": KEY_ID,
                "CASETRACK_SMS_ACCESS_KEY_SECRET": SECRET,
                "CASETRACK_SMS_SIGN_NAME": SIGN,
                "CASETRACK_SMS_ENDPOINT": sms.endpoint,
                "CASETRACK_SMS_TIMEOUT": "2",
                "NO_PROXY": "127.0.0.1",
            }
        )
        self.procs: dict[str, subprocess.Popen[bytes]] = {}

    def run(self, *argv: str) -> str:
        done = subprocess.run(
            [str(CASETRACK), "--config", str(self.config), *argv],
            env=self.env,
            cwd=self.workdir,
            capture_output=True,
            timeout=60,
        )
        assert done.returncode == 0, done.stderr.decode()
        return done.stdout.decode()

    def start(self, name: str, *argv: str, via_env: bool = False) -> None:
        """``casetrack [--config FILE] ARGV``; ``via_env``: the file named by CASETRACK_CONFIG."""
        env = dict(self.env)
        if via_env:
            env["CASETRACK_CONFIG"] = str(self.config)
            command = [str(CASETRACK), *argv]
        else:
            command = [str(CASETRACK), "--config", str(self.config), *argv]
        log = (self.workdir / f"{name}.log").open("wb")
        self.procs[name] = subprocess.Popen(
            command, env=env, cwd=self.workdir, stdout=log, stderr=subprocess.STDOUT
        )

    def kill(self, name: str) -> None:
        proc = self.procs[name]
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)

    def alive(self) -> list[str]:
        return [name for name, proc in self.procs.items() if proc.poll() is None]

    def logs(self) -> str:
        return "\n".join(
            f"--- {p.stem}\n{p.read_text('utf-8', 'replace')[-3000:]}"
            for p in sorted(self.workdir.glob("*.log"))
        )

    def stop(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.procs.values():
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)


@pytest.fixture
def smtp() -> Iterator[tuple[Recorder, int]]:
    recorder, port = Recorder(), free_port()
    controller = Controller(recorder, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield recorder, port
    finally:
        controller.stop()


def wait_for(
    condition: Callable[[], bool],
    timeout: float,
    what: str,
    fleet: Fleet,
    observer: Observer | None = None,
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    seen = "" if observer is None else f"{observer.states()}, {len(observer.fired())} fired\n"
    pytest.fail(f"timed out after {timeout} s waiting for {what}\n{seen}{fleet.logs()}")


def ready(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=1) as answer:
            return bool(answer.status == 200)
    except OSError:
        return False


def open_case(port: int, token: str, n: int) -> str:
    body = {
        "contract_id": "whccb-huancui-2025",
        "caller": {"name": "孙志刚", "company": "威海市商业银行环翠支行", "phone": "0631-5231800"},
        "summary": f"core banking link down ({n})",
        "category": "consulting",
        "request_type": "problem_report",
        "priority": "P1",
        "channel": "phone",
    }
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/api/v1/cases",
        data=msgspec.json.encode(body),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as answer:
        assert answer.status == 201
        number: str = msgspec.json.decode(answer.read())["number"]
        return number


def agent_token(url: str) -> str:
    """A token for the desk's calls (what `casetrack tokens create --role agent` prints)."""
    from core.store.db import make_sessionmaker
    from core.store.tokens import create_token

    engine = make_engine(url)
    try:
        with make_sessionmaker(engine).begin() as session:
            token, _ = create_token(session, roles=["agent"], name="deploy", now=datetime.now(UTC))
    finally:
        engine.dispose()
    return token


# --- what the database says --------------------------------------------------------------------


class Observer:
    def __init__(self, url: str) -> None:
        self.engine = make_engine(url)

    def fired(self) -> Counter[tuple[int, str, int]]:
        """(case id, clock, level) → how many `escalated` events record it."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(orm.CaseEvent.case_id, orm.CaseEvent.payload).where(
                    orm.CaseEvent.kind == "escalated"
                )
            ).all()
        return Counter((case_id, p["clock"], p["level"]) for case_id, p in rows)

    def states(self) -> Counter[str]:
        with self.engine.connect() as conn:
            return Counter(conn.scalars(select(orm.Notification.state)))

    def keys(self, channel: str) -> set[str]:
        with self.engine.connect() as conn:
            query = select(orm.Notification.idempotency_key).where(
                orm.Notification.channel == channel
            )
            return set(conn.scalars(query))


def test_two_apis_two_schedulers_two_workers_fire_once_and_survive_kills(
    tmp_path: Path,
    database: str,
    queue: str,
    smtp: tuple[Recorder, int],
    fake: FakeAlibaba,
) -> None:
    recorder, smtp_port = smtp
    fake.timestamp_ok = fake.near_wall_clock  # the processes sign with the real time
    contracts = fast_contracts(tmp_path / "contracts", datetime.now(UTC))
    config = settings_file(
        tmp_path / "casetrack.toml", database=database, contracts=contracts, queue=queue
    )
    fleet = Fleet(tmp_path, config, smtp_port, fake)
    observer = Observer(database)
    started = time.monotonic()
    try:
        fleet.run("db", "upgrade")  # once, before any process starts
        token = agent_token(database)
        ports = free_port(), free_port()
        fleet.start("api-a", "serve", "--port", str(ports[0]), "--workers", "2", "--no-migrate")
        fleet.start("api-b", "serve", "--port", str(ports[1]), "--no-migrate", via_env=True)
        for name in ("scheduler-a", "scheduler-b"):
            fleet.start(name, "scheduler")
        for name in ("worker-a", "worker-b"):
            fleet.start(name, "worker", "--threads", "2", via_env=name == "worker-b")
        wait_for(lambda: all(ready(p) for p in ports), 90, "both APIs ready", fleet)
        print(f"ready after {time.monotonic() - started:.1f} s")

        numbers = [open_case(port, token, n) for port in ports for n in range(CASES_PER_API)]
        cases = len(numbers)
        per_level = cases * RECIPIENTS * len(CHANNELS)

        def sent_of_first_level() -> bool:
            return observer.states()["sent"] >= per_level // 2

        wait_for(sent_of_first_level, 20, "the first level's notices going out", fleet)
        fleet.kill("scheduler-a")
        fleet.kill("worker-a")

        def done() -> bool:
            fired = observer.fired()
            return len(fired) == cases * len(LEVELS) and set(observer.states()) == {"sent"}

        wait_for(done, 60, "every level fired and every notice sent", fleet, observer)
        print(f"done after {time.monotonic() - started:.1f} s")
        assert sorted(fleet.alive()) == ["api-a", "api-b", "scheduler-b", "worker-b"]
    finally:
        fleet.stop()

    fired = observer.fired()
    assert set(fired.values()) == {1}  # each case's clock levels fired once
    assert {(clock, level) for _, clock, level in fired} == {
        ("first_response", level)
        for level in range(len(LEVELS))  # 0: the first rung
    }
    states = observer.states()
    assert states == {"sent": per_level * len(LEVELS)}
    # SMS: exactly once at the gateway, one per notice
    nonces = [p["SignatureNonce"] for p in fake.sent]
    assert len(nonces) == len(set(nonces)) == len(observer.keys("sms"))
    # e-mail: every notice arrived; a repeat only of a notice in flight at the kill
    message_ids = Counter(m.message["Message-ID"] for m in recorder.received)
    assert len(message_ids) == len(observer.keys("email"))
    assert sum(message_ids.values()) - len(message_ids) <= 2  # worker-a's two threads
    observer.engine.dispose()
