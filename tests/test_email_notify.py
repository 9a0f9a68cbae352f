"""The e-mail notifier against a real local SMTP server (aiosmtpd): rendering, MIME, outcomes."""

from __future__ import annotations

import email
import email.policy
import os
import re
import socket
import ssl
import stat
import typing
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.header import decode_header, make_header
from email.message import EmailMessage
from ipaddress import IPv4Address
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from hypothesis import given, settings
from hypothesis import strategies as st

from core.contract import ClockKind
from core.errors import NaiveDatetimeError
from core.plugins import collect_named, make_plugin_manager
from plugins.email_notify.hooks import LazyEmailSender, SmtpSettings, sender_from_env
from plugins.email_notify.sender import (
    Delivery,
    EmailSender,
    InvalidAddress,
    Notice,
    NoticeTemplateError,
    NotifierConfigError,
    Recipient,
    TransientDeliveryError,
    is_valid_address,
    make_environment,
    message_id,
    render,
)
from plugins.email_notify.spool import DEFAULT_SPOOL_SENDER, SpoolEmail, spool_name

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 3, 5, 13, 20, tzinfo=SHANGHAI)
DESK = "铭升服务台 <servicedesk@mingsheng.example.cn>"
CUSTOMER = "威海市商业银行环翠支行"
CASE = "MS-2026-000042"
DEADLINE = "2026-03-05T14:00:00+08:00"
QUEUED = "250 2.0.0 Ok: queued as CT0042"


# --- a real SMTP server that records what it accepts -----------------------------------------


# mailbox → the server's reply to RCPT TO (any other mailbox is accepted)
RCPT_REPLIES = {"gone": "550 5.1.1 mailbox unavailable", "busy": "451 4.3.0 try again later"}
# mailbox → the server's reply to the end of DATA
DATA_REPLIES = {
    "spam": "554 5.6.0 message content rejected",
    "full": "452 4.3.1 insufficient system storage",
}


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    raw: bytes

    @property
    def message(self) -> EmailMessage:
        return email.message_from_bytes(self.raw, policy=email.policy.default)  # type: ignore[return-value]


@dataclass
class Recorder:
    """An aiosmtpd handler: answers by recipient mailbox, keeps every message it accepts."""

    received: list[Received] = field(default_factory=list)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        reply = RCPT_REPLIES.get(address.partition("@")[0])
        if reply is not None:
            return reply
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server, session, envelope):
        for address in envelope.rcpt_tos:
            reply = DATA_REPLIES.get(address.partition("@")[0])
            if reply is not None:
                return reply
        self.received.append(
            Received(envelope.mail_from, list(envelope.rcpt_tos), envelope.content)
        )
        return QUEUED


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[Recorder, int]]:
    recorder = Recorder()
    port = free_port()
    controller = Controller(recorder, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield recorder, port
    finally:
        controller.stop()


@pytest.fixture
def smtp(server: tuple[Recorder, int]) -> tuple[Recorder, int]:
    recorder, port = server
    recorder.received.clear()
    return recorder, port


def make_sender(port: int, **kwargs: object) -> EmailSender:
    kwargs.setdefault("clock", lambda: NOW)
    kwargs.setdefault("timeout", 2)
    return EmailSender(
        "127.0.0.1", port, sender_address=DESK, local_hostname="casetrack.test", **kwargs
    )


def notice(
    *,
    to: str = "sun.zhigang@whccb.example.cn",
    name: str = "孙志刚",
    locale: str = "zh",
    template: str = "clock_warning",
    key: str = "case:42:clock:first_response:level:1:user:7",
    **variables: object,
) -> Notice:
    values: dict[str, object] = {
        "case_number": CASE,
        "customer": CUSTOMER,
        "priority": "P1",
        "clock": "first_response",
        "deadline": DEADLINE,
        "level": 1,
        "link": f"https://casetrack.example.cn/cases/{CASE}",
    }
    values.update(variables)
    return Notice(
        idempotency_key=key,
        channel="email",
        recipient=Recipient(name=name, email=to, locale=locale),  # type: ignore[arg-type]
        template=template,
        variables={k: v for k, v in values.items() if v is not None},  # type: ignore[misc]
    )


def only(recorder: Recorder) -> EmailMessage:
    assert len(recorder.received) == 1
    return recorder.received[0].message


# --- successful delivery -----------------------------------------------------------------------


def test_chinese_warning_is_delivered_with_decoded_headers(smtp: tuple[Recorder, int]) -> None:
    recorder, port = smtp
    delivery = make_sender(port).send(notice(summary="核心交换机端口频繁 down", elapsed="80%"))

    assert delivery.status == "sent"
    assert delivery.detail == f"127.0.0.1:{port}: {QUEUED}"
    received = recorder.received[0]
    assert received.mail_from == "servicedesk@mingsheng.example.cn"
    assert received.rcpt_tos == ["sun.zhigang@whccb.example.cn"]
    assert received.raw.isascii()  # RFC 2047 headers, base64/QP bodies: no SMTPUTF8 needed
    assert b"=?utf-8?" in received.raw

    message = only(recorder)
    assert message["Subject"] == f"[{CASE}] 首次响应时限即将到期 — {CUSTOMER}"
    (sender,) = message["From"].addresses
    assert (sender.display_name, sender.addr_spec) == (
        "铭升服务台",
        "servicedesk@mingsheng.example.cn",
    )
    (to,) = message["To"].addresses
    assert (to.display_name, to.addr_spec) == ("孙志刚", "sun.zhigang@whccb.example.cn")
    assert message["Date"].datetime == NOW
    assert message["Message-ID"] == delivery.provider_id
    assert message["Content-Language"] == "zh-CN"
    assert message["Auto-Submitted"] == "auto-generated"

    text = message.get_body(preferencelist=("plain",)).get_content()
    assert "孙志刚，您好" in text
    assert f"工单 {CASE}（{CUSTOMER}）的首次响应时限即将到期" in text
    assert "截止时间：2026-03-05 14:00 (UTC+08:00)" in text
    assert "问题摘要：核心交换机端口频繁 down" in text
    assert "已用时限：80%" in text
    assert f"查看工单：https://casetrack.example.cn/cases/{CASE}" in text
    html = message.get_body(preferencelist=("html",)).get_content()
    assert f"<strong>{CASE}</strong>" in html
    assert '<html lang="zh-CN">' in html


def test_english_breach_notice(smtp: tuple[Recorder, int]) -> None:
    recorder, port = smtp
    delivery = make_sender(port).send(
        notice(
            to="li.na@whccb.example.cn",
            name="Li Na",
            locale="en",
            template="clock_breached",
            clock="onsite_arrival",
            level=3,
        )
    )
    assert delivery.status == "sent"
    message = only(recorder)
    assert message["Subject"] == f"[{CASE}] On-site arrival deadline missed — {CUSTOMER}"
    assert message["Content-Language"] == "en"
    assert str(message["To"]) == "Li Na <li.na@whccb.example.cn>"
    text = message.get_body(preferencelist=("plain",)).get_content()
    assert text.startswith("Dear Li Na,")
    assert f"case {CASE} ({CUSTOMER}) passed at 2026-03-05 14:00 (UTC+08:00)" in text
    assert "Escalation:  level 3" in text


@pytest.mark.parametrize(
    ("locale", "subject"),
    [
        ("zh", f"[{CASE}] 工单已升级至第 2 级 — {CUSTOMER}"),
        ("en", f"[{CASE}] Escalated to level 2 — {CUSTOMER}"),
    ],
)
def test_escalation_notice_needs_no_clock(
    smtp: tuple[Recorder, int], locale: str, subject: str
) -> None:
    recorder, port = smtp
    sent = make_sender(port).send(
        notice(locale=locale, template="escalated", level=2, clock=None, deadline=None)
    )
    assert sent.status == "sent"
    assert only(recorder)["Subject"] == subject


def test_a_retry_repeats_the_message_id_so_receivers_can_deduplicate(
    smtp: tuple[Recorder, int],
) -> None:
    recorder, port = smtp
    times = iter([NOW, NOW + timedelta(minutes=5), NOW + timedelta(minutes=10)])
    sender = make_sender(port, clock=lambda: next(times))

    first = sender.send(notice())
    retry = sender.send(notice())
    other = sender.send(notice(key="case:42:clock:first_response:level:2:user:7"))

    ids = [r.message["Message-ID"] for r in recorder.received]
    dates = [r.message["Date"].datetime for r in recorder.received]
    assert ids[0] == ids[1] == first.provider_id == retry.provider_id
    assert ids[2] != ids[0] and ids[2] == other.provider_id
    assert ids[0].endswith("@mingsheng.example.cn>")
    assert dates == [NOW, NOW + timedelta(minutes=5), NOW + timedelta(minutes=10)]


def test_message_id_is_derived_from_the_key_only() -> None:
    assert message_id("k 1<>", "a.example") == message_id("k 1<>", "a.example")
    assert message_id("k1", "a.example") != message_id("k2", "a.example")
    assert message_id("k 1<>", "a.example").count("<") == 1  # the key is hashed, not pasted


def test_html_is_escaped_and_headers_cannot_be_injected(smtp: tuple[Recorder, int]) -> None:
    recorder, port = smtp
    sender = make_sender(port)
    sent = sender.send(
        notice(customer="<b>A&B</b>\r\nBcc: evil@attacker.example", name="X\nCc: evil@x.example")
    )
    assert sent.status == "sent"
    assert recorder.received[0].rcpt_tos == ["sun.zhigang@whccb.example.cn"]
    message = only(recorder)
    assert message["Bcc"] is None and message["Cc"] is None
    assert (
        message["Subject"]
        == f"[{CASE}] 首次响应时限即将到期 — <b>A&B</b> Bcc: evil@attacker.example"
    )
    assert message["To"].addresses[0].display_name == "X Cc: evil@x.example"
    html = message.get_body(preferencelist=("html",)).get_content()
    assert "&lt;b&gt;A&amp;B&lt;/b&gt;" in html and "<b>A&B</b>" not in html
    text = message.get_body(preferencelist=("plain",)).get_content()
    assert "<b>A&B</b>" in text  # plain text is never escaped


# Printable text from any script; control characters are collapsed away by design.
ANY_TEXT = st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=80)
ASCII_TEXT = st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=100)


def _unfolded(text: str) -> str:
    return " ".join(text.split())


@settings(max_examples=150, deadline=None)
@given(customer=ASCII_TEXT | ANY_TEXT, name=ASCII_TEXT | ANY_TEXT)
def test_long_headers_fold_without_losing_or_adding_anything(customer: str, name: str) -> None:
    # CPython's folder loses spaces next to encoded words and quotes around long names; the
    # sender encodes subjects and display names itself so that neither happens
    raw = make_sender(25).compose(notice(customer=customer, name=name)).as_bytes()
    head = raw.split(b"\r\n\r\n", 1)[0]
    assert head.isascii() and max(len(line) for line in head.split(b"\r\n")) <= 78
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    assert parsed["Subject"] == _unfolded(f"[{CASE}] 首次响应时限即将到期 — {customer}")
    assert [a.addr_spec for a in parsed["To"].addresses] == ["sun.zhigang@whccb.example.cn"]
    # the modern parser puts a space between a display name's encoded words, so the name is
    # checked with the RFC 2047 decoder proper
    legacy = email.message_from_bytes(raw, policy=email.policy.compat32)
    address = "sun.zhigang@whccb.example.cn"
    shown = f"{_unfolded(name)} <{address}>" if _unfolded(name) else address
    assert str(make_header(decode_header(legacy["To"]))) == shown


@pytest.mark.parametrize(
    "name",
    [
        "孙志刚（威海市商业银行环翠支行信息科技部 IT 经理，值班电话见通讯录）",
        'Sun, Zhigang "IT" (on call) ' + "z" * 70,
    ],
)
def test_a_long_display_name_survives_folding(name: str) -> None:
    raw = make_sender(25).compose(notice(name=name)).as_bytes()
    legacy = email.message_from_bytes(raw, policy=email.policy.compat32)
    assert "\n " in legacy["To"]  # folded
    assert str(make_header(decode_header(legacy["To"]))) == (
        f"{name} <sun.zhigang@whccb.example.cn>"
    )
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    assert len(parsed["To"].addresses) == 1  # the comma did not split it in two


def test_html_part_can_be_turned_off(smtp: tuple[Recorder, int]) -> None:
    recorder, port = smtp
    make_sender(port, html=False).send(notice())
    message = only(recorder)
    assert message.get_content_type() == "text/plain"


# --- classified failures -----------------------------------------------------------------------


def test_rejected_recipient_is_a_permanent_failure(smtp: tuple[Recorder, int]) -> None:
    recorder, port = smtp
    delivery = make_sender(port).send(notice(to="gone@whccb.example.cn"))
    assert delivery.status == "failed"
    assert "550 5.1.1 mailbox unavailable" in delivery.detail
    assert "gone@whccb.example.cn" in delivery.detail
    assert recorder.received == []


def test_rejected_content_is_a_permanent_failure(smtp: tuple[Recorder, int]) -> None:
    _, port = smtp
    delivery = make_sender(port).send(notice(to="spam@whccb.example.cn"))
    assert delivery == Delivery(
        status="failed",
        detail=f"127.0.0.1:{port}: 554 5.6.0 message content rejected",
        provider_id=delivery.provider_id,
    )


@pytest.mark.parametrize(
    ("mailbox", "reply", "code"),
    [("busy", "451 4.3.0 try again later", 451), ("full", "452 4.3.1 insufficient", 452)],
)
def test_4xx_replies_are_transient(
    smtp: tuple[Recorder, int], mailbox: str, reply: str, code: int
) -> None:
    recorder, port = smtp
    with pytest.raises(TransientDeliveryError, match=reply) as caught:
        make_sender(port).send(notice(to=f"{mailbox}@whccb.example.cn"))
    assert caught.value.code == code
    assert recorder.received == []


def test_nothing_listening_is_transient() -> None:
    # a bound socket that does not listen: connecting is refused, and no other test can
    # grab the port meanwhile
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
        with pytest.raises(TransientDeliveryError, match="refused"):
            make_sender(port).send(notice())


def test_a_silent_server_times_out_as_transient() -> None:
    # listens (the kernel completes the handshake) but never sends the 220 greeting
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(1)
        port = silent.getsockname()[1]
        with pytest.raises(TransientDeliveryError, match="timed out"):
            make_sender(port, timeout=0.2).send(notice())


def test_invalid_recipient_address_fails_without_connecting(smtp: tuple[Recorder, int]) -> None:
    recorder, port = smtp
    delivery = make_sender(port).send(notice(to="孙志刚@whccb"))
    assert delivery == Delivery(status="failed", detail="invalid e-mail address '孙志刚@whccb'")
    with pytest.raises(InvalidAddress):
        make_sender(port).compose(notice(to="no-at-sign"))
    assert recorder.received == []


# --- template errors are typed and never transient ----------------------------------------


def test_missing_variable_is_a_template_error(smtp: tuple[Recorder, int]) -> None:
    recorder, port = smtp
    with pytest.raises(NoticeTemplateError, match="'case_number' is undefined") as caught:
        make_sender(port).send(notice(case_number=None))
    assert not isinstance(caught.value, TransientDeliveryError)
    assert "zh/clock_warning.subject.txt" in caught.value.detail
    assert recorder.received == []


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"template": "overdue_party"}, "no e-mail template 'overdue_party' for locale 'zh'"),
        ({"template": "../../etc/passwd"}, "invalid template name"),
        ({"locale": "ja"}, "unsupported locale 'ja'"),
        ({"deadline": "2026-03-05 14:00"}, "without a UTC offset"),
        ({"deadline": "tomorrow"}, "not an ISO 8601 date-time"),
    ],
)
def test_unrenderable_notices_are_template_errors(changes: dict, message: str) -> None:
    with pytest.raises(NoticeTemplateError, match=message):
        render(notice(**changes))


def test_every_template_renders_in_both_locales() -> None:
    for locale in ("zh", "en"):
        for template in ("clock_warning", "clock_breached", "escalated"):
            rendered = render(notice(locale=locale, template=template))
            assert rendered.subject.startswith(f"[{CASE}] ") and "\n" not in rendered.subject
            assert CASE in rendered.text and rendered.html is not None


def test_the_clock_must_be_aware() -> None:
    with pytest.raises(NaiveDatetimeError):
        make_sender(25, clock=lambda: datetime(2026, 3, 5, 13, 20)).compose(notice())


# --- addresses ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "address",
    ["sun.zhigang@whccb.example.cn", "it+alerts@example.com", "a@b.cn", "o'brien@x-y.example"],
)
def test_valid_addresses(address: str) -> None:
    assert is_valid_address(address)


@pytest.mark.parametrize(
    "address",
    [
        "",
        "plain",
        "a@localhost",  # single-label domain
        "孙志刚@whccb.example.cn",  # no SMTPUTF8
        "a..b@example.cn",
        ".a@example.cn",
        "a@-example.cn",
        '"quoted"@example.cn',
        "a@[127.0.0.1]",
        "a b@example.cn",
        "a@example.cn\n",
        "a@example.cn>, b@example.cn",
        "x" * 65 + "@example.cn",
    ],
)
def test_invalid_addresses(address: str) -> None:
    assert not is_valid_address(address)


def test_sender_address_is_checked_when_constructed() -> None:
    with pytest.raises(NotifierConfigError, match="invalid sender address"):
        EmailSender("127.0.0.1", 25, sender_address="servicedesk")
    assert make_sender(25).sender.display_name == "铭升服务台"
    assert "secret" not in repr(make_sender(25, username="u", password="secret"))


# --- STARTTLS and AUTH -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Recorder, int, bytes]]:
    """A server that requires STARTTLS before AUTH, with a throwaway cert for 127.0.0.1."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=1))
        .not_valid_after(now + timedelta(hours=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(IPv4Address("127.0.0.1"))]), False
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_pem = cert.public_bytes(serialization.Encoding.PEM)
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    tmp = tmp_path_factory.mktemp("tls")
    (tmp / "cert.pem").write_bytes(cert_pem)
    (tmp / "key.pem").write_bytes(key_pem)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(tmp / "cert.pem", tmp / "key.pem")

    def authenticate(server, session, envelope, mechanism, auth_data) -> AuthResult:
        ok = isinstance(auth_data, LoginPassword) and auth_data == (b"desk", b"s3cret")
        return AuthResult(success=ok, handled=False)  # handled=False: aiosmtpd sends the 535

    recorder = Recorder()
    port = free_port()
    controller = Controller(
        recorder,
        hostname="127.0.0.1",
        port=port,
        tls_context=context,
        require_starttls=True,
        authenticator=authenticate,
        auth_required=True,
    )
    controller.start()
    try:
        yield recorder, port, cert_pem
    finally:
        controller.stop()


def test_starttls_and_login(tls_server: tuple[Recorder, int, bytes]) -> None:
    recorder, port, cert_pem = tls_server
    trust = ssl.create_default_context(cadata=cert_pem.decode())
    sender = make_sender(port, starttls=True, tls_context=trust, username="desk", password="s3cret")
    assert sender.send(notice()).status == "sent"
    assert recorder.received[-1].message["Subject"].startswith(f"[{CASE}]")

    wrong = make_sender(port, starttls=True, tls_context=trust, username="desk", password="x")
    failed = wrong.send(notice())
    assert failed.status == "failed" and "535" in failed.detail  # no retry fixes a password

    untrusted = make_sender(port, starttls=True, username="desk", password="s3cret")
    refused = untrusted.send(notice())
    assert refused.status == "failed" and "CERTIFICATE_VERIFY_FAILED" in refused.detail

    plain = make_sender(port, username="desk", password="s3cret")  # STARTTLS forgotten
    assert plain.send(notice()).status == "failed"


# --- the hook and its settings -----------------------------------------------------------------


SMTP_VARIABLES = (
    "CASETRACK_SMTP_HOST",
    "CASETRACK_SMTP_PORT",
    "CASETRACK_SMTP_FROM",
    "CASETRACK_SMTP_USER",
    "CASETRACK_SMTP_PASSWORD",
    "CASETRACK_SMTP_STARTTLS",
    "CASETRACK_SMTP_TIMEOUT",
    "CASETRACK_SMTP_HELO",
)


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in (*SMTP_VARIABLES, "CASETRACK_EMAIL_SPOOL", "CASETRACK_VAR_DIR"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_hook_register_notifiers_email_is_lazy_and_reads_the_environment(
    clean_env: pytest.MonkeyPatch, smtp: tuple[Recorder, int]
) -> None:
    recorder, port = smtp
    pm = make_plugin_manager(load_entrypoints=False, disabled=[])
    notifiers = collect_named(pm, "register_notifiers")
    assert "email" in notifiers
    email_sender = notifiers["email"]
    assert isinstance(email_sender, LazyEmailSender)

    # registered before the settings exist: they are read on the first send, and with an
    # SMTP host the sender address is required
    clean_env.setenv("CASETRACK_SMTP_HOST", "127.0.0.1")
    with pytest.raises(NotifierConfigError, match="CASETRACK_SMTP_FROM is not set"):
        email_sender.send(notice())

    clean_env.setenv("CASETRACK_SMTP_PORT", str(port))
    clean_env.setenv("CASETRACK_SMTP_FROM", DESK)
    clean_env.setenv("CASETRACK_SMTP_HELO", "casetrack.test")
    fresh = collect_named(
        make_plugin_manager(load_entrypoints=False, disabled=[]), "register_notifiers"
    )
    assert fresh["email"].send(notice(locale="en")).status == "sent"
    message = only(recorder)
    assert message["From"].addresses[0].addr_spec == "servicedesk@mingsheng.example.cn"
    assert "deadline approaching" in message["Subject"]


def test_hook_register_notifiers_email_can_be_disabled() -> None:
    pm = make_plugin_manager(load_entrypoints=False, disabled=["email_notify"])
    assert "email" not in collect_named(pm, "register_notifiers")


def test_smtp_settings_defaults_and_parsing() -> None:
    assert SmtpSettings.from_env({}) == SmtpSettings()
    assert (SmtpSettings().host, SmtpSettings().port) == (None, 25)  # no host: the spool
    settings = SmtpSettings.from_env(
        {
            "CASETRACK_SMTP_HOST": "smtp.mingsheng.example.cn",
            "CASETRACK_SMTP_PORT": "587",
            "CASETRACK_SMTP_FROM": DESK,
            "CASETRACK_SMTP_USER": "desk",
            "CASETRACK_SMTP_PASSWORD": "s3cret",
            "CASETRACK_SMTP_STARTTLS": "Yes",
            "CASETRACK_SMTP_TIMEOUT": "2.5",
        }
    )
    assert (settings.port, settings.starttls, settings.timeout) == (587, True, 2.5)
    assert "s3cret" not in repr(settings) and "s3cret" not in str(settings)
    with pytest.raises(NotifierConfigError, match="STARTTLS"):
        SmtpSettings.from_env({"CASETRACK_SMTP_STARTTLS": "maybe"})
    with pytest.raises(NotifierConfigError, match="port"):
        SmtpSettings.from_env({"CASETRACK_SMTP_PORT": "smtp"})


# --- digests: several notices to one person in one message -------------------------------------

ITEM_DEFAULTS: dict[str, object] = {
    "summary": "",
    "priority": "P2",
    "contract_id": "WH-CCB-2026",
    "level": 1,
    "at": "80%",
    "urgent": False,
}
DIGEST_ITEMS: list[dict[str, object]] = [
    ITEM_DEFAULTS
    | {
        "template": "clock_warning",
        "case_number": "MS-2026-000001",
        "customer": "文登农商行",
        "summary": "核心交换机端口频繁 down",
        "clock": "first_response",
        "deadline": "2026-03-05T07:00:00+00:00",
        "due_at": "2026-03-05T06:00:00+00:00",
        "breached": False,
    },
    ITEM_DEFAULTS
    | {
        "template": "clock_warning",
        "case_number": "MS-2026-000002",
        "customer": CUSTOMER,
        "clock": "mystery_clock",  # a kind the labels do not know: shown as is
        "deadline": "2026-03-05T13:30:00+08:00",  # 05:30 UTC: before the first one
        "due_at": "2026-03-05T05:00:00+00:00",
        "breached": False,
    },
    ITEM_DEFAULTS
    | {
        "template": "clock_breached",
        "case_number": "MS-2026-000002",
        "customer": CUSTOMER,
        "priority": "P1",
        "clock": "progress_report",
        "level": 2,
        "at": "100%",
        "deadline": "2026-03-05T08:00:00+00:00",  # the latest, but a breach: listed first
        "due_at": "2026-03-05T08:00:00+00:00",
        "breached": True,
    },
]
DIGEST_VARIABLES: dict[str, object] = {
    "count": 3,
    "cases": "MS-2026-000001, MS-2026-000002",
    "breached": 1,
    "earliest_deadline": "2026-03-05T13:30:00+08:00",
}


def digest_notice(
    *,
    locale: str = "zh",
    items: list[dict[str, object]] | None = None,
    key: str = "digest:sun-zhigang:email:0123456789abcdef",
    **variables: object,
) -> Notice:
    values = DIGEST_VARIABLES | variables
    return Notice(
        idempotency_key=key,
        channel="email",
        recipient=Recipient(name="孙志刚", email="sun.zhigang@whccb.example.cn", locale=locale),  # type: ignore[arg-type]
        template="digest",
        variables={k: v for k, v in values.items() if v is not None},  # type: ignore[misc]
        items=DIGEST_ITEMS if items is None else items,  # type: ignore[arg-type]
    )


# what each item must show, in the order the digest lists them: the breach first, then by
# deadline (13:30+08:00 is 05:30 UTC, before 07:00 UTC)
DIGEST_SHOWN = {
    "zh": {
        "subject": "[SLA] 3 项时限提醒，1 项已超时 — MS-2026-000001, MS-2026-000002",
        "rows": [
            ("已超时", "MS-2026-000002", CUSTOMER, "进展上报", "2026-03-05 08:00 (UTC+00:00)"),
            (
                "即将到期",
                "MS-2026-000002",
                CUSTOMER,
                "mystery_clock",
                "2026-03-05 13:30 (UTC+08:00)",
            ),
            (
                "即将到期",
                "MS-2026-000001",
                "文登农商行",
                "首次响应",
                "2026-03-05 07:00 (UTC+00:00)",
            ),
        ],
        "intro": "以下 3 项 SLA 时限需要您关注，其中 1 项已超时。"
        "最早的截止时间为 2026-03-05 13:30 (UTC+08:00)。",
        "summary": "问题摘要：核心交换机端口频繁 down",
    },
    "en": {
        "subject": "[SLA] 3 deadline alerts, 1 missed — MS-2026-000001, MS-2026-000002",
        "rows": [
            (
                "Missed",
                "MS-2026-000002",
                CUSTOMER,
                "Progress report",
                "2026-03-05 08:00 (UTC+00:00)",
            ),
            (
                "Approaching",
                "MS-2026-000002",
                CUSTOMER,
                "mystery_clock",
                "2026-03-05 13:30 (UTC+08:00)",
            ),
            (
                "Approaching",
                "MS-2026-000001",
                "文登农商行",
                "First response",
                "2026-03-05 07:00 (UTC+00:00)",
            ),
        ],
        "intro": "3 SLA deadlines need your attention; 1 of them has been missed. "
        "The earliest deadline is 2026-03-05 13:30 (UTC+08:00).",
        "summary": "Summary:     核心交换机端口频繁 down",
    },
}


def _positions(text: str, row: tuple[str, ...], start: int) -> int:
    """Where ``row``'s values appear in ``text``, in order, from ``start``; the last one's end."""
    at = start
    for value in row:
        found = text.find(value, at)
        assert found >= 0, f"{value!r} missing after position {at}"
        at = found + len(value)
    return at


@pytest.mark.parametrize("locale", ["zh", "en"])
def test_a_digest_lists_every_case_and_clock_breaches_first(
    smtp: tuple[Recorder, int], locale: str
) -> None:
    recorder, port = smtp
    delivery = make_sender(port).send(digest_notice(locale=locale))
    assert delivery.status == "sent"
    message = only(recorder)
    shown = DIGEST_SHOWN[locale]
    assert message["Subject"] == shown["subject"]
    assert message["Content-Language"] == CONTENT_LANGUAGES[locale]
    assert message["Message-ID"] == message_id(
        "digest:sun-zhigang:email:0123456789abcdef", "mingsheng.example.cn"
    )
    text = message.get_body(preferencelist=("plain",)).get_content()
    html = message.get_body(preferencelist=("html",)).get_content()
    for body in (text, html):
        assert shown["intro"] in re.sub(r"<[^>]+>", "", body)
        at = 0
        for row in shown["rows"]:  # each row's state, case, customer, clock and deadline, in order
            at = _positions(body, row, at)
    assert shown["summary"] in text
    assert html.count("<tr") == 4  # a header row and one per item


def test_a_digest_without_breaches_says_none_missed() -> None:
    items = [item for item in DIGEST_ITEMS if item["template"] == "clock_warning"]
    for locale, breach_words in (("zh", "已超时"), ("en", "missed")):
        rendered = render(digest_notice(locale=locale, items=items, count=2, breached=0))
        assert breach_words not in rendered.subject.lower()
        assert breach_words not in rendered.text.lower()
        assert rendered.subject.startswith("[SLA] 2 ")


def test_a_clock_warning_whose_clock_already_breached_is_listed_as_a_breach() -> None:
    late = DIGEST_ITEMS[0] | {"breached": True}  # a warning row written after the breach
    rendered = render(digest_notice(locale="en", items=[DIGEST_ITEMS[1], late]))
    assert "[Missed] Case MS-2026-000001" in rendered.text
    assert rendered.text.index("MS-2026-000001") < rendered.text.index("MS-2026-000002")


@pytest.mark.parametrize(
    ("notice_", "says"),
    [
        (digest_notice(items=[]), "needs its members in Notice.items"),
        (
            digest_notice(items=[{k: v for k, v in DIGEST_ITEMS[0].items() if k != "customer"}]),
            "customer",
        ),
        (digest_notice(earliest_deadline=None), "earliest_deadline"),
        (
            digest_notice(items=[DIGEST_ITEMS[0] | {"deadline": "2026-03-05 07:00"}]),
            "without a UTC offset",
        ),
    ],
)
def test_an_incomplete_digest_is_a_template_error(notice_: Notice, says: str) -> None:
    with pytest.raises(NoticeTemplateError, match=says):
        render(notice_)


CONTENT_LANGUAGES = {"zh": "zh-CN", "en": "en"}


# --- clock names -------------------------------------------------------------------------------


def _clock_name(locale: str, kind: str) -> str:
    env = make_environment()
    source = f'{{% from "{locale}/_labels.txt" import clock_name %}}{{{{ clock_name(kind) }}}}'
    return env.from_string(source).render(kind=kind)


@pytest.mark.parametrize("kind", typing.get_args(ClockKind))
def test_every_clock_kind_has_a_name_in_both_locales(kind: str) -> None:
    for locale in ("zh", "en"):
        assert _clock_name(locale, kind) not in ("", kind), f"{locale}/_labels.txt lacks {kind}"


def test_the_progress_report_clock_is_named() -> None:
    assert (_clock_name("zh", "progress_report"), _clock_name("en", "progress_report")) == (
        "进展上报",
        "Progress report",
    )


@pytest.mark.parametrize(
    ("locale", "subject"),
    [
        ("zh", f"[{CASE}] custom_clock时限即将到期 — {CUSTOMER}"),
        ("en", f"[{CASE}] custom_clock deadline approaching — {CUSTOMER}"),
    ],
)
def test_an_unknown_clock_kind_is_shown_as_is(locale: str, subject: str) -> None:
    rendered = render(notice(locale=locale, clock="custom_clock"))
    assert rendered.subject == subject
    assert "custom_clock" in rendered.text and rendered.html is not None
    assert "custom_clock" in rendered.html


# --- the spool: the embedded default without an SMTP host --------------------------------------


def make_spool(directory: Path, **kwargs: object) -> SpoolEmail:
    kwargs.setdefault("clock", lambda: NOW)
    kwargs.setdefault("sender_address", DESK)
    return SpoolEmail(directory, **kwargs)  # type: ignore[arg-type]


def _same_boundaries(raw: bytes) -> bytes:
    """The MIME boundary is random per message: make it one fixed string to compare."""
    return re.sub(rb"={15}\d+==", b"=BOUNDARY=", raw)


def test_the_spool_writes_the_bytes_smtp_would_carry(
    smtp: tuple[Recorder, int], tmp_path: Path
) -> None:
    recorder, port = smtp
    over_smtp = make_sender(port).send(notice(summary="核心交换机端口频繁 down"))
    spool = make_spool(tmp_path / "mail")
    assert not (tmp_path / "mail").exists()  # built without I/O
    spooled = spool.send(notice(summary="核心交换机端口频繁 down"))

    [path] = (tmp_path / "mail").iterdir()
    assert path.name == spool_name("case:42:clock:first_response:level:1:user:7")
    assert path.name == "case%3A42%3Aclock%3Afirst_response%3Alevel%3A1%3Auser%3A7.eml"
    raw = path.read_bytes()
    assert _same_boundaries(raw) == _same_boundaries(recorder.received[0].raw)
    assert raw.isascii() and b"\r\n" in raw and b"\n" not in raw.replace(b"\r\n", b"")

    message = email.message_from_bytes(raw, policy=email.policy.default)
    assert message["Subject"] == f"[{CASE}] 首次响应时限即将到期 — {CUSTOMER}"
    assert str(message["From"]) == "铭升服务台 <servicedesk@mingsheng.example.cn>"
    assert message["To"].addresses[0].addr_spec == "sun.zhigang@whccb.example.cn"
    assert message["Date"].datetime == NOW
    assert message["Auto-Submitted"] == "auto-generated"
    assert message["Message-ID"] == spooled.provider_id == over_smtp.provider_id
    text = message.get_body(preferencelist=("plain",)).get_content()
    assert "问题摘要：核心交换机端口频繁 down" in text
    assert (
        spooled.status == "sent"
        and spooled.detail == f"spooled to {path} (no SMTP host configured)"
    )
    assert stat.S_IMODE(path.stat().st_mode) == 0o600  # addresses and case details


def test_the_spool_sends_a_key_once(tmp_path: Path) -> None:
    times = iter([NOW, NOW + timedelta(minutes=5), NOW + timedelta(minutes=10)])
    spool = make_spool(tmp_path, clock=lambda: next(times))
    first = spool.send(notice())
    [path] = tmp_path.iterdir()
    written = path.read_bytes()

    retry = spool.send(notice(summary="changed on the retry"))
    assert retry.status == "sent" and retry.detail.startswith("already spooled to")
    assert retry.provider_id == first.provider_id
    assert list(tmp_path.iterdir()) == [path] and path.read_bytes() == written  # untouched

    other = spool.send(notice(key="case:42:clock:first_response:level:2:user:7"))
    assert other.provider_id != first.provider_id
    assert len(list(tmp_path.iterdir())) == 2


def test_the_spool_refuses_what_smtp_would_refuse(tmp_path: Path) -> None:
    spool = make_spool(tmp_path / "mail")
    assert spool.send(notice(to="孙志刚@whccb")) == Delivery(
        status="failed", detail="invalid e-mail address '孙志刚@whccb'"
    )
    with pytest.raises(NoticeTemplateError, match="'case_number' is undefined"):
        spool.send(notice(case_number=None))
    with pytest.raises(NotifierConfigError, match="invalid sender address"):
        SpoolEmail(tmp_path, sender_address="casetrack")
    assert not (tmp_path / "mail").exists()


def test_an_unwritable_spool_is_transient(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(TransientDeliveryError, match="mail spool"):
        make_spool(blocker / "mail").send(notice())


def test_a_failed_write_leaves_no_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def full_disk(src: object, dst: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", full_disk)
    with pytest.raises(TransientDeliveryError, match="No space left"):
        make_spool(tmp_path).send(notice())
    assert list(tmp_path.iterdir()) == []  # no temporary file, and nothing counts as sent
    monkeypatch.undo()
    assert make_spool(tmp_path).send(notice()).detail.startswith("spooled to")


def test_a_reader_never_sees_a_message_being_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[list[str]] = []
    rename = os.replace

    def watched(src: str, dst: str) -> None:  # the moment before the file gets its name
        seen.append(sorted(p.name for p in tmp_path.glob("*.eml")))
        rename(src, dst)

    monkeypatch.setattr(os, "replace", watched)
    make_spool(tmp_path).send(notice())
    assert seen == [[]]  # the written bytes sat under a name no "*.eml" reader picks up
    assert [p.suffix for p in tmp_path.iterdir()] == [".eml"]


def test_a_digest_is_spooled_like_any_notice(tmp_path: Path) -> None:
    delivery = make_spool(tmp_path).send(digest_notice(locale="en"))
    [path] = tmp_path.iterdir()
    assert path.name == "digest%3Asun-zhigang%3Aemail%3A0123456789abcdef.eml"
    message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    assert message["Subject"] == DIGEST_SHOWN["en"]["subject"]
    assert message["Message-ID"] == delivery.provider_id


MAIL_KEYS = ["a/b", "a%2Fb", "..", ".a", "%2Ea", "x" * 300, "工单 42"]


@pytest.mark.parametrize("key", MAIL_KEYS)
def test_mail_spool_names_are_safe_and_distinct(key: str) -> None:
    name = spool_name(key)
    assert "/" not in name and name.endswith(".eml") and len(name.encode()) <= 255
    assert not name.startswith(".")  # no hidden messages; dot files are temporaries
    assert name not in {spool_name(other) for other in MAIL_KEYS if other != key}


# --- the switch between SMTP and the spool -----------------------------------------------------


def test_without_an_smtp_host_the_hook_spools_with_a_demo_sender(
    clean_env: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    clean_env.chdir(tmp_path)
    sender = collect_named(
        make_plugin_manager(load_entrypoints=False, disabled=[]), "register_notifiers"
    )["email"]
    assert not (tmp_path / "var").exists()  # registering does no I/O
    delivery = sender.send(notice())
    assert delivery.status == "sent"
    [path] = (tmp_path / "var" / "mail-spool").iterdir()
    message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    assert (
        str(message["From"])
        == DEFAULT_SPOOL_SENDER
        == ("casetrack demo <casetrack@localhost.localdomain>")
    )
    assert message["Message-ID"] == delivery.provider_id
    assert delivery.provider_id == message_id(
        "case:42:clock:first_response:level:1:user:7", "localhost.localdomain"
    )


def test_the_spool_directory_and_sender_come_from_the_environment(tmp_path: Path) -> None:
    spool = sender_from_env({"CASETRACK_VAR_DIR": str(tmp_path / "state")})
    assert isinstance(spool, SpoolEmail)
    assert spool.directory == tmp_path / "state" / "mail-spool"
    assert spool.sender.addr_spec == "casetrack@localhost.localdomain"
    spool = sender_from_env(
        {
            "CASETRACK_VAR_DIR": str(tmp_path / "state"),
            "CASETRACK_EMAIL_SPOOL": str(tmp_path / "outbox"),
            "CASETRACK_SMTP_FROM": DESK,
            "CASETRACK_SMTP_HOST": "  ",  # blank is unset
        }
    )
    assert isinstance(spool, SpoolEmail)
    assert spool.directory == tmp_path / "outbox"
    assert spool.sender.addr_spec == "servicedesk@mingsheng.example.cn"
    assert sender_from_env({}).directory == Path("var/mail-spool")  # type: ignore[union-attr]


def test_with_an_smtp_host_the_sender_is_smtp_and_needs_a_sender_address() -> None:
    smtp_sender = sender_from_env(
        {"CASETRACK_SMTP_HOST": "smtp.mingsheng.example.cn", "CASETRACK_SMTP_FROM": DESK}
    )
    assert isinstance(smtp_sender, EmailSender)
    assert (smtp_sender.host, smtp_sender.port) == ("smtp.mingsheng.example.cn", 25)
    with pytest.raises(NotifierConfigError, match="CASETRACK_SMTP_FROM is not set"):
        sender_from_env({"CASETRACK_SMTP_HOST": "127.0.0.1"})


@pytest.mark.parametrize(
    "setting", ["CASETRACK_SMTP_PORT", "CASETRACK_SMTP_USER", "CASETRACK_SMTP_STARTTLS"]
)
def test_smtp_settings_without_a_host_are_a_configuration_error(setting: str) -> None:
    value = {"CASETRACK_SMTP_PORT": "587", "CASETRACK_SMTP_STARTTLS": "true"}.get(setting, "desk")
    with pytest.raises(NotifierConfigError, match=f"{setting} set but CASETRACK_SMTP_HOST is not"):
        sender_from_env({setting: value, "CASETRACK_SMTP_FROM": DESK})


# --- branding: settings and a template override directory, no edits inside the package -------


def test_branding_comes_from_the_settings_over_real_smtp(smtp: tuple[Recorder, int]) -> None:
    recorder, port = smtp
    sender = sender_from_env(
        {
            "CASETRACK_SMTP_HOST": "127.0.0.1",
            "CASETRACK_SMTP_PORT": str(port),
            "CASETRACK_SMTP_FROM": DESK,
            "CASETRACK_MAIL_COMPANY": "港湾网络服务中心",
            "CASETRACK_MAIL_HOTLINE": "400-820-1234",
            "CASETRACK_MAIL_FOOTER": "本邮件由系统发送，服务监督电话 0631-5551234。",
        }
    )
    assert sender.send(notice()).status == "sent"
    message = recorder.received[-1].message
    text = message.get_body(preferencelist=("plain",)).get_content().replace("\r\n", "\n")
    html = message.get_body(preferencelist=("html",)).get_content().replace("\r\n", "\n")
    assert text.endswith(
        "-- \n港湾网络服务中心\n服务热线：400-820-1234\n"
        "本邮件由系统发送，服务监督电话 0631-5551234。\n"
    )
    assert "港湾网络服务中心 · 服务热线 400-820-1234 · 本邮件由系统发送" in html
    for shipped in ("铭升", "Mingsheng", "请勿直接回复"):
        assert shipped not in text and shipped not in html


def test_branding_unset_keeps_the_shipped_footer_in_both_languages(tmp_path: Path) -> None:
    spool = sender_from_env({"CASETRACK_EMAIL_SPOOL": str(tmp_path)})
    zh, en = (spool.compose(notice(locale=locale)) for locale in ("zh", "en"))
    zh_text = zh.get_body(preferencelist=("plain",)).get_content().replace("\r\n", "\n")
    en_text = en.get_body(preferencelist=("plain",)).get_content().replace("\r\n", "\n")
    assert zh_text.endswith(
        "-- \n铭升 IT 服务台（威海）\n"
        "此邮件由 casetrack 系统自动发送，请勿直接回复；如有疑问请联系服务台。\n"
    )
    assert "Mingsheng IT Service Desk, Weihai\nThis message was sent automatically" in en_text
    assert "热线" not in zh_text and "Hotline" not in en_text


def test_a_template_override_directory_replaces_shipped_templates(tmp_path: Path) -> None:
    overrides = tmp_path / "mail-templates"
    (overrides / "en").mkdir(parents=True)
    (overrides / "en" / "_footer.txt").write_text(
        "-- \nHarbour Networks Ltd · {{ brand.hotline }}\n", encoding="utf-8"
    )
    (overrides / "en" / "clock_warning.subject.txt").write_text(
        "Harbour SLA: {{ case_number }} due {{ deadline | when }}\n", encoding="utf-8"
    )
    spool = sender_from_env(
        {
            "CASETRACK_EMAIL_SPOOL": str(tmp_path / "spool"),
            "CASETRACK_MAIL_TEMPLATES": str(overrides),
            "CASETRACK_MAIL_HOTLINE": "+852 2555 0100",
        }
    )
    assert spool.send(notice(locale="en")).status == "sent"
    (written,) = (tmp_path / "spool").glob("*.eml")
    message = email.message_from_bytes(written.read_bytes(), policy=email.policy.default)
    assert message["Subject"] == f"Harbour SLA: {CASE} due 2026-03-05 14:00 (UTC+08:00)"
    text = message.get_body(preferencelist=("plain",)).get_content()  # type: ignore[attr-defined]
    text = text.replace("\r\n", "\n")
    assert text.endswith("-- \nHarbour Networks Ltd · +852 2555 0100\n")
    assert "The first response deadline of case" in text  # not overridden: the shipped body
    # the Chinese templates were not overridden
    zh = spool.compose(notice(locale="zh")).get_body(preferencelist=("plain",)).get_content()
    assert "铭升 IT 服务台（威海）" in zh


def test_a_missing_template_override_directory_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(NotifierConfigError, match="CASETRACK_MAIL_TEMPLATES"):
        sender_from_env({"CASETRACK_MAIL_TEMPLATES": str(tmp_path / "nowhere")})
