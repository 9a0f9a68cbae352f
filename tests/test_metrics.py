"""Metrics across processes: one scrape sums every `serve --workers` process, the business
gauges equal what the database holds, schedulers and workers serve their counters with
--metrics-port, and the Grafana dashboard uses only names /metrics exposes."""

from __future__ import annotations

import json
import re
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.multiprocess import MultiProcessCollector
from scrape import exposed, samples, total, value
from sqlalchemy import func, or_, select
from test_jobs import need
from test_scheduler import opened
from test_serve import CASETRACK, CONTRACTS, Server, free_port, serve_env

from cli.metrics import mark_ended, pid_of, remove_ended
from conftest import Api
from core.case import OPEN_STATUSES
from core.jobs.metrics import job_metrics
from core.runtime import build_runtime
from core.settings import Settings
from core.store import orm
from core.store.db import make_engine

ROOT = Path(__file__).resolve().parent.parent
DASHBOARD = ROOT / "docs" / "ops" / "grafana-casetrack.json"
HEALTHZ = {"method": "GET", "route": "/healthz", "status": "200"}


def eventually(check: Callable[[], Any], what: str, timeout: float = 60) -> Any:
    """``check()`` once it is truthy (polled; a bound on waiting, never a timed assertion)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if result := check():
            return result
        time.sleep(0.3)
    pytest.fail(f"not within {timeout} s: {what}")


# --- the directory's bookkeeping ------------------------------------------------------------


def ended_pid() -> int:
    process = subprocess.Popen(["true"])
    process.wait()
    return process.pid


def test_serve_start_removes_the_files_of_ended_processes(tmp_path: Path) -> None:
    gone, alive = ended_pid(), subprocess.Popen(["sleep", "30"])
    try:
        for pid in (gone, alive.pid):
            for prefix in ("counter", "histogram", "gauge_livesum"):
                (tmp_path / f"{prefix}_{pid}.db").write_bytes(b"")
        assert remove_ended(tmp_path) == 3
        assert sorted(pid_of(p) for p in tmp_path.iterdir()) == [alive.pid] * 3
    finally:
        alive.kill()
        alive.wait()


def test_ended_processes_leave_the_live_gauges_but_their_counters_stay(tmp_path: Path) -> None:
    gone = ended_pid()
    for name in (f"gauge_livesum_{gone}.db", f"counter_{gone}.db", f"gauge_max_{gone}.db"):
        (tmp_path / name).write_bytes(b"")
    assert mark_ended(tmp_path) == [gone]
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        f"counter_{gone}.db",
        f"gauge_max_{gone}.db",
    ]


# --- one process (the app of the tests) -----------------------------------------------------


def test_business_gauges_equal_the_database(api: Api) -> None:
    from test_api_cases import open_body

    headers = api.headers("agent")
    for priority in ("P1", "P3", "P3"):
        body = open_body(api, priority=priority)
        assert api.client.post("/api/v1/cases", json=body, headers=headers).status_code == 201
    text = api.client.get("/metrics").text
    with api.runtime.sessions() as session:
        expected = open_by(session)
    got = {
        (dict(labels)["priority"], dict(labels)["status"]): v
        for (name, labels), v in samples(text).items()
        if name == "casetrack_open_cases_by_priority_and_status"
    }
    assert got == expected and sum(expected.values()) == 3
    assert value(text, "casetrack_open_cases") == 3


def test_scheduler_passes_show_on_the_apps_metrics(api: Api) -> None:
    from cli.workers import jobs_of
    from core.jobs.loop import one_pass

    before = value(
        api.client.get("/metrics").text, "casetrack_scheduler_passes_total", outcome="ok"
    )
    jobs = jobs_of(api.runtime)
    try:
        one_pass(api.runtime, jobs)
    finally:
        jobs.close()
    text = api.client.get("/metrics").text
    assert value(text, "casetrack_scheduler_passes_total", outcome="ok") == (before or 0) + 1
    assert value(text, "casetrack_scheduler_last_pass_timestamp_seconds") == api.now.timestamp()


def open_by(session: Any) -> dict[tuple[str, str], float]:
    rows = session.execute(
        select(orm.Case.priority, orm.Case.status, func.count())
        .where(orm.Case.status.in_([s.value for s in OPEN_STATUSES]))
        .group_by(orm.Case.priority, orm.Case.status)
    )
    return {(p, s): float(n) for p, s, n in rows}


# --- the Grafana dashboard ------------------------------------------------------------------


def dashboard_metric_names(model: dict[str, Any]) -> set[str]:
    exprs = [
        target["expr"]
        for panel in model["panels"]
        for target in panel.get("targets", [])
        if "expr" in target
    ]
    assert exprs
    return {name for expr in exprs for name in re.findall(r"\bcasetrack_[a-z_]+\b", expr)}


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_the_dashboard_uses_only_metrics_that_are_exposed(api: Api) -> None:
    model = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    [variable] = [v for v in model["templating"]["list"] if v["type"] == "datasource"]
    assert variable["query"] == "prometheus"
    source = "${" + variable["name"] + "}"
    for panel in model["panels"]:
        if panel["type"] != "row":
            assert panel["datasource"]["uid"] == source, panel["title"]
            assert panel["targets"], panel["title"]
    job_metrics()
    api.client.get("/healthz")
    names = dashboard_metric_names(model)
    # set by the commands' processes only: checked in the `serve --workers 2` test below
    only_commands = {"casetrack_live_processes"}
    missing = names - exposed(api.client.get("/metrics").text) - only_commands
    assert not missing
    for gauge in (
        "casetrack_open_cases_by_priority_and_status",
        "casetrack_breached_clocks",
        "casetrack_notifications_by_state",
        "casetrack_notifications_oldest_due_seconds",
        "casetrack_calendar_data_days_left",
        "casetrack_http_requests_total",
        "casetrack_http_request_duration_seconds_bucket",
        "casetrack_scheduler_passes_total",
        "casetrack_notification_deliveries_total",
    ):
        assert gauge in names, f"no panel shows {gauge}"


# --- `casetrack serve --workers 2`: one scrape, every worker ----------------------------------


def healthz_by_pid(directory: Path) -> dict[int, float]:
    """The /healthz requests each process counted, read from its own counter file."""
    counted = {}
    for path in directory.glob("counter_*.db"):
        for family in MultiProcessCollector.merge([str(path)]):
            for s in family.samples:
                if s.name == "casetrack_http_requests_total" and s.labels == HEALTHZ:
                    counted[pid_of(path) or 0] = s.value
    return counted


def database_view(url: str, now_horizon: dict[str, float]) -> dict[Any, float]:
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            from sqlalchemy.orm import Session

            session = Session(bind=connection)
            view: dict[Any, float] = {("open", *key): n for key, n in open_by(session).items()}
            for state, n in session.execute(
                select(orm.Notification.state, func.count()).group_by(orm.Notification.state)
            ):
                view[("outbox", state)] = float(n)
            late = (orm.SlaClock.state == "running") & (orm.SlaClock.deadline < func.now())
            breached = session.scalar(
                select(func.count())
                .select_from(orm.SlaClock)
                .where(or_(orm.SlaClock.breached_at.is_not(None), late))
            )
            view["breached"] = float(breached or 0)
    finally:
        engine.dispose()
    view.update({("days_left", r): d for r, d in now_horizon.items()})
    return view


def scraped_view(text: str) -> dict[Any, float]:
    view: dict[Any, float] = {}
    for (name, labels), v in samples(text).items():
        label = dict(labels)
        if name == "casetrack_open_cases_by_priority_and_status":
            view[("open", label["priority"], label["status"])] = v
        elif name == "casetrack_notifications_by_state" and v:
            view[("outbox", label["state"])] = v
        elif name == "casetrack_breached_clocks":
            view["breached"] = v
        elif name == "casetrack_calendar_data_days_left":
            view[("days_left", label["region"])] = v
    return view


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_serve_workers_on_postgresql_one_scrape_counts_them_all(
    db_url: str, tmp_path: Path
) -> None:
    # a warning window wider than any distance to the holiday data's end: always warns
    env = serve_env(database_url=db_url, calendar_horizon_days="100000")
    server = Server(["--workers", "2", "--demo"], tmp_path, env)
    try:
        server.wait_ready(timeout=120)
        answers = [httpx.get(f"{server.base}/readyz", timeout=5) for _ in range(12)]
        assert [a.status_code for a in answers] == [200] * 12  # warnings do not fail it
        assert [a.json()["status"] for a in answers] == ["ready"] * 12
        assert all(a.json()["warnings"] for a in answers)
        banner = server.stdout()
        assert "(2 worker processes)" in banner and "postgresql" in banner
        assert "seeded" in banner
        assert "WARNING: calendar region CN: published holiday data" in banner
        directory = tmp_path / "var" / "metrics"
        sent = 0
        while len(healthz_by_pid(directory)) < 2 and sent < 500:
            assert httpx.get(f"{server.base}/healthz", timeout=10).status_code == 200
            sent += 1
        assert len(healthz_by_pid(directory)) == 2, "one worker answered every request"
        assert sum(healthz_by_pid(directory).values()) == sent
        for _ in range(6):  # whichever worker answers: the sums of both
            text = httpx.get(f"{server.base}/metrics", timeout=10).text
            assert value(text, "casetrack_http_requests_total", **HEALTHZ) == sent
            assert value(text, "casetrack_http_request_duration_seconds_count", **HEALTHZ) == sent
        assert total(text, "casetrack_scheduler_passes_total", outcome="ok") >= 1  # the parent's
        assert value(text, "casetrack_live_processes", role="scheduler") == 1
        assert (value(text, "casetrack_live_processes", role="api") or 0) >= 2

        settings = Settings(database_url=db_url, contracts_dir=str(CONTRACTS))
        runtime = build_runtime(settings)
        try:
            horizon = {
                h.region: float(h.days_left) for h in runtime.horizon() if h.days_left is not None
            }
        finally:
            runtime.close()

        def agreeing() -> tuple[dict[Any, float], dict[Any, float]] | None:
            before = database_view(db_url, horizon)
            scraped = scraped_view(httpx.get(f"{server.base}/metrics", timeout=10).text)
            after = database_view(db_url, horizon)
            return (before, scraped) if before == after else None  # the scheduler moved

        expected, scraped = eventually(agreeing, "two equal reads of the database")
        assert scraped == expected
        assert any(key[0] == "open" for key in expected)  # the demo's open cases
        assert server.stop() is not None
    finally:
        server.kill()


# --- scheduler and worker with --metrics-port -----------------------------------------------


class Command:
    """A `casetrack scheduler|worker` child process, its output in files."""

    def __init__(self, args: list[str], cwd: Path, env: dict[str, str], name: str) -> None:
        self.out = cwd / f"{name}.out"
        with self.out.open("wb") as out:
            self.proc = subprocess.Popen(
                [str(CASETRACK), *args], cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT
            )

    def output(self) -> str:
        return self.out.read_text(encoding="utf-8", errors="replace")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def scrape(port: int) -> str | None:
    try:
        answer = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5)
    except httpx.TransportError:
        return None
    assert answer.status_code == 200, answer.text
    return answer.text


@pytest.fixture
def commands() -> Iterator[list[Command]]:
    started: list[Command] = []
    yield started
    for command in started:
        command.stop()


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_scheduler_and_worker_serve_the_hosts_counters(
    db_url: str, tmp_path: Path, commands: list[Command]
) -> None:
    need(6379, "Redis")
    settings = Settings(
        database_url=db_url, contracts_dir=str(CONTRACTS), var_dir=str(tmp_path / "var")
    )
    runtime = build_runtime(settings)
    try:
        opened(runtime)  # long overdue: the scheduler fires its levels and queues notices
    finally:
        runtime.close()
    queue = f"casetrack-test-{uuid.uuid4().hex[:12]}"
    env = serve_env(
        database_url=db_url,
        var_dir=str(tmp_path / "var"),
        broker_url="redis://127.0.0.1:6379/0",
        queue=queue,
        digest_seconds="0",
    )
    ports = {"scheduler": free_port(), "worker": free_port()}
    for role, port in ports.items():
        extra = ["--interval", "0.5"] if role == "scheduler" else ["--threads", "2"]
        args = [role, *extra, "--metrics-port", str(port)]
        commands.append(Command(args, tmp_path, env, role))

    def delivered() -> str | None:
        text = scrape(ports["worker"])
        if text is None:
            return None
        relayed = value(text, "casetrack_notifications_relayed_total") or 0
        sent = total(text, "casetrack_notification_deliveries_total")
        return text if relayed > 0 and sent == relayed else None

    try:
        text = eventually(delivered, "the worker delivered what the scheduler relayed", 120)
        both = scrape(ports["scheduler"]) or ""  # the same directory, the same sums
        assert value(both, "casetrack_live_processes", role="scheduler") == 1
        assert value(both, "casetrack_live_processes", role="worker") == 1
    finally:
        for command in commands:
            command.stop()
        _drop(queue)
    planned = value(text, "casetrack_notifications_planned_total") or 0
    assert planned >= value(text, "casetrack_notifications_relayed_total") > 0  # type: ignore[operator]
    assert total(text, "casetrack_notification_deliveries_total", outcome="sent") > 0
    assert (value(text, "casetrack_scheduler_escalations_total") or 0) > 0
    assert "metrics at http://127.0.0.1:" in commands[0].output()
    assert "metrics at http://127.0.0.1:" in commands[1].output()


def _drop(queue: str) -> None:
    from core.jobs.broker import make_broker

    broker = make_broker("redis://127.0.0.1:6379/0")
    try:
        broker.declare_queue(queue)
        broker.flush(queue)
    finally:
        broker.close()
