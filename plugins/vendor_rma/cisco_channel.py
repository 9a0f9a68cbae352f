"""The ``cisco_tac`` RMA channel: core.rma.RmaClient over Cisco's Support APIs.

``vendor_case`` is the Cisco TAC case (service request) number. A case's RMA numbers come
with the case; where the part is (shipped, carrier, waybill) comes from the Service Order
Return API, one call per RMA. ``status_many`` polls up to 30 cases per call and asks for an
RMA's details only when its case changed since this channel last saw it.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from typing import TYPE_CHECKING

import httpx

from core.rma import RmaError, RmaRequest, RmaState, RmaTicket, RmaUpdate, VendorRejected
from plugins.vendor_rma.cisco_client import (
    MAX_CASE_IDS,
    CiscoCase,
    CiscoReturn,
    CiscoSupportClient,
    Clock,
    OpenCase,
    utc_now,
)
from plugins.vendor_rma.cisco_states import case_state, combined_state
from plugins.vendor_rma.cisco_webhook import parse_webhook

if TYPE_CHECKING:
    from core.settings import Settings

log = logging.getLogger(__name__)

NOT_CONFIGURED = (
    "the cisco_tac channel is not configured: set CASETRACK_CISCO_TAC_CLIENT_ID and"
    " CASETRACK_CISCO_TAC_CLIENT_SECRET (docs/rma_cisco.md)"
)
TERMS = "per the device's Cisco service contract (原厂维保, 具体以原厂承诺为准)"


class CiscoTacChannel:
    """Opens, polls and cancels Cisco TAC RMAs; reads Cisco-shaped webhook bodies."""

    name = "cisco_tac"
    status_batch = MAX_CASE_IDS  # one Case API summary call per status_many (core.rma)

    def __init__(
        self, client: CiscoSupportClient | None, *, severity: int = 3, contact: str = ""
    ) -> None:
        self._client = client
        self.severity = severity
        self.contact = contact
        # case number → (what its summary said last, the ticket made of it)
        self._seen: dict[str, tuple[tuple[str, str | None], RmaTicket]] = {}
        self._seen_lock = threading.Lock()

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        *,
        clock: Clock = utc_now,
        transport: httpx.BaseTransport | None = None,
    ) -> CiscoTacChannel:
        """The channel the settings describe; without credentials it is built anyway and
        raises RmaError when asked to talk to Cisco (parse_inbound still works)."""
        client = None
        if settings.cisco_tac_client_id and settings.cisco_tac_client_secret:
            client = CiscoSupportClient(
                api_url=settings.cisco_tac_api_url,
                token_url=settings.cisco_tac_token_url,
                client_id=settings.cisco_tac_client_id,
                client_secret=settings.cisco_tac_client_secret,
                timeout=settings.cisco_tac_timeout_seconds,
                clock=clock,
                transport=transport,
            )
        return cls(client, severity=settings.cisco_tac_severity, contact=settings.cisco_tac_contact)

    def __repr__(self) -> str:
        return f"CiscoTacChannel(client={self._client!r})"

    @property
    def configured(self) -> bool:
        return self._client is not None

    @property
    def client(self) -> CiscoSupportClient:
        if self._client is None:
            raise RmaError(NOT_CONFIGURED)
        return self._client

    def close(self) -> None:
        if self._client is not None:
            self._client.close()

    # --- core.rma.RmaClient -------------------------------------------------------------------

    def open(self, request: RmaRequest, now: datetime) -> RmaTicket:
        """A new service request with an RMA request; when the customer already opened a
        case with TAC (``request.vendor_case``), that case is linked and polled instead."""
        if request.vendor_case:
            return self.status(request.vendor_case, now)
        case = self.client.open_case(
            OpenCase(
                idempotency_key=request.idempotency_key,
                customer_reference=request.case_number,
                serial_number=request.serial,
                problem_description=request.problem,
                severity=self.severity,
                ship_to=request.ship_to,
                product_id=request.model,
                part_number=request.part,
                contact=self.contact or None,
            )
        )
        return self._fresh_ticket(case)

    def status(self, vendor_case: str, now: datetime) -> RmaTicket:
        """The case's details and, once Cisco booked an RMA on it, the RMA's (two calls)."""
        return self._fresh_ticket(self.client.case_details(vendor_case))

    def cancel(self, vendor_case: str, reason: str, now: datetime) -> RmaTicket:
        return self._fresh_ticket(self.client.cancel_case(vendor_case, reason))

    def parse_inbound(self, message: bytes) -> list[RmaUpdate]:
        return parse_webhook(message)

    # --- batched polling ----------------------------------------------------------------------

    def status_many(self, vendor_cases: Iterable[str], now: datetime) -> dict[str, RmaTicket]:
        """Tickets for many cases: one Case API call per 30 cases, plus one Return API call
        per RMA whose case changed since the last poll. A case Cisco did not return is
        absent from the result (ask ``status`` to learn why). A VendorUnavailable (429,
        5xx, timeout) ends the pass: nothing is lost, the next pass asks again."""
        client = self.client
        wanted = list(dict.fromkeys(vendor_cases))
        tickets: dict[str, RmaTicket] = {}
        for batch in _chunks(wanted, MAX_CASE_IDS):
            asked = set(batch)
            for case in client.case_summaries(batch):
                if case.case_number in asked:
                    tickets[case.case_number] = self._polled_ticket(case)
        return tickets

    def forget(self, vendor_case: str) -> None:
        """Drop what the poller remembers of a case (e.g. when its RMA order is closed)."""
        with self._seen_lock:
            self._seen.pop(vendor_case, None)

    def _polled_ticket(self, case: CiscoCase) -> RmaTicket:
        mark = (case.status, case.updated_date)
        with self._seen_lock:
            seen = self._seen.get(case.case_number)
        if seen is not None and seen[0] == mark and case.updated_date is not None:
            return seen[1]  # unchanged since the last poll: no Return API call
        return self._fresh_ticket(case)

    def _fresh_ticket(self, case: CiscoCase) -> RmaTicket:
        rma = self._latest_rma(case)
        ticket = ticket_of(case, rma)
        with self._seen_lock:
            if ticket.state.final:
                self._seen.pop(case.case_number, None)
            else:
                self._seen[case.case_number] = ((case.status, case.updated_date), ticket)
        return ticket

    def _latest_rma(self, case: CiscoCase) -> CiscoReturn | None:
        if not case.rmas or case_state(case.status) == RmaState.CANCELLED:
            return None
        try:
            return self.client.rma_details(case.rmas[-1])
        except VendorRejected:
            # booked on the case but not yet visible to the Return API: the case speaks
            log.info(
                "Cisco case %s lists RMA %s, unknown to the Return API yet",
                case.case_number,
                case.rmas[-1],
            )
            return None


def ticket_of(case: CiscoCase, rma: CiscoReturn | None) -> RmaTicket:
    """One ticket from a case and its latest RMA (the mapping in docs/rma_cisco.md)."""
    raw = f"case {case.status}"
    if rma is not None:
        raw += f"; RMA {rma.rma_no} {rma.status}"
    return RmaTicket(
        vendor_case=case.case_number,
        state=combined_state(case.status, rma.status if rma else None),
        raw_status=raw,
        promise=None,  # Cisco's replacement terms are the device's contract's, not ours
        carrier=rma.carrier if rma else None,
        waybill=rma.tracking_number if rma else None,
        note=f"Cisco TAC case {case.case_number}: replacement {TERMS}",
    )


def _chunks(items: Sequence[str], size: int) -> Iterator[Sequence[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
