"""A tiny RMA client (core.rma.RmaClient): each status poll moves an RMA one step along."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime

from core.rma import (
    RmaContext,
    RmaParseError,
    RmaRequest,
    RmaState,
    RmaTicket,
    RmaUpdate,
    VendorRejected,
)
from core.settings import Settings

STEPS = (RmaState.OPEN, RmaState.SHIPPED, RmaState.DELIVERED)


class HpeDemoChannel:
    name = "hpe_demo"
    polls = True  # the scheduler asks `status` of open RMAs

    def __init__(self) -> None:
        self.state: dict[str, int] = {}

    @classmethod
    def from_settings(cls, settings: Settings, context: RmaContext) -> HpeDemoChannel:
        return cls()

    def open(self, request: RmaRequest, now: datetime) -> RmaTicket:
        # the same key gives the same case number: a retried open is the same RMA
        case = "HPE-" + hashlib.sha256(request.idempotency_key.encode()).hexdigest()[:8].upper()
        self.state.setdefault(case, 0)
        return RmaTicket(vendor_case=case, state=RmaState.OPEN, raw_status="Case Created")

    def status(self, vendor_case: str, now: datetime) -> RmaTicket:
        if vendor_case not in self.state:
            raise VendorRejected(f"unknown HPE case {vendor_case}")
        step = self.state[vendor_case] = min(self.state[vendor_case] + 1, len(STEPS) - 1)
        state = STEPS[step]
        waybill = "HPE-WB-1" if state is not RmaState.OPEN else None
        return RmaTicket(
            vendor_case=vendor_case,
            state=state,
            raw_status=state.value.title(),
            carrier="DHL" if waybill else None,
            waybill=waybill,
        )

    def cancel(self, vendor_case: str, reason: str, now: datetime) -> RmaTicket:
        return RmaTicket(vendor_case=vendor_case, state=RmaState.CANCELLED, raw_status="Cancelled")

    def parse_inbound(self, message: bytes) -> list[RmaUpdate]:
        """A webhook body: {"case": ..., "status": ..., "at": ISO 8601}."""
        try:
            data = json.loads(message)
            return [
                RmaUpdate(
                    vendor_case=data["case"],
                    state=RmaState(data["status"]),
                    raw_status=data["status"],
                    at=datetime.fromisoformat(data["at"]),
                )
            ]
        except (ValueError, KeyError, TypeError) as exc:
            raise RmaParseError(f"not an HPE demo webhook: {exc}") from None
