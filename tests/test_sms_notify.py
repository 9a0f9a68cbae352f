"""sms_notify: SendSms against a local server that re-checks each signature; spool; the hook."""

from __future__ import annotations

import hashlib
import json
import re
import socket
import stat
import threading
import time
import typing
import urllib.parse
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from zoneinfo import ZoneInfo

import msgspec
import pluggy
import pytest

from core.contract import ClockKind
from core.errors import PluginError
from core.plugins import collect_named, make_plugin_manager
from plugins.sms_notify import gateway as gw
from plugins.sms_notify.gateway import (
    AlibabaSms,
    Delivery,
    LazyTemplates,
    MissingTemplateVariables,
    NonceBook,
    Notice,
    NoticeTemplateError,
    Recipient,
    TransientDeliveryError,
    UnknownTemplate,
    classify,
    load_templates,
    percent_encode,
    prepare,
    signature,
    truncate,
    truncate_list,
)
from plugins.sms_notify.phones import NotAMobileNumber, PhoneNumberError, normalise_mobile
from plugins.sms_notify.spool import SpoolSms, spool_name
from plugins.sms_notify.testing import fixed_params, pop_encode, reference_signature

KEY_ID = "LTAI-test-key"
SECRET = "test-secret/with+odd*chars"
SIGN = "铭升科技"
NOW = datetime(2026, 3, 2, 6, 0, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
NOW_STAMP = "2026-03-01T22:00:00Z"  # the same instant in UTC
SMS_ENV = (
    "CASETRACK_SMS_ACCESS_KEY_ID",
    "CASETRACK_SMS_ACCESS_KEY_SECRET",
    "CASETRACK_SMS_SIGN_NAME",
    "CASETRACK_SMS_ENDPOINT",
    "CASETRACK_SMS_SPOOL",
    "CASETRACK_VAR_DIR",
)


KEY = "case:42:clock:7:level:2:user:13"
VARIABLES = {
    "case_number": "MS-2026-000042",
    "customer": "威海市商业银行",
    "clock": "onsite_arrival",
    "deadline": "2026-03-02T14:00:00+08:00",
    "priority": "P1",  # for e-mail: the SMS template does not take it
}
SENT_VARIABLES = {
    "case_number": "MS-2026-000042",
    "customer": "威海市商业银行",
    "clock": "工程师到场",
    "deadline": "2026-03-02 14:00",
}
ZH_TEXT = (
    "工单MS-2026-000042（威海市商业银行）的工程师到场时限将于2026-03-02 14:00到期，请尽快处理。"
)


def notice(
    key: str = KEY,
    phone: str | None = "+86 139 0631 0001",
    locale: str = "zh",
    template: str = "clock_warning",
    **variables: str | int | None,
) -> Notice:
    recipient = Recipient(name="王工", email="wang@example.cn", phone=phone, locale=locale)
    return Notice(
        idempotency_key=key,
        channel="sms",
        recipient=recipient,
        template=template,
        variables=VARIABLES | variables,
    )


# The worked example of Alibaba's SMS signature documentation (签名机制, SendSms, testId/testSecret)
DOC_PARAMS = {
    "AccessKeyId": "testId",
    "Action": "SendSms",
    "Format": "XML",
    "OutId": "123",
    "PhoneNumbers": "15300000001",
    "RegionId": "cn-hangzhou",
    "SignName": "阿里云短信测试专用",
    "SignatureMethod": "HMAC-SHA1",
    "SignatureNonce": "45e25e9b-0a6f-4070-8c85-2956eda1b466",
    "SignatureVersion": "1.0",
    "TemplateCode": "SMS_71390007",
    "TemplateParam": '{"customer":"test"}',
    "Timestamp": "2017-07-12T02:42:19Z",
    "Version": "2017-05-25",
}
DOC_SIGNATURE = "zJDF+Lrzhj/ThnlvIToysFRq6t4="


def test_signature_reproduces_alibabas_published_example() -> None:
    assert reference_signature(DOC_PARAMS, "testSecret") == DOC_SIGNATURE  # the verifier
    assert signature(DOC_PARAMS, "testSecret") == DOC_SIGNATURE  # the client
    assert signature(DOC_PARAMS, "wrongSecret") != DOC_SIGNATURE


@pytest.mark.parametrize(
    ("text", "encoded"),
    [
        ("a b", "a%20b"),
        ("*", "%2A"),
        ("~-_.", "~-_."),
        ("/", "%2F"),
        ("+=&", "%2B%3D%26"),
        ("威海", "%E5%A8%81%E6%B5%B7"),
        ('{"k":"v"}', "%7B%22k%22%3A%22v%22%7D"),
    ],
)
def test_percent_encoding_follows_alibabas_rules(text: str, encoded: str) -> None:
    assert percent_encode(text) == encoded == pop_encode(text)


# --- a local server speaking SendSms's wire format ---------------------------------------------

REQUIRED = fixed_params(KEY_ID, SIGN)
TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")
PHONE = re.compile(r"1[3-9]\d{9}|(?!86)[1-9]\d{7,14}")
VARIABLE_MAX = 35


class FakeAlibaba:
    """What the server knows and remembers: the secret, used nonces, SMS it "sent"."""

    def __init__(self) -> None:
        self.secret = SECRET
        self.script: list[str] = []  # how to answer the next requests; then "ok"
        self.requests: list[dict[str, str]] = []
        self.sent: list[dict[str, str]] = []
        self.nonces: set[str] = set()
        self.stop = threading.Event()
        self.endpoint = ""
        # the fault tests (tests/test_faults.py): signed by processes with the real clock,
        # every answer the same fault, or accepted at once and answered late
        self.timestamp_ok: Callable[[str], bool] = lambda stamp: stamp == NOW_STAMP
        self.always: str | None = None
        self.answer_delay = 0.0
        self.waiting = threading.Event()  # an accepted SMS is waiting for its answer
        self._pending: set[str] = set()

    def near_wall_clock(self, stamp: str) -> bool:
        """Alibaba's rule: the request's time within 15 minutes of the server's."""
        sent = datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
        return abs(datetime.now(UTC) - sent) < timedelta(minutes=15)

    def unanswered(self) -> set[str]:
        """Nonces of SMS accepted whose answer has not gone out yet."""
        return set(self._pending)

    def answer(self, params: dict[str, str]) -> tuple[int, object]:
        mode = self.always or (self.script.pop(0) if self.script else "ok")
        if mode == "500":
            return 500, "<html>502 Bad Gateway</html>"
        if mode == "hang":
            self.stop.wait(5)
            return 200, {"Code": "OK"}  # too late: the client gave up
        problem = self.check(params)
        if problem:
            return 400, {"Code": problem[0], "Message": problem[1], "RequestId": "R-bad"}
        if params["SignatureNonce"] in self.nonces:
            return 400, {"Code": "SignatureNonceUsed", "Message": "nonce used", "RequestId": "R-n"}
        self.nonces.add(params["SignatureNonce"])
        content = self.check_content(params)
        if content:
            return 200, {"Code": content, "Message": "bad content", "RequestId": "R-c"}
        if mode.startswith("code:"):
            return 200, {"Code": mode[5:], "Message": "scripted", "RequestId": "R-s"}
        self.sent.append(params)
        if mode == "lost":  # Alibaba sends the SMS but the answer never reaches us
            self.stop.wait(5)
        if self.answer_delay:
            self._pending.add(params["SignatureNonce"])
            self.waiting.set()
            self.stop.wait(self.answer_delay)
            self._pending.discard(params["SignatureNonce"])
        return 200, {
            "Code": "OK",
            "Message": "OK",
            "BizId": f"9006^{len(self.sent)}",
            "RequestId": "R-ok",
        }

    def check(self, params: dict[str, str]) -> tuple[str, str] | None:
        """Authentication, as the POP gateway does it before the SMS service sees anything."""
        for name, value in REQUIRED.items():
            if params.get(name) != value:
                return "MissingParameter", f"{name} is {params.get(name)!r}, expected {value!r}"
        for name in ("SignatureNonce", "Timestamp", "PhoneNumbers", "TemplateCode", "Signature"):
            if not params.get(name):
                return "MissingParameter", name
        stamp = params["Timestamp"]
        if not TIMESTAMP.fullmatch(stamp) or not self.timestamp_ok(stamp):
            return "InvalidTimeStamp.Format", params["Timestamp"]
        unsigned = {k: v for k, v in params.items() if k != "Signature"}
        if reference_signature(unsigned, self.secret) != params["Signature"]:
            return "SignatureDoesNotMatch", "Specified signature is not matched"
        return None

    def check_content(self, params: dict[str, str]) -> str | None:
        if not PHONE.fullmatch(params["PhoneNumbers"]):
            return "isv.MOBILE_NUMBER_ILLEGAL"
        try:
            variables = json.loads(params.get("TemplateParam", ""))
        except ValueError:
            return "isv.INVALID_JSON_PARAM"
        if not isinstance(variables, dict) or not all(
            isinstance(v, str) for v in variables.values()
        ):
            return "isv.INVALID_JSON_PARAM"
        if any(len(v) > VARIABLE_MAX for v in variables.values()):
            return "isv.PARAM_LENGTH_LIMIT"
        return None


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    fake: FakeAlibaba


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_GET(self) -> None:
        query = urllib.parse.urlsplit(self.path).query
        pairs = urllib.parse.parse_qsl(query, keep_blank_values=True, strict_parsing=True)
        params = dict(pairs)
        assert len(params) == len(pairs), "a parameter was sent twice"
        fake = self.server.fake
        fake.requests.append(params)
        status, body = fake.answer(params)
        data = (body if isinstance(body, str) else json.dumps(body, ensure_ascii=False)).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json;charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except OSError:  # the client timed out and hung up
            pass

    def log_message(self, format: str, *args: object) -> None:  # keep test output quiet
        pass


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeAlibaba]:
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")  # loopback only, whatever proxy CI sets
    fake = FakeAlibaba()
    server = _Server(("127.0.0.1", 0), _Handler)
    server.fake = fake
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    fake.endpoint = f"http://127.0.0.1:{server.server_address[1]}/"
    try:
        yield fake
    finally:
        fake.stop.set()  # wake hanging handlers
        server.shutdown()
        server.server_close()
        thread.join(timeout=2)


def gateway(fake: FakeAlibaba, *, secret: str = SECRET, timeout: float = 2.0) -> AlibabaSms:
    return AlibabaSms(
        access_key_id=KEY_ID,
        access_key_secret=secret,
        sign_name=SIGN,
        endpoint=fake.endpoint,
        timeout=timeout,
        clock=lambda: NOW,
    )


# --- sending -----------------------------------------------------------------------------------


def test_a_signed_request_is_accepted_and_carries_the_notice(fake: FakeAlibaba) -> None:
    delivery = gateway(fake).send(notice())
    assert delivery == Delivery(
        status="sent", detail="accepted by Alibaba SMS (RequestId R-ok)", provider_id="9006^1"
    )
    [params] = fake.sent
    assert params["PhoneNumbers"] == "13906310001"  # 11 digits for the mainland
    assert params["TemplateCode"] == "SMS_000000001"
    assert json.loads(params["TemplateParam"]) == SENT_VARIABLES
    assert params["OutId"] == KEY
    assert params["Timestamp"] == NOW_STAMP
    assert "Signature" in params


def test_international_numbers_go_out_as_country_code_and_number(fake: FakeAlibaba) -> None:
    assert gateway(fake).send(notice(phone="+852 9123 4567")).status == "sent"
    assert fake.sent[0]["PhoneNumbers"] == "85291234567"


def test_the_english_template_is_used_for_an_english_recipient(fake: FakeAlibaba) -> None:
    gateway(fake).send(notice(locale="en-GB"))
    assert fake.sent[0]["TemplateCode"] == "SMS_000000002"


def test_a_wrong_secret_is_a_permanent_failure(fake: FakeAlibaba) -> None:
    delivery = gateway(fake, secret="not-the-secret").send(notice())
    assert delivery.status == "failed"
    assert "SignatureDoesNotMatch" in delivery.detail
    assert fake.sent == []


def test_http_500_is_transient(fake: FakeAlibaba) -> None:
    fake.script = ["500"]
    with pytest.raises(TransientDeliveryError, match="HTTP 500"):
        gateway(fake).send(notice())


def test_a_server_slower_than_the_timeout_is_transient(fake: FakeAlibaba) -> None:
    fake.script = ["hang"]
    started = time.monotonic()
    with pytest.raises(TransientDeliveryError, match="timed out"):
        gateway(fake, timeout=0.3).send(notice())
    assert time.monotonic() - started < 2


def test_an_unreachable_endpoint_is_transient() -> None:
    with socket.socket() as probe:  # a port nobody listens on once the probe closes
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    sms = AlibabaSms(
        access_key_id=KEY_ID,
        access_key_secret=SECRET,
        sign_name=SIGN,
        endpoint=f"http://127.0.0.1:{port}/",
        timeout=1.0,
        clock=lambda: NOW,
    )
    with pytest.raises(TransientDeliveryError, match="unreachable"):
        sms.send(notice())


def test_rate_limit_is_transient_and_the_retry_gets_a_fresh_nonce(fake: FakeAlibaba) -> None:
    sms = gateway(fake)
    fake.script = ["code:isv.BUSINESS_LIMIT_CONTROL"]
    with pytest.raises(TransientDeliveryError, match=r"isv\.BUSINESS_LIMIT_CONTROL"):
        sms.send(notice())
    # Alibaba spent the first nonce; reusing it would be refused as a repeat and never sent
    assert sms.send(notice()).status == "sent"
    first, second = fake.requests
    assert first["SignatureNonce"] != second["SignatureNonce"]
    assert len(fake.sent) == 1


def test_a_retry_after_a_lost_answer_is_recognised_and_not_sent_twice(fake: FakeAlibaba) -> None:
    sms = gateway(fake, timeout=0.3)
    fake.script = ["lost"]
    with pytest.raises(TransientDeliveryError):
        sms.send(notice())
    delivery = sms.send(notice())  # the worker retries the same notice
    assert delivery.status == "sent"
    assert "SignatureNonceUsed" in delivery.detail
    assert len(fake.sent) == 1  # one SMS on the phone
    assert fake.requests[0]["SignatureNonce"] == fake.requests[1]["SignatureNonce"]


def test_the_nonce_derives_from_the_key_so_another_worker_recognises_a_retry(
    fake: FakeAlibaba,
) -> None:
    fake.script = ["lost"]
    with pytest.raises(TransientDeliveryError):
        gateway(fake, timeout=0.3).send(notice())
    assert gateway(fake).send(notice()).detail.startswith("already received")
    assert len(fake.sent) == 1


def test_different_notices_get_different_nonces(fake: FakeAlibaba) -> None:
    sms = gateway(fake)
    assert sms.send(notice(key="a")).status == "sent"
    assert sms.send(notice(key="b")).status == "sent"
    assert len(fake.sent) == 2


def test_long_variables_are_truncated_before_sending(fake: FakeAlibaba) -> None:
    customer = "威海市商业银行股份有限公司文登支行营业部及数据中心机房（含同城灾备中心）"
    assert len(customer) > VARIABLE_MAX
    assert gateway(fake).send(notice(customer=customer)).status == "sent"
    sent = json.loads(fake.sent[0]["TemplateParam"])["customer"]
    assert len(sent) == VARIABLE_MAX
    assert sent == customer[: VARIABLE_MAX - 1] + "…"


def test_missing_variables_fail_without_a_request(fake: FakeAlibaba) -> None:
    delivery = gateway(fake).send(notice(deadline="  "))
    assert delivery.status == "failed"
    assert "needs variables: deadline" in delivery.detail
    assert fake.requests == []


def test_a_landline_fails_without_a_request(fake: FakeAlibaba) -> None:
    delivery = gateway(fake).send(notice(phone="0631-5187755"))
    assert delivery.status == "failed"
    assert "landline" in delivery.detail and "cannot receive SMS" in delivery.detail
    assert fake.requests == []


def test_the_secret_stays_out_of_repr(fake: FakeAlibaba) -> None:
    assert SECRET not in repr(gateway(fake))


# --- classifying Alibaba's answers -------------------------------------------------------------


def body(code: str) -> bytes:
    return json.dumps({"Code": code, "Message": "m", "RequestId": "R"}).encode()


@pytest.mark.parametrize(
    "code",
    [
        "isv.MOBILE_NUMBER_ILLEGAL",
        "isv.TEMPLATE_MISSING_PARAMETERS",
        "isv.AMOUNT_NOT_ENOUGH",
        "isv.SMS_TEMPLATE_ILLEGAL",
        "isv.DAY_LIMIT_CONTROL",
        "SignatureDoesNotMatch",
        "InvalidTimeStamp.Expired",
        "isv.SOMETHING_NEW",  # unknown: a person should look, not a retry loop
    ],
)
def test_permanent_codes_are_failed_deliveries(code: str) -> None:
    delivery = classify(200, body(code))
    assert delivery.status == "failed"
    assert code in delivery.detail


@pytest.mark.parametrize(
    ("status", "content"),
    [
        (200, body("isv.BUSINESS_LIMIT_CONTROL")),
        (200, body("isp.SYSTEM_ERROR")),
        (400, body("Throttling.User")),
        (503, body("ServiceUnavailable")),
        (503, body("SomethingNew")),  # unknown code on a 5xx
        (502, b"<html>bad gateway</html>"),
        (429, b""),
    ],
)
def test_transient_answers_raise(status: int, content: bytes) -> None:
    with pytest.raises(TransientDeliveryError):
        classify(status, content)


def test_a_non_json_client_error_is_a_failure() -> None:
    assert classify(404, b"not found").status == "failed"


def test_every_classified_code_is_documented() -> None:
    doc = (Path(__file__).resolve().parents[1] / "docs" / "notifiers.md").read_text("utf-8")
    sms = doc[doc.index("## SMS") :]
    for code in gw.ERROR_CODES:
        assert f"`{code}`" in sms, f"docs/notifiers.md ## SMS does not list {code}"


# --- nonces ------------------------------------------------------------------------------------


def test_the_nonce_book_reuses_bumps_and_forgets() -> None:
    book = NonceBook()
    t0 = datetime(2026, 3, 1, tzinfo=UTC)
    first = book.nonce("k", t0)
    assert book.nonce("k", t0 + timedelta(minutes=1)) == first  # unknown outcome: same nonce
    book.answered("k", t0 + timedelta(minutes=1))
    second = book.nonce("k", t0 + timedelta(minutes=2))
    assert second != first
    assert book.nonce("k", t0 + timedelta(minutes=10)) == second
    # 15 minutes after its last use Alibaba has forgotten every nonce of the key, and so do we
    assert book.nonce("k", t0 + timedelta(minutes=26)) == first
    assert NonceBook().nonce("k", t0) == first  # derived, not random: stable across processes


def test_the_timestamp_needs_an_aware_clock(fake: FakeAlibaba) -> None:
    sms = gateway(fake)
    sms.clock = lambda: datetime(2026, 3, 1, 12, 0)
    with pytest.raises(ValueError, match="aware"):
        sms.send(notice())


def test_a_long_key_becomes_a_hashed_out_id() -> None:
    assert gw.out_id("case-42") == "case-42"
    long_key = "k" * 65
    assert gw.out_id(long_key) == hashlib.sha256(long_key.encode()).hexdigest()
    assert len(gw.out_id("工单-42")) == 64  # non-ASCII is hashed too


# --- phone numbers -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "alibaba", "e164"),
    [
        ("+86 139 0631 0001", "13906310001", "+8613906310001"),
        ("+8613906310001", "13906310001", "+8613906310001"),
        ("13906310001", "13906310001", "+8613906310001"),
        ("139-0631-0001", "13906310001", "+8613906310001"),
        ("0086 139 0631 0001", "13906310001", "+8613906310001"),
        ("8613906310001", "13906310001", "+8613906310001"),
        ("＋８６　１９９０６３１０００１", "19906310001", "+8619906310001"),  # full-width input
        ("+852 9123 4567", "85291234567", "+85291234567"),
        ("+1 (415) 555-0100", "14155550100", "+14155550100"),
        ("+852 6123 0001", "85261230001", "+85261230001"),
        ("+85261230001", "85261230001", "+85261230001"),
        ("+853 6612 3456", "85366123456", "+85366123456"),
        ("+44 7911 123456", "447911123456", "+447911123456"),
    ],
)
def test_phone_numbers_are_normalised(raw: str, alibaba: str, e164: str) -> None:
    number = normalise_mobile(raw)
    assert (number.for_alibaba, number.e164) == (alibaba, e164)


@pytest.mark.parametrize(
    ("raw", "error", "says"),
    [
        ("0631-5187755", NotAMobileNumber, "mainland landline"),
        ("(0631) 518 7755", NotAMobileNumber, "mainland landline"),
        ("+86 631 5187755", NotAMobileNumber, "mainland landline"),
        ("010-6552 9988", NotAMobileNumber, "mainland landline"),
        ("+852 2123 4567", NotAMobileNumber, "Hong Kong landline"),
        ("+853 2855 5555", NotAMobileNumber, "Macau landline"),
        ("5187755", PhoneNumberError, "without area code"),
        ("400-810-8888", NotAMobileNumber, "400/800"),
        ("12906310001", PhoneNumberError, "not a valid mainland number"),
        ("1390631000", PhoneNumberError, "not a valid mainland number"),
        ("+86 139 0631 00012", PhoneNumberError, "not a valid mainland number"),
        ("+44 7700 900123", PhoneNumberError, "not a valid GB number"),  # Ofcom's drama range
        ("+999 1234", PhoneNumberError, "no such country code"),
        ("139 0631 OOO1", PhoneNumberError, "not a phone number"),
        ("", PhoneNumberError, "no phone number"),
        (None, PhoneNumberError, "no phone number"),
    ],
)
def test_phone_numbers_that_cannot_get_sms_are_refused(
    raw: str | None, error: type[PhoneNumberError], says: str
) -> None:
    with pytest.raises(error, match=re.escape(says)) as caught:
        normalise_mobile(raw)
    assert caught.value.raw == raw
    if error is PhoneNumberError:
        assert not isinstance(caught.value, NotAMobileNumber)


# --- templates and truncation ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "limit", "expected"),
    [
        ("MS-2026-000042", 35, "MS-2026-000042"),
        ("x" * 35, 35, "x" * 35),
        ("x" * 36, 35, "x" * 34 + "…"),
        ("到场响应" * 10, 35, ("到场响应" * 10)[:34] + "…"),
        ("a\n b\t\tc", 35, "a b c"),
        ("abcde\u0301f", 6, "abcd…"),  # e + combining acute stays whole: both go
        ("abc👍\U0001f3fdxyz", 5, "abc…"),  # thumbs-up + skin tone
        ("ab👨\u200d👩\u200d👧", 5, "ab…"),  # ZWJ family sequence
        ("ab cd", 4, "ab…"),  # no dangling space before the ellipsis
    ],
)
def test_truncation_cuts_on_character_boundaries(value: str, limit: int, expected: str) -> None:
    assert truncate(value, limit) == expected
    assert len(truncate(value, limit)) <= limit


def test_prepare_reports_truncation_and_renders_the_locale_text() -> None:
    sms = prepare(notice(case_number="C" * 40, locale="en"), load_templates())
    assert sms.truncated == ("case_number",)
    assert sms.params["case_number"] == "C" * 34 + "…"
    assert sms.text == (
        f"Case {'C' * 34}… (威海市商业银行): on-site arrival is due at 2026-03-02 14:00. "
        "Please act now."
    )
    assert "priority" not in sms.params
    sms = prepare(notice(locale="fr"), load_templates())  # unknown locale: the first (zh)
    assert (sms.locale, sms.text) == ("zh", ZH_TEXT)


@pytest.mark.parametrize(
    ("variables", "shown"),
    [
        ({"deadline": "2026-03-02T06:00:00+00:00"}, {"deadline": "2026-03-02 06:00 UTC+00:00"}),
        ({"deadline": "2026-03-02T01:30:00-05:30"}, {"deadline": "2026-03-02 01:30 UTC-05:30"}),
        ({"clock": "spare_ship"}, {"clock": "备件发货"}),
        ({"clock": "progress_report"}, {"clock": "进展上报"}),
        ({"clock": "custom_clock"}, {"clock": "custom_clock"}),  # unknown kind: as is
    ],
)
def test_clock_kinds_and_deadlines_are_formatted(
    variables: dict[str, str], shown: dict[str, str]
) -> None:
    sms = prepare(notice(**variables), load_templates())
    assert {name: sms.params[name] for name in shown} == shown


@pytest.mark.parametrize(
    ("deadline", "says"),
    [("2026-03-02T14:00:00", "without a UTC offset"), ("tomorrow", "not an ISO 8601")],
)
def test_a_deadline_that_is_not_an_instant_is_refused(deadline: str, says: str) -> None:
    with pytest.raises(NoticeTemplateError, match=says):
        prepare(notice(deadline=deadline), load_templates())


def test_the_escalated_template_takes_the_level() -> None:
    n = notice(template="escalated", level=2, clock=None, deadline=None)
    assert prepare(n, load_templates()).text == (
        "工单MS-2026-000042（威海市商业银行）已升级至第2级，请关注并跟进。"
    )


def test_missing_variables_are_a_typed_error() -> None:
    n = Notice(
        idempotency_key="k",
        channel="sms",
        recipient=Recipient(name="王工", phone="13906310001"),
        template="clock_breached",
        variables={"case_number": "MS-2026-000042", "clock": None},
    )
    with pytest.raises(MissingTemplateVariables) as caught:
        prepare(n, load_templates())
    assert caught.value.missing == ("customer", "clock", "deadline")
    assert caught.value.template == "clock_breached"
    assert isinstance(caught.value, NoticeTemplateError)


def test_an_unknown_template_is_a_typed_error() -> None:
    with pytest.raises(UnknownTemplate, match="clock_warning"):
        prepare(notice(template="birthday"), load_templates())


def test_shipped_templates_declare_exactly_the_variables_their_texts_use() -> None:
    templates = load_templates()
    # the names plugins/email_notify renders, so one notice serves both channels
    assert set(templates.templates) == {
        "clock_warning",
        "clock_breached",
        "escalated",
        "digest",
        "survey_request",  # issue 15: a closed case's survey link
        "service_notice",  # issue 16: a hotline change to a contact without e-mail
    }
    for template in templates.templates.values():
        assert set(template.locales) == {"zh", "en"}
        # a link variable (Alibaba's 链接 type) is the one longer than 35 characters
        limits = {name: limit for name, limit in template.variables.items() if name != "link"}
        assert all(limit == VARIABLE_MAX for limit in limits.values())
    assert all(set(label) == {"zh", "en"} for label in templates.clock_labels.values())
    words = [w for values in templates.labels.values() for w in values.values()]
    assert all(set(word) == {"zh", "en"} for word in words)


def test_a_template_text_with_an_undeclared_variable_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "templates.yaml"
    path.write_text(
        "templates:\n  t:\n    variables: {case: 35}\n    locales:\n"
        "      zh: {template-code: SMS_1, text: '工单${case}于${due}到期'}\n",
        encoding="utf-8",
    )
    with pytest.raises(msgspec.ValidationError, match="due"):
        load_templates(path)


def test_a_notice_with_a_link_goes_as_the_linked_template_and_a_long_link_never_cut() -> None:
    templates = load_templates()
    link = "https://desk.example.cn/console/cases/MS-2026-000042"
    sms = prepare(notice(link=link), templates)
    plain = prepare(notice(), templates)
    assert sms.params == SENT_VARIABLES | {"link": link} and sms.text.endswith(link)
    assert sms.template_code != plain.template_code and plain.text == ZH_TEXT
    too_long = "https://desk.example.cn/" + "x" * templates.link_max
    fallback = prepare(notice(link=too_long), templates)
    assert fallback.text == ZH_TEXT and "link" not in fallback.params


def test_shipped_linked_texts_are_the_plain_texts_with_the_link() -> None:
    for template in load_templates().templates.values():
        for locale, entry in template.linked.items():
            plain = template.locales[locale].text.rstrip("。.")
            assert entry.text.startswith(plain) and entry.text.endswith("${link}")


def test_a_linked_text_without_the_link_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "templates.yaml"
    path.write_text(
        "templates:\n  t:\n    variables: {case: 35}\n    locales:\n"
        "      zh: {template-code: SMS_1, text: '工单${case}'}\n    linked:\n"
        "      zh: {template-code: SMS_2, text: '工单${case}'}\n",
        encoding="utf-8",
    )
    with pytest.raises(msgspec.ValidationError, match=r"linked locale 'zh'.*link"):
        load_templates(path)


# --- the spool ---------------------------------------------------------------------------------


def test_the_spool_writes_one_file_per_key_and_a_retry_overwrites_it(tmp_path: Path) -> None:
    spool = SpoolSms(tmp_path / "spool", clock=lambda: NOW)
    assert not (tmp_path / "spool").exists()  # built without I/O
    delivery = spool.send(notice())
    assert delivery.status == "sent" and "spooled to" in delivery.detail
    again = spool.send(notice(deadline="2026-03-02T15:00:00+08:00"))  # a retry, changed
    assert again.provider_id == delivery.provider_id
    files = sorted(p.name for p in (tmp_path / "spool").iterdir())
    assert files == [spool_name(KEY)] == ["case%3A42%3Aclock%3A7%3Alevel%3A2%3Auser%3A13.json"]
    record = json.loads((tmp_path / "spool" / files[0]).read_text("utf-8"))
    assert record["text"] == ZH_TEXT.replace("14:00", "15:00")
    assert record["recipient"] == {"name": "王工", "phone": "+8613906310001", "locale": "zh"}
    assert record["spooled_at"] == "2026-03-02T06:00:00+08:00"
    assert record["idempotency_key"] == KEY
    assert record["variables"] == SENT_VARIABLES | {"deadline": "2026-03-02 15:00"}
    assert stat.S_IMODE((tmp_path / "spool" / files[0]).stat().st_mode) == 0o600  # phone numbers


def test_the_spool_renders_english_and_keeps_notices_apart(tmp_path: Path) -> None:
    spool = SpoolSms(tmp_path, clock=lambda: NOW)
    spool.send(notice(key="a", locale="en"))
    spool.send(notice(key="b"))
    assert len(list(tmp_path.glob("*.json"))) == 2
    record = json.loads((tmp_path / "a.json").read_text("utf-8"))
    assert record["text"] == (
        "Case MS-2026-000042 (威海市商业银行): on-site arrival is due at 2026-03-02 14:00. "
        "Please act now."
    )


def test_the_spool_refuses_what_the_gateway_would_refuse(tmp_path: Path) -> None:
    spool = SpoolSms(tmp_path / "spool")
    assert spool.send(notice(phone="0631-5187755")).status == "failed"
    assert spool.send(notice(template="nope")).status == "failed"
    assert not (tmp_path / "spool").exists()


def test_an_unwritable_spool_is_transient(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(TransientDeliveryError, match="spool"):
        SpoolSms(blocker / "spool").send(notice())


@pytest.mark.parametrize("key", ["a/b", "a%2Fb", "..", "x" * 300, "工单 42"])
def test_spool_names_are_safe_and_distinct(key: str) -> None:
    name = spool_name(key)
    assert "/" not in name and name.endswith(".json") and len(name.encode()) <= 255
    assert name not in {
        spool_name(other) for other in ["a/b", "a%2Fb", "..", "工单 42"] if other != key
    }


# --- the hook ----------------------------------------------------------------------------------


@pytest.fixture
def sms_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in SMS_ENV:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def sms_sender(pm: pluggy.PluginManager | None = None) -> object:
    pm = pm or make_plugin_manager(load_entrypoints=False, disabled=[])
    return collect_named(pm, "register_notifiers")["sms"]


def test_hook_register_notifiers_sms_is_the_spool_by_default(
    sms_env: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    sms_env.chdir(tmp_path)
    sender = sms_sender()
    assert isinstance(sender, SpoolSms)
    assert sender.directory == Path("var/sms-spool")
    assert not (tmp_path / "var").exists()  # registering does no I/O
    sms_env.setenv("CASETRACK_VAR_DIR", str(tmp_path / "state"))
    assert sms_sender().directory == tmp_path / "state" / "sms-spool"
    sms_env.setenv("CASETRACK_SMS_SPOOL", str(tmp_path / "outbox"))
    assert sms_sender().directory == tmp_path / "outbox"


def test_hook_register_notifiers_sms_is_the_gateway_with_env_vars(
    sms_env: pytest.MonkeyPatch,
) -> None:
    sms_env.setenv("CASETRACK_SMS_ACCESS_KEY_ID", KEY_ID)
    sms_env.setenv("CASETRACK_SMS_ACCESS_KEY_SECRET", SECRET)
    sms_env.setenv("CASETRACK_SMS_SIGN_NAME", SIGN)
    sender = sms_sender()
    assert isinstance(sender, AlibabaSms)
    assert (sender.access_key_id, sender.sign_name) == (KEY_ID, SIGN)
    assert sender.endpoint == "https://dysmsapi.aliyuncs.com/"
    assert isinstance(sender.templates, LazyTemplates) and sender.templates._templates is None
    sms_env.setenv("CASETRACK_SMS_ENDPOINT", "https://dysmsapi.example.cn/")
    assert sms_sender().endpoint == "https://dysmsapi.example.cn/"


def test_hook_register_notifiers_sms_half_configured_is_a_plugin_error(
    sms_env: pytest.MonkeyPatch,
) -> None:
    sms_env.setenv("CASETRACK_SMS_ACCESS_KEY_ID", KEY_ID)
    with pytest.raises(
        PluginError, match="CASETRACK_SMS_ACCESS_KEY_SECRET, CASETRACK_SMS_SIGN_NAME"
    ):
        sms_sender()


def test_hook_register_notifiers_sms_gateway_sends_through_the_registered_sender(
    sms_env: pytest.MonkeyPatch, fake: FakeAlibaba
) -> None:
    sms_env.setenv("CASETRACK_SMS_ACCESS_KEY_ID", KEY_ID)
    sms_env.setenv("CASETRACK_SMS_ACCESS_KEY_SECRET", SECRET)
    sms_env.setenv("CASETRACK_SMS_SIGN_NAME", SIGN)
    sms_env.setenv("CASETRACK_SMS_ENDPOINT", fake.endpoint)
    sender = sms_sender()
    assert isinstance(sender, AlibabaSms)
    sender.clock = lambda: NOW
    assert sender.send(notice()).status == "sent"
    assert fake.sent[0]["AccessKeyId"] == KEY_ID


# --- digests and clock names -------------------------------------------------------------------

DIGEST_KEY = "digest:wang-gong:sms:0123456789abcdef"
DIGEST_CASES = "MS-2026-000001, MS-2026-000002, MS-2026-000003"  # 46 characters: too long
DIGEST_ITEM = {
    "template": "clock_breached",
    "case_number": "MS-2026-000001",
    "customer": "威海市商业银行",
    "clock": "progress_report",
    "deadline": "2026-03-02T14:00:00+08:00",
    "breached": True,
}


def digest_notice(locale: str = "zh", **variables: str | int | None) -> Notice:
    values: dict[str, str | int | None] = {
        "count": 4,
        "cases": DIGEST_CASES,
        "breached": 1,
        "earliest_deadline": "2026-03-02T14:00:00+08:00",
    }
    values.update(variables)
    return Notice(
        idempotency_key=DIGEST_KEY,
        channel="sms",
        recipient=Recipient(name="王工", phone="+86 139 0631 0001", locale=locale),  # type: ignore[arg-type]
        template="digest",
        variables={k: v for k, v in values.items() if v is not None},
        items=[DIGEST_ITEM],  # type: ignore[list-item]
    )


DIGEST_SENT = {
    "count": "4",
    "breached": "1",
    "cases": "MS-2026-000001, MS-2026-000002, …",
    "earliest_deadline": "2026-03-02 14:00",
}
DIGEST_TEXTS = {
    "zh": "您有4条SLA时限提醒，其中1条已超时，涉及工单MS-2026-000001, MS-2026-000002, …，"
    "最早截止时间2026-03-02 14:00，请尽快处理。",
    "en": "4 SLA deadline alerts, 1 overdue, cases MS-2026-000001, MS-2026-000002, …; "
    "earliest due 2026-03-02 14:00. Please act now.",
}


@pytest.mark.parametrize("locale", ["zh", "en"])
def test_a_digest_sms_names_the_count_the_cases_and_the_earliest_deadline(locale: str) -> None:
    sms = prepare(digest_notice(locale), load_templates())
    assert sms.text == DIGEST_TEXTS[locale]
    assert sms.params == DIGEST_SENT
    assert sms.truncated == ("cases",)
    assert sms.template_code == {"zh": "SMS_000000007", "en": "SMS_000000008"}[locale]


def test_a_digest_with_few_cases_is_not_cut() -> None:
    n = digest_notice(
        cases="MS-2026-000001,MS-2026-000002", count=2, earliest_deadline="2026-03-02T06:00:00Z"
    )
    sms = prepare(n, load_templates())
    assert sms.params["cases"] == "MS-2026-000001, MS-2026-000002"
    assert sms.params["earliest_deadline"] == "2026-03-02 06:00 UTC+00:00"  # not CST: spelt out
    assert sms.truncated == ()


def test_a_digest_without_its_counts_fails_without_a_request(fake: FakeAlibaba) -> None:
    delivery = gateway(fake).send(digest_notice(breached=None, cases=" "))
    assert delivery.status == "failed"
    assert "breached" in delivery.detail and "cases" in delivery.detail
    assert fake.requests == []


@pytest.mark.parametrize("locale", ["zh", "en"])
def test_a_digest_goes_through_the_gateway_signed(fake: FakeAlibaba, locale: str) -> None:
    delivery = gateway(fake).send(digest_notice(locale))
    assert delivery.status == "sent"  # the fake re-checked the signature and every length
    [params] = fake.sent
    assert params["TemplateCode"] == {"zh": "SMS_000000007", "en": "SMS_000000008"}[locale]
    assert json.loads(params["TemplateParam"]) == DIGEST_SENT
    assert params["OutId"] == DIGEST_KEY


def test_a_digest_is_spooled(tmp_path: Path) -> None:
    delivery = SpoolSms(tmp_path, clock=lambda: NOW).send(digest_notice())
    assert delivery.status == "sent"
    assert delivery.provider_id == "digest%3Awang-gong%3Asms%3A0123456789abcdef.json"
    record = json.loads((tmp_path / str(delivery.provider_id)).read_text("utf-8"))
    assert record["template"] == "digest" and record["template_code"] == "SMS_000000007"
    assert record["variables"] == DIGEST_SENT
    assert record["truncated"] == ["cases"]
    assert record["text"] == DIGEST_TEXTS["zh"]


@pytest.mark.parametrize(
    ("value", "limit", "expected"),
    [
        ("A, B, C", 35, "A, B, C"),
        ("A,B ,  C,,", 35, "A, B, C"),  # separators normalised, blanks dropped
        ("AAAA, BBBB, CCCC", 16, "AAAA, BBBB, CCCC"),  # exactly the limit: not cut
        ("AAAA, BBBB, CCCC", 15, "AAAA, BBBB, …"),
        ("AAAA, BBBB, CCCC", 12, "AAAA, …"),
        ("AAAAAAAAAA, B", 8, "AAAAAAA…"),  # the first alone is too long: cut like truncate
        (DIGEST_CASES, 35, "MS-2026-000001, MS-2026-000002, …"),
    ],
)
def test_list_truncation_keeps_whole_values(value: str, limit: int, expected: str) -> None:
    assert truncate_list(value, limit) == expected
    assert len(expected) <= limit


@pytest.mark.parametrize("kind", typing.get_args(ClockKind))
def test_every_clock_kind_has_an_sms_label(kind: str) -> None:
    labels = load_templates().clock_labels
    assert kind in labels, f"templates.yaml clock-labels lacks {kind}"
    assert set(labels[kind]) == {"zh", "en"}


@pytest.mark.parametrize(
    ("locale", "text"),
    [
        ("zh", "工单MS-2026-000042（威海市商业银行）的custom_clock时限已于2026-03-02 14:00到期"),
        ("en", "Case MS-2026-000042 (威海市商业银行): custom_clock was due at 2026-03-02 14:00"),
    ],
)
def test_an_unknown_clock_kind_is_sent_as_is(locale: str, text: str) -> None:
    sms = prepare(
        notice(template="clock_breached", clock="custom_clock", locale=locale), load_templates()
    )
    assert sms.text.startswith(text)
