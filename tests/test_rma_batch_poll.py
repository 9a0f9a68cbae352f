"""The scheduler's RMA pass asks a channel with ``status_many`` once per batch (Cisco TAC: 30
cases a Case API summary call), on both back ends, against the Cisco sandbox (real HTTP; it
records every request): batches, a failed batch backing off all its orders, back-off and
escalation on the batch path, claims, and a pass mixing a batching channel with one that is
asked order by order."""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from rma_support import DORADO, at, open_port_case, rma_runtime
from sqlalchemy import select

from core.jobs.rma import rma_pass
from core.rma import OpenRma, RmaRequest, RmaState, RmaTicket, RmaUpdate, RmaView
from core.runtime import Runtime
from core.store import orm
from plugins.vendor_rma.cisco_client import MAX_CASE_IDS
from plugins.vendor_rma.cisco_sandbox import CiscoSandbox

CISCO_SERIAL = "FOC2334Y1AB"  # the port's Catalyst, rma: cisco_tac
T0 = at("2026-02-12T10:00")
DUE = T0 + timedelta(hours=1, minutes=1)  # an hour after the opens: every order is due
SUMMARIES = "/case/v3/cases/case_ids/"
DETAILS = "/case/v3/cases/details/"
RETURNS = "/return/v1.0/returns/"


@pytest.fixture
def sandbox() -> Iterator[CiscoSandbox]:
    with CiscoSandbox() as sb:
        yield sb


@pytest.fixture
def runtime(db_url: str, tmp_path: Path, sandbox: CiscoSandbox) -> Iterator[Runtime]:
    rt = rma_runtime(
        db_url,
        tmp_path,
        cisco_tac_api_url=sandbox.api_url,
        cisco_tac_token_url=sandbox.token_url,
        cisco_tac_client_id=sandbox.client_id,
        cisco_tac_client_secret=sandbox.client_secret,
        cisco_tac_timeout_seconds=2.0,
    )
    yield rt
    rt.close()


def open_cisco_orders(runtime: Runtime, sandbox: CiscoSandbox, n: int) -> list[RmaView]:
    """``n`` Cisco RMA orders on one case (one key each), each booked at Cisco."""
    number = open_port_case(runtime, T0, serial=CISCO_SERIAL)
    views = [
        runtime.desk.open_rma(number, OpenRma(idempotency_key=f"k-{i}"), actor="a", now=T0)
        for i in range(n)
    ]
    assert all(v.state == "open" and v.vendor_case for v in views)
    return views


def ship_all(sandbox: CiscoSandbox, views: list[RmaView]) -> None:
    for view in views:
        assert view.vendor_case is not None
        sandbox.advance(view.vendor_case, "shipped")
    sandbox.clear_requests()


def orders(runtime: Runtime) -> dict[int, RmaView]:
    return {v.id: v for number in case_numbers(runtime) for v in runtime.desk.list_rmas(number)}


def case_numbers(runtime: Runtime) -> list[str]:
    with runtime.sessions() as session:
        return list(session.scalars(select(orm.Case.number)))


def test_n_orders_are_polled_with_one_summary_call_per_30(
    runtime: Runtime, sandbox: CiscoSandbox
) -> None:
    n = 2 * MAX_CASE_IDS + 1
    views = open_cisco_orders(runtime, sandbox, n)
    ship_all(sandbox, views)
    # another scheduler holds the orders: this pass asks Cisco nothing
    held = runtime.desk.claim_due_rmas(now=DUE, owner="scheduler-b", limit=10)
    report = rma_pass(runtime, now=DUE)
    assert (report.polled, report.failed, report.errors) == (n - 10, 0, [])
    assert len(sandbox.requests_to(SUMMARIES)) == math.ceil((n - 10) / MAX_CASE_IDS)
    sandbox.clear_requests()
    # its claim lapses after the lease: the rest are polled, each order once in all
    report = rma_pass(runtime, now=DUE + timedelta(minutes=6))
    assert report.polled == len(held) == 10
    after = orders(runtime)
    assert len(after) == n
    assert {v.state for v in after.values()} == {"shipped"}
    assert all(v.waybill and v.carrier and v.failures == 0 for v in after.values())
    # no case was asked alone: the summaries and the changed RMAs' details only
    assert sandbox.requests_to(DETAILS) == []
    assert len(sandbox.requests_to(SUMMARIES)) == 1
    assert len(sandbox.requests_to(RETURNS)) == 10
    ids = {i for r in sandbox.requests_to(SUMMARIES) for i in r.path.rpartition("/")[2].split(",")}
    assert ids == {after[i].vendor_case for i in held}


def test_n_orders_in_one_pass_use_ceil_n_over_30_summary_calls(
    runtime: Runtime, sandbox: CiscoSandbox
) -> None:
    n = MAX_CASE_IDS + 7
    ship_all(sandbox, open_cisco_orders(runtime, sandbox, n))
    report = rma_pass(runtime, now=DUE)
    assert (report.polled, report.failed) == (n, 0)
    summaries = sandbox.requests_to(SUMMARIES)
    assert len(summaries) == math.ceil(n / MAX_CASE_IDS) == 2
    assert sorted(len(r.path.rpartition("/")[2].split(",")) for r in summaries) == [7, 30]
    assert sandbox.requests_to(DETAILS) == []


def test_a_failed_batch_backs_off_every_order_of_it_and_only_those(
    runtime: Runtime, sandbox: CiscoSandbox
) -> None:
    n = MAX_CASE_IDS + 5
    ship_all(sandbox, open_cisco_orders(runtime, sandbox, n))
    sandbox.fail_next("429", retry_after="600")  # the first summary call
    report = rma_pass(runtime, now=DUE)
    assert (report.polled, report.failed) == (n, MAX_CASE_IDS)
    after = sorted(orders(runtime).values(), key=lambda v: v.id)
    failed = [v for v in after if v.failures]
    assert len(failed) == MAX_CASE_IDS and failed == after[:MAX_CASE_IDS]  # the first batch
    for view in failed:
        assert view.state == "open" and view.last_error
        assert view.next_poll_at is not None
        assert view.next_poll_at >= DUE + timedelta(seconds=600)  # Retry-After beats 60 s
    assert {v.state for v in after[MAX_CASE_IDS:]} == {"shipped"}
    # when they are due again, one call brings the whole batch back
    sandbox.clear_requests()
    later = failed[0].next_poll_at
    assert later is not None
    report = rma_pass(runtime, now=later)
    assert (report.polled, report.failed) == (MAX_CASE_IDS, 0)
    assert len(sandbox.requests_to(SUMMARIES)) == 1
    assert {(v.state, v.failures) for v in orders(runtime).values()} == {("shipped", 0)}


def test_a_batch_backs_off_doubling_escalates_once_and_recovers(
    runtime: Runtime, sandbox: CiscoSandbox
) -> None:
    views = open_cisco_orders(runtime, sandbox, 2)
    number = views[0].case_number
    ship_all(sandbox, views)
    now: datetime = DUE
    delays = []
    for _ in range(6):
        sandbox.fail_next("500")
        report = rma_pass(runtime, now=now)
        assert (report.polled, report.failed) == (2, 2)
        [first, second] = sorted(orders(runtime).values(), key=lambda v: v.id)
        assert first.next_poll_at == second.next_poll_at and first.failures == second.failures
        assert first.next_poll_at is not None
        delays.append(int((first.next_poll_at - now).total_seconds()))
        now = first.next_poll_at
    assert delays == [60, 120, 240, 480, 960, 1920]
    assert len(sandbox.requests_to(SUMMARIES)) == 6 and sandbox.requests_to(DETAILS) == []
    escalations = kinds(runtime, number).count("escalated")
    assert escalations == 2  # each order once, at its 5th failure; none at the 6th
    report = rma_pass(runtime, now=now)
    assert (report.polled, report.failed) == (2, 0)
    assert {(v.state, v.failures, v.last_error) for v in orders(runtime).values()} == {
        ("shipped", 0, None)
    }


def kinds(runtime: Runtime, number: str) -> list[str]:
    with runtime.sessions() as session:
        case_id = session.scalar(select(orm.Case.id).where(orm.Case.number == number))
        return list(
            session.scalars(
                select(orm.CaseEvent.kind)
                .where(orm.CaseEvent.case_id == case_id)
                .order_by(orm.CaseEvent.seq)
            )
        )


class OneByOne:
    """A channel without ``status_many``: the pass must ask it order by order."""

    polls = True

    def __init__(self, name: str) -> None:
        self.name = name
        self.calls: list[tuple[str, str]] = []

    def open(self, request: RmaRequest, now: datetime) -> RmaTicket:
        self.calls.append(("open", request.idempotency_key))
        return RmaTicket(vendor_case="DC-1", state=RmaState.OPEN, raw_status="accepted")

    def status(self, vendor_case: str, now: datetime) -> RmaTicket:
        self.calls.append(("status", vendor_case))
        return RmaTicket(
            vendor_case=vendor_case, state=RmaState.SHIPPED, raw_status="shipped", waybill="SF1"
        )

    def cancel(self, vendor_case: str, reason: str, now: datetime) -> Any:
        raise NotImplementedError

    def parse_inbound(self, message: bytes) -> list[RmaUpdate]:
        return []


def test_a_pass_mixes_a_batching_channel_and_one_asked_order_by_order(
    runtime: Runtime, sandbox: CiscoSandbox
) -> None:
    other = OneByOne("digital_china")
    assert runtime.desk.rma_channels is not None
    runtime.desk.rma_channels.use("digital_china", other)  # type: ignore[arg-type]
    dorado_case = open_port_case(runtime, T0, serial=DORADO)
    runtime.desk.open_rma(dorado_case, OpenRma(), actor="a", now=T0)
    n = MAX_CASE_IDS + 1
    ship_all(sandbox, open_cisco_orders(runtime, sandbox, n))
    report = rma_pass(runtime, now=DUE)
    assert (report.polled, report.failed) == (n + 1, 0)
    assert other.calls[1:] == [("status", "DC-1")]
    assert len(sandbox.requests_to(SUMMARIES)) == 2
    after = orders(runtime).values()
    assert {(v.channel, v.state) for v in after} == {
        ("digital_china", "shipped"),
        ("cisco_tac", "shipped"),
    }
