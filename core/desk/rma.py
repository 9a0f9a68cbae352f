"""Vendor RMAs on a case: open (idempotent), cancel, record updates (poll, inbound mail, agent).

An open stores the order and its idempotency key in one transaction, *then* asks the vendor
with that key, then records the answer in another: a crash in between leaves a ``pending``
row that the scheduler's poll opens again with the same key, so a vendor never sees two
requests for one RMA under different keys. Every change of an order's state (or its vendor
case, carrier, waybill, promise) is a customer-visible ``rma_updated`` event. A promise
without a date (no stock) and a vendor unreachable ``max_failures`` times in a row escalate
the case through the manual-escalation machinery (core.jobs.manual).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from core.case import OPEN_STATUSES, IllegalTransition
from core.desk.errors import IdempotencyMismatch, InvalidCommand
from core.desk.spares import SpareCommands
from core.errors import ConflictError, NotFoundError
from core.events import ManualEscalation, RmaUpdated
from core.jobs.manual import plan_manual
from core.rma import (
    FINAL_STATES,
    PENDING,
    BatchStatus,
    CancelRma,
    OpenRma,
    RmaChannels,
    RmaClient,
    RmaEntry,
    RmaError,
    RmaRequest,
    RmaState,
    RmaTicket,
    RmaUpdate,
    RmaView,
    ShipPromise,
    StockPromiser,
    VendorRejected,
    VendorUnavailable,
    moves_forward,
    polls,
    status_batch,
)
from core.spares import SpareStep, SpareStepRefused
from core.store import orm

ACTOR = "rma"  # who records what the vendor said (poll, mail)
MAX_ERROR = 500


@dataclass(frozen=True)
class RmaPolicy:
    """Polling, back-off and escalation (settings: docs/rma.md)."""

    poll_every: timedelta = timedelta(hours=1)
    first_retry: timedelta = timedelta(minutes=1)
    max_retry: timedelta = timedelta(hours=1)
    max_failures: int = 5
    lease: timedelta = timedelta(minutes=5)
    escalation_group: str = "service-manager"

    def retry_after(self, failures: int, hint: float | None = None) -> timedelta:
        """Exponential back-off from ``first_retry``, capped; a vendor's Retry-After is
        honoured when longer."""
        delay = min(self.first_retry * (2 ** max(failures - 1, 0)), self.max_retry)
        if hint is not None and hint > 0:
            delay = max(delay, timedelta(seconds=hint))
        return delay


@dataclass(frozen=True)
class Change:
    """What the vendor (or an agent) says now about one order."""

    state: str
    raw_status: str | None = None
    vendor_case: str | None = None
    carrier: str | None = None
    waybill: str | None = None
    stock: tuple[str, ...] | None = None
    promise: ShipPromise | None = None

    @classmethod
    def of_ticket(cls, ticket: RmaTicket) -> Change:
        return cls(
            state=ticket.state,
            raw_status=ticket.raw_status,
            vendor_case=ticket.vendor_case,
            carrier=ticket.carrier,
            waybill=ticket.waybill,
            promise=ticket.promise,
        )

    @classmethod
    def of_update(cls, update: RmaUpdate) -> Change:
        return cls(
            state=update.state,
            raw_status=update.raw_status,
            vendor_case=update.vendor_case,
            carrier=update.carrier,
            waybill=update.waybill,
            stock=update.stock,
        )


class RmaCommands(SpareCommands):
    """Vendor RMAs: open, cancel, updates; the scheduler's claims and polls. An order that
    supplies a spare request (``spare_request_id``: the request's number on the case)
    records that request's steps as it moves (``_supply_spare``)."""

    rma_channels: RmaChannels | None = None  # set by the runtime (core.runtime)
    rma_policy: RmaPolicy = RmaPolicy()

    # --- open -----------------------------------------------------------------------------

    def open_rma(self, number: str, cmd: OpenRma, *, actor: str, now: datetime) -> RmaView:
        """Open an RMA for a device of the case (see the module docstring for the steps)."""
        owner = _owner()
        reserved = self._reserve_rma(number, cmd, owner=owner, actor=actor, now=now)
        if isinstance(reserved, RmaView):
            return reserved  # a replay: the order exists and someone else handles it
        return self._ask_vendor(reserved, owner=owner, now=now)

    def _reserve_rma(
        self, number: str, cmd: OpenRma, *, owner: str, actor: str, now: datetime
    ) -> int | RmaView:
        """The order row with its key, committed before the vendor is asked; an existing
        order for the key (or the device's open order, without a key) is a replay."""
        with self._unit() as (session, _):
            case = self._load(session, number, cmd)
            lc = self._contract(case.contract_id)
            serial = cmd.serial or case.device_serial
            if not serial:
                raise InvalidCommand(f"case {number} names no device: give the serial")
            device = lc.contract.device(serial)
            if device is None:
                raise InvalidCommand(f"contract {lc.id} covers no device with serial {serial!r}")
            channel = cmd.channel or device.rma
            if channel != device.rma:
                raise InvalidCommand(
                    f"device {serial} is covered through RMA channel {device.rma!r} "
                    f"(contract {lc.id}), not {channel!r}"
                )
            existing = self._existing_order(session, case, cmd, serial, channel)
            if existing is not None:
                return self._replay_rma(existing, owner, now)
            self._require_open(case, "open an RMA")
            if cmd.spare_request_id is not None and not self._has_spare_request(
                session, case, cmd.spare_request_id
            ):
                raise InvalidCommand(f"case {number} has no spare request {cmd.spare_request_id}")
            self._rma_client(channel)  # a channel without a client here: refused before storing
            count = session.scalar(
                select(func.count())
                .select_from(orm.RmaOrder)
                .where(orm.RmaOrder.case_id == case.id)
            )
            key = cmd.idempotency_key or f"{number}/{serial}/{int(count or 0) + 1}"
            request = RmaRequest(
                case_number=number,
                idempotency_key=key,
                serial=serial,
                model=device.model,
                part=cmd.part,
                problem=cmd.problem or case.summary,
                ship_to=cmd.ship_to or device.site,
                requested_at=now,
                vendor_case=cmd.vendor_case,
                contract_id=lc.id,
                customer=lc.contract.customer.name,
            )
            order = orm.RmaOrder(
                case_id=case.id,
                case_number=number,
                channel=channel,
                serial=serial,
                idempotency_key=key,
                vendor_case=cmd.vendor_case,
                state=PENDING,
                spare_request_id=cmd.spare_request_id,
                request=msgspec.to_builtins(request),
                failures=0,
                next_poll_at=now,  # a crash before the answer: the poll asks again
                claimed_at=now,
                claimed_by=owner,
                created_at=now,
                updated_at=now,
            )
            session.add(order)
            session.flush()
            return order.id

    def _existing_order(
        self, session: Session, case: orm.Case, cmd: OpenRma, serial: str, channel: str
    ) -> orm.RmaOrder | None:
        if cmd.idempotency_key is not None:
            order = session.scalars(
                select(orm.RmaOrder).where(orm.RmaOrder.idempotency_key == cmd.idempotency_key)
            ).one_or_none()
            if order is not None and (order.case_id, order.serial) != (case.id, serial):
                raise IdempotencyMismatch(
                    f"idempotency key {cmd.idempotency_key!r} already opened an RMA for "
                    f"another case or device"
                )
            return order
        return session.scalars(
            select(orm.RmaOrder)
            .where(
                orm.RmaOrder.case_id == case.id,
                orm.RmaOrder.serial == serial,
                orm.RmaOrder.channel == channel,
                orm.RmaOrder.state.not_in([str(s) for s in FINAL_STATES]),
            )
            .order_by(orm.RmaOrder.id.desc())
        ).first()

    def _replay_rma(self, order: orm.RmaOrder, owner: str, now: datetime) -> int | RmaView:
        """A pending order nobody is asking about is asked again now (same key); any other
        existing order is answered as it is."""
        free = order.claimed_at is None or order.claimed_at <= now - self.rma_policy.lease
        if order.state == PENDING and free:
            order.claimed_at, order.claimed_by = now, owner
            return order.id
        return rma_view(order)

    def _ask_vendor(self, order_id: int, *, owner: str, now: datetime) -> RmaView:
        """Ask the vendor about a claimed order (open it when pending, else its status) and
        record the answer; an outage is recorded as a failure with its back-off."""
        with self.sessions() as session:
            order = session.get(orm.RmaOrder, order_id)
            if order is None:
                raise NotFoundError(f"no RMA {order_id}")
            channel, state, vendor_case = order.channel, order.state, order.vendor_case
            request = msgspec.convert(order.request, RmaRequest)
        try:
            client = self._rma_client(channel)
            if state == PENDING:
                ticket: RmaTicket | None = client.open(request, now)
                source = "open"
            elif vendor_case and polls(client):
                ticket, source = client.status(vendor_case, now), "poll"
            else:
                ticket, source = None, "poll"
        except VendorUnavailable as exc:
            return self._vendor_failed(order_id, owner, exc.detail, exc.retry_after, now)
        except VendorRejected as exc:
            ticket = RmaTicket(
                vendor_case=vendor_case,
                state=RmaState.REJECTED,
                raw_status=_short(exc.detail) or "rejected",
            )
            source = "open" if state == PENDING else "poll"
        except Exception as exc:  # a channel's bug or misconfiguration: keep the RMA, retry
            detail = exc.detail if isinstance(exc, RmaError) else type(exc).__name__
            return self._vendor_failed(order_id, owner, str(detail), None, now)
        return self._answer_rma(order_id, owner, ticket, source, now)

    def _answer_rma(
        self, order_id: int, owner: str, ticket: RmaTicket | None, source: str, now: datetime
    ) -> RmaView:
        with self._unit() as (session, events):
            order = self._lock_order(session, order_id)
            return self._record_answer(session, events, order, owner, ticket, source, now)

    def _record_answer(
        self,
        session: Session,
        events: list[orm.CaseEvent],
        order: orm.RmaOrder,
        owner: str,
        ticket: RmaTicket | None,
        source: str,
        now: datetime,
    ) -> RmaView:
        """The vendor answered about a locked order: the failures reset, the change applied."""
        if order.claimed_by != owner:
            return rma_view(order)  # our lease lapsed and another took over: theirs counts
        order.failures, order.last_error, order.escalated_at = 0, None, None
        order.claimed_at = order.claimed_by = None
        if ticket is not None:
            change = Change.of_ticket(ticket)
            self._apply_rma(
                session, order, change, source=source, actor=ACTOR, now=now, events=events
            )
        order.next_poll_at = self._next_rma_poll(order, now)
        order.updated_at = now
        return rma_view(order)

    def _answer_rmas(
        self, answers: list[tuple[int, RmaTicket]], owner: str, now: datetime
    ) -> list[RmaView]:
        """A batch's answers in one transaction (most change nothing, so a pass costs a
        commit per batch, not per order); when one of them cannot be recorded, each is
        recorded alone, as ``poll_rma`` would, so the others still count."""
        tickets = dict(answers)
        try:
            with self._unit() as (session, events):
                orders = session.scalars(
                    select(orm.RmaOrder)
                    .where(orm.RmaOrder.id.in_(list(tickets)))
                    .order_by(orm.RmaOrder.id)
                    .with_for_update()
                ).all()
                return [
                    self._record_answer(
                        session, events, order, owner, tickets[order.id], "poll", now
                    )
                    for order in orders
                ]
        except Exception:
            return [self._answer_rma(i, owner, ticket, "poll", now) for i, ticket in answers]

    def _vendor_failed(
        self, order_id: int, owner: str, detail: str, hint: float | None, now: datetime
    ) -> RmaView:
        """One more failure in a row: back off, and escalate once at ``max_failures``."""
        policy = self.rma_policy
        with self._unit() as (session, events):
            order = self._lock_order(session, order_id)
            if order.claimed_by != owner:
                return rma_view(order)
            order.failures += 1
            order.last_error = detail[:MAX_ERROR]
            order.next_poll_at = now + policy.retry_after(order.failures, hint)
            order.claimed_at = order.claimed_by = None
            order.updated_at = now
            if order.failures >= policy.max_failures and order.escalated_at is None:
                order.escalated_at = now
                case = self._rma_case(session, order)
                reason = (
                    f"RMA {order.channel} {order.vendor_case or order.idempotency_key}: the "
                    f"vendor could not be reached {order.failures} times in a row; retrying "
                    f"every {int(policy.max_retry.total_seconds())}s at most"
                )
                self._escalate_rma(session, case, reason, now, events)
            return rma_view(order)

    # --- updates from the vendor and from agents ------------------------------------------------

    def update_rma(
        self, number: str, rma_id: int, cmd: RmaEntry, *, actor: str, now: datetime
    ) -> RmaView:
        """An agent records what the vendor said (phone, portal)."""
        change = Change(
            state=cmd.state,
            raw_status=cmd.raw_status or str(cmd.state),
            vendor_case=cmd.vendor_case,
            carrier=cmd.carrier,
            waybill=cmd.waybill,
            stock=None if cmd.stock is None else tuple(s.lower() for s in cmd.stock),
        )
        with self._unit() as (session, events):
            order = self._order_of_case(session, number, rma_id, lock=True)
            self._load(session, number, cmd)  # the expected version, if given
            if not moves_forward(order.state, change.state):
                raise ConflictError(f"RMA {rma_id} is {order.state}: it cannot become {cmd.state}")
            self._apply_rma(
                session, order, change, source="agent", actor=actor, now=now, events=events
            )
            order.next_poll_at = self._next_rma_poll(order, now)
            order.updated_at = now
            return rma_view(order)

    def ingest_rma_message(self, channel: str, message: bytes, *, now: datetime) -> list[RmaView]:
        """Parse a vendor's message (a reply e-mail, a webhook body) with the channel's parser
        and record each update on the order it names. RmaParseError: nothing readable;
        NotFoundError: an update names no order of ours (nothing is recorded then)."""
        updates = self._rma_client(channel).parse_inbound(message)
        with self._unit() as (session, events):
            orders = [self._order_for(session, channel, u) for u in updates]
            for order, update in zip(orders, updates, strict=True):
                change = Change.of_update(update)
                if not moves_forward(order.state, change.state):
                    continue  # a late or repeated message: the order is already further on
                self._apply_rma(
                    session, order, change, source="mail", actor=ACTOR, now=now, events=events
                )
                order.next_poll_at = self._next_rma_poll(order, now)
                order.updated_at = now
            return [rma_view(o) for o in orders]

    def _order_for(self, session: Session, channel: str, update: RmaUpdate) -> orm.RmaOrder:
        """The order an update names: by vendor case, else our key, else our case number
        (its one order of this channel still waiting for a vendor case)."""
        base = select(orm.RmaOrder).where(orm.RmaOrder.channel == channel).with_for_update()
        found = session.scalars(base.where(orm.RmaOrder.vendor_case == update.vendor_case)).first()
        if found is None and update.idempotency_key:
            found = session.scalars(
                base.where(orm.RmaOrder.idempotency_key == update.idempotency_key)
            ).first()
        if found is None and update.case_number:
            waiting = session.scalars(
                base.where(
                    orm.RmaOrder.case_number == update.case_number,
                    orm.RmaOrder.vendor_case.is_(None),
                    orm.RmaOrder.state.not_in([str(s) for s in FINAL_STATES]),
                )
            ).all()
            found = waiting[0] if len(waiting) == 1 else None
        if found is None:
            raise NotFoundError(
                f"no {channel} RMA matches vendor case {update.vendor_case!r}"
                + (f" (case {update.case_number})" if update.case_number else "")
            )
        return found

    def _apply_rma(
        self,
        session: Session,
        order: orm.RmaOrder,
        change: Change,
        *,
        source: str,
        actor: str,
        now: datetime,
        events: list[orm.CaseEvent],
    ) -> None:
        """Set what changed; record ``rma_updated`` if anything did; a promise without a date
        escalates the case."""
        before = _visible(order)
        if moves_forward(order.state, change.state):
            order.state = str(change.state)
            order.raw_status = _short(change.raw_status) or order.raw_status
        order.vendor_case = change.vendor_case or order.vendor_case
        order.carrier = change.carrier or order.carrier
        order.waybill = change.waybill or order.waybill
        promise = change.promise or self._rma_promise(order, change.stock)
        newly_promised = promise is not None and order.promise_rule is None
        if newly_promised:
            assert promise is not None
            order.promise_ship_by, order.promise_rule = promise.ship_by, promise.rule
        if _visible(order) == before:
            return
        case = self._rma_case(session, order)
        body = RmaUpdated(
            rma=order.id,
            channel=order.channel,
            vendor_case=order.vendor_case,
            state=order.state,
            raw_status=order.raw_status,
            carrier=order.carrier,
            waybill=order.waybill,
            ship_by=order.promise_ship_by,
            promise=order.promise_rule,
            source=source,
        )
        events.append(self._record(session, case, body, actor, now, "customer"))
        self._supply_spare(session, case, order, actor=actor, now=now, events=events)
        if newly_promised and order.promise_ship_by is None and order.promise_rule:
            self._escalate_rma(session, case, order.promise_rule, now, events)

    def _rma_promise(self, order: orm.RmaOrder, stock: Sequence[str] | None) -> ShipPromise | None:
        """The channel's stock-based promise, once the stock is known (first answer only)."""
        if stock is None or order.promise_rule is not None:
            return None
        client = self._rma_client(order.channel)
        if not isinstance(client, StockPromiser):
            return None
        contract_id = (order.request or {}).get("contract_id")
        return client.promise(stock, order.created_at, contract_id)

    # --- the spare request an order supplies ------------------------------------------------

    def _supply_spare(
        self,
        session: Session,
        case: orm.Case,
        order: orm.RmaOrder,
        *,
        actor: str,
        now: datetime,
        events: list[orm.CaseEvent],
    ) -> None:
        """The spare request's steps the order's state implies, in this transaction: a
        vendor case → ``rma_opened``; shipped → ``shipped`` (carrier, waybill); delivered →
        ``arrived``. A step the request already has is skipped; one it refuses (e.g. the
        part is installed already, the case is closed) is left to an agent."""
        if order.spare_request_id is None:
            return
        for step, fields in _spare_steps(order, self._rma_vendor(order.channel)):
            try:
                self._supply_spare_step(
                    session,
                    case,
                    order.spare_request_id,
                    step,
                    actor=actor,
                    now=now,
                    events=events,
                    **fields,
                )
            except (SpareStepRefused, IllegalTransition, NotFoundError):
                continue  # refused before anything was changed: the RMA update still counts

    def _has_spare_request(self, session: Session, case: orm.Case, request: int) -> bool:
        found = session.scalar(
            select(orm.SpareRequest.id).where(
                orm.SpareRequest.case_id == case.id, orm.SpareRequest.request == request
            )
        )
        return found is not None

    def _rma_vendor(self, channel: str) -> str | None:
        """The vendor the channel's descriptor names (e.g. "Cisco")."""
        if self.rma_channels is None:
            return None
        vendor = getattr(self.rma_channels.channels.get(channel), "vendor", None)
        return vendor if isinstance(vendor, str) and vendor else None

    # --- cancel ---------------------------------------------------------------------------

    def cancel_rma(
        self, number: str, rma_id: int, cmd: CancelRma, *, actor: str, now: datetime
    ) -> RmaView:
        """Withdraw an RMA at the vendor (a pending one never reached it: cancelled here)."""
        with self.sessions() as session:
            order = self._order_of_case(session, number, rma_id, lock=False)
            if order.state in FINAL_STATES:
                raise ConflictError(f"RMA {rma_id} is already {order.state}")
            request = msgspec.convert(order.request, RmaRequest)
            state, vendor_case, channel = order.state, order.vendor_case, order.channel
        ticket = RmaTicket(
            vendor_case=vendor_case, state=RmaState.CANCELLED, raw_status="cancelled"
        )
        if state != PENDING:
            client = self._rma_client(channel)
            cancel_request = getattr(client, "cancel_request", None)
            if callable(cancel_request):
                ticket = cancel_request(request, cmd.reason, now)
            elif vendor_case:
                ticket = client.cancel(vendor_case, cmd.reason, now)
        with self._unit() as (session, events):
            order = self._order_of_case(session, number, rma_id, lock=True)
            self._load(session, number, cmd)
            change = msgspec.structs.replace(ticket, state=RmaState.CANCELLED)
            self._apply_rma(
                session,
                order,
                Change.of_ticket(change),
                source="cancel",
                actor=actor,
                now=now,
                events=events,
            )
            order.next_poll_at = None
            order.claimed_at = order.claimed_by = None
            order.updated_at = now
            return rma_view(order)

    # --- the scheduler's poll -------------------------------------------------------------

    def claim_due_rmas(self, *, now: datetime, owner: str, limit: int = 100) -> list[int]:
        """Claim (lease) up to ``limit`` orders whose next poll is due; rows another
        scheduler holds are skipped (SKIP LOCKED), a lapsed claim is taken over."""
        free = or_(
            orm.RmaOrder.claimed_at.is_(None),
            orm.RmaOrder.claimed_at <= now - self.rma_policy.lease,
        )
        with self.sessions.begin() as session:
            rows = session.scalars(
                select(orm.RmaOrder)
                .where(orm.RmaOrder.next_poll_at <= now, free)
                .order_by(orm.RmaOrder.next_poll_at, orm.RmaOrder.id)
                .limit(limit)
                .with_for_update(skip_locked=True)
            ).all()
            for row in rows:
                row.claimed_at, row.claimed_by = now, owner
            return [row.id for row in rows]

    def poll_rma(self, order_id: int, *, owner: str, now: datetime) -> RmaView:
        """Ask the vendor about one claimed order and record the answer or the failure."""
        return self._ask_vendor(order_id, owner=owner, now=now)

    def poll_rmas(self, order_ids: Sequence[int], *, owner: str, now: datetime) -> list[RmaView]:
        """Ask the vendors about claimed orders: those of a channel that batches
        (core.rma.BatchStatus) with one ``status_many`` per batch of its ``status_batch``
        orders, every other one alone (``poll_rma``: opens, e-mail channels, channels
        without ``status_many``). Each answer or failure is recorded for its order in its
        own transaction, exactly as ``poll_rma`` records it."""
        batches, alone = self._rma_batches(order_ids)
        views = [self._ask_vendor(order_id, owner=owner, now=now) for order_id in alone]
        for client, batch in batches:
            views += self._poll_batch(client, batch, owner=owner, now=now)
        return views

    def _rma_batches(
        self, order_ids: Sequence[int]
    ) -> tuple[list[tuple[BatchStatus, list[tuple[int, str]]]], list[int]]:
        """The orders grouped by channel into ``status_many`` batches of (id, vendor case),
        and the ids to ask one by one."""
        with self.sessions() as session:
            rows = session.execute(
                select(
                    orm.RmaOrder.id,
                    orm.RmaOrder.channel,
                    orm.RmaOrder.state,
                    orm.RmaOrder.vendor_case,
                )
                .where(orm.RmaOrder.id.in_(list(order_ids)))
                .order_by(orm.RmaOrder.id)
            ).all()
        by_channel: dict[str, list[tuple[int, str]]] = {}
        alone: list[int] = []
        for order_id, channel, state, vendor_case in rows:
            if state == PENDING or not vendor_case or self._batch_size(channel) is None:
                alone.append(order_id)
            else:
                by_channel.setdefault(channel, []).append((order_id, vendor_case))
        batches: list[tuple[BatchStatus, list[tuple[int, str]]]] = []
        for channel, orders in by_channel.items():
            client = self._rma_client(channel)
            size = self._batch_size(channel) or len(orders)
            assert isinstance(client, BatchStatus)
            batches += [(client, orders[i : i + size]) for i in range(0, len(orders), size)]
        return batches, alone

    def _batch_size(self, channel: str) -> int | None:
        try:
            client = self._rma_client(channel)
        except Exception:  # no client here: poll_rma records why, order by order
            return None
        return status_batch(client)

    def _poll_batch(
        self, client: BatchStatus, batch: list[tuple[int, str]], *, owner: str, now: datetime
    ) -> list[RmaView]:
        """One ``status_many`` call for the batch; its failure backs off every order of it.
        A case the vendor left out of its answer, or a batch it refused, is asked alone;
        the answers are recorded together (``_answer_rmas``)."""
        try:
            tickets = client.status_many([vendor_case for _, vendor_case in batch], now)
        except VendorUnavailable as exc:
            return [
                self._vendor_failed(order_id, owner, exc.detail, exc.retry_after, now)
                for order_id, _ in batch
            ]
        except VendorRejected:
            tickets = {}
        except Exception as exc:  # a channel's bug or misconfiguration: keep the RMAs, retry
            detail = str(exc.detail) if isinstance(exc, RmaError) else type(exc).__name__
            return [
                self._vendor_failed(order_id, owner, detail, None, now) for order_id, _ in batch
            ]
        answered = [(i, tickets[case]) for i, case in batch if case in tickets]
        views = self._answer_rmas(answered, owner, now) if answered else []
        return views + [
            self._ask_vendor(order_id, owner=owner, now=now)
            for order_id, vendor_case in batch
            if vendor_case not in tickets
        ]

    # --- reading --------------------------------------------------------------------------

    def list_rmas(self, number: str) -> list[RmaView]:
        with self.sessions() as session:
            case_id = session.scalar(select(orm.Case.id).where(orm.Case.number == number))
            if case_id is None:
                raise NotFoundError(f"no case {number!r}")
            rows = session.scalars(
                select(orm.RmaOrder)
                .where(orm.RmaOrder.case_id == case_id)
                .order_by(orm.RmaOrder.id)
            ).all()
            return [rma_view(r) for r in rows]

    # --- plumbing -------------------------------------------------------------------------

    def _rma_client(self, channel: str) -> RmaClient:
        if self.rma_channels is None:
            raise RmaError("no RMA channels are configured in this process")
        return self.rma_channels.client(channel)

    def _next_rma_poll(self, order: orm.RmaOrder, now: datetime) -> datetime | None:
        """When to ask the vendor next: never for a final order or an e-mail channel's."""
        if order.state in FINAL_STATES:
            return None
        if order.state == PENDING:
            return now
        try:
            client = self._rma_client(order.channel)
        except Exception:
            return None
        if not polls(client) or not order.vendor_case:
            return None
        return now + self.rma_policy.poll_every

    def _lock_order(self, session: Session, order_id: int) -> orm.RmaOrder:
        order = session.get(orm.RmaOrder, order_id, with_for_update=True)
        if order is None:
            raise NotFoundError(f"no RMA {order_id}")
        return order

    def _order_of_case(
        self, session: Session, number: str, rma_id: int, *, lock: bool
    ) -> orm.RmaOrder:
        order = session.get(orm.RmaOrder, rma_id, with_for_update=lock)
        if order is None or order.case_number != number:
            raise NotFoundError(f"case {number} has no RMA {rma_id}")
        return order

    def _rma_case(self, session: Session, order: orm.RmaOrder) -> orm.Case:
        return self._load(session, order.case_number)

    def _escalate_rma(
        self,
        session: Session,
        case: orm.Case,
        reason: str,
        now: datetime,
        events: list[orm.CaseEvent],
    ) -> None:
        """A manual escalation by ``rma`` in this transaction (the desk's escalate, as
        core.desk.work does it); a case no longer open keeps the RMA record only."""
        if case.status not in OPEN_STATUSES:
            return
        group = self.rma_policy.escalation_group
        seq = (case.last_seq or 0) + 1
        plan = plan_manual(
            case=case,
            lc=self._contract(case.contract_id),
            staff=self.staff(),
            level=1,
            reason=reason,
            target_group=group,
            event_seq=seq,
            now=now,
        )
        body = ManualEscalation(level=1, reason=reason, target_group=group, alarm_at=now)
        if plan.notify:
            body = msgspec.structs.replace(
                body,
                notify=plan.notify,
                channels=plan.channels,
                planned=plan.planned,
                skipped=plan.skipped_records,
            )
        event = self._record(session, case, body, ACTOR, now)
        events.append(event)
        session.flush()
        plan.insert(session, case, event.seq, now)


def rma_view(order: orm.RmaOrder) -> RmaView:
    """The order as staff see it, its instants in UTC (as a read back would give them)."""
    view = msgspec.convert(order, RmaView, from_attributes=True)
    instants = {
        name: value.astimezone(UTC)
        for name in ("promise_ship_by", "next_poll_at", "created_at", "updated_at")
        if isinstance(value := getattr(view, name), datetime)
    }
    return msgspec.structs.replace(view, **instants)


def _visible(order: orm.RmaOrder) -> tuple[Any, ...]:
    return (
        order.state,
        order.raw_status,
        order.vendor_case,
        order.carrier,
        order.waybill,
        order.promise_ship_by,
        order.promise_rule,
    )


def _spare_steps(
    order: orm.RmaOrder, vendor: str | None
) -> list[tuple[SpareStep, dict[str, str | None]]]:
    """The spare steps an order's state implies, in the order they must be recorded."""
    steps: list[tuple[SpareStep, dict[str, str | None]]] = []
    state = order.state
    if order.vendor_case and state not in (PENDING, RmaState.CANCELLED, RmaState.REJECTED):
        steps.append((SpareStep.RMA_OPENED, {"rma_number": order.vendor_case, "vendor": vendor}))
    if state in (RmaState.SHIPPED, RmaState.DELIVERED):
        steps.append((SpareStep.SHIPPED, {"carrier": order.carrier, "waybill": order.waybill}))
    if state == RmaState.DELIVERED:
        steps.append((SpareStep.ARRIVED, {}))
    return steps


def _short(text: str | None) -> str | None:
    return None if not text else " ".join(text.split())[:64]


def _owner() -> str:
    return uuid.uuid4().hex
