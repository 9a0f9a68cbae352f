"""The Digital China RMA channel: its ship promise on the CN calendar, its reply parser, and its
structured request e-mail sent through the email_notify plugin to a real local SMTP server."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from rma_support import DC_ADDRESS, DESK_ADDRESS, PORT_CONTRACT, ROOT, at, dc_reply, local_mta

from core.loaded import ContractSet
from core.notify import Delivery, Notice
from core.rma import RmaContext, RmaParseError, RmaRequest, RmaState, VendorUnavailable
from core.sources.contracts import load_contracts
from plugins.email_notify.hooks import LazyEmailSender
from plugins.vendor_rma.digital_china import DigitalChinaChannel, parse_stock, state_of


@pytest.fixture(scope="module")
def contracts() -> ContractSet:
    return load_contracts([ROOT / "contracts"])


def channel_for(contracts: ContractSet, sent: list[Notice] | None = None) -> DigitalChinaChannel:
    def send(notice: Notice) -> Delivery:
        raise AssertionError("no e-mail expected")

    context = RmaContext(
        calendar=lambda cid, name: contracts.get(cid or PORT_CONTRACT).calendar(name),
        holidays=contracts.registry,
        send_email=send,
    )
    return DigitalChinaChannel(context, address=DC_ADDRESS)


# --- the promise (handbook scenario) -----------------------------------------------------------


def test_stock_opened_thursday_before_spring_festival_ships_by_tuesday_after_it(
    contracts: ContractSet,
) -> None:
    """Opened Thu 2026-02-12 with stock: the 3rd business day after it. Fri 02-13 is the
    1st, the make-up Saturday 02-14 (2026 CN data: workday) the 2nd; 02-15..02-23 are the
    Spring Festival; so the 3rd is Tue 02-24, end of the spare window (15:00)."""
    year = contracts.registry.get("CN", 2026)
    assert year is not None and datetime(2026, 2, 14).date() in year.workdays
    assert {datetime(2026, 2, d).date() for d in range(15, 24)} <= year.holidays
    promise = channel_for(contracts).promise(["beijing"], at("2026-02-12T10:00"), PORT_CONTRACT)
    assert promise.ship_by == at("2026-02-24T15:00").astimezone(UTC)
    assert "Sat 02-14 (make-up workday)" in promise.rule
    assert "not counted: 02-15..02-23 holiday: Spring Festival" in promise.rule
    assert "3rd business day" in promise.rule and "stock in beijing" in promise.rule


def test_either_warehouse_counts_and_no_stock_gives_no_promise(contracts: ContractSet) -> None:
    dc = channel_for(contracts)
    opened = at("2026-02-12T10:00")
    assert dc.promise(["shanghai"], opened, PORT_CONTRACT).ship_by is not None
    for stock in ([], ["guangzhou"]):
        none = dc.promise(stock, opened, PORT_CONTRACT)
        assert none.ship_by is None and "no stock in the Beijing or Shanghai" in none.rule


def test_stock_words() -> None:
    assert parse_stock("北京有货, 上海无货") == ("beijing",)
    assert parse_stock("Beijing / Shanghai") == ("beijing", "shanghai")
    assert parse_stock("无") == () and parse_stock("none") == ()
    assert parse_stock(["上海"]) == ("shanghai",)


# --- replies --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("word", "state"),
    [
        ("已受理", RmaState.OPEN),
        ("已发货", RmaState.SHIPPED),
        ("已签收", RmaState.DELIVERED),
        ("已结案", RmaState.CLOSED),
        ("已取消", RmaState.CANCELLED),
        ("已拒绝", RmaState.REJECTED),
        ("Shipped", RmaState.SHIPPED),
        ("accepted", RmaState.OPEN),
        ("Delivered to site", RmaState.DELIVERED),
    ],
)
def test_status_words_in_chinese_and_english(word: str, state: RmaState) -> None:
    assert state_of(word) is state


def test_a_chinese_reply_with_stock(contracts: ContractSet) -> None:
    raw = dc_reply(["服务单号: DC-RMA-260212-0042", "状态: 已受理", "库存: 北京有货,上海无货"])
    [update] = channel_for(contracts).parse_inbound(raw)
    assert (update.vendor_case, update.state, update.raw_status) == (
        "DC-RMA-260212-0042",
        RmaState.OPEN,
        "已受理",
    )
    assert update.stock == ("beijing",)
    assert update.case_number == "MS-2026-000001"  # from the subject
    assert update.idempotency_key == "MS-2026-000001/2102353SYB10P1000077/1"
    assert update.at == at("2026-02-12T14:30").astimezone(UTC)


def test_an_english_shipping_reply_and_a_json_part(contracts: ContractSet) -> None:
    dc = channel_for(contracts)
    raw = dc_reply(
        ["Vendor case: DC-RMA-1", "Status: Shipped", "Carrier: SF Express", "Waybill: SF1234567"]
    )
    [update] = dc.parse_inbound(raw)
    assert (update.state, update.carrier, update.waybill) == (
        RmaState.SHIPPED,
        "SF Express",
        "SF1234567",
    )
    assert update.stock is None  # not stated
    doc = {"vendor_case": "DC-RMA-1", "status": "已签收", "case_number": "MS-2026-000001"}
    [signed] = dc.parse_inbound(dc_reply(["see attachment"], json_part=json.dumps(doc)))
    assert signed.state is RmaState.DELIVERED


def test_quoted_request_lines_are_not_the_reply(contracts: ContractSet) -> None:
    """Our request quoted back ("> Vendor-Case: -") is not read as the vendor's answer."""
    with pytest.raises(RmaParseError, match="vendor case"):
        channel_for(contracts).parse_inbound(dc_reply(["状态: 已受理"]))


def test_unreadable_messages_are_parse_errors(contracts: ContractSet) -> None:
    dc = channel_for(contracts)
    with pytest.raises(RmaParseError, match="status"):
        dc.parse_inbound(dc_reply(["服务单号: DC-1", "谢谢"]))
    no_date = b"From: a@b.example\r\nSubject: x\r\n\r\nVendor-Case: 1\r\nStatus: shipped\r\n"
    with pytest.raises(RmaParseError, match="Date"):
        dc.parse_inbound(no_date)


# --- the request e-mail over real SMTP ----------------------------------------------------------


def smtp_environment(port: int) -> dict[str, str]:
    return {
        "CASETRACK_SMTP_HOST": "127.0.0.1",
        "CASETRACK_SMTP_PORT": str(port),
        "CASETRACK_SMTP_FROM": f"铭升服务台 <{DESK_ADDRESS}>",
    }


def request(key: str = "MS-2026-000001/2102353SYB10P1000077/1") -> RmaRequest:
    return RmaRequest(
        case_number="MS-2026-000001",
        idempotency_key=key,
        serial="2102353SYB10P1000077",
        model="Huawei OceanStor Dorado 3000 V6",
        problem="controller B failed:\nreplace",
        ship_to="山东省荣成市石岛管理区港湾街88号",
        requested_at=at("2026-02-12T10:00"),
        contract_id=PORT_CONTRACT,
    )


def test_the_request_goes_out_as_a_structured_email(contracts: ContractSet, tmp_path: Path) -> None:
    with local_mta(tmp_path / "drop") as (mta, port):
        sender = LazyEmailSender(smtp_environment(port))
        context = RmaContext(
            calendar=lambda cid, name: contracts.get(PORT_CONTRACT).calendar(name),
            holidays=contracts.registry,
            send_email=sender.send,
        )
        dc = DigitalChinaChannel(context, address=DC_ADDRESS)
        ticket = dc.open(request(), at("2026-02-12T10:00"))
        assert ticket.state is RmaState.REQUESTED and ticket.vendor_case is None
        [message] = mta.outbound_messages()
    assert str(message["Subject"]) == (
        "[RMA open] MS-2026-000001 key=MS-2026-000001/2102353SYB10P1000077/1"
    )
    assert DC_ADDRESS in str(message["To"])
    body = message.get_body(preferencelist=("plain",))
    assert body is not None
    lines = dict(line.split(": ", 1) for line in body.get_content().splitlines() if ": " in line)
    assert lines["Case"] == "MS-2026-000001"
    assert lines["Serial"] == "2102353SYB10P1000077"
    assert lines["Problem"] == "controller B failed: replace"  # one line per field
    assert lines["Idempotency-Key"] == "MS-2026-000001/2102353SYB10P1000077/1"
    [part] = [p for p in message.iter_attachments() if p.get_filename() == "rma-request.json"]
    data = json.loads(part.get_content())
    assert data["case_number"] == "MS-2026-000001" and data["contract_id"] == PORT_CONTRACT
    assert data["requested_at"] == "2026-02-12T02:00:00+00:00"


def test_an_unreachable_mail_server_is_a_vendor_outage(
    contracts: ContractSet, tmp_path: Path
) -> None:
    sender = LazyEmailSender(smtp_environment(1))  # nothing listens on port 1
    context = RmaContext(
        calendar=lambda cid, name: contracts.get(PORT_CONTRACT).calendar(name),
        holidays=contracts.registry,
        send_email=sender.send,
    )
    with pytest.raises(VendorUnavailable, match="could not be sent"):
        DigitalChinaChannel(context, address=DC_ADDRESS).open(request(), at("2026-02-12T10:00"))
