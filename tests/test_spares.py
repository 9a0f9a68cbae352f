"""Spare-part requests on a case (issue 13 §1, R-SPARE): deadlines by tier, the zone-restricted
4-hour levels, every step with its clock, coverage inherited by a replacement serial,
chargeable emergency spares, standby units and their return reminder. Both back ends."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pluggy
import pytest
from cryptography.fernet import Fernet
from msgspec import UNSET
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from cli.main import main
from conftest import Api
from core.case import Category, Channel, RequestType
from core.commands import (
    Assign,
    Caller,
    ConfirmDiagnosis,
    FirstResponse,
    LinkVendorCase,
    OpenCase,
    RecordSpareStep,
    RequestSpare,
    Resolve,
    Window,
)
from core.desk import CaseDesk, NotEntitled
from core.errors import ConflictError, InvalidField, NotFoundError
from core.events import SpareRequested, SpareStepRecorded, decode_body, payload_of
from core.jobs.scheduler import tick
from core.loaded import ContractSet
from core.plugins import make_plugin_manager
from core.runtime import Runtime
from core.settings import Settings
from core.sources.contracts import check_contracts, load_contracts
from core.spares import DeliveryMode, SpareStep, SpareStepRefused
from core.store import orm
from core.store.history import normalize_payload
from core.store.secrets import CredentialVault

ROOT = Path(__file__).resolve().parent.parent
CONTRACTS = ROOT / "contracts"
SH = ZoneInfo("Asia/Shanghai")
HOSPITAL = "wdkn-hospital-2026"  # own-service, on-site labour bought, Wendeng
SWITCH = "219801A23B8205Q0021K"  # H3C switch, 8x5xNBD
LAB = "J301BX7M"  # lab server, 8x5x48h
HIS = "CZJ9350FKR"  # HIS server, 24x7x48h
SCHOOL = "rsyz-2026"  # own-service, no on-site labour
SCHOOL_SERVER = "J302K4LQ"


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=SH)


T0 = at("2026-10-14T10:00")  # a Wednesday in working hours


@pytest.fixture(scope="module")
def contracts() -> ContractSet:
    return load_contracts([CONTRACTS])


@pytest.fixture
def desk(sessions: sessionmaker[Session], contracts: ContractSet) -> CaseDesk:
    return CaseDesk(sessions, contracts, prefix="MS")


def open_cmd(when: datetime, **changes: Any) -> OpenCase:
    values: dict[str, Any] = {
        "contract_id": HOSPITAL,
        "caller": Caller(name="周医生", company="文登康宁医院", phone="0631-8451234"),
        "summary": "device fault",
        "category": Category.FAULT_RESCUE,
        "request_type": RequestType.PROBLEM_REPORT,
        "priority": "P2",
        "channel": Channel.PHONE,
        "device_serial": SWITCH,
        "appointment": Window(start=when, end=when + timedelta(hours=8)),
    }
    values.update(changes)
    return OpenCase(**values)


def diagnosed(desk: CaseDesk, when: datetime, **changes: Any) -> str:
    """A case opened at ``when``, answered, its hardware fault diagnosed 10 minutes later."""
    number = desk.open_case(open_cmd(when, **changes), actor="agent", now=when).number
    desk.assign(number, Assign(engineer="于志强"), actor="agent", now=when)
    answer = FirstResponse(agreed_content="check the device")
    desk.first_response(number, answer, actor="eng", now=when + timedelta(minutes=5))
    finding = ConfirmDiagnosis(finding="hardware fault", hardware_fault=True)
    desk.confirm_diagnosis(number, finding, actor="eng", now=when + timedelta(minutes=10))
    return number


def step(request: int, name: SpareStep, **fields: Any) -> RecordSpareStep:
    return RecordSpareStep(request=request, step=name, **fields)


def events(sessions: sessionmaker[Session], number: str) -> list[orm.CaseEvent]:
    with sessions() as session:
        case = session.scalars(select(orm.Case).where(orm.Case.number == number)).one()
        query = select(orm.CaseEvent).where(orm.CaseEvent.case_id == case.id)
        return list(session.scalars(query.order_by(orm.CaseEvent.seq)))


def of_kind(sessions: sessionmaker[Session], number: str, kind: str) -> list[Any]:
    return [decode_body(e.kind, e.payload) for e in events(sessions, number) if e.kind == kind]


def clocks_of(sessions: sessionmaker[Session], number: str, kind: str) -> list[orm.SlaClock]:
    with sessions() as session:
        case = session.scalars(select(orm.Case).where(orm.Case.number == number)).one()
        return [c for c in case.clocks if c.kind == kind]


def request_row(sessions: sessionmaker[Session], number: str, request: int) -> orm.SpareRequest:
    with sessions() as session:
        case = session.scalars(select(orm.Case).where(orm.Case.number == number)).one()
        return session.scalars(
            select(orm.SpareRequest).where(
                orm.SpareRequest.case_id == case.id, orm.SpareRequest.request == request
            )
        ).one()


# --- deadlines by tier ---------------------------------------------------------------------------


def test_an_nbd_diagnosis_on_sep_30_at_15_10_ships_on_oct_8(
    desk: CaseDesk, sessions: sessionmaker[Session]
) -> None:
    number = diagnosed(desk, at("2026-09-30T15:00"))  # diagnosed 15:10, after the cut-off
    desk.request_spare(number, RequestSpare(part="PSU"), actor="eng", now=at("2026-09-30T15:20"))
    [requested] = of_kind(sessions, number, "spare_requested")
    assert isinstance(requested, SpareRequested)
    assert requested.ship_due == at("2026-10-08T15:00")  # National Day 10-01..10-07
    assert requested.arrival_due is None  # NBD promises no arrival
    # the diagnosis planned the ship clock: the request runs on it, none in parallel
    assert (requested.adopted, requested.clocks) == (["spare_ship"], [])
    assert (requested.tier, requested.terms) == ("8x5xNBD", "tier 8x5xNBD")
    [ship] = clocks_of(sessions, number, "spare_ship")
    assert ship.started_at == at("2026-09-30T15:10") and "next business day 2026-10-08" in ship.rule
    assert clocks_of(sessions, number, "spare_arrival") == []
    assert request_row(sessions, number, 1).ship_clock_id == ship.id


def test_a_second_part_starts_its_own_clocks_from_the_request(
    desk: CaseDesk, sessions: sessionmaker[Session]
) -> None:
    number = diagnosed(desk, T0, device_serial=LAB)
    desk.request_spare(number, RequestSpare(part="PSU"), actor="eng", now=T0 + timedelta(hours=1))
    later = at("2026-10-14T16:00")  # after the cut-off: ships the next business day
    desk.request_spare(number, RequestSpare(part="fan"), actor="eng", now=later)
    first, second = of_kind(sessions, number, "spare_requested")
    assert first.adopted == ["spare_ship", "spare_arrival"] and first.clocks == []
    assert second.clocks == ["spare_ship", "spare_arrival"] and second.adopted == []
    assert second.ship_due == at("2026-10-15T15:00")
    assert second.arrival_due == at("2026-10-17T15:00")  # projected: 48 h after the ship due
    assert len(clocks_of(sessions, number, "spare_ship")) == 2


# --- which levels may be sold --------------------------------------------------------------------


def test_24x7x4h_in_weihai_city_is_refused_at_contracts_check(tmp_path: Path) -> None:
    shutil.copy(CONTRACTS / "tiers.yaml", tmp_path / "tiers.yaml")
    shutil.copytree(CONTRACTS / "calendars", tmp_path / "calendars")
    bank = (CONTRACTS / "whccb-huancui.yaml").read_text(encoding="utf-8")
    old = "    tier: 8x5xNBD\n    rma: cisco_tac"
    assert old in bank
    (tmp_path / "whccb-huancui.yaml").write_text(
        bank.replace(old, old.replace("8x5xNBD", "24x7x4h")), encoding="utf-8"
    )
    loaded, problems = check_contracts([tmp_path], pm=make_plugin_manager(load_entrypoints=False))
    assert loaded is None
    [problem] = problems
    lines = (tmp_path / "whccb-huancui.yaml").read_text(encoding="utf-8").splitlines()
    line = next(i for i, text in enumerate(lines, 1) if "tier: 24x7x4h" in text)
    assert (problem.path, problem.line) == ("$.devices[3].tier", line)
    assert str(problem).startswith(f"{tmp_path / 'whccb-huancui.yaml'}:{line}:")
    assert problem.message.startswith(
        "tier 24x7x4h is only offered in zones beijing, shanghai, guangzhou, near-bj-sh-gz; "
        "this device's site is in zone 'city' ("
    )


BEIJING_ZONES = """\
zones:
  beijing: 北京
  city: 威海市区
  other: 外地
fallback: other
districts:
  北京市: {zone: beijing, names: [Beijing]}
  环翠区: {zone: city, names: [Huancui]}
"""

BEIJING_CONTRACT = """\
id: bj-dc-2026
customer: {id: bjdc, name: 数据中心客户}
our-staff:
  project-manager: {name: 王磊, email: pm@example.com}
  service-manager: {name: 孙鹏飞, phone: 0631-5187755}
period: {start: 2026-01-01, end: 2026-12-31}
program: digital-china-renewal
onsite:
  normal: {beijing: 4h, city: 3h, other: 12h}
  emergency: {beijing: 2h, city: 1h, other: 6h}
zones:
  resolver: districts
  config: {file: zones/bj.yaml}
devices:
  - {model: Huawei CE6881, serial: BJ-4H-001, site: 北京市朝阳区酒仙桥路10号 数据中心,
     tier: 24x7x4h, rma: digital_china}
"""


@pytest.fixture(scope="module")
def beijing(tmp_path_factory: pytest.TempPathFactory) -> ContractSet:
    """A renewal contract with a 24x7x4h device at a Beijing site (zones by `districts`)."""
    root = tmp_path_factory.mktemp("beijing")
    shutil.copy(CONTRACTS / "tiers.yaml", root / "tiers.yaml")
    shutil.copytree(CONTRACTS / "calendars", root / "calendars")
    (root / "zones").mkdir()
    (root / "zones" / "bj.yaml").write_text(BEIJING_ZONES, encoding="utf-8")
    (root / "bj-dc.yaml").write_text(BEIJING_CONTRACT, encoding="utf-8")
    return load_contracts([root], pm=make_plugin_manager(load_entrypoints=False))


def test_24x7x4h_requested_for_a_site_in_weihai_city_is_refused_with_the_reason(
    sessions: sessionmaker[Session], beijing: ContractSet
) -> None:
    desk = CaseDesk(sessions, beijing, prefix="MS")
    weihai = open_cmd(
        T0,
        contract_id="bj-dc-2026",
        device_serial="BJ-4H-001",
        site="山东省威海市环翠区新威路17号",  # the device is at a Weihai city site now
    )
    number = desk.open_case(weihai, actor="agent", now=T0).number
    with pytest.raises(NotEntitled) as refused:
        desk.request_spare(number, RequestSpare(part="line card"), actor="eng", now=T0)
    detail = refused.value.detail
    assert "spare level 24x7x4h of device BJ-4H-001 ($.devices[0].tier at bj-dc.yaml:" in detail
    assert "sold only in zones beijing, shanghai, guangzhou" in detail
    assert "zone 'city'" in detail
    assert of_kind(sessions, number, "spare_requested") == []
    # at its Beijing site the level applies: arrival within 4 h of the request, no ship rule
    home = open_cmd(T0, contract_id="bj-dc-2026", device_serial="BJ-4H-001")
    there = desk.open_case(home, actor="agent", now=T0).number
    desk.request_spare(there, RequestSpare(part="line card"), actor="eng", now=T0)
    [requested] = of_kind(sessions, there, "spare_requested")
    assert (requested.ship_due, requested.arrival_due) == (None, T0 + timedelta(hours=4))


def test_an_engineer_with_the_part_needs_bought_onsite_labour(
    desk: CaseDesk, sessions: sessionmaker[Session]
) -> None:
    school = open_cmd(T0, contract_id=SCHOOL, device_serial=SCHOOL_SERVER)
    number = desk.open_case(school, actor="agent", now=T0).number
    engineer = RequestSpare(part="disk", mode=DeliveryMode.ENGINEER)
    with pytest.raises(NotEntitled, match="onsite labour not purchased"):
        desk.request_spare(number, engineer, actor="eng", now=T0)
    desk.request_spare(number, RequestSpare(part="disk"), actor="eng", now=T0)  # to the door
    assert request_row(sessions, number, 1).mode == "courier"


# --- the steps -----------------------------------------------------------------------------------


def test_every_step_is_an_event_with_its_clock_and_deadline(
    desk: CaseDesk, sessions: sessionmaker[Session]
) -> None:
    number = diagnosed(desk, T0, device_serial=LAB)  # 8x5x48h, diagnosed 10:10
    request = RequestSpare(part="PSU 800W", note="stock checked in Jinan")
    desk.request_spare(number, request, actor="spares", now=at("2026-10-14T10:20"))
    [requested] = of_kind(sessions, number, "spare_requested")
    assert requested.ship_due == at("2026-10-14T15:00")
    assert requested.arrival_due == at("2026-10-16T15:00")  # projected from the ship deadline
    rma = step(1, SpareStep.RMA_OPENED, rma_number="DC-RMA-778812", vendor="Digital China")
    desk.spare_step(number, rma, actor="spares", now=at("2026-10-14T10:40"))
    shipped = step(
        1, SpareStep.SHIPPED, carrier="SF Express", waybill="SF1428830661275", internal_note="x"
    )
    desk.spare_step(number, shipped, actor="spares", now=at("2026-10-14T11:00"))
    [arrival] = clocks_of(sessions, number, "spare_arrival")
    assert arrival.deadline == at("2026-10-16T11:00")  # re-planned from the actual shipment
    desk.spare_step(number, step(1, SpareStep.ARRIVED), actor="spares", now=at("2026-10-15T09:00"))
    installed = step(1, SpareStep.INSTALLED, note="swapped, server up")
    desk.spare_step(number, installed, actor="eng", now=at("2026-10-15T10:00"))
    back = step(1, SpareStep.PART_RETURNED, note="faulty PSU sent back")
    desk.spare_step(number, back, actor="spares", now=at("2026-10-20T10:00"))

    steps = of_kind(sessions, number, "spare_step")
    assert [s.step for s in steps] == [
        "rma_opened",
        "shipped",
        "arrived",
        "installed",
        "part_returned",
    ]
    opened, sent, came, fitted, returned = steps
    assert (opened.rma_number, opened.vendor) == ("DC-RMA-778812", "Digital China")
    assert (sent.carrier, sent.waybill) == ("SF Express", "SF1428830661275")
    assert (sent.clock, sent.outcome, sent.deadline) == (
        "spare_ship",
        "met",
        at("2026-10-14T15:00"),
    )
    assert (came.clock, came.outcome, came.deadline) == (
        "spare_arrival",
        "met",
        at("2026-10-16T11:00"),
    )
    # the faulty part is due back 15 calendar days after the installation (spares.part-return)
    assert (fitted.return_clock, fitted.return_due) == ("part_return", at("2026-10-30T10:00"))
    assert (returned.clock, returned.outcome) == ("part_return", "met")
    row = request_row(sessions, number, 1)
    assert (row.status, row.rma_number, row.waybill) == (
        "part_returned",
        "DC-RMA-778812",
        "SF1428830661275",
    )
    assert row.steps == ["requested", "rma_opened", "shipped", "arrived", "installed",
                         "part_returned"]  # fmt: skip
    # steps are the customer's to see; internal notes are separate, internal events
    history = events(sessions, number)
    spare = [e for e in history if e.kind.startswith("spare_")]
    assert {e.visibility for e in spare} == {"customer"}
    notes = [e for e in history if e.kind == "note"]
    assert [(n.payload["text"], n.visibility) for n in notes] == [
        ("stock checked in Jinan", "internal"),
        ("x", "internal"),
    ]
    # the payload is what the history hashed: encoding it again gives the same
    for event in spare:
        again = normalize_payload(payload_of(decode_body(event.kind, event.payload)))
        assert again == event.payload


def test_steps_out_of_order_twice_or_of_another_mode_are_refused(
    desk: CaseDesk, sessions: sessionmaker[Session]
) -> None:
    number = diagnosed(desk, T0)
    desk.request_spare(number, RequestSpare(part="PSU"), actor="eng", now=T0)
    with pytest.raises(SpareStepRefused, match="arrived needs shipped first"):
        desk.spare_step(number, step(1, SpareStep.ARRIVED), actor="e", now=T0)
    with pytest.raises(SpareStepRefused, match="standby_returned is not one of its steps"):
        desk.spare_step(number, step(1, SpareStep.STANDBY_RETURNED), actor="e", now=T0)
    with pytest.raises(InvalidField) as wrong:
        desk.spare_step(number, step(1, SpareStep.SHIPPED, new_serial="X"), actor="e", now=T0)
    assert wrong.value.detail.startswith("$.new_serial: goes with step installed")
    with pytest.raises(InvalidField, match="RMA"):
        desk.spare_step(number, step(1, SpareStep.RMA_OPENED), actor="e", now=T0)
    with pytest.raises(NotFoundError, match="no spare request 2"):
        desk.spare_step(number, step(2, SpareStep.SHIPPED), actor="e", now=T0)
    desk.spare_step(number, step(1, SpareStep.SHIPPED), actor="e", now=T0)
    with pytest.raises(SpareStepRefused, match="shipped is already recorded"):
        desk.spare_step(number, step(1, SpareStep.SHIPPED), actor="e", now=T0)
    assert [s.step for s in of_kind(sessions, number, "spare_step")] == ["shipped"]


def test_record_spare_step_is_the_channels_entry_point(
    desk: CaseDesk, sessions: sessionmaker[Session]
) -> None:
    number = diagnosed(desk, T0)
    desk.request_spare(number, RequestSpare(part="PSU"), actor="eng", now=T0)
    opened = T0 + timedelta(minutes=20)
    desk.record_spare_step(
        number, 1, "rma_opened", rma_number="800123456", vendor="Cisco TAC", actor="cisco_tac",
        now=opened,
    )  # fmt: skip
    desk.record_spare_step(
        number, 1, SpareStep.SHIPPED, carrier="DHL", waybill="1234567890", actor="cisco_tac",
        now=opened + timedelta(hours=1),
    )  # fmt: skip
    steps = of_kind(sessions, number, "spare_step")
    assert [(s.step, s.rma_number or s.waybill) for s in steps] == [
        ("rma_opened", "800123456"),
        ("shipped", "1234567890"),
    ]


def test_the_customers_own_vendor_case_is_recorded_and_linked(
    desk: CaseDesk, sessions: sessionmaker[Session]
) -> None:
    number = diagnosed(desk, T0, device_serial="FOC2211X0RB")  # Cisco switch
    told = RequestSpare(part="fan tray", vendor="Cisco TAC", vendor_case="SR 698123456")
    desk.request_spare(number, told, actor="eng", now=T0)
    [requested] = of_kind(sessions, number, "spare_requested")
    assert (requested.vendor, requested.vendor_case) == ("Cisco TAC", "SR 698123456")
    desk.request_spare(number, RequestSpare(part="PSU"), actor="eng", now=T0)
    link = LinkVendorCase(request=2, vendor="Cisco TAC", vendor_case="SR 698123999")
    desk.link_vendor_case(number, link, actor="agent", now=T0 + timedelta(minutes=5))
    [linked] = of_kind(sessions, number, "spare_vendor_case")
    assert (linked.request, linked.vendor_case) == (2, "SR 698123999")
    assert request_row(sessions, number, 2).vendor_case == "SR 698123999"


# --- coverage inherited by a replacement ---------------------------------------------------------


def test_a_part_swapped_in_on_case_1_is_covered_on_case_2_under_its_new_serial(
    desk: CaseDesk, sessions: sessionmaker[Session]
) -> None:
    first = diagnosed(desk, T0)
    desk.request_spare(first, RequestSpare(part="whole switch (RMA)"), actor="eng", now=T0)
    for name, when in ((SpareStep.SHIPPED, "10:30"), (SpareStep.ARRIVED, "14:00")):
        desk.spare_step(first, step(1, name), actor="spares", now=at(f"2026-10-14T{when}"))
    new = "219801A23B8205Q0099Z"
    swap = step(1, SpareStep.INSTALLED, new_serial=new, new_model="H3C S5130S-52S-EI (RMA)")
    desk.spare_step(first, swap, actor="eng", now=at("2026-10-14T15:00"))
    fitted = of_kind(sessions, first, "spare_step")[-1]
    assert (fitted.replaced_serial, fitted.new_serial) == (SWITCH, new)
    with sessions() as session:
        rows = {d.serial: d for d in session.scalars(select(orm.Device))}
    old_row, new_row = rows[SWITCH], rows[new]
    assert (old_row.replaced_by, new_row.predecessor_serial) == (new, SWITCH)
    assert (new_row.contract_id, new_row.tier, new_row.site) == (
        HOSPITAL,
        "8x5xNBD",
        old_row.site,
    )
    # case 2, on the new serial: the contract covers it with the old device's terms
    second = diagnosed(desk, at("2026-10-21T09:00"), device_serial=new)
    [opened] = [e.payload for e in events(sessions, second) if e.kind == "opened"]
    assert opened["covered_device"] is True and opened["zone"] == "wendeng"
    assert opened["device_site"] == old_row.site
    assert [c.kind for c in clocks_of(sessions, second, "spare_ship")] == ["spare_ship"]
    desk.request_spare(second, RequestSpare(part="PSU"), actor="eng", now=at("2026-10-21T09:20"))
    [requested] = of_kind(sessions, second, "spare_requested")
    assert (requested.covered, requested.tier, requested.chargeable) == (True, "8x5xNBD", UNSET)
    # a serial already on record is no replacement
    third = diagnosed(desk, at("2026-10-22T09:00"), device_serial=LAB)
    desk.request_spare(third, RequestSpare(part="board"), actor="eng", now=at("2026-10-22T09:20"))
    for name in (SpareStep.SHIPPED, SpareStep.ARRIVED):
        desk.spare_step(third, step(1, name), actor="spares", now=at("2026-10-22T10:00"))
    with pytest.raises(ConflictError, match="already a device on record"):
        desk.spare_step(
            third,
            step(1, SpareStep.INSTALLED, new_serial=new),
            actor="e",
            now=at("2026-10-22T11:00"),
        )


# --- emergency spares without a contract ---------------------------------------------------------


def test_an_emergency_spare_for_a_device_without_contract_is_chargeable(
    desk: CaseDesk, sessions: sessionmaker[Session]
) -> None:
    number = desk.open_case(open_cmd(T0, device_serial="NO-CONTRACT-1"), actor="a", now=T0).number
    with pytest.raises(
        NotEntitled, match=r"does not cover device 'NO-CONTRACT-1'.*chargeable: true"
    ):
        desk.request_spare(number, RequestSpare(part="PSU"), actor="eng", now=T0)
    urgent = RequestSpare(part="PSU", chargeable=True)
    desk.request_spare(number, urgent, actor="eng", now=T0)
    [requested] = of_kind(sessions, number, "spare_requested")
    assert (requested.chargeable, requested.price_basis) == (True, "standard")
    assert (requested.covered, requested.tier, requested.ship_due) == (False, None, None)
    assert requested.clocks == requested.adopted == []  # sent as stock allows: no promise
    assert "surcharge" not in str(events(sessions, number)[-1].payload)
    # a covered device is never charged
    covered = diagnosed(desk, T0)
    with pytest.raises(InvalidField, match="covered by contract"):
        desk.request_spare(covered, urgent, actor="eng", now=T0)


# --- standby units -------------------------------------------------------------------------------


@pytest.fixture
def runtime(
    engine: Engine, sessions: sessionmaker[Session], contracts: ContractSet, tmp_path: Path
) -> Iterator[Runtime]:
    settings = Settings(
        database_url=engine.url.render_as_string(hide_password=False),
        contracts_dir=str(CONTRACTS),
        var_dir=str(tmp_path / "var"),
    )
    desk = CaseDesk(sessions, contracts, vault=CredentialVault(Fernet.generate_key()))
    pm: pluggy.PluginManager = make_plugin_manager(load_entrypoints=False)
    yield Runtime(settings, engine, sessions, contracts, pm, desk)


def test_a_standby_unit_goes_back_by_its_deadline_with_a_reminder_after_the_fix(
    runtime: Runtime, sessions: sessionmaker[Session]
) -> None:
    desk = runtime.desk
    number = diagnosed(desk, T0, device_serial=HIS)  # 24x7x48h: arrival from the diagnosis
    standby = RequestSpare(part="standby server DL380 Gen10", mode=DeliveryMode.STANDBY)
    desk.request_spare(number, standby, actor="eng", now=T0 + timedelta(minutes=20))
    for name, hours in ((SpareStep.SHIPPED, 1), (SpareStep.ARRIVED, 20)):
        desk.spare_step(number, step(1, name), actor="spares", now=T0 + timedelta(hours=hours))
    with pytest.raises(InvalidField, match="standby unit stands in"):
        desk.spare_step(number, step(1, SpareStep.INSTALLED, new_serial="S1"), actor="e", now=T0)
    installed = at("2026-10-15T08:00")
    desk.spare_step(number, step(1, SpareStep.INSTALLED), actor="eng", now=installed)
    fitted = of_kind(sessions, number, "spare_step")[-1]
    assert (fitted.return_clock, fitted.return_due) == ("standby_return", at("2026-10-30T08:00"))
    assert isinstance(fitted, SpareStepRecorded)
    # the fault is fixed: the case resolves, the standby unit's return clock keeps running
    desk.resolve(number, Resolve(resolution="HIS back on the standby"), actor="eng", now=installed)
    [back] = clocks_of(sessions, number, "standby_return")
    assert back.state == "running" and back.next_alert_at is not None
    # half-way, the ladder's first rung reminds the engineer (the scheduler's tick)
    report = tick(runtime, now=back.next_alert_at + timedelta(minutes=1))
    assert report.events >= 1
    [reminder] = [e for e in events(sessions, number) if e.kind == "escalated"]
    assert reminder.payload["clock"] == "standby_return" and reminder.payload["at"] == "50%"
    with sessions() as session:
        queued = session.scalars(
            select(orm.Notification).where(orm.Notification.event_seq == reminder.seq)
        ).all()
    assert queued and {n.state for n in queued} == {"queued"}  # not dropped as resolved
    later = at("2026-10-28T10:00")
    desk.spare_step(number, step(1, SpareStep.STANDBY_RETURNED), actor="spares", now=later)
    assert clocks_of(sessions, number, "standby_return")[0].state == "met"


# --- over HTTP -----------------------------------------------------------------------------------


def test_api_spare_steps_shown_to_the_customer_without_internal_notes(api: Api) -> None:
    staff = api.headers("service_manager")
    customer = api.headers("customer", customer="wdkn-hospital")
    window = {"start": api.now.isoformat(), "end": (api.now + timedelta(hours=8)).isoformat()}
    body = {
        "contract_id": HOSPITAL,
        "caller": {"name": "周医生"},
        "summary": "switch PSU failed",
        "category": "fault_rescue",
        "request_type": "problem_report",
        "priority": "P2",
        "channel": "phone",
        "device_serial": SWITCH,
        "appointment": window,
    }
    opened = api.client.post("/api/v1/cases", json=body, headers=staff)
    assert opened.status_code == 201, opened.text
    number = opened.json()["number"]
    base = f"/api/v1/cases/{number}"
    spare = {"part": "PSU", "note": "internal: stock in Jinan only"}
    answer = api.client.post(f"{base}/spares", json=spare, headers=staff)
    assert answer.status_code == 200, answer.text
    shipped = {"request": 1, "step": "shipped", "waybill": "SF1", "internal_note": "cost 80"}
    assert api.client.post(f"{base}/spares/steps", json=shipped, headers=staff).status_code == 200
    again = api.client.post(f"{base}/spares/steps", json=shipped, headers=staff)
    assert again.status_code == 409 and "already recorded" in again.json()["detail"]
    bad = api.client.post(
        f"{base}/spares/steps", json={"request": 1, "step": "lost"}, headers=staff
    )
    assert bad.status_code == 400 and "$.step" in bad.text
    refused = api.client.post(f"{base}/spares", json={"part": "x"}, headers=customer)
    assert refused.status_code == 403
    # the customer: the request and its steps, never the internal notes
    seen = api.client.get(base, headers=customer).json()
    kinds = [e["kind"] for e in seen["events"]]
    assert "spare_requested" in kinds and "spare_step" in kinds and "note" not in kinds
    listed = api.client.get(f"{base}/spares", headers=customer)
    assert listed.status_code == 200, listed.text
    [request] = listed.json()
    assert (request["status"], request["waybill"], request["steps"]) == (
        "shipped",
        "SF1",
        ["requested", "shipped"],
    )
    assert "cost 80" not in listed.text and "Jinan" not in listed.text
    staff_view = api.client.get(base, headers=staff).json()
    assert [e["kind"] for e in staff_view["events"]].count("note") == 2
    other = api.headers("customer", customer="rsyz")
    assert api.client.get(f"{base}/spares", headers=other).status_code == 404


def test_contracts_check_the_spare_return_settings(tmp_path: Path) -> None:
    shutil.copy(CONTRACTS / "tiers.yaml", tmp_path / "tiers.yaml")
    shutil.copytree(CONTRACTS / "calendars", tmp_path / "calendars")
    school = (CONTRACTS / "rushan-no1-school.yaml").read_text(encoding="utf-8")
    school += "\nspares:\n  calendar: shifts\n  part-return: 0d\n"
    (tmp_path / "rushan-no1-school.yaml").write_text(school, encoding="utf-8")
    loaded, problems = check_contracts([tmp_path], pm=make_plugin_manager(load_entrypoints=False))
    assert loaded is None
    assert sorted((p.path, p.message.split(":")[0]) for p in problems) == [
        ("$.spares.calendar", "unknown calendar 'shifts' (known"),
        ("$.spares.part-return", "duration '0d' is zero"),
    ]


def test_cli_devices_show_names_the_replacement_chain_and_coverage(
    desk: CaseDesk,
    db_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    number = diagnosed(desk, T0)
    desk.request_spare(number, RequestSpare(part="switch"), actor="eng", now=T0)
    for name in (SpareStep.SHIPPED, SpareStep.ARRIVED):
        desk.spare_step(number, step(1, name), actor="spares", now=T0 + timedelta(hours=1))
    swap = step(1, SpareStep.INSTALLED, new_serial="NEW-1", new_model="H3C S5130S (RMA)")
    desk.spare_step(number, swap, actor="eng", now=T0 + timedelta(hours=2))
    monkeypatch.setenv("CASETRACK_DATABASE_URL", db_url)
    assert main(["devices", "show", "NEW-1"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0] == "NEW-1  H3C S5130S (RMA)"
    assert f"contract: {HOSPITAL}" in out and "tier: 8x5xNBD" in out
    assert f"replaces: {SWITCH}" in out
    assert main(["devices", "show", SWITCH]) == 0
    assert "replaced by: NEW-1" in capsys.readouterr().out
    assert main(["devices", "show", "NOPE"]) == 1
    assert "no device 'NOPE' on record" in capsys.readouterr().err
