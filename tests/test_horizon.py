"""The calendar horizon: provisional clocks past the holiday data, re-planned when it arrives,
and loud warnings before the data runs out (docs/calendars.md). Both back ends."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from cryptography.fernet import Fernet
from scrape import value
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from cli.main import main
from cli.serve import horizon_lines
from conftest import Api, with_period
from core.case import Category, Channel, RequestType, Status
from core.commands import Assign, Caller, ChangeStatus, OpenCase
from core.desk import CaseDesk
from core.runtime import build_runtime
from core.settings import Settings
from core.sources.contracts import load_contracts
from core.store import orm
from core.store.secrets import CredentialVault

ROOT = Path(__file__).resolve().parent.parent
SH = ZoneInfo("Asia/Shanghai")
HOSPITAL = "wdkn-hospital-2026"
OPENED = datetime(2026, 12, 28, 10, 0, tzinfo=SH)  # a Monday in working hours, late December
# Test data in the documented format, NOT the real 2027 schedule: two closed days that move a
# 10-business-day deadline by one day.
CN_2027 = """\
region: CN
year: 2027
source: test fixture, not the real 2027 schedule
holidays:
  - {date: 2027-01-01, name: Test New Year}
  - {date: 2027-01-04, name: Test Extra Day}
"""


def copy_contracts(tmp_path: Path) -> Path:
    directory = tmp_path / "contracts"
    shutil.copytree(ROOT / "contracts", directory)
    return directory


def p4_call() -> OpenCase:
    return OpenCase(
        contract_id=HOSPITAL,
        caller=Caller(name="周医生", company="文登康宁医院", phone="0631-8451234"),
        summary="PACS viewer slow on one ward",
        category=Category.CONSULTING,
        request_type=RequestType.PROBLEM_REPORT,
        priority="P4",
        channel=Channel.PHONE,
    )


def resolution(sessions: sessionmaker[Session], number: str) -> orm.SlaClock:
    with sessions() as session:
        case = session.scalars(select(orm.Case).where(orm.Case.number == number)).one()
        return next(c for c in case.clocks if c.kind == "resolution")


def event_kinds(sessions: sessionmaker[Session], number: str) -> list[orm.CaseEvent]:
    with sessions() as session:
        case = session.scalars(select(orm.Case).where(orm.Case.number == number)).one()
        return list(
            session.scalars(
                select(orm.CaseEvent)
                .where(orm.CaseEvent.case_id == case.id)
                .order_by(orm.CaseEvent.seq)
            )
        )


def local_day(moment: datetime) -> str:
    return moment.astimezone(SH).date().isoformat()


# --- the desk ------------------------------------------------------------------------------------


def test_a_p4_in_late_december_gets_a_provisional_clock_replanned_with_its_pause(
    sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    directory = copy_contracts(tmp_path)
    desk = CaseDesk(
        sessions, load_contracts([directory]), vault=CredentialVault(Fernet.generate_key())
    )
    number = desk.open_case(p4_call(), actor="agent:li", now=OPENED).number
    clock = resolution(sessions, number)
    # 10 business days from Mon 12-28: 12-29..12-31, then 2027 planned from the law (01-01 off)
    assert clock.provisional and clock.state == "running"
    assert local_day(clock.deadline) == "2027-01-12"
    assert "[provisional: 2027 holidays planned from the statutory rules" in clock.rule
    first = next(c for c in case_clocks(sessions, number) if c.kind == "first_response")
    assert not first.provisional  # due the same morning: 2026 data only
    assert [e.kind for e in event_kinds(sessions, number)] == ["opened"]  # nothing unplanned

    # one business day paused (pending customer), then resumed: the deadline moves a day
    desk.assign(number, Assign(engineer="王工"), actor="sm", now=OPENED)
    desk.change_status(number, ChangeStatus(status=Status.IN_PROGRESS), actor="eng", now=OPENED)
    pause = ChangeStatus(status=Status.PENDING_CUSTOMER, cause="waiting for logs")
    desk.change_status(number, pause, actor="eng", now=OPENED + timedelta(days=1))
    resume = ChangeStatus(status=Status.IN_PROGRESS)
    desk.change_status(number, resume, actor="eng", now=OPENED + timedelta(days=2))
    assert local_day(resolution(sessions, number).deadline) == "2027-01-13"

    # nothing new: a re-plan records nothing
    now = OPENED + timedelta(days=3)
    assert desk.replan_provisional(now=now) == []

    # the year's schedule arrives as a file; the reloaded contracts re-plan the clock
    (directory / "calendars" / "cn-2027.yaml").write_text(CN_2027, encoding="utf-8")
    desk.contracts = load_contracts([directory])
    [changed] = desk.replan_provisional(now=now)
    assert changed["case"] == number
    clock = resolution(sessions, number)
    assert not clock.provisional
    assert local_day(clock.deadline) == "2027-01-14"  # 01-04 closed too, pause re-applied
    assert "provisional" not in clock.rule and "Test Extra Day" in clock.rule
    assert clock.next_alert_at is not None  # its escalation planned on the new deadline
    last = event_kinds(sessions, number)[-1]
    assert (last.kind, last.actor, last.payload["reason"]) == (
        "clocks_replanned",
        "system",
        "holiday data",
    )
    [moved] = last.payload["clocks"]
    assert moved["clock"] == "resolution" and moved["provisional"] is False
    assert moved["from"].startswith("2027-01-13") and moved["to"].startswith("2027-01-14")
    assert desk.replan_provisional(now=now) == []  # done once


def case_clocks(sessions: sessionmaker[Session], number: str) -> list[orm.SlaClock]:
    with sessions() as session:
        case = session.scalars(select(orm.Case).where(orm.Case.number == number)).one()
        return list(case.clocks)


def test_a_region_past_its_rule_still_records_the_unplanned_clock(
    sessions: sessionmaker[Session],
) -> None:
    desk = CaseDesk(
        sessions, with_period(load_contracts([ROOT / "contracts"]), HOSPITAL, "2051-12-31")
    )
    # the lunar table ends in 2050: 2051 has neither data nor a provisional plan
    receipt = desk.open_case(p4_call(), actor="agent:li", now=datetime(2051, 1, 4, 10, tzinfo=SH))
    kinds = [e.kind for e in event_kinds(sessions, receipt.number)]
    assert kinds == ["opened", "clocks_unplanned"]


# --- over HTTP: the reload endpoint, the case detail, /readyz and /metrics ---------------------


@pytest.fixture
def december(db_url: str, tmp_path: Path) -> Iterator[tuple[Api, Path]]:
    """The app on 2026-12-28 with a contracts directory the test may add a year to."""
    from litestar.testing import TestClient

    from server import create_app

    directory = copy_contracts(tmp_path)
    settings = Settings(
        database_url=db_url, contracts_dir=str(directory), var_dir=str(tmp_path / "var")
    )
    holder: dict[str, datetime] = {"now": OPENED.astimezone(UTC)}
    runtime = build_runtime(settings, clock=lambda: holder["now"])
    with TestClient(create_app(settings, runtime=runtime), raise_server_exceptions=False) as c:
        api = Api(runtime, c)
        api.now = holder["now"]
        yield api, directory


def open_p4(api: Api) -> dict[str, Any]:
    body = {
        "contract_id": HOSPITAL,
        "caller": {"name": "周医生", "phone": "0631-8451234"},
        "summary": "PACS viewer slow on one ward",
        "category": "consulting",
        "request_type": "problem_report",
        "priority": "P4",
        "channel": "phone",
    }
    response = api.client.post("/api/v1/cases", json=body, headers=api.headers("agent"))
    assert response.status_code == 201, response.text
    return response.json()


def test_reload_replans_provisional_clocks_over_http(december: tuple[Api, Path]) -> None:
    api, directory = december
    number = open_p4(api)["number"]
    url = f"/api/v1/cases/{number}"
    shown = api.client.get(url, headers=api.headers("agent")).json()
    clocks = {c["kind"]: c for c in shown["clocks"]}
    assert clocks["resolution"]["provisional"] is True
    assert clocks["first_response"]["provisional"] is False
    assert clocks["resolution"]["deadline"].startswith("2027-01-12")
    assert "provisional" in clocks["resolution"]["rule"]

    (directory / "calendars" / "cn-2027.yaml").write_text(CN_2027, encoding="utf-8")
    reloaded = api.client.post("/api/v1/contracts/reload", headers=api.headers("admin"))
    assert reloaded.status_code == 200, reloaded.text
    assert reloaded.json()["replanned"] == [number]
    assert reloaded.json()["warnings"] == []  # data now reaches 2027-12-31

    shown = api.client.get(url, headers=api.headers("agent")).json()
    clocks = {c["kind"]: c for c in shown["clocks"]}
    assert clocks["resolution"]["provisional"] is False
    assert clocks["resolution"]["deadline"].startswith("2027-01-13")
    assert shown["events"][-1]["kind"] == "clocks_replanned"
    again = api.client.post("/api/v1/contracts/reload", headers=api.headers("admin"))
    assert again.json()["replanned"] == []


def test_openapi_documents_the_provisional_flag(december: tuple[Api, Path]) -> None:
    api, _ = december
    schema = api.client.get("/schema/openapi.json").json()
    clock_view = schema["components"]["schemas"]["ClockView"]
    assert clock_view["properties"]["provisional"]["type"] == "boolean"
    assert "provisional" in clock_view["required"]


def test_readyz_and_metrics_show_the_horizon(december: tuple[Api, Path]) -> None:
    api, directory = december
    open_p4(api)
    ready = api.client.get("/readyz")
    assert ready.status_code == 200  # a warning, not unready
    body = ready.json()
    assert body["status"] == "ready"
    assert body["calendars"] == [
        {
            "region": "CN",
            "data_until": "2026-12-31",
            "days_left": 3,
            "provisional_rule": body["calendars"][0]["provisional_rule"],
        }
    ]
    assert "statutory" in body["calendars"][0]["provisional_rule"]
    [warning] = body["warnings"]
    assert "CN" in warning and "2026-12-31 (3 days left)" in warning
    metrics = api.client.get("/metrics").text
    assert value(metrics, "casetrack_calendar_data_days_left", region="CN") == 3
    assert value(metrics, "casetrack_provisional_clocks") == 1

    (directory / "calendars" / "cn-2027.yaml").write_text(CN_2027, encoding="utf-8")
    api.client.post("/api/v1/contracts/reload", headers=api.headers("admin"))
    assert api.client.get("/readyz").json()["warnings"] == []
    metrics = api.client.get("/metrics").text
    assert value(metrics, "casetrack_calendar_data_days_left", region="CN") == 368
    assert value(metrics, "casetrack_provisional_clocks") == 0


def test_the_warning_window_is_a_setting(db_url: str, tmp_path: Path) -> None:
    settings = Settings(
        database_url=db_url,
        contracts_dir=str(ROOT / "contracts"),
        var_dir=str(tmp_path),
        calendar_horizon_days=20,
    )
    early = datetime(2026, 12, 4, 2, tzinfo=UTC)  # 27 days left
    runtime = build_runtime(settings, clock=lambda: early)
    try:
        assert runtime.horizon_warnings() == []
        runtime.clock = lambda: early + timedelta(days=7)  # 20 days left
        assert len(runtime.horizon_warnings()) == 1
    finally:
        runtime.close()
    assert Settings.from_env({"CASETRACK_CALENDAR_HORIZON_DAYS": "90"}).calendar_horizon_days == 90


# --- start-up and the CLI ------------------------------------------------------------------------


def test_start_up_replans_after_a_new_holiday_file_and_warns(db_url: str, tmp_path: Path) -> None:
    directory = copy_contracts(tmp_path)
    settings = Settings(database_url=db_url, contracts_dir=str(directory), var_dir=str(tmp_path))
    now = OPENED.astimezone(UTC)
    first = build_runtime(settings, clock=lambda: now)
    try:
        number = first.desk.open_case(p4_call(), actor="agent:li", now=now).number
        lines = horizon_lines(first, now)
        assert "re-planned" not in lines
        assert lines.startswith("WARNING: calendar region CN: published holiday data ends")
    finally:
        first.close()
    # the admin drops in the year's file and restarts the server
    (directory / "calendars" / "cn-2027.yaml").write_text(CN_2027, encoding="utf-8")
    second = build_runtime(settings, clock=lambda: now)
    try:
        lines = horizon_lines(second, now)
        assert lines == f"holidays: re-planned 1 provisional clocks on new data ({number})\n"
        assert not resolution(second.sessions, number).provisional
    finally:
        second.close()


def test_contracts_check_warns_but_passes(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # the CLI reads the wall clock: a window wider than any distance to the data's end warns
    monkeypatch.setenv("CASETRACK_CALENDAR_HORIZON_DAYS", "100000")
    assert main(["contracts", "check", str(ROOT / "contracts")]) == 0
    out, err = capsys.readouterr()
    assert out.startswith("ok: ")
    assert "warning: calendar region CN: published holiday data" in err
    monkeypatch.setenv("CASETRACK_CALENDAR_HORIZON_DAYS", "0")
    assert main(["contracts", "check", str(ROOT / "contracts")]) == 0
    err = capsys.readouterr().err
    assert err == "" or "ended" in err  # only once the data's last day has passed
