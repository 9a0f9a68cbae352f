"""`casetrack serve` and its demo: seeded cases on both back ends, the server as a user runs it."""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from email import message_from_bytes
from email import policy as email_policy
from email.message import EmailMessage
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy import select

from api.auth import customer_scope
from cli.demo import BANK, ENGINEER, HEADLINE, HOSPITAL, PORT, REMOTE, SCHOOL, seed_demo
from cli.main import main
from cli.serve import base_url
from core.case import Role, Status
from core.errors import Forbidden, NotFoundError
from core.runtime import Runtime, build_runtime
from core.settings import Settings
from core.store import audit, orm
from core.store.queries import CaseFilter, get_case, list_cases
from core.store.seal import load_audit_key
from core.store.tokens import authenticate

ROOT = Path(__file__).resolve().parent.parent
CONTRACTS = ROOT / "contracts"
CASETRACK = Path(sys.executable).with_name("casetrack")
SH = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 25, 17, 5, tzinfo=SH)  # a Wednesday afternoon in Weihai


@pytest.fixture
def runtime(db_url: str, tmp_path: Path) -> Iterator[Runtime]:
    settings = Settings(
        database_url=db_url, contracts_dir=str(CONTRACTS), var_dir=str(tmp_path / "var")
    )
    runtime = build_runtime(settings, clock=lambda: NOW)
    yield runtime
    runtime.close()


def clocks_of(runtime: Runtime, number: str) -> dict[str, list[orm.SlaClock]]:
    with runtime.sessions() as session:
        case = session.scalars(select(orm.Case).where(orm.Case.number == number)).one()
        found: dict[str, list[orm.SlaClock]] = {}
        for clock in case.clocks:
            found.setdefault(clock.kind, []).append(clock)
        return found


def event_kinds(runtime: Runtime, number: str) -> list[str]:
    with runtime.sessions() as session:
        return [e.kind for e in get_case(session, number).events]


# --- seed_demo on both back ends ----------------------------------------------------------------


def test_demo_seeds_every_status_with_met_and_breached_clocks(runtime: Runtime) -> None:
    summary = seed_demo(runtime, now=NOW)
    # issue 15: + 5 rated cases of last quarter; issue 16: + an inspection and its follow-up
    assert summary.seeded and 12 <= summary.cases <= 34
    assert set(summary.by_status) == {s.value for s in Status}
    assert set(summary.by_contract) == {HOSPITAL, SCHOOL, BANK, PORT}
    assert summary.clocks["met"] >= 10 and summary.clocks["breached"] >= 1
    assert summary.clocks["running"] >= 1 and summary.clocks["paused"] >= 1
    assert summary.skipped == ()
    with runtime.sessions() as session:
        page = list_cases(session, CaseFilter(), limit=100)
        # sealed with the runtime's var/audit.key: chains, seals, replay and numbers all hold
        report = audit.verify(session, key=load_audit_key(runtime.settings))
        latest = session.scalar(select(orm.CaseEvent.at).order_by(orm.CaseEvent.at.desc()))
    assert {c.number for c in page.items} == set(summary.numbers.values())
    assert len(page.items) == summary.cases
    assert report.ok and report.sealed, report.lines()
    assert (report.cases_checked, report.events_checked) == (summary.cases, summary.events)
    assert latest is not None and latest <= NOW  # the demo never records the future


def test_the_demo_inspection_has_its_checklist_and_a_follow_up(runtime: Runtime) -> None:
    numbers = seed_demo(runtime, now=NOW).numbers
    inspection, follow_up = numbers["weekly-inspection"], numbers["weekly-inspection/follow-up"]
    with runtime.sessions() as session:
        kinds = {
            (number, kind): payload
            for number, kind, payload in session.execute(
                select(orm.Case.number, orm.CaseEvent.kind, orm.CaseEvent.payload).join(orm.Case)
            )
        }
    opened = kinds[(inspection, "inspection_opened")]
    assert opened["checklist"] and opened["devices"]
    assert kinds[(follow_up, "follow_up_of")]["inspection"] == inspection


def test_demo_tells_the_stories_a_newcomer_should_see(runtime: Runtime) -> None:
    numbers = seed_demo(runtime, now=NOW).numbers
    # the P1 emergency at the hospital's HIS server: every clock met, closed with checklist
    his = clocks_of(runtime, numbers[HEADLINE])
    assert set(his) == {
        "first_response",
        "diagnosis",
        "onsite_arrival",
        "spare_arrival",
        "resolution",
        "progress_report",
    }
    assert all(c.state == "met" for cs in his.values() for c in cs)
    assert his["resolution"][0].target == "4h on duty"  # an emergency: the P1 target, no window
    with runtime.sessions() as session:
        detail = get_case(session, numbers[HEADLINE])
    assert (detail.priority, detail.emergency, detail.status) == ("P1", True, "closed")
    closed = next(e for e in detail.events if e.kind == "closed")
    assert closed.payload["checklist"] and "rescue-record" in closed.payload["deliverables"]
    # the LIS disk: part shipped on time, arrival still running, waiting for the vendor
    lis = clocks_of(runtime, numbers["lis-disk"])
    assert lis["spare_ship"][0].state == "met" and lis["spare_arrival"][0].state == "running"
    # a complaint answered within its 2 hours
    reply = clocks_of(runtime, numbers["pacs-complaint"])["complaint_first_reply"][0]
    assert reply.state == "met" and reply.deadline - reply.started_at == timedelta(hours=2)
    # pending customer: the resolution clock paused with its cause
    paused = clocks_of(runtime, numbers["portal-certificate"])["resolution"][0]
    assert paused.state == "paused" and "SSL" in (paused.pause_cause or "")
    # the e-mail nobody read in time: a breached first response
    assert clocks_of(runtime, numbers["wifi-drops"])["first_response"][0].state == "breached"
    firewall = event_kinds(runtime, numbers["firewall-outage"])
    assert {"escalated", "reopened", "call", "note", "rma_status"} <= set(firewall)
    assert firewall[-1] == "resolved"
    # a spare part through every step (issue 13): the faulty part back after the fix
    spare = event_kinds(runtime, numbers["port-wlc-spare"])
    assert spare.count("spare_step") == 5 and "spare_requested" in spare
    assert spare[-1] == "closed"
    ports = clocks_of(runtime, numbers["port-wlc-spare"])
    assert [c.state for c in ports["spare_ship"] + ports["spare_arrival"]] == ["met", "met"]
    assert ports["part_return"][0].state == "met"


def test_demo_cisco_rma_is_opened_shipped_delivered_through_the_local_stand_in(
    runtime: Runtime,
) -> None:
    """The Cisco story (cli/demo/cisco.py): opened, moved on and polled over HTTP against the
    seeder's CiscoSandbox; its spare request follows the RMA; the stand-in is gone after."""
    numbers = seed_demo(runtime, now=NOW).numbers
    with runtime.sessions() as session:
        detail = get_case(session, numbers["catalyst-cisco-rma"])
    updates = [e.payload for e in detail.events if e.kind == "rma_updated"]
    assert [(u["state"], u["source"]) for u in updates] == [
        ("open", "open"),
        ("shipped", "poll"),
        ("delivered", "poll"),
        ("closed", "poll"),
    ]
    assert {u["channel"] for u in updates} == {"cisco_tac"}
    assert updates[1]["carrier"] and updates[1]["waybill"]
    steps = [e.payload["step"] for e in detail.events if e.kind == "spare_step"]
    assert steps == ["rma_opened", "shipped", "arrived"]
    [order] = runtime.desk.list_rmas(numbers["catalyst-cisco-rma"])
    assert (order.state, order.next_poll_at, order.failures) == ("closed", None, 0)
    channels = runtime.desk.rma_channels
    assert channels is not None
    assert "127.0.0.1" not in repr(channels.client("cisco_tac"))  # back to the real settings


def test_demo_credentials_are_encrypted_and_shown_only_to_the_assignee(
    runtime: Runtime,
) -> None:
    number = seed_demo(runtime, now=NOW).numbers[REMOTE]
    with runtime.sessions() as session:
        case = session.scalars(select(orm.Case).where(orm.Case.number == number)).one()
        secret = session.get(orm.CaseSecret, case.id)
    assert case.assignee == ENGINEER and secret is not None
    assert b"Kn#2026" not in secret.ciphertext
    shown = runtime.desk.reveal_credentials(number, actor=ENGINEER, now=NOW)
    assert shown["device_ip"] == "10.20.4.15"
    with pytest.raises(Forbidden):
        runtime.desk.reveal_credentials(number, actor="林海涛", now=NOW)


def test_demo_tokens_and_the_customer_sees_only_its_own_cases(runtime: Runtime) -> None:
    summary = seed_demo(runtime, now=NOW)
    tokens = {t.role: t for t in summary.tokens}
    assert set(tokens) == {"admin", "agent", "engineer", "service_manager", "customer"}
    with runtime.sessions() as session:
        manager = authenticate(session, tokens["service_manager"].token)
        assert manager.name == "刘洋" and manager.roles == frozenset({Role.SERVICE_MANAGER})
        engineer = authenticate(session, tokens["engineer"].token)
        customer = authenticate(session, tokens["customer"].token)
        assert engineer.name == ENGINEER  # the name the desk compares with the assignee
        scope = customer_scope(customer)
        own = list_cases(session, CaseFilter(customer_id=scope), limit=100).items
        assert {c.customer_id for c in own} == {"wdkn-hospital"}
        assert len(own) == summary.by_contract[HOSPITAL]
        with pytest.raises(NotFoundError):
            get_case(session, summary.numbers["firewall-outage"], customer_id=scope)
        seen = get_case(session, summary.numbers[HEADLINE], customer_id=scope)
        assert seen.events and {e.visibility for e in seen.events} == {"customer"}


def test_demo_web_users_sign_in_as_the_demo_tokens_people(runtime: Runtime) -> None:
    from core.store.users import check_password, principal_of

    summary = seed_demo(runtime, now=NOW)
    users = {u.login: u for u in summary.users}
    assert set(users) == {"admin", "agent", "engineer", "manager", "hospital"}
    with runtime.sessions.begin() as session:
        principals = {
            login: principal_of(row)
            for login, u in users.items()
            if (row := check_password(session, login, u.password)) is not None
        }
    assert set(principals) == set(users)
    assert principals["manager"].name == "刘洋"
    assert principals["engineer"].name == ENGINEER  # may reveal the assigned case's credentials
    assert principals["hospital"].customer_id == "wdkn-hospital"
    assert principals["hospital"].roles == frozenset({Role.CUSTOMER})


def test_demo_history_of_ended_contracts_closes_before_their_end(runtime: Runtime) -> None:
    seed_demo(runtime, now=NOW)
    with runtime.sessions() as session:
        for contract_id in (BANK, PORT):
            end = runtime.contracts.get(contract_id).contract.period.end
            cases = session.scalars(
                select(orm.Case).where(orm.Case.contract_id == contract_id)
            ).all()
            assert cases and all(c.status == "closed" for c in cases)
            assert all(c.closed_at.astimezone(SH).date() <= end for c in cases)


def test_second_seed_seeds_nothing(runtime: Runtime) -> None:
    first = seed_demo(runtime, now=NOW)
    again = seed_demo(runtime, now=NOW + timedelta(hours=1))
    assert not again.seeded and again.tokens == () and again.cases == 0
    assert f"already has {first.cases} cases" in again.message
    with runtime.sessions() as session:
        assert len(list_cases(session, CaseFilter(), limit=100).items) == first.cases


def test_contracts_outside_their_period_are_skipped(runtime: Runtime) -> None:
    early = datetime(2026, 2, 10, 10, 0, tzinfo=SH)  # before the school's period (03-01)
    summary = seed_demo(runtime, now=early)
    assert summary.seeded and SCHOOL not in summary.by_contract
    assert any(reason.startswith(f"{SCHOOL}: its period starts") for reason in summary.skipped)
    with runtime.sessions() as session:
        assert audit.verify(session).ok


# --- the server, as a user starts it ------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def serve_env(**settings: str) -> dict[str, str]:
    """The caller's environment without its CASETRACK_* settings, plus ``settings``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CASETRACK_")}
    env["CASETRACK_CONTRACTS_DIR"] = str(CONTRACTS)
    env.update({f"CASETRACK_{k.upper()}": v for k, v in settings.items()})
    return env


class Server:
    """A `casetrack serve` child process; output goes to files (a full pipe would block it)."""

    def __init__(self, args: list[str], cwd: Path, env: dict[str, str]) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.out, self.err = cwd / "serve.out", cwd / "serve.err"
        with self.out.open("wb") as out, self.err.open("wb") as err:
            self.proc = subprocess.Popen(
                [str(CASETRACK), "serve", "--port", str(self.port), *args],
                cwd=cwd,
                env=env,
                stdout=out,
                stderr=err,
                start_new_session=True,  # its own process group: workers die with it
            )

    def wait_ready(self, timeout: float = 90) -> None:  # a bound on a busy host, not a check
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                pytest.fail(f"serve exited with {self.proc.returncode}:\n{self.stderr()}")
            try:
                if httpx.get(f"{self.base}/readyz", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        pytest.fail(f"no /readyz within {timeout} s:\n{self.stderr()}")

    def stdout(self) -> str:
        return self.out.read_text(encoding="utf-8")

    def stderr(self) -> str:
        return self.err.read_text(encoding="utf-8", errors="replace")

    def stop(self) -> int:
        self.proc.terminate()
        return self.proc.wait(timeout=10)

    def kill(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)


def token_of(banner: str, role: str) -> str:
    match = re.search(rf"^  {role} .*?(ct_[A-Za-z0-9_-]+)", banner, re.MULTILINE)
    assert match, f"no {role} token in:\n{banner}"
    return match.group(1)


def gauge(metrics: str, name: str) -> float:
    match = re.search(rf"^{name} (\S+)$", metrics, re.MULTILINE)
    assert match, f"no {name} in /metrics"
    return float(match.group(1))


def test_serve_demo_on_the_embedded_database(tmp_path: Path) -> None:
    server = Server(["--demo"], tmp_path, serve_env())
    try:
        server.wait_ready()
        banner = server.stdout()
        assert f"{server.base}/schema" in banner and "curl -s " in banner
        seeded = re.search(r"seeded (\d+) demo cases", banner)
        assert seeded, banner
        admin = token_of(banner, "admin")
        assert (tmp_path / "var" / "casetrack.db").is_file()  # the default, in the working dir
        assert httpx.get(f"{server.base}/healthz").json() == {"status": "ok"}
        metrics = httpx.get(f"{server.base}/metrics").text
        assert gauge(metrics, "casetrack_open_cases") > 0
        paths = httpx.get(f"{server.base}/schema/openapi.json").json()["paths"]
        # the case API arrives in its own change: once it is served, the demo must show in it
        if "/api/v1/cases" in paths:
            auth = {"Authorization": f"Bearer {admin}"}
            listed = httpx.get(f"{server.base}/api/v1/cases?limit=100", headers=auth)
            assert listed.status_code == 200, listed.text
            assert len(listed.json()["items"]) == int(seeded.group(1))
            customer = {"Authorization": f"Bearer {token_of(banner, 'customer')}"}
            own = httpx.get(f"{server.base}/api/v1/cases?limit=100", headers=customer).json()
            assert own["items"] and {c["customer_id"] for c in own["items"]} == {"wdkn-hospital"}
        assert server.stop() is not None  # stopped within 10 s
    finally:
        server.kill()


def _plain(path: Path) -> str:
    """The text part of a spooled e-mail, decoded."""
    message = message_from_bytes(path.read_bytes(), policy=email_policy.default)
    assert isinstance(message, EmailMessage)
    body = message.get_body(("plain",))
    return "" if body is None else str(body.get_content())


def test_serve_demo_escalates_the_overdue_case_by_sms_and_email(tmp_path: Path) -> None:
    env = serve_env(tick_seconds="0.5", digest_seconds="0")  # no digest hold: at once
    server = Server(["--demo"], tmp_path, env)
    try:
        server.wait_ready()
        match = re.search(r"escalating: (MS-\d{4}-\d{6})", server.stdout())
        assert match, server.stdout()
        number = match.group(1)
        auth = {"Authorization": f"Bearer {token_of(server.stdout(), 'admin')}"}
        sms, mail = tmp_path / "var" / "sms-spool", tmp_path / "var" / "mail-spool"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            texts = [p.read_text("utf-8") for p in sms.glob("*.json")] if sms.is_dir() else []
            mails = [_plain(p) for p in mail.glob("*.eml")] if mail.is_dir() else []
            if any(number in t for t in texts) and any(number in m for m in mails):
                break
            time.sleep(0.3)
        else:
            pytest.fail(f"no spooled SMS and e-mail for {number}:\n{server.stdout()}")
        case = httpx.get(f"{server.base}/api/v1/cases/{number}", headers=auth).json()
        fired = [e for e in case["events"] if e["kind"] == "escalated"]
        assert fired and {e["payload"]["clock"] for e in fired} == {"first_response"}
        logged = server.stderr()  # log lines (cli/logs.py) go to stderr
        assert "tick " in logged and "relay: " in logged
        assert server.stop() is not None
    finally:
        server.kill()


# `serve --workers 2` on PostgreSQL: tests/test_metrics.py (one server for both the workers'
# readiness and the metrics summed over them)


def test_port_in_use_is_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        code = main(["serve", "--port", str(port)])
    _, err = capsys.readouterr()
    assert code == 1
    assert err.startswith(f"error: port {port} on 127.0.0.1 is already in use")
    assert err.count("\n") == 1
    assert not (tmp_path / "var").exists()  # refused before touching anything


def test_broken_contracts_stop_serve_before_the_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = tmp_path / "contracts"
    broken.mkdir()
    shutil.copy(CONTRACTS / "tiers.yaml", broken / "tiers.yaml")
    text = (CONTRACTS / "rushan-no1-school.yaml").read_text(encoding="utf-8")
    (broken / "school.yaml").write_text(text.replace("tier: 8x5xNBD", "tier: 9x9", 1), "utf-8")
    monkeypatch.chdir(tmp_path)
    for name in [k for k in os.environ if k.startswith("CASETRACK_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("CASETRACK_CONTRACTS_DIR", str(broken))
    code = main(["serve", "--demo", "--port", str(free_port())])
    out, err = capsys.readouterr()
    assert code == 1 and out == ""
    assert "school.yaml:" in err and "9x9" in err and err.endswith("1 problem found\n")
    assert not (tmp_path / "var" / "casetrack.db").exists()


def test_wildcard_hosts_are_shown_as_local_urls() -> None:
    assert base_url("0.0.0.0", 8000) == "http://127.0.0.1:8000"
    assert base_url("::", 8000) == "http://[::1]:8000"
    assert base_url("::1", 9000) == "http://[::1]:9000"
    assert base_url("casetrack.internal", 80) == "http://casetrack.internal:80"


def test_an_unknown_broker_url_stops_serve_with_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    for name in [k for k in os.environ if k.startswith("CASETRACK_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("CASETRACK_CONTRACTS_DIR", str(CONTRACTS))
    monkeypatch.setenv("CASETRACK_BROKER_URL", "kafka://127.0.0.1:9092")
    code = main(["serve", "--background", "--port", str(free_port())])
    err = capsys.readouterr().err
    assert code == 1 and err.count("\n") == 1
    assert "unsupported scheme 'kafka'" in err
