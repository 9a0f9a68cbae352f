"""An HTTP client for the shape of Cisco's Support APIs: an OAuth2 client-credentials token,
the Case API v3, the Service Order Return (RMA) API, and a partner service-request call.

What follows Cisco's documentation and what is assumed is listed in docs/rma_cisco.md. The
client turns every way a call can fail into core.rma's errors; the client secret and the
access token never appear in an error's detail, a log line or a repr.
"""

from __future__ import annotations

import email.utils
import json
import logging
import math
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar
from urllib.parse import quote

import httpx
import msgspec

from core.rma import RmaError, VendorRejected, VendorUnavailable

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]
T = TypeVar("T")

TOKEN_MARGIN_SECONDS = 60.0  # renew a token this long before Cisco says it expires
MAX_CASE_IDS = 30  # Case API v3: "cannot exceed 30 IDs" per summary call
DETAIL_CHARS = 200  # how much of Cisco's own error message an error detail quotes


def utc_now() -> datetime:
    return datetime.now(UTC)


class Secret:
    """A credential that prints as ``***``: in reprs, f-strings, logs and tracebacks."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __bool__(self) -> bool:
        return bool(self._value)

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__


# --- Cisco's JSON, decoded strictly enough to name what is missing ---------------------------


class TokenAnswer(msgspec.Struct, frozen=True):
    """The token endpoint's answer (RFC 6749 §5.1, as id.cisco.com sends it)."""

    access_token: str
    expires_in: float
    token_type: str = "Bearer"


class CiscoCase(msgspec.Struct, frozen=True, kw_only=True, rename="upper"):
    """One case (service request) as the Case API v3 lists it."""

    case_number: str
    status: str
    title: str | None = None
    severity: str | None = None
    serial_number: str | None = None
    created_date: str | None = None
    updated_date: str | None = None
    customer_reference: str | None = None  # ours (MS-...), when the case was opened by us
    rmas: list[str] = []  # the RMA numbers booked on the case


class _CaseList(msgspec.Struct, frozen=True, rename="upper"):
    case_summary: list[CiscoCase] = []


class _SummaryResponse(msgspec.Struct, frozen=True, rename="upper"):
    count: int = 0
    cases: _CaseList = _CaseList()


class _SummaryEnvelope(msgspec.Struct, frozen=True, rename="upper"):
    response: _SummaryResponse


class _DetailResponse(msgspec.Struct, frozen=True, rename="upper"):
    case_detail: CiscoCase


class _DetailEnvelope(msgspec.Struct, frozen=True, rename="upper"):
    response: _DetailResponse


class CiscoReturn(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    """One RMA as the Service Order Return API describes it."""

    rma_no: str
    status: str
    case_id: str | None = None
    carrier: str | None = None
    tracking_number: str | None = None
    ship_date: str | None = None
    delivery_date: str | None = None


class _ReturnList(msgspec.Struct, frozen=True):
    RmaRecord: list[CiscoReturn] = []


class _ReturnsEnvelope(msgspec.Struct, frozen=True):
    returns: _ReturnList = _ReturnList()


class OpenCase(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    """The body of the (partner) call that opens a service request with an RMA request."""

    idempotency_key: str
    customer_reference: str
    serial_number: str
    problem_description: str
    severity: int
    ship_to: str
    product_id: str | None = None
    part_number: str | None = None
    contact: str | None = None


class CancelCase(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    reason: str


# --- Retry-After ---------------------------------------------------------------------------


def retry_after_seconds(value: str | None, now: datetime) -> float | None:
    """RFC 9110 §10.2.3: delay-seconds or an HTTP date, as seconds from ``now``; None when
    absent or unreadable (the caller's own back-off applies)."""
    if not value or not value.strip():
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:  # an HTTP date is GMT by definition
            when = when.replace(tzinfo=UTC)
        return max(0.0, (when - now).total_seconds())
    return max(0.0, seconds) if math.isfinite(seconds) else None


# --- the client ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Token:
    value: Secret
    renew_at: datetime


class CiscoSupportClient:
    """Calls Cisco's Support APIs with a cached client-credentials token.

    Blocking I/O: call it from the scheduler's job or a worker, never from a hook. One
    instance is safe to share between threads (one connection pool, one token).
    """

    def __init__(
        self,
        *,
        api_url: str,
        token_url: str,
        client_id: str,
        client_secret: str,
        timeout: float = 10.0,
        clock: Clock = utc_now,
        token_margin_seconds: float = TOKEN_MARGIN_SECONDS,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.api_url = api_url.rstrip("/")
        self.token_url = token_url
        self.client_id = client_id
        self._secret = Secret(client_secret)
        self.timeout = timeout
        self.clock = clock
        self.token_margin = timedelta(seconds=token_margin_seconds)
        self._http = httpx.Client(timeout=timeout, transport=transport)
        self._token: _Token | None = None
        self._token_lock = threading.Lock()

    def __repr__(self) -> str:
        return f"CiscoSupportClient(api_url={self.api_url!r}, client_id={self.client_id!r})"

    def close(self) -> None:
        self._http.close()

    # --- the API calls --------------------------------------------------------------------

    def case_summaries(self, case_ids: Sequence[str]) -> list[CiscoCase]:
        """Case API v3 ``GET /case/v3/cases/case_ids/{ids}``: up to 30 cases in one call;
        Cisco leaves out the ones it does not know."""
        if not case_ids:
            return []
        if len(case_ids) > MAX_CASE_IDS:
            raise ValueError(f"at most {MAX_CASE_IDS} case ids per call, got {len(case_ids)}")
        ids = ",".join(_path_part(case_id) for case_id in case_ids)
        body = self._call(
            "GET", f"/case/v3/cases/case_ids/{ids}?sort_by=UPDATED_DATE", "case summary"
        )
        return _decode(body, _SummaryEnvelope, "case summary").response.cases.case_summary

    def case_details(self, case_id: str) -> CiscoCase:
        """Case API v3 ``GET /case/v3/cases/details/case_id/{id}``; VendorRejected if
        Cisco does not know the case."""
        body = self._call(
            "GET", f"/case/v3/cases/details/case_id/{_path_part(case_id)}", "case details"
        )
        return _decode(body, _DetailEnvelope, "case details").response.case_detail

    def rma_details(self, rma_number: str) -> CiscoReturn:
        """Service Order Return API ``GET /return/v1.0/returns/rma_numbers/{rma}``."""
        body = self._call(
            "GET", f"/return/v1.0/returns/rma_numbers/{_path_part(rma_number)}", "RMA details"
        )
        records = _decode(body, _ReturnsEnvelope, "RMA details").returns.RmaRecord
        for record in records:
            if record.rma_no == rma_number:
                return record
        raise VendorRejected(f"Cisco has no RMA {rma_number}")

    def open_case(self, request: OpenCase) -> CiscoCase:
        """``POST /case/v3/cases`` (partner service-request API, shape assumed): the same
        ``Idempotency-Key`` returns the case it opened the first time."""
        body = self._call(
            "POST",
            "/case/v3/cases",
            "open service request",
            content=msgspec.json.encode(request),
            headers={"Idempotency-Key": request.idempotency_key},
        )
        return _decode(body, _DetailEnvelope, "open service request").response.case_detail

    def cancel_case(self, case_id: str, reason: str) -> CiscoCase:
        """``POST /case/v3/cases/{id}/cancel`` (shape assumed): withdraw the RMA request."""
        body = self._call(
            "POST",
            f"/case/v3/cases/{_path_part(case_id)}/cancel",
            "cancel service request",
            content=msgspec.json.encode(CancelCase(reason=reason)),
        )
        return _decode(body, _DetailEnvelope, "cancel service request").response.case_detail

    # --- HTTP, token and errors -------------------------------------------------------------

    def _call(
        self,
        method: str,
        path: str,
        what: str,
        *,
        content: bytes | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> bytes:
        """One API call; a 401 gets one new token and one retry."""
        for attempt in (1, 2):
            token = self._bearer()
            sent = {"Accept": "application/json", **(headers or {})}
            sent["Authorization"] = f"Bearer {token.value.reveal()}"
            if content is not None:
                sent["Content-Type"] = "application/json"
            response = self._send(method, self.api_url + path, what, content=content, headers=sent)
            if response.status_code == 401 and attempt == 1:
                log.info("Cisco answered 401 to %s: fetching a new token, retrying once", what)
                self._forget(token)
                continue
            return self._checked(response, what)
        raise AssertionError("unreachable")  # pragma: no cover

    def _send(
        self,
        method: str,
        url: str,
        what: str,
        *,
        content: bytes | None = None,
        data: Mapping[str, str] | None = None,
        headers: Mapping[str, str],
    ) -> httpx.Response:
        try:
            return self._http.request(method, url, content=content, data=data, headers=headers)
        except httpx.TimeoutException:
            raise VendorUnavailable(f"Cisco {what}: no answer within {self.timeout:g} s") from None
        except httpx.TransportError as exc:
            raise VendorUnavailable(f"Cisco {what}: unreachable ({type(exc).__name__})") from None

    def _checked(self, response: httpx.Response, what: str) -> bytes:
        code = response.status_code
        if 200 <= code < 300:
            return response.content
        said = self._cisco_says(response)
        if code == 429:
            wait = retry_after_seconds(response.headers.get("Retry-After"), self.clock())
            raise VendorUnavailable(f"Cisco rate-limited {what} (HTTP 429){said}", wait)
        if code >= 500:
            wait = retry_after_seconds(response.headers.get("Retry-After"), self.clock())
            raise VendorUnavailable(f"Cisco failed {what} (HTTP {code}){said}", wait)
        if code in (401, 403):
            raise RmaError(
                f"Cisco refused {what} (HTTP {code}) with a fresh token: the API client"
                f" {self.client_id!r} lacks access to this API{said}"
            )
        raise VendorRejected(f"Cisco refused {what} (HTTP {code}){said}")

    def _cisco_says(self, response: httpx.Response) -> str:
        """``": <Cisco's message>"``, cut short and scrubbed of our credentials, or ``""``."""
        try:
            answer = json.loads(response.content)
        except ValueError:
            return ""
        message = _first_text(answer)
        if not message:
            return ""
        message = " ".join(message.split())[:DETAIL_CHARS]
        return f": {self._scrub(message)}"

    def _scrub(self, text: str) -> str:
        for secret in (self._secret.reveal(), self._token.value.reveal() if self._token else ""):
            if secret:
                text = text.replace(secret, "***")
        return text

    def _bearer(self) -> _Token:
        """The cached token, or a new one when none is cached or it is due for renewal."""
        with self._token_lock:
            token = self._token
            if token is None or self.clock() >= token.renew_at:
                token = self._token = self._fetch_token()
            return token

    def _forget(self, token: _Token) -> None:
        with self._token_lock:
            if self._token is token:  # another thread may already have renewed it
                self._token = None

    def _fetch_token(self) -> _Token:
        if not self.client_id or not self._secret:
            raise RmaError("Cisco API credentials are not set (docs/rma_cisco.md)")
        form = {
            "grant_type": "client_credentials",
            "client_id": self.client_id,
            "client_secret": self._secret.reveal(),
        }
        response = self._send(
            "POST", self.token_url, "token", data=form, headers={"Accept": "application/json"}
        )
        code = response.status_code
        if code in (400, 401):
            raise RmaError(
                f"Cisco's token endpoint refused the client credentials of {self.client_id!r}"
                f" (HTTP {code}{self._oauth_error(response)}): check"
                " CASETRACK_CISCO_TAC_CLIENT_ID and CASETRACK_CISCO_TAC_CLIENT_SECRET"
            )
        self._checked(response, "token")  # 429, 5xx, other 4xx
        answer = _decode(response.content, TokenAnswer, "token")
        if answer.token_type.lower() != "bearer" or not answer.access_token:
            raise RmaError(f"Cisco's token endpoint issued a {answer.token_type!r} token")
        if answer.expires_in <= 0:
            raise RmaError("Cisco's token endpoint issued an already expired token")
        now = self.clock()
        lifetime = timedelta(seconds=answer.expires_in)
        # renew a margin before expiry, but never use less than half of a short lifetime
        renew_after = max(lifetime - self.token_margin, lifetime / 2)
        log.info("fetched a Cisco API token valid for %g s", answer.expires_in)
        return _Token(value=Secret(answer.access_token), renew_at=now + renew_after)

    def _oauth_error(self, response: httpx.Response) -> str:
        """RFC 6749 §5.2's ``error`` code (e.g. ``invalid_client``): a fixed word, safe."""
        try:
            error = json.loads(response.content).get("error")
        except (ValueError, AttributeError):
            return ""
        if isinstance(error, str) and error.replace("_", "").isalpha() and len(error) < 40:
            return f" {error}"
        return ""


def _path_part(value: str) -> str:
    """A case or RMA number as one path segment (Cisco answers 403 to a stray space)."""
    return quote(value.strip(), safe="")


def _first_text(answer: Any) -> str | None:
    """Cisco's error message in the shapes its APIs use."""
    if not isinstance(answer, dict):
        return None
    for key in ("errorMessage", "message", "error_description", "errorSummary", "error"):
        value = answer.get(key)
        if isinstance(value, str) and value.strip():
            return value
        if isinstance(value, dict):
            found = _first_text(value)
            if found:
                return found
    return None


def _decode(body: bytes, kind: type[T], what: str) -> T:
    try:
        return msgspec.json.decode(body, type=kind)
    except msgspec.DecodeError as exc:
        # msgspec names the JSON path and the expected type, never the values
        raise RmaError(f"Cisco's answer to {what} is not what we can read: {exc}") from None
