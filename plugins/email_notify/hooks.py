"""Registers the ``email`` notifier: an SMTP sender configured from ``CASETRACK_SMTP_*``.

The sender is built on its first ``send``, not when the plugin manager calls the hook: a
contract check or an API process that never sends mail must not need SMTP settings, and
registering never opens a connection. See docs/notifiers.md for the settings.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from functools import cached_property

import msgspec

from core import hookimpl
from plugins.email_notify.sender import Delivery, EmailSender, Notice, NotifierConfigError

CHANNEL = "email"
MASK = "******"

# field → environment variable; "from" is a keyword, hence the field name `sender`
ENVIRONMENT: Mapping[str, str] = {
    "host": "CASETRACK_SMTP_HOST",
    "port": "CASETRACK_SMTP_PORT",
    "sender": "CASETRACK_SMTP_FROM",
    "user": "CASETRACK_SMTP_USER",
    "password": "CASETRACK_SMTP_PASSWORD",
    "starttls": "CASETRACK_SMTP_STARTTLS",
    "timeout": "CASETRACK_SMTP_TIMEOUT",
    "helo": "CASETRACK_SMTP_HELO",
}
_TRUE, _FALSE = {"1", "true", "yes", "on"}, {"0", "false", "no", "off", ""}


class SmtpSettings(msgspec.Struct, frozen=True, kw_only=True):
    """How to reach the SMTP relay; defaults suit a local MTA on the same host."""

    host: str = "127.0.0.1"
    port: int = 25
    sender: str | None = None  # "铭升服务台 <servicedesk@example.cn>": required to send
    user: str | None = None
    password: str | None = None
    starttls: bool = False
    timeout: float = 10.0
    helo: str | None = None  # EHLO name; None: the host's FQDN (smtplib's default)

    def __repr__(self) -> str:  # a traceback or log line must not show the password
        password = None if self.password is None else MASK
        return (
            f"SmtpSettings(host={self.host!r}, port={self.port}, sender={self.sender!r}, "
            f"user={self.user!r}, password={password!r}, starttls={self.starttls})"
        )

    __str__ = __repr__

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> SmtpSettings:
        env = os.environ if environ is None else environ
        values: dict[str, object] = {
            field: env[name] for field, name in ENVIRONMENT.items() if name in env
        }
        if "starttls" in values:
            values["starttls"] = _flag(str(values["starttls"]))
        try:
            # strict=False: environment values are strings, "2525" must become an int
            return msgspec.convert(values, cls, strict=False)
        except msgspec.ValidationError as exc:
            raise NotifierConfigError(f"SMTP settings: {exc}") from None

    def sender_or_fail(self) -> str:
        if not self.sender:
            raise NotifierConfigError(
                "CASETRACK_SMTP_FROM is not set: e-mail alerts need a sender address, "
                'e.g. CASETRACK_SMTP_FROM="铭升服务台 <servicedesk@example.cn>"'
            )
        return self.sender


def _flag(text: str) -> bool:
    value = text.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise NotifierConfigError(f"CASETRACK_SMTP_STARTTLS={text!r}: want true or false")


def build_sender(settings: SmtpSettings) -> EmailSender:
    """The ``EmailSender`` these settings describe (no connection is opened)."""
    return EmailSender(
        settings.host,
        settings.port,
        sender_address=settings.sender_or_fail(),
        username=settings.user,
        password=settings.password,
        starttls=settings.starttls,
        timeout=settings.timeout,
        local_hostname=settings.helo,
    )


class LazyEmailSender:
    """Reads the settings and builds the ``EmailSender`` on the first ``send``."""

    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        self._environ = environ

    def __repr__(self) -> str:
        return "LazyEmailSender(CASETRACK_SMTP_*)"

    @cached_property
    def sender(self) -> EmailSender:
        return build_sender(SmtpSettings.from_env(self._environ))

    def send(self, notice: Notice) -> Delivery:
        """Delegates to ``EmailSender.send``; a configuration error raises NotifierConfigError."""
        return self.sender.send(notice)


@hookimpl
def register_notifiers(register: Callable[..., None]) -> None:
    """``register("email", sender)``; the sender reads CASETRACK_SMTP_* when it first sends."""
    register(CHANNEL, LazyEmailSender())
