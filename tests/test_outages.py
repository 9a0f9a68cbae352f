"""Outages: the database refused or black-holed, and a `serve` parent killed with SIGKILL.

PostgreSQL is reached through a TCP proxy of the test's own (127.0.0.1, a free port) that can
refuse (nothing listening, every connection cut) or freeze (connections accepted and kept,
nothing forwarded: a frozen host or dropped packets). The shared PostgreSQL never stops.
"""

from __future__ import annotations

import contextlib
import os
import select
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from litestar.testing import TestClient
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from test_serve import Server, serve_env

from conftest import Templates
from core.runtime import build_runtime
from core.settings import Settings, SettingsError
from core.store.db import make_engine
from core.store.db_timeouts import DbTimeouts, DeadlineConnection, unbounded
from core.store.tokens import create_token

ROOT = Path(__file__).resolve().parent.parent
BOUND = 10.0  # seconds: "answered within the timeouts", loosely (behaviour, not speed)
# a worker may still be importing when its parent is killed (the ready one answered /readyz):
# it arms its lifeline once started, then stops gracefully, within lifeline's 5 s grace; on a
# loaded host that takes longer than BOUND (a bound on a busy host, not a check)
ORPHANS_BOUND = 60.0


class Proxy:
    """Forwards 127.0.0.1:<port> to ``target``; ``refuse()``, ``freeze()``, ``restore()``."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.frozen = threading.Event()
        self.closing = threading.Event()
        self.sockets: list[socket.socket] = []
        self.lock = threading.Lock()
        self.listener: socket.socket | None = None
        self.port = 0
        self.listen()

    def listen(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        listener.settimeout(0.05)
        self.port = listener.getsockname()[1]
        self.listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def _accept(self, listener: socket.socket) -> None:
        while self.listener is listener:
            try:
                client, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self._keep(client)
            if self.frozen.is_set():
                continue  # accepted, never answered
            upstream = socket.create_connection(self.target)
            self._keep(upstream)
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    def _keep(self, sock: socket.socket) -> None:
        with self.lock:
            self.sockets.append(sock)

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        with contextlib.suppress(OSError, ValueError):
            while True:
                if self.frozen.is_set():  # stop reading: the peer's bytes go nowhere
                    time.sleep(0.02)
                    continue
                ready, _, _ = select.select([source], [], [], 0.05)
                if not ready:
                    continue
                data = source.recv(65536)
                if not data:
                    break
                sink.sendall(data)
        self._cut([source, sink])

    def _cut(self, sockets: list[socket.socket]) -> None:
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def _cut_all(self) -> None:
        with self.lock:
            sockets, self.sockets = self.sockets, []
        self._cut(sockets)

    def refuse(self) -> None:
        """The server is down: nothing listens, every open connection is cut."""
        listener, self.listener = self.listener, None
        if listener is not None:
            listener.close()
        self._cut_all()

    def freeze(self) -> None:
        self.frozen.set()

    def restore(self) -> None:
        if self.frozen.is_set():
            self._cut_all()  # connections the client has given up on
            self.frozen.clear()
        if self.listener is None:
            self.listen()

    def close(self) -> None:
        self.refuse()


@pytest.fixture
def proxied(db_templates: Templates) -> Iterator[tuple[Proxy, str]]:
    """A fresh PostgreSQL test database, reached only through a proxy."""
    url = db_templates.postgresql()
    parsed = make_url(url)
    proxy = Proxy((parsed.host or "127.0.0.1", parsed.port or 5432))
    try:
        yield proxy, parsed.set(port=proxy.port).render_as_string(hide_password=False)
    finally:
        proxy.close()
        db_templates.drop(url)


def client_for(database_url: str, tmp_path: Path, **settings: Any) -> tuple[TestClient[Any], str]:
    """The app over ``database_url`` (short timeouts) and a valid admin token."""
    from server import create_app

    config = Settings(
        database_url=database_url,
        contracts_dir=str(ROOT / "contracts"),
        var_dir=str(tmp_path / "var"),
        **settings,
    )
    runtime = build_runtime(config)
    with runtime.sessions.begin() as session:
        token, _ = create_token(session, roles=("admin",), name="t", now=runtime.clock())
    app = create_app(config, runtime=runtime)
    return TestClient(app, raise_server_exceptions=False), token


def calls(token: str) -> dict[str, tuple[str, dict[str, str]]]:
    """What an outage must answer 503: readiness, an API call, an unknown token."""
    return {
        "readyz": ("/readyz", {}),
        "api": ("/api/v1/cases", {"Authorization": f"Bearer {token}"}),
        "unknown token": ("/api/v1/cases", {"Authorization": "Bearer ct_nobody_knows_this"}),
    }


def assert_unavailable(response: httpx.Response, what: str) -> None:
    assert response.status_code == 503, (what, response.status_code, response.text)
    assert response.headers["content-type"].startswith("application/problem+json")
    assert int(response.headers["retry-after"]) > 0
    body = response.json()
    assert body["status"] == 503 and body["title"] == "database unavailable", body


def until_ready(client: TestClient[Any], token: str, within: float = 3.0) -> float:
    """Seconds until /readyz and an API call succeed again."""
    start = time.monotonic()
    while True:
        ready = client.get("/readyz").status_code
        path, headers = calls(token)["api"]
        api = client.get(path, headers=headers).status_code
        if ready == api == 200:
            return time.monotonic() - start
        assert time.monotonic() - start < within, (ready, api)
        time.sleep(0.05)


SHORT = {"db_connect_timeout": 2.0, "db_statement_timeout": 1.0, "db_pool_timeout": 2.0}


def test_refused_database_is_503_with_retry_after_and_recovers(
    proxied: tuple[Proxy, str], tmp_path: Path
) -> None:
    proxy, url = proxied
    client, token = client_for(url, tmp_path, **SHORT)
    with client:
        assert (
            client.get("/api/v1/cases", headers={"Authorization": "Bearer ct_x"}).status_code == 401
        )
        until_ready(client, token)
        proxy.refuse()
        for what, (path, headers) in calls(token).items():
            assert_unavailable(client.get(path, headers=headers), what)
        proxy.restore()
        assert until_ready(client, token) < 2.0
        # the database answers again: an unknown token is what it is, 401
        assert (
            client.get("/api/v1/cases", headers={"Authorization": "Bearer ct_x"}).status_code == 401
        )


def test_frozen_database_is_503_within_the_timeouts_and_recovers(
    proxied: tuple[Proxy, str], tmp_path: Path
) -> None:
    proxy, url = proxied
    client, token = client_for(url, tmp_path, **SHORT)
    with client:
        until_ready(client, token)
        proxy.freeze()
        for what, (path, headers) in calls(token).items():
            start = time.monotonic()
            response = client.get(path, headers=headers)
            elapsed = time.monotonic() - start
            assert_unavailable(response, what)
            assert elapsed < BOUND, (what, elapsed)  # it hung ~130 s before the timeouts
        proxy.restore()
        assert until_ready(client, token) < 2.0


def test_unopenable_sqlite_file_is_503(tmp_path: Path) -> None:
    database = tmp_path / "casetrack.db"
    database.mkdir()  # a directory where the file should be: sqlite cannot open it
    from server import create_app

    config = Settings(
        database_url=f"sqlite:///{database}",
        contracts_dir=str(ROOT / "contracts"),
        var_dir=str(tmp_path / "var"),
    )
    client = TestClient(create_app(config), raise_server_exceptions=False)
    with client:
        for what, (path, headers) in calls("ct_unknown").items():
            assert_unavailable(client.get(path, headers=headers), what)


# --- kill -9 of `serve --workers N` ----------------------------------------------------------


def children_of(pid: int) -> list[int]:
    """Live (not zombie) processes whose parent is ``pid`` (Linux /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (stat := _stat(int(entry.name))) is not None:
            state, parent = stat
            if parent == pid and state != "Z":
                found.append(int(entry.name))
    return found


def _stat(pid: int) -> tuple[str, int] | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text.rsplit(")", 1)[1].split()
    return fields[0], int(fields[1])


def alive(pid: int) -> bool:
    stat = _stat(pid)
    return stat is not None and stat[0] != "Z"


def is_worker(pid: int) -> bool:
    try:
        return b"spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False


def port_is_free(port: int) -> bool:
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc (Linux)")
def test_workers_die_with_a_killed_serve_parent(tmp_path: Path) -> None:
    server = Server(["--workers", "2"], tmp_path, serve_env())
    try:
        server.wait_ready()
        workers = [pid for pid in children_of(server.proc.pid) if is_worker(pid)]
        assert len(workers) == 2, children_of(server.proc.pid)
        os.kill(server.proc.pid, signal.SIGKILL)  # the parent only, not its group
        server.proc.wait(timeout=5)
        deadline = time.monotonic() + ORPHANS_BOUND
        while time.monotonic() < deadline and (
            any(alive(pid) for pid in workers) or not port_is_free(server.port)
        ):
            time.sleep(0.1)
        assert [pid for pid in workers if alive(pid)] == []
        assert port_is_free(server.port)
        with pytest.raises(httpx.TransportError):
            httpx.get(f"{server.base}/healthz", timeout=2)
    finally:
        with contextlib.suppress(ProcessLookupError):  # orphans of a failed run, if any
            os.killpg(server.proc.pid, signal.SIGKILL)
        server.proc.wait(timeout=5)


# --- the settings and the server-side statement limit ----------------------------------------


def test_database_timeouts_are_settings() -> None:
    env = {
        "CASETRACK_DB_CONNECT_TIMEOUT": "2",
        "CASETRACK_DB_STATEMENT_TIMEOUT": "0.5",
        "CASETRACK_DB_POOL_TIMEOUT": "1",
    }
    timeouts = Settings.from_env(env).db_timeouts
    assert (timeouts.connect, timeouts.statement, timeouts.pool) == (2, 0.5, 1)
    assert timeouts.answer == 2.5
    assert Settings.from_env({}).db_timeouts == DbTimeouts(connect=3, statement=10, pool=5)
    assert DbTimeouts(statement=0).answer is None  # 0: no limit at all
    with pytest.raises(SettingsError, match="CASETRACK_DB_STATEMENT_TIMEOUT"):
        Settings.from_env({"CASETRACK_DB_STATEMENT_TIMEOUT": "-1"})


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_a_slow_statement_is_cancelled_but_migrations_are_not_limited(db_url: str) -> None:
    engine = make_engine(db_url, timeouts=DbTimeouts(connect=2, statement=0.3))
    try:
        with engine.connect() as connection, pytest.raises(OperationalError) as caught:
            connection.exec_driver_sql("SELECT pg_sleep(2)")
        assert isinstance(caught.value.orig, psycopg.errors.QueryCanceled)
        assert not caught.value.connection_invalidated  # the server said so: still usable
        with engine.begin() as connection, unbounded(connection):
            connection.exec_driver_sql("SELECT pg_sleep(0.6)")  # longer than the limit
        # the limit is back after the transaction
        with engine.connect() as connection, pytest.raises(OperationalError):
            connection.exec_driver_sql("SELECT pg_sleep(2)")
    finally:
        engine.dispose()


CHILD = """
import os, signal, threading, time
from cli.lifeline import _watch
signal.signal(signal.SIGTERM, signal.SIG_IGN)  # a stop that hangs: only the hard exit helps
threading.Thread(target=_watch, args=(os.getppid(), 0.05, 0.5), daemon=True).start()
print(os.getpid(), flush=True)
time.sleep(60)
"""
PARENT = """
import subprocess, sys, time
child = subprocess.Popen([sys.executable, "-c", sys.argv[1]], stdout=sys.stdout)
time.sleep(60)
"""


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc (Linux)")
def test_the_portable_watchdog_alone_ends_an_orphan() -> None:
    # no prctl here: the watchdog thread sees the parent gone, its SIGTERM is ignored, and
    # after the grace period it exits hard
    parent = subprocess.Popen(
        [sys.executable, "-c", PARENT, CHILD],
        stdout=subprocess.PIPE,
        cwd=ROOT,
        start_new_session=True,
    )
    try:
        assert parent.stdout is not None
        child = int(parent.stdout.readline())
        assert alive(child)
        parent.kill()
        parent.wait(timeout=5)
        deadline = time.monotonic() + BOUND
        while alive(child) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not alive(child)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(parent.pid, signal.SIGKILL)


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_an_exhausted_pool_is_503_after_the_pool_timeout(db_url: str, tmp_path: Path) -> None:
    client, _ = client_for(db_url, tmp_path, db_pool_timeout=0.5)
    with client:
        engine = client.app.state.runtime.engine
        held = [engine.connect() for _ in range(engine.pool.size() + engine.pool._max_overflow)]
        try:
            start = time.monotonic()
            response = client.get("/readyz")
            assert_unavailable(response, "readyz")
            assert 0.5 <= time.monotonic() - start < BOUND
        finally:
            for connection in held:
                connection.close()
        assert client.get("/readyz").status_code == 200


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_a_wait_that_chooses_no_timeout_is_left_alone(db_url: str) -> None:
    """psycopg's ``notifies()`` waits with ``timeout=None``, its own choice: the answer bound
    does not apply to it (it used to fail with "got multiple values for keyword argument")."""
    engine = make_engine(db_url, timeouts=DbTimeouts(connect=2, statement=0.3))
    try:
        with engine.connect() as listener, engine.connect() as sender:
            raw = listener.connection.driver_connection
            assert isinstance(raw, DeadlineConnection) and raw.answer_within is not None
            listener.exec_driver_sql("LISTEN casetrack_wait")
            listener.commit()
            sender.exec_driver_sql("NOTIFY casetrack_wait, 'hello'")
            sender.commit()
            assert [n.payload for n in raw.notifies(stop_after=1)] == ["hello"]
    finally:
        engine.dispose()
