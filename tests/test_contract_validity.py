"""Contract validity (issue 11 §3): a contract binds within its period; out-of-contract cases
are opened on purpose (chargeable, no SLA clocks); renewals list the same devices under a
period that does not overlap, and an overlap is a located problem."""

from __future__ import annotations

import shutil
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from conftest import Api
from core.case import Category, Channel, RequestType
from core.commands import Assign, Caller, ConfirmDiagnosis, FirstResponse, OpenCase, Resolve
from core.desk import CaseDesk, InvalidCommand, OutsideContract
from core.errors import ContractError
from core.events import CallerRecord, Opened, payload_of
from core.loaded import ContractSet
from core.plugins import make_plugin_manager
from core.sources.contracts import check_contracts, load_contracts
from core.sources.uploads import check_uploads
from core.store import orm
from core.store.audit import verify

ROOT = Path(__file__).resolve().parent.parent
CONTRACTS = ROOT / "contracts"
PORT = "sdgw-2025"  # 荣成市石岛湾港务, period 2025-10-01 .. 2026-09-30
PORT_FILE = "shidao-port.yaml"
PORT_SWITCH = "FOC2334Y1AB"  # the port's core switch (Cisco, 8x5xNBD)
SH = ZoneInfo("Asia/Shanghai")
T0 = datetime(2026, 10, 14, 10, 0, tzinfo=SH)  # two weeks after the port's period ended
CASES = "/api/v1/cases"


@pytest.fixture(scope="module")
def contracts() -> ContractSet:
    return load_contracts([CONTRACTS])


@pytest.fixture
def desk(sessions: sessionmaker[Session], contracts: ContractSet) -> CaseDesk:
    return CaseDesk(sessions, contracts, prefix="MS")


def port_case(**changes: Any) -> OpenCase:
    values: dict[str, Any] = {
        "contract_id": PORT,
        "caller": Caller(name="港务 IT", company="石岛湾港务"),
        "summary": "core switch port flapping",
        "category": Category.CONSULTING,
        "request_type": RequestType.PROBLEM_REPORT,
        "priority": "P2",
        "channel": Channel.PHONE,
        "device_serial": PORT_SWITCH,
    }
    return OpenCase(**{**values, **changes})


def case_count(sessions: sessionmaker[Session]) -> int:
    with sessions() as session:
        return session.scalar(select(func.count()).select_from(orm.Case)) or 0


# --- opening outside the period ---------------------------------------------------------------


def test_opening_after_the_period_is_refused_and_records_nothing(
    desk: CaseDesk, sessions: sessionmaker[Session]
) -> None:
    with pytest.raises(OutsideContract) as refused:
        desk.open_case(port_case(), actor="agent:li", now=T0)
    detail = refused.value.detail
    assert detail.startswith(f"contract {PORT}: its period 2025-10-01..2026-09-30 ($.period)")
    assert "does not cover 2026-10-14" in detail and "out_of_contract: true" in detail
    assert case_count(sessions) == 0


def test_the_period_is_read_in_the_contract_zone(desk: CaseDesk) -> None:
    # 2026-09-30 23:30 in Weihai is still the last day (15:30 UTC)
    last_evening = datetime(2026, 9, 30, 23, 30, tzinfo=SH)
    assert desk.open_case(port_case(), actor="agent:li", now=last_evening).number
    with pytest.raises(OutsideContract):
        desk.open_case(port_case(), actor="agent:li", now=datetime(2026, 10, 1, 0, 5, tzinfo=SH))


def test_out_of_contract_opens_chargeable_without_clocks_and_is_recorded(
    desk: CaseDesk, sessions: sessionmaker[Session]
) -> None:
    receipt = desk.open_case(port_case(out_of_contract=True), actor="agent:li", now=T0)
    number = receipt.number
    # no clock to meet: the SLA milestones are refused, the work goes into notes and calls
    with pytest.raises(InvalidCommand, match="opened out of contract"):
        desk.first_response(number, FirstResponse(agreed_content="look"), actor="e", now=T0)
    with pytest.raises(InvalidCommand, match="opened out of contract"):
        desk.confirm_diagnosis(
            number, ConfirmDiagnosis(finding="dead PSU", hardware_fault=True), actor="e", now=T0
        )
    desk.assign(number, Assign(engineer="e"), actor="agent:li", now=T0)
    desk.resolve(number, Resolve(resolution="PSU swapped, invoiced"), actor="e", now=T0)
    with sessions() as session:
        case = session.scalars(select(orm.Case).where(orm.Case.number == number)).one()
        assert case.out_of_contract is True
        assert case.clocks == [] and case.next_deadline is None
        assert case.status == "resolved"
        opened = session.scalars(
            select(orm.CaseEvent).where(orm.CaseEvent.case_id == case.id, orm.CaseEvent.seq == 1)
        ).one()
        assert opened.payload["out_of_contract"] is True
        assert opened.payload["sla"] == []
        report = verify(session, number)  # the replay knows the new field
    assert report.findings == [], report.findings


def test_an_opened_event_in_contract_keeps_its_old_payload_bytes() -> None:
    body = Opened(
        contract_id="c",
        customer_id="x",
        caller=CallerRecord(name="n", company=None, phone=None, email=None, address=None),
        summary="s",
        description=None,
        category="consulting",
        request_type="problem_report",
        priority="P2",
        emergency=False,
        channel="phone",
        device_serial=None,
        covered_device=False,
        site=None,
        device_site=None,
        zone=None,
        zone_reason=None,
    )
    assert "out_of_contract" not in payload_of(body)


def test_a_case_in_the_period_is_not_out_of_contract(
    desk: CaseDesk, sessions: sessionmaker[Session]
) -> None:
    in_period = datetime(2026, 9, 14, 10, 0, tzinfo=SH)
    number = desk.open_case(port_case(), actor="agent:li", now=in_period).number
    with sessions() as session:
        case = session.scalars(select(orm.Case).where(orm.Case.number == number)).one()
        assert case.out_of_contract is False and case.clocks
        opened = session.scalars(
            select(orm.CaseEvent).where(orm.CaseEvent.case_id == case.id, orm.CaseEvent.seq == 1)
        ).one()
        assert "out_of_contract" not in opened.payload


def test_api_refuses_an_expired_contract_with_a_422_problem(api: Api) -> None:
    body = {
        "contract_id": PORT,
        "caller": {"name": "港务 IT"},
        "summary": "core switch port flapping",
        "category": "consulting",
        "request_type": "problem_report",
        "priority": "P2",
        "channel": "phone",
    }
    refused = api.client.post(CASES, json=body, headers=api.headers("agent"))
    assert refused.status_code == 422, refused.text
    problem = refused.json()
    assert problem["type"] == "/problems/outside-the-contract-period"
    assert "$.period" in problem["detail"] and "out_of_contract" in problem["detail"]
    opened = api.client.post(
        CASES, json={**body, "out_of_contract": True}, headers=api.headers("agent")
    )
    assert opened.status_code == 201, opened.text
    case = opened.json()
    assert case["out_of_contract"] is True and case["clocks"] == []
    listed = api.client.get(CASES, headers=api.headers("agent")).json()["items"]
    assert [c["out_of_contract"] for c in listed] == [True]


# --- renewals and overlaps --------------------------------------------------------------------


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    shutil.copy(CONTRACTS / "tiers.yaml", tmp_path / "tiers.yaml")
    shutil.copytree(CONTRACTS / "calendars", tmp_path / "calendars")
    shutil.copy(CONTRACTS / PORT_FILE, tmp_path / PORT_FILE)
    return tmp_path


def renewal(start: str, end: str, contract_id: str = "sdgw-2026") -> str:
    text = (CONTRACTS / PORT_FILE).read_text(encoding="utf-8")
    text = text.replace(f"id: {PORT}", f"id: {contract_id}", 1)
    return text.replace("  start: 2025-10-01\n  end: 2026-09-30", f"  start: {start}\n  end: {end}")


def test_a_renewal_with_the_same_serials_loads_and_lookups_follow_the_day(workdir: Path) -> None:
    (workdir / "shidao-renewal-2026.yaml").write_text(
        renewal("2026-10-01", "2027-09-30"), encoding="utf-8"
    )
    loaded = load_contracts([workdir], pm=make_plugin_manager(load_entrypoints=False))
    assert set(loaded.contracts) == {PORT, "sdgw-2026"}
    assert loaded.find_device(PORT_SWITCH, date(2026, 5, 1))[0].id == PORT
    assert loaded.find_device(PORT_SWITCH, date(2026, 10, 1))[0].id == "sdgw-2026"
    assert loaded.find_device(PORT_SWITCH)[0].id == "sdgw-2026"  # undated: the latest


def test_overlapping_periods_on_one_device_are_located_problems(workdir: Path) -> None:
    text = renewal("2026-09-01", "2027-08-31")
    path = workdir / "shidao-renewal-2026.yaml"
    path.write_text(text, encoding="utf-8")
    _, problems = check_contracts([workdir], pm=make_plugin_manager(load_entrypoints=False))
    assert len(problems) == 5  # the port's five devices
    first = problems[0]
    line = next(n for n, row in enumerate(text.splitlines(), 1) if PORT_SWITCH in row)
    assert (first.file, first.line, first.path) == (str(path), line, "$.devices[0].serial")
    assert first.column is not None
    assert "also covered by contract sdgw-2025" in first.message
    assert "periods overlap (2025-10-01..2026-09-30 and 2026-09-01..2027-08-31)" in first.message


def test_an_uploaded_renewal_checks_against_the_loaded_contracts(contracts: ContractSet) -> None:
    pm = make_plugin_manager()
    ok = {"shidao-renewal-2026.yaml": renewal("2026-10-01", "2027-09-30").encode()}
    assert check_uploads(ok, contracts, CONTRACTS, pm).replaces == []
    clash = {"shidao-renewal-2026.yaml": renewal("2026-09-30", "2027-09-29").encode()}
    with pytest.raises(ContractError) as refused:
        check_uploads(clash, contracts, CONTRACTS, pm)
    assert all("periods overlap" in p.message for p in refused.value.problems)
    assert len(refused.value.problems) == 5


def test_sla_due_finds_the_renewal_by_the_time(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from cli.main import main

    (workdir / "shidao-renewal-2026.yaml").write_text(
        renewal("2026-10-01", "2027-09-30"), encoding="utf-8"
    )
    argv = ["sla", "due", "--contracts", str(workdir), "--kind", "spare_ship"]
    assert main([*argv, "--device", PORT_SWITCH, "--at", "2026-10-14T10:00"]) == 0
    assert "contract: sdgw-2026 (2026-10-01..2027-09-30)" in capsys.readouterr().out
    assert main([*argv, "--device", PORT_SWITCH, "--at", "2026-09-14T10:00"]) == 0
    assert f"contract: {PORT} (2025-10-01..2026-09-30)" in capsys.readouterr().out
