"""stories.yaml read: the demo's people, tokens and stories as times and desk commands."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import msgspec

from core import commands as cmds
from core import sla
from core.loaded import LoadedContract
from core.quality import Quarter
from core.rma import OpenRma
from core.surveys import SurveyAnswer, SurveyForm

if TYPE_CHECKING:
    from core.calendar import Calendar

STORIES = Path(__file__).with_name("stories.yaml")


# a step's command: the desk method of that name, with this command Struct
COMMANDS: dict[str, type[msgspec.Struct]] = {
    "open_case": cmds.OpenCase,
    "assign": cmds.Assign,
    "first_response": cmds.FirstResponse,
    "confirm_diagnosis": cmds.ConfirmDiagnosis,
    "request_onsite": cmds.RequestOnsite,
    "onsite_arrived": cmds.Milestone,
    "dispatch_emergency": cmds.EmergencyOnsite,
    "onsite_prepared": cmds.OnsitePrepare,
    "onsite_request_signed": cmds.OnsiteSignRequest,
    "onsite_solution_approved": cmds.OnsiteApproveSolution,
    "onsite_operation_approved": cmds.OnsiteApproveOperation,
    "onsite_operation_performed": cmds.OnsitePerformOperation,
    "onsite_report_signed": cmds.OnsiteSignReport,
    "onsite_training_given": cmds.OnsiteTraining,
    "spare_shipped": cmds.Milestone,
    "spare_arrived": cmds.Milestone,
    "request_spare": cmds.RequestSpare,
    "spare_step": cmds.RecordSpareStep,
    "link_vendor_case": cmds.LinkVendorCase,
    "change_status": cmds.ChangeStatus,
    "add_note": cmds.Note,
    "report_progress": cmds.ReportProgress,
    "log_call": cmds.CallLog,
    "escalate": cmds.Escalate,
    "grant_remote_access": cmds.RemoteAccess,
    "remote_logged_in": cmds.Milestone,
    "resolve": cmds.Resolve,
    "reopen": cmds.Reopen,
    "close": cmds.Close,  # every checklist item confirmed, every deliverable filed (seed.py)
    "open_rma": OpenRma,  # through the device's channel (digital_china: the request e-mail)
    "enter_survey_form": SurveyForm,  # the score signed on the technical service form
}


class VendorReply(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A vendor's reply e-mail to the case's latest RMA: its ``Key: value`` lines (seed.py
    writes the e-mail and the desk reads it as the mail drop would)."""

    lines: list[str]
    channel: str = "digital_china"


class CiscoAdvance(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Cisco moves the case's latest RMA on (``to``: booked, shipped, delivered, received...)
    in the seeder's local Cisco stand-in (cli/demo/cisco.py); then the scheduler's RMA poll
    runs at the step's time and records what it reads."""

    to: str


class OpenInspection(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A maintenance plan's inspection, opened by the scheduler at the start of the plan's
    latest occurrence a day or more before the anchor (the step's time is that start; the
    story's later steps may say ``start+2h``). A story begins with it or with open_case."""

    plan: str


class NoOccurrence(ValueError):
    """The plan has no occurrence yet to tell (the contract just started): story skipped."""


COMMANDS["rma_reply"] = VendorReply
COMMANDS["cisco_advance"] = CiscoAdvance
# the caller answers the close's survey through its link (seed.py reads the link's token
# from the queued notice, as the caller's mailbox would show it)
COMMANDS["survey_answer"] = SurveyAnswer
COMMANDS["open_inspection"] = OpenInspection
COMMANDS["record_inspection_result"] = cmds.InspectionResult
# played by seed.py itself, not a CaseDesk method
SEEDER_STEPS = frozenset({"rma_reply", "cisco_advance", "survey_answer", "open_inspection"})
OPENING_STEPS = ("open_case", "open_inspection")
_DAYS = re.compile(r"(day|workday) (-?\d+) (\d\d:\d\d)")
_QUARTER_DAYS = re.compile(r"quarter (\d+) (\d\d:\d\d)")
_START = re.compile(r"start\+(?:(\d+)h)?(?:(\d+)m)?")
_NOW = re.compile(r"now(?:([+-])(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?)?")


class _TokenData(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    role: str
    name: str | None = None
    customer_of: str | None = None  # a contract id: its customer's token, named after it


class StoryData(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    key: str
    steps: list[dict[str, Any]]
    engineer: str | None = None


class _ContractData(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    id: str
    stories: list[StoryData]


class Book(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """stories.yaml: the people, the default engineer and actors, the tokens, the stories."""

    people: dict[str, str]
    engineer: str
    actors: dict[str, str]
    tokens: list[_TokenData]
    contracts: list[_ContractData]


def read_book(path: Path = STORIES) -> Book:
    return msgspec.yaml.decode(path.read_bytes(), type=Book)


BOOK = read_book()
ENGINEER = BOOK.people["engineer"]  # the name of the engineer's token and of REMOTE's assignee


def local(day: date, hhmm: str, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, time.fromisoformat(hhmm), tzinfo=tz)


class When:
    """The times of stories.yaml, before (or after) an anchor in the contract's zone."""

    def __init__(self, anchor: datetime, cal: Calendar) -> None:
        self.anchor = anchor
        self.cal = cal
        self.tz = cal.tz
        self.today = anchor.astimezone(cal.tz).date()

    def at(self, text: str) -> datetime:
        """``day N HH:MM``, ``workday N HH:MM``, ``now``, ``now-2h50m``, ``now+90s``."""
        if days := _DAYS.fullmatch(text):
            kind, back, hhmm = days.groups()
            return (self.day if kind == "day" else self.workday)(int(back), hhmm)
        if into := _QUARTER_DAYS.fullmatch(text):
            return self.last_quarter(int(into.group(1)), into.group(2))
        if moment := _NOW.fullmatch(text):
            sign, hours, minutes, seconds = (part or "0" for part in moment.groups())
            span = timedelta(hours=int(hours), minutes=int(minutes), seconds=int(seconds))
            return self.anchor - span if sign == "-" else self.anchor + span
        raise ValueError(
            f"demo: not a time: {text!r} (day N HH:MM, workday N HH:MM, quarter N HH:MM, "
            "now-1h2m3s)"
        )

    def day(self, back: int, hhmm: str) -> datetime:
        """``back`` calendar days before the anchor's date (negative: after it)."""
        return local(self.today - timedelta(days=back), hhmm, self.tz)

    def last_quarter(self, into: int, hhmm: str) -> datetime:
        """``into`` days after the first day of the quarter before the anchor's (a quarter
        the quarterly satisfaction result covers, docs/quality.md)."""
        quarter = Quarter.of(self.anchor, self.tz).previous
        return local(quarter.first_day + timedelta(days=into), hhmm, self.tz)

    def workday(self, back: int, hhmm: str) -> datetime:
        """The ``back``-th business day (of the contract's working hours) before the anchor."""
        day = self.today
        for _ in range(back):
            day -= timedelta(days=1)
            while not self.cal.is_business_day(day):
                day -= timedelta(days=1)
        return local(day, hhmm, self.tz)


@dataclass(frozen=True, slots=True)
class Step:
    at: datetime
    method: str  # the CaseDesk method
    actor: str
    cmd: Any  # its command Struct


@dataclass(slots=True)
class Story:
    """One case's life as desk commands, each at its own time; played in global time order."""

    key: str
    lc: LoadedContract
    engineer: str
    steps: list[Step] = field(default_factory=list)
    number: str = ""
    category: str = ""
    appointment: cmds.Window | None = None  # the open step's, for texts that name it
    occurrence: Any = None  # an inspection story's occurrence (core.maintenance.Occurrence)
    follow_up: str = ""  # the case a finding of an inspection story opened

    @property
    def closes(self) -> bool:
        """Ends closed: the only kind told for a contract that ended."""
        return any(step.method == "close" for step in self.steps)

    def check(self, now: datetime) -> None:
        """Steps in order and in the past: the demo must never record the future."""
        times = [step.at for step in self.steps]
        if times != sorted(times) or times[-1] > now:
            raise ValueError(f"demo story {self.key}: steps out of order or after {now}")


def read_story(data: StoryData, lc: LoadedContract, when: When) -> Story:
    story = Story(data.key, lc, data.engineer or BOOK.engineer)
    for raw in data.steps:
        story.steps.append(_step(story, dict(raw), when))
    if not story.steps or story.steps[0].method not in OPENING_STEPS:
        raise ValueError(f"demo story {story.key}: its first step must be open_case")
    return story


def _step(story: Story, raw: dict[str, Any], when: When) -> Step:
    named = [key for key in raw if key in COMMANDS]
    if len(named) != 1:
        raise ValueError(f"demo story {story.key}: a step names one of {', '.join(COMMANDS)}")
    method = named[0]
    if method == "open_inspection":
        return _inspection_step(story, raw, when)
    at, actor = _time(story, raw.pop(method), raw, when), raw.pop("actor", None)
    fields = {key: _value(story, key, value, when) for key, value in raw.items()}
    if method == "open_case":
        fields["contract_id"] = story.lc.id
    elif method == "assign":
        fields.setdefault("engineer", story.engineer)
    elif method == "close":
        fields["confirmed_at"] = at  # checklist and deliverables: when played (_closing)
    try:
        cmd = msgspec.convert(fields, COMMANDS[method])
    except msgspec.ValidationError as exc:
        raise ValueError(f"demo story {story.key}, {method}: {exc}") from None
    if isinstance(cmd, cmds.OpenCase):
        story.category, story.appointment = str(cmd.category), cmd.appointment
    return Step(at, method, actor or BOOK.actors.get(method, story.engineer), cmd)


def _inspection_step(story: Story, raw: dict[str, Any], when: When) -> Step:
    """The scheduler opens the plan's latest occurrence starting a day or more before the
    anchor, at its start (on time)."""
    from core.maintenance import occurrences

    cmd = msgspec.convert(raw["open_inspection"], OpenInspection)
    plan = next((p for p in story.lc.contract.maintenance_plans if p.id == cmd.plan), None)
    if plan is None:
        raise ValueError(f"demo story {story.key}: contract {story.lc.id} has no plan {cmd.plan}")
    until = when.anchor - timedelta(days=1)
    found = list(occurrences(story.lc, plan, until - timedelta(days=62), until))
    if not found:
        raise NoOccurrence(f"{story.lc.id}/{story.key}: plan {plan.id} has no occurrence yet")
    story.category, story.occurrence = "periodic_inspection", found[-1]
    return Step(found[-1].start, "open_inspection", "system:scheduler", cmd)


def _time(story: Story, at: str | dict[str, str], fields: dict[str, Any], when: When) -> datetime:
    if isinstance(at, str) and (later := _START.fullmatch(at)) and story.steps:
        hours, minutes = (int(part or "0") for part in later.groups())
        return story.steps[0].at + timedelta(hours=hours, minutes=minutes)
    if isinstance(at, str):
        return when.at(at)
    # {first_response_due: ...}: opened that long before its first response falls due
    span = sla.first_response(
        story.lc,
        priority=fields["priority"],
        received_at=when.anchor,
        request_type=fields.get("request_type"),
    )
    return when.at(at["first_response_due"]) - (span.due - when.anchor)


def _value(story: Story, key: str, value: Any, when: When) -> Any:
    """A field as the command takes it: times resolved, contacts looked up, texts filled in."""
    if isinstance(value, dict) and set(value) == {"contact"}:
        found = next(c for c in story.lc.contract.customer.contacts if c.role == value["contact"])
        if key != "caller":
            return found.name
        value = {"name": found.name, "phone": found.mobile or found.phone, "email": found.email}
    if key == "caller":
        return {"company": story.lc.contract.customer.name, **value}
    if key == "appointment":
        return {"start": when.at(value["start"]), "end": when.at(value["end"])}
    if key in ("consent_at", "signed_at"):
        return when.at(value)
    if isinstance(value, str) and "{" in value:
        return value.format(appointment=story.appointment)
    return value
