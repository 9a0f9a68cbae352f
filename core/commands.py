"""The inputs of case commands, as msgspec Structs (the HTTP layer decodes straight into them)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

import msgspec
from msgspec import Meta

from core.case import Category, Channel, RequestType, Status, Visibility
from core.handover import HandOverTarget

Priority = Literal["P1", "P2", "P3", "P4"]
Text = Annotated[str, Meta(min_length=1, max_length=4000)]
Name = Annotated[str, Meta(min_length=1, max_length=200)]
Ticket = Annotated[str, Meta(min_length=1, max_length=100)]


class Command(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Base: every command may carry the case version the caller last saw."""

    expected_version: int | None = None


class Caller(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Who called (R-CASE caller info)."""

    name: Name
    company: str | None = None
    phone: str | None = None
    email: str | None = None
    address: str | None = None


class Window(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A customer-agreed appointment window."""

    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        if self.end <= self.start:
            raise ValueError("appointment window ends before it starts")


class OpenCase(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    contract_id: Name
    caller: Caller
    summary: Annotated[str, Meta(min_length=1, max_length=500)]
    category: Category
    request_type: RequestType
    priority: Priority
    channel: Channel
    emergency: bool = False
    device_serial: str | None = None
    site: str | None = None
    lat: float | None = None
    lon: float | None = None
    appointment: Window | None = None
    description: str | None = None


class Assign(Command, frozen=True, kw_only=True):
    engineer: Name


class FirstResponse(Command, frozen=True, kw_only=True):
    """Service content agreed with the customer and diagnosis started (R-RESP)."""

    agreed_content: Text


class ConfirmDiagnosis(Command, frozen=True, kw_only=True):
    finding: Text
    hardware_fault: bool = False  # starts the spare-part clocks of the device's tier


class RemoteAccess(Command, frozen=True, kw_only=True):
    """The customer's consent to remote access, with the credentials they supplied."""

    consent_by: Name
    consent_at: datetime
    credentials: dict[str, str] = {}


class Note(Command, frozen=True, kw_only=True):
    text: Text
    visibility: Visibility = Visibility.INTERNAL


class CallLog(Command, frozen=True, kw_only=True):
    direction: Literal["inbound", "outbound"]
    party: Name
    summary: Text
    visibility: Visibility = Visibility.INTERNAL


class ChangePriority(Command, frozen=True, kw_only=True):
    priority: Priority
    reason: Text


class ChangeStatus(Command, frozen=True, kw_only=True):
    status: Status
    cause: str | None = None  # required for pending_customer: it pauses resolution


class Escalate(Command, frozen=True, kw_only=True):
    level: Annotated[int, Meta(ge=1, le=9)]
    reason: Text
    target_group: Name


class HandOver(Command, frozen=True, kw_only=True):
    """Functional escalation (R-CASE): the case goes to another support level, up or down.

    ``ticket`` is the case number in their system: required for ``digital-china`` and
    ``vendor``, optional otherwise. ``vendor`` names which vendor (e.g. "Cisco TAC"), only
    with target ``vendor``.
    """

    target: HandOverTarget
    reason: Text
    ticket: Ticket | None = None
    vendor: Name | None = None
    visibility: Visibility = Visibility.INTERNAL


class ReportProgress(Command, frozen=True, kw_only=True):
    """The engineer on site of an emergency reports how handling goes (限时上报).

    ``final``: the emergency handling on site is over (service restored, engineer left): no
    further report is due until the next on-site arrival.
    """

    text: Text
    visibility: Visibility = Visibility.INTERNAL
    final: bool = False


class RequestOnsite(Command, frozen=True, kw_only=True):
    """Both sides agreed on-site support is needed (starts the arrival clock)."""

    reason: Text


class Milestone(Command, frozen=True, kw_only=True):
    """Something happened that stops a clock (logged in, arrived, part shipped/arrived)."""

    note: str | None = None


class Resolve(Command, frozen=True, kw_only=True):
    resolution: Text


class Close(Command, frozen=True, kw_only=True):
    """The customer confirms completion: who, when, which checklist items, which documents."""

    confirmed_by: Name
    confirmed_at: datetime
    checklist: list[str] = []
    deliverables: dict[str, str] = {}  # deliverable id → document reference


class Reopen(Command, frozen=True, kw_only=True):
    reason: Text


class ExcludeClock(Command, frozen=True, kw_only=True):
    kind: str
    cause: str
    note: Text
