"""The notifier interface (Notice → Delivery) and its SMTP implementation, ``EmailSender``."""

from __future__ import annotations

import contextlib
import email.policy
import hashlib
import re
import smtplib
import ssl
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from email.header import Header
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr
from pathlib import Path
from typing import Any

import jinja2
import msgspec

from core.errors import NaiveDatetimeError
from core.notify import (
    LOCALES,
    Delivery,
    Locale,
    Notice,
    NoticeTemplateError,
    Notifier,
    NotifierError,
    Recipient,
    TransientDeliveryError,
    Variable,
)

# --- the notifier interface lives in core.notify; re-exported here for existing imports ------

__all__ = [
    "LOCALES",
    "Delivery",
    "Locale",
    "Notice",
    "NoticeTemplateError",
    "Notifier",
    "NotifierError",
    "Recipient",
    "TransientDeliveryError",
    "Variable",
]


class InvalidAddress(NotifierError, ValueError):
    """An e-mail address fails the simple check of ``is_valid_address``."""

    title = "invalid e-mail address"


class NotifierConfigError(NotifierError, ValueError):
    """The channel's settings are missing or invalid (e.g. no sender address)."""

    title = "notifier configuration error"


# --- addresses -------------------------------------------------------------------------------

# Deliberately simple (documented in docs/notifiers.md): a dot-atom local part and an ASCII
# domain of at least two labels. Quoted local parts, IP literals and internationalised
# addresses are rejected: none occur in our contacts, and SMTPUTF8 is not negotiated.
_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_ADDRESS = re.compile(rf"{_ATOM}(?:\.{_ATOM})*@{_LABEL}(?:\.{_LABEL})+")


def is_valid_address(address: str) -> bool:
    """True for a plain ``local@domain.tld`` address within RFC 5321's length limits."""
    local, _, _ = address.partition("@")
    # fullmatch, not match + "$": "$" would accept a trailing newline (header injection)
    return len(address) <= 254 and len(local) <= 64 and _ADDRESS.fullmatch(address) is not None


def _one_line(text: str) -> str:
    """Collapse whitespace, newlines included, so no value can start a new header line."""
    return " ".join(text.split())


def parse_sender(sender: str) -> Address:
    """``"铭升服务台 <servicedesk@example.cn>"`` or a bare address → an ``Address``."""
    name, addr = parseaddr(sender)
    if not addr or not is_valid_address(addr):
        raise NotifierConfigError(f"invalid sender address {sender!r} (want name <a@b.example>)")
    return Address(display_name=_one_line(name), addr_spec=addr)


def message_id(idempotency_key: str, domain: str) -> str:
    """A Message-ID derived from the key: a retried send repeats it, so receivers de-duplicate.

    Hashed because keys may hold characters a Message-ID cannot.
    """
    digest = hashlib.sha256(idempotency_key.encode("utf-8")).hexdigest()[:32]
    return f"<{digest}.casetrack@{domain}>"


# --- templates -------------------------------------------------------------------------------

TEMPLATES = Path(__file__).resolve().parent / "templates"
CONTENT_LANGUAGE: Mapping[str, str] = {"zh": "zh-CN", "en": "en"}
_TEMPLATE_NAME = re.compile(r"[a-z][a-z0-9_]*")


class Rendered(msgspec.Struct, frozen=True, kw_only=True):
    """A notice's texts in the recipient's language."""

    subject: str
    text: str
    html: str | None = None


def _when(value: object) -> str:
    """An ISO 8601 instant as people read it, with its offset: ``2026-03-05 14:00 (UTC+08:00)``."""
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        raise NoticeTemplateError(f"not an ISO 8601 date-time: {value!r}") from None
    if moment.tzinfo is None:
        # a deadline without an offset is ambiguous for a reader in another zone
        raise NoticeTemplateError(f"date-time without a UTC offset: {value!r}")
    offset = moment.strftime("%z")
    return f"{moment:%Y-%m-%d %H:%M} (UTC{offset[:3]}:{offset[3:5]})"


class Branding(msgspec.Struct, frozen=True, kw_only=True):
    """Who the mail says it comes from: the templates' ``brand`` (docs/notifiers.md).

    A field left None shows the shipped text of the recipient's language (the company name
    and the "sent automatically" line); ``hotline`` None shows no hotline line.
    """

    company: str | None = None
    hotline: str | None = None
    footer: str | None = None


def make_environment(
    directory: Path = TEMPLATES,
    *,
    overrides: Path | None = None,
    branding: Branding | None = None,
) -> jinja2.Environment:
    """Jinja2 set up for notices: strict variables, autoescape for ``.html`` only.

    ``overrides`` is a directory searched before ``directory``: a template there (same
    relative name, e.g. ``zh/_footer.txt``) replaces the shipped one. ``branding`` is the
    ``brand`` every template sees.
    """
    searched = [directory] if overrides is None else [overrides, directory]
    env = jinja2.Environment(
        loader=jinja2.ChoiceLoader([jinja2.FileSystemLoader(d) for d in searched]),
        undefined=jinja2.StrictUndefined,  # a missing variable is an error, never blank text
        autoescape=jinja2.select_autoescape(enabled_extensions=("html",), default=False),
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["when"] = _when
    env.globals["brand"] = branding or Branding()
    return env


_ENV = make_environment()


def _template(env: jinja2.Environment, name: str) -> jinja2.Template | None:
    try:
        return env.get_template(name)
    except jinja2.TemplateNotFound as exc:
        if exc.name != name:  # an include inside the template is missing: a broken template
            raise NoticeTemplateError(f"e-mail template {name}: {exc.message}") from exc
        return None


def _render(template: jinja2.Template, context: Mapping[str, Any]) -> str:
    try:
        return template.render(context)
    except jinja2.TemplateError as exc:
        raise NoticeTemplateError(f"e-mail template {template.name}: {exc.message}") from exc


DIGEST = "digest"
BREACH_TEMPLATE = "clock_breached"


def _instant(value: object) -> datetime | None:
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        return None
    return moment if moment.utcoffset() is not None else None


def digest_items(items: Sequence[Mapping[str, Variable]]) -> list[dict[str, Variable]]:
    """A digest's members as its templates list them: breaches first, then by deadline.

    Each is a copy of the member's variables plus ``breach``: true when the member is a
    ``clock_breached`` notice or its clock is already ``breached``. The sort is stable; a
    deadline that is not an aware ISO 8601 date-time sorts last here and fails in the
    template's ``when`` filter.
    """
    listed: list[dict[str, Variable]] = []
    for item in items:
        breach = item.get("template") == BREACH_TEMPLATE or item.get("breached") in (True, 1)
        listed.append({**item, "breach": breach})
    far = datetime.max.replace(tzinfo=UTC)

    def order(item: Mapping[str, Variable]) -> tuple[bool, datetime]:
        return (not item["breach"], _instant(item.get("deadline")) or far)

    return sorted(listed, key=order)


def render(notice: Notice, *, html: bool = True, env: jinja2.Environment | None = None) -> Rendered:
    """Subject, plain text and (if a template exists and ``html``) HTML for ``notice``.

    Templates live in ``templates/<locale>/<template>.{subject.txt,txt,html}``; the context
    is the notice's variables plus ``recipient``, ``lang`` and ``items`` (reserved names):
    ``items`` are the digest's members (``digest_items``), empty for any other notice.
    """
    env = env or _ENV
    locale = notice.recipient.locale
    if locale not in LOCALES:
        raise NoticeTemplateError(f"unsupported locale {locale!r} (supported: en, zh)")
    if not _TEMPLATE_NAME.fullmatch(notice.template):
        raise NoticeTemplateError(f"invalid template name {notice.template!r}")
    base = f"{locale}/{notice.template}"
    subject, text = _template(env, f"{base}.subject.txt"), _template(env, f"{base}.txt")
    if subject is None or text is None:
        raise NoticeTemplateError(
            f"no e-mail template {notice.template!r} for locale {locale!r} "
            f"(expected {base}.subject.txt and {base}.txt)"
        )
    if notice.template == DIGEST and not notice.items:
        raise NoticeTemplateError("a digest notice needs its members in Notice.items")
    context = {
        **notice.variables,
        "items": digest_items(notice.items),
        "recipient": notice.recipient,
        "lang": CONTENT_LANGUAGE[locale],
    }
    html_template = _template(env, f"{base}.html") if html else None
    return Rendered(
        subject=_one_line(_render(subject, context)),
        text=_render(text, context),
        html=None if html_template is None else _render(html_template, context),
    )


# --- SMTP --------------------------------------------------------------------------------------

# 7bit: non-ASCII bodies get base64 or quoted-printable, so no server needs 8BITMIME; headers
# are RFC 2047-encoded (utf8=False), so none needs SMTPUTF8. CRLF line ends as SMTP wants.
# refold_source="none": the values set_raw() stores below are sent exactly as folded here.
MESSAGE_POLICY = email.policy.SMTP.clone(cte_type="7bit", refold_source="none")

# Subjects and display names are encoded and folded with `email.header.Header`, not by the
# policy: the policy's folder can drop the whitespace next to an encoded word (CPython
# gh-144156: "到期 — 威海" arrives as "到期— 威海") and, folding a long display name, can
# drop the quotes around one with a comma ("Sun, Zhigang" becomes two addresses). Header
# encodes the whole value, spaces and specials included, so folding loses nothing.
_PLAIN_NAME = re.compile(r"[A-Za-z0-9]+(?: [A-Za-z0-9]+)*")  # needs neither quotes nor encoding


def _encode_words(value: str, header: str) -> str:
    return Header(value, "utf-8", header_name=header).encode(linesep="\r\n")


def _set_subject(message: EmailMessage, subject: str) -> None:
    if subject.isascii():
        message["Subject"] = subject  # ASCII folds at spaces, no encoded words involved
    else:
        message.set_raw("Subject", _encode_words(subject, "Subject"))


def _set_address(message: EmailMessage, header: str, name: str, addr_spec: str) -> None:
    """``Name <addr>``: a plain short name as is, any other one as RFC 2047 encoded words."""
    name = _one_line(name)
    if not name:
        message.set_raw(header, addr_spec)
        return
    if _PLAIN_NAME.fullmatch(name) and len(f"{header}: {name} <{addr_spec}>") <= 78:
        message.set_raw(header, f"{name} <{addr_spec}>")
        return
    encoded = _encode_words(name, header)
    last = encoded.rsplit("\r\n", 1)[-1]
    used = len(last) + (len(header) + 2 if last == encoded else 0)
    # the address may go on a continuation line: folding white space is allowed before "<"
    fold = " " if used + len(addr_spec) + 3 <= 78 else "\r\n "
    message.set_raw(header, f"{encoded}{fold}<{addr_spec}>")


def compose_message(
    notice: Notice,
    *,
    sender: Address,
    clock: Callable[[], datetime],
    html: bool = True,
    templates: jinja2.Environment | None = None,
) -> EmailMessage:
    """The complete message for ``notice`` from ``sender``: what SMTP sends and the spool keeps.

    Raises ``InvalidAddress`` for a bad recipient address, ``NoticeTemplateError`` when the
    notice cannot be rendered and ``NaiveDatetimeError`` when ``clock`` returns a naive time.
    """
    address = notice.recipient.email or ""
    if not is_valid_address(address):
        raise InvalidAddress(f"invalid recipient address {address!r}")
    rendered = render(notice, html=html, env=templates)
    now = clock()
    if now.tzinfo is None or now.utcoffset() is None:
        raise NaiveDatetimeError("the e-mail clock must return an aware datetime")
    message = EmailMessage(policy=MESSAGE_POLICY)
    _set_subject(message, rendered.subject)
    _set_address(message, "From", sender.display_name, sender.addr_spec)
    _set_address(message, "To", notice.recipient.name, address)
    message["Date"] = format_datetime(now)
    message["Message-ID"] = message_id(notice.idempotency_key, sender.domain)
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834: auto-responders stay quiet
    message.set_content(rendered.text)
    if rendered.html is not None:
        message.add_alternative(rendered.html, subtype="html")
    for part in notice.attachments:
        maintype, _, subtype = part.content_type.partition("/")
        message.add_attachment(
            part.payload(),
            maintype=maintype or "application",
            subtype=subtype or "octet-stream",
            filename=_one_line(part.filename),
        )
    # after the content: set_content() clears every Content-* header already there
    message["Content-Language"] = CONTENT_LANGUAGE[notice.recipient.locale]
    return message


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _text(reply: bytes | str) -> str:
    return reply.decode("utf-8", "replace") if isinstance(reply, bytes) else reply


class ComposingSender:
    """What both e-mail senders share: the message composed from the templates, and an
    address no retry can fix refused before anything is sent."""

    sender: Address
    clock: Callable[[], datetime]
    html: bool
    templates: jinja2.Environment | None = None  # None: the shipped templates, no branding

    def compose(self, notice: Notice) -> EmailMessage:
        """The complete message for ``notice`` (also for previews); raises NotifierError."""
        return compose_message(
            notice, sender=self.sender, clock=self.clock, html=self.html, templates=self.templates
        )

    def prepare(self, notice: Notice) -> tuple[str, EmailMessage, str] | Delivery:
        """(address, message, Message-ID), or a failed Delivery for an invalid address (fixing
        the contact is a person's job). A template error raises."""
        address = notice.recipient.email or ""
        if not is_valid_address(address):
            return Delivery(status="failed", detail=f"invalid e-mail address {address!r}")
        message = self.compose(notice)
        return address, message, str(message["Message-ID"])


class EmailSender(ComposingSender):
    """Sends notices over SMTP; one connection per notice (alerts are few, workers retry).

    ``send`` returns a ``Delivery`` for outcomes it can classify and raises
    ``TransientDeliveryError`` when a later attempt may succeed.
    """

    def __init__(
        self,
        host: str,
        port: int,
        *,
        sender_address: str,
        username: str | None = None,
        password: str | None = None,
        starttls: bool = False,
        timeout: float = 10,
        clock: Callable[[], datetime] = _utc_now,
        tls_context: ssl.SSLContext | None = None,
        local_hostname: str | None = None,
        html: bool = True,
        templates: jinja2.Environment | None = None,
    ) -> None:
        self.host = host
        self.port = port
        self.sender = parse_sender(sender_address)
        self.username = username
        self._password = password
        self.starttls = starttls
        self.timeout = timeout
        self.clock = clock
        self.tls_context = tls_context
        self.local_hostname = local_hostname
        self.html = html
        self.templates = templates

    def __repr__(self) -> str:  # never the password
        return f"EmailSender({self.host}:{self.port}, from={self.sender.addr_spec!r})"

    def send(self, notice: Notice) -> Delivery:
        """Deliver ``notice`` to the SMTP server; see the class docstring for the outcomes."""
        prepared = self.prepare(notice)
        if isinstance(prepared, Delivery):
            return prepared
        address, message, provider_id = prepared
        where = f"{self.host}:{self.port}"
        try:
            reply = self._transmit(message, address)
        except smtplib.SMTPRecipientsRefused as exc:
            code, text = exc.recipients.get(address, (0, b"recipient refused"))
            detail = f"{where} refused {address}: {code} {_text(text)}"
            return _refused(code, detail, provider_id, exc)
        except smtplib.SMTPResponseException as exc:
            detail = f"{where}: {exc.smtp_code} {_text(exc.smtp_error)}"
            return _refused(exc.smtp_code, detail, provider_id, exc)
        except smtplib.SMTPServerDisconnected as exc:  # includes a timeout waiting for a reply
            raise TransientDeliveryError(f"{where}: {exc}") from exc
        except smtplib.SMTPException as exc:
            # no STARTTLS or AUTH offered although configured: waiting does not change that
            return Delivery(status="failed", detail=f"{where}: {exc}", provider_id=provider_id)
        except ssl.SSLCertVerificationError as exc:
            return Delivery(status="failed", detail=f"{where}: {exc}", provider_id=provider_id)
        except OSError as exc:  # refused, unreachable, timed out: the server may be back later
            raise TransientDeliveryError(f"{where}: {exc}") from exc
        return Delivery(status="sent", detail=f"{where}: {reply}", provider_id=provider_id)

    def _transmit(self, message: EmailMessage, to_addr: str) -> str:
        """One SMTP session delivering ``message``; returns the server's reply to DATA."""
        smtp = smtplib.SMTP(
            self.host, self.port, local_hostname=self.local_hostname, timeout=self.timeout
        )
        polite = False  # QUIT only on a healthy connection: a dead one would wait out a timeout
        try:
            reply = self._converse(smtp, message.as_bytes(), to_addr)
            polite = True
            return reply
        except (smtplib.SMTPResponseException, smtplib.SMTPRecipientsRefused):
            polite = True  # the server answered: end the session properly
            raise
        finally:
            if polite:
                with contextlib.suppress(OSError):  # smtplib's errors are OSErrors too
                    smtp.quit()
            smtp.close()

    def _converse(self, smtp: smtplib.SMTP, payload: bytes, to_addr: str) -> str:
        smtp.ehlo_or_helo_if_needed()
        if self.starttls:
            smtp.starttls(context=self.tls_context or ssl.create_default_context())
            smtp.ehlo()  # the capabilities before TLS no longer count
        if self.username is not None:
            smtp.login(self.username, self._password or "")
        # mail/rcpt/data rather than sendmail(): only data() returns the server's final reply
        # (e.g. "250 2.0.0 Ok: queued as 4Fz1xY"), which is what a mail log search needs
        code, text = smtp.mail(self.sender.addr_spec)
        if code != 250:
            raise smtplib.SMTPSenderRefused(code, text, self.sender.addr_spec)
        code, text = smtp.rcpt(to_addr)
        if code not in (250, 251):
            raise smtplib.SMTPRecipientsRefused({to_addr: (code, text)})
        code, text = smtp.data(payload)
        if code != 250:
            raise smtplib.SMTPDataError(code, text)
        return f"{code} {_text(text)}"


def _refused(code: int, detail: str, provider_id: str, cause: Exception) -> Delivery:
    """A 5xx is final (failed); anything else, 4xx above all, is worth another attempt."""
    if 500 <= code < 600:
        return Delivery(status="failed", detail=detail, provider_id=provider_id)
    raise TransientDeliveryError(detail, code=code) from cause
