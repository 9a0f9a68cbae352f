"""A Cisco TAC RMA through the desk, both back ends: the runtime's cisco_tac settings point at
a running CiscoSandbox (real HTTP, the channel built by its descriptor's factory), the
scheduler's RMA pass polls it, and a 429 or 500 backs off without losing or re-opening it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import msgspec
import pytest
from rma_support import at, open_port_case, rma_runtime
from sqlalchemy import func, select

from core.commands import RequestSpare
from core.desk.errors import InvalidCommand
from core.events import RmaUpdated, SpareStepRecorded
from core.jobs.rma import rma_pass
from core.rma import OpenRma, RmaView
from core.runtime import Runtime
from core.store import orm
from plugins.vendor_rma.cisco_channel import CiscoTacChannel
from plugins.vendor_rma.cisco_sandbox import CiscoSandbox, Received

CISCO_SERIAL = "FOC2334Y1AB"  # the port's Catalyst, rma: cisco_tac
T0 = at("2026-02-12T10:00")


@pytest.fixture
def sandbox() -> Iterator[CiscoSandbox]:
    with CiscoSandbox() as sb:
        yield sb


def cisco_runtime(db_url: str, tmp: Path, sb: CiscoSandbox) -> Runtime:
    return rma_runtime(
        db_url,
        tmp,
        cisco_tac_api_url=sb.api_url,
        cisco_tac_token_url=sb.token_url,
        cisco_tac_client_id=sb.client_id,
        cisco_tac_client_secret=sb.client_secret,
        cisco_tac_timeout_seconds=2.0,
    )


@pytest.fixture
def runtime(db_url: str, tmp_path: Path, sandbox: CiscoSandbox) -> Iterator[Runtime]:
    rt = cisco_runtime(db_url, tmp_path, sandbox)
    yield rt
    rt.close()


def rma_events(runtime: Runtime, number: str) -> list[RmaUpdated]:
    with runtime.sessions() as session:
        case_id = session.scalar(select(orm.Case.id).where(orm.Case.number == number))
        rows = session.scalars(
            select(orm.CaseEvent)
            .where(orm.CaseEvent.case_id == case_id, orm.CaseEvent.kind == "rma_updated")
            .order_by(orm.CaseEvent.seq)
        )
        return [msgspec.convert(row.payload, RmaUpdated) for row in rows]


def order_count(runtime: Runtime) -> int:
    with runtime.sessions() as session:
        return int(session.scalar(select(func.count()).select_from(orm.RmaOrder)) or 0)


def opens_received(sandbox: CiscoSandbox) -> list[Received]:
    return [r for r in sandbox.requests if r.method == "POST" and r.path == "/case/v3/cases"]


def only_order(runtime: Runtime, number: str) -> RmaView:
    [view] = runtime.desk.list_rmas(number)
    return view


def test_cisco_rma_through_the_desk_and_the_scheduler(
    runtime: Runtime, sandbox: CiscoSandbox
) -> None:
    number = open_port_case(runtime, T0, serial=CISCO_SERIAL)

    # Cisco answers 500 to the open: the order waits, pending, for the poll to open it
    sandbox.fail_next("500")
    view = runtime.desk.open_rma(number, OpenRma(), actor="li-qiang", now=T0)
    assert isinstance(runtime.desk.rma_channels.client("cisco_tac"), CiscoTacChannel)
    assert (view.state, view.channel, view.failures, view.vendor_case) == (
        "pending",
        "cisco_tac",
        1,
        None,
    )
    assert view.next_poll_at is not None and view.next_poll_at > T0
    assert sandbox.cases == {} and rma_events(runtime, number) == []

    t1 = view.next_poll_at
    report = rma_pass(runtime, now=t1)
    assert (report.polled, report.failed, report.errors) == (1, 0, [])
    view = only_order(runtime, number)
    [vendor_case] = sandbox.cases
    assert (view.state, view.vendor_case, view.failures) == ("open", vendor_case, 0)
    opens = opens_received(sandbox)
    assert [r.status for r in opens] == [500, 201]  # the same key both times
    assert {r.headers["idempotency-key"] for r in opens} == {view.idempotency_key}

    # a 429 with Retry-After on a poll: backed off at least that long, nothing recorded
    sandbox.advance(vendor_case, "booked")
    t2 = view.next_poll_at
    assert t2 is not None
    sandbox.fail_next("429", retry_after="600")
    report = rma_pass(runtime, now=t2)
    assert (report.polled, report.failed) == (1, 1)
    view = only_order(runtime, number)
    assert (view.state, view.failures) == ("open", 1)
    assert view.next_poll_at is not None and view.next_poll_at >= t2 + timedelta(seconds=600)
    assert rma_pass(runtime, now=t2 + timedelta(seconds=1)).polled == 0  # not due yet

    # shipped, then delivered: each poll records one rma_updated event
    sandbox.advance(vendor_case, "shipped")
    t3 = view.next_poll_at
    assert rma_pass(runtime, now=t3).polled == 1
    view = only_order(runtime, number)
    rma = sandbox.rmas[sandbox.cases[vendor_case].rmas[-1]]
    assert (view.state, view.carrier, view.waybill, view.failures) == (
        "shipped",
        rma.carrier,
        rma.tracking_number,
        0,
    )

    sandbox.fail_next("500")  # one outage more, then Cisco is back
    t4 = view.next_poll_at
    assert t4 is not None
    sandbox.advance(vendor_case, "delivered")
    assert rma_pass(runtime, now=t4).failed == 1
    t5 = only_order(runtime, number).next_poll_at
    assert t5 is not None
    assert rma_pass(runtime, now=t5).polled == 1
    view = only_order(runtime, number)
    assert view.state == "delivered"

    updates = rma_events(runtime, number)
    assert [(u.state, u.source) for u in updates] == [
        ("open", "open"),  # the scheduler opened the pending order (the same key)
        ("shipped", "poll"),
        ("delivered", "poll"),
    ]
    assert {u.vendor_case for u in updates} == {vendor_case}
    assert (updates[1].carrier, updates[1].waybill) == (rma.carrier, rma.tracking_number)
    assert (updates[2].carrier, updates[2].waybill) == (rma.carrier, rma.tracking_number)
    # never lost, never opened twice: one order here, one case at Cisco, one open accepted
    assert order_count(runtime) == 1
    assert len(sandbox.cases) == 1
    assert len(sandbox.by_key) == 1


def test_a_replayed_open_reaches_cisco_once(runtime: Runtime, sandbox: CiscoSandbox) -> None:
    number = open_port_case(runtime, T0, serial=CISCO_SERIAL)
    first = runtime.desk.open_rma(number, OpenRma(idempotency_key="k-1"), actor="a", now=T0)
    again = runtime.desk.open_rma(number, OpenRma(idempotency_key="k-1"), actor="a", now=T0)
    assert first.id == again.id and first.vendor_case == again.vendor_case
    assert len(sandbox.cases) == 1
    assert len(opens_received(sandbox)) == 1


# --- an RMA order supplying a spare request -------------------------------------------------------


def spare_steps(runtime: Runtime, number: str) -> list[SpareStepRecorded]:
    with runtime.sessions() as session:
        case_id = session.scalar(select(orm.Case.id).where(orm.Case.number == number))
        rows = session.scalars(
            select(orm.CaseEvent)
            .where(orm.CaseEvent.case_id == case_id, orm.CaseEvent.kind == "spare_step")
            .order_by(orm.CaseEvent.seq)
        )
        return [msgspec.convert(row.payload, SpareStepRecorded) for row in rows]


def spare_row(runtime: Runtime, number: str) -> orm.SpareRequest:
    with runtime.sessions() as session:
        return session.scalars(
            select(orm.SpareRequest)
            .join(orm.Case, orm.Case.id == orm.SpareRequest.case_id)
            .where(orm.Case.number == number)
        ).one()


def test_an_rma_order_records_its_spare_requests_steps(
    runtime: Runtime, sandbox: CiscoSandbox
) -> None:
    number = open_port_case(runtime, T0, serial=CISCO_SERIAL)
    runtime.desk.request_spare(number, RequestSpare(part="C9300 PSU"), actor="eng", now=T0)
    view = runtime.desk.open_rma(number, OpenRma(spare_request_id=1), actor="eng", now=T0)
    vendor_case = view.vendor_case
    assert vendor_case is not None and view.spare_request_id == 1
    [opened] = spare_steps(runtime, number)
    assert (opened.step, opened.rma_number, opened.vendor) == ("rma_opened", vendor_case, "Cisco")

    sandbox.advance(vendor_case, "shipped")
    t1 = view.next_poll_at
    assert t1 is not None and rma_pass(runtime, now=t1).polled == 1
    rma = sandbox.rmas[sandbox.cases[vendor_case].rmas[-1]]
    shipped = spare_steps(runtime, number)[-1]
    assert (shipped.step, shipped.carrier, shipped.waybill) == (
        "shipped",
        rma.carrier,
        rma.tracking_number,
    )

    # an agent records the arrival first: the poll's delivered skips it, no error
    runtime.desk.record_spare_step(number, 1, "arrived", actor="eng", now=t1 + timedelta(hours=1))
    sandbox.advance(vendor_case, "delivered")
    t2 = only_order(runtime, number).next_poll_at
    assert t2 is not None
    report = rma_pass(runtime, now=t2)
    assert (report.polled, report.failed, report.errors) == (1, 0, [])
    assert only_order(runtime, number).state == "delivered"
    assert [s.step for s in spare_steps(runtime, number)] == ["rma_opened", "shipped", "arrived"]
    row = spare_row(runtime, number)
    assert (row.rma_number, row.vendor, row.waybill) == (vendor_case, "Cisco", rma.tracking_number)
    assert row.steps == ["requested", "rma_opened", "shipped", "arrived"]
    # the spare step and the RMA update are one transaction: both or neither
    assert [u.state for u in rma_events(runtime, number)] == ["open", "shipped", "delivered"]


def test_a_delivered_answer_records_the_missing_steps_in_order(
    runtime: Runtime, sandbox: CiscoSandbox
) -> None:
    number = open_port_case(runtime, T0, serial=CISCO_SERIAL)
    runtime.desk.request_spare(number, RequestSpare(part="C9300 PSU"), actor="eng", now=T0)
    sandbox.fail_next("500")
    view = runtime.desk.open_rma(number, OpenRma(spare_request_id=1), actor="eng", now=T0)
    assert view.state == "pending" and spare_steps(runtime, number) == []
    assert view.next_poll_at is not None
    rma_pass(runtime, now=view.next_poll_at)
    vendor_case = only_order(runtime, number).vendor_case
    assert vendor_case is not None
    sandbox.advance(vendor_case, "shipped")
    sandbox.advance(vendor_case, "delivered")
    t2 = only_order(runtime, number).next_poll_at
    assert t2 is not None
    rma_pass(runtime, now=t2)
    assert [s.step for s in spare_steps(runtime, number)] == ["rma_opened", "shipped", "arrived"]


def test_an_rma_for_a_spare_request_the_case_lacks_is_refused(runtime: Runtime) -> None:
    number = open_port_case(runtime, T0, serial=CISCO_SERIAL)
    with pytest.raises(InvalidCommand, match="no spare request 2"):
        runtime.desk.open_rma(number, OpenRma(spare_request_id=2), actor="eng", now=T0)
    assert order_count(runtime) == 0
