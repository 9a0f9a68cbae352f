"""Entitlements (issue 11 §4): on-site labour only where bought, a spare level only where its
tier is sold, remote access only with recorded consent; each refusal names the clause."""

from __future__ import annotations

import shutil
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from conftest import Api
from core.case import Category, Channel, RequestType
from core.commands import (
    Caller,
    ConfirmDiagnosis,
    FirstResponse,
    Milestone,
    OpenCase,
    RemoteAccess,
    RequestOnsite,
)
from core.desk import CaseDesk, NotEntitled
from core.loaded import ContractSet
from core.plugins import make_plugin_manager
from core.sources.contracts import load_contracts
from core.store import orm

ROOT = Path(__file__).resolve().parent.parent
CONTRACTS = ROOT / "contracts"
SH = ZoneInfo("Asia/Shanghai")
T0 = datetime(2026, 10, 14, 10, 0, tzinfo=SH)
HOSPITAL = "wdkn-hospital-2026"  # onsite-labour: true
SCHOOL = "rsyz-2026"  # no onsite-labour (the default: false)
SCHOOL_SERVER = "J302K4LQ"
HOSPITAL_SWITCH = "FOC2211X0RB"  # devices[5], 8x5xNBD, 文登 (zone wendeng)
CASES = "/api/v1/cases"


@pytest.fixture(scope="module")
def contracts() -> ContractSet:
    return load_contracts([CONTRACTS])


@pytest.fixture
def desk(sessions: sessionmaker[Session], contracts: ContractSet) -> CaseDesk:
    return CaseDesk(sessions, contracts, prefix="MS")


def problem(contract_id: str, serial: str, **changes: Any) -> OpenCase:
    values: dict[str, Any] = {
        "contract_id": contract_id,
        "caller": Caller(name="IT"),
        "summary": "server down",
        "category": Category.CONSULTING,
        "request_type": RequestType.PROBLEM_REPORT,
        "priority": "P2",
        "channel": Channel.PHONE,
        "device_serial": serial,
    }
    return OpenCase(**{**values, **changes})


def events(sessions: sessionmaker[Session], number: str) -> list[orm.CaseEvent]:
    with sessions() as session:
        case_id = session.scalar(select(orm.Case.id).where(orm.Case.number == number))
        return list(
            session.scalars(
                select(orm.CaseEvent)
                .where(orm.CaseEvent.case_id == case_id)
                .order_by(orm.CaseEvent.seq)
            )
        )


# --- on-site labour ---------------------------------------------------------------------------


def test_a_part_swap_on_site_needs_bought_onsite_labour(
    desk: CaseDesk, sessions: sessionmaker[Session]
) -> None:
    number = desk.open_case(problem(SCHOOL, SCHOOL_SERVER), actor="agent", now=T0).number
    swap = RequestOnsite(reason="swap the failed disk", part_swap=True)
    with pytest.raises(NotEntitled) as refused:
        desk.request_onsite(number, swap, actor="sm", now=T0)
    assert refused.value.detail.startswith(
        f"contract {SCHOOL}: onsite labour not purchased ($.onsite-labour is false in "
        "rushan-no1-school.yaml)"
    )
    assert [e.kind for e in events(sessions, number)] == ["opened"]  # nothing recorded
    # on-site support that is no part swap stays part of the service (R-RESP)
    support = RequestOnsite(reason="remote could not fix", override_reason="line down, no phone")
    desk.request_onsite(number, support, actor="sm", now=T0)


def test_a_contract_that_bought_onsite_labour_gets_the_swap_recorded(
    desk: CaseDesk, sessions: sessionmaker[Session]
) -> None:
    number = desk.open_case(problem(HOSPITAL, HOSPITAL_SWITCH), actor="agent", now=T0).number
    swap = RequestOnsite(reason="swap the PSU", part_swap=True, override_reason="part arrived")
    desk.request_onsite(number, swap, actor="sm", now=T0)
    requested = events(sessions, number)[-2]
    assert requested.kind == "onsite_requested" and requested.payload["part_swap"] is True


def test_api_refuses_the_swap_with_a_422_naming_the_clause(api: Api) -> None:
    body = {
        "contract_id": SCHOOL,
        "caller": {"name": "IT"},
        "summary": "server down",
        "category": "consulting",
        "request_type": "problem_report",
        "priority": "P2",
        "channel": "phone",
        "device_serial": SCHOOL_SERVER,
    }
    case = api.client.post(CASES, json=body, headers=api.headers("agent")).json()
    url = f"{CASES}/{case['number']}/onsite-request"
    refused = api.client.post(
        url, json={"reason": "swap", "part_swap": True}, headers=api.headers("service_manager")
    )
    assert refused.status_code == 422, refused.text
    assert refused.json()["type"] == "/problems/not-entitled"
    assert "onsite labour not purchased ($.onsite-labour" in refused.json()["detail"]


# --- remote access ----------------------------------------------------------------------------


def test_a_remote_login_without_recorded_consent_is_refused(
    desk: CaseDesk, sessions: sessionmaker[Session]
) -> None:
    number = desk.open_case(problem(HOSPITAL, HOSPITAL_SWITCH), actor="agent", now=T0).number
    with pytest.raises(NotEntitled) as refused:
        desk.remote_logged_in(number, Milestone(), actor="eng", now=T0)
    detail = refused.value.detail
    assert detail.startswith(f"contract {HOSPITAL}: remote access on case {number} needs")
    assert "recorded consent ($.remote-access" in detail
    consent = RemoteAccess(consent_by="周医生", consent_at=T0)
    desk.grant_remote_access(number, consent, actor="eng", now=T0)
    desk.remote_logged_in(number, Milestone(), actor="eng", now=T0)
    kinds = [e.kind for e in events(sessions, number)]
    assert kinds == ["opened", "remote_access_agreed", "remote_logged_in"]


# --- spare levels -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def restricted(tmp_path_factory: pytest.TempPathFactory) -> ContractSet:
    """The hospital with its Cisco switch on a level sold only in Wendeng (zone wendeng)."""
    root = tmp_path_factory.mktemp("restricted")
    tiers = (CONTRACTS / "tiers.yaml").read_text(encoding="utf-8")
    tiers = tiers.replace(
        "tiers:\n  8x5xNBD:",
        "tiers:\n  8x5x4h-wendeng:\n    label: 4h in Wendeng\n    ship: {calendar: spare-window}"
        "\n    arrival: {within: 4h}\n    zones: [wendeng]\n  8x5xNBD:",
        1,
    )
    own = "door; every step recorded as a case.\n    tiers: [8x5xNBD, 8x5x48h, 24x7x48h]"
    assert own in tiers
    tiers = tiers.replace(own, own.replace("24x7x48h]", "24x7x48h, 8x5x4h-wendeng]"))
    (root / "tiers.yaml").write_text(tiers, encoding="utf-8")
    shutil.copytree(CONTRACTS / "calendars", root / "calendars")
    hospital = (CONTRACTS / "wendeng-kangning-hospital.yaml").read_text(encoding="utf-8")
    site = "山东省威海市文登区峰山路66号 住院部 弱电间"
    old = f"    serial: {HOSPITAL_SWITCH}\n    site: {site}\n    tier: 8x5xNBD"
    assert old in hospital
    hospital = hospital.replace(old, old.replace("8x5xNBD", "8x5x4h-wendeng"))
    (root / "wendeng-kangning-hospital.yaml").write_text(hospital, encoding="utf-8")
    return load_contracts([root], pm=make_plugin_manager(load_entrypoints=False))


def _diagnose(desk: CaseDesk, number: str) -> None:
    desk.first_response(number, FirstResponse(agreed_content="check PSU"), actor="e", now=T0)
    desk.confirm_diagnosis(
        number, ConfirmDiagnosis(finding="PSU dead", hardware_fault=True), actor="e", now=T0
    )


def test_a_spare_level_is_refused_where_its_tier_is_not_sold(
    sessions: sessionmaker[Session], restricted: ContractSet
) -> None:
    desk = CaseDesk(sessions, restricted, prefix="MS")
    away = problem(HOSPITAL, HOSPITAL_SWITCH, site="山东省荣成市石岛镇港湾街1号")  # rongcheng
    number = desk.open_case(away, actor="agent", now=T0).number
    with pytest.raises(NotEntitled) as refused:
        _diagnose(desk, number)
    detail = refused.value.detail
    assert detail.startswith(f"contract {HOSPITAL}: spare level 8x5x4h-wendeng of device")
    assert "($.devices[5].tier at wendeng-kangning-hospital.yaml:" in detail
    assert "sold only in zones wendeng" in detail and "zone 'rongcheng'" in detail
    # at the device's own site the level applies and its clocks start
    home = desk.open_case(problem(HOSPITAL, HOSPITAL_SWITCH), actor="agent", now=T0).number
    _diagnose(desk, home)
    with sessions() as session:
        case = session.scalars(select(orm.Case).where(orm.Case.number == home)).one()
        assert {"spare_ship", "spare_arrival"} <= {c.kind for c in case.clocks}
