"""Contracts as YAML: the msgspec Structs that mirror ``contracts/*.yaml`` and ``tiers.yaml``.

Every Struct forbids unknown keys and uses kebab-case keys (``remote-access``), so a typo in a
contract is an error with a file:line:column, never a silently ignored clause. Defaults that
are ours rather than the handbook's are marked "(ours)" and listed in docs/contracts.md.
Loading lives in ``core.sources.contracts``, cross-checks in ``core.sources.checks``, calendar
building in ``core.contract_calendars`` and the JSON Schema in ``core.sources.schema``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Annotated, Any, Literal

import msgspec
from msgspec import Meta, field

from core.case import APPOINTMENT_CATEGORIES, NotifyRoleName, Priority
from core.service_types import ServiceTypeOverride

# --- scalar vocabularies -----------------------------------------------------------------------

DURATION_PATTERN = r"^\s*[0-9]+\s*(m|h|bd|d)\s*$"
DurationText = Annotated[
    str,
    Meta(
        pattern=DURATION_PATTERN,
        description="30m (minutes) / 4h (hours) of open time on the target's calendar, "
        "3bd (end of the 3rd business day after the start), 15d (calendar days).",
        examples=["30m", "4h", "3bd", "15d"],
    ),
]
TimeText = Annotated[
    str, Meta(pattern=r"^([01][0-9]|2[0-4]):[0-5][0-9]$", description="HH:MM", examples=["15:00"])
]
SpanText = Annotated[
    str,
    Meta(
        pattern=r"^\s*([01][0-9]|2[0-4]):[0-5][0-9]\s*-\s*([01][0-9]|2[0-4]):[0-5][0-9]\s*$",
        description="HH:MM-HH:MM; an end not after the start crosses midnight "
        "(00:00-24:00 is a whole day, 22:00-06:00 a night shift)",
        examples=["08:30-17:30", "00:00-24:00", "22:00-06:00"],
    ),
]
DaysText = Annotated[
    str,
    Meta(
        pattern=r"^\s*(mon|tue|wed|thu|fri|sat|sun)(\s*-\s*(mon|tue|wed|thu|fri|sat|sun))?"
        r"(\s*,\s*(mon|tue|wed|thu|fri|sat|sun)(\s*-\s*(mon|tue|wed|thu|fri|sat|sun))?)*\s*$",
        description="weekdays: mon, mon-fri, sat,sun",
        examples=["mon-fri", "sat,sun", "mon-sun"],
    ),
]
DateSpans = Annotated[
    dict[date, list[SpanText]],
    Meta(
        description="date (YYYY-MM-DD) -> that date's own spans, replacing its weekday's, "
        "holidays and make-up workdays; [] closes the date",
        extra_json_schema={"propertyNames": {"format": "date"}},
        examples=[{"2026-12-31": ["08:30-12:00"], "2026-11-11": []}],
    ),
]
Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
ClockKind = Literal[
    "first_response",
    "remote_access",
    "diagnosis",
    "onsite_arrival",
    "spare_ship",
    "spare_arrival",
    "resolution",
    "complaint_first_reply",
    "complaint_resolution",
    "progress_report",
    "part_return",
    "standby_return",
]
ExclusionCause = Literal[
    "incomplete-device-list",
    "late-fault-information",
    "vendor-defect",
    "force-majeure",
]
Identifier = Annotated[str, Meta(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$", max_length=64)]

RequestTypeName = Literal["consultation", "problem_report"]
ContactRole = Literal["site-lead", "maintenance-supervisor", "it-manager", "other"]

WEEKDAYS: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


# --- durations ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Duration:
    """A parsed duration: ``amount`` of ``unit`` (m, h: open time; bd: business days; d: days)."""

    amount: int
    unit: Literal["m", "h", "bd", "d"]

    @property
    def is_open_time(self) -> bool:
        """True for m/h, which are measured in open time on a calendar."""
        return self.unit in ("m", "h")

    @property
    def timedelta(self) -> timedelta:
        if self.unit == "m":
            return timedelta(minutes=self.amount)
        if self.unit == "h":
            return timedelta(hours=self.amount)
        if self.unit == "d":
            return timedelta(days=self.amount)
        raise ValueError(f"{self} counts business days, not a fixed time span")

    def __str__(self) -> str:
        return f"{self.amount}{self.unit}"


_DURATION = re.compile(DURATION_PATTERN)


def parse_duration(text: str) -> Duration:
    """``"30m"`` → Duration(30, "m"); raises ValueError naming the accepted forms."""
    match = _DURATION.match(text)
    if not match:
        raise ValueError(f"cannot parse duration {text!r}: expected e.g. 30m, 4h, 3bd, 15d")
    return Duration(int(text.strip()[: -len(match.group(1))].strip()), match.group(1))  # type: ignore[arg-type]


# --- building blocks ---------------------------------------------------------------------------


class Base(msgspec.Struct, frozen=True, forbid_unknown_fields=True, rename="kebab", kw_only=True):
    """Immutable, unknown keys rejected, kebab-case keys in YAML."""


class Person(Base, kw_only=True):
    """Someone we notify: one of our staff or a customer contact."""

    name: str
    phone: str | None = None
    mobile: str | None = None
    email: str | None = None


ContactRole = Literal["site-lead", "maintenance-supervisor", "it-manager", "other"]


class Contact(Person, kw_only=True):
    """A customer contact; the seed names site leads and the maintenance supervisor."""

    role: ContactRole
    site: str | None = None


class Customer(Base, kw_only=True):
    """The customer under contract (R-CASE caller info refers to it by id)."""

    id: Identifier
    name: str
    address: str | None = None
    contacts: list[Contact] = []


class OurStaff(Base, kw_only=True):
    """Our people on this contract: a dedicated project manager (R-MAINT) and service manager."""

    project_manager: Person
    service_manager: Person
    complaint_manager: Person | None = None
    spare_manager: Person | None = None


class Period(Base, kw_only=True):
    """The contract's validity, inclusive dates."""

    start: date
    end: date


class CalendarSpec(Base, kw_only=True):
    """A business calendar: weekly open spans, holidays and make-up workdays, IANA zone.

    ``region: CN`` pulls China's statutory holidays and make-up workdays (调休) from the
    holiday plugins and ``contracts/calendars/*.yaml``; a year without data is an error
    unless ``assume-weekdays: true``. ``dates`` gives single dates their own spans (``[]``
    closes the date); such an override wins over ``week``, holidays and make-up workdays.
    """

    tz: str = "Asia/Shanghai"
    region: str | None = None
    week: dict[DaysText, list[SpanText]]
    holidays: list[date] = []
    workdays: list[date] = []
    workday_spans: Weekday = "mon"
    make_up_workdays: bool = True
    assume_weekdays: bool = False
    dates: DateSpans = {}


class Target(Base, kw_only=True):
    """One time target: ``within`` on ``calendar``, optionally only when the request arrives
    while calendar ``when-open`` is open (or ``when-closed`` is closed). A list of targets is
    tried in order; the first whose condition holds applies (the seed's call-center rule:
    30 minutes when working hours are open, else 1 hour, both on the 24x7 duty clock)."""

    within: DurationText
    calendar: str = "duty"
    when_open: str | None = None
    when_closed: str | None = None

    @property
    def duration(self) -> Duration:
        return parse_duration(self.within)


TargetRule = Target | list[Target]


def _target(within: str, calendar: str = "duty", **kw: Any) -> Target:
    return Target(within=within, calendar=calendar, **kw)


def default_response() -> dict[str, TargetRule]:
    """The seed's call-center rule for every priority (R-RESP)."""
    return {
        "default": [
            _target("30m", "duty", when_open="working-hours"),
            _target("1h", "duty"),
        ]
    }


def default_diagnosis() -> dict[str, TargetRule]:
    """Diagnosis limits per fault level (ours: the seed names the table but leaves it empty)."""
    return {
        "P1": _target("2h"),
        "P2": _target("4h"),
        "P3": _target("8h", "working-hours"),
        "P4": _target("3bd", "working-hours"),
    }


def default_resolution() -> dict[str, TargetRule]:
    """Resolution targets per priority (ours)."""
    return {
        "P1": _target("8h"),
        "P2": _target("24h"),
        "P3": _target("5bd", "working-hours"),
        "P4": _target("10bd", "working-hours"),
    }


def default_remote_access() -> TargetRule:
    """Remote access: engineer logged in on the device within 1 h of agreeing to it (ours)."""
    return _target("1h")


def seed_onsite_normal() -> dict[str, str | None]:
    """The seed's non-emergency on-site table; ``other`` must be priced by each contract."""
    return {"city": "3h", "wendeng": "5h", "rongcheng": "5h", "rushan": "7h"}


def seed_onsite_emergency() -> dict[str, str | None]:
    """The seed's emergency on-site table."""
    return {"city": "1h", "wendeng": "2h", "rongcheng": "2h", "rushan": "3h"}


DEFAULT_PROGRESS_REPORT_EVERY = "1h"
"""How often the engineer on site of an emergency reports progress (ours: the handbook's
限时上报 names the duty but gives no interval)."""


class OnsiteTable(Base, kw_only=True):
    """On-site arrival by zone (R-RESP); clocks run on wall-clock time (24x7) by default.

    ``progress-report-every``: once the engineer of an **emergency** case is on site, a
    progress report is due this often (限时上报), counted on ``calendar``; ``null`` turns the
    reports off. The default (1h) is ours.

    A zone's time ``null`` says the contract has **no negotiated value** for it (the
    handbook's 其他地区 双方协商): on-site support there is refused with that reason until one
    is agreed. Every zone of the resolver must still be named (``contracts check``).

    ``included``: on-site support (R-RESP's 工程师赴现场响应) is part of this contract
    (default true: every contract so far was written with the handbook's on-site table);
    ``false`` refuses on-site requests unless recorded as chargeable (docs/onsite.md).
    """

    calendar: str = "duty"
    normal: dict[str, DurationText | None] = field(default_factory=seed_onsite_normal)
    emergency: dict[str, DurationText | None] = field(default_factory=seed_onsite_emergency)
    progress_report_every: DurationText | None = DEFAULT_PROGRESS_REPORT_EVERY
    included: bool = True

    @property
    def progress_interval(self) -> Duration | None:
        """The parsed interval, or None when the contract turned progress reports off."""
        if self.progress_report_every is None:
            return None
        return parse_duration(self.progress_report_every)


class ZoneSettings(Base, kw_only=True):
    """Which zone resolver plugin maps sites to zones, and its per-contract overrides."""

    resolver: str = "weihai_zones"
    config: dict[str, Any] = {}


class ShipRule(Base, kw_only=True):
    """Spare-part dispatch: diagnosed before ``cutoff`` on a business day of ``calendar``
    → ships that day; later (or on a closed day) → the next business day. The deadline is
    the close of the service window on the ship date."""

    calendar: str = "spare-window"
    cutoff: TimeText = "15:00"


class ArrivalRule(Base, kw_only=True):
    """Spare-part arrival: ``within`` on ``calendar`` counted from the shipment (or from the
    diagnosis for levels that ship at any hour)."""

    within: DurationText
    calendar: str = "24x7"
    from_: Literal["shipped", "diagnosed"] = field(default="shipped", name="from")

    @property
    def duration(self) -> Duration:
        return parse_duration(self.within)


class VendorTerms(Base, kw_only=True):
    """A device's own vendor commitment (原厂承诺); overrides its tier where the program
    allows it (vendor warranty: "subject to the vendor's commitment")."""

    note: str | None = None
    ship: ShipRule | None = None
    arrival: ArrivalRule | None = None


class Device(Base, kw_only=True):
    """A covered device (R-QUAL: model, serial, install location)."""

    model: str
    serial: Annotated[str, Meta(min_length=1)]
    site: str
    tier: str
    rma: str
    lat: float | None = None
    lon: float | None = None
    vendor_terms: VendorTerms | None = None
    # on-site labour for this device's part swaps; absent: the contract's ``onsite-labour``
    onsite_labour: bool | None = None


MODEL_NOTE = re.compile(r"\s*[(（][^()（）]*[)）]\s*$")


def device_model(model: str) -> str:
    """A device's model without a trailing note in brackets: "Cisco Catalyst 9300-48P-E (core
    A)" and "... (core B)" are one model (the assessment's and the ``models`` catalogue's)."""
    return MODEL_NOTE.sub("", model).strip() or model


DEFAULT_EOS_WARNING_MONTHS = 12
"""How many months before a model's end of support the assessment report starts advising its
replacement (rule A6; ours: the handbook names no lead time; a year leaves a budget cycle to
plan and buy the successor). A contract sets its own with ``end-of-support-warning-months``."""


class ModelLifecycle(Base, kw_only=True):
    """One device model's vendor dates (R-MAINT assessment, rule A6): the last date the vendor
    supports it (Cisco's "Last Date of Support", Huawei's "EOS"), where that comes from."""

    end_of_support: date
    end_of_sale: date | None = None
    source: str | None = None  # the vendor's bulletin, for the reader of the contract file


DEFAULT_PART_RETURN = "15d"
"""How long after the replacement is installed the faulty part must be back (ours: the
handbook names no return time; 15 calendar days is a common vendor RMA return term)."""

DEFAULT_STANDBY_RETURN = "15d"
"""How long a standby unit (备机) may stay with the customer after it was installed, its loan
period (ours: the handbook names no time)."""


class SpareSettings(Base, kw_only=True):
    """Spare-part return times (R-SPARE; the handbook is silent, docs/spares.md).

    ``part-return``: the faulty part goes back (to us or the vendor) within this time after
    the replacement is installed. ``standby-return``: a standby unit (备机) goes back within
    this time after it was installed (its loan period). Both are counted on ``calendar`` (the
    wall clock by default).
    Both run as SLA clocks (``part_return``, ``standby_return``), so the escalation ladder
    reminds before they are due.
    """

    calendar: str = "duty"
    part_return: DurationText = DEFAULT_PART_RETURN
    standby_return: DurationText = DEFAULT_STANDBY_RETURN


EscalationAt = Annotated[
    str,
    Meta(
        pattern=r"^\s*[0-9]{1,3}\s*%\s*(\+\s*[0-9]+\s*(m|h))?\s*$",
        description="share of the clock's target elapsed (50%), or past the deadline (100% + 2h)",
        examples=["50%", "80%", "100%", "100% + 2h"],
    ),
]


class EscalationStep(Base, kw_only=True):
    """One rung of the ladder: at ``at`` of a clock, alert ``notify`` on ``channels``.

    ``urgent``: true sends the rung's notices at once, whatever the recipients' calendars;
    false always holds them for the calendars; absent (null) is our default: urgent when the
    rung is a breach (``100%`` or later) of a P1 clock (``core.escalation.is_urgent``).
    """

    at: EscalationAt
    notify: list[NotifyRoleName]
    channels: list[str] = field(default_factory=lambda: ["email"])
    clocks: list[ClockKind] = []  # empty: every clock
    priorities: list[Priority] = []  # empty: every priority
    urgent: bool | None = None


def default_escalation() -> list[EscalationStep]:
    """Our default ladder (the seed's 超时上报 table is empty)."""
    return [
        EscalationStep(at="50%", notify=["engineer"], channels=["email"]),
        EscalationStep(at="80%", notify=["engineer", "service-manager"], channels=["email", "sms"]),
        EscalationStep(
            at="100%", notify=["service-manager", "project-manager"], channels=["email", "sms"]
        ),
        EscalationStep(at="100% + 2h", notify=["general-manager"], channels=["email", "sms"]),
    ]


SurveyChannel = Literal["email", "sms"]
UnansweredRule = Literal["exclude", "lowest", "neutral"]
DEFAULT_UNANSWERED: UnansweredRule = "neutral"
"""The handbook divides the quarter's score sum by the number of **cases** (每季度 CASE 分数总和
/每季度 CASE 数量): every case counts, so an unanswered one must weigh something. ``neutral``
(一般, 3: no opinion either way) is our reading of that; ``exclude`` departs from the handbook."""


class Survey(Base, kw_only=True):
    """Satisfaction promise (R-QUAL): per quarter, sum of scores / cases ≥ ``target``.

    ``unanswered``: how a case whose survey was not answered counts in the handbook's figure:
    ``neutral`` (counts as 3; the default, the handbook counts every case), ``lowest``
    (counts as 1) or ``exclude`` (left out: the figure over answers). Reports always show
    both figures and the count of unanswered surveys (docs/quality.md).
    ``link-days``: how long a survey link stays valid (ours). ``channels``: how the survey
    reaches the caller (each channel the caller has an address for). ``report-to``: the
    customer contacts (by role) the quarterly result goes to; none with an e-mail: every
    contact with one.
    """

    target: Annotated[float, Meta(ge=1, le=5)] = 4.0
    unanswered: UnansweredRule = DEFAULT_UNANSWERED
    link_days: Annotated[int, Meta(ge=1, le=366)] = 30
    channels: list[SurveyChannel] = field(default_factory=lambda: ["email", "sms"])
    report_to: list[ContactRole] = field(default_factory=lambda: ["it-manager"])


class Complaint(Base, kw_only=True):
    """Complaint promises (R-QUAL): first reply within 2 h, resolved within half a month."""

    first_reply: Target = field(default_factory=lambda: _target("2h"))
    resolution: Target = field(default_factory=lambda: _target("15d"))


class Reports(Base, kw_only=True):
    """Periodic statistics for the customer (R-QUAL: "定期将向客户提供 case 统计数据"): the
    scheduler sends the report for each period that ended, as a PDF by e-mail, to the
    contacts of the ``send-to`` roles that have an e-mail address (the first contact with one
    when none of those roles has). The handbook says "periodically" without a period: our
    default is ``quarterly``, the quarter of the satisfaction promise; ``off`` sends none."""

    every: Literal["monthly", "quarterly", "off"] = "quarterly"
    send_to: list[ContactRole] = field(default_factory=lambda: ["it-manager"])


class DocumentSending(Base, kw_only=True):
    """Maintenance documents the scheduler e-mails (R-MAINT, docs/documents.md): the stage
    report of the whole contract when its period ends ("服务合同结束后提供阶段服务报告";
    ``stage-report``, default true), and the periodic service summary ("定期的服务汇总总结";
    ``summary-every``). The handbook promises the summary "periodically" without a period:
    our default is ``quarterly``, the quarter of the statistics report; ``off`` sends none.
    ``send-to``: the contact roles, as in ``reports``."""

    stage_report: bool = True
    summary_every: Literal["monthly", "quarterly", "off"] = "quarterly"
    send_to: list[ContactRole] = field(default_factory=lambda: ["it-manager"])


_TARGET_DEFAULTS = (
    ("response", default_response),
    ("diagnosis", default_diagnosis),
    ("resolution", default_resolution),
)


EmergencyResolution = Literal["priority-target", "appointment"]
"""How an **emergency** case of an appointment service type (fault rescue, installation,
inspection, project assistant) is timed: ``priority-target`` (default, the handbook's: an
emergency is an attribute with its own times, its agreed time is now, so it needs no
appointment and its resolution runs on the contract's ``resolution`` target of its priority)
or ``appointment`` (as any other case of those types: an appointment window is required and
the resolution is due at its end)."""


def default_request_response() -> dict[RequestTypeName, TargetRule]:
    """First response per request type, beside the priority table ``response`` (R-CAT).

    The handbook takes consulting requests "在工作时间或客户约定的时间内" (in working hours or
    at a time the customer agrees): a consultation's response runs on ``working-hours``. The
    30 minutes are ours, the call center's working-hours response. Problem reports have no
    entry: they keep the 7x24 ``response`` rule of their priority.
    """
    return {"consultation": _target("30m", "working-hours")}


class PlanResponse(Base, kw_only=True):
    """What a support plan promises instead of the contract's tables while it runs; an
    absent key keeps the contract's rule."""

    first_response: DurationText | None = None
    onsite_arrival: DurationText | None = None
    emergency_arrival: DurationText | None = None


class ExtraSpare(Base, kw_only=True):
    """A spare part kept at the customer's site (备件驻厂) during the plan."""

    model: str
    quantity: Annotated[int, Meta(ge=1)] = 1
    note: str | None = None


class SupportPlan(Base, kw_only=True):
    """R-EXTRA: a dated support plan for a customer's important period (重要通信保障期间):
    engineers stationed at the site (驻场), extra spares kept there and a faster response,
    agreed with the customer. ``from``/``to`` are inclusive local dates (the duty calendar's
    zone). While it runs, a new case is assigned to the first of ``engineers`` and its
    clocks use ``response`` (docs/onsite.md)."""

    id: Identifier
    from_: date = field(name="from")
    to: date
    engineers: list[Identifier] = []
    response: PlanResponse = field(default_factory=PlanResponse)
    extra_spares: list[ExtraSpare] = []
    note: str | None = None

    def covers(self, day: date) -> bool:
        return self.from_ <= day <= self.to


OnClosedDay = Literal["next-business-day", "keep", "previous-business-day"]
RRuleText = Annotated[
    str,
    Meta(
        min_length=1,
        max_length=500,
        pattern=r"^[A-Za-z0-9=;,+\-: ]+$",
        description="an RFC 5545 RRULE (python-dateutil's rrulestr) without DTSTART: the "
        "plan starts on the contract period's first day at ``at``",
        examples=["FREQ=MONTHLY;BYMONTHDAY=1", "FREQ=MONTHLY;INTERVAL=3;BYDAY=+1TU"],
    ),
]
DEFAULT_INSPECTION_DUE = "3bd"
"""How long an occurrence may take before it is late (ours: the handbook says 定期巡检 but
names no time; three business days on the plan's calendar)."""


class MaintenancePlan(Base, kw_only=True):
    """R-MAINT: a periodic inspection (定期巡检) the scheduler opens as a case on time.

    ``rrule``: when, as an RRULE counted from the contract period's first day at ``at``
    (local time of ``calendar``). ``on-closed-day``: an occurrence on a day ``calendar`` is
    closed moves to the ``next-business-day`` (default, ours), the ``previous-business-day``
    or stays (``keep``). ``due-within``: the inspection's time on ``calendar`` from the
    (moved) occurrence; its case's resolution clock runs to it, so a late inspection
    escalates on the contract's ladder. ``sites`` / ``devices``: which covered devices are
    inspected (by site, by serial; neither: every device of the contract).
    """

    id: Identifier
    title: str
    rrule: RRuleText
    at: TimeText = "09:00"
    calendar: str = "working-hours"
    on_closed_day: OnClosedDay = "next-business-day"
    due_within: DurationText = DEFAULT_INSPECTION_DUE
    priority: Priority = Priority.P3
    sites: list[str] = []
    devices: list[str] = []

    @property
    def due_duration(self) -> Duration:
        return parse_duration(self.due_within)


def default_exclusions() -> list[str]:
    return ["incomplete-device-list", "late-fault-information", "vendor-defect", "force-majeure"]


class Contract(Base, kw_only=True):
    """One customer's service contract (one YAML file under ``contracts/``)."""

    id: Identifier
    customer: Customer
    our_staff: OurStaff
    period: Period
    program: str
    calendars: dict[str, CalendarSpec] = {}
    response: dict[str, TargetRule] = field(default_factory=default_response)
    remote_access: TargetRule = field(default_factory=default_remote_access)
    diagnosis: dict[str, TargetRule] = field(default_factory=default_diagnosis)
    resolution: dict[str, TargetRule] = field(default_factory=default_resolution)
    onsite: OnsiteTable = field(default_factory=OnsiteTable)
    zones: ZoneSettings = field(default_factory=ZoneSettings)
    devices: list[Device] = []
    onsite_labour: bool = False
    escalation: list[EscalationStep] = field(default_factory=default_escalation)
    survey: Survey = field(default_factory=Survey)
    complaint: Complaint = field(default_factory=Complaint)
    reports: Reports = field(default_factory=Reports)
    # R-MAINT: the stage report at contract end and periodic summaries sent by e-mail
    documents: DocumentSending = field(default_factory=DocumentSending)
    exclusions: list[ExclusionCause] = field(default_factory=default_exclusions)  # type: ignore[arg-type]
    # service type id (core.case.Category) → changes to its checklist / deliverables (R-CAT)
    service_types: dict[str, ServiceTypeOverride] = {}
    emergency_resolution: EmergencyResolution = "priority-target"
    # request type (core.case.RequestType) → its own first-response rule, replacing the
    # priority table ``response`` for that request type; complaints use ``complaint``
    request_response: dict[RequestTypeName, TargetRule] = field(
        default_factory=default_request_response
    )
    # spare-part return times (faulty part, standby unit): ours, docs/spares.md
    spares: SpareSettings = field(default_factory=SpareSettings)
    # R-EXTRA: dated support plans (stationed engineers, extra spares, faster response)
    support_plans: list[SupportPlan] = []
    # R-MAINT: periodic inspections the scheduler opens (docs/maintenance.md)
    maintenance_plans: list[MaintenancePlan] = []
    # R-MAINT assessment: end of support per device model (``device_model``), rule A6
    models: dict[str, ModelLifecycle] = {}
    end_of_support_warning_months: Annotated[int, Meta(ge=0, le=120)] = DEFAULT_EOS_WARNING_MONTHS

    def __post_init__(self) -> None:
        # A contract's target tables refine ours level by level: a level it leaves out keeps
        # our default. A table with its own `default` stands alone, since that `default` is
        # the contract's word for every level it leaves out (ours must not beat it).
        for name, ours in _TARGET_DEFAULTS:
            table = getattr(self, name)
            if "default" not in table:
                msgspec.structs.force_setattr(self, name, {**ours(), **table})

    def runs_by_appointment(self, category: str, *, emergency: bool) -> bool:
        """Whether a case of ``category`` needs an appointment window and is resolved by its
        end: the appointment service types, unless it is an emergency and the contract's
        ``emergency-resolution`` is ``priority-target`` (its agreed time is now)."""
        if category not in {str(c) for c in APPOINTMENT_CATEGORIES}:
            return False
        return not emergency or self.emergency_resolution == "appointment"

    def plan_on(self, day: date) -> SupportPlan | None:
        """The support plan running on local date ``day`` (the first listed), if any."""
        for plan in self.support_plans:
            if plan.covers(day):
                return plan
        return None

    def onsite_labour_for(self, serial: str | None) -> bool:
        """Whether on-site labour (a part swap by our engineer) was bought for ``serial``:
        the device's own ``onsite-labour`` when it says, else the contract's."""
        device = self.device(serial) if serial else None
        if device is not None and device.onsite_labour is not None:
            return device.onsite_labour
        return self.onsite_labour

    def device(self, serial: str) -> Device | None:
        for device in self.devices:
            if device.serial == serial:
                return device
        return None


# --- the shared tier catalog (contracts/tiers.yaml) --------------------------------------------


class Tier(Base, kw_only=True):
    """A spare-part service level such as 8x5xNBD or 24x7x4h (R-SPARE).

    ``ship: null`` means parts go out at any hour (24x7 levels); ``arrival: null`` means the
    level promises shipping only (NBD). ``zones`` restricts where the level is sold (4-hour
    levels: near Beijing, Shanghai, Guangzhou). ``weekdays-only`` drops China's make-up
    workdays from the business days.
    """

    label: str
    description: str = ""
    ship: ShipRule | None = None
    arrival: ArrivalRule | None = None
    zones: list[str] | None = None
    weekdays_only: bool = False


class Program(Base, kw_only=True):
    """A service program and the tiers it offers."""

    label: str
    tiers: list[str]
    vendor_terms_override: bool = False
    description: str = ""


class TierCatalog(Base, kw_only=True):
    """``contracts/tiers.yaml``: shared calendars, spare-part tiers and programs."""

    calendars: dict[str, CalendarSpec] = {}
    tiers: dict[str, Tier] = {}
    programs: dict[str, Program] = {}


def default_calendars() -> dict[str, CalendarSpec]:
    """Calendars every contract has unless it redefines them.

    ``working-hours`` (工作时间) is the contract's: the handbook never defines it; ours is
    Mon–Fri 08:30–17:30 on China's official working days. ``duty`` and ``24x7`` are the
    on-duty wall clock.
    """
    always = CalendarSpec(week={"mon-sun": ["00:00-24:00"]})
    return {
        "working-hours": CalendarSpec(region="CN", week={"mon-fri": ["08:30-17:30"]}),
        "duty": always,
        "24x7": always,
    }
