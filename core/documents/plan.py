"""维护计划 The maintenance plan: each plan of the contract's ``maintenance-plans`` with its
schedule in words, its next occurrences on the contract's calendar (moved off closed days as
the scheduler will open them), the devices and sites it covers, and the inspection checklist
and deliverables of the periodic-inspection service type (with the contract's overrides)."""

from __future__ import annotations

import re
from datetime import datetime, time, timedelta
from itertools import islice

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.case import Category
from core.contract import MaintenancePlan
from core.documents.common import device_rows, header
from core.documents.model import Item, MaintenancePlanDoc, OccurrenceRow, PlanSection
from core.loaded import LoadedContract
from core.maintenance import MAX_MOVE_DAYS, devices_for, occurrences
from core.service_types import effective_service_type
from core.store import orm

NEXT_SHOWN = 6  # the next occurrences listed per plan
TITLE = "维护计划 Maintenance plan"
WEEKDAYS = {
    "MO": ("一", "Monday"),
    "TU": ("二", "Tuesday"),
    "WE": ("三", "Wednesday"),
    "TH": ("四", "Thursday"),
    "FR": ("五", "Friday"),
    "SA": ("六", "Saturday"),
    "SU": ("日", "Sunday"),
}
UNITS = {
    "DAILY": ("天", "day"),
    "WEEKLY": ("周", "week"),
    "MONTHLY": ("个月", "month"),  # 每月, 每3个月
    "YEARLY": ("年", "year"),
}
ORDINAL = re.compile(r"^([+-]?\d+)?([A-Z]{2})$")


def schedule_in_words(rule: str, at: str) -> str:
    """``FREQ=MONTHLY;INTERVAL=3;BYDAY=+1TU`` at 10:00 → ``每3个月 第1个星期二 10:00 / every 3
    months, the 1st Tuesday, 10:00``; a rule it cannot say is given as written."""
    parts = dict(p.split("=", 1) for p in rule.upper().split(";") if "=" in p)
    freq = parts.pop("FREQ", "")
    interval = int(parts.pop("INTERVAL", "1") or 1)
    if freq not in UNITS:
        return f"{rule} {at}"
    unit_zh, unit_en = UNITS[freq]
    zh = [f"每{unit_zh.removeprefix('个')}" if interval == 1 else f"每{interval}{unit_zh}"]
    en = [f"every {unit_en}" if interval == 1 else f"every {interval} {unit_en}s"]
    months = [m for m in parts.pop("BYMONTH", "").split(",") if m]
    if months:
        zh.append("、".join(f"{m}月" for m in months))
        en.append("in month " + ", ".join(months))
    days = [d for d in parts.pop("BYMONTHDAY", "").split(",") if d]
    if days:
        zh.append("、".join(f"{d}日" if int(d) > 0 else f"倒数第{-int(d)}日" for d in days))
        en.append(
            "on day "
            + ", ".join(d if int(d) > 0 else f"{_nth(-int(d))} from the end" for d in days)
        )
    for day in [d for d in parts.pop("BYDAY", "").split(",") if d]:
        match = ORDINAL.match(day)
        if match is None or match[2] not in WEEKDAYS:
            return f"{rule} {at}"
        number, (day_zh, day_en) = match[1], WEEKDAYS[match[2]]
        if number is None:
            zh.append(f"星期{day_zh}")
            en.append(f"on {day_en}")
        elif int(number) < 0:
            zh.append(f"倒数第{-int(number)}个星期{day_zh}")
            en.append(f"the {_nth(-int(number))} {day_en} from the end")
        else:
            zh.append(f"第{int(number)}个星期{day_zh}")
            en.append(f"the {_nth(int(number))} {day_en}")
    if parts.keys() - {"WKST"}:
        return f"{rule} {at}"
    return f"{' '.join(zh)} {at} / {', '.join(en)}, {at}"


def _nth(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _next(lc: LoadedContract, plan: MaintenancePlan, now: datetime) -> list[OccurrenceRow]:
    end = datetime.combine(lc.contract.period.end, time(), tzinfo=now.tzinfo)
    until = max(now, end) + timedelta(days=MAX_MOVE_DAYS + 2)
    found = islice(occurrences(lc, plan, now, until), NEXT_SHOWN)
    return [
        OccurrenceRow(nominal=o.nominal, start=o.start, due=o.due, moved=o.moved) for o in found
    ]


def _opened(session: Session, contract_id: str) -> dict[str, int]:
    i = orm.Inspection
    rows = session.execute(
        select(i.plan_id, func.count()).where(i.contract_id == contract_id).group_by(i.plan_id)
    )
    return {plan_id: count for plan_id, count in rows}


def build_plan(
    session: Session, lc: LoadedContract, *, now: datetime, tz: str
) -> MaintenancePlanDoc:
    contract = lc.contract
    opened = _opened(session, contract.id)
    service = effective_service_type(str(Category.PERIODIC_INSPECTION), contract.service_types)
    plans = [
        PlanSection(
            id=plan.id,
            title=plan.title,
            schedule=schedule_in_words(plan.rrule, plan.at),
            rrule=plan.rrule,
            at=plan.at,
            calendar=plan.calendar,
            on_closed_day=plan.on_closed_day,
            due_within=str(plan.due_within),
            priority=str(plan.priority),
            opened=opened.get(plan.id, 0),
            next=_next(lc, plan, now),
            devices=device_rows(session, contract, [d.serial for d in devices_for(contract, plan)]),
        )
        for plan in contract.maintenance_plans
    ]
    return MaintenancePlanDoc(
        header=header(lc, "plan", TITLE, now, tz),
        plans=plans,
        checklist=[Item(id=i.id, text=i.text) for i in service.checklist],
        deliverables=[Item(id=d.id, text=d.label) for d in service.deliverables],
    )
