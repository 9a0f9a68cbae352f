"""The scheduler's maintenance work: open the inspections of maintenance plans that are due.

Each pass computes, for every plan of every contract, the occurrences whose start lies in
``(now - catch_up, now]``, leaves out those already claimed (one indexed query), and opens the
rest in batches, one transaction each (core.desk.maintenance.open_inspections: the unique
claim makes a second scheduler skip what the first opened). Plan health (which occurrences
were opened, late, missed) is ``plan_health``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any
from weakref import WeakKeyDictionary

from core import clocks
from core.errors import CasetrackError
from core.maintenance import Occurrence, next_start, occurrences
from core.store import inspections, orm
from core.store.logsafe import describe

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from core.contract import Contract
    from core.loaded import ContractSet, LoadedContract
    from core.runtime import Runtime

__all__ = ["BATCH", "InspectionPass", "due_occurrences", "inspection_pass", "plan_health"]

BATCH = 50  # occurrences claimed and opened per transaction


@dataclass
class InspectionPass:
    """What one pass did: inspections opened, occurrences another scheduler had claimed."""

    due: int = 0
    opened: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def quiet(self) -> bool:
        return not (self.opened or self.errors)

    def line(self) -> str:
        return f"inspections: {self.due} due, {len(self.opened)} opened"


def due_occurrences(
    contracts: ContractSet, *, now: datetime, catch_up: timedelta
) -> list[Occurrence]:
    """Every plan's occurrences starting in ``(now - catch_up, now]``."""
    found: list[Occurrence] = []
    after = now - catch_up
    for lc in contracts.contracts.values():
        for plan in lc.contract.maintenance_plans:
            found += occurrences(lc, plan, after, now)
    return found


class Planner:
    """Per desk, each plan's next start as last computed: a pass looks only at the plans
    whose next start has come (an idle pass over 10k plans is a dictionary walk). Recomputed
    when the contracts were reloaded (another Contract object) or time went backwards."""

    def __init__(self) -> None:
        self.next: dict[tuple[int, str], tuple[Contract, datetime | None, datetime]] = {}

    def waiting(self, contracts: ContractSet, now: datetime) -> list[tuple[LoadedContract, Any]]:
        found = []
        for lc in contracts.contracts.values():
            for plan in lc.contract.maintenance_plans:
                known = self.next.get((id(lc.contract), plan.id))
                fresh = known is not None and known[0] is lc.contract and known[2] <= now
                if not fresh or (known is not None and known[1] is not None and known[1] <= now):
                    found.append((lc, plan))
        return found

    def planned(self, lc: LoadedContract, plan: Any, now: datetime) -> None:
        self.next[(id(lc.contract), plan.id)] = (lc.contract, next_start(lc, plan, now), now)


_PLANNERS: WeakKeyDictionary[object, Planner] = WeakKeyDictionary()


def planner_of(runtime: Runtime) -> Planner:
    return _PLANNERS.setdefault(runtime.desk, Planner())


def inspection_pass(runtime: Runtime, *, now: datetime, batch: int = BATCH) -> InspectionPass:
    """Open the due inspections not yet opened; a failure is reported, not raised."""
    report = InspectionPass()
    catch_up = timedelta(days=runtime.settings.inspection_catch_up_days)
    if not catch_up:
        return report  # inspection_catch_up_days = 0: this scheduler opens no inspections
    planner = planner_of(runtime)
    try:
        waiting = planner.waiting(runtime.contracts, now)
        due = [o for lc, plan in waiting for o in occurrences(lc, plan, now - catch_up, now)]
        report.due = len(due)
        if due:
            with runtime.sessions() as session:
                taken = inspections.claimed_since(session, now - catch_up - timedelta(days=1))
            todo = [o for o in due if inspections.key_of(o) not in taken]
            for start in range(0, len(todo), batch):
                report.opened += runtime.desk.open_inspections(todo[start : start + batch], now=now)
        for lc, plan in waiting:
            planner.planned(lc, plan, now)
    except CasetrackError as exc:
        report.errors.append(f"inspections: {exc.detail}")
    except Exception as exc:  # database away: the next pass tries again, nothing is lost
        report.errors.append(f"inspections: {describe(exc)}")
    return report


# --- plan health ---------------------------------------------------------------------------------


def plan_health(
    session: Session, contracts: ContractSet, *, now: datetime, catch_up: timedelta
) -> list[dict[str, Any]]:
    """Per plan: its occurrences so far in the period, which were opened (and whether the
    inspection is late: its clock breached), which were missed (never opened and past the
    catch-up), and the next one."""
    shown: list[dict[str, Any]] = []
    for lc in contracts.contracts.values():
        for plan in lc.contract.maintenance_plans:
            shown.append(_health(session, lc, plan.id, now=now, catch_up=catch_up))
    return shown


def _health(
    session: Session, lc: LoadedContract, plan_id: str, *, now: datetime, catch_up: timedelta
) -> dict[str, Any]:
    plan = next(p for p in lc.contract.maintenance_plans if p.id == plan_id)
    start = datetime.combine(lc.contract.period.start, datetime.min.time(), UTC) - timedelta(days=2)
    past = list(occurrences(lc, plan, start, now))
    upcoming = next(iter(occurrences(lc, plan, now, now + timedelta(days=400))), None)
    rows = {row.nominal_at: row for row in inspections.opened_for(session, lc.id, plan.id)}
    opened, missed = [], []
    for occ in past:
        row = rows.get(occ.nominal.astimezone(UTC))
        if row is None:
            if occ.start <= now - catch_up:
                missed.append(occ.start.isoformat())
            continue
        opened.append(_opened(session, row, now))
    return {
        "contract_id": lc.id,
        "plan": plan.id,
        "title": plan.title,
        "rrule": plan.rrule,
        "on_closed_day": plan.on_closed_day,
        "opened": opened,
        "late": sum(1 for o in opened if o["late"]),
        "missed": missed,
        "next": upcoming.start.isoformat() if upcoming is not None else None,
    }


def _opened(session: Session, row: orm.Inspection, now: datetime) -> dict[str, Any]:
    case = session.get(orm.Case, row.case_id) if row.case_id is not None else None
    late = False
    if case is not None:
        late = any(c.kind == "resolution" and clocks.is_breached(c, now) for c in case.clocks)
    return {
        "case": row.case_number,
        "start": row.start_at.isoformat(),
        "due": row.due_at.isoformat(),
        "status": case.status if case is not None else None,
        "late": late,
    }
