"""Escalation planning, pure: who gets which notice, on which channel, and when.

Digests are the relay's (core/relay.py): it bundles a person's due outbox rows."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, NamedTuple

from core.case import NOTIFY_ROLES, NotifyRoleName, Role
from core.contract import EscalationStep
from core.contract import Person as ContractPerson
from core.errors import CasetrackError

if TYPE_CHECKING:
    from core.calendar import Calendar
    from core.loaded import LoadedContract
    from core.staff import Person, StaffDirectory

__all__ = [
    "CHANNEL_ADDRESS",
    "ROLE_WORDS",
    "ManualTargets",
    "NoticePlan",
    "PlannedNotice",
    "Recipient",
    "Resolution",
    "Skip",
    "is_urgent",
    "ladder_channels",
    "manual_targets",
    "notice_key",
    "person_recipient",
    "plan_notices",
    "recipients_for",
    "rung_key",
    "send_time",
]

# Which Recipient attribute a channel delivers to. A plugin channel not listed here gets its
# notices planned without an address: its notifier knows what it needs.
CHANNEL_ADDRESS: dict[str, str] = {"email": "email", "sms": "mobile"}

# The contract names these people itself, in its ``our-staff`` field of the role's name
# (``OurStaff.service_manager``: ``Role.snake``).
MANAGER_ROLES: frozenset[Role] = frozenset(
    {Role.SERVICE_MANAGER, Role.PROJECT_MANAGER, Role.COMPLAINT_MANAGER, Role.SPARE_MANAGER}
)
# Roles only the staff directory knows.
DIRECTORY_ROLES: frozenset[Role] = frozenset(
    {Role.QUALITY_DEPARTMENT, Role.GENERAL_MANAGER, Role.EXPERT_GROUP}
)
# Role → Contact.role in the contract's customer contacts.
CONTACT_ROLES: dict[Role, str] = {
    Role.CUSTOMER_SITE_LEAD: "site-lead",
    Role.CUSTOMER_MAINTENANCE_SUPERVISOR: "maintenance-supervisor",
}
# Customers are disturbed in the contract's working hours only.
CONTACT_CALENDAR = "working-hours"
MANAGER_CALENDAR = "working-hours"


# --- recipients ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Recipient:
    """Someone a step notifies, with the role they were chosen for.

    ``id`` is the staff directory id, or ``<contract or customer id>/<name>`` for a person
    known only to the contract (it goes into idempotency keys, so it must be stable).
    ``calendar`` names a calendar of the case's contract.
    """

    id: str
    name: str
    role: str
    email: str | None = None
    mobile: str | None = None
    locale: str = "zh"
    calendar: str = "working-hours"
    staff: bool = True  # our person (False: a customer contact)


@dataclass(frozen=True, slots=True)
class Skip:
    """A role, person or channel that gets no notice, and why (kept for the case's record)."""

    role: str
    reason: str
    who: str | None = None
    channel: str | None = None


class Resolution(NamedTuple):
    """The people a step notifies and what was skipped on the way."""

    recipients: list[Recipient]
    skipped: list[Skip]


def recipients_for(
    step: EscalationStep,
    *,
    contract: LoadedContract,
    staff: StaffDirectory,
    assignee: str | None,
    at: datetime,
) -> Resolution:
    """Map each role of ``step.notify`` to people; never raises for a missing person.

    ``engineer``: the case's assignee when the directory knows them (by id or name), else the
    engineer on duty at ``at``. Managers: the contract's ``our-staff`` person, else everyone
    with that role in the directory. Quality department, general manager, expert group: the
    directory. Customer roles: the contract's contacts with that role. A person reached
    through two roles is notified once, for the first.
    """
    recipients: list[Recipient] = []
    skipped: list[Skip] = []
    seen: dict[str, Recipient] = {}
    for role in step.notify:
        found, why = _resolve(role, contract, staff, assignee, at)
        skipped += why
        if not found and not why:
            skipped.append(Skip(role, "nobody holds this role in the contract or staff directory"))
        for recipient in found:
            if recipient.id in seen:
                first = seen[recipient.id].role
                skipped.append(Skip(role, f"already notified as {first}", who=recipient.name))
                continue
            seen[recipient.id] = recipient
            recipients.append(recipient)
    return Resolution(recipients, skipped)


def _resolve(
    role: str,
    contract: LoadedContract,
    staff: StaffDirectory,
    assignee: str | None,
    at: datetime,
) -> tuple[list[Recipient], list[Skip]]:
    if role == Role.ENGINEER:
        return _engineer(staff, assignee, at)
    if role in MANAGER_ROLES:
        person = getattr(contract.contract.our_staff, Role(role).snake)
        if person is not None:
            return [_from_contract(person, role, contract.id, staff)], []
        return [_from_staff(p, role) for p in staff.people_with(role)], []
    if role in DIRECTORY_ROLES:
        return [_from_staff(p, role) for p in staff.people_with(role)], []
    if role in CONTACT_ROLES:
        customer = contract.contract.customer
        wanted = CONTACT_ROLES[Role(role)]
        contacts = [c for c in customer.contacts if c.role == wanted]
        if not contacts:
            reason = f"contract {contract.id} names no {wanted} contact"
            return [], [Skip(role, reason)]
        return [_from_contact(c, role, customer.id) for c in contacts], []
    return [], [Skip(role, "unknown role")]


def _engineer(
    staff: StaffDirectory, assignee: str | None, at: datetime
) -> tuple[list[Recipient], list[Skip]]:
    skipped: list[Skip] = []
    if assignee:
        person = staff.person(assignee)
        if person is not None:
            return [_from_staff(person, Role.ENGINEER)], []
        reason = "assignee is not in the staff directory: the on-duty engineer instead"
        skipped.append(Skip(Role.ENGINEER, reason, who=assignee))
    return [_from_staff(staff.on_duty(at), Role.ENGINEER)], skipped


def _from_staff(person: Person, role: str) -> Recipient:
    return Recipient(
        id=person.id,
        name=person.name,
        role=role,
        email=person.email,
        mobile=person.mobile,
        locale=person.locale,
        calendar=person.calendar,
    )


def _from_contract(
    person: ContractPerson, role: str, contract_id: str, staff: StaffDirectory
) -> Recipient:
    """A manager the contract names; the directory adds id, locale, calendar and any address
    the contract leaves out (the contract's own addresses win: they are what was agreed)."""
    known = staff.match(person.name, person.email)
    if known is None:
        return Recipient(
            id=f"{contract_id}/{person.name}",
            name=person.name,
            role=role,
            email=person.email,
            mobile=person.mobile,
            calendar=MANAGER_CALENDAR,
        )
    return Recipient(
        id=known.id,
        name=person.name,
        role=role,
        email=person.email or known.email,
        mobile=person.mobile or known.mobile,
        locale=known.locale,
        calendar=known.calendar,
    )


def _from_contact(contact: ContractPerson, role: str, customer_id: str) -> Recipient:
    return Recipient(
        id=f"{customer_id}/{contact.name}",
        name=contact.name,
        role=role,
        email=contact.email,
        mobile=contact.mobile,
        calendar=CONTACT_CALENDAR,
        staff=False,
    )


# --- notices ---------------------------------------------------------------------------------


def is_urgent(
    step: EscalationStep, priority: str, fraction: float, *, override: bool | None = None
) -> bool:
    """Whether a level's notices ignore the recipients' calendars and go at once.

    First ``override`` (True/False), then the contract step's own ``urgent`` flag, then our
    default: a breach (``fraction >= 1``, e.g. "100%" or "100% + 2h") of a P1 clock. The flag
    is read with ``getattr`` so a step-like object without one (a plugin's, a test's) still
    gets the default.
    """
    if override is not None:
        return override
    flag = getattr(step, "urgent", None)
    if isinstance(flag, bool):
        return flag
    return priority == "P1" and fraction >= 1


@dataclass(frozen=True, slots=True)
class PlannedNotice:
    """One notice to one recipient on one channel, and when it may go out."""

    recipient: Recipient
    channel: str
    address: str | None  # the e-mail or mobile; None for a channel we know no address for
    idempotency_key: str
    due_at: datetime  # when the level fired
    send_after: datetime  # not before: due_at, or the recipient's calendar's next opening
    urgent: bool
    case_number: str
    clock_kind: str
    clock_id: str | None
    level: int
    step_at: str  # the rung, e.g. "100% + 2h", for the message
    why: str  # how send_after was chosen, for the case's record


class NoticePlan(NamedTuple):
    """The notices of one fired level, and the recipient/channel pairs that get none."""

    notices: list[PlannedNotice]
    skipped: list[Skip]


def notice_key(
    case_number: str,
    clock_kind: str,
    clock_id: str | int | None,
    rung: str,
    recipient_id: str,
    channel: str,
) -> str:
    """``case:kind:clock:rung:recipient:channel``, the rung as the contract writes it without
    spaces (``80%``, ``100%+2h``); an absent clock id leaves its slot empty so every key has
    the same fields. The same rung re-planned — also after a priority change moved the
    clock to another ladder — gives the same key, so the outbox refuses a second send."""
    clock = "" if clock_id is None else str(clock_id)
    return f"{case_number}:{clock_kind}:{clock}:{rung_key(rung)}:{recipient_id}:{channel}"


def rung_key(at: str) -> str:
    """``"100% + 2h"`` → ``"100%+2h"``: one spelling per rung."""
    return "".join(at.split())


def send_time(
    at: datetime, calendar: str, urgent: bool, calendars: Callable[[str], Calendar]
) -> tuple[datetime, str]:
    """(send_after, why): ``at`` when urgent or the calendar is open, else its next opening.

    An unknown calendar sends at once: a late warning is worse than an untimely one.
    """
    if urgent:
        return at, "urgent: sent at once"
    try:
        cal = calendars(calendar)
    except CasetrackError as exc:
        return at, f"calendar {calendar!r} unavailable ({exc.detail}): sent at once"
    if cal.is_open(at):
        return at, f"{calendar} open"
    opens = cal.next_open(at)
    return opens, f"{calendar} closed: held until {opens.isoformat()}"


def plan_notices(
    *,
    case_number: str,
    clock_kind: str,
    level_index: int,
    step: EscalationStep,
    urgent: bool,
    recipients: Iterable[Recipient],
    channels: Sequence[str] | None = None,
    at: datetime,
    calendars: Callable[[str], Calendar],
    clock_id: str | int | None = None,
) -> NoticePlan:
    """The notices of level ``level_index`` of a clock that fired at ``at``: each recipient on
    each channel (``step.channels`` unless given) that has an address for it."""
    notices: list[PlannedNotice] = []
    skipped: list[Skip] = []
    times: dict[str, tuple[datetime, str]] = {}  # per calendar name: built and asked once
    for recipient in recipients:
        for channel in step.channels if channels is None else channels:
            attribute = CHANNEL_ADDRESS.get(channel)
            address = getattr(recipient, attribute) if attribute else None
            if attribute and not address:
                reason = f"no {attribute} for {channel}"
                skipped.append(Skip(recipient.role, reason, who=recipient.name, channel=channel))
                continue
            if recipient.calendar not in times:
                times[recipient.calendar] = send_time(at, recipient.calendar, urgent, calendars)
            send_after, why = times[recipient.calendar]
            key = notice_key(case_number, clock_kind, clock_id, step.at, recipient.id, channel)
            notices.append(
                PlannedNotice(
                    recipient=recipient,
                    channel=channel,
                    address=address,
                    idempotency_key=key,
                    due_at=at,
                    send_after=send_after,
                    urgent=urgent,
                    case_number=case_number,
                    clock_kind=clock_kind,
                    clock_id=None if clock_id is None else str(clock_id),
                    level=level_index,
                    step_at=step.at,
                    why=why,
                )
            )
    return NoticePlan(notices, skipped)


# --- manual escalation -----------------------------------------------------------------------

# The handbook's words for the groups a person escalates to (our mapping; the role's own
# spelling, kebab or snake, works too).
ROLE_WORDS: dict[str, Role] = {
    "工程师": Role.ENGINEER,
    "值班工程师": Role.ENGINEER,
    "服务经理": Role.SERVICE_MANAGER,
    "项目经理": Role.PROJECT_MANAGER,
    "投诉经理": Role.COMPLAINT_MANAGER,
    "备件经理": Role.SPARE_MANAGER,
    "质量部": Role.QUALITY_DEPARTMENT,
    "总经理": Role.GENERAL_MANAGER,
    "专家组": Role.EXPERT_GROUP,
}
_NOTIFIED = frozenset(role.value for role in NOTIFY_ROLES)
_TARGET_SEPARATORS = re.compile(r"[\s/,;，、；]+")


class ManualTargets(NamedTuple):
    """What a manual escalation's ``target_group`` names: roles, people of the staff
    directory, and words that are neither (recorded as skipped)."""

    roles: list[NotifyRoleName]
    people: list[Person]
    unknown: list[str]


def manual_targets(target_group: str, staff: StaffDirectory | None) -> ManualTargets:
    """Read ``target_group`` word by word (split on spaces, ``/``, commas): a role
    (``service-manager``, ``service_manager``, ``服务经理``), else a person of the directory
    (by id or name), else unknown."""
    roles: list[NotifyRoleName] = []
    people: list[Person] = []
    unknown: list[str] = []
    for word in filter(None, _TARGET_SEPARATORS.split(target_group)):
        role = _role_named(word)
        person = staff.person(word) if staff is not None and role is None else None
        if role is not None:
            roles += [role] if role not in roles else []
        elif person is not None:
            people += [person] if person not in people else []
        else:
            unknown.append(word)
    return ManualTargets(roles, people, unknown)


def _role_named(word: str) -> NotifyRoleName | None:
    """A role a ladder rung may notify (not agent, admin or customer: they get no notices)."""
    spelled = ROLE_WORDS[word].value if word in ROLE_WORDS else word.lower().replace("_", "-")
    return spelled if spelled in _NOTIFIED else None  # type: ignore[return-value]


def ladder_channels(
    steps: Sequence[EscalationStep], priority: str, roles: Sequence[str]
) -> list[str]:
    """The channels of the contract's ladder for a case of ``priority``: those of the rungs that
    notify one of ``roles``, else of every rung that applies; e-mail when the ladder is empty."""
    applies = [s for s in steps if not s.priorities or priority in s.priorities]
    naming = [s for s in applies if set(s.notify) & set(roles)]
    channels = [c for s in naming or applies for c in s.channels]
    return list(dict.fromkeys(channels)) or ["email"]


def person_recipient(person: Person, role: str) -> Recipient:
    """A directory person as a recipient, chosen for ``role``."""
    return _from_staff(person, role)
