"""Re-planning provisional clocks when a year's published holiday data arrives."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select

from core import clocks, sla
from core.contract import Device
from core.desk.base import DeskBase
from core.desk.work import PRIORITY_CLOCKS, _priority_deadline
from core.errors import CalendarError, ConflictError, SlaError
from core.events import ClocksReplanned, ReplannedClock
from core.loaded import LoadedContract
from core.store import orm

# how often one case is tried when a concurrent command changed it meanwhile
_ATTEMPTS = 3


class HorizonCommands(DeskBase):
    """``replan_provisional``: the clocks planned past the holiday data, planned again."""

    def replan_provisional(self, *, now: datetime) -> list[dict[str, Any]]:
        """Recompute every running or paused provisional clock from its start, past pauses
        re-applied, on the contracts' current holiday data; one ``clocks_replanned`` event
        per case whose clocks moved or stopped being provisional. Returns what changed:
        ``[{"case": number, "clocks": [{"clock", "from", "to", "provisional"}]}]``.

        Idempotent: with unchanged data nothing is recorded. Called after a contract reload
        and at start-up (a new package or holiday file may have brought the year).
        """
        with self.sessions() as session:
            numbers = session.scalars(
                select(orm.Case.number)
                .join(orm.SlaClock, orm.SlaClock.case_id == orm.Case.id)
                .where(orm.SlaClock.provisional.is_(True))
                .where(orm.SlaClock.state.in_(sorted(clocks.ACTIVE)))
                .distinct()
                .order_by(orm.Case.number)
            ).all()
        changed = []
        for number in numbers:
            found = self._replan_case_horizon(number, now)
            if found:
                changed.append({"case": number, "clocks": found})
        return changed

    def _replan_case_horizon(self, number: str, now: datetime) -> list[dict[str, Any]]:
        for attempt in range(_ATTEMPTS):
            try:
                return self._replan_case_once(number, now)
            except ConflictError:
                if attempt == _ATTEMPTS - 1:
                    raise
        return []  # pragma: no cover - the loop returns or raises

    def _replan_case_once(self, number: str, now: datetime) -> list[dict[str, Any]]:
        with self._unit() as (session, events):
            case = self._load(session, number)
            lc = self.contracts.contracts.get(case.contract_id)
            if lc is None:  # the contract was removed: nothing to plan with
                return []
            moved = []
            for clock in case.clocks:
                if clock.provisional and clock.state in clocks.ACTIVE:
                    device = self._device(session, lc, case.device_serial)
                    found = self._replan_clock_horizon(case, clock, lc, device)
                    if found is not None:
                        moved.append(found)
            if moved:
                body = ClocksReplanned(
                    reason="holiday data", clocks=[_replanned(found) for found in moved]
                )
                events.append(self._record(session, case, body, "system", now))
                self._refresh(case, now)
            return moved

    def _replan_clock_horizon(
        self, case: orm.Case, clock: orm.SlaClock, lc: LoadedContract, device: Device | None
    ) -> dict[str, Any] | None:
        """The clock on the current data; None when nothing about it changes."""
        try:
            deadline = deadline_again(case, clock, lc, device)
        except (CalendarError, SlaError):
            return None  # still cannot be planned better: it stays as it is
        cal = lc.calendar(deadline.calendar)
        due = clocks.with_pauses(deadline.due, clock.pauses, cal)
        provisional = bool(deadline.provisional)
        if due == clock.deadline and provisional == clock.provisional:
            return None
        before = clock.deadline
        clock.target, clock.rule, clock.calendar = deadline.target, deadline.rule, deadline.calendar
        clock.provisional = provisional
        clocks.replan(clock, deadline.due, cal, self._ladder(lc, clock.kind, case.priority))
        return {
            "clock": clock.kind,
            "from": before,
            "to": clock.deadline,
            "provisional": provisional,
        }


def deadline_again(
    case: orm.Case, clock: orm.SlaClock, lc: LoadedContract, device: Device | None = None
) -> sla.Deadline:
    """The deadline of ``clock`` computed again from its start with the case's parameters
    (``device``: the case's device as the contract covers it, a replacement included)."""
    compute = PRIORITY_CLOCKS.get(clock.kind)
    if compute is not None:
        return _priority_deadline(compute, lc, case, clock.started_at)
    if device is None and case.device_serial:
        device = lc.contract.device(case.device_serial)
    return sla.due(
        lc,
        clock.kind,
        at=clock.started_at,
        priority=case.priority,
        zone=case.zone,
        emergency=case.emergency,
        device=device,
        shipped_at=_shipped_at(case),
    )


def _shipped_at(case: orm.Case) -> datetime | None:
    """When the spare part left (the ship clock's stop), for an arrival counted from it."""
    for clock in reversed(case.clocks):
        if clock.kind == "spare_ship" and clock.met_at is not None:
            return clock.met_at
    return None


def _replanned(found: dict[str, Any]) -> ReplannedClock:
    """A re-planned clock as ``replan_provisional`` reports it, as its event records it."""
    return ReplannedClock(
        clock=found["clock"],
        from_=found["from"],
        to=found["to"],
        provisional=found["provisional"],
    )
