"""The handbook's targets at the desk, on both back ends (issue 11 §1, §2).

- An emergency (a case attribute) needs no appointment: its agreed time is now and its
  resolution runs on the contract's priority target (``emergency-resolution``).
- A consultation is taken in working hours (``request-response``); a problem report keeps the
  call center's 7x24 rule.
"""

from __future__ import annotations

import shutil
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from cli.main import main
from conftest import Api
from core.case import Category, Channel, RequestType
from core.commands import Caller, ChangePriority, OpenCase, Window
from core.desk import CaseDesk, InvalidCommand
from core.loaded import ContractSet
from core.sources.contracts import load_contracts
from core.store import orm
from core.store.secrets import CredentialVault

ROOT = Path(__file__).resolve().parent.parent
SH = ZoneInfo("Asia/Shanghai")
HOSPITAL = "wdkn-hospital-2026"
HOSPITAL_FILE = "wendeng-kangning-hospital.yaml"  # P1 resolution: 4h on duty
SWITCH = "219801A23B8205Q0021K"  # 文登


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=SH)


T0 = at("2026-10-14T10:00")  # a Wednesday in working hours
SATURDAY_NIGHT = at("2026-10-17T03:31")
WINDOW = Window(start=T0 + timedelta(days=3), end=T0 + timedelta(days=3, hours=8))


def contracts_with(tmp_path: Path, extra: str) -> ContractSet:
    """The shipped contracts, the hospital's with ``extra`` YAML appended."""
    folder = tmp_path / "contracts"
    shutil.copytree(ROOT / "contracts", folder)
    hospital = folder / HOSPITAL_FILE
    hospital.write_text(hospital.read_text(encoding="utf-8") + "\n" + extra, encoding="utf-8")
    return load_contracts([folder])


def make_desk(sessions: sessionmaker[Session], contracts: ContractSet) -> CaseDesk:
    return CaseDesk(sessions, contracts, prefix="MS", vault=CredentialVault(Fernet.generate_key()))


@pytest.fixture
def desk(sessions: sessionmaker[Session]) -> CaseDesk:
    return make_desk(sessions, load_contracts([ROOT / "contracts"]))


def rescue(**changes: Any) -> OpenCase:
    values: dict[str, Any] = {
        "contract_id": HOSPITAL,
        "caller": Caller(name="周医生", company="文登康宁医院", phone="0631-8451234"),
        "summary": "core switch down: wards offline",
        "category": Category.FAULT_RESCUE,
        "request_type": RequestType.PROBLEM_REPORT,
        "priority": "P1",
        "channel": Channel.PHONE,
        "device_serial": SWITCH,
    }
    values.update(changes)
    return OpenCase(**values)


def consultation(request_type: RequestType) -> OpenCase:
    return rescue(
        category=Category.CONSULTING, request_type=request_type, priority="P4", summary="选型咨询"
    )


def clocks(sessions: sessionmaker[Session], number: str) -> dict[str, orm.SlaClock]:
    with sessions() as session:
        case = session.scalars(select(orm.Case).where(orm.Case.number == number)).one()
        return {c.kind: c for c in case.clocks}


# --- §1 emergencies -------------------------------------------------------------------------


def test_an_emergency_rescue_opens_without_appointment_on_the_priority_target(
    desk: CaseDesk, sessions: sessionmaker[Session]
) -> None:
    number = desk.open_case(rescue(emergency=True), actor="agent:li", now=T0).number
    found = clocks(sessions, number)
    assert found["resolution"].deadline == T0 + timedelta(hours=4)  # hospital P1: 4h on duty
    assert found["resolution"].target == "4h on duty"
    assert "onsite_arrival" in found


def test_an_emergency_with_a_window_still_runs_on_the_priority_target(
    desk: CaseDesk, sessions: sessionmaker[Session]
) -> None:
    cmd = rescue(emergency=True, appointment=WINDOW)
    number = desk.open_case(cmd, actor="agent:li", now=T0).number
    assert clocks(sessions, number)["resolution"].deadline == T0 + timedelta(hours=4)
    # a priority change moves it with the contract's table (P2: 12h on duty)
    desk.change_priority(
        number,
        ChangePriority(priority="P2", reason="switch back up"),
        actor="agent:li",
        now=T0 + timedelta(minutes=5),
    )
    assert clocks(sessions, number)["resolution"].deadline == T0 + timedelta(hours=12)


def test_a_non_emergency_rescue_keeps_the_agreed_window(
    desk: CaseDesk, sessions: sessionmaker[Session]
) -> None:
    with pytest.raises(InvalidCommand, match=r"appointment is required \(an emergency needs none"):
        desk.open_case(rescue(), actor="agent:li", now=T0)
    number = desk.open_case(rescue(appointment=WINDOW), actor="agent:li", now=T0).number
    resolution = clocks(sessions, number)["resolution"]
    assert resolution.deadline == WINDOW.end
    assert resolution.target == "customer-agreed appointment window"


def test_emergency_resolution_appointment_restores_the_window(
    sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    desk = make_desk(sessions, contracts_with(tmp_path, "emergency-resolution: appointment\n"))
    with pytest.raises(InvalidCommand, match="appointment is required"):
        desk.open_case(rescue(emergency=True), actor="agent:li", now=T0)
    cmd = rescue(emergency=True, appointment=WINDOW)
    number = desk.open_case(cmd, actor="agent:li", now=T0).number
    assert clocks(sessions, number)["resolution"].deadline == WINDOW.end


# --- §2 consultations in working hours ---------------------------------------------------------


def test_a_consultation_at_saturday_night_is_answered_in_working_hours(
    desk: CaseDesk, sessions: sessionmaker[Session]
) -> None:
    cmd = consultation(RequestType.CONSULTATION)
    number = desk.open_case(cmd, actor="agent:li", now=SATURDAY_NIGHT).number
    response = clocks(sessions, number)["first_response"]
    assert response.deadline == at("2026-10-19T09:00")  # Monday 08:30 + 30m of working hours
    assert response.target == "30m on working-hours"
    # a problem report received at the same moment keeps the call center's 7x24 hour
    cmd = consultation(RequestType.PROBLEM_REPORT)
    number = desk.open_case(cmd, actor="agent:li", now=SATURDAY_NIGHT).number
    response = clocks(sessions, number)["first_response"]
    assert response.deadline == SATURDAY_NIGHT + timedelta(hours=1)


def test_a_consultation_with_an_agreed_time_is_due_then_and_keeps_it(
    desk: CaseDesk, sessions: sessionmaker[Session]
) -> None:
    """ "在工作时间或客户约定的时间内": an agreed time replaces the working-hours rule."""
    agreed = Window(start=at("2026-10-19T14:00"), end=at("2026-10-19T15:00"))  # Monday
    cmd = consultation(RequestType.CONSULTATION)
    cmd = OpenCase(**{**{f: getattr(cmd, f) for f in cmd.__struct_fields__}, "appointment": agreed})
    number = desk.open_case(cmd, actor="agent:li", now=SATURDAY_NIGHT).number
    response = clocks(sessions, number)["first_response"]
    assert response.deadline == at("2026-10-19T14:00")
    assert response.target == "the agreed time"
    assert "respond by 2026-10-19 14:00 Mon" in response.rule
    desk.change_priority(
        number,
        ChangePriority(priority="P3", reason="more users asked"),
        actor="agent:li",
        now=SATURDAY_NIGHT + timedelta(minutes=5),
    )
    assert clocks(sessions, number)["first_response"].deadline == at("2026-10-19T14:00")


def test_request_response_set_in_a_contract_changes_the_rule(
    sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    extra = "request-response:\n  consultation: {within: 2h, calendar: duty}\n"
    desk = make_desk(sessions, contracts_with(tmp_path, extra))
    cmd = consultation(RequestType.CONSULTATION)
    number = desk.open_case(cmd, actor="agent:li", now=SATURDAY_NIGHT).number
    assert clocks(sessions, number)["first_response"].deadline == SATURDAY_NIGHT + timedelta(
        hours=2
    )


# --- over HTTP ----------------------------------------------------------------------------------


def test_the_api_opens_an_emergency_rescue_without_a_window(api: Api) -> None:
    body = {
        "contract_id": HOSPITAL,
        "caller": {"name": "周医生", "company": "文登康宁医院", "phone": "0631-8451234"},
        "summary": "core switch down: wards offline",
        "category": "fault_rescue",
        "request_type": "problem_report",
        "priority": "P1",
        "emergency": True,
        "channel": "phone",
        "device_serial": SWITCH,
    }
    response = api.client.post("/api/v1/cases", headers=api.headers("agent"), json=body)
    assert response.status_code == 201, response.text
    resolution = {c["kind"]: c for c in response.json()["clocks"]}["resolution"]
    due = datetime.fromisoformat(resolution["deadline"].replace("Z", "+00:00"))
    assert due == api.now + timedelta(hours=4)
    # without the emergency attribute the same call still needs its agreed window
    response = api.client.post(
        "/api/v1/cases", headers=api.headers("agent"), json={**body, "emergency": False}
    )
    assert response.status_code == 422 and "appointment is required" in response.json()["detail"]


def test_sla_due_prints_a_consultations_working_hours_rule(
    capsys: pytest.CaptureFixture[str],
) -> None:
    argv = ["sla", "due", "--contracts", str(ROOT / "contracts"), "--contract", HOSPITAL]
    argv += ["--kind", "first_response", "--priority", "P4", "--at", "2026-10-17T03:31"]
    assert main([*argv, "--request-type", "consultation"]) == 0
    assert "due 2026-10-19T09:00:00+08:00" in capsys.readouterr().out
    assert main(argv) == 0  # no request type: the call center's 7x24 rule
    assert "due 2026-10-17T04:31:00+08:00" in capsys.readouterr().out
