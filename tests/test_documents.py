"""The documents of R-MAINT (issue 16 §2, docs/documents.md) built from a known record (the
port's first quarter of 2026, tests/documents_story.py) on both back ends: exact figures, the
advice its rules give, well-formed HTML with the Chinese, one PDF read back, the errors."""

from __future__ import annotations

import io
import shutil
import subprocess
from datetime import datetime
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from documents_story import (
    CISCO,
    CORE_A,
    CORE_B,
    ENG,
    EXPERT,
    NOW,
    PORT,
    ROOT,
    SERVER,
    SH,
    STORAGE,
    Story,
    make_runtime,
    tell,
)
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from core.commands import ProposeChange
from core.documents.model import (
    AssessmentDoc,
    ImplementationDoc,
    MaintenancePlanDoc,
    ManualDoc,
    StageSummaryDoc,
)
from core.documents.plan import schedule_in_words
from core.documents.render import render, to_html
from core.documents.service import build_document
from core.errors import InvalidField, NotFoundError
from core.loaded import ContractSet
from core.reports.period import InvalidPeriod
from core.runtime import Runtime
from core.sources.contracts import load_contracts

TZ = "Asia/Shanghai"
CUSTOMER = "荣成市石岛湾港务有限公司"
COLD_CHAIN_WLC = "219801A1NB8191Q0009X"
UNDATED = [
    CISCO,
    "H3C WX3520H wireless controller",
    "Huawei FusionServer 2288H V5",
    "Huawei OceanStor Dorado 3000 V6",
]


@pytest.fixture(scope="module")
def contracts() -> ContractSet:
    return load_contracts([ROOT / "contracts"])


@pytest.fixture
def runtime(
    engine: Engine, sessions: sessionmaker[Session], contracts: ContractSet, tmp_path: Path
) -> Runtime:
    return make_runtime(engine, sessions, contracts, tmp_path)


@pytest.fixture
def story(runtime: Runtime) -> Story:
    return tell(runtime)


def document(runtime: Runtime, kind: str, contract: str = PORT, **given: str) -> Any:
    with runtime.sessions() as session:
        return build_document(session, runtime.contracts, kind, contract, now=NOW, tz=TZ, **given)


def local(value: datetime | None) -> str:
    assert value is not None
    return value.astimezone(SH).strftime("%Y-%m-%d %H:%M")


# --- 维护计划 the maintenance plan ------------------------------------------------------------


@pytest.mark.parametrize(
    ("rule", "at", "words"),
    [
        ("FREQ=MONTHLY;BYMONTHDAY=1", "09:00", "每月 1日 09:00 / every month, on day 1, 09:00"),
        ("FREQ=WEEKLY;BYDAY=MO", "09:00", "每周 星期一 09:00 / every week, on Monday, 09:00"),
        (
            "FREQ=MONTHLY;INTERVAL=3;BYDAY=+1TU",
            "10:00",
            "每3个月 第1个星期二 10:00 / every 3 months, the 1st Tuesday, 10:00",
        ),
        (
            "FREQ=MONTHLY;BYDAY=-1FR",
            "16:00",
            "每月 倒数第1个星期五 16:00 / every month, the 1st Friday from the end, 16:00",
        ),
        ("FREQ=MONTHLY;BYSETPOS=2;BYDAY=MO", "09:00", "FREQ=MONTHLY;BYSETPOS=2;BYDAY=MO 09:00"),
        (
            "FREQ=YEARLY;BYMONTH=6,12;BYMONTHDAY=-1",
            "18:00",
            "每年 6月、12月 倒数第1日 18:00 / "
            "every year, in month 6, 12, on day 1st from the end, 18:00",
        ),
    ],
)
def test_a_schedule_in_words(rule: str, at: str, words: str) -> None:
    assert schedule_in_words(rule, at) == words


def test_the_plan_lists_schedules_next_inspections_devices_and_checklist(
    runtime: Runtime, story: Story
) -> None:
    doc = document(runtime, "plan")
    assert isinstance(doc, MaintenancePlanDoc)
    assert doc.header.customer_name == CUSTOMER and doc.header.project_manager == "王磊"
    core, cold = doc.plans
    assert (core.id, core.opened, cold.id, cold.opened) == (
        "monthly-core-room",
        1,
        "quarterly-cold-chain",
        0,
    )
    assert core.schedule.startswith("每月 1日 09:00")
    # 1 March 2026 is a Sunday, 1 May the Labour Day break: moved as the scheduler will
    assert [local(o.start) for o in core.next] == [
        "2026-03-02 09:00",
        "2026-04-01 09:00",
        "2026-05-06 09:00",
        "2026-06-01 09:00",
        "2026-07-01 09:00",
        "2026-08-03 09:00",
    ]
    assert core.next[0].moved is not None and "2026-03-01" in core.next[0].moved
    assert local(core.next[0].due) == "2026-03-05 17:30"
    assert [d.serial for d in core.devices] == [CORE_A, CORE_B, SERVER, STORAGE]
    assert core.devices[0].software_version == "17.9.3"  # the device record, not the contract
    assert [local(o.start) for o in cold.next] == ["2026-04-07 10:00", "2026-07-07 10:00"]
    assert [d.serial for d in cold.devices] == [COLD_CHAIN_WLC]
    assert [i.id for i in doc.checklist] == ["inspection-finished", "function-test-passed"]
    assert [d.id for d in doc.deliverables] == ["inspection-record"]


# --- 阶段服务总结 the stage summary -----------------------------------------------------------


def test_the_stage_summary_counts_the_quarters_record(runtime: Runtime, story: Story) -> None:
    doc = document(runtime, "summary", period="2026Q1")
    assert isinstance(doc, StageSummaryDoc)
    assert not doc.contract_end and doc.header.title.startswith("阶段服务总结")
    assert doc.header.period_label == "2026Q1"
    counts = {r.key: (r.cases, r.resolved, r.open) for r in doc.cases}
    assert counts == {
        "*": (4, 1, 3),
        "system_debugging": (2, 0, 2),
        "consulting": (1, 1, 0),
        "periodic_inspection": (1, 0, 1),
    }
    (inspection,) = doc.inspections
    assert (inspection.case_number, inspection.ok, inspection.findings) == (story.inspection, 1, 3)
    # the server's minor finding was corrected to ok by a later result: not listed
    assert [(f.serial, f.severity, f.follow_up) for f in doc.findings] == [
        (STORAGE, "minor", None),
        (CORE_A, "major", None),
        (CORE_B, "major", story.follow_up),
    ]
    assert doc.findings[2].follow_up_status == "new"
    upgrade, pending = doc.changes
    assert (upgrade.title, upgrade.decision, upgrade.reviewer) == (
        "IOS-XE 17.9.3 升级",
        "approved",
        EXPERT,
    )
    assert (upgrade.implemented_by, upgrade.implementation_note) == (ENG, "升级完成,业务验证正常")
    assert (pending.decision, pending.implemented_at) == (None, None)
    assert [(s.case_number, s.part, s.status) for s in doc.spares] == [
        (story.repeat, "电源模块 PWR-C1-715WAC", "requested")
    ]
    assert doc.rmas == []
    sla = {r.kind: (r.clocks, r.met) for r in doc.sla}
    assert sla["resolution"] == (4, 1) and sla["first_response"][0] == 4
    assert doc.open_total == 3
    assert [c.number for c in doc.open_cases] == [story.inspection, story.follow_up, story.repeat]
    assert [c.title for c in doc.open_changes] == ["存储控制器固件升级"]


def test_the_whole_contract_period_is_the_stage_report_at_contract_end(
    runtime: Runtime, story: Story
) -> None:
    doc = document(runtime, "summary")  # the default period: the contract's
    assert doc.contract_end and doc.header.title.startswith("合同期末阶段报告")
    assert doc.header.period_label == "2025-10-01..2026-09-30"
    assert next(r.cases for r in doc.cases if r.key == "*") == 4
    later = document(runtime, "summary", period="2026-03")
    assert later.cases == [] and later.inspections == [] and later.changes == []
    assert later.open_total == 3  # still open at `now`, whenever they were opened


# --- 实施方案/实施报告 -------------------------------------------------------------------------


def test_the_implementation_report_gives_the_plan_review_and_what_was_done(
    runtime: Runtime, story: Story
) -> None:
    doc = document(runtime, "implementation", case=story.upgrade)
    assert isinstance(doc, ImplementationDoc)
    assert doc.implemented and doc.header.title.startswith("实施报告")
    assert doc.device is not None and doc.device.serial == CORE_A
    assert (doc.status, doc.resolution) == ("resolved", "升级完成")
    done = doc.changes[0]
    assert done.plan == "1. 备份配置\n2. 升级\n3. 回退方案"
    assert (done.reviewer, local(done.reviewed_at), done.review_comment) == (
        EXPERT,
        "2026-02-02 13:05",
        "同意,夜间窗口实施",
    )
    assert (done.implemented_by, local(done.implemented_at)) == (ENG, "2026-02-03 09:05")
    (step,) = doc.work  # the device's record changed during the case
    assert (step.kind, step.actor, step.detail) == (
        "device_changed",
        ENG,
        f"{CORE_A}: software_version – → 17.9.3",
    )
    page = to_html(doc)
    for text in (
        "实施报告",
        "专家审核",
        "expert:park-jiho",
        "升级完成,业务验证正常",
        "尚未审核",
        "工作记录",
    ):
        assert text in page


def test_a_case_whose_changes_are_not_carried_out_gets_a_proposal(
    runtime: Runtime, story: Story
) -> None:
    plan = ProposeChange(
        title="电源冗余改造", change_kind="optimisation", major=False, plan="加装 PS2"
    )
    runtime.desk.propose_change(story.repeat, plan, actor=ENG, now=NOW)
    doc = document(runtime, "implementation", case=story.repeat)
    assert not doc.implemented and doc.header.title.startswith("实施方案")
    assert "一般变更无需审核" in to_html(doc)


# --- 评估报告及预防性建议 ----------------------------------------------------------------------


def test_the_assessment_advises_by_its_stated_rules(runtime: Runtime, story: Story) -> None:
    doc = document(runtime, "assessment", period="2026Q1")
    assert isinstance(doc, AssessmentDoc)
    advice = [(a.rule, a.level, a.subject, a.evidence) for a in doc.advice]
    assert advice == [
        ("A1", "high", CORE_B, [story.follow_up, story.repeat]),
        (
            "A2",
            "medium",
            CISCO,
            [
                f"{story.inspection} {CORE_A}: 端口 Gi1/0/48 CRC 错误",
                f"{story.inspection} {CORE_B}: 电源模块 PS2 告警",
            ],
        ),
        ("A3", "high", CORE_A, [story.inspection]),
        ("A3", "high", CORE_B, [story.inspection, story.follow_up]),
        ("A4", "medium", CISCO, [f"17.6.4: {CORE_B}", f"17.9.3: {CORE_A}"]),
        ("A5", "low", f"{SERVER}, {STORAGE}, {COLD_CHAIN_WLC}", [SERVER, STORAGE, COLD_CHAIN_WLC]),
        ("A6", "low", ", ".join(UNDATED), UNDATED),  # the port's contract has no models
    ]
    assert "建议根因分析" in doc.advice[0].text
    assert [r.id for r in doc.rules] == ["A1", "A2", "A3", "A4", "A5", "A6"]
    by_serial = {d.device.serial: d for d in doc.devices}
    assert [(f.category, f.cases) for f in by_serial[CORE_B].faults] == [("system_debugging", 2)]
    assert by_serial[CORE_A].findings == {"major": 1} and by_serial[SERVER].findings == {}


def test_a_quiet_period_gets_only_the_advice_from_the_device_records(
    runtime: Runtime, story: Story
) -> None:
    doc = document(runtime, "assessment", period="2026-04")
    # versions and end-of-support dates are the record as it stands
    assert [a.rule for a in doc.advice] == ["A4", "A5", "A6"]


# --- 维护手册模板 ------------------------------------------------------------------------------


def test_the_manual_of_a_model_holds_its_devices_history_and_public_knowledge(
    runtime: Runtime, story: Story
) -> None:
    doc = document(runtime, "manual", model=f"{CISCO} (core A)")  # the note is left off
    assert isinstance(doc, ManualDoc)
    assert doc.model == CISCO
    assert [(d.serial, d.software_version) for d in doc.devices] == [
        (CORE_A, "17.9.3"),
        (CORE_B, "17.6.4"),
    ]
    assert doc.fault_categories == {"system_debugging": 2, "consulting": 1}
    assert [f.serial for f in doc.findings] == [CORE_A, CORE_B]
    titles = [k.title for k in doc.known_problems]
    assert "9300 电源模块告警处理" in titles
    assert "内部:9300 调试口令" not in titles  # internal entries stay out of the customer's paper
    page = to_html(doc)
    assert "巡检记录表" in page and page.count("☐ 正常 ok") == 2 * 2  # devices × checklist


# --- rendering ---------------------------------------------------------------------------------


class Balanced(HTMLParser):
    """Every element closed in order (void elements aside)."""

    VOID = frozenset({"meta", "br", "hr", "img", "input", "link", "col", "wbr"})

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.problems: list[str] = []

    def handle_starttag(self, tag: str, attrs: Any) -> None:
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1] != tag:
            self.problems.append(f"</{tag}> closes {self.stack[-1:] or 'nothing'}")
        else:
            self.stack.pop()


def test_every_document_is_well_formed_html_with_the_chinese(
    runtime: Runtime, story: Story
) -> None:
    given: dict[str, dict[str, str]] = {
        "plan": {},
        "summary": {"period": "2026Q1"},
        "implementation": {"case": story.upgrade},
        "assessment": {"period": "2026Q1"},
        "manual": {"model": CISCO},
    }
    for kind, params in given.items():
        doc = document(runtime, kind, **params)
        page = render(doc, "html").decode("utf-8")
        checker = Balanced()
        checker.feed(page)
        checker.close()
        assert checker.problems == [] and checker.stack == [], kind
        assert CUSTOMER in page and doc.header.title.split(" ")[0] in page, kind
        assert " src=" not in page and "<link" not in page  # self-contained: nothing fetched
        assert render(doc, "json").startswith(b'{"type":"' + kind.encode())


def _pdf_text(pdf: bytes, tmp: Path) -> str:
    if shutil.which("pdftotext"):
        (tmp / "d.pdf").write_bytes(pdf)
        subprocess.run(["pdftotext", "-enc", "UTF-8", str(tmp / "d.pdf")], check=True)
        return (tmp / "d.txt").read_text("utf-8")
    import pypdf

    return "".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(pdf)).pages)


@pytest.mark.parametrize(
    "db_url", ["sqlite"], indirect=True
)  # the PDF does not depend on the back end: rendered once (slow)
def test_the_assessment_as_a_pdf_reads_back_in_chinese(
    db_url: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    runtime = request.getfixturevalue("runtime")
    request.getfixturevalue("story")
    pdf = render(document(runtime, "assessment", period="2026Q1"), "pdf")
    assert pdf.startswith(b"%PDF-")
    text = _pdf_text(pdf, tmp_path)
    for expected in (CUSTOMER, "评估报告及预防性建议", "预防性建议", "建议根因分析", "电源模块"):
        assert expected in text
    import pypdf

    fonts = {
        str(ref.get_object()["/BaseFont"])
        for page in pypdf.PdfReader(io.BytesIO(pdf)).pages
        for ref in page["/Resources"].get("/Font", {}).values()
    }
    assert any("CJK" in f for f in fonts), fonts


# --- errors ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "contract", "given", "error", "message"),
    [
        ("plan", "nosuch", {}, NotFoundError, "unknown contract"),
        ("implementation", PORT, {"case": "MS-2026-999999"}, NotFoundError, "no case"),
        ("manual", PORT, {"model": "Nokia 7750"}, NotFoundError, "Cisco Catalyst 9300-48P-E"),
        ("summary", PORT, {"period": "2026Q5"}, InvalidPeriod, "2026Q5"),
        ("assessment", PORT, {"period": "last year"}, InvalidPeriod, "last year"),
        ("implementation", PORT, {}, InvalidField, "needs a case"),
        ("manual", PORT, {}, InvalidField, "needs a model"),
        ("plan", PORT, {"period": "2026Q1"}, InvalidField, "takes no period"),
        ("brochure", PORT, {}, InvalidField, "not a document kind"),
    ],
)
def test_bad_requests_are_typed_errors(
    runtime: Runtime,
    kind: str,
    contract: str,
    given: dict[str, str],
    error: type[Exception],
    message: str,
) -> None:
    with pytest.raises(error, match=message):
        document(runtime, kind, contract, **given)


def test_a_case_without_a_change_plan_or_of_another_contract_has_no_implementation_document(
    runtime: Runtime, story: Story
) -> None:
    with pytest.raises(NotFoundError, match="no change plan"):
        document(runtime, "implementation", case=story.follow_up)
    with pytest.raises(NotFoundError, match="no case"):
        document(runtime, "implementation", "wdkn-hospital-2026", case=story.upgrade)


def test_the_demos_hospital_gets_every_document(db_url: str, tmp_path: Path) -> None:
    """The demo's record (cli/demo): the banner's example request works on it."""
    from cli.demo import HOSPITAL, seed_demo
    from core.runtime import build_runtime
    from core.settings import Settings

    settings = Settings(
        database_url=db_url, contracts_dir=str(ROOT / "contracts"), var_dir=str(tmp_path / "var")
    )
    now = datetime(2026, 11, 25, 17, 5, tzinfo=SH)
    runtime = build_runtime(settings, clock=lambda: now)
    try:
        numbers = seed_demo(runtime, now=now).numbers
        with runtime.sessions() as session:

            def build(kind: str, **given: str) -> Any:
                return build_document(
                    session, runtime.contracts, kind, HOSPITAL, now=now, tz=TZ, **given
                )

            summary = build("summary")
            assessment = build("assessment")
            plan = build("plan")
        assert summary.contract_end and numbers["weekly-inspection"] in {
            i.case_number for i in summary.inspections
        }
        follow_up = numbers["weekly-inspection/follow-up"]
        assert follow_up in {f.follow_up for f in summary.findings}
        assert any(a.rule == "A3" or a.rule == "A5" for a in assessment.advice)
        assert plan.plans and all(p.devices for p in plan.plans)
        for doc in (summary, assessment, plan):
            assert "威海市文登区康宁医院" in to_html(doc)
    finally:
        runtime.close()
