"""A quarter of the port's record (contract sdgw-2025, 2026Q1) made through the desk, for the
documents' tests (tests/test_documents*.py): the February core-room inspection with its
results, a follow-up, a recurring fault, a reviewed and carried-out change and a pending one,
a spare, device software versions, knowledge articles."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from cryptography.fernet import Fernet
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from core.case import Category, Channel, RequestType
from core.commands import (
    Assign,
    Caller,
    FollowUp,
    ImplementChange,
    InspectionResult,
    OpenCase,
    ProposeChange,
    RecordDeviceChange,
    RequestSpare,
    Resolve,
    ReviewChange,
    WriteArticle,
)
from core.desk import CaseDesk
from core.jobs.inspections import due_occurrences
from core.loaded import ContractSet
from core.plugins import make_plugin_manager
from core.runtime import Runtime
from core.settings import Settings
from core.staff import load_staff
from core.store import orm
from core.store.blobs import LocalBlobs
from core.store.secrets import CredentialVault

ROOT = Path(__file__).resolve().parent.parent

SH = ZoneInfo("Asia/Shanghai")
PORT = "sdgw-2025"
T = datetime(2026, 2, 2, 9, 5, tzinfo=SH)  # Monday: the core-room inspection of February
NOW = T + timedelta(days=3)
CORE_A, CORE_B = "FOC2334Y1AB", "FOC2334Y1AC"  # Cisco Catalyst 9300-48P-E (core A), (core B)
SERVER, STORAGE = "2102312CJN10K5000212", "2102353SYB10P1000077"
CISCO = "Cisco Catalyst 9300-48P-E"
ENG, EXPERT = "eng:yu-tao", "expert:park-jiho"


def make_runtime(
    engine: Engine, sessions: sessionmaker[Session], contracts: ContractSet, tmp_path: Path
) -> Runtime:
    settings = Settings(
        database_url=engine.url.render_as_string(hide_password=False),
        contracts_dir=str(ROOT / "contracts"),
        var_dir=str(tmp_path / "var"),
    )
    staff = load_staff(ROOT / "contracts" / "staff" / "staff.yaml")
    desk = CaseDesk(
        sessions,
        contracts,
        vault=CredentialVault(Fernet.generate_key()),
        staff=lambda: staff,
        blobs=LocalBlobs(tmp_path / "attachments"),
    )
    pm = make_plugin_manager(load_entrypoints=False)
    return Runtime(settings, engine, sessions, contracts, pm, desk)


@dataclass
class Story:
    inspection: str
    follow_up: str
    repeat: str  # a second system-debugging case on core B
    upgrade: str  # the case with the changes


def _open(runtime: Runtime, summary: str, category: Category, serial: str, at: datetime) -> str:
    cmd = OpenCase(
        contract_id=PORT,
        caller=Caller(name="鞠文涛"),
        summary=summary,
        category=category,
        request_type=RequestType.PROBLEM_REPORT,
        priority="P3",
        channel=Channel.PHONE,
        device_serial=serial,
    )
    return runtime.desk.open_case(cmd, actor="agent", now=at).number


def tell(runtime: Runtime) -> Story:
    desk = runtime.desk
    due = [o for o in due_occurrences(runtime.contracts, now=T, catch_up=timedelta(days=7))]
    desk.open_inspections([o for o in due if o.contract_id == PORT], now=T)
    with runtime.sessions() as session:
        number = session.scalar(
            select(orm.Inspection.case_number).where(orm.Inspection.contract_id == PORT)
        )
    assert number is not None
    at = T + timedelta(hours=2)

    def result(serial: str, **kw: object) -> None:
        desk.record_inspection_result(
            number,
            InspectionResult(serial=serial, **kw),
            actor=ENG,
            now=at,  # type: ignore[arg-type]
        )

    result(CORE_A, outcome="finding", severity="major", note="端口 Gi1/0/48 CRC 错误")
    result(
        CORE_B, outcome="finding", severity="major", note="电源模块 PS2 告警", follow_up=FollowUp()
    )
    result(SERVER, outcome="finding", severity="minor", note="风扇转速偏高")
    result(SERVER, outcome="ok")  # a later result corrects the earlier one
    result(STORAGE, outcome="finding", severity="minor", note="控制器 B 电池老化")
    with runtime.sessions() as session:
        follow = session.scalar(
            select(orm.Case.number).where(
                orm.Case.number != number, orm.Case.device_serial == CORE_B
            )
        )
    assert follow is not None
    repeat = _open(
        runtime,
        "核心交换机 B 电源再次告警",
        Category.SYSTEM_DEBUGGING,
        CORE_B,
        T + timedelta(days=1),
    )
    desk.request_spare(
        repeat, RequestSpare(part="电源模块 PWR-C1-715WAC"), actor=ENG, now=T + timedelta(days=1)
    )
    upgrade = _open(runtime, "核心交换机 IOS-XE 升级", Category.CONSULTING, CORE_A, T)
    plan = ProposeChange(
        title="IOS-XE 17.9.3 升级",
        change_kind="upgrade",
        major=True,
        plan="1. 备份配置\n2. 升级\n3. 回退方案",
    )
    change = desk.propose_change(upgrade, plan, actor=ENG, now=T).events[0]
    review = ReviewChange(change=change, decision="approved", comment="同意,夜间窗口实施")
    desk.review_change(upgrade, review, actor=EXPERT, now=T + timedelta(hours=4))
    done = ImplementChange(change=change, note="升级完成,业务验证正常")
    desk.implement_change(upgrade, done, actor=ENG, now=T + timedelta(days=1))
    upgraded = RecordDeviceChange(software_version="17.9.3", case_number=upgrade, note="升级后")
    desk.record_device_change(CORE_A, upgraded, actor=ENG, now=T + timedelta(days=1))
    pending = ProposeChange(
        title="存储控制器固件升级", change_kind="upgrade", major=True, plan="待定"
    )
    desk.propose_change(upgrade, pending, actor=ENG, now=T + timedelta(days=1, hours=1))
    desk.assign(upgrade, Assign(engineer="yu-tao"), actor="agent", now=T + timedelta(days=1))
    desk.resolve(
        upgrade, Resolve(resolution="升级完成"), actor=ENG, now=T + timedelta(days=1, hours=2)
    )
    desk.record_device_change(  # core B's version, recorded outside any case
        CORE_B, RecordDeviceChange(software_version="17.6.4"), actor=ENG, now=T + timedelta(days=1)
    )
    for visibility, title in (
        ("public", "9300 电源模块告警处理"),
        ("internal", "内部:9300 调试口令"),
    ):
        article = WriteArticle(
            title=title,
            problem="PS2 告警",
            cause="电源模块老化",
            fix="更换电源模块",
            device_model=CISCO,
            visibility=visibility,  # type: ignore[arg-type]
        )
        desk.write_article(article, actor=ENG, now=T)
    return Story(inspection=number, follow_up=follow, repeat=repeat, upgrade=upgrade)
