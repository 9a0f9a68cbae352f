"""The lifecycle actions of the case page: each is one form, the core command it decodes
into, the desk method that runs it and the roles that may — the very role tuples of the API's
handlers (api/cases.py, api/spares.py), so the page and the API admit the same people."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import msgspec

from api.auth import STAFF
from api.cases import (
    ASSIGNERS,
    CLOSERS,
    COMPLAINT_OWNERS,
    DIAGNOSERS,
    EXCLUDERS,
    HANDOVERS,
    MILESTONES,
    PRIORITISERS,
    PROGRESS_REPORTERS,
    REOPENERS,
    RESOLVERS,
    RESPONDERS,
)
from api.spares import SPARE_REQUESTERS, SPARE_STEPPERS
from core.case import Priority, Role, Status, Visibility
from core.commands import (
    Assign,
    ChangePriority,
    ChangeStatus,
    Close,
    Command,
    ConfirmDiagnosis,
    Escalate,
    ExcludeClock,
    FirstResponse,
    HandOver,
    LinkVendorCase,
    Milestone,
    Note,
    RecordSpareStep,
    Reopen,
    ReportProgress,
    RequestSpare,
    Resolve,
)
from core.desk import CaseDesk, Receipt
from core.desk.closing import EnteredBy
from core.errors import InvalidField
from core.handover import HandOverTarget
from core.spares import DeliveryMode, SpareStep
from core.store.tokens import Principal

_AT = re.compile(r" - at `(\$[^`]*)`$")


@dataclass(frozen=True, slots=True)
class Field:
    """One input of an action's form; ``name`` is the command's field (``$.name``).

    ``source``: a select whose choices come from the case (``web.case_page.case_choices``: its
    clocks, its contract's exclusion causes, its spare requests), not ``choices``; ``label``: the
    message key when ``field_<name>`` would say something else on another form."""

    name: str
    kind: str = "text"  # text, textarea, select, checkbox, datetime, number
    choices: tuple[str, ...] = ()
    required: bool = True
    source: str = ""
    label: str = ""

    @property
    def message(self) -> str:
        return self.label or f"field_{self.name}"


Run = Callable[[CaseDesk, str, Any, str, datetime, Principal], Receipt]


@dataclass(frozen=True, slots=True)
class Action:
    slug: str  # POST /console/cases/{number}/{slug}; the message key is action_<slug>
    command: type[Command]
    run: Run
    roles: tuple[Role, ...]
    fields: tuple[Field, ...]
    on_complaints: tuple[Role, ...] = ()

    def allowed(self, principal: Principal, complaint: bool) -> bool:
        """The API's rule (api.cases.case_access): the roles, or the complaint owners on a
        complaint case."""
        return principal.has_any(self.roles) or (
            complaint and principal.has_any(self.on_complaints)
        )

    def offered(self, choices: dict[str, list[tuple[str, str]]]) -> bool:
        """Shown only when each select filled from the case has something to choose (no spare
        request yet: no form for its steps)."""
        return all(choices.get(f.source) for f in self.fields if f.source)


def _desk(method: Callable[..., Receipt]) -> Run:
    def run(desk: CaseDesk, number: str, cmd: Any, actor: str, now: datetime, _p: Any) -> Receipt:
        return method(desk, number, cmd, actor=actor, now=now)

    return run


def _close(
    desk: CaseDesk, number: str, cmd: Any, actor: str, now: datetime, principal: Principal
) -> Receipt:
    entered_by: EnteredBy = "customer" if principal.is_customer else "staff"
    return desk.close(number, cmd, actor=actor, now=now, entered_by=entered_by)


OPTIONAL = False
_STEPS = tuple(s.value for s in SpareStep if s != SpareStep.REQUESTED)
_MODES = (DeliveryMode.COURIER.value, DeliveryMode.ENGINEER.value, DeliveryMode.STANDBY.value)
_VISIBILITY = Field("visibility", "select", tuple(v.value for v in Visibility))
ACTIONS: tuple[Action, ...] = (
    Action("assign", Assign, _desk(CaseDesk.assign), ASSIGNERS, (Field("engineer"),),
           COMPLAINT_OWNERS),
    Action("first-response", FirstResponse, _desk(CaseDesk.first_response), RESPONDERS,
           (Field("agreed_content", "textarea"),), COMPLAINT_OWNERS),
    Action("onsite-arrival", Milestone, _desk(CaseDesk.onsite_arrived), MILESTONES,
           (Field("note", "textarea", required=OPTIONAL),)),
    Action("progress-reports", ReportProgress, _desk(CaseDesk.report_progress),
           PROGRESS_REPORTERS,
           (Field("text", "textarea", label="field_progress"), _VISIBILITY,
            Field("final", "checkbox", required=OPTIONAL))),
    Action("diagnosis", ConfirmDiagnosis, _desk(CaseDesk.confirm_diagnosis), DIAGNOSERS,
           (Field("finding", "textarea"), Field("hardware_fault", "checkbox", required=OPTIONAL))),
    Action("spares", RequestSpare, _desk(CaseDesk.request_spare), SPARE_REQUESTERS,
           (Field("part"), Field("device_serial", required=OPTIONAL),
            Field("mode", "select", _MODES),
            Field("chargeable", "checkbox", required=OPTIONAL),
            Field("vendor", required=OPTIONAL), Field("vendor_case", required=OPTIONAL),
            Field("note", "textarea", required=OPTIONAL, label="field_internal_note"))),
    Action("spare-steps", RecordSpareStep, _desk(CaseDesk.spare_step), SPARE_STEPPERS,
           (Field("request", "select", source="spare_requests"),
            Field("step", "select", _STEPS),
            Field("rma_number", required=OPTIONAL), Field("vendor", required=OPTIONAL),
            Field("carrier", required=OPTIONAL), Field("waybill", required=OPTIONAL),
            Field("new_serial", required=OPTIONAL), Field("new_model", required=OPTIONAL),
            Field("note", "textarea", required=OPTIONAL, label="field_customer_note"),
            Field("internal_note", "textarea", required=OPTIONAL))),
    Action("spare-vendor-case", LinkVendorCase, _desk(CaseDesk.link_vendor_case),
           SPARE_STEPPERS,
           (Field("request", "select", source="spare_requests"), Field("vendor"),
            Field("vendor_case"))),
    Action("status", ChangeStatus, _desk(CaseDesk.change_status), STAFF,
           (Field("status", "select", tuple(s.value for s in Status)),
            Field("cause", required=OPTIONAL))),
    Action("priority", ChangePriority, _desk(CaseDesk.change_priority), PRIORITISERS,
           (Field("priority", "select", tuple(p.value for p in Priority)),
            Field("reason", "textarea"))),
    Action("notes", Note, _desk(CaseDesk.add_note), STAFF,
           (Field("text", "textarea"),
            Field("visibility", "select", tuple(v.value for v in Visibility)))),
    Action("escalations", Escalate, _desk(CaseDesk.escalate), STAFF,
           (Field("level", "number"), Field("target_group"), Field("reason", "textarea"))),
    Action("handovers", HandOver, _desk(CaseDesk.hand_over), HANDOVERS,
           (Field("target", "select", tuple(t.value for t in HandOverTarget)),
            Field("reason", "textarea"), Field("ticket", required=OPTIONAL),
            Field("vendor", required=OPTIONAL), _VISIBILITY)),
    Action("resolve", Resolve, _desk(CaseDesk.resolve), RESOLVERS,
           (Field("resolution", "textarea"),), COMPLAINT_OWNERS),
    Action("close", Close, _close, CLOSERS,
           (Field("confirmed_by"), Field("confirmed_at", "datetime"),
            Field("confirmation_document", required=OPTIONAL),
            Field("checklist", required=OPTIONAL))),
    Action("reopen", Reopen, _desk(CaseDesk.reopen), REOPENERS, (Field("reason", "textarea"),)),
    Action("exclusions", ExcludeClock, _desk(CaseDesk.exclude_clock), EXCLUDERS,
           (Field("kind", "select", source="clocks"),
            Field("cause", "select", source="exclusions", label="field_exclusion_cause"),
            Field("note", "textarea", label="field_exclusion_note"))),
)  # fmt: skip
BY_SLUG = {action.slug: action for action in ACTIONS}


def allowed_actions(
    principal: Principal, complaint: bool, choices: dict[str, list[tuple[str, str]]]
) -> list[Action]:
    return [a for a in ACTIONS if a.allowed(principal, complaint) and a.offered(choices)]


def command_of(action: Action, form: dict[str, str], tz: str) -> Any:
    """The form's fields as the action's command; InvalidField names the field at fault."""
    data: dict[str, Any] = {}
    for field in action.fields:
        raw = form.get(field.name, "")
        if field.kind == "checkbox":
            data[field.name] = raw in ("on", "true", "1")
        elif raw.strip() == "" and not field.required:
            continue
        elif field.kind == "datetime":
            data[field.name] = instant(field.name, raw, tz)
        elif field.name == "checklist":
            data[field.name] = [item.strip() for item in re.split(r"[,\n]", raw) if item.strip()]
        else:
            data[field.name] = raw.strip() if field.kind != "textarea" else raw
    version = form.get("expected_version", "")
    if version.isdigit():
        data["expected_version"] = int(version)
    return decode(data, action.command)


def decode(data: dict[str, Any], command: type[Any]) -> Any:
    """``msgspec.convert`` (text to numbers allowed) with its error as an InvalidField."""
    try:
        return msgspec.convert(data, command, strict=False)
    except msgspec.ValidationError as exc:
        message = str(exc)
        found = _AT.search(message)
        if found:
            raise InvalidField(found.group(1), message[: found.start()]) from exc
        missing = re.search(r"missing required field `([^`]+)`", message)
        raise InvalidField(missing.group(1) if missing else "$", message) from exc


def instant(name: str, raw: str, tz: str) -> str:
    """A ``datetime-local`` value (the desk's wall time) as an aware ISO instant."""
    try:
        value = datetime.fromisoformat(raw.strip())
    except ValueError as exc:
        raise InvalidField(name, "expected a date and time, e.g. 2026-12-05T14:30") from exc
    if value.tzinfo is None:
        value = value.replace(tzinfo=ZoneInfo(tz))
    return value.isoformat()


def field_key(path: str) -> str:
    """``$.caller.name`` → ``caller.name``: the form field an InvalidField names."""
    return path.removeprefix("$").removeprefix(".")
