"""The cisco_tac RMA channel and its HTTP client, over real HTTP against the Cisco-shaped
sandbox (plugins/vendor_rma/cisco_sandbox.py), which checks every request it receives."""

from __future__ import annotations

import logging
import socket
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from core.rma import (
    RmaClient,
    RmaError,
    RmaParseError,
    RmaRequest,
    RmaState,
    VendorRejected,
    VendorUnavailable,
)
from core.settings import Settings
from plugins.vendor_rma.cisco_channel import CiscoTacChannel
from plugins.vendor_rma.cisco_client import CiscoSupportClient, OpenCase, retry_after_seconds
from plugins.vendor_rma.cisco_sandbox import TOKEN_PATH, CiscoSandbox
from plugins.vendor_rma.cisco_states import combined_state

SECRET = "s3cr3t-Client-Secret-0f9a"
NOW = datetime(2026, 12, 5, 8, 0, tzinfo=UTC)
TIMEOUT = 0.2


class Clock:
    def __init__(self, now: datetime = NOW) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def sandbox() -> Iterator[CiscoSandbox]:
    with CiscoSandbox(client_secret=SECRET, hang_seconds=1.0) as running:
        yield running


def channel_for(sandbox: CiscoSandbox, **client: object) -> CiscoTacChannel:
    return CiscoTacChannel(sandbox.client(timeout=TIMEOUT, **client))  # type: ignore[arg-type]


@pytest.fixture
def channel(sandbox: CiscoSandbox) -> Iterator[CiscoTacChannel]:
    made = channel_for(sandbox)
    yield made
    made.close()


def request(key: str = "rma-MS-2026-000042-1", **changes: object) -> RmaRequest:
    fields: dict[str, object] = {
        "case_number": "MS-2026-000042",
        "idempotency_key": key,
        "serial": "FOC2231X0AB",
        "model": "C9300-48P",
        "part": "PWR-C1-715WAC",
        "problem": "power supply 1 failed, fan LED amber",
        "ship_to": "Weihai, Huancui district, data centre B",
        "requested_at": NOW,
        **changes,
    }
    return RmaRequest(**fields)  # type: ignore[arg-type]


def statuses(sandbox: CiscoSandbox, prefix: str = "/") -> list[tuple[str, int]]:
    return [(r.path, r.status) for r in sandbox.requests_to(prefix)]


# --- the token ---------------------------------------------------------------------------------


def test_the_token_is_fetched_with_client_credentials_and_then_cached(
    sandbox: CiscoSandbox, channel: CiscoTacChannel
) -> None:
    case = sandbox.add_case()
    channel.status(case, NOW)
    channel.status(case, NOW)
    (token,) = sandbox.requests_to(TOKEN_PATH)
    assert token.method == "POST"
    assert token.headers["content-type"] == "application/x-www-form-urlencoded"
    assert token.form == {
        "grant_type": ["client_credentials"],
        "client_id": ["sandbox-client"],
        "client_secret": ["***"],  # the sandbox checked it, then redacted its record
    }
    assert token.status == 200
    assert sandbox.tokens_issued == 1
    assert [r.headers["authorization"] for r in sandbox.api_requests()] == ["Bearer ***"] * 2


def test_the_token_is_renewed_a_margin_before_it_expires(sandbox: CiscoSandbox) -> None:
    clock = Clock()
    channel = channel_for(sandbox, clock=clock)
    case = sandbox.add_case()
    channel.status(case, NOW)
    clock.advance(3599 - 61)  # Cisco's tokens live 3599 s; renewal 60 s before the end
    channel.status(case, NOW)
    assert sandbox.tokens_issued == 1
    clock.advance(2)
    channel.status(case, NOW)
    assert sandbox.tokens_issued == 2


def test_an_expired_token_is_replaced_once_and_the_call_retried(
    sandbox: CiscoSandbox, channel: CiscoTacChannel
) -> None:
    case = sandbox.add_case()
    channel.status(case, NOW)
    sandbox.expire_tokens()  # Cisco revoked or expired it before our clock said so
    sandbox.clear_requests()
    ticket = channel.status(case, NOW)
    assert ticket.vendor_case == case
    assert [status for _, status in statuses(sandbox)] == [401, 200, 200]
    assert statuses(sandbox)[1][0] == TOKEN_PATH
    assert sandbox.tokens_issued == 2


def test_a_second_401_with_a_fresh_token_is_an_operator_error(
    sandbox: CiscoSandbox, channel: CiscoTacChannel
) -> None:
    case = sandbox.add_case()
    sandbox.fail_next("401", times=2)
    with pytest.raises(RmaError, match="lacks access to this API") as caught:
        channel.status(case, NOW)
    assert not isinstance(caught.value, VendorUnavailable)
    assert sandbox.tokens_issued == 2  # one refresh, one retry, then it gives up


def test_wrong_client_credentials_are_an_operator_error(sandbox: CiscoSandbox) -> None:
    client = CiscoSupportClient(
        api_url=sandbox.api_url,
        token_url=sandbox.token_url,
        client_id="sandbox-client",
        client_secret="not-the-secret",
        timeout=TIMEOUT,
    )
    with pytest.raises(RmaError, match=r"refused the client credentials.*invalid_client"):
        CiscoTacChannel(client).status(sandbox.add_case(), NOW)
    assert sandbox.api_requests() == []


def test_a_token_endpoint_outage_is_vendor_unavailable(
    sandbox: CiscoSandbox, channel: CiscoTacChannel
) -> None:
    sandbox.fail_next("500", endpoint="token")
    with pytest.raises(VendorUnavailable, match="token"):
        channel.status(sandbox.add_case(), NOW)


# --- failures of API calls --------------------------------------------------------------------


def test_429_is_vendor_unavailable_with_retry_after_seconds(
    sandbox: CiscoSandbox, channel: CiscoTacChannel
) -> None:
    sandbox.fail_next("429", retry_after="7")
    with pytest.raises(VendorUnavailable, match="HTTP 429") as caught:
        channel.status(sandbox.add_case(), NOW)
    assert caught.value.retry_after == 7.0


def test_429_retry_after_as_an_http_date(sandbox: CiscoSandbox) -> None:
    clock = Clock()
    channel = channel_for(sandbox, clock=clock)
    sandbox.fail_next("429", retry_after=format_datetime(NOW + timedelta(seconds=90), usegmt=True))
    with pytest.raises(VendorUnavailable) as caught:
        channel.status(sandbox.add_case(), NOW)
    assert caught.value.retry_after == 90.0


def test_429_without_retry_after_leaves_the_wait_to_the_caller(
    sandbox: CiscoSandbox, channel: CiscoTacChannel
) -> None:
    sandbox.fail_next("429", retry_after=None)
    with pytest.raises(VendorUnavailable) as caught:
        channel.status(sandbox.add_case(), NOW)
    assert caught.value.retry_after is None


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        ("120", 120.0),
        ("0", 0.0),
        ("-5", 0.0),
        ("1.5", 1.5),
        ("soon", None),
        ("", None),
        ("inf", None),
        ("Sat, 05 Dec 2026 07:59:00 GMT", 0.0),
        ("Sat, 05 Dec 2026 08:02:00 GMT", 120.0),
    ],
)
def test_retry_after_reads_seconds_and_http_dates(header: str, seconds: float | None) -> None:
    assert retry_after_seconds(header, NOW) == seconds


def test_500_is_vendor_unavailable(sandbox: CiscoSandbox, channel: CiscoTacChannel) -> None:
    sandbox.fail_next("500")
    with pytest.raises(VendorUnavailable, match="HTTP 500"):
        channel.status(sandbox.add_case(), NOW)


def test_a_server_slower_than_the_timeout_is_vendor_unavailable(
    sandbox: CiscoSandbox, channel: CiscoTacChannel
) -> None:
    case = sandbox.add_case()
    channel.status(case, NOW)  # token cached: the hang hits the API call
    sandbox.fail_next("hang")
    # the sandbox answers only after 1 s: the client gave up before (no 503 seen)
    with pytest.raises(VendorUnavailable, match=r"no answer within 0\.2 s"):
        channel.status(case, NOW)
    assert channel.status(case, NOW).vendor_case == case  # and the next call works


def test_an_unreachable_api_is_vendor_unavailable() -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client = CiscoSupportClient(
        api_url=f"http://127.0.0.1:{port}",
        token_url=f"http://127.0.0.1:{port}{TOKEN_PATH}",
        client_id="id",
        client_secret=SECRET,
        timeout=TIMEOUT,
    )
    with pytest.raises(VendorUnavailable, match="unreachable"):
        CiscoTacChannel(client).status("699000001", NOW)


def test_an_unknown_case_is_rejected_with_ciscos_message(channel: CiscoTacChannel) -> None:
    with pytest.raises(VendorRejected, match=r"HTTP 404.*case 699999999 not found"):
        channel.status("699999999", NOW)


def test_a_malformed_request_is_rejected_with_a_safe_detail(sandbox: CiscoSandbox) -> None:
    client = sandbox.client(timeout=TIMEOUT)
    bad = OpenCase(
        idempotency_key="k1",
        customer_reference="MS-1",
        serial_number="FOC1",
        problem_description="x",
        severity=9,
        ship_to="site",
    )
    with pytest.raises(VendorRejected, match=r"HTTP 400.*severity must be 1 to 4"):
        client.open_case(bad)


# --- open, link, status, cancel ---------------------------------------------------------------


def test_open_sends_the_service_request_cisco_expects(
    sandbox: CiscoSandbox, channel: CiscoTacChannel
) -> None:
    ticket = channel.open(request(), NOW)
    assert ticket.state == RmaState.OPEN
    assert ticket.vendor_case is not None and ticket.vendor_case in sandbox.cases
    assert ticket.raw_status == "case Cisco Pending"
    (sent,) = sandbox.requests_to("/case/v3/cases")
    assert (sent.method, sent.status) == ("POST", 201)
    assert sent.headers["idempotency-key"] == "rma-MS-2026-000042-1"
    assert sent.headers["content-type"] == "application/json"
    assert sent.json() == {
        "idempotencyKey": "rma-MS-2026-000042-1",
        "customerReference": "MS-2026-000042",
        "serialNumber": "FOC2231X0AB",
        "problemDescription": "power supply 1 failed, fan LED amber",
        "severity": 3,
        "shipTo": "Weihai, Huancui district, data centre B",
        "productId": "C9300-48P",
        "partNumber": "PWR-C1-715WAC",
        "contact": None,
    }


def test_opening_twice_with_the_same_key_returns_the_same_case(
    sandbox: CiscoSandbox, channel: CiscoTacChannel
) -> None:
    first = channel.open(request(), NOW)
    again = channel.open(request(), NOW)  # e.g. the answer to the first was lost
    assert again.vendor_case == first.vendor_case
    assert len(sandbox.cases) == 1
    assert [r.status for r in sandbox.requests_to("/case/v3/cases")] == [201, 200]
    other = channel.open(request(key="rma-MS-2026-000042-2"), NOW)
    assert other.vendor_case != first.vendor_case


def test_a_key_reused_for_another_request_is_rejected(channel: CiscoTacChannel) -> None:
    channel.open(request(), NOW)
    with pytest.raises(VendorRejected, match="HTTP 422"):
        channel.open(request(serial="FOC9999Z9ZZ"), NOW)


def test_a_case_the_customer_opened_with_tac_is_linked_not_opened_again(
    sandbox: CiscoSandbox, channel: CiscoTacChannel
) -> None:
    theirs = sandbox.add_case(serial="FOC2231X0AB", status="Customer Pending")
    ticket = channel.open(request(vendor_case=theirs), NOW)
    assert ticket.vendor_case == theirs
    assert ticket.state == RmaState.OPEN
    assert [r.method for r in sandbox.api_requests()] == ["GET"]
    assert len(sandbox.cases) == 1


def test_linking_a_case_cisco_does_not_know_is_rejected(channel: CiscoTacChannel) -> None:
    with pytest.raises(VendorRejected, match="not found"):
        channel.open(request(vendor_case="699123123"), NOW)


def test_status_follows_the_rma_from_booking_to_the_faulty_part_back(
    sandbox: CiscoSandbox, channel: CiscoTacChannel
) -> None:
    case = channel.open(request(), NOW).vendor_case
    assert case is not None
    sandbox.advance(case, "booked")
    booked = channel.status(case, NOW)
    assert booked.state == RmaState.OPEN
    assert booked.raw_status == "case Cisco Pending; RMA 800000001 Booked"
    sandbox.advance(case, "shipped")
    shipped = channel.status(case, NOW)
    assert (shipped.state, shipped.carrier, shipped.waybill) == (
        RmaState.SHIPPED,
        "DHL",
        "JD800000001",
    )
    sandbox.advance(case, "case closed")  # TAC closes the case while the part travels
    assert channel.status(case, NOW).state == RmaState.SHIPPED
    sandbox.advance(case, "delivered")
    assert channel.status(case, NOW).state == RmaState.DELIVERED
    sandbox.advance(case, "received")
    assert channel.status(case, NOW).state == RmaState.CLOSED
    assert [r.path for r in sandbox.api_requests()][-2:] == [
        f"/case/v3/cases/details/case_id/{case}",
        "/return/v1.0/returns/rma_numbers/800000001",
    ]


def test_cancel_withdraws_the_rma(sandbox: CiscoSandbox, channel: CiscoTacChannel) -> None:
    case = channel.open(request(), NOW).vendor_case
    assert case is not None
    sandbox.advance(case, "booked")
    ticket = channel.cancel(case, "customer replaced the unit from stock", NOW)
    assert ticket.state == RmaState.CANCELLED
    (sent,) = sandbox.requests_to(f"/case/v3/cases/{case}/cancel")
    assert sent.json() == {"reason": "customer replaced the unit from stock"}
    assert channel.status(case, NOW).state == RmaState.CANCELLED


def test_a_shipped_rma_cannot_be_cancelled(sandbox: CiscoSandbox, channel: CiscoTacChannel) -> None:
    case = channel.open(request(), NOW).vendor_case
    assert case is not None
    sandbox.advance(case, "shipped")
    with pytest.raises(VendorRejected, match=r"HTTP 409.*can no longer be cancelled"):
        channel.cancel(case, "too late", NOW)


# --- batched polling ---------------------------------------------------------------------------


def test_status_of_65_cases_takes_3_calls_of_at_most_30(
    sandbox: CiscoSandbox, channel: CiscoTacChannel
) -> None:
    cases = [sandbox.add_case(serial=f"FOC{i:08d}") for i in range(65)]
    tickets = channel.status_many(cases, NOW)
    assert set(tickets) == set(cases)
    assert all(t.state == RmaState.OPEN for t in tickets.values())
    calls = sandbox.api_requests()
    assert len(calls) == 3
    sizes = [len(r.path.rsplit("/", 1)[1].split(",")) for r in calls]
    assert sizes == [30, 30, 5]
    assert all(r.path.startswith("/case/v3/cases/case_ids/") for r in calls)
    assert all(r.query == {"sort_by": ["UPDATED_DATE"]} for r in calls)


def test_polling_asks_for_an_rma_only_when_its_case_changed(
    sandbox: CiscoSandbox, channel: CiscoTacChannel
) -> None:
    cases = [sandbox.add_case(serial=f"FOC{i:08d}") for i in range(65)]
    for case in cases:
        sandbox.advance(case, "booked")
    channel.status_many(cases, NOW)
    assert len(sandbox.api_requests()) == 3 + 65  # first pass: every RMA once
    sandbox.clear_requests()
    again = channel.status_many(cases, NOW)
    assert len(sandbox.api_requests()) == 3  # nothing changed: no RMA calls
    assert again[cases[7]].raw_status.endswith("Booked")
    sandbox.advance(cases[7], "shipped")
    sandbox.clear_requests()
    moved = channel.status_many(cases, NOW)
    assert len(sandbox.api_requests()) == 3 + 1
    assert (moved[cases[7]].state, moved[cases[7]].waybill) == (RmaState.SHIPPED, "JD800000008")
    assert moved[cases[8]].state == RmaState.OPEN


def test_polling_leaves_out_cases_cisco_does_not_return(
    sandbox: CiscoSandbox, channel: CiscoTacChannel
) -> None:
    known = sandbox.add_case()
    tickets = channel.status_many([known, "699999999", known], NOW)
    assert list(tickets) == [known]


def test_a_rate_limit_ends_the_polling_pass(
    sandbox: CiscoSandbox, channel: CiscoTacChannel
) -> None:
    cases = [sandbox.add_case() for _ in range(40)]
    channel.status(cases[0], NOW)  # token cached
    sandbox.fail_next("429", retry_after="30")
    with pytest.raises(VendorUnavailable) as caught:
        channel.status_many(cases, NOW)
    assert caught.value.retry_after == 30.0
    assert len(channel.status_many(cases, NOW)) == 40  # the next pass gets everything


# --- inbound webhooks -------------------------------------------------------------------------


def test_a_webhook_event_becomes_an_update(channel: CiscoTacChannel) -> None:
    body = (
        b'{"eventType": "RMA_STATUS_CHANGED", "caseNumber": "699000001",'
        b' "rmaNumber": "800000001", "status": "Shipped", "carrier": "DHL",'
        b' "trackingNumber": "JD1", "occurredAt": "2026-12-05T16:30:00+08:00",'
        b' "customerReference": "MS-2026-000042"}'
    )
    (update,) = channel.parse_inbound(body)
    assert update.vendor_case == "699000001"
    assert update.state == RmaState.SHIPPED
    assert update.raw_status == "RMA 800000001: Shipped"
    assert update.at == datetime(2026, 12, 5, 8, 30, tzinfo=UTC)
    assert (update.case_number, update.carrier, update.waybill) == ("MS-2026-000042", "DHL", "JD1")


def test_a_webhook_batch_keeps_what_it_can_read(channel: CiscoTacChannel) -> None:
    body = (
        b'{"events": ['
        b'{"eventType": "CASE_STATUS_CHANGED", "caseNumber": "699000002", "status": "Closed",'
        b' "occurredAt": "2026-12-05T08:00:00Z"},'
        b'{"eventType": "RMA_STATUS_CHANGED", "caseNumber": "699000003", "status": "Teleported",'
        b' "occurredAt": "2026-12-05T08:00:00Z"},'
        b'{"eventType": "SOMETHING_ELSE", "caseNumber": "699000004"}]}'
    )
    (update,) = channel.parse_inbound(body)
    assert (update.vendor_case, update.state) == ("699000002", RmaState.CLOSED)


@pytest.mark.parametrize(
    ("body", "says"),
    [
        (b"\x00\xffnot json", "not JSON"),
        (b"[1, 2]", "neither an event"),
        (b'{"events": "x"}', "Expected `array`"),
        (b'{"events": []}', "no events"),
        (
            b'{"eventType": "RMA_STATUS_CHANGED", "caseNumber": "1", "status": "Lost",'
            b' "occurredAt": "2026-12-05T08:00:00Z"}',
            "unknown status 'Lost'",
        ),
        (
            b'{"eventType": "RMA_STATUS_CHANGED", "caseNumber": "1", "status": "Shipped",'
            b' "occurredAt": "2026-12-05T08:00:00"}',
            "no UTC offset",
        ),
        (b'{"eventType": "RMA_STATUS_CHANGED", "status": "Shipped"}', "caseNumber"),
    ],
)
def test_an_unreadable_webhook_is_a_parse_error(
    channel: CiscoTacChannel, body: bytes, says: str
) -> None:
    with pytest.raises(RmaParseError, match=says):
        channel.parse_inbound(body)


# --- the state table ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("case_status", "rma_status", "state"),
    [
        ("Cisco Pending", None, RmaState.OPEN),
        ("Customer-Pending", None, RmaState.OPEN),
        ("Closed", None, RmaState.CLOSED),
        ("Resolved", None, RmaState.CLOSED),
        ("Cancelled", "Booked", RmaState.CANCELLED),
        ("Cisco Pending", "Booked", RmaState.OPEN),
        ("Cisco Pending", "In Transit", RmaState.SHIPPED),
        ("Closed", "Shipped", RmaState.SHIPPED),
        ("Closed", "Delivered", RmaState.DELIVERED),
        ("Closed", "Received", RmaState.CLOSED),
        ("Closed", "Rejected", RmaState.REJECTED),
        ("Something New", None, RmaState.OPEN),
        ("Cisco Pending", "Something New", RmaState.OPEN),
    ],
)
def test_ciscos_words_map_to_rma_states(
    case_status: str, rma_status: str | None, state: RmaState
) -> None:
    assert combined_state(case_status, rma_status) == state


# --- settings and configuration -----------------------------------------------------------------


def test_the_channel_is_an_rma_client(channel: CiscoTacChannel) -> None:
    assert isinstance(channel, RmaClient)
    assert channel.name == "cisco_tac"


def test_without_credentials_the_channel_says_so_when_used() -> None:
    channel = CiscoTacChannel.from_settings(Settings())  # building it is fine
    assert not channel.configured
    with pytest.raises(RmaError, match="CASETRACK_CISCO_TAC_CLIENT_ID"):
        channel.open(request(), NOW)
    with pytest.raises(RmaError, match="not configured"):
        channel.status_many(["699000001"], NOW)
    body = (
        b'{"eventType": "CASE_STATUS_CHANGED", "caseNumber": "1", "status": "Closed",'
        b' "occurredAt": "2026-12-05T08:00:00Z"}'
    )
    assert len(channel.parse_inbound(body)) == 1  # reading a webhook needs no credentials


def test_the_channel_is_built_from_settings(sandbox: CiscoSandbox) -> None:
    settings = Settings.from_env(
        {
            "CASETRACK_CISCO_TAC_API_URL": sandbox.api_url,
            "CASETRACK_CISCO_TAC_TOKEN_URL": sandbox.token_url,
            "CASETRACK_CISCO_TAC_CLIENT_ID": "sandbox-client",
            "CASETRACK_CISCO_TAC_CLIENT_SECRET": SECRET,
            "CASETRACK_CISCO_TAC_TIMEOUT_SECONDS": "0.5",
            "CASETRACK_CISCO_TAC_SEVERITY": "2",
            "CASETRACK_CISCO_TAC_CONTACT": "noc@example.cn",
        }
    )
    channel = CiscoTacChannel.from_settings(settings)
    assert channel.client.timeout == 0.5
    channel.open(request(), NOW)
    (sent,) = sandbox.requests_to("/case/v3/cases")
    assert (sent.json()["severity"], sent.json()["contact"]) == (2, "noc@example.cn")
    assert SECRET not in repr(settings)


# --- secrets ------------------------------------------------------------------------------------


def test_the_secret_and_the_tokens_never_leak(
    sandbox: CiscoSandbox, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    # httpx and httpcore too, even after a CLI test set them to WARNING (cli/logs.py QUIET)
    for name in ("httpx", "httpcore"):
        caplog.set_level(logging.DEBUG, logger=name)
    channel = channel_for(sandbox)
    case = sandbox.add_case()
    seen: list[str] = [repr(channel), repr(channel.client), str(channel.client)]
    channel.status(case, NOW)
    sandbox.expire_tokens()
    channel.status(case, NOW)  # refresh on 401
    for fault in ("429", "500", "hang"):
        sandbox.fail_next(fault)
        with pytest.raises(VendorUnavailable) as caught:
            channel.status(case, NOW)
        seen += [str(caught.value), repr(caught.value), caught.value.detail]
    with pytest.raises(VendorRejected) as rejected:
        channel.status("699999999", NOW)
    sandbox.fail_next("401", times=2)
    with pytest.raises(RmaError) as refused:
        channel.status(case, NOW)
    wrong = CiscoSupportClient(
        api_url=sandbox.api_url,
        token_url=sandbox.token_url,
        client_id="sandbox-client",
        client_secret=SECRET + "x",
        timeout=TIMEOUT,
    )
    with pytest.raises(RmaError) as bad_secret:
        CiscoTacChannel(wrong).status(case, NOW)
    for error in (rejected.value, refused.value, bad_secret.value):
        seen += [str(error), repr(error), error.detail]
    seen += [record.getMessage() for record in caplog.records]
    seen.append(caplog.text)
    tokens = list(sandbox._tokens)
    assert len(tokens) >= 3
    text = "\n".join(seen)
    assert "HTTP Request" in text  # httpx did log its requests
    for secret in (SECRET, *tokens):
        assert secret not in text
