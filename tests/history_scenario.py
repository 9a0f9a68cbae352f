"""A fixed story that records every event kind casetrack writes, on fixed times.

``tests/data/history-before-typed-events.db`` was written by ``play`` with the code of commit
c2ab268 (the history's payloads were plain dicts then). tests/test_events.py plays it again
with today's code on both back ends and compares every event's hash with that database's:
the same commands at the same times must give the same bytes.
To write the file again (only ever with the code it is meant to pin):
``.venv/bin/python tests/history_scenario.py tests/data/history-before-typed-events.db``.
"""

from __future__ import annotations

import shutil
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select, update

from core.case import Category, Channel, RequestType, Status
from core.commands import (
    Assign,
    Caller,
    CallLog,
    ChangePriority,
    ChangeStatus,
    Close,
    ConfirmDiagnosis,
    Escalate,
    ExcludeClock,
    FirstResponse,
    HandOver,
    Milestone,
    Note,
    OpenCase,
    RemoteAccess,
    Reopen,
    ReportProgress,
    RequestOnsite,
    Resolve,
    Window,
)
from core.handover import HandOverTarget
from core.jobs import outbox, scheduler
from core.runtime import Runtime, build_runtime
from core.service_types import effective_service_type
from core.settings import Settings
from core.sources.contracts import load_contracts
from core.store import orm
from core.store.db import make_engine
from core.store.migrate import upgrade

ROOT = Path(__file__).resolve().parent.parent
SH = ZoneInfo("Asia/Shanghai")
HOSPITAL = "wdkn-hospital-2026"
AUDIT_KEY = "history-fixture-audit-key-0123456789abcdef"  # the file's seals use this key
SECRET_KEY = "bm90LWEtcmVhbC1rZXktanVzdC1hLWZpeHR1cmUtMDA="  # Fernet: 32 bytes, base64
T0 = datetime(2026, 10, 14, 10, 0, tzinfo=SH)  # a Wednesday in working hours
DECEMBER = datetime(2026, 12, 28, 10, 0, tzinfo=SH)  # past the 2026 holiday data: provisional
FAR = datetime(2051, 1, 4, 10, 0, tzinfo=SH)  # no holiday data at all: clocks unplanned
# test data in the documented format, NOT the real 2027 schedule (as tests/test_horizon.py)
CN_2027 = """\
region: CN
year: 2027
source: test fixture, not the real 2027 schedule
holidays:
  - {date: 2027-01-01, name: Test New Year}
  - {date: 2027-01-04, name: Test Extra Day}
"""
MINUTE = timedelta(minutes=1)


def settings_for(database_url: str, work: Path) -> Settings:
    """The runtime's settings: fixed keys, a private copy of the example contracts."""
    contracts = work / "contracts"
    if not contracts.exists():
        shutil.copytree(ROOT / "contracts", contracts)
        # the recorded history ran the emergency fault rescue by its appointment window, the
        # rule before issue 11, and its last case opens in 2051: the hospital keeps the old
        # rule and runs that long, so the story hashes the same
        hospital = contracts / "wendeng-kangning-hospital.yaml"
        text = hospital.read_text(encoding="utf-8")
        text = text.replace("end: 2026-12-31", "end: 2051-12-31", 1)
        hospital.write_text(text + "\nemergency-resolution: appointment\n", "utf-8")
    return Settings(
        database_url=database_url,
        contracts_dir=str(contracts),
        var_dir=str(work / "var"),
        audit_key=AUDIT_KEY,
        secret_key=SECRET_KEY,
    )


@contextmanager
def runtime_for(database_url: str, work: Path) -> Iterator[Runtime]:
    settings = settings_for(database_url, work)
    runtime = build_runtime(settings)
    try:
        yield runtime
    finally:
        runtime.close()


def call(**fields: Any) -> OpenCase:
    base: dict[str, Any] = {
        "contract_id": HOSPITAL,
        "caller": Caller(name="周医生", company="文登康宁医院", phone="0631-8451234"),
        "summary": "HIS server down",
        "category": Category.SYSTEM_DEBUGGING,
        "request_type": RequestType.PROBLEM_REPORT,
        "priority": "P1",
        "channel": Channel.PHONE,
    }
    return OpenCase(**{**base, **fields})


def play(runtime: Runtime, work: Path) -> dict[str, str]:
    """Every event kind, on four hospital cases; returns story name → case number.

    The story predates engineers being checked against the staff directory (issue 11): its
    desk plays without one (any name is assigned, as documented), so the events it writes
    stay those of the stored history; the scheduler still reads the directory."""
    runtime.desk.staff = lambda: None
    return {
        "lifecycle": _lifecycle(runtime),
        "escalated": _scheduled(runtime),
        "provisional": _provisional(runtime, work),
        "unplanned": runtime.desk.open_case(
            call(priority="P3", category=Category.CONSULTING), actor="agent:li", now=FAR
        ).number,
    }


def _lifecycle(runtime: Runtime) -> str:
    desk = runtime.desk
    n = desk.open_case(
        call(
            category=Category.FAULT_RESCUE,
            appointment=Window(start=T0, end=T0 + timedelta(days=2)),
            emergency=True,
            device_serial="J301BX7M",
            site="文登区 康宁医院 门诊楼",
        ),
        actor="agent:li",
        now=T0,
    ).number
    steps: list[tuple[str, Any]] = [
        ("assign", Assign(engineer="eng:wang")),
        ("first_response", FirstResponse(agreed_content="replace the PSU tonight")),
        ("log_call", CallLog(direction="outbound", party="周医生", summary="on the way")),
        ("add_note", Note(text="PSU LED amber")),
        ("escalate", Escalate(level=2, reason="ward closed", target_group="managers")),
        ("hand_over", HandOver(target=HandOverTarget.DIGITAL_CHINA, reason="lab", ticket="DC-7")),
        (
            "hand_over",
            HandOver(target=HandOverTarget.VENDOR, reason="firmware", ticket="HPE-1", vendor="HPE"),
        ),
        ("hand_over", HandOver(target=HandOverTarget.ENGINEER, reason="vendor fixed it")),
        ("change_priority", ChangePriority(priority="P2", reason="workaround in place")),
        ("onsite_arrived", Milestone(note="on site")),
        ("report_progress", ReportProgress(text="PSU swapped")),
        ("report_progress", ReportProgress(text="done", final=True)),
        ("confirm_diagnosis", ConfirmDiagnosis(finding="PSU dead", hardware_fault=True)),
        ("spare_shipped", Milestone(note="SF123")),
        ("spare_arrived", Milestone(note="at the door")),
        (
            "grant_remote_access",
            RemoteAccess(consent_by="周医生", consent_at=T0, credentials={"login": "x"}),
        ),
        ("remote_logged_in", Milestone()),
        ("request_onsite", RequestOnsite(reason="swap the fan too")),
        ("change_status", ChangeStatus(status=Status.PENDING_CUSTOMER, cause="ward closed")),
        ("change_status", ChangeStatus(status=Status.IN_PROGRESS)),
        ("exclude_clock", ExcludeClock(kind="resolution", cause="force-majeure", note="typhoon")),
        ("resolve", Resolve(resolution="PSU replaced")),
    ]
    when = T0
    for command, cmd in steps:
        when += 7 * MINUTE
        getattr(desk, command)(n, cmd, actor="eng:wang", now=when)
        if command == "grant_remote_access":
            desk.reveal_credentials(n, actor="eng:wang", now=when + MINUTE)
    lc = runtime.contracts.get(HOSPITAL)
    service = effective_service_type("fault_rescue", lc.contract.service_types)
    close = Close(
        confirmed_by="周医生",
        confirmed_at=when,
        checklist=[item.id for item in service.checklist],
        deliverables={d.id: f"DMS-{i}" for i, d in enumerate(service.deliverables)},
    )
    desk.close(n, close, actor="agent:li", now=when + MINUTE)
    desk.reopen(n, Reopen(reason="fault is back"), actor="agent:li", now=when + 2 * MINUTE)
    return n


def _scheduled(runtime: Runtime) -> str:
    """A P1 nobody answers: the scheduler escalates it; one notice dies and is retried."""
    opened = T0 + timedelta(hours=3)
    n = runtime.desk.open_case(call(summary="PACS down"), actor="agent:li", now=opened).number
    scheduler.tick(runtime, now=opened + timedelta(hours=30))
    with runtime.sessions.begin() as session:
        first = session.scalars(select(orm.Notification.id).order_by(orm.Notification.id)).first()
        assert first is not None, "the scheduler queued no notification"
        session.execute(
            update(orm.Notification)
            .where(orm.Notification.id == first)
            .values(state="dead", attempts=5, last_error="550 mailbox unavailable")
        )
    outbox.retry(runtime, first, actor="mgr:zhao", now=opened + timedelta(hours=31))
    return n


def _provisional(runtime: Runtime, work: Path) -> str:
    """A P4 whose resolution runs into 2027; the year's data arrives and it is re-planned."""
    n = runtime.desk.open_case(
        call(priority="P4", category=Category.CONSULTING), actor="agent:li", now=DECEMBER
    ).number
    directory = Path(runtime.settings.contracts_dir)
    (directory / "calendars" / "cn-2027.yaml").write_text(CN_2027, encoding="utf-8")
    runtime.contracts = runtime.desk.contracts = load_contracts([directory])
    runtime.desk.replan_provisional(now=DECEMBER + timedelta(days=1))
    return n


def write(path: Path) -> None:
    """A fresh SQLite database at ``path`` holding the story (the work folder beside it)."""
    work = path.parent / f"{path.stem}-work"
    path.unlink(missing_ok=True)
    shutil.rmtree(work, ignore_errors=True)
    url = f"sqlite:///{path}"
    upgrade(make_engine(url))
    with runtime_for(url, work) as runtime:
        play(runtime, work)
    shutil.rmtree(work)


if __name__ == "__main__":
    write(Path(sys.argv[1]))
