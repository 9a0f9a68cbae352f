"""Vendor RMAs on a case, both back ends: the Digital China story through a real local MTA and
the mail drop, idempotent opens, the no-stock escalation, agent entries, cancels, and the
scheduler's polling with back-off, escalation after N failures and leases."""

from __future__ import annotations

import dataclasses
import smtplib
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from rma_support import DESK_ADDRESS, DORADO, at, dc_reply, local_mta, open_port_case, rma_runtime
from sqlalchemy import select

from core.errors import ConflictError, NotFoundError
from core.jobs.rma import ingest_maildrop, poll_rmas, rma_pass
from core.rma import (
    CancelRma,
    OpenRma,
    RmaChannelUnavailable,
    RmaEntry,
    RmaRequest,
    RmaState,
    RmaTicket,
    RmaUpdate,
    VendorUnavailable,
)
from core.runtime import Runtime
from core.store import orm

CISCO_SERIAL = "FOC2334Y1AB"  # the port's Catalyst, rma: cisco_tac
T0 = at("2026-02-12T10:00")  # Thursday before the 2026 Spring Festival


@pytest.fixture
def mta(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The local MTA; the email_notify plugin sends through it (CASETRACK_SMTP_*)."""
    with local_mta(tmp_path / "maildrop") as (handler, port):
        monkeypatch.setenv("CASETRACK_SMTP_HOST", "127.0.0.1")
        monkeypatch.setenv("CASETRACK_SMTP_PORT", str(port))
        monkeypatch.setenv("CASETRACK_SMTP_FROM", f"铭升服务台 <{DESK_ADDRESS}>")
        handler.port = port
        yield handler


@pytest.fixture
def runtime(db_url: str, tmp_path: Path) -> Any:
    rt = rma_runtime(db_url, tmp_path)
    yield rt
    rt.close()


def events(runtime: Runtime, number: str, kind: str | None = None) -> list[orm.CaseEvent]:
    with runtime.sessions() as session:
        case_id = session.scalar(select(orm.Case.id).where(orm.Case.number == number))
        query = select(orm.CaseEvent).where(orm.CaseEvent.case_id == case_id)
        if kind is not None:
            query = query.where(orm.CaseEvent.kind == kind)
        return list(session.scalars(query.order_by(orm.CaseEvent.seq)))


def deliver(port: int, raw: bytes) -> None:
    """Digital China's reply reaches our MTA over SMTP."""
    with smtplib.SMTP("127.0.0.1", port) as smtp:
        smtp.sendmail("rma@digitalchina.example.cn", [DESK_ADDRESS], raw)


# --- the Digital China story ----------------------------------------------------------------------


def test_digital_china_rma_from_request_to_arrival(runtime: Runtime, mta: Any) -> None:
    number = open_port_case(runtime, T0)
    order = runtime.desk.open_rma(number, OpenRma(), actor="li-qiang", now=T0)
    assert (order.state, order.channel, order.serial) == ("requested", "digital_china", DORADO)
    [request] = mta.outbound_messages()
    assert str(request["Subject"]).strip() == f"[RMA open] {number} key={order.idempotency_key}"

    subject = f"Re: [RMA open] {number} key={order.idempotency_key}"
    accepted = ["服务单号: DC-RMA-260212-0042", "状态: 已受理", "库存: 北京有货"]
    deliver(mta.port, dc_reply(accepted, subject=subject, sent=at("2026-02-12T14:30")))
    report = rma_pass(runtime, now=at("2026-02-12T14:35"))
    assert (report.ingested, report.rejected, report.errors) == (1, 0, [])
    [order] = runtime.desk.list_rmas(number)
    assert (order.state, order.vendor_case) == ("open", "DC-RMA-260212-0042")
    assert order.promise_ship_by == at("2026-02-24T15:00").astimezone(UTC)
    assert "Sat 02-14 (make-up workday)" in (order.promise_rule or "")

    shipped = ["服务单号: DC-RMA-260212-0042", "状态: 已发货", "承运商: 顺丰速运", "运单号: SF1402"]
    deliver(mta.port, dc_reply(shipped, subject=subject, sent=at("2026-02-13T16:00")))
    arrived = ["服务单号: DC-RMA-260212-0042", "状态: 已签收"]
    deliver(mta.port, dc_reply(arrived, subject=subject, sent=at("2026-02-14T11:00")))
    report = rma_pass(runtime, now=at("2026-02-14T11:05"))
    assert report.ingested == 2
    [order] = runtime.desk.list_rmas(number)
    assert (order.state, order.carrier, order.waybill) == ("delivered", "顺丰速运", "SF1402")

    updates = events(runtime, number, "rma_updated")
    assert [e.payload["state"] for e in updates] == ["requested", "open", "shipped", "delivered"]
    assert {e.visibility for e in updates} == {"customer"}
    for event in updates:  # customer-visible: no key, no errors, no counters
        assert set(event.payload) == {
            "rma", "channel", "vendor_case", "state", "raw_status", "carrier", "waybill",
            "ship_by", "promise", "source",
        }  # fmt: skip
    assert updates[1].payload["source"] == "mail" and updates[1].actor == "rma"
    drop = Path(runtime.settings.rma_maildrop_path)
    assert len(list((drop / "done").glob("*.eml"))) == 3
    assert not list((drop / "new").iterdir())


def test_no_stock_gives_no_promise_and_escalates(runtime: Runtime, mta: Any) -> None:
    number = open_port_case(runtime, T0)
    order = runtime.desk.open_rma(number, OpenRma(), actor="li-qiang", now=T0)
    reply = dc_reply(
        ["服务单号: DC-9", "状态: 已受理", "库存: 无"],
        subject=f"Re: [RMA open] {number} key={order.idempotency_key}",
    )
    [order] = runtime.desk.ingest_rma_message("digital_china", reply, now=at("2026-02-12T15:00"))
    assert order.promise_ship_by is None and "no stock" in (order.promise_rule or "")
    [alarm] = events(runtime, number, "escalated")
    assert alarm.actor == "rma" and "no stock" in alarm.payload["reason"]
    assert alarm.payload["target_group"] == "service-manager"
    # the same reply again records nothing new and escalates no second time
    runtime.desk.ingest_rma_message("digital_china", reply, now=at("2026-02-12T15:10"))
    assert len(events(runtime, number, "escalated")) == 1
    assert len(events(runtime, number, "rma_updated")) == 2


def test_the_mail_drop_moves_unreadable_mail_to_failed_with_a_reason(
    runtime: Runtime, tmp_path: Path
) -> None:
    drop = Path(runtime.settings.rma_maildrop_path)
    drop.mkdir(parents=True)
    (drop / "junk.eml").write_bytes(dc_reply(["Hello, no status here"]))
    (drop / "stranger.eml").write_bytes(dc_reply(["Vendor-Case: DC-404", "Status: shipped"]))
    report = ingest_maildrop(runtime, now=T0)
    assert (report.ingested, report.rejected) == (0, 2)
    reasons = sorted(p.read_text() for p in (drop / "failed").glob("*.reason.txt"))
    assert "NotFoundError" in reasons[0] or "NotFoundError" in reasons[1]
    assert any("RmaParseError" in r for r in reasons)
    assert sorted(p.name for p in (drop / "failed").glob("*.eml")) == ["junk.eml", "stranger.eml"]


# --- opening: idempotent, key first -----------------------------------------------------------


def test_open_is_idempotent_with_a_key_and_without(runtime: Runtime, mta: Any) -> None:
    number = open_port_case(runtime, T0)
    first = runtime.desk.open_rma(number, OpenRma(idempotency_key="k-1"), actor="a", now=T0)
    again = runtime.desk.open_rma(number, OpenRma(idempotency_key="k-1"), actor="a", now=T0)
    assert again.id == first.id and len(mta.outbound) == 1
    other = runtime.desk.open_rma(number, OpenRma(), actor="a", now=T0)  # the device's open RMA
    assert other.id == first.id and len(mta.outbound) == 1


class Vendor:
    """A vendor channel for the desk's tests: answers from a script, records every call, and
    checks that the order's key was stored before it was asked."""

    name = "cisco_tac"
    polls = True

    def __init__(self, runtime: Runtime, script: list[Any]) -> None:
        self.runtime, self.script, self.calls = runtime, list(script), []

    def _next(self, call: tuple[Any, ...]) -> RmaTicket:
        self.calls.append(call)
        answer = self.script.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer  # type: ignore[no-any-return]

    def open(self, request: RmaRequest, now: datetime) -> RmaTicket:
        with self.runtime.sessions() as session:
            stored = session.scalar(
                select(orm.RmaOrder.state).where(
                    orm.RmaOrder.idempotency_key == request.idempotency_key
                )
            )
        assert stored == "pending", "the key must be stored before the vendor is asked"
        return self._next(("open", request.idempotency_key))

    def status(self, vendor_case: str, now: datetime) -> RmaTicket:
        return self._next(("status", vendor_case))

    def cancel(self, vendor_case: str, reason: str, now: datetime) -> RmaTicket:
        return self._next(("cancel", vendor_case))

    def parse_inbound(self, message: bytes) -> list[RmaUpdate]:
        return []


def ticket(state: RmaState, **kw: Any) -> RmaTicket:
    return RmaTicket(
        vendor_case=kw.pop("vendor_case", "SR 699"), state=state, raw_status=state.value, **kw
    )


def test_an_outage_on_open_keeps_the_key_and_the_poll_opens_it_once(runtime: Runtime) -> None:
    vendor = Vendor(runtime, [VendorUnavailable("503 from the vendor"), ticket(RmaState.OPEN)])
    runtime.desk.rma_channels.use("cisco_tac", vendor)  # type: ignore[union-attr]
    number = open_port_case(runtime, T0, CISCO_SERIAL)
    order = runtime.desk.open_rma(number, OpenRma(idempotency_key="sr-1"), actor="a", now=T0)
    assert (order.state, order.failures, order.last_error) == ("pending", 1, "503 from the vendor")
    assert order.next_poll_at == (T0 + timedelta(seconds=60)).astimezone(UTC)
    assert poll_rmas(runtime, now=T0 + timedelta(seconds=30)).polled == 0  # not yet due
    poll_rmas(runtime, now=T0 + timedelta(seconds=61))
    [order] = runtime.desk.list_rmas(number)
    assert (order.state, order.vendor_case, order.failures) == ("open", "SR 699", 0)
    assert vendor.calls == [("open", "sr-1"), ("open", "sr-1")]  # one key, asked twice


def test_polling_backs_off_escalates_once_and_recovers(runtime: Runtime) -> None:
    outage = [VendorUnavailable(f"timeout {i}") for i in range(7)]
    vendor = Vendor(
        runtime,
        [ticket(RmaState.OPEN), *outage, ticket(RmaState.SHIPPED, carrier="DHL", waybill="1Z")],
    )
    runtime.desk.rma_channels.use("cisco_tac", vendor)  # type: ignore[union-attr]
    number = open_port_case(runtime, T0, CISCO_SERIAL)
    order = runtime.desk.open_rma(number, OpenRma(), actor="a", now=T0)
    assert order.next_poll_at == (T0 + timedelta(hours=1)).astimezone(UTC)
    now, delays = T0, []
    for _ in range(7):
        now = runtime.desk.list_rmas(number)[0].next_poll_at  # type: ignore[assignment]
        assert poll_rmas(runtime, now=now).failed == 1
        [order] = runtime.desk.list_rmas(number)
        delays.append(int((order.next_poll_at - now).total_seconds()))  # type: ignore[operator]
    assert delays == [60, 120, 240, 480, 960, 1920, 3600]  # doubling, capped at an hour
    assert order.failures == 7 and order.last_error == "timeout 6"
    [alarm] = events(runtime, number, "escalated")  # at the 5th failure, once
    assert "could not be reached 5 times in a row" in alarm.payload["reason"]
    poll_rmas(runtime, now=order.next_poll_at)  # type: ignore[arg-type]
    [order] = runtime.desk.list_rmas(number)
    assert (order.state, order.failures, order.last_error) == ("shipped", 0, None)
    assert (order.carrier, order.waybill) == ("DHL", "1Z")


def test_two_schedulers_never_claim_the_same_order(runtime: Runtime) -> None:
    vendor = Vendor(runtime, [ticket(RmaState.OPEN)])
    runtime.desk.rma_channels.use("cisco_tac", vendor)  # type: ignore[union-attr]
    number = open_port_case(runtime, T0, CISCO_SERIAL)
    runtime.desk.open_rma(number, OpenRma(), actor="a", now=T0)
    due = T0 + timedelta(hours=2)
    first = runtime.desk.claim_due_rmas(now=due, owner="scheduler-a")
    second = runtime.desk.claim_due_rmas(now=due, owner="scheduler-b")
    assert len(first) == 1 and second == []
    # the first scheduler died: its claim lapses after the lease, the second takes over
    later = due + timedelta(minutes=6)
    assert runtime.desk.claim_due_rmas(now=later, owner="scheduler-b") == first
    # the late answer of the first no longer counts
    vendor.script.append(ticket(RmaState.SHIPPED))
    stale = runtime.desk.poll_rma(first[0], owner="scheduler-a", now=later)
    assert stale.state == "open"


# --- agents, cancels, refusals ----------------------------------------------------------------


def test_agent_entry_with_stock_and_a_cancel(runtime: Runtime, mta: Any) -> None:
    number = open_port_case(runtime, T0)
    order = runtime.desk.open_rma(number, OpenRma(), actor="a", now=T0)
    entry = RmaEntry(state=RmaState.OPEN, vendor_case="DC-7", stock=["Shanghai"])
    order = runtime.desk.update_rma(number, order.id, entry, actor="agent-1", now=T0)
    assert order.promise_ship_by == at("2026-02-24T15:00").astimezone(UTC)
    with pytest.raises(ConflictError):
        runtime.desk.update_rma(
            number, order.id, RmaEntry(state=RmaState.REQUESTED), actor="a", now=T0
        )  # a step back
    order = runtime.desk.cancel_rma(
        number, order.id, CancelRma(reason="fixed by reseat"), actor="a", now=T0
    )
    assert order.state == "cancelled" and order.next_poll_at is None
    cancel = mta.outbound_messages()[-1]
    assert str(cancel["Subject"]).strip().startswith(f"[RMA cancel] {number} key=")
    with pytest.raises(ConflictError):
        runtime.desk.cancel_rma(number, order.id, CancelRma(reason="again"), actor="a", now=T0)
    with pytest.raises(NotFoundError):
        runtime.desk.cancel_rma(
            "MS-2026-000999", order.id, CancelRma(reason="x"), actor="a", now=T0
        )


def test_a_channel_without_a_client_is_refused_before_anything_is_stored(
    runtime: Runtime,
) -> None:
    runtime.desk.rma_channels.channels["cisco_tac"] = msgspec_descriptor()  # type: ignore[union-attr]
    number = open_port_case(runtime, T0, CISCO_SERIAL)
    with pytest.raises(RmaChannelUnavailable, match="descriptor only"):
        runtime.desk.open_rma(number, OpenRma(), actor="a", now=T0)
    assert runtime.desk.list_rmas(number) == []


def msgspec_descriptor() -> Any:
    from core.rma import RmaChannel

    return RmaChannel(name="cisco_tac", vendor="Cisco", description="descriptor only")


def test_the_demo_tells_a_digital_china_rma(
    runtime: Runtime, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from cli.demo import seed_demo
    from cli.demo.seed import DC_RMA

    monkeypatch.setenv("CASETRACK_EMAIL_SPOOL", str(tmp_path / "spool"))
    number = seed_demo(runtime, now=datetime(2026, 12, 4, 3, 0, tzinfo=UTC)).numbers[DC_RMA]
    [order] = runtime.desk.list_rmas(number)
    assert (order.state, order.vendor_case, order.waybill) == (
        "delivered",
        "DC-RMA-0311",
        "SF1461208830027",
    )
    assert order.promise_ship_by is not None and "3rd business day" in (order.promise_rule or "")
    states = [e.payload["state"] for e in events(runtime, number, "rma_updated")]
    assert states == ["requested", "open", "shipped", "delivered"]
    assert len(list((tmp_path / "spool").glob("*.eml"))) == 1  # the request e-mail


def test_the_scheduler_pass_polls_rmas_and_relays_their_escalation(runtime: Runtime) -> None:
    """One pass of the background loop: the RMA poll runs between the tick and the relay, so
    the outage escalation's notices are handed to the workers in the same pass."""
    from core.jobs.broker import make_broker, set_broker
    from core.jobs.loop import one_pass

    runtime.desk.rma_policy = dataclasses.replace(runtime.desk.rma_policy, max_failures=1)
    vendor = Vendor(runtime, [ticket(RmaState.OPEN), VendorUnavailable("timeout")])
    runtime.desk.rma_channels.use("cisco_tac", vendor)  # type: ignore[union-attr]
    number = open_port_case(runtime, T0, CISCO_SERIAL)
    runtime.desk.open_rma(number, OpenRma(), actor="a", now=T0)
    jobs = set_broker(runtime, make_broker(""))
    try:
        runtime.clock = lambda: T0 + timedelta(hours=1)
        done = one_pass(runtime, jobs)
    finally:
        jobs.close()
    assert done.rma is not None and (done.rma.polled, done.rma.failed) == (1, 1)
    assert any(line.startswith("rma: 1 polled (1 vendor failures)") for line in done.lines())
    [alarm] = [e for e in events(runtime, number, "escalated") if e.actor == "rma"]
    with runtime.sessions() as session:
        rows = session.scalars(
            select(orm.Notification).where(orm.Notification.event_seq == alarm.seq)
        ).all()
    assert rows and done.relay.notifications >= len(rows)
