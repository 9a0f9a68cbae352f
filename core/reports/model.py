"""What a report holds: plain msgspec Structs, the same whatever the back end or the format.

Durations are whole seconds; percentiles use the nearest-rank definition (docs/reports.md):
the p-th percentile of n sorted values is the value at rank ceil(p·n/100), so it is always a
value that occurred, and both back ends compute it the same way in SQL.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from enum import StrEnum

import msgspec

from core.reports.period import ReportPeriod

DIMENSIONS = ("service_type", "priority", "channel", "zone", "request_type")


class CountRow(msgspec.Struct, frozen=True, kw_only=True):
    """Cases opened in the period with one value of one dimension (``all``/``*``: every case)."""

    dimension: str  # one of DIMENSIONS, or "all"
    key: str  # the value ("P1", "phone", "市内"); "(none)" when the case has none
    cases: int
    resolved: int
    closed: int
    open: int
    breached: int  # cases with at least one breached clock
    emergency: int


class TimelineEntry(msgspec.Struct, frozen=True, kw_only=True):
    seq: int
    at: datetime
    kind: str
    actor: str
    visibility: str


class MajorCase(msgspec.Struct, frozen=True, kw_only=True):
    """A P1 case opened in the period, with its handling timeline."""

    number: str
    summary: str
    service_type: str
    status: str
    opened_at: datetime
    resolved_at: datetime | None
    closed_at: datetime | None
    breached: bool
    timeline: list[TimelineEntry]


class ClockRow(msgspec.Struct, frozen=True, kw_only=True):
    """SLA compliance of one clock kind over the period's cases.

    ``met``: stopped on time; ``breached``: past its deadline (stopped late, or running
    late at ``now``); ``excluded``: carries an exclusion cause (R-QUAL); compliance is
    ``met / (met + breached - breached_excluded)``, None when nothing was decided yet."""

    kind: str
    clocks: int
    met: int
    breached: int
    running: int
    paused: int  # paused at ``now``
    cancelled: int
    paused_clocks: int  # clocks that were paused at least once
    pauses: int  # pause intervals recorded (ended pauses plus the ones running now)
    excluded: int
    breached_excluded: int
    compliance: float | None


class ExclusionRow(msgspec.Struct, frozen=True, kw_only=True):
    kind: str
    cause: str
    clocks: int


class Percentiles(msgspec.Struct, frozen=True, kw_only=True):
    """Nearest-rank percentiles of a duration in seconds; all None when ``count`` is 0."""

    measure: str  # first_response, resolution
    priority: str  # "*" for every priority
    count: int
    p50: int | None
    p90: int | None
    p95: int | None


class FirstTimeFix(msgspec.Struct, frozen=True, kw_only=True):
    """Resolved cases fixed the first time: never re-opened, at most one on-site visit."""

    resolved: int
    fixed_first_time: int
    reopened: int
    revisited: int  # resolved with two or more on-site arrivals
    rate: float | None


class RmaRow(msgspec.Struct, frozen=True, kw_only=True):
    """RMA orders opened in the period by vendor channel; turnaround is opened → delivered
    (or closed, when no delivery was recorded), in seconds, nearest-rank percentiles."""

    vendor: str
    orders: int
    done: int
    open: int
    cancelled: int
    rejected: int
    p50: int | None
    p90: int | None
    max: int | None


class SatisfactionPoint(msgspec.Struct, frozen=True, kw_only=True):
    """One period of the satisfaction trend (filled by the quality module)."""

    period: str
    cases: int
    answered: int
    unanswered: int
    handbook_score: float | None  # sum of scores / cases, unanswered per the contract setting
    answers_score: float | None  # sum of scores / answers
    target: float
    met: bool | None


class SatisfactionSection(msgspec.Struct, frozen=True, kw_only=True):
    """Satisfaction trend and complaint counts; ``available`` False until the quality
    module provides them (``note`` says why)."""

    available: bool
    note: str
    unanswered_rule: str | None = None
    trend: list[SatisfactionPoint] = []
    complaints_opened: int | None = None
    complaints_closed: int | None = None
    complaints_open: int | None = None
    complaint_first_reply_breaches: int | None = None


NOT_AVAILABLE = SatisfactionSection(
    available=False, note="satisfaction and complaints are not recorded yet"
)


class Report(msgspec.Struct, frozen=True, kw_only=True):
    contract_id: str
    customer_id: str
    customer_name: str
    period: ReportPeriod
    generated_at: datetime
    statistics: list[CountRow]
    major_total: int  # P1 cases opened in the period; the latest of them are listed
    major_cases: list[MajorCase]
    sla: list[ClockRow]
    exclusions: list[ExclusionRow]
    first_time_fix: FirstTimeFix
    percentiles: list[Percentiles]
    rma: list[RmaRow]
    satisfaction: SatisfactionSection

    def totals(self) -> CountRow | None:
        return next((r for r in self.statistics if r.dimension == "all"), None)


# the quality module's hook: (session, contract id, period, now) → its section
SatisfactionProvider = Callable[[object, str, ReportPeriod, datetime], SatisfactionSection]


def no_satisfaction(
    session: object, contract_id: str, period: ReportPeriod, now: datetime
) -> SatisfactionSection:
    """The provider until the quality module lands: says the section is not available."""
    return NOT_AVAILABLE


class RunState(StrEnum):
    """A report run's state (report_runs.state): its own vocabulary, not an outbox row's."""

    CLAIMED = "claimed"
    SENT = "sent"
    FAILED = "failed"
    DEAD = "dead"
