"""Rule A6 of the assessment report (issue 16, docs/documents.md): a model past its end of
support, or within the contract's warning months of it, from the contract's ``models``
catalogue, on the document's day in the desk's zone (time injected), on both back ends."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import msgspec
import pytest
from documents_story import ROOT, SH, make_runtime
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from core.contract import ModelLifecycle
from core.documents.assessment import RULES, add_months, end_of_support_advice
from core.documents.model import AssessmentDoc, DeviceRow
from core.documents.service import build_document
from core.loaded import ContractSet
from core.sources.contracts import load_contracts

HOSPITAL = "wdkn-hospital-2026"
SWITCH = "Cisco Catalyst 2960X-48TS-L"  # end of support 2027-10-31 in the demo contract
SWITCH_SERIAL = "FOC2211X0RB"


@pytest.fixture(scope="module")
def contracts() -> ContractSet:
    return load_contracts([ROOT / "contracts"])


def a6(doc: AssessmentDoc) -> list[tuple[str, str]]:
    return [(a.level, a.subject) for a in doc.advice if a.rule == "A6" and a.level != "low"]


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (datetime(2026, 10, 30, 12, 0, tzinfo=SH), []),  # 12 months + 1 day ahead
        # 2026-10-30 16:30 UTC is already 31 October in Weihai: 12 months ahead exactly
        (datetime(2026, 10, 30, 16, 30, tzinfo=UTC), [("medium", SWITCH)]),
        (datetime(2027, 10, 31, 23, 59, tzinfo=SH), [("medium", SWITCH)]),  # its last day
        (datetime(2027, 11, 1, 0, 0, tzinfo=SH), [("high", SWITCH)]),
    ],
)
def test_the_rule_fires_within_the_warning_months_and_past_the_date(
    engine: Engine,
    sessions: sessionmaker[Session],
    contracts: ContractSet,
    tmp_path: Path,
    now: datetime,
    expected: list[tuple[str, str]],
) -> None:
    runtime = make_runtime(engine, sessions, contracts, tmp_path)
    with runtime.sessions() as session:
        doc = build_document(
            session, contracts, "assessment", HOSPITAL, now=now, tz="Asia/Shanghai"
        )
    assert isinstance(doc, AssessmentDoc)
    assert a6(doc) == expected
    for advice in doc.advice:
        if advice.rule == "A6" and advice.level != "low":
            assert advice.evidence[0] == SWITCH_SERIAL and "2027-10-31" in advice.evidence[1]
    (switch,) = [d for d in doc.devices if d.device.serial == SWITCH_SERIAL]
    assert switch.end_of_support == date(2027, 10, 31)
    # the models without a date are listed once, to be recorded
    (unknown,) = [a for a in doc.advice if a.rule == "A6" and a.level == "low"]
    assert SWITCH not in unknown.evidence and "HPE ProLiant DL380 Gen10" in unknown.evidence
    assert "A6" in [r.id for r in RULES]


def rows(*models: str) -> list[DeviceRow]:
    return [DeviceRow(serial=f"S{i}", model=m, site=None) for i, m in enumerate(models)]


def test_the_warning_months_are_the_contracts(contracts: ContractSet) -> None:
    hospital = contracts.get(HOSPITAL).contract
    devices = rows(f"{SWITCH} (ward A)", f"{SWITCH} (ward B)", "Huawei OceanStor 5510 V5")
    day = date(2027, 5, 1)  # six months before the end of support
    advice = end_of_support_advice(hospital, devices, day)
    assert [(a.rule, a.level, a.subject) for a in advice] == [
        ("A6", "medium", SWITCH),
        ("A6", "low", "Huawei OceanStor 5510 V5"),
    ]
    assert advice[0].evidence[:2] == ["S0", "S1"] and "2 device(s)" in advice[0].text
    for months, fires in ((6, True), (5, False), (0, False)):
        contract = msgspec.structs.replace(hospital, end_of_support_warning_months=months)
        found = [a.level for a in end_of_support_advice(contract, devices, day)]
        assert ("medium" in found) is fires
    dated = msgspec.structs.replace(
        hospital,
        models={SWITCH: ModelLifecycle(end_of_support=date(2027, 4, 30))},
        end_of_support_warning_months=0,
    )
    assert [a.level for a in end_of_support_advice(dated, devices, day)] == ["high", "low"]


@pytest.mark.parametrize(
    ("day", "months", "later"),
    [
        (date(2026, 10, 31), 12, date(2027, 10, 31)),
        (date(2026, 8, 31), 6, date(2027, 2, 28)),
        (date(2027, 8, 31), 6, date(2028, 2, 29)),
        (date(2026, 1, 15), 0, date(2026, 1, 15)),
        (date(2026, 12, 1), 1, date(2027, 1, 1)),
    ],
)
def test_months_ahead_end_on_the_shorter_months_last_day(
    day: date, months: int, later: date
) -> None:
    assert add_months(day, months) == later
