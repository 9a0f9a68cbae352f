"""The notifier interface every channel follows: Recipient, Notice → Delivery, and its errors."""

from __future__ import annotations

from typing import Literal, Protocol
from urllib.parse import quote

import msgspec

from core.errors import ServerError

Locale = Literal["zh", "en"]
LOCALES: frozenset[str] = frozenset({"zh", "en"})
Variable = str | int | float | bool | None


class Recipient(msgspec.Struct, frozen=True, kw_only=True):
    """Who is alerted; each channel uses the address it needs (email or phone)."""

    name: str
    email: str | None = None
    phone: str | None = None
    locale: Locale = "zh"


class Attachment(msgspec.Struct, frozen=True, kw_only=True):
    """A file part of an e-mail notice (a vendor RMA request's JSON, a report's PDF)."""

    filename: str
    content_type: str  # "application/json", "text/yaml", "application/pdf"
    text: str = ""  # UTF-8 text content
    data: bytes | None = None  # binary content (a PDF); sent instead of ``text`` when set

    def payload(self) -> bytes:
        return self.data if self.data is not None else self.text.encode("utf-8")


class Notice(msgspec.Struct, frozen=True, kw_only=True):
    """One alert to one recipient on one channel, as the outbox stores and a worker sends it.

    ``idempotency_key`` identifies the alert across retries (e.g. ``case:42:clock:7:level:2:
    user:13``); ``template`` names what is said (``clock_warning``, ``clock_breached``,
    ``escalated``) and ``variables`` fill it in.
    """

    idempotency_key: str
    channel: str
    recipient: Recipient
    template: str
    variables: dict[str, Variable] = {}
    # a digest (template ``digest``): each member notice's template and variables, in order
    items: list[dict[str, Variable]] = []
    # files sent with it (e-mail only; other channels ignore them). Outbox rows have none.
    attachments: list[Attachment] = []


class OutboxRecipient(msgspec.Struct, frozen=True, kw_only=True):
    """Who an outbox row is for, as its ``recipient`` column stores it (these keys, in this
    order). ``id`` and ``role`` say why they were chosen (core.escalation.Recipient); the
    worker sends to ``mobile`` as the Notice's ``phone``."""

    id: str
    name: str
    role: str
    email: str | None
    mobile: str | None
    locale: str


class AlertVariables(msgspec.Struct, frozen=True, kw_only=True):
    """The ``variables`` of a ladder alert (templates ``clock_warning``, ``clock_breached``)
    as the outbox stores them; times are ISO 8601 in the contract's zone."""

    case_number: str
    customer: str
    summary: str
    priority: str
    contract_id: str
    clock: str
    level: int  # counted from 1 (第 1 级)
    at: str  # the rung, e.g. "100% + 2h"
    deadline: str
    due_at: str
    breached: bool
    urgent: bool


class Delivery(msgspec.Struct, frozen=True, kw_only=True):
    """The outcome of one send that the sender could classify.

    ``sent``: the provider accepted it. ``failed``: it never will (rejected recipient, invalid
    address, 5xx); retrying does not help. ``provider_id`` identifies the message at the
    provider (for e-mail the Message-ID, which stays the same across retries).
    """

    status: Literal["sent", "failed"]
    detail: str
    provider_id: str | None = None


class Notifier(Protocol):
    """What ``register_notifiers`` registers for a channel (see docs/notifiers.md).

    ``send`` returns a ``Delivery`` for outcomes it can classify, raises
    ``TransientDeliveryError`` when a later attempt may succeed; any other exception is a bug
    or a misconfiguration and fails the same way on retry.
    """

    def send(self, notice: Notice) -> Delivery: ...


class NotifierError(ServerError):
    """Base of the errors a notifier raises on purpose."""

    title = "notifier error"


class TransientDeliveryError(NotifierError):
    """Delivery failed for now (4xx, refused connection, timeout, rate limit): retry later.

    ``code`` is the protocol status (SMTP or HTTP) when there was one.
    """

    title = "transient delivery failure"

    def __init__(self, detail: str, *, code: int | None = None) -> None:
        super().__init__(detail)
        self.code = code


class NoticeTemplateError(NotifierError, ValueError):
    """The notice cannot be rendered (unknown template or locale, missing variable).

    Retrying the same notice fails the same way, so this is never transient.
    """

    title = "notice template error"


# --- links to the case page -----------------------------------------------------------------------

CASE_PAGE = "/console/cases/{number}"  # the agent console's case page (web/)


def case_link(public_url: str, number: str) -> str:
    """The case page's absolute URL under ``public_url`` ("" when no public URL is set)."""
    if not public_url or not number:
        return ""
    return public_url.rstrip("/") + CASE_PAGE.format(number=quote(number, safe=""))


def with_case_links(notice: Notice, public_url: str) -> Notice:
    """The notice with ``link`` (the case page's URL) in its variables and in each digest
    item that names a case; unchanged when no public URL is set or a link is already there."""
    if not public_url:
        return notice
    variables = _linked(notice.variables, public_url)
    items = [_linked(item, public_url) for item in notice.items]
    return msgspec.structs.replace(notice, variables=variables, items=items)


def _linked(variables: dict[str, Variable], public_url: str) -> dict[str, Variable]:
    number = variables.get("case_number")
    if variables.get("link") or not isinstance(number, str):
        return variables
    return {**variables, "link": case_link(public_url, number)}
