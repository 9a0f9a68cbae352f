"""Clock arithmetic without a database: pauses on business time, outcomes, alert planning."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from core import clocks
from core.calendar import Calendar
from core.contract import EscalationStep

SH = ZoneInfo("Asia/Shanghai")
WORK = Calendar.weekly("Asia/Shanghai", range(5), time(8, 30), time(17, 30))
DUTY = Calendar.always("Asia/Shanghai")


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=SH)


@dataclass
class Row:
    kind: str = "resolution"
    state: str = clocks.RUNNING
    calendar: str = "working-hours"
    target: str = "8h on working-hours"
    rule: str = ""
    started_at: datetime = field(default_factory=lambda: at("2026-10-14T09:00"))
    deadline: datetime = field(default_factory=lambda: at("2026-10-15T09:00"))
    paused_at: datetime | None = None
    pause_cause: str | None = None
    pauses: list[Any] = field(default_factory=list)
    met_at: datetime | None = None
    breached_at: datetime | None = None
    exclusion_cause: str | None = None
    exclusion_note: str | None = None
    alert_level: int = 0
    next_alert_at: datetime | None = None


LADDER = clocks.ladder_for(
    [
        EscalationStep(at="100% + 2h", notify=["general-manager"]),
        EscalationStep(at="50%", notify=["engineer"]),
        EscalationStep(at="80%", notify=["service-manager"], clocks=["first_response"]),
        EscalationStep(at="100%", notify=["project-manager"], priorities=["P1"]),
    ],
    "resolution",
    "P2",
)


def test_ladder_keeps_matching_rungs_in_firing_order() -> None:
    assert [(a.fraction, a.offset) for a in LADDER] == [
        (0.5, timedelta(0)),
        (1.0, timedelta(hours=2)),
    ]


@pytest.mark.parametrize("text", ["80", "%", "100% + 2d", "1000%"])
def test_bad_escalation_point_is_a_typed_error(text: str) -> None:
    with pytest.raises(clocks.ClockError):
        clocks.parse_at(text)


def test_pause_on_business_time_moves_the_deadline_by_open_time_lost() -> None:
    row = Row()  # 9 h of working time: Wed 09:00 → Thu 09:00
    clocks.pause(row, at("2026-10-14T16:30"), "waiting for the customer's logs")
    assert row.next_alert_at is None
    # resumed Friday 10:00: 1.5 h were left at 16:30 Wed (16:30-17:30 and 08:30-09:00)
    clocks.resume(row, at("2026-10-16T10:00"), WORK, LADDER)
    assert row.deadline == at("2026-10-16T11:30")
    assert row.pauses == [
        {
            "start": at("2026-10-14T16:30").isoformat(),
            "end": at("2026-10-16T10:00").isoformat(),
            "cause": "waiting for the customer's logs",
        }
    ]
    assert row.state == clocks.RUNNING and row.next_alert_at is not None


def test_pause_needs_a_cause_and_a_running_clock() -> None:
    row = Row()
    with pytest.raises(clocks.ClockError, match="cause"):
        clocks.pause(row, at("2026-10-14T10:00"), "  ")
    clocks.stop(row, at("2026-10-14T10:00"))
    with pytest.raises(clocks.ClockError, match="cannot pause"):
        clocks.pause(row, at("2026-10-14T11:00"), "x")


def test_pause_after_the_deadline_does_not_forgive_the_breach() -> None:
    deadline = at("2026-10-15T09:00")
    later = clocks.shift_for_pause(deadline, at("2026-10-15T10:00"), at("2026-10-16T10:00"), WORK)
    assert later == deadline


def test_replan_reapplies_past_pauses() -> None:
    row = Row(calendar="duty", deadline=at("2026-10-15T09:00"))
    clocks.pause(row, at("2026-10-14T10:00"), "x")
    clocks.resume(row, at("2026-10-14T13:00"), DUTY, LADDER)
    assert row.deadline == at("2026-10-15T12:00")
    clocks.replan(row, at("2026-10-14T17:00"), DUTY, LADDER)  # higher priority: 8 h target
    assert row.deadline == at("2026-10-14T20:00")


def test_stop_decides_met_or_breached() -> None:
    on_time, late = Row(), Row()
    clocks.stop(on_time, at("2026-10-15T08:59"))
    clocks.stop(late, at("2026-10-15T09:01"))
    assert (on_time.state, on_time.breached_at) == (clocks.MET, None)
    assert (late.state, late.breached_at) == (clocks.BREACHED, at("2026-10-15T09:00"))
    with pytest.raises(clocks.ClockError, match="already"):
        clocks.stop(late, at("2026-10-15T10:00"))


def test_note_breach_once() -> None:
    row = Row()
    assert not clocks.note_breach(row, at("2026-10-15T09:00"))
    assert clocks.note_breach(row, at("2026-10-15T09:01"))
    assert not clocks.note_breach(row, at("2026-10-15T10:00"))
    assert clocks.is_breached(row, at("2026-10-15T10:00"))


def test_alerts_fire_at_a_share_of_open_time_then_after_the_deadline() -> None:
    row = Row()
    clocks.plan_alerts(row, WORK, LADDER)
    assert row.next_alert_at == at("2026-10-14T13:30")  # 4.5 of the 9 working hours
    row.alert_level = 1
    clocks.plan_alerts(row, WORK, LADDER)
    assert row.next_alert_at == at("2026-10-15T11:00")  # deadline + 2 h wall clock
    row.alert_level = 2
    clocks.plan_alerts(row, WORK, LADDER)
    assert row.next_alert_at is None


def test_exclusion_takes_only_the_contract_causes() -> None:
    row = Row()
    with pytest.raises(clocks.ClockError, match="not in this contract"):
        clocks.exclude(row, "typhoon", "", ["force-majeure"])
    clocks.exclude(row, "force-majeure", "typhoon Muifa", ["force-majeure"])
    assert (row.exclusion_cause, row.exclusion_note) == ("force-majeure", "typhoon Muifa")
