"""Closed, surveyed cases for the quality tests: open → assign → resolve → close on the desk at
given instants, and the survey link's token read back from the outbox (the only place the
token exists besides the caller's mailbox)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import msgspec
from sqlalchemy import select

from core.case import Category, Channel, RequestType
from core.commands import Assign, Caller, Close, OpenCase, Resolve
from core.loaded import ContractSet
from core.runtime import Runtime, build_runtime
from core.service_types import effective_service_type
from core.settings import Settings
from core.store import orm

ROOT = Path(__file__).resolve().parent.parent
CONTRACTS = ROOT / "contracts"
HOSPITAL = "wdkn-hospital-2026"
SCHOOL = "rsyz-2026"
MINUTE = timedelta(minutes=1)


@contextmanager
def runtime_on(db_url: str, tmp: Path, **settings: Any) -> Iterator[Runtime]:
    runtime = build_runtime(
        Settings(
            database_url=db_url,
            contracts_dir=str(CONTRACTS),
            var_dir=str(tmp / "var"),
            public_url="https://casetrack.example.cn",
            **settings,
        )
    )
    try:
        yield runtime
    finally:
        runtime.close()


def with_survey(contracts: ContractSet, contract_id: str, **changes: Any) -> ContractSet:
    """``contracts`` with one contract's ``survey`` settings changed."""
    lc = contracts.get(contract_id)
    survey = msgspec.structs.replace(lc.contract.survey, **changes)
    contract = msgspec.structs.replace(lc.contract, survey=survey)
    changed = dataclasses.replace(lc, contract=contract)
    return ContractSet(
        {**contracts.contracts, contract_id: changed}, contracts.catalog, contracts.registry
    )


def open_case(
    runtime: Runtime,
    opened: datetime,
    *,
    contract: str = HOSPITAL,
    email: str | None = "zhou@wdkn.example.cn",
) -> str:
    cmd = OpenCase(
        contract_id=contract,
        caller=Caller(name="周医生", phone="13561812199", email=email),
        summary="HIS 查询缓慢",
        category=Category.CONSULTING,
        request_type=RequestType.CONSULTATION,
        priority="P3",
        channel=Channel.PHONE,
    )
    number = runtime.desk.open_case(cmd, actor="agent:li", now=opened).number
    runtime.desk.assign(number, Assign(engineer="yu-tao"), actor="agent:li", now=opened + MINUTE)
    return number


def close_case(runtime: Runtime, number: str, closed: datetime) -> str | None:
    """Resolve and close ``number`` at ``closed``; the token of its new survey link."""
    desk = runtime.desk
    with runtime.sessions() as session:
        case = session.scalars(select(orm.Case).where(orm.Case.number == number)).one()
        category, contract_id = case.category, case.contract_id
    service = effective_service_type(
        category, runtime.contracts.get(contract_id).contract.service_types
    )
    desk.resolve(number, Resolve(resolution="已处理"), actor="yu-tao", now=closed - 2 * MINUTE)
    close = Close(
        confirmed_by="周医生",
        confirmed_at=closed - MINUTE,
        checklist=[item.id for item in service.checklist],
        deliverables={d.id: f"DOC-{i}" for i, d in enumerate(service.deliverables)},
    )
    desk.close(number, close, actor="agent:li", now=closed)
    return latest_token(runtime, number)


def closed_case(
    runtime: Runtime, opened: datetime, closed: datetime, **kw: Any
) -> tuple[str, str | None]:
    number = open_case(runtime, opened, **kw)
    return number, close_case(runtime, number, closed)


def latest_token(runtime: Runtime, number: str) -> str | None:
    """The token of the case's newest survey link, from its queued e-mail."""
    with runtime.sessions() as session:
        variables = session.scalars(
            select(orm.Notification.variables)
            .join(orm.Case, orm.Case.id == orm.Notification.case_id)
            .where(orm.Case.number == number, orm.Notification.template == "survey_request")
            .order_by(orm.Notification.id.desc())
        ).first()
    if variables is None:
        return None
    return str(variables["link"]).rsplit("/", 1)[1]
