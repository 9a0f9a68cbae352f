"""评估报告及预防性建议 The assessment report with preventive advice: per device of the contract
its fault cases by service type and its inspection findings over the period, and advice
derived from the record by the rules below (stated in the document too; docs/documents.md).

A model is the device's recorded model without a trailing note in brackets ("Cisco Catalyst
9300-48P-E (core A)" and "... (core B)" are one model; core.contract.device_model). Its end of
support (A6) is the contract's ``models`` catalogue's.
"""

from __future__ import annotations

import calendar
from collections import defaultdict
from collections.abc import Iterable
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from core.contract import Contract, ModelLifecycle, device_model
from core.documents.common import device_rows, header
from core.documents.model import (
    Advice,
    AssessmentDoc,
    DeviceAssessment,
    DeviceRow,
    FaultCount,
    FindingRow,
    Item,
)
from core.documents.summary import finding_rows
from core.loaded import LoadedContract
from core.reports.period import ReportPeriod
from core.store import document_sql

TITLE = "评估报告及预防性建议 Assessment report and preventive advice"
REPEATS = 2  # A1, A2: this many of the same kind is a pattern
DONE = ("resolved", "closed")
RULES = [
    Item(
        id="A1",
        text="同一设备本期同类故障 ≥2 次:建议根因分析,评估升级或更换。 A device with 2 or "
        "more cases of one service type in the period: root-cause analysis, consider an "
        "upgrade or replacement.",
    ),
    Item(
        id="A2",
        text="同一型号本期同一级别巡检发现 ≥2 次:建议对该型号全部设备专项检查。 A model "
        "with 2 or more inspection findings of one severity in the period: check every "
        "device of that model.",
    ),
    Item(
        id="A3",
        text="巡检发现尚未处理完毕(后续案件未解决,或严重/重大发现未开后续案件):建议尽快处理。 "
        "A finding not dealt with (its follow-up case unresolved, or a major or critical "
        "finding without one): deal with it first.",
    ),
    Item(
        id="A4",
        text="同一型号运行不同软件版本:建议经专家审核后统一版本。 One model running "
        "different software versions: align them, after the expert group's review.",
    ),
    Item(
        id="A5",
        text="设备档案缺少软件版本:建议补录运行环境和软件版本。 A device without a "
        "software version on record: record its environment and version.",
    ),
    Item(
        id="A6",
        text="型号已过停保日期,或距停保不足合同约定月数(end-of-support-warning-months,默认 12):"
        "建议更换或列入更换计划;未登记停保日期的型号列出,建议补录。 A model past its end of "
        "support, or within the contract's end-of-support-warning-months (12 unless set) of "
        "it: replace it, or plan its replacement; models without an end-of-support date on "
        "record are listed to be recorded.",
    ),
]


model_of = device_model  # the name web/documents.py and this module use


def build_assessment(
    session: Session, lc: LoadedContract, period: ReportPeriod, *, now: datetime, tz: str
) -> AssessmentDoc:
    contract = lc.contract
    serials = [d.serial for d in contract.devices]
    devices = device_rows(session, contract, serials)
    records = document_sql.device_rows(session, serials)
    counts = document_sql.fault_counts(session, contract.id, period.start, period.end, serials)
    findings = finding_rows(
        lc, document_sql.findings(session, contract.id, period.start, period.end)
    )
    faults: dict[str, list[FaultCount]] = defaultdict(list)
    for row in counts:
        faults[row["serial"]].append(FaultCount(**row))
    severities: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for f in findings:
        severities[f.serial][f.severity or "?"] += 1
    assessed = [
        DeviceAssessment(
            device=d,
            faults=faults.get(d.serial, []),
            findings=dict(severities.get(d.serial, {})),
            replaced_by=records[d.serial].replaced_by if d.serial in records else None,
            end_of_support=_eos_of(contract, d.model),
        )
        for d in devices
    ]
    advice = [
        *_recurring_faults(session, lc, period, counts),
        *_repeated_findings(devices, findings),
        *_open_findings(findings),
        *_mixed_versions(devices),
        *_record_gaps(devices),
        *end_of_support_advice(contract, devices, now.astimezone(ZoneInfo(tz)).date()),
    ]
    return AssessmentDoc(
        header=header(lc, "assessment", TITLE, now, tz, period),
        devices=assessed,
        findings=findings,
        advice=advice,
        rules=RULES,
    )


def _recurring_faults(
    session: Session,
    lc: LoadedContract,
    period: ReportPeriod,
    counts: Iterable[dict[str, Any]],
) -> list[Advice]:
    out = []
    for row in counts:
        if row["cases"] < REPEATS:
            continue
        numbers = document_sql.fault_cases(
            session, lc.id, period.start, period.end, row["serial"], row["category"]
        )
        out.append(
            Advice(
                rule="A1",
                level="high",
                subject=row["serial"],
                text=f"设备 {row['serial']} 本期 {row['category']} 案件 {row['cases']} 次:"
                f"建议根因分析,评估升级或更换。 {row['cases']} {row['category']} cases on "
                "this device in the period: find the root cause, consider an upgrade or "
                "replacement.",
                evidence=numbers,
            )
        )
    return out


def _repeated_findings(devices: list[DeviceRow], findings: list[FindingRow]) -> list[Advice]:
    model = {d.serial: model_of(d.model) for d in devices}
    groups: dict[tuple[str, str], list[FindingRow]] = defaultdict(list)
    for f in findings:
        groups[(model.get(f.serial, model_of(f.model or "?")), f.severity or "?")].append(f)
    out = []
    for (name, severity), rows in sorted(groups.items()):
        if len(rows) < REPEATS:
            continue
        out.append(
            Advice(
                rule="A2",
                level="high" if severity == "critical" else "medium",
                subject=name,
                text=f"型号 {name} 本期 {severity} 级巡检发现 {len(rows)} 次:"
                f"建议对该型号全部设备专项检查。 {len(rows)} {severity} findings on this model "
                "in the period: check every device of the model.",
                evidence=[f"{f.inspection} {f.serial}: {f.note}" for f in rows],
            )
        )
    return out


def _open_findings(findings: list[FindingRow]) -> list[Advice]:
    out = []
    for f in findings:
        serious = f.severity in ("major", "critical")
        if f.follow_up is None and not serious:
            continue
        if f.follow_up is not None and f.follow_up_status in DONE:
            continue
        what = (
            f"后续案件 {f.follow_up} 未解决 follow-up {f.follow_up} unresolved"
            if f.follow_up
            else "未开后续案件 no follow-up case"
        )
        out.append(
            Advice(
                rule="A3",
                level="high" if serious else "medium",
                subject=f.serial,
                text=f"巡检 {f.inspection} 的 {f.severity} 级发现({f.note}){what}:建议尽快处理。 "
                "Deal with this finding first.",
                evidence=[f.inspection] + ([f.follow_up] if f.follow_up else []),
            )
        )
    return out


def _mixed_versions(devices: list[DeviceRow]) -> list[Advice]:
    versions: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for d in devices:
        if d.software_version:
            versions[model_of(d.model)][d.software_version].append(d.serial)
    out = []
    for name, found in sorted(versions.items()):
        if len(found) < 2:
            continue
        out.append(
            Advice(
                rule="A4",
                level="medium",
                subject=name,
                text=f"型号 {name} 运行 {len(found)} 个软件版本:建议经专家审核后统一版本。 "
                f"{len(found)} software versions on one model: align them after the expert "
                "group's review.",
                evidence=[f"{v}: {', '.join(s)}" for v, s in sorted(found.items())],
            )
        )
    return out


def _record_gaps(devices: list[DeviceRow]) -> list[Advice]:
    missing = [d.serial for d in devices if not d.software_version]
    if not missing:
        return []
    return [
        Advice(
            rule="A5",
            level="low",
            subject=", ".join(missing),
            text=f"{len(missing)} 台设备档案缺少软件版本:建议补录运行环境和软件版本。 "
            f"{len(missing)} devices have no software version on record: record their "
            "environment and version.",
            evidence=missing,
        )
    ]


def add_months(day: date, months: int) -> date:
    """``day`` ``months`` later, on the month's last day when it is shorter (31 Aug + 6 → 28
    or 29 Feb)."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return day.replace(
        year=year, month=month, day=min(day.day, calendar.monthrange(year, month)[1])
    )


def _eos_of(contract: Contract, model: str) -> date | None:
    entry = contract.models.get(model_of(model))
    return entry.end_of_support if entry else None


def end_of_support_advice(
    contract: Contract, devices: list[DeviceRow], today: date
) -> list[Advice]:
    """A6: per model of the devices, past its end of support (high) or within the contract's
    warning months of it (medium) on ``today`` (the document's day in the desk's zone); the
    models without a date, once (low)."""
    serials: dict[str, list[str]] = defaultdict(list)
    for d in devices:
        serials[model_of(d.model)].append(d.serial)
    out = []
    for name, units in sorted(serials.items()):
        entry = contract.models.get(name)
        if entry is not None:
            out += _model_eos(name, units, entry, today, contract.end_of_support_warning_months)
    unknown = sorted(name for name in serials if name not in contract.models)
    if unknown:
        out.append(
            Advice(
                rule="A6",
                level="low",
                subject=", ".join(unknown),
                text=f"{len(unknown)} 个型号未登记停保日期,本报告不评估:建议在合同 models 中补录。 "
                f"{len(unknown)} models have no end-of-support date on record and are not "
                "assessed: record them in the contract's models.",
                evidence=unknown,
            )
        )
    return out


def _model_eos(
    name: str, units: list[str], entry: ModelLifecycle, today: date, months: int
) -> list[Advice]:
    eos = entry.end_of_support
    if eos > add_months(today, months):
        return []
    evidence = [*units, f"end of support {eos}" + (f" ({entry.source})" if entry.source else "")]
    if eos < today:
        text = (
            f"型号 {name} 已于 {eos} 停止支持:建议尽快更换(共 {len(units)} 台)。 Past its "
            f"end of support on {eos}: replace the {len(units)} device(s) soon."
        )
        return [Advice(rule="A6", level="high", subject=name, text=text, evidence=evidence)]
    text = (
        f"型号 {name} 将于 {eos} 停止支持({months} 个月内):建议列入更换计划(共 {len(units)} "
        f"台)。 End of support on {eos}, within {months} months: plan the replacement of the "
        f"{len(units)} device(s)."
    )
    return [Advice(rule="A6", level="medium", subject=name, text=text, evidence=evidence)]
