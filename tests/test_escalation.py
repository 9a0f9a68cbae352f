"""Escalation planning: recipients per role, send times per calendar, idempotency keys.

Digests are formed by the relay from outbox rows: tests/test_relay.py."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from core.clocks import ladder_for
from core.contract import EscalationStep
from core.errors import NotFoundError
from core.escalation import (
    PlannedNotice,
    Recipient,
    Skip,
    is_urgent,
    notice_key,
    plan_notices,
    recipients_for,
)
from core.loaded import ContractSet, LoadedContract
from core.plugins import make_plugin_manager
from core.sources.contracts import load_contracts
from core.staff import STAFF_FILE, StaffDirectory, load_staff

ROOT = Path(__file__).resolve().parent.parent
TZ = ZoneInfo("Asia/Shanghai")
ALL_ROLES = [
    "engineer",
    "service-manager",
    "project-manager",
    "complaint-manager",
    "spare-manager",
    "quality-department",
    "general-manager",
    "expert-group",
    "customer-site-lead",
    "customer-maintenance-supervisor",
]


def local(*args: int) -> datetime:
    return datetime(*args, tzinfo=TZ)  # type: ignore[misc]


MONDAY_NOON = local(2026, 3, 2, 12, 0)
THURSDAY_23 = local(2026, 3, 5, 23, 0)
FRIDAY_23 = local(2026, 3, 6, 23, 0)


@pytest.fixture(scope="module")
def contracts() -> ContractSet:
    return load_contracts([ROOT / "contracts"], pm=make_plugin_manager(load_entrypoints=False))


@pytest.fixture(scope="module")
def hospital(contracts: ContractSet) -> LoadedContract:
    return contracts.get("wdkn-hospital-2026")


@pytest.fixture(scope="module")
def staff() -> StaffDirectory:
    return load_staff(ROOT / STAFF_FILE)


def step(
    *roles: str, at: str = "100%", channels: tuple[str, ...] = ("email", "sms")
) -> EscalationStep:
    return EscalationStep(at=at, notify=list(roles), channels=list(channels))  # type: ignore[arg-type]


def by_role(recipients: list[Recipient]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for r in recipients:
        found.setdefault(r.role, []).append(r.id)
    return found


# --- recipients ------------------------------------------------------------------------------


def test_every_role_against_the_hospital_contract(
    hospital: LoadedContract, staff: StaffDirectory
) -> None:
    recipients, skipped = recipients_for(
        step(*ALL_ROLES), contract=hospital, staff=staff, assignee=None, at=MONDAY_NOON
    )
    assert skipped == []
    assert by_role(recipients) == {
        "engineer": ["yu-tao"],  # on duty Monday noon
        "service-manager": ["liu-yang"],  # the contract's 刘洋, matched by e-mail
        "project-manager": ["zhang-haiyan"],
        "complaint-manager": ["chen-jing"],
        "spare-manager": ["zhao-peng"],
        "quality-department": ["song-li"],
        "general-manager": ["yu-jianguo"],
        "expert-group": ["gao-feng", "park-jiho"],
        "customer-site-lead": ["wdkn-hospital/邵敏"],
        "customer-maintenance-supervisor": ["wdkn-hospital/曲振宇"],
    }
    get = {r.id: r for r in recipients}
    assert get["yu-tao"].calendar == "duty"
    assert get["liu-yang"] == Recipient(
        id="liu-yang",
        name="刘洋",
        role="service-manager",
        email="liu.yang@mingsheng.example.cn",
        mobile="13963112302",
        locale="zh",
        calendar="working-hours",
    )
    assert get["park-jiho"].locale == "en"
    supervisor = get["wdkn-hospital/曲振宇"]
    assert (supervisor.staff, supervisor.calendar) == (False, "working-hours")
    assert (supervisor.email, supervisor.mobile) == (
        "qu.zhenyu@wdkn-hospital.example.cn",
        "13561812103",
    )


@pytest.mark.parametrize(
    ("at", "engineer"),
    [
        (MONDAY_NOON, "yu-tao"),
        (local(2026, 3, 2, 23, 0), "sun-hao"),  # night
        (local(2026, 3, 8, 23, 0), "zhou-min"),  # Sunday night, into Monday
        (local(2026, 10, 3, 3, 0), "qu-hang"),  # National Day duty
    ],
)
def test_engineer_without_assignee_is_the_one_on_duty(
    hospital: LoadedContract, staff: StaffDirectory, at: datetime, engineer: str
) -> None:
    recipients, _ = recipients_for(
        step("engineer"), contract=hospital, staff=staff, assignee=None, at=at
    )
    assert [r.id for r in recipients] == [engineer]


@pytest.mark.parametrize("assignee", ["gao-feng", "高峰"])
def test_engineer_is_the_assignee_by_id_or_name(
    hospital: LoadedContract, staff: StaffDirectory, assignee: str
) -> None:
    recipients, skipped = recipients_for(
        step("engineer"), contract=hospital, staff=staff, assignee=assignee, at=MONDAY_NOON
    )
    assert [(r.id, r.role) for r in recipients] == [("gao-feng", "engineer")]
    assert skipped == []


def test_unknown_assignee_falls_back_to_on_duty_with_a_reason(
    hospital: LoadedContract, staff: StaffDirectory
) -> None:
    recipients, skipped = recipients_for(
        step("engineer"), contract=hospital, staff=staff, assignee="外包-张三", at=MONDAY_NOON
    )
    assert [r.id for r in recipients] == ["yu-tao"]
    assert skipped == [
        Skip(
            "engineer",
            "assignee is not in the staff directory: the on-duty engineer instead",
            who="外包-张三",
        )
    ]


def test_manager_the_contract_leaves_out_comes_from_the_directory(
    contracts: ContractSet, staff: StaffDirectory
) -> None:
    school = contracts.get("rsyz-2026")  # names no complaint or spare manager
    recipients, skipped = recipients_for(
        step("complaint-manager", "spare-manager", "project-manager"),
        contract=school,
        staff=staff,
        assignee=None,
        at=MONDAY_NOON,
    )
    assert skipped == []
    assert by_role(recipients) == {
        "complaint-manager": ["chen-jing"],
        "spare-manager": ["zhao-peng"],
        "project-manager": ["zhang-haiyan"],
    }
    # the school's contract gives 张海燕 no mobile: the directory fills it in
    assert recipients[2].mobile == "13963112305"
    assert recipients[2].email == "zhang.haiyan@mingsheng.example.cn"


def test_contract_person_unknown_to_the_directory(
    hospital: LoadedContract, staff: StaffDirectory
) -> None:
    ours = hospital.contract.our_staff
    stranger = replace(hospital, contract=_with_service_manager(hospital, "林一", "lin.yi@x.cn"))
    recipients, _ = recipients_for(
        step("service-manager"), contract=stranger, staff=staff, assignee=None, at=MONDAY_NOON
    )
    assert ours.service_manager.name == "刘洋"  # the shipped contract is untouched
    [recipient] = recipients
    assert (recipient.id, recipient.calendar, recipient.email, recipient.mobile) == (
        "wdkn-hospital-2026/林一",
        "working-hours",
        "lin.yi@x.cn",
        None,
    )


def _with_service_manager(lc: LoadedContract, name: str, email: str):  # type: ignore[no-untyped-def]
    import msgspec

    contract = lc.contract
    person = msgspec.structs.replace(contract.our_staff.service_manager, name=name, email=email)
    person = msgspec.structs.replace(person, mobile=None)
    our_staff = msgspec.structs.replace(contract.our_staff, service_manager=person)
    return msgspec.structs.replace(contract, our_staff=our_staff)


def test_missing_contact_and_unknown_role_are_skipped_not_raised(
    hospital: LoadedContract, staff: StaffDirectory
) -> None:
    lc = hospital
    no_supervisor = msgspec_without_contacts(lc)
    recipients, skipped = recipients_for(
        step("customer-maintenance-supervisor", "vendor-tac"),
        contract=replace(lc, contract=no_supervisor),
        staff=staff,
        assignee=None,
        at=MONDAY_NOON,
    )
    assert recipients == []
    assert skipped == [
        Skip(
            "customer-maintenance-supervisor",
            f"contract {lc.id} names no maintenance-supervisor contact",
        ),
        Skip("vendor-tac", "unknown role"),
    ]


def msgspec_without_contacts(lc: LoadedContract):  # type: ignore[no-untyped-def]
    import msgspec

    customer = msgspec.structs.replace(lc.contract.customer, contacts=[])
    return msgspec.structs.replace(lc.contract, customer=customer)


def test_a_person_reached_through_two_roles_is_notified_once(
    hospital: LoadedContract, staff: StaffDirectory
) -> None:
    recipients, skipped = recipients_for(
        step("engineer", "expert-group"),
        contract=hospital,
        staff=staff,
        assignee="gao-feng",
        at=MONDAY_NOON,
    )
    assert [(r.id, r.role) for r in recipients] == [
        ("gao-feng", "engineer"),
        ("park-jiho", "expert-group"),
    ]
    assert skipped == [Skip("expert-group", "already notified as engineer", who="高峰")]


# --- urgency ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("priority", "at", "urgent"),
    [
        ("P1", "100%", True),
        ("P1", "100% + 2h", True),
        ("P1", "90%", False),
        ("P2", "100%", False),
        ("P4", "100% + 2h", False),
    ],
)
def test_default_urgency_is_a_p1_breach(priority: str, at: str, urgent: bool) -> None:
    [alert] = ladder_for([step("engineer", at=at)], "resolution", priority)
    assert is_urgent(alert.step, priority, alert.fraction) is urgent


def test_urgency_override_wins() -> None:
    assert is_urgent(step("engineer"), "P3", 0.5, override=True) is True
    assert is_urgent(step("engineer"), "P1", 1.0, override=False) is False


# --- send times ------------------------------------------------------------------------------


def plan(
    hospital: LoadedContract,
    recipients: list[Recipient],
    at: datetime,
    *,
    urgent: bool = False,
    level: int = 2,
    case: str = "WH-2026-000042",
    channels: tuple[str, ...] = ("email", "sms"),
    rung: str = "100%",
) -> tuple[list[PlannedNotice], list[Skip]]:
    notices, skipped = plan_notices(
        case_number=case,
        clock_kind="resolution",
        level_index=level,
        step=step("service-manager", at=rung, channels=channels),
        urgent=urgent,
        recipients=recipients,
        at=at,
        calendars=hospital.calendar,
        clock_id=7,
    )
    return notices, skipped


def person(hospital: LoadedContract, staff: StaffDirectory, role: str, at: datetime) -> Recipient:
    recipients, _ = recipients_for(step(role), contract=hospital, staff=staff, assignee=None, at=at)
    return recipients[0]


def test_manager_notice_at_night_waits_for_the_next_working_morning(
    hospital: LoadedContract, staff: StaffDirectory
) -> None:
    manager = person(hospital, staff, "service-manager", THURSDAY_23)
    notices, skipped = plan(hospital, [manager], THURSDAY_23)
    assert skipped == []
    assert [(n.channel, n.send_after) for n in notices] == [
        ("email", local(2026, 3, 6, 8, 30)),
        ("sms", local(2026, 3, 6, 8, 30)),
    ]
    assert all(n.due_at == THURSDAY_23 and not n.urgent for n in notices)
    assert notices[0].why == "working-hours closed: held until 2026-03-06T08:30:00+08:00"


@pytest.mark.parametrize(
    ("at", "opens"),
    [
        (FRIDAY_23, local(2026, 3, 9, 8, 30)),  # over the weekend to Monday
        (local(2026, 9, 30, 23, 0), local(2026, 10, 8, 8, 30)),  # over National Day
        (local(2026, 3, 5, 7, 0), local(2026, 3, 5, 8, 30)),  # early morning: same day
    ],
)
def test_manager_waits_for_the_next_business_day(
    hospital: LoadedContract, staff: StaffDirectory, at: datetime, opens: datetime
) -> None:
    manager = person(hospital, staff, "project-manager", at)
    notices, _ = plan(hospital, [manager], at)
    assert {n.send_after for n in notices} == {opens}


def test_manager_in_working_hours_gets_it_at_once(
    hospital: LoadedContract, staff: StaffDirectory
) -> None:
    manager = person(hospital, staff, "service-manager", MONDAY_NOON)
    notices, _ = plan(hospital, [manager], MONDAY_NOON)
    assert {n.send_after for n in notices} == {MONDAY_NOON}
    assert notices[0].why == "working-hours open"


def test_urgent_p1_breach_goes_at_once(hospital: LoadedContract, staff: StaffDirectory) -> None:
    manager = person(hospital, staff, "service-manager", THURSDAY_23)
    notices, _ = plan(hospital, [manager], THURSDAY_23, urgent=True)
    assert {n.send_after for n in notices} == {THURSDAY_23}
    assert all(n.urgent and n.why == "urgent: sent at once" for n in notices)


def test_on_duty_engineer_gets_it_at_once(hospital: LoadedContract, staff: StaffDirectory) -> None:
    engineer = person(hospital, staff, "engineer", THURSDAY_23)
    assert (engineer.id, engineer.calendar) == ("sun-hao", "duty")
    notices, _ = plan(hospital, [engineer], THURSDAY_23)
    assert {n.send_after for n in notices} == {THURSDAY_23}
    assert [n.address for n in notices] == ["sun.hao@mingsheng.example.cn", "13963112312"]


def test_customer_contact_waits_for_the_contracts_working_hours(
    hospital: LoadedContract, staff: StaffDirectory
) -> None:
    supervisor = person(hospital, staff, "customer-maintenance-supervisor", FRIDAY_23)
    notices, _ = plan(hospital, [supervisor], FRIDAY_23)
    assert {n.send_after for n in notices} == {local(2026, 3, 9, 8, 30)}


def test_missing_mobile_skips_sms_with_a_reason(
    hospital: LoadedContract, staff: StaffDirectory
) -> None:
    complaints = person(hospital, staff, "complaint-manager", MONDAY_NOON)  # 陈静: no mobile
    notices, skipped = plan(hospital, [complaints], MONDAY_NOON)
    assert [n.channel for n in notices] == ["email"]
    assert skipped == [Skip("complaint-manager", "no mobile for sms", who="陈静", channel="sms")]


def test_plugin_channel_is_planned_without_an_address(
    hospital: LoadedContract, staff: StaffDirectory
) -> None:
    manager = person(hospital, staff, "service-manager", MONDAY_NOON)
    notices, skipped = plan(hospital, [manager], MONDAY_NOON, channels=("wechat",))
    assert [(n.channel, n.address) for n in notices] == [("wechat", None)]
    assert skipped == []


def test_unknown_calendar_sends_at_once_rather_than_never(
    hospital: LoadedContract, staff: StaffDirectory
) -> None:
    manager = replace(person(hospital, staff, "service-manager", FRIDAY_23), calendar="night")
    notices, _ = plan(hospital, [manager], FRIDAY_23)
    assert {n.send_after for n in notices} == {FRIDAY_23}
    assert notices[0].why.startswith("calendar 'night' unavailable (contract wdkn-hospital-2026")
    with pytest.raises(NotFoundError):
        hospital.calendar("night")


# --- idempotency keys ------------------------------------------------------------------------


def test_idempotency_keys_are_stable_and_distinct(
    hospital: LoadedContract, staff: StaffDirectory
) -> None:
    recipients, _ = recipients_for(
        step(*ALL_ROLES), contract=hospital, staff=staff, assignee=None, at=THURSDAY_23
    )
    first, _ = plan(hospital, recipients, THURSDAY_23)
    again, _ = plan(hospital, recipients, THURSDAY_23 + timedelta(minutes=3))  # a retry
    keys = [n.idempotency_key for n in first]
    assert keys == [n.idempotency_key for n in again]
    assert len(set(keys)) == len(keys)
    assert keys[0] == "WH-2026-000042:resolution:7:100%:sun-hao:email"
    assert "WH-2026-000042:resolution:7:100%:wdkn-hospital/曲振宇:sms" in keys
    # the same rung at another position (a priority change moved the clock to another
    # ladder) is the same notice: not sent twice
    moved, _ = plan(hospital, recipients, THURSDAY_23, level=3)
    assert [n.idempotency_key for n in moved] == keys
    next_level, _ = plan(hospital, recipients, THURSDAY_23, rung="100% + 2h")
    other_case, _ = plan(hospital, recipients, THURSDAY_23, case="WH-2026-000043")
    for other in (next_level, other_case):
        assert not set(keys) & {n.idempotency_key for n in other}


def test_key_without_clock_id_keeps_every_field() -> None:
    assert (
        notice_key("WH-1", "diagnosis", None, "50%", "yu-tao", "sms")
        == "WH-1:diagnosis::50%:yu-tao:sms"
    )
    assert (
        notice_key("WH-1", "diagnosis", 12, "100% + 2h", "yu-tao", "sms")
        == "WH-1:diagnosis:12:100%+2h:yu-tao:sms"
    )


# --- the contract's own ladder end to end ----------------------------------------------------


def test_hospital_p1_breach_at_night(hospital: LoadedContract, staff: StaffDirectory) -> None:
    ladder = ladder_for(hospital.contract.escalation, "resolution", "P1")
    level = next(i for i, alert in enumerate(ladder) if alert.step.at == "100%")
    alert = ladder[level]
    urgent = is_urgent(alert.step, "P1", alert.fraction)
    recipients, skipped = recipients_for(
        alert.step, contract=hospital, staff=staff, assignee=None, at=THURSDAY_23
    )
    notices, no_address = plan_notices(
        case_number="WH-2026-000042",
        clock_kind="resolution",
        level_index=level,
        step=alert.step,
        urgent=urgent,
        recipients=recipients,
        at=THURSDAY_23,
        calendars=hospital.calendar,
    )
    assert urgent and skipped == [] and no_address == []
    assert {n.recipient.id for n in notices} == {
        "liu-yang",
        "zhang-haiyan",
        "wdkn-hospital/曲振宇",
    }
    assert {n.send_after for n in notices} == {THURSDAY_23}
    # the same rung for a P2 clock is not urgent: managers and the customer wait for morning
    p2, _ = plan_notices(
        case_number="WH-2026-000042",
        clock_kind="resolution",
        level_index=level,
        step=alert.step,
        urgent=is_urgent(alert.step, "P2", alert.fraction),
        recipients=recipients,
        at=THURSDAY_23,
        calendars=hospital.calendar,
    )
    assert {n.send_after for n in p2} == {local(2026, 3, 6, 8, 30)}
