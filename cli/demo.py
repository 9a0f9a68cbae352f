"""Demo data: realistic cases from the example contracts, replayed command by command."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any, Literal
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from core import sla
from core.case import Category, Channel, RequestType, Status, Visibility
from core.commands import (
    Assign,
    Caller,
    CallLog,
    ChangeStatus,
    Close,
    ConfirmDiagnosis,
    Escalate,
    FirstResponse,
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
from core.desk import CaseDesk
from core.loaded import LoadedContract
from core.service_types import effective_service_type
from core.store import orm
from core.store.tokens import create_token

if TYPE_CHECKING:
    from core.calendar import Calendar
    from core.runtime import Runtime

# The people of the demo. The engineer's token is named exactly like the assignee of the
# remote-access case: only the assigned engineer may reveal its credentials.
AGENT = "丛丽"  # service desk agent (服务台)
NIGHT_DESK = "王倩"  # 7x24 hotline at night
ENGINEER = "于志强"
ENGINEER_2 = "林海涛"
COMPLAINT_MANAGER = "陈静"

HOSPITAL, SCHOOL, BANK, PORT = "wdkn-hospital-2026", "rsyz-2026", "whccb-huancui-2025", "sdgw-2025"
HEADLINE = "his-outage"  # the story the CLI shows first (the P1 emergency at the hospital)
REMOTE = "pacs-remote"  # the case whose credentials the demo engineer may reveal
OVERDUE = "core-switch-overdue"  # the case that escalates while the demo runs
OVERDUE_IN = timedelta(seconds=90)  # its first response falls due this long after `now`

Action = Callable[[CaseDesk, "_Story", datetime], object]


@dataclass(frozen=True, slots=True)
class DemoToken:
    """One demo API token (shown once: only its hash is stored)."""

    role: str
    name: str
    token: str
    customer_id: str | None = None


@dataclass(frozen=True, slots=True)
class DemoSummary:
    """What ``seed_demo`` did: counts of the seeded data, or why nothing was seeded."""

    seeded: bool
    message: str
    cases: int = 0
    events: int = 0
    by_status: dict[str, int] = field(default_factory=dict)
    by_contract: dict[str, int] = field(default_factory=dict)
    clocks: dict[str, int] = field(default_factory=dict)  # clock state → how many
    numbers: dict[str, str] = field(default_factory=dict)  # story key → case number
    tokens: tuple[DemoToken, ...] = ()
    skipped: tuple[str, ...] = ()  # contracts or stories left out, with the reason


# --- seeding -----------------------------------------------------------------------------------


def seed_demo(runtime: Runtime, *, now: datetime) -> DemoSummary:
    """Seed example cases and demo tokens into an empty case store; a no-op otherwise.

    Every case is played through the desk's own commands, each at its own time before
    ``now``, so clocks are met or breached exactly as they would be. A contract whose period
    ended gets only stories that close before its end; one not yet started is skipped.
    Not one transaction: each command commits on its own, like the desk does for real.
    """
    if now.tzinfo is None:
        raise ValueError("seed_demo needs an aware `now`")
    existing = _count(runtime, orm.Case)
    if existing:
        return DemoSummary(
            seeded=False,
            message=f"the database already has {existing} case{'s' if existing != 1 else ''}: "
            "demo not seeded (and no demo tokens made)",
        )
    stories, skipped = _plan(runtime, now)
    # all stories interleaved in time order: case numbers follow the opening times
    steps = [(at, i, story, action) for story in stories for i, (at, action) in story.steps]
    for at, _, story, action in sorted(steps, key=lambda step: (step[0], step[1])):
        action(runtime.desk, story, at)
    runtime.desk.note_breaches(now=now)  # what the periodic sweep would have recorded by now
    tokens = _make_tokens(runtime, now)
    return _summary(runtime, stories, tokens, skipped)


def _plan(runtime: Runtime, now: datetime) -> tuple[list[_Story], list[str]]:
    """The stories to play, per contract and its period, and what was left out and why."""
    builders: dict[str, Callable[[_When, LoadedContract], list[_Story]]] = {
        HOSPITAL: _hospital,
        SCHOOL: _school,
        BANK: _bank,
        PORT: _port,
    }
    stories: list[_Story] = []
    skipped: list[str] = []
    for contract_id, build in builders.items():
        lc = runtime.contracts.contracts.get(contract_id)
        if lc is None:
            skipped.append(f"{contract_id}: contract not loaded")
            continue
        period = lc.contract.period
        cal = lc.calendar("working-hours")
        today = now.astimezone(cal.tz).date()
        if today < period.start:
            skipped.append(f"{contract_id}: its period starts {period.start}")
            continue
        ended = today > period.end
        # a finished contract gets history only: stories told as if the day after it ended
        anchor = _local(period.end + timedelta(days=1), "00:00", cal.tz) if ended else now
        for story in build(_When(anchor, cal), lc):
            first = story.steps[0][1][0]
            if ended and not story.closes:
                skipped.append(f"{contract_id}/{story.key}: open story, period ended {period.end}")
            elif first.astimezone(cal.tz).date() < period.start:
                skipped.append(f"{contract_id}/{story.key}: would start before {period.start}")
            else:
                story.check(now)
                stories.append(story)
    return stories, skipped


def _make_tokens(runtime: Runtime, now: datetime) -> tuple[DemoToken, ...]:
    wanted: list[tuple[str, str, str | None]] = [
        ("admin", "demo admin", None),
        ("agent", AGENT, None),
        ("engineer", ENGINEER, None),
    ]
    hospital = runtime.contracts.contracts.get(HOSPITAL)
    if hospital is not None:
        customer = hospital.contract.customer
        wanted.append(("customer", f"{customer.name} (demo)", customer.id))
    made = []
    with runtime.sessions.begin() as session:
        for role, name, customer_id in wanted:
            token, _ = create_token(
                session, roles=[role], name=name, now=now, customer_id=customer_id
            )
            made.append(DemoToken(role, name, token, customer_id))
    return tuple(made)


def _summary(
    runtime: Runtime, stories: list[_Story], tokens: tuple[DemoToken, ...], skipped: list[str]
) -> DemoSummary:
    with runtime.sessions() as session:
        cases = session.execute(select(orm.Case.status, orm.Case.contract_id)).all()
        states = session.scalars(select(orm.SlaClock.state)).all()
        events = session.scalar(select(func.count()).select_from(orm.CaseEvent)) or 0
    return DemoSummary(
        seeded=True,
        message=f"seeded {len(cases)} demo cases with {events} events",
        cases=len(cases),
        events=events,
        by_status=dict(Counter(status for status, _ in cases)),
        by_contract=dict(Counter(contract for _, contract in cases)),
        clocks=dict(Counter(states)),
        numbers={s.key: s.number for s in stories if s.number},
        tokens=tokens,
        skipped=tuple(skipped),
    )


def _count(runtime: Runtime, table: type[orm.Base]) -> int:
    with runtime.sessions() as session:
        return session.scalar(select(func.count()).select_from(table)) or 0


# --- time and story building -------------------------------------------------------------------


def _local(day: date, hhmm: str, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, time.fromisoformat(hhmm), tzinfo=tz)


class _When:
    """Moments before an anchor in the contract's zone: calendar days, business days, minutes."""

    def __init__(self, anchor: datetime, cal: Calendar) -> None:
        self.anchor = anchor
        self.cal = cal
        self.tz = cal.tz
        self.today = anchor.astimezone(cal.tz).date()

    def day(self, back: int, hhmm: str) -> datetime:
        """``back`` calendar days before the anchor's date (negative: after it)."""
        return _local(self.today - timedelta(days=back), hhmm, self.tz)

    def workday(self, back: int, hhmm: str) -> datetime:
        """The ``back``-th business day (of the contract's working hours) before the anchor."""
        day = self.today
        for _ in range(back):
            day -= timedelta(days=1)
            while not self.cal.is_business_day(day):
                day -= timedelta(days=1)
        return _local(day, hhmm, self.tz)

    def ago(self, *, hours: int = 0, minutes: int = 0) -> datetime:
        return self.anchor - timedelta(hours=hours, minutes=minutes)


class _Story:
    """One case's life as desk commands, each at its own time; played in global time order."""

    def __init__(self, key: str, lc: LoadedContract, engineer: str = ENGINEER_2) -> None:
        self.key = key
        self.lc = lc
        self.engineer = engineer
        self.steps: list[tuple[int, tuple[datetime, Action]]] = []
        self.number = ""
        self.category = ""
        self.closes = False  # ends closed: the only kind told for a contract that ended

    def check(self, now: datetime) -> None:
        """Steps in order and in the past: the demo must never record the future."""
        times = [at for _, (at, _) in self.steps]
        if times != sorted(times) or times[-1] > now:
            raise ValueError(f"demo story {self.key}: steps out of order or after {now}")

    def _add(self, at: datetime, action: Action) -> _Story:
        self.steps.append((len(self.steps), (at, action)))
        return self

    # --- the commands, in the words of the desk ---

    def open(self, at: datetime, actor: str = AGENT, **fields: Any) -> _Story:
        cmd = OpenCase(contract_id=self.lc.id, **fields)
        self.category = str(cmd.category)

        def _open(desk: CaseDesk, story: _Story, when: datetime) -> None:
            story.number = desk.open_case(cmd, actor=actor, now=when).number

        return self._add(at, _open)

    def assign(self, at: datetime, actor: str = AGENT) -> _Story:
        cmd = Assign(engineer=self.engineer)
        return self._add(at, lambda d, s, t: d.assign(s.number, cmd, actor=actor, now=t))

    def respond(self, at: datetime, content: str, actor: str | None = None) -> _Story:
        cmd = FirstResponse(agreed_content=content)
        who = actor or self.engineer
        return self._add(at, lambda d, s, t: d.first_response(s.number, cmd, actor=who, now=t))

    def diagnose(self, at: datetime, finding: str, hardware: bool = False) -> _Story:
        cmd = ConfirmDiagnosis(finding=finding, hardware_fault=hardware)
        return self._add(
            at, lambda d, s, t: d.confirm_diagnosis(s.number, cmd, actor=self.engineer, now=t)
        )

    def onsite(self, at: datetime, reason: str) -> _Story:
        cmd = RequestOnsite(reason=reason)
        return self._add(
            at, lambda d, s, t: d.request_onsite(s.number, cmd, actor=self.engineer, now=t)
        )

    def arrived(self, at: datetime, note: str) -> _Story:
        cmd = Milestone(note=note)
        return self._add(
            at, lambda d, s, t: d.onsite_arrived(s.number, cmd, actor=self.engineer, now=t)
        )

    def shipped(self, at: datetime, note: str, actor: str = "赵鹏") -> _Story:
        cmd = Milestone(note=note)  # 赵鹏: the spare-part manager
        return self._add(at, lambda d, s, t: d.spare_shipped(s.number, cmd, actor=actor, now=t))

    def part_arrived(self, at: datetime, note: str) -> _Story:
        cmd = Milestone(note=note)
        return self._add(
            at, lambda d, s, t: d.spare_arrived(s.number, cmd, actor=self.engineer, now=t)
        )

    def status(self, at: datetime, status: Status, cause: str | None = None) -> _Story:
        cmd = ChangeStatus(status=status, cause=cause)
        return self._add(
            at, lambda d, s, t: d.change_status(s.number, cmd, actor=self.engineer, now=t)
        )

    def note(self, at: datetime, text: str, *, customer: bool, actor: str | None = None) -> _Story:
        cmd = Note(text=text, visibility=_visibility(customer))
        who = actor or self.engineer
        return self._add(at, lambda d, s, t: d.add_note(s.number, cmd, actor=who, now=t))

    def progress(self, at: datetime, text: str, *, final: bool = False) -> _Story:
        """An emergency on-site progress report (限时上报), customer-visible."""
        cmd = ReportProgress(text=text, visibility=_visibility(True), final=final)
        return self._add(
            at, lambda d, s, t: d.report_progress(s.number, cmd, actor=self.engineer, now=t)
        )

    def call(
        self,
        at: datetime,
        direction: Literal["inbound", "outbound"],
        party: str,
        summary: str,
        *,
        customer: bool,
        actor: str | None = None,
    ) -> _Story:
        cmd = CallLog(
            direction=direction,
            party=party,
            summary=summary,
            visibility=_visibility(customer),
        )
        who = actor or self.engineer
        return self._add(at, lambda d, s, t: d.log_call(s.number, cmd, actor=who, now=t))

    def escalate(self, at: datetime, level: int, reason: str, group: str, actor: str) -> _Story:
        cmd = Escalate(level=level, reason=reason, target_group=group)
        return self._add(at, lambda d, s, t: d.escalate(s.number, cmd, actor=actor, now=t))

    def remote(self, at: datetime, consent_by: str, credentials: dict[str, str]) -> _Story:
        cmd = RemoteAccess(
            consent_by=consent_by, consent_at=at - timedelta(minutes=2), credentials=credentials
        )
        return self._add(
            at, lambda d, s, t: d.grant_remote_access(s.number, cmd, actor=self.engineer, now=t)
        )

    def logged_in(self, at: datetime, note: str) -> _Story:
        cmd = Milestone(note=note)
        return self._add(
            at, lambda d, s, t: d.remote_logged_in(s.number, cmd, actor=self.engineer, now=t)
        )

    def resolve(self, at: datetime, resolution: str) -> _Story:
        cmd = Resolve(resolution=resolution)
        return self._add(at, lambda d, s, t: d.resolve(s.number, cmd, actor=self.engineer, now=t))

    def reopen(self, at: datetime, reason: str, actor: str = AGENT) -> _Story:
        cmd = Reopen(reason=reason)
        return self._add(at, lambda d, s, t: d.reopen(s.number, cmd, actor=actor, now=t))

    def close(self, at: datetime, confirmed_by: str, actor: str = AGENT) -> _Story:
        """The customer confirms every checklist item and receives every deliverable."""

        def _close(desk: CaseDesk, story: _Story, when: datetime) -> None:
            service = effective_service_type(story.category, story.lc.contract.service_types)
            documents = {
                d.id: f"文档库/{story.number}/{d.label.split()[0]}.pdf"
                for d in service.deliverables
            }
            cmd = Close(
                confirmed_by=confirmed_by,
                confirmed_at=when,
                checklist=list(service.checklist_ids),
                deliverables=documents,
            )
            desk.close(story.number, cmd, actor=actor, now=when)

        self.closes = True
        return self._add(at, _close)


def _visibility(customer: bool) -> Visibility:
    return Visibility.CUSTOMER if customer else Visibility.INTERNAL


def _caller(lc: LoadedContract, role: str, *, phone: str | None = None) -> Caller:
    """A caller from the contract's own contact list (the first with ``role``)."""
    contact = next(c for c in lc.contract.customer.contacts if c.role == role)
    return Caller(
        name=contact.name,
        company=lc.contract.customer.name,
        phone=phone or contact.mobile or contact.phone,
        email=contact.email,
    )


# --- the stories -------------------------------------------------------------------------------


def _hospital(w: _When, lc: LoadedContract) -> list[_Story]:
    """文登区康宁医院: a night HIS outage, a hardware fault waiting for parts, a complaint..."""
    it, site = _caller(lc, "it-manager"), _caller(lc, "site-lead")
    window = Window(start=w.day(3, "03:00"), end=w.day(1, "06:00"))
    his = (
        _Story(HEADLINE, lc, engineer=ENGINEER)
        .open(
            w.day(3, "02:40"),
            actor=NIGHT_DESK,
            caller=site,
            summary="HIS应用服务器宕机,门诊/急诊挂号收费无法登录",
            description="凌晨02:30起急诊挂号、收费、医生工作站均提示“无法连接应用服务器”,"
            "机房服务器前面板健康指示灯红色闪烁。院方要求立即抢修。",
            category=Category.FAULT_RESCUE,
            request_type=RequestType.PROBLEM_REPORT,
            priority="P1",
            emergency=True,
            channel=Channel.PHONE,
            device_serial="CZJ9350FKR",
            appointment=window,
        )
        .assign(w.day(3, "02:44"), actor=NIGHT_DESK)
        .respond(
            w.day(3, "02:51"),
            "与邵敏电话确认故障现象:HIS应用服务器无响应。约定立即启动故障救援:工程师远程查看"
            "iLO日志并赶赴现场;当晚恢复业务,备件到货后在夜间停机窗口更换,最迟"
            f"{window.end:%m月%d日%H:%M}前完成。",
        )
        .call(
            w.day(3, "02:53"),
            "outbound",
            site.name,
            "告知工程师于志强已出发,预计04:30前到达门诊楼四层信息中心机房。",
            customer=True,
        )
        .diagnose(
            w.day(3, "03:38"),
            "iLO IML日志:P1-DIMM 8 出现不可纠正ECC错误导致系统宕机。屏蔽该内存后服务器可降级"
            "启动。需更换32GB DDR4内存(P/N P00924-B21)。",
            hardware=True,
        )
        .arrived(w.day(3, "04:26"), "工程师到达门诊楼四层信息中心机房")
        .progress(
            w.day(3, "05:10"),
            "HIS应用已恢复:门诊挂号、收费、医生站登录正常。服务器暂以降级内存运行,"
            "备件到货后在约定的夜间窗口内更换。",
            final=True,
        )
        .note(
            w.day(3, "09:20"),
            "备件已由神州数码济南备件库发出,顺丰 SF1428830661275(24x7x48h:按确诊时间计到货)。",
            customer=True,
            actor="赵鹏",
        )
        .status(w.day(3, "09:25"), Status.PENDING_VENDOR, "等待内存备件到货")
        .part_arrived(w.day(2, "16:20"), "内存备件已送达院方信息中心,P/N核对无误")
        .status(w.day(2, "16:25"), Status.IN_PROGRESS)
        .call(
            w.day(2, "16:40"),
            "outbound",
            it.name,
            "与徐晓东约定今晚23:00–次日05:00停机窗口更换内存,提前通知各临床科室。",
            customer=True,
        )
        .resolve(
            w.day(1, "00:45"),
            "已在停机窗口更换 P1-DIMM 8,内存自检通过,恢复全部384GB内存;HIS应用启动、"
            "双机切换测试正常,门诊挂号收费业务验证通过。",
        )
        .close(w.day(1, "09:30"), confirmed_by=it.name)
    )
    lis = (
        _Story("lis-disk", lc)
        .open(
            w.day(1, "09:10"),
            caller=Caller(name="孔令辉", company=lc.contract.customer.name, phone="0631-8452305"),
            summary="检验科LIS服务器RAID告警,2号硬盘指示灯橙色",
            description="LIS服务器前面板2号盘橙灯常亮,报告打印明显变慢。检验科 孔令辉 报修。",
            category=Category.FAULT_RESCUE,
            request_type=RequestType.PROBLEM_REPORT,
            priority="P3",
            channel=Channel.PHONE,
            device_serial="J301BX7M",
            appointment=Window(start=w.day(1, "12:00"), end=w.day(-3, "17:00")),
        )
        .assign(w.day(1, "09:16"))
        .respond(
            w.day(1, "09:31"),
            "约定先远程确认阵列状态;如为硬盘故障,备件到货后在约定窗口内热插拔更换,无需停机。",
        )
        .diagnose(
            w.day(1, "11:05"),
            "RAID5 阵列降级:2号盘(1.2TB SAS 10K)预测性故障,阵列仍可用,数据完整。需更换硬盘。",
            hardware=True,
        )
        .shipped(w.day(1, "14:20"), "神州数码已发出硬盘备件,顺丰 SF1430291184521")
        .status(w.day(1, "14:30"), Status.PENDING_VENDOR, "等待硬盘备件到货")
        .note(
            w.day(1, "14:32"),
            "硬盘备件已发出(顺丰 SF1430291184521),预计48小时内到达;到货后热插拔更换,无需停机。",
            customer=True,
        )
    )
    complaint = (
        _Story("pacs-complaint", lc, engineer=COMPLAINT_MANAGER)
        .open(
            w.day(2, "10:12"),
            caller=it,
            summary="投诉:PACS接口调试一再延期,影像科多次催促未获答复",
            description="影像科反映PACS与HIS的检查申请接口调试已延期两周,工程师多次改约,"
            "来电催促无人回复。要求说明原因并给出完成时间。",
            category=Category.SYSTEM_DEBUGGING,
            request_type=RequestType.COMPLAINT,
            priority="P3",
            channel=Channel.PHONE,
        )
        .assign(w.day(2, "10:20"))
        .respond(
            w.day(2, "11:26"),
            "陈静致电徐晓东致歉并说明:延误因厂商接口文档版本不一致;承诺本周内派高级工程师驻场"
            "完成调试,每日17:00前通报进度。",
        )
        .call(
            w.day(2, "11:30"),
            "outbound",
            it.name,
            "投诉首次答复:致歉、说明原因、承诺驻场时间及每日进度通报。",
            customer=True,
        )
        .note(
            w.day(1, "17:00"),
            "进度通报:已取得厂商最新接口文档(V3.2),检查申请下发联调通过,报告回传明日联调。",
            customer=True,
        )
    )
    consulting = (
        _Story("pacs-storage-advice", lc)
        .open(
            w.workday(6, "14:05"),
            caller=it,
            summary="咨询:PACS存储扩容选型(影像数据年增约18TB)",
            description="现有 OceanStor 5510 V5 可用容量剩余约15%,希望获得扩容方案与选型建议。",
            category=Category.CONSULTING,
            request_type=RequestType.CONSULTATION,
            priority="P4",
            channel=Channel.EMAIL,
            device_serial="2102352NFB10M9000318",
        )
        .assign(w.workday(6, "14:12"))
        .respond(
            w.workday(6, "14:31"),
            "确认需求:满足未来3年影像数据增长(约55TB),不停机扩容;3个工作日内提交选型建议清单。",
        )
        .note(
            w.workday(5, "10:00"),
            "已与华为确认 5510 V5 可在线扩展2个硬盘框,无需升级控制器。",
            customer=False,
        )
        .resolve(
            w.workday(4, "16:30"),
            "已提交推荐产品清单:OceanStor 5510 V5 扩展硬盘框×2,3.84TB SSD×24,含上门安装;"
            "并附容量测算说明。",
        )
        .close(w.workday(3, "09:40"), confirmed_by=it.name)
    )
    inspection = (
        _Story("q4-inspection", lc)
        .open(
            w.workday(9, "10:00"),
            caller=it,
            summary="第四季度定期巡检(含等保三级技术检查项)",
            category=Category.PERIODIC_INSPECTION,
            request_type=RequestType.CONSULTATION,
            priority="P4",
            channel=Channel.PHONE,
            site="山东省威海市文登区峰山路66号 门诊楼四层 信息中心机房",
            appointment=Window(start=w.workday(7, "08:30"), end=w.workday(7, "17:30")),
        )
        .assign(w.workday(9, "10:05"))
        .respond(
            w.workday(9, "10:20"),
            "约定巡检范围:HIS/PACS/LIS服务器、PACS存储、核心及接入交换机;含等保三级技术检查项。",
        )
        .resolve(
            w.workday(7, "17:10"),
            "巡检完成:6台设备运行正常;PACS存储控制器固件建议升级至 V500R007C71SPC100。",
        )
        .close(w.workday(6, "09:30"), confirmed_by=it.name)
    )
    remote = (
        _Story(REMOTE, lc, engineer=ENGINEER)
        .open(
            w.ago(hours=2, minutes=50),
            caller=site,
            summary="PACS影像调阅偶发超时(约每小时2–3次)",
            description="放射科医生调阅CT影像时偶发等待超过30秒,怀疑存储多路径配置问题。",
            category=Category.SYSTEM_DEBUGGING,
            request_type=RequestType.PROBLEM_REPORT,
            priority="P3",
            channel=Channel.PHONE,
            device_serial="2102352NFB10M9000318",
        )
        .assign(w.ago(hours=2, minutes=45))
        .respond(
            w.ago(hours=2, minutes=30),
            "约定远程调试存储多路径;院方同意开放VPN远程访问,由邵敏提供账号。",
        )
        .remote(
            w.ago(hours=2, minutes=20),
            site.name,
            {
                "device_ip": "10.20.4.15",
                "login": "ms_support",
                "password": "Kn#2026-pacs!",
                "notes": "VPN vpn.wdkn-hospital.example.cn,账号 mingsheng01,限本工单期间",
            },
        )
        .logged_in(w.ago(hours=2, minutes=5), "已通过院方VPN登录存储管理界面")
        .note(
            w.ago(hours=1, minutes=30),
            "两台PACS服务器的多路径策略不一致(一台为 round-robin,一台为 failover),"
            "ALUA未启用;计划今晚业务低峰时统一调整。",
            customer=False,
        )
    )
    fresh = _Story("ward-switch-port", lc).open(
        w.ago(minutes=6),
        caller=Caller(name="李护士长", company=lc.contract.customer.name, phone="0631-8452431"),
        summary="住院部三病区护士站一台电脑无法上网,弱电间交换机12口指示灯不亮",
        category=Category.SYSTEM_DEBUGGING,
        request_type=RequestType.PROBLEM_REPORT,
        priority="P3",
        channel=Channel.PHONE,
        device_serial="FOC2211X0RB",
    )
    return [his, lis, complaint, consulting, inspection, remote, fresh, _overdue(w, lc)]


def _overdue(w: _When, lc: LoadedContract) -> _Story:
    """A P1 nobody has answered yet, opened so its first response falls due
    ``OVERDUE_IN`` after the demo starts: the 50 % and 80 % warnings go out at the first
    scheduler pass, the breach (urgent: P1) a minute or two later, live."""
    span = sla.first_response(lc, priority="P1", received_at=w.anchor).due - w.anchor
    return _Story(OVERDUE, lc).open(
        w.anchor - span + OVERDUE_IN,
        actor=NIGHT_DESK,
        caller=_caller(lc, "it-manager"),
        summary="核心交换机堆叠分裂,门诊楼全部终端断网",
        description="门诊楼核心交换机堆叠成员2掉线,门诊挂号、收费、医生站全部断网。"
        "值班台已记录,尚未有工程师响应。",
        category=Category.FAULT_RESCUE,
        request_type=RequestType.PROBLEM_REPORT,
        priority="P1",
        emergency=True,
        channel=Channel.PHONE,
        device_serial="FOC2211X0RB",
        appointment=Window(start=w.anchor, end=w.anchor + timedelta(hours=4)),
    )


def _school(w: _When, lc: LoadedContract) -> list[_Story]:
    """乳山市第一中学: a firewall outage fixed, reopened and fixed again; slow e-mail; a cert."""
    it, site = _caller(lc, "it-manager"), _caller(lc, "site-lead")
    firewall = (
        _Story("firewall-outage", lc, engineer=ENGINEER)
        .open(
            w.workday(3, "07:50"),
            caller=site,
            summary="网络中心华为USG6510E防火墙宕机,全校断网",
            description="早自习时全校无法上网,教务系统和校园门户无法访问;防火墙告警灯常亮。",
            category=Category.FAULT_RESCUE,
            request_type=RequestType.PROBLEM_REPORT,
            priority="P1",
            channel=Channel.PHONE,
            device_serial="2102352GTD10L6000151",
            appointment=Window(start=w.workday(3, "08:00"), end=w.workday(3, "20:00")),
        )
        .assign(w.workday(3, "07:53"))
        .respond(
            w.workday(3, "08:15"),
            "与宋晓光确认:防火墙反复重启无法进入系统。约定当日到校抢修,20:00前恢复。",
        )
        .onsite(w.workday(3, "08:16"), "远程无法登录防火墙,需到校检查硬件")
        .escalate(
            w.workday(3, "10:30"),
            2,
            "防火墙无法启动,疑似主控板故障;全校断网已超过2.5小时",
            "服务经理 孙鹏飞 / 华为TAC",
            actor=ENGINEER,
        )
        .arrived(w.workday(3, "10:50"), "工程师到达实验楼一层网络中心")
        .diagnose(
            w.workday(3, "11:20"),
            "串口日志显示主控板Flash损坏,无法加载系统软件,需整机更换(RMA)。",
            hardware=True,
        )
        .call(
            w.workday(3, "11:25"),
            "outbound",
            site.name,
            "临时以核心交换机ACL加出口路由恢复上网(暂不经防火墙),校方同意。",
            customer=True,
        )
        .note(w.workday(3, "11:40"), "已临时恢复校园网出口;替换整机今日发出。", customer=True)
        .shipped(w.workday(3, "14:30"), "华为备件库已发出替换整机,同城急送")
        .resolve(
            w.workday(3, "19:10"),
            "替换整机已到校,导入备份配置并上线;全校网络经防火墙访问恢复正常。",
        )
        .reopen(w.workday(2, "08:40"), "防火墙凌晨两次自动重启,校园网出口中断约5分钟")
        .call(
            w.workday(2, "09:10"),
            "inbound",
            site.name,
            "宋晓光反映防火墙夜间重启;约定上午远程排查并升级补丁。",
            customer=True,
        )
        .resolve(
            w.workday(2, "15:10"),
            "确认为已知软件缺陷(华为安全公告),升级至 V600R007C20SPC600 补丁后运行稳定。",
        )
    )
    wifi = (
        _Story("wifi-drops", lc)
        .open(
            w.workday(1, "16:40"),
            caller=site,
            summary="教学楼三层无线频繁掉线,教师无法使用电子白板投屏",
            category=Category.SYSTEM_DEBUGGING,
            request_type=RequestType.PROBLEM_REPORT,
            priority="P3",
            channel=Channel.EMAIL,
            device_serial="219801A0YH8197Q0015C",
        )
        .assign(w.workday(1, "19:20"))
        # the e-mail sat unread until the evening: the first response is late (breached)
        .respond(
            w.workday(1, "19:25"),
            "致电宋晓光确认:三层5个AP每节课掉线2–3次。约定先远程查看交换机PoE日志,次日到校排查。",
        )
        .call(
            w.workday(1, "19:30"),
            "outbound",
            site.name,
            "就邮件未及时处理致歉,说明排查安排。",
            customer=True,
        )
    )
    cert = (
        _Story("portal-certificate", lc)
        .open(
            w.workday(4, "10:15"),
            caller=it,
            summary="校园门户网站HTTPS证书即将到期(剩余5天),需更换证书",
            category=Category.SYSTEM_DEBUGGING,
            request_type=RequestType.PROBLEM_REPORT,
            priority="P4",
            channel=Channel.WEB,
            device_serial="J302K4LQ",
        )
        .assign(w.workday(4, "10:30"))
        .respond(w.workday(4, "10:40"), "约定到期前完成证书更换,不影响门户访问。")
        .diagnose(
            w.workday(4, "14:00"),
            "证书由校方在教育网CA申请,需校方申领新证书;服务器与Nginx配置无问题。",
        )
        .status(
            w.workday(4, "14:10"),
            Status.PENDING_CUSTOMER,
            "等待校方从教育网CA申领新的SSL证书并提供证书文件和私钥",
        )
        .note(
            w.workday(4, "14:12"),
            "请姜老师申领后通过学校邮箱发送给林海涛,收到后30分钟内完成更换。",
            customer=True,
        )
        .call(
            w.workday(2, "09:00"),
            "outbound",
            it.name,
            "催办证书申领进度;校方称本周五前提供。",
            customer=True,
        )
    )
    training = (
        _Story("teacher-training", lc)
        .open(
            w.ago(minutes=18),
            caller=it,
            summary="新学期教师信息化培训:校园网认证与共享盘使用",
            category=Category.TECHNICAL_TRAINING,
            request_type=RequestType.CONSULTATION,
            priority="P4",
            channel=Channel.PHONE,
        )
        .assign(w.ago(minutes=12))
    )
    return [firewall, wifi, cert, training]


def _bank(w: _When, lc: LoadedContract) -> list[_Story]:
    """威海市商业银行环翠支行 (period ended 2026-06-30): history only."""
    it = _caller(lc, "it-manager")
    outage = (
        _Story("bank-link-down", lc)
        .open(
            w.workday(5, "10:05"),
            caller=it,
            summary="支行核心业务专线中断,柜面交易无法提交",
            category=Category.FAULT_RESCUE,
            request_type=RequestType.PROBLEM_REPORT,
            priority="P1",
            emergency=True,
            channel=Channel.PHONE,
            device_serial="FDO2113A0KT",
            appointment=Window(start=w.workday(5, "10:20"), end=w.workday(5, "16:00")),
        )
        .assign(w.workday(5, "10:07"))
        .respond(
            w.workday(5, "10:16"),
            "确认柜面全部交易超时。约定立即远程登录路由器排查,同时派工程师到一楼机房。",
        )
        .remote(
            w.workday(5, "10:18"),
            it.name,
            {"device_ip": "172.16.0.1", "login": "ms_noc", "password": "Hc!router-2026"},
        )
        .logged_in(w.workday(5, "10:31"), "经支行堡垒机登录 ISR 4331")
        .diagnose(
            w.workday(5, "10:52"),
            "路由器正常;运营商MSTP专线 Gi0/0/1 CRC错误激增,已报联通排障。",
        )
        .arrived(w.workday(5, "10:58"), "工程师到达新威路17号一楼机房")
        .call(
            w.workday(5, "11:40"),
            "outbound",
            "联通政企客服",
            "联通确认局端光模块故障,已更换。",
            customer=False,
        )
        .progress(w.workday(5, "11:45"), "联通已更换局端光模块,正在观察专线质量。")
        .resolve(
            w.workday(5, "12:05"),
            "专线恢复,柜面交易正常;监控30分钟无丢包、无CRC错误。",
        )
        .close(w.workday(4, "10:00"), confirmed_by=it.name)
    )
    renewal = (
        _Story("bank-renewal", lc)
        .open(
            w.workday(12, "09:40"),
            caller=it,
            summary="2026–2027年度设备续保询价(5台设备,8x5xNBD)",
            category=Category.WARRANTY_RENEWAL,
            request_type=RequestType.CONSULTATION,
            priority="P4",
            channel=Channel.EMAIL,
        )
        .assign(w.workday(12, "09:45"))
        .respond(w.workday(12, "10:02"), "确认续保范围:全部5台设备,服务等级8x5xNBD。")
        .resolve(
            w.workday(8, "16:00"),
            "续保报价及服务等级确认单已发送;神码在线已登记续保,7月1日起生效。",
        )
        .close(w.workday(7, "11:00"), confirmed_by=it.name)
    )
    return [outage, renewal]


def _port(w: _When, lc: LoadedContract) -> list[_Story]:
    """荣成市石岛湾港务 (period ended 2026-09-30): history only."""
    it, site = _caller(lc, "it-manager"), _caller(lc, "site-lead")
    inspection = (
        _Story("port-q3-inspection", lc)
        .open(
            w.workday(9, "15:20"),
            caller=it,
            summary="第三季度定期巡检:港务大楼中心机房及冷链物流园调度中心",
            category=Category.PERIODIC_INSPECTION,
            request_type=RequestType.CONSULTATION,
            priority="P4",
            channel=Channel.PHONE,
            site="山东省荣成市石岛管理区港湾街88号 港务大楼三层 中心机房",
            appointment=Window(start=w.workday(6, "09:00"), end=w.workday(6, "17:00")),
        )
        .assign(w.workday(9, "15:30"))
        .respond(w.workday(9, "15:40"), "约定巡检时间及范围:5台网络、服务器及存储设备。")
        .resolve(
            w.workday(6, "16:30"),
            "巡检完成:设备运行正常;Dorado 3000 控制器固件建议在十一后升级。",
        )
        .close(w.workday(5, "10:00"), confirmed_by=it.name)
    )
    switch = (
        _Story("port-core-psu", lc)
        .open(
            w.workday(3, "09:20"),
            caller=site,
            summary="核心交换机B电源模块告警,单电源运行",
            category=Category.FAULT_RESCUE,
            request_type=RequestType.PROBLEM_REPORT,
            priority="P2",
            channel=Channel.PHONE,
            device_serial="FOC2334Y1AC",
            appointment=Window(start=w.workday(3, "09:30"), end=w.workday(2, "18:00")),
        )
        .assign(w.workday(3, "09:25"))
        .respond(w.workday(3, "09:41"), "确认PS2告警灯红色。约定远程查看日志,备件到货后更换。")
        .diagnose(
            w.workday(3, "11:40"),
            "show environment:PS2 (PWR-C1-715WAC-P) 输出故障,需更换电源模块。",
            hardware=True,
        )
        .shipped(w.workday(3, "14:10"), "Cisco TAC RMA 已发货", actor=ENGINEER_2)
        .part_arrived(w.workday(2, "11:20"), "电源模块到达港务大楼")
        .resolve(w.workday(2, "14:30"), "已热插拔更换PS2,双电源冗余恢复,无业务中断。")
        .close(w.workday(1, "10:00"), confirmed_by=it.name)
    )
    return [inspection, switch]
