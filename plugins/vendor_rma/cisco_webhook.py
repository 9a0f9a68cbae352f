"""A Cisco-shaped webhook body (case or RMA status changed) read into RmaUpdates.

Cisco documents no public webhook for TAC cases; partner integrations (TAC Connect, Smart
Bonding) push status changes. The shape read here is assumed (docs/rma_cisco.md): one event
object, or ``{"events": [...]}``. Events we cannot read are skipped; a body with none that we
can read raises RmaParseError.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal

import msgspec

from core.rma import RmaParseError, RmaState, RmaUpdate
from plugins.vendor_rma.cisco_states import case_state, rma_state

MAX_BODY = 1_000_000  # bytes; a webhook body larger than this is refused unread


class WebhookEvent(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    event_type: Literal["CASE_STATUS_CHANGED", "RMA_STATUS_CHANGED"]
    case_number: str
    status: str
    occurred_at: datetime
    rma_number: str | None = None
    carrier: str | None = None
    tracking_number: str | None = None
    customer_reference: str | None = None
    note: str | None = None


class _Batch(msgspec.Struct, frozen=True):
    events: list[msgspec.Raw]


def parse_webhook(message: bytes) -> list[RmaUpdate]:
    if len(message) > MAX_BODY:
        raise RmaParseError(f"Cisco webhook body of {len(message)} bytes (limit {MAX_BODY})")
    raws = _events(message)
    updates: list[RmaUpdate] = []
    problems: list[str] = []
    for index, raw in enumerate(raws):
        try:
            event = msgspec.json.decode(raw, type=WebhookEvent)
        except msgspec.ValidationError as exc:
            problems.append(f"events[{index}]: {exc}")
            continue
        if event.occurred_at.tzinfo is None:
            problems.append(f"events[{index}]: occurredAt has no UTC offset")
            continue
        update = _update(event)
        if update is None:
            problems.append(f"events[{index}]: unknown status {event.status[:40]!r}")
        else:
            updates.append(update)
    if not updates:
        why = "; ".join(problems[:3]) or "no events"
        raise RmaParseError(f"no Cisco status change can be read: {why}")
    return updates


def _events(message: bytes) -> list[msgspec.Raw]:
    try:
        body = msgspec.json.decode(message)
    except msgspec.DecodeError:
        raise RmaParseError("Cisco webhook body is not JSON") from None
    if isinstance(body, dict) and "events" in body:
        try:
            return msgspec.json.decode(message, type=_Batch).events
        except msgspec.ValidationError as exc:
            raise RmaParseError(f"Cisco webhook body: {exc}") from None
    if isinstance(body, dict):
        return [msgspec.Raw(message)]
    raise RmaParseError('Cisco webhook body is neither an event nor {"events": [...]}')


def _update(event: WebhookEvent) -> RmaUpdate | None:
    state: RmaState | None
    if event.event_type == "RMA_STATUS_CHANGED":
        state = rma_state(event.status)
    else:
        state = case_state(event.status)
    if state is None:
        return None
    at = event.occurred_at.astimezone(UTC)
    raw = f"RMA {event.rma_number}: {event.status}" if event.rma_number else event.status
    return RmaUpdate(
        vendor_case=event.case_number,
        state=state,
        raw_status=raw,
        at=at,
        case_number=event.customer_reference,
        carrier=event.carrier,
        waybill=event.tracking_number,
        note=event.note,
    )
