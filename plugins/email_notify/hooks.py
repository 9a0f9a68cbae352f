"""Registers the ``email`` notifier: SMTP when ``CASETRACK_SMTP_HOST`` is set, else a spool.

- ``CASETRACK_SMTP_HOST`` set → ``EmailSender`` over SMTP with the ``CASETRACK_SMTP_*``
  settings; ``CASETRACK_SMTP_FROM`` is required.
- ``CASETRACK_SMTP_HOST`` not set → ``SpoolEmail``, the embedded default: each message is
  written as an RFC 5322 ``.eml`` file to ``CASETRACK_EMAIL_SPOOL`` (default
  ``<CASETRACK_VAR_DIR>/mail-spool``, i.e. ``var/mail-spool``), from ``CASETRACK_SMTP_FROM``
  or, when that is unset too, ``casetrack demo <casetrack@localhost.localdomain>``.
  Another ``CASETRACK_SMTP_*`` setting (port, user, STARTTLS...) without the host is a
  ``NotifierConfigError``: it means SMTP was wanted, and spooling would drop the alerts.

Branding: ``CASETRACK_MAIL_COMPANY``, ``CASETRACK_MAIL_HOTLINE`` and ``CASETRACK_MAIL_FOOTER``
fill the templates' ``brand``; ``CASETRACK_MAIL_TEMPLATES`` names a directory whose templates
replace the shipped ones of the same name (docs/notifiers.md).

This changed: the host used to default to 127.0.0.1:25. A deployment relying on a local
MTA must now set ``CASETRACK_SMTP_HOST=127.0.0.1``.

The sender is built on its first ``send``, not when the plugin manager calls the hook: a
contract check or an API process that never sends mail must not need SMTP settings, and
registering never opens a connection nor creates a directory. See docs/notifiers.md.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from functools import cached_property
from pathlib import Path

import jinja2
import msgspec

from core import hookimpl
from plugins.email_notify.sender import (
    Branding,
    Delivery,
    EmailSender,
    Notice,
    NotifierConfigError,
    make_environment,
)
from plugins.email_notify.spool import DEFAULT_SPOOL_SENDER, SpoolEmail

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
# Branding of every message (docs/notifiers.md): Branding field → environment variable
BRANDING_ENVIRONMENT: Mapping[str, str] = {
    "company": "CASETRACK_MAIL_COMPANY",
    "hotline": "CASETRACK_MAIL_HOTLINE",
    "footer": "CASETRACK_MAIL_FOOTER",
}
TEMPLATES_ENVIRONMENT = "CASETRACK_MAIL_TEMPLATES"
SPOOL_ENVIRONMENT = "CASETRACK_EMAIL_SPOOL"
VAR_DIR_ENVIRONMENT = "CASETRACK_VAR_DIR"
_TRUE, _FALSE = {"1", "true", "yes", "on"}, {"0", "false", "no", "off", ""}


class SmtpSettings(msgspec.Struct, frozen=True, kw_only=True):
    """How to reach the SMTP relay. No ``host``: the spool, not SMTP (see ``sender_from_env``)."""

    host: str | None = None
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


def templates_from_env(environ: Mapping[str, str]) -> jinja2.Environment:
    """The templates with ``CASETRACK_MAIL_*`` branding and the override directory, if set."""
    values = {
        field: environ[name].strip()
        for field, name in BRANDING_ENVIRONMENT.items()
        if environ.get(name, "").strip()
    }
    overrides = environ.get(TEMPLATES_ENVIRONMENT, "").strip()
    if overrides and not Path(overrides).is_dir():
        raise NotifierConfigError(
            f"{TEMPLATES_ENVIRONMENT}={overrides!r} is not a directory: it should hold "
            "templates that replace the shipped ones, e.g. zh/_footer.txt"
        )
    return make_environment(
        overrides=Path(overrides) if overrides else None, branding=Branding(**values)
    )


def build_sender(
    settings: SmtpSettings, templates: jinja2.Environment | None = None
) -> EmailSender:
    """The ``EmailSender`` these settings describe (no connection is opened)."""
    if not settings.host:
        raise NotifierConfigError("CASETRACK_SMTP_HOST is not set: no SMTP relay to send to")
    return EmailSender(
        settings.host,
        settings.port,
        sender_address=settings.sender_or_fail(),
        username=settings.user,
        password=settings.password,
        starttls=settings.starttls,
        timeout=settings.timeout,
        local_hostname=settings.helo,
        templates=templates,
    )


def spool_directory(environ: Mapping[str, str]) -> Path:
    """``CASETRACK_EMAIL_SPOOL``, else ``<CASETRACK_VAR_DIR or var>/mail-spool``."""
    spool = environ.get(SPOOL_ENVIRONMENT, "").strip()
    if spool:
        return Path(spool)
    return Path(environ.get(VAR_DIR_ENVIRONMENT, "").strip() or "var") / "mail-spool"


def sender_from_env(environ: Mapping[str, str] | None = None) -> EmailSender | SpoolEmail:
    """SMTP when ``CASETRACK_SMTP_HOST`` is set, else the spool (see the module docstring)."""
    env = os.environ if environ is None else environ
    settings = SmtpSettings.from_env(env)
    templates = templates_from_env(env)
    if settings.host and settings.host.strip():
        return build_sender(settings, templates)
    # SMTP settings without a host: someone wanted SMTP (perhaps the old 127.0.0.1 default)
    smtp_only = [
        name
        for field, name in ENVIRONMENT.items()
        if field not in ("host", "sender") and env.get(name, "").strip()
    ]
    if smtp_only:
        raise NotifierConfigError(
            f"{', '.join(smtp_only)} set but CASETRACK_SMTP_HOST is not: set the SMTP host "
            "(CASETRACK_SMTP_HOST=127.0.0.1 for a local MTA, the old default) or unset them "
            "to spool e-mail to files"
        )
    return SpoolEmail(
        spool_directory(env),
        sender_address=settings.sender or DEFAULT_SPOOL_SENDER,
        templates=templates,
    )


class LazyEmailSender:
    """Reads the settings and builds the sender (SMTP or spool) on the first ``send``."""

    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        self._environ = environ

    def __repr__(self) -> str:
        return "LazyEmailSender(CASETRACK_SMTP_*, CASETRACK_EMAIL_SPOOL)"

    @cached_property
    def sender(self) -> EmailSender | SpoolEmail:
        return sender_from_env(self._environ)

    def send(self, notice: Notice) -> Delivery:
        """Delegates to the sender's ``send``; a configuration error raises NotifierConfigError."""
        return self.sender.send(notice)


@hookimpl
def register_notifiers(register: Callable[..., None]) -> None:
    """``register("email", sender)``; the sender reads the environment when it first sends."""
    register(CHANNEL, LazyEmailSender())
