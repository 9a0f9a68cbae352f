"""Digital China (神州数码) RMA channel: the request goes out as a structured e-mail, the status
comes back in reply e-mails, and the ship promise is computed here (R-SPARE).

- ``open``: one e-mail to ``dc_rma_address`` through the notifier plugins' ``email`` channel:
  a fixed subject ``[RMA open] <our case> key=<idempotency key>``, a plain-text body of
  ``Key: value`` lines and the same fields as a JSON attachment. The Message-ID derives from
  the idempotency key, so a resent request is recognisably the same one.
- ``parse_inbound``: a reply (raw RFC 5322 bytes) → ``RmaUpdate``: status words in Chinese or
  English (已受理/已发货/已签收…, accepted/shipped/delivered…), vendor case number, our case
  number, carrier, waybill and the warehouses holding stock. A JSON part, if any, prevails.
- ``promise``: with stock in a counted warehouse (Beijing or Shanghai by default), the part
  ships by the end of the third business day after the request on the contract's
  ``dc_rma_calendar`` (make-up workdays count, statutory holidays do not); no stock: no
  promise (the desk escalates the case).

Digital China has no status API here: ``polls`` is False and ``status`` is refused.
"""

from __future__ import annotations

import email
import email.policy
import json
import re
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, timedelta
from email.message import EmailMessage
from email.utils import parsedate_to_datetime
from typing import Any

from core.notify import Attachment, Notice, Recipient, TransientDeliveryError
from core.rma import (
    RmaContext,
    RmaError,
    RmaParseError,
    RmaRequest,
    RmaState,
    RmaTicket,
    RmaUpdate,
    ShipPromise,
    VendorRejected,
    VendorUnavailable,
)
from core.settings import Settings

NAME = "digital_china"
TEMPLATE = "rma_request"
ATTACHMENT = "rma-request.json"
SENDER_COMPANY = "铭升 (casetrack)"
CASE_NUMBER = re.compile(r"\b[A-Z][A-Z0-9]{0,15}-\d{4}-\d{6,9}\b")
KEY_IN_SUBJECT = re.compile(r"\bkey=(\S+)")
OUR_TAG = re.compile(r"\[RMA \w+\]")  # our subject's "[RMA open]": not the vendor's word

# "Key: value" labels of a reply, lower-case, by the field they fill
LABELS: dict[str, tuple[str, ...]] = {
    "vendor_case": (
        "vendor-case",
        "vendor case",
        "dc case",
        "rma",
        "rma no",
        "rma no.",
        "rma number",
        "服务单号",
        "rma单号",
        "神州数码单号",
        "厂商单号",
    ),
    "case_number": ("case", "our case", "case number", "我方单号", "客户单号", "案例号"),
    "status": ("status", "state", "状态", "处理状态"),
    "carrier": ("carrier", "courier", "承运商", "快递公司", "物流公司"),
    "waybill": ("waybill", "tracking", "tracking number", "运单号", "快递单号"),
    "stock": ("stock", "warehouse", "库存", "备件库", "仓库"),
    "note": ("note", "备注"),
    "idempotency_key": ("idempotency-key",),
}
_FIELD_OF = {label: name for name, labels in LABELS.items() for label in labels}
_LINE = re.compile(r"^\s*([^:：]{1,40}?)\s*[:：]\s*(.*?)\s*$")

# status words, most final first: "已签收" must not read as "已受理"
STATUS_WORDS: tuple[tuple[RmaState, tuple[str, ...]], ...] = (
    (RmaState.REJECTED, ("已拒绝", "拒绝", "驳回", "rejected", "declined", "refused")),
    (RmaState.CANCELLED, ("已取消", "取消", "cancelled", "canceled")),
    (RmaState.CLOSED, ("已关闭", "已结案", "结案", "已完成", "closed", "completed")),
    (RmaState.DELIVERED, ("已签收", "签收", "已送达", "已到货", "delivered", "arrived")),
    (RmaState.SHIPPED, ("已发货", "已发出", "发货", "shipped", "dispatched", "in transit")),
    (RmaState.OPEN, ("已受理", "受理", "已确认", "accepted", "acknowledged", "confirmed")),
)
WAREHOUSES: dict[str, str] = {
    "北京": "beijing",
    "beijing": "beijing",
    "上海": "shanghai",
    "shanghai": "shanghai",
    "广州": "guangzhou",
    "guangzhou": "guangzhou",
    "天津": "tianjin",
    "tianjin": "tianjin",
    "成都": "chengdu",
    "chengdu": "chengdu",
    "沈阳": "shenyang",
    "shenyang": "shenyang",
    "武汉": "wuhan",
    "wuhan": "wuhan",
    "西安": "xian",
    "xi'an": "xian",
    "xian": "xian",
}
NO_STOCK = ("无", "缺货", "没有", "none", "no stock", "out of stock", "not in stock", "no")
_SEGMENTS = re.compile(r"[,，;；/、|]+")
_ORDINAL = {1: "1st", 2: "2nd", 3: "3rd"}


class DigitalChinaChannel:
    """The ``digital_china`` RmaClient: structured e-mail out, reply e-mails in."""

    name = NAME
    polls = False  # status arrives by e-mail (the mail drop) or from agents

    def __init__(
        self,
        context: RmaContext,
        *,
        address: str,
        calendar: str = "spare-window",
        business_days: int = 3,
        warehouses: Iterable[str] = ("beijing", "shanghai"),
    ) -> None:
        self.context = context
        self.address = address
        self.calendar_name = calendar
        self.business_days = business_days
        self.warehouses = tuple(w.strip().lower() for w in warehouses if w.strip())

    @classmethod
    def from_settings(cls, settings: Settings, context: RmaContext) -> DigitalChinaChannel:
        return cls(
            context,
            address=settings.dc_rma_address,
            calendar=settings.dc_rma_calendar,
            business_days=settings.dc_ship_business_days,
            warehouses=settings.dc_stock_warehouses.split(","),
        )

    def __repr__(self) -> str:
        return f"DigitalChinaChannel(to={self.address!r}, calendar={self.calendar_name!r})"

    # --- the request ------------------------------------------------------------------------

    def open(self, request: RmaRequest, now: datetime) -> RmaTicket:
        """Send the request e-mail; the ticket stays ``requested`` until Digital China replies
        with its case number (and its stock)."""
        fields = request_fields(request, action="open")
        self._send(fields)
        return RmaTicket(
            vendor_case=request.vendor_case,
            state=RmaState.REQUESTED,
            raw_status="request e-mailed",
            note=f"request e-mailed to Digital China ({self.address})",
        )

    def cancel(self, vendor_case: str, reason: str, now: datetime) -> RmaTicket:
        """Withdraw an RMA Digital China confirmed (its case number is known)."""
        fields = {
            "action": "cancel",
            "case_number": "-",
            "idempotency_key": f"cancel:{vendor_case}",
            "vendor_case": vendor_case,
            "reason": _one_line(reason),
            "requested_at": now.astimezone(UTC).isoformat(),
        }
        self._send(fields)
        return RmaTicket(
            vendor_case=vendor_case, state=RmaState.CANCELLED, raw_status="cancel e-mailed"
        )

    def cancel_request(self, request: RmaRequest, reason: str, now: datetime) -> RmaTicket:
        """Withdraw an RMA by its request: quotes our case number and key (works before
        Digital China named its case)."""
        fields = request_fields(request, action="cancel", reason=reason)
        fields["idempotency_key"] = f"{request.idempotency_key}:cancel"
        self._send(fields)
        return RmaTicket(
            vendor_case=request.vendor_case, state=RmaState.CANCELLED, raw_status="cancel e-mailed"
        )

    def status(self, vendor_case: str, now: datetime) -> RmaTicket:
        raise RmaError(
            "Digital China has no status API: its status arrives as reply e-mails (the RMA mail "
            "drop) or is entered by an agent"
        )

    def _send(self, fields: dict[str, str]) -> None:
        notice = Notice(
            idempotency_key=f"rma:{NAME}:{fields['idempotency_key']}",
            channel="email",
            recipient=Recipient(name="Digital China RMA", email=self.address, locale="zh"),
            template=TEMPLATE,
            variables={**fields, "attachment": ATTACHMENT, "sender_company": SENDER_COMPANY},
            attachments=[
                Attachment(
                    filename=ATTACHMENT,
                    content_type="application/json",
                    text=json.dumps(fields, ensure_ascii=False, indent=2, sort_keys=True),
                )
            ],
        )
        try:
            delivery = self.context.send_email(notice)
        except TransientDeliveryError as exc:
            raise VendorUnavailable(f"the RMA e-mail could not be sent yet: {exc}") from None
        if delivery.status != "sent":
            raise VendorRejected(f"the RMA e-mail was refused: {delivery.detail}")

    # --- the promise ------------------------------------------------------------------------

    def promise(
        self, stock: Sequence[str], requested_at: datetime, contract_id: str | None
    ) -> ShipPromise:
        """Ships by the end of the n-th business day after the request when a counted
        warehouse has stock; otherwise no promise."""
        have = [w for w in self.warehouses if w in {s.lower() for s in stock}]
        counted = " or ".join(w.capitalize() for w in self.warehouses)
        if not have:
            listed = ", ".join(stock) or "none"
            return ShipPromise(
                ship_by=None,
                rule=(
                    f"Digital China: no stock in the {counted} warehouse (stock: {listed}), "
                    "so no ship promise; the case is escalated"
                ),
            )
        calendar = self.context.calendar(contract_id, self.calendar_name)
        n = self.business_days
        day = calendar.business_day(requested_at, n)
        spans = calendar.spans_on(day)
        ship_by = spans[-1][1] if spans else datetime.combine(day, datetime.max.time(), calendar.tz)
        local = requested_at.astimezone(calendar.tz)
        counted_days = [calendar.business_day(requested_at, k) for k in range(1, n + 1)]
        return ShipPromise(
            ship_by=ship_by.astimezone(UTC),
            rule=(
                f"Digital China ships by the end of the {_ORDINAL.get(n, f'{n}th')} business "
                f"day after the request (calendar {self.calendar_name}: make-up workdays count, "
                f"statutory holidays do not); stock in {', '.join(have)}; requested "
                f"{local:%a %Y-%m-%d %H:%M}; business days counted: "
                f"{', '.join(_day_label(d) for d in counted_days)}"
                f"{_skipped(calendar, local.date(), day)} → ship by "
                f"{ship_by:%a %Y-%m-%d %H:%M} ({ship_by:%z})"
            ),
        )

    # --- inbound ----------------------------------------------------------------------------

    def parse_inbound(self, message: bytes) -> list[RmaUpdate]:
        """The status changes in one reply e-mail (RmaParseError if none can be read)."""
        return parse_reply(message)


def request_fields(request: RmaRequest, *, action: str, reason: str = "-") -> dict[str, str]:
    """The request's ``Key: value`` fields (one line each, ``-`` for unknown)."""

    def text(value: str | None) -> str:
        return _one_line(value) if value else "-"

    return {
        "action": action,
        "case_number": request.case_number,
        "idempotency_key": request.idempotency_key,
        "serial": text(request.serial),
        "model": text(request.model),
        "part": text(request.part),
        "problem": text(request.problem),
        "ship_to": text(request.ship_to),
        "customer": text(request.customer),
        "contract_id": text(request.contract_id),
        "vendor_case": text(request.vendor_case),
        "reason": text(reason),
        "requested_at": request.requested_at.astimezone(UTC).isoformat(),
    }


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _day_label(day: date) -> str:
    note = " (make-up workday)" if day.weekday() >= 5 else ""
    return f"{day:%a %m-%d}{note}"


def _skipped(calendar: Any, first: date, last: date) -> str:
    """ "; closed: 02-15..02-23 holiday: Spring Festival" for the weekdays the count skipped."""
    closed: list[tuple[date, str]] = []
    day = first + timedelta(days=1)
    while day < last:
        why = calendar.explain_closed(day)
        if why and why.startswith("holiday"):
            closed.append((day, why))
        day += timedelta(days=1)
    if not closed:
        return ""
    runs: list[list[tuple[date, str]]] = []
    for item in closed:
        if runs and runs[-1][-1][1] == item[1] and (item[0] - runs[-1][-1][0]).days == 1:
            runs[-1].append(item)
        else:
            runs.append([item])
    parts = [
        f"{r[0][0]:%m-%d}" + (f"..{r[-1][0]:%m-%d}" if len(r) > 1 else "") + f" {r[0][1]}"
        for r in runs
    ]
    return f"; not counted: {', '.join(parts)}"


# --- reading a reply ------------------------------------------------------------------------------


def parse_reply(raw: bytes) -> list[RmaUpdate]:
    """A Digital China reply (RFC 5322 bytes) → its RMA updates."""
    try:
        message = email.message_from_bytes(raw, policy=email.policy.default)
    except Exception as exc:  # the parser is lenient; anything else is not an e-mail
        raise RmaParseError(f"not an e-mail message: {exc}") from None
    assert isinstance(message, EmailMessage)
    at = _date_of(message)
    subject = _one_line(str(message.get("Subject", "")))
    documents = _json_parts(message)
    if documents:
        return [_update_from(doc, subject, at) for doc in documents]
    text = _plain_text(message)
    fields = _fields(text)
    if "status" not in fields:
        word = _status_word(f"{OUR_TAG.sub('', subject)}\n{_unquoted(text)}")
        if word is not None:
            fields["status"] = word
    return [_update_from(fields, subject, at)]


def _date_of(message: EmailMessage) -> datetime:
    value = message.get("Date")
    if not value:
        raise RmaParseError("the e-mail has no Date header")
    try:
        moment = parsedate_to_datetime(str(value))
    except (TypeError, ValueError):
        raise RmaParseError(f"unreadable Date header {str(value)!r}") from None
    if moment.tzinfo is None:
        raise RmaParseError(f"Date header without a zone: {str(value)!r}")
    return moment.astimezone(UTC)


def _json_parts(message: EmailMessage) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for part in message.walk():
        if part.get_content_type() != "application/json":
            continue
        payload = part.get_payload(decode=True)
        try:
            data = json.loads(payload if isinstance(payload, bytes) else b"")
        except ValueError as exc:
            raise RmaParseError(f"the JSON part is not JSON: {exc}") from None
        if isinstance(data, dict) and data.get("action") in ("open", "cancel"):
            continue  # our own request, quoted back as an attachment
        items = data if isinstance(data, list) else [data]
        found += [item for item in items if isinstance(item, dict)]
    return found


def _plain_text(message: EmailMessage) -> str:
    body = message.get_body(preferencelist=("plain",))
    if body is None:
        body = message.get_body(preferencelist=("html",))
        if body is None:
            raise RmaParseError("the e-mail has no text body")
        return re.sub(r"<[^>]+>", "\n", str(body.get_content()))
    return str(body.get_content())


def _unquoted(text: str) -> str:
    """The reply's own lines: quoted lines (``>``) repeat our request."""
    return "\n".join(line for line in text.splitlines() if not line.lstrip().startswith(">"))


def _fields(text: str) -> dict[str, str]:
    fields: dict[str, str] = {}
    for line in _unquoted(text).splitlines():
        match = _LINE.match(line)
        if match is None:
            continue
        name = _FIELD_OF.get(match.group(1).strip().lower())
        value = match.group(2).strip()
        if name is not None and value and value != "-" and name not in fields:
            fields[name] = value
    return fields


def _status_word(text: str) -> str | None:
    lowered = text.lower()
    for _, words in STATUS_WORDS:
        for word in words:
            if _contains(lowered, word):
                return word
    return None


def _contains(text: str, word: str) -> bool:
    if word.isascii():
        return re.search(rf"\b{re.escape(word)}\b", text) is not None
    return word in text


def state_of(status: str) -> RmaState:
    """The state a status word names (RmaParseError for none)."""
    lowered = status.lower()
    for state, words in STATUS_WORDS:
        if any(_contains(lowered, word) for word in words):
            return state
    try:
        return RmaState(lowered)
    except ValueError:
        raise RmaParseError(f"unknown RMA status {status!r}") from None


def parse_stock(value: Any) -> tuple[str, ...]:
    """ "北京有货, 上海无货" → ("beijing",); "无" or "none" → ()."""
    segments = value if isinstance(value, list) else _SEGMENTS.split(str(value))
    found: list[str] = []
    for segment in (str(s).strip() for s in segments):
        lowered = segment.lower()
        names = [code for word, code in WAREHOUSES.items() if word in lowered]
        negative = any(_contains(lowered, word) for word in NO_STOCK)
        if not names and not negative and lowered:
            names = [lowered]  # a warehouse we do not know by name: kept as written
        if negative:
            continue
        found += [n for n in names if n not in found]
    return tuple(found)


def _update_from(fields: dict[str, Any], subject: str, at: datetime) -> RmaUpdate:
    vendor_case = str(fields.get("vendor_case") or "").strip()
    if not vendor_case:
        raise RmaParseError("the reply names no vendor case number (服务单号 / Vendor-Case)")
    status = str(fields.get("status") or "").strip()
    if not status:
        raise RmaParseError("the reply states no RMA status (状态 / Status)")
    case_number = fields.get("case_number")
    if not case_number or not CASE_NUMBER.fullmatch(str(case_number)):
        match = CASE_NUMBER.search(subject)
        case_number = match.group(0) if match else None
    key = fields.get("idempotency_key")
    if not key:
        match = KEY_IN_SUBJECT.search(subject)
        key = match.group(1) if match else None
    stock = fields.get("stock")
    return RmaUpdate(
        vendor_case=vendor_case[:64],
        state=state_of(status),
        raw_status=status[:64],
        at=at,
        case_number=case_number,
        carrier=_short(fields.get("carrier")),
        waybill=_short(fields.get("waybill")),
        note=_short(fields.get("note"), 200),
        stock=None if stock is None else parse_stock(stock),
        idempotency_key=_short(key, 200),
    )


def _short(value: Any, limit: int = 64) -> str | None:
    return None if value in (None, "") else _one_line(str(value))[:limit]
