"""Logs (issue 12 §1): a timestamp, level, logger and request id on every line, text or JSON;
the request id answered in ``X-Request-ID`` and carried, through the outbox and the broker,
into the scheduler's and the worker's lines about the notices the request caused; no
personal data. And `make demo` says what it is installing (§7)."""

from __future__ import annotations

import json
import logging
import re
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from dramatiq.middleware import Middleware
from sqlalchemy import select
from test_api_cases import CASES, HOSPITAL, call, open_body
from test_jobs import need
from test_serve import Server, serve_env

from cli.logs import JsonFormatter, TextFormatter, fields, timestamp
from cli.main import main
from conftest import Api
from core.jobs.broker import make_broker, set_broker
from core.jobs.deliver import DeliveryPolicy
from core.jobs.relay import relay
from core.jobs.scheduler import tick
from core.logs import accepted_request_id, bound_request_id, valid_request_id
from core.settings import Settings, SettingsError
from core.store import orm
from core.store.tokens import create_token

ROOT = Path(__file__).resolve().parent.parent
CASETRACK = Path(sys.executable).with_name("casetrack")
TS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
HEX_ID = re.compile(r"^[0-9a-f]{32}$")
# the demo's example caller (the hospital's IT manager: cli/serve.py's curl line) and the
# service managers a manual escalation notifies (contracts/staff/staff.yaml)
CALLER = {"name": "徐晓东", "phone": "13561812101", "email": "xu.xiaodong@wdkn-hospital.example.cn"}
PERSONAL = (
    *CALLER.values(),
    "刘洋",
    "孙鹏飞",
    "13963112302",
    "13963112306",
    "liu.yang@mingsheng.example.cn",
    "sun.pengfei@mingsheng.example.cn",
)
ESCALATE = {"level": 2, "reason": "全院断网", "target_group": "服务经理 孙鹏飞"}


def assert_no_personal_data(text: str) -> None:
    leaked = [word for word in PERSONAL if word in text]
    assert not leaked, f"{leaked} reached the log"


class Lines(logging.Handler):
    """Records formatted as the processes format them, kept as lines."""

    def __init__(self, formatter: logging.Formatter) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(formatter)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))

    def parsed(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.lines]


@pytest.fixture
def json_lines() -> Iterator[Lines]:
    root = logging.getLogger()
    handler, level = Lines(JsonFormatter()), root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        yield handler
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


@pytest.fixture(autouse=True)
def _no_handler_left() -> Iterator[None]:
    """`main` configures the root logger of this process: undo it after each test."""
    from cli.logs import StderrHandler

    yield
    root = logging.getLogger()
    for handler in [h for h in root.handlers if isinstance(h, StderrHandler)]:
        root.removeHandler(handler)


def record(name: str, msg: str, *args: Any, exc: BaseException | None = None) -> logging.LogRecord:
    info = (type(exc), exc, exc.__traceback__) if exc is not None else None
    return logging.LogRecord(name, logging.INFO, __file__, 1, msg, args, info)


# --- the formatters --------------------------------------------------------------------------


def test_a_json_line_has_time_level_logger_message_and_request_id() -> None:
    with bound_request_id("req-1"):
        line = JsonFormatter().format(record("casetrack.worker", "sent %s", "MS-2026-000001"))
    data = json.loads(line)
    assert TS.match(data["ts"]) and data["level"] == "INFO"
    assert data["logger"] == "casetrack.worker" and data["message"] == "sent MS-2026-000001"
    assert data["request_id"] == "req-1"
    assert json.loads(JsonFormatter().format(record("x", "no request")))["request_id"] is None


def test_a_text_line_starts_with_the_utc_time_in_milliseconds() -> None:
    assert timestamp(0.5) == "1970-01-01T00:00:00.500Z"
    with bound_request_id("req-2"):
        line = TextFormatter().format(record("casetrack.scheduler", "tick"))
    stamp, rest = line.split(" ", 1)
    assert TS.match(stamp) and rest == "INFO    casetrack.scheduler [req-2] tick"
    plain = TextFormatter().format(record("casetrack.scheduler", "tick"))
    assert plain.endswith(" INFO    casetrack.scheduler tick")  # no request: no brackets


def test_uvicorns_access_record_becomes_fields_with_the_path_masked() -> None:
    access = record("uvicorn.access", '%s - "%s %s HTTP/%s" %d')
    access.args = (
        "127.0.0.1:5000",
        "GET",
        "/api/v1/cases?q=13561812101&m=a@b.example.cn",
        "1.1",
        200,
    )
    data = fields(access)
    assert (data["client"], data["method"], data["status"]) == ("127.0.0.1:5000", "GET", 200)
    assert "http_version" not in data  # said in the message
    assert "13561812101" not in data["path"] and "a@b.example.cn" not in data["path"]
    assert data["message"].startswith('127.0.0.1:5000 - "GET /api/v1/cases?q=135****2101')


def test_messages_are_masked_and_exceptions_logged_without_their_text() -> None:
    try:
        raise ValueError(f"caller {CALLER['phone']} <{CALLER['email']}>")
    except ValueError as exc:
        caught = exc
    data = fields(record("casetrack.api", "failed for %s", CALLER["email"], exc=caught))
    assert_no_personal_data(json.dumps(data, ensure_ascii=False))
    assert data["error"].startswith("ValueError: caller 135****2101")
    assert "Traceback" in data["frames"] and "test_logs.py" in data["frames"]


# --- request ids -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("incoming", "kept"),
    [("abc-123", True), ("a.b_c-D9", True), ("x" * 64, True), ("x" * 65, False),
     ("has space", False), ("", False), ("semi;colon", False), ("ü", False)],
)  # fmt: skip
def test_a_request_id_is_kept_only_when_short_and_plain(incoming: str, kept: bool) -> None:
    assert valid_request_id(incoming) is kept
    chosen = accepted_request_id(incoming)
    assert chosen == incoming if kept else HEX_ID.match(chosen)


def test_every_answer_carries_a_request_id(api: Api) -> None:
    given = {"X-Request-ID": "client-id.1"}
    for path, status in (("/healthz", 200), ("/nowhere", 404), (CASES, 401)):
        answer = api.client.get(path, headers=given)
        assert answer.status_code == status and answer.headers["x-request-id"] == "client-id.1"
        made = api.client.get(path).headers["x-request-id"]
        assert HEX_ID.match(made)
        assert HEX_ID.match(
            api.client.get(path, headers={"X-Request-ID": "a b"}).headers["x-request-id"]
        )
    bad = api.client.post(CASES, json={"contract_id": 1}, headers={**api.headers("agent"), **given})
    assert bad.status_code == 400 and bad.headers["x-request-id"] == "client-id.1"  # a problem


def test_the_request_id_follows_its_notices_to_the_scheduler_and_the_worker(
    api: Api, json_lines: Lines
) -> None:
    """Opened by one request, escalated by another: the scheduler's notices carry the
    opening's id, the escalation's the escalation's; on the rows, on the broker message and
    in the lines the scheduler, the relay and the worker write about them."""
    agent = {**api.headers("agent"), "X-Request-ID": "req-open"}
    body = open_body(api, priority="P1", caller={**CALLER, "company": "文登康宁医院"})
    number = call(api, "POST", CASES, agent, json=body, expect=201).json()["number"]
    escalate = {**api.headers("engineer"), "X-Request-ID": "req-escalate"}
    call(api, "POST", f"{CASES}/{number}/escalations", escalate, json=ESCALATE, expect=200)
    runtime = api.runtime
    later = api.now + timedelta(hours=2)
    tick(runtime, now=later)  # the opening's clocks escalate
    with runtime.sessions() as session:
        case = session.scalars(select(orm.Case).where(orm.Case.number == number)).one()
        assert case.opened_request_id == "req-open"
        rows = session.scalars(select(orm.Notification)).all()
        by_template: dict[str, set[str | None]] = {}
        for row in rows:
            by_template.setdefault(row.template, set()).add(row.request_id)
    assert by_template.pop("escalated") == {"req-escalate"}
    assert by_template and set().union(*by_template.values()) == {"req-open"}

    jobs = set_broker(runtime, make_broker(""), policy=DeliveryPolicy(digest_window=timedelta(0)))
    sent: list[Any] = []
    jobs.broker.add_middleware(_Spy(sent))
    worker = jobs.worker()
    worker.start()
    try:
        relayed = relay(runtime, jobs, now=later)
        jobs.broker.join(jobs.queue_name, timeout=30_000)
        worker.join()
    finally:
        worker.stop()
        jobs.close()
    assert relayed.notifications > 4  # the escalation's four and some of the ladder's
    assert {m.options.get("request_id") for m in sent} == {"req-open", "req-escalate"}

    lines = json_lines.parsed()
    ids = {(line["logger"], line["request_id"]) for line in lines if number in line["message"]}
    for logger in ("casetrack.relay", "casetrack.worker"):
        assert {(logger, "req-open"), (logger, "req-escalate")} <= ids, ids
    assert ("casetrack.scheduler", "req-open") in ids
    delivered = {line["request_id"] for line in lines if line["logger"] == "casetrack.worker"}
    assert delivered == {"req-open", "req-escalate"}
    assert_no_personal_data("\n".join(json_lines.lines))


class _Spy(Middleware):
    """Keeps the messages a worker processed."""

    def __init__(self, sent: list[Any]) -> None:
        self.sent = sent

    def before_process_message(self, broker: Any, message: Any) -> None:
        self.sent.append(message)


# --- settings and options --------------------------------------------------------------------


def test_log_settings_come_from_the_environment_and_bad_values_say_what_is_expected() -> None:
    settings = Settings.from_env({"CASETRACK_LOG_LEVEL": "debug", "CASETRACK_LOG_FORMAT": "json"})
    assert (settings.log_level, settings.log_format) == ("debug", "json")
    assert (Settings().log_level, Settings().log_format) == ("INFO", "text")
    with pytest.raises(SettingsError, match=r"CASETRACK_LOG_LEVEL: expected DEBUG, .* not 'loud'"):
        Settings.from_env({"CASETRACK_LOG_LEVEL": "loud"})
    with pytest.raises(SettingsError, match="CASETRACK_LOG_FORMAT: expected text or json"):
        Settings.from_env({"CASETRACK_LOG_FORMAT": "xml"})


@pytest.mark.parametrize("command", [["serve"], ["scheduler", "--once"], ["worker"]])
def test_bad_log_options_are_one_usage_error(
    command: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    for option, value in (("--log-level", "loud"), ("--log-format", "xml")):
        with pytest.raises(SystemExit) as exited:
            main([*command, option, value])
        assert exited.value.code == 2
        err = capsys.readouterr().err
        assert f"argument {option}: invalid choice" in err and "Traceback" not in err


def test_a_bad_log_variable_is_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CASETRACK_LOG_FORMAT", "yaml")
    assert main(["scheduler", "--once"]) == 2  # a settings problem is a usage error
    assert capsys.readouterr().err == (
        "error: CASETRACK_LOG_FORMAT: expected text or json, not 'yaml'\n"
    )


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_the_scheduler_logs_text_lines_that_start_with_a_timestamp(
    api: Api, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    headers = {**api.headers("agent"), "X-Request-ID": "req-text"}
    body = open_body(api, priority="P1")
    call(api, "POST", CASES, headers, json=body, expect=201)  # by the wall clock: all due
    settings = api.runtime.settings
    monkeypatch.setenv("CASETRACK_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("CASETRACK_CONTRACTS_DIR", settings.contracts_dir)
    monkeypatch.setenv("CASETRACK_VAR_DIR", settings.var_dir)
    assert main(["scheduler", "--once", "--log-format", "TEXT", "--log-level", "info"]) == 0
    out, err = capsys.readouterr()
    assert [line.split(" ")[0] for line in out.splitlines()] == ["tick", "relay:"]  # the report
    lines = err.splitlines()
    assert lines and all(TS.match(line.split(" ")[0]) for line in lines), err
    assert any(" casetrack.scheduler [req-text] escalated " in line for line in lines), err


# --- real processes ---------------------------------------------------------------------------


def _admin_token(db_url: str) -> str:
    from sqlalchemy.orm import Session

    from conftest import API_NOW
    from core.store.db import make_engine

    engine = make_engine(db_url)
    try:
        with engine.begin() as conn, Session(conn) as session:
            token, _ = create_token(session, roles=("admin",), name="logs", now=API_NOW)
            session.flush()
    finally:
        engine.dispose()
    return token


def _json_lines(text: str, where: str) -> list[dict[str, Any]]:
    parsed = []
    for line in text.splitlines():
        try:
            data = json.loads(line)
        except ValueError:
            pytest.fail(f"not a JSON line in {where}: {line!r}")
        assert TS.match(data["ts"]) and data["level"] and "request_id" in data, line
        parsed.append(data)
    return parsed


def test_serve_and_its_worker_log_json_lines_carrying_the_request_id(
    db_url: str, tmp_path: Path
) -> None:
    """SQLite: `casetrack serve` alone (its in-process worker). PostgreSQL: `serve` relays to
    Redis and a `casetrack worker` process delivers. Every line of every process is JSON."""
    token = _admin_token(db_url)
    env = serve_env(database_url=db_url, tick_seconds="0.3", digest_seconds="0")
    env["CASETRACK_VAR_DIR"] = str(tmp_path / "var")
    env["CASETRACK_INSPECTION_CATCH_UP_DAYS"] = "0"  # no maintenance plans' cases: by the date
    args = ["--log-format", "json"]
    worker = None
    worker_log = tmp_path / "worker.log"
    if db_url.startswith("postgresql"):
        need(6379, "Redis")
        env["CASETRACK_BROKER_URL"] = "redis://127.0.0.1:6379/0"
        env["CASETRACK_QUEUE"] = f"test-logs-{uuid.uuid4().hex[:8]}"
        args.append("--background")  # serve relays; the worker process sends
        with worker_log.open("wb") as out:
            worker = subprocess.Popen(
                [str(CASETRACK), "worker", "--threads", "1", "--log-format", "json"],
                env=env,
                cwd=tmp_path,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
    server = Server(args, tmp_path, env)
    try:
        server.wait_ready()
        auth = {"Authorization": f"Bearer {token}"}
        listed = httpx.get(f"{server.base}{CASES}", headers={**auth, "X-Request-ID": "req-list"})
        assert listed.status_code == 200 and listed.headers["x-request-id"] == "req-list"
        assert HEX_ID.match(httpx.get(f"{server.base}/healthz").headers["x-request-id"])
        body = {**_wall_clock_body(), "caller": {**CALLER, "company": "文登康宁医院"}}
        opened = httpx.post(
            f"{server.base}{CASES}", json=body, headers={**auth, "X-Request-ID": "req-open"}
        )
        assert opened.status_code == 201, opened.text
        number = opened.json()["number"]
        escalated = httpx.post(
            f"{server.base}{CASES}/{number}/escalations",
            json=ESCALATE,
            headers={**auth, "X-Request-ID": "req-escalate"},
        )
        assert escalated.status_code == 200 and escalated.headers["x-request-id"] == "req-escalate"
        logs = worker_log if worker is not None else server.err

        def delivered() -> list[dict[str, Any]]:
            text = logs.read_text("utf-8") if logs.exists() else ""
            return [
                line
                for line in map(json.loads, filter(None, text.splitlines()))
                if line["logger"] == "casetrack.worker" and number in line["message"]
            ]

        deadline = time.monotonic() + 40
        while len(delivered()) < 4 and time.monotonic() < deadline:  # 2 people × email, SMS
            time.sleep(0.2)
        assert len(delivered()) == 4, server.stderr() + (
            worker_log.read_text("utf-8") if worker else ""
        )
        assert {line["request_id"] for line in delivered()} == {"req-escalate"}
        assert all(line["message"].endswith(": sent") for line in delivered())
        server.stop()
    finally:
        server.kill()
        if worker is not None:
            worker.terminate()
            worker.wait(timeout=15)
    lines = _json_lines(server.stdout(), "serve's stdout") + _json_lines(
        server.stderr(), "serve's stderr"
    )
    access = [line for line in lines if line["logger"] == "uvicorn.access"]
    by_id = {line["request_id"]: line for line in access}
    assert by_id["req-open"]["method"] == "POST" and by_id["req-open"]["status"] == 201
    assert by_id["req-list"]["path"] == CASES and by_id["req-escalate"]["status"] == 200
    relayed = [line for line in lines if line["logger"] == "casetrack.relay"]
    assert relayed and {line["request_id"] for line in relayed} == {"req-escalate"}
    text = server.stdout() + server.stderr()
    if worker is not None:
        worker_lines = _json_lines(worker_log.read_text("utf-8"), "the worker's output")
        assert any(line["message"].startswith("worker: 1 threads") for line in worker_lines)
        text += worker_log.read_text("utf-8")
    assert_no_personal_data(text)


def _wall_clock_body() -> dict[str, Any]:
    """An opening under the hospital contract for a server on the wall clock."""
    return {
        "contract_id": HOSPITAL,
        "summary": "HIS server unreachable from wards",
        "category": "consulting",
        "request_type": "problem_report",
        "priority": "P2",
        "channel": "phone",
    }


# --- make demo --------------------------------------------------------------------------------


def _recipe(target: str) -> list[str]:
    """The recipe lines of ``target`` in the Makefile."""
    lines = (ROOT / "Makefile").read_text("utf-8").splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(f"{target}:"))
    recipe = []
    for line in lines[start + 1 :]:
        if not line.startswith("\t"):
            break
        recipe.append(line.strip())
    return recipe


def test_the_install_step_says_what_it_does_and_lets_pip_show_progress() -> None:
    recipe = _recipe("$(STAMP)")
    lock = [line for line in recipe if "pip install" in line and "requirements.lock" in line]
    assert len(lock) == 1 and "--quiet" not in lock[0] and " -q" not in lock[0]
    said = [line for line in recipe if line.startswith("@echo")]
    assert len(said) >= 3 and any("requirements.lock" in line for line in said)
    assert recipe.index(next(l for l in said if "requirements.lock" in l)) < recipe.index(lock[0])  # noqa: E741
    assert recipe[-1].startswith("@echo")  # and when it is done
