"""Cisco's words for a case and an RMA, mapped to core.rma.RmaState (the table in
docs/rma_cisco.md). Matching ignores case, spaces and hyphens around the words."""

from __future__ import annotations

from core.rma import RmaState

# a TAC case (service request): while it is open, the RMA is at least OPEN at Cisco
CASE_STATES: dict[str, RmaState] = {
    "new": RmaState.OPEN,
    "open": RmaState.OPEN,
    "cisco pending": RmaState.OPEN,
    "customer pending": RmaState.OPEN,
    "customer updated": RmaState.OPEN,
    "development pending": RmaState.OPEN,
    "resolved": RmaState.CLOSED,
    "closed": RmaState.CLOSED,
    "cancelled": RmaState.CANCELLED,
    "canceled": RmaState.CANCELLED,
    "rejected": RmaState.REJECTED,
}

# an RMA (Service Order Return API): where the replacement part and the faulty one are
RMA_STATES: dict[str, RmaState] = {
    "booked": RmaState.OPEN,
    "entered": RmaState.OPEN,
    "open": RmaState.OPEN,
    "awaiting shipment": RmaState.OPEN,
    "on hold": RmaState.OPEN,
    "shipped": RmaState.SHIPPED,
    "in transit": RmaState.SHIPPED,
    "delivered": RmaState.DELIVERED,
    "received": RmaState.CLOSED,  # Cisco received the faulty part back
    "closed": RmaState.CLOSED,
    "cancelled": RmaState.CANCELLED,
    "canceled": RmaState.CANCELLED,
    "rejected": RmaState.REJECTED,
}


def _word(status: str) -> str:
    return " ".join(status.replace("-", " ").replace("_", " ").lower().split())


def case_state(status: str) -> RmaState | None:
    """The state a case's status means, None for a word not in the table."""
    return CASE_STATES.get(_word(status))


def rma_state(status: str) -> RmaState | None:
    """The state an RMA's status means, None for a word not in the table."""
    return RMA_STATES.get(_word(status))


def combined_state(case_status: str, rma_status: str | None) -> RmaState:
    """A withdrawn or refused case wins; otherwise the RMA's state once Cisco booked one
    (TAC often closes the case while the part travels); otherwise the case's. An unknown
    word reads as OPEN, so the RMA keeps being polled and the raw word is recorded."""
    by_case = case_state(case_status)
    if by_case in (RmaState.CANCELLED, RmaState.REJECTED):
        return by_case
    by_rma = rma_state(rma_status) if rma_status else None
    return by_rma or by_case or RmaState.OPEN
