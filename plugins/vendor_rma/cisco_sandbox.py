"""A local stand-in for Cisco's Support APIs: real HTTP on 127.0.0.1, the JSON shapes
casetrack's cisco_tac channel speaks, and a check of every request it receives.

This is a test double of the API's *shape* as docs/rma_cisco.md describes it (documented
parts and assumed parts alike), not Cisco: nothing here proves that Cisco answers the same.
Tests, the demo and bench/rma.py use it. It keeps the cases and RMAs it opened, can advance
them (``advance(case, "shipped")``), records the requests it received (credentials
redacted), and can be scripted to answer 401, 429 with Retry-After, 500, or to hang.

    with CiscoSandbox() as sandbox:
        channel = CiscoTacChannel(sandbox.client())
        ...
"""

from __future__ import annotations

import json
import secrets
import sys
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from plugins.vendor_rma.cisco_client import CiscoSupportClient

Clock = Callable[[], datetime]
TOKEN_PATH = "/oauth2/default/v1/token"
MAX_CASE_IDS = 30
SORT_BY = {"STATUS", "SEVERITY", "CREATED_DATE", "MODIFIED_DATE", "UPDATED_DATE"}
OPEN_FIELDS = {  # the body of POST /case/v3/cases: name → (type, required)
    "idempotencyKey": (str, True),
    "customerReference": (str, True),
    "serialNumber": (str, True),
    "problemDescription": (str, True),
    "severity": (int, True),
    "shipTo": (str, True),
    "productId": (str, False),
    "partNumber": (str, False),
    "contact": (str, False),
}
# the words the sandbox uses: what ``advance`` accepts for an RMA, and for a case
RMA_WORDS = {
    "booked": "Booked",
    "shipped": "Shipped",
    "delivered": "Delivered",
    "received": "Received",
    "closed": "Closed",
    "cancelled": "Cancelled",
    "rejected": "Rejected",
}
CASE_WORDS = {
    "cisco pending": "Cisco Pending",
    "customer pending": "Customer Pending",
    "resolved": "Resolved",
    "case closed": "Closed",
    "case cancelled": "Cancelled",
}
CARRIER = "DHL"


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class SandboxRma:
    number: str
    case_number: str
    status: str = "Booked"
    carrier: str | None = None
    tracking_number: str | None = None
    ship_date: str | None = None
    delivery_date: str | None = None

    def json(self) -> dict[str, Any]:
        return {
            "rmaNo": self.number,
            "status": self.status,
            "caseId": self.case_number,
            "carrier": self.carrier,
            "trackingNumber": self.tracking_number,
            "shipDate": self.ship_date,
            "deliveryDate": self.delivery_date,
        }


@dataclass
class SandboxCase:
    number: str
    serial: str
    title: str
    status: str
    created: str
    updated: str
    severity: int = 3
    customer_reference: str | None = None
    opened_with: dict[str, Any] | None = None  # the open request's body (repeat check)
    rmas: list[str] = field(default_factory=list)

    def json(self) -> dict[str, Any]:
        return {
            "CASE_NUMBER": self.number,
            "TITLE": self.title,
            "STATUS": self.status,
            "SEVERITY": str(self.severity),
            "SERIAL_NUMBER": self.serial,
            "CREATED_DATE": self.created,
            "UPDATED_DATE": self.updated,
            "CUSTOMER_REFERENCE": self.customer_reference,
            "RMAS": list(self.rmas),
        }


@dataclass(frozen=True)
class Received:
    """One request the sandbox received; the bearer token and client secret are redacted."""

    method: str
    path: str  # without the query
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes
    status: int  # what the sandbox answered

    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def form(self) -> dict[str, list[str]]:
        return parse_qs(self.body.decode())


@dataclass(frozen=True)
class _Fault:
    kind: str  # "401", "429", "500", "hang"
    endpoint: str  # "api" or "token"
    retry_after: str | None


class CiscoSandbox:
    """The Cisco-shaped server; ``start()`` (or ``with``) binds an ephemeral port."""

    def __init__(
        self,
        *,
        client_id: str = "sandbox-client",
        client_secret: str = "sandbox-secret",
        token_ttl: float = 3599.0,
        clock: Clock = utc_now,
        hang_seconds: float = 2.0,
        record: bool = True,
    ) -> None:
        self.client_id = client_id
        self.client_secret = client_secret
        self.token_ttl = token_ttl
        self.clock = clock
        self.hang_seconds = hang_seconds
        self.record = record
        self.cases: dict[str, SandboxCase] = {}
        self.rmas: dict[str, SandboxRma] = {}
        self.by_key: dict[str, str] = {}  # idempotency key → case number
        self.requests: list[Received] = []
        self.tokens_issued = 0
        self.served = 0  # requests answered, counted even when record=False
        self._tokens: dict[str, datetime] = {}  # token → expires at
        self._faults: deque[_Fault] = deque()
        self._next_case = 699_000_001
        self._next_rma = 800_000_001
        self._lock = threading.RLock()
        self._stopping = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # --- life ---------------------------------------------------------------------------------

    def start(self) -> CiscoSandbox:
        server = _Server(("127.0.0.1", 0), _Handler)
        server.sandbox = self
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="cisco-sandbox"
        )
        self._thread.daemon = True
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()  # hanging answers give up at once
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> CiscoSandbox:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        assert self._server is not None, "start the sandbox first"
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def api_url(self) -> str:
        return self.base_url

    @property
    def token_url(self) -> str:
        return self.base_url + TOKEN_PATH

    def client(self, *, timeout: float = 2.0, **kwargs: Any) -> CiscoSupportClient:
        """A client pointed at this sandbox with its credentials."""
        return CiscoSupportClient(
            api_url=self.api_url,
            token_url=self.token_url,
            client_id=self.client_id,
            client_secret=self.client_secret,
            timeout=timeout,
            **kwargs,
        )

    # --- scripting ----------------------------------------------------------------------------

    def fail_next(
        self, kind: str, *, times: int = 1, retry_after: str | None = "2", endpoint: str = "api"
    ) -> None:
        """The next ``times`` requests to ``endpoint`` ("api" or "token") answer ``kind``:
        "401" (as for an expired token), "429" (with ``retry_after`` if not None), "500",
        or "hang" (no answer for ``hang_seconds``)."""
        if kind not in {"401", "429", "500", "hang"} or endpoint not in {"api", "token"}:
            raise ValueError(f"unknown fault {kind!r} on {endpoint!r}")
        with self._lock:
            self._faults.extend(_Fault(kind, endpoint, retry_after) for _ in range(times))

    def expire_tokens(self) -> None:
        """Every token issued so far expires now (the next API call gets a 401)."""
        with self._lock:
            now = self.clock()
            self._tokens = {token: min(at, now) for token, at in self._tokens.items()}

    def add_case(
        self, *, serial: str = "FOC0000X0AA", status: str = "Cisco Pending", title: str = ""
    ) -> str:
        """A case opened with TAC by someone else (the customer): its number."""
        with self._lock:
            return self._new_case(
                serial=serial, title=title or "opened by the customer", status=status
            ).number

    def advance(self, case_number: str, to: str) -> None:
        """Move a case on: an RMA word (booked, shipped, delivered, received, closed,
        cancelled, rejected) books an RMA if the case has none; a case word (cisco
        pending, customer pending, resolved, case closed, case cancelled) sets the case."""
        word = " ".join(to.lower().split())
        with self._lock:
            case = self.cases[case_number]
            now = self._stamp(case)
            if word in CASE_WORDS:
                case.status = CASE_WORDS[word]
                return
            if word not in RMA_WORDS:
                raise ValueError(f"unknown step {to!r}: one of {sorted(RMA_WORDS | CASE_WORDS)}")
            rma = self._rma_of(case)
            rma.status = RMA_WORDS[word]
            if word == "shipped":
                rma.carrier, rma.tracking_number = CARRIER, f"JD{rma.number}"
                rma.ship_date = now
            elif word == "delivered":
                rma.delivery_date = now
            elif word in ("cancelled", "rejected"):
                case.status = "Closed"

    def requests_to(self, prefix: str) -> list[Received]:
        with self._lock:
            return [r for r in self.requests if r.path.startswith(prefix)]

    def api_requests(self) -> list[Received]:
        with self._lock:
            return [r for r in self.requests if r.path != TOKEN_PATH]

    def clear_requests(self) -> None:
        with self._lock:
            self.requests.clear()

    # --- the state machine (called by the handler under the lock) -----------------------------

    def _new_case(self, *, serial: str, title: str, status: str) -> SandboxCase:
        number = str(self._next_case)
        self._next_case += 1
        stamp = _iso(self.clock())
        case = SandboxCase(
            number=number, serial=serial, title=title, status=status, created=stamp, updated=stamp
        )
        self.cases[number] = case
        return case

    def _rma_of(self, case: SandboxCase) -> SandboxRma:
        if case.rmas:
            return self.rmas[case.rmas[-1]]
        rma = SandboxRma(number=str(self._next_rma), case_number=case.number)
        self._next_rma += 1
        self.rmas[rma.number] = rma
        case.rmas.append(rma.number)
        return rma

    def _stamp(self, case: SandboxCase) -> str:
        """A new UPDATED_DATE, strictly later than the last even under a frozen clock."""
        last = datetime.fromisoformat(case.updated.replace("Z", "+00:00"))
        case.updated = _iso(max(self.clock(), last + timedelta(microseconds=1)))
        return case.updated

    def _fault(self, endpoint: str) -> _Fault | None:
        with self._lock:
            if self._faults and self._faults[0].endpoint == endpoint:
                return self._faults.popleft()
        return None

    def _issue_token(self) -> str:
        token = secrets.token_urlsafe(24)
        with self._lock:
            self._tokens[token] = self.clock() + timedelta(seconds=self.token_ttl)
            self.tokens_issued += 1
        return token

    def _token_ok(self, authorization: str | None) -> bool:
        if not authorization or not authorization.startswith("Bearer "):
            return False
        with self._lock:
            expires = self._tokens.get(authorization.removeprefix("Bearer "))
            return expires is not None and self.clock() < expires

    def _remember(self, received: Received) -> None:
        with self._lock:
            self.served += 1
            if self.record:
                self.requests.append(received)

    def _wait_hanging(self) -> None:
        self._stopping.wait(self.hang_seconds)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    sandbox: CiscoSandbox

    def handle_error(self, request: Any, client_address: Any) -> None:
        if isinstance(sys.exc_info()[1], ConnectionError):
            return  # a client that timed out and left: expected when scripted to hang
        super().handle_error(request, client_address)


Answer = tuple[int, Any, dict[str, str]]


def _error(status: int, message: str, **headers: str) -> Answer:
    return status, {"errorMessage": message}, headers


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"  # keep-alive, as httpx's pool expects
    disable_nagle_algorithm = True
    wbufsize = 65536  # headers and body leave in one segment (flushed after each request)

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def log_message(self, format: str, *args: object) -> None:  # quiet in tests
        pass

    def _serve(self) -> None:
        sandbox = self.server.sandbox
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        split = urlsplit(self.path)
        path, query = split.path, parse_qs(split.query)
        endpoint = "token" if path == TOKEN_PATH else "api"
        fault = sandbox._fault(endpoint)
        status: int
        answer: Any
        headers: dict[str, str]
        if fault is not None and fault.kind == "hang":
            sandbox._wait_hanging()
            status, answer, headers = 503, {"errorMessage": "hung"}, {}
        elif fault is not None:
            status, answer, headers = _faulty(fault)
        elif endpoint == "token":
            status, answer, headers = _token(sandbox, self.command, self.headers, body)
        elif not sandbox._token_ok(self.headers.get("Authorization")):
            status, answer, headers = _error(
                401, "Not Authorized", **{"WWW-Authenticate": 'Bearer error="invalid_token"'}
            )
        else:
            with sandbox._lock:
                status, answer, headers = _route(
                    sandbox, self.command, path, query, self.headers, body
                )
        sandbox._remember(_received(self, path, query, body, status))
        self._answer(status, answer, headers)

    def _answer(self, status: int, answer: Any, headers: dict[str, str]) -> None:
        payload = json.dumps(answer).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json;charset=UTF-8")
            self.send_header("Content-Length", str(len(payload)))
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):  # the client gave up (timeout)
            self.close_connection = True


def _received(
    handler: _Handler, path: str, query: dict[str, list[str]], body: bytes, status: int
) -> Received:
    headers = {name.lower(): value for name, value in handler.headers.items()}
    if "authorization" in headers:
        headers["authorization"] = "Bearer ***"
    if path == TOKEN_PATH and body:
        form = parse_qs(body.decode(errors="replace"))
        if "client_secret" in form:
            form["client_secret"] = ["***"]
        body = "&".join(f"{k}={v}" for k, values in form.items() for v in values).encode()
    return Received(handler.command, path, query, headers, body, status)


def _faulty(fault: _Fault) -> Answer:
    if fault.kind == "401":
        return _error(401, "Not Authorized", **{"WWW-Authenticate": 'Bearer error="invalid_token"'})
    if fault.kind == "429":
        extra = {"Retry-After": fault.retry_after} if fault.retry_after is not None else {}
        return _error(429, "Too many requests", **extra)
    return _error(500, "Internal error")


def _token(sandbox: CiscoSandbox, method: str, headers: Any, body: bytes) -> Answer:
    if method != "POST":
        return 405, {"error": "invalid_request"}, {}
    if headers.get("Content-Type", "").split(";")[0] != "application/x-www-form-urlencoded":
        return 400, {"error": "invalid_request", "error_description": "form body expected"}, {}
    form = {k: v[0] for k, v in parse_qs(body.decode(errors="replace")).items()}
    if form.get("grant_type") != "client_credentials":
        return 400, {"error": "unsupported_grant_type"}, {}
    if (form.get("client_id"), form.get("client_secret")) != (
        sandbox.client_id,
        sandbox.client_secret,
    ):
        return 401, {"error": "invalid_client", "error_description": "Invalid value"}, {}
    answer = {
        "token_type": "Bearer",
        "expires_in": sandbox.token_ttl,
        "access_token": sandbox._issue_token(),
        "scope": "customer",
    }
    return 200, answer, {"Cache-Control": "no-store"}


def _route(
    sandbox: CiscoSandbox,
    method: str,
    path: str,
    query: dict[str, list[str]],
    headers: Any,
    body: bytes,
) -> Answer:
    parts = [unquote(p) for p in path.strip("/").split("/")]
    if method == "GET" and parts[:4] == ["case", "v3", "cases", "case_ids"] and len(parts) == 5:
        return _summaries(sandbox, parts[4], query)
    if (
        method == "GET"
        and parts[:5] == ["case", "v3", "cases", "details", "case_id"]
        and len(parts) == 6
    ):
        return _details(sandbox, parts[5])
    if (
        method == "GET"
        and parts[:4] == ["return", "v1.0", "returns", "rma_numbers"]
        and len(parts) == 5
    ):
        return _returns(sandbox, parts[4])
    if method == "POST" and parts == ["case", "v3", "cases"]:
        return _open(sandbox, headers, body)
    if (
        method == "POST"
        and parts[:3] == ["case", "v3", "cases"]
        and len(parts) == 5
        and parts[4] == "cancel"
    ):
        return _cancel(sandbox, parts[3], headers, body)
    return _error(404, f"no such resource: {method} {path}")


def _summaries(sandbox: CiscoSandbox, ids: str, query: dict[str, list[str]]) -> Answer:
    wanted = ids.split(",")
    if len(wanted) > MAX_CASE_IDS:
        return _error(400, f"case_ids cannot exceed {MAX_CASE_IDS} IDs")
    if not all(i.isdigit() for i in wanted):
        return _error(400, "case_ids must be numbers separated by commas")
    sort_by = query.get("sort_by", ["UPDATED_DATE"])[0]
    if sort_by not in SORT_BY:
        return _error(400, f"sort_by must be one of {sorted(SORT_BY)}")
    found = [sandbox.cases[i].json() for i in dict.fromkeys(wanted) if i in sandbox.cases]
    return 200, {"RESPONSE": {"COUNT": len(found), "CASES": {"CASE_SUMMARY": found}}}, {}


def _details(sandbox: CiscoSandbox, case_id: str) -> Answer:
    case = sandbox.cases.get(case_id)
    if case is None:
        return _error(404, f"case {case_id} not found")
    return 200, {"RESPONSE": {"CASE_DETAIL": case.json()}}, {}


def _returns(sandbox: CiscoSandbox, rma_number: str) -> Answer:
    rma = sandbox.rmas.get(rma_number)
    if rma is None:
        return _error(404, f"RMA {rma_number} not found")
    pagination = {"pageIndex": 1, "lastIndex": 1, "totalRecords": 1, "pageRecords": 1}
    return 200, {"APIPagination": pagination, "returns": {"RmaRecord": [rma.json()]}}, {}


def _json_body(headers: Any, body: bytes) -> dict[str, Any] | str:
    """The JSON object sent, or what is wrong with it."""
    if headers.get("Content-Type", "").split(";")[0] != "application/json":
        return "Content-Type must be application/json"
    try:
        value = json.loads(body)
    except ValueError:
        return "body is not JSON"
    return value if isinstance(value, dict) else "body must be a JSON object"


def _open(sandbox: CiscoSandbox, headers: Any, body: bytes) -> Answer:
    request = _json_body(headers, body)
    if isinstance(request, str):
        return _error(400, request)
    for name, (kind, required) in OPEN_FIELDS.items():
        value = request.get(name)
        if value is None and not required:
            continue
        if not isinstance(value, kind) or isinstance(value, bool) or value in ("",):
            return _error(400, f"{name}: a {kind.__name__} is required")
    unknown = set(request) - set(OPEN_FIELDS)
    if unknown:
        return _error(400, f"unknown fields: {sorted(unknown)}")
    if not 1 <= request["severity"] <= 4:
        return _error(400, "severity must be 1 to 4")
    key = headers.get("Idempotency-Key")
    if not key or key != request["idempotencyKey"]:
        return _error(400, "the Idempotency-Key header must repeat idempotencyKey")
    if key in sandbox.by_key:
        case = sandbox.cases[sandbox.by_key[key]]
        if case.opened_with != request:
            return _error(422, "Idempotency-Key reused with a different request")
        return 200, {"RESPONSE": {"CASE_DETAIL": case.json()}}, {}
    case = sandbox._new_case(
        serial=request["serialNumber"],
        title=request["problemDescription"][:80],
        status="Cisco Pending",
    )
    case.severity = request["severity"]
    case.customer_reference = request["customerReference"]
    case.opened_with = request
    sandbox.by_key[key] = case.number
    return 201, {"RESPONSE": {"CASE_DETAIL": case.json()}}, {}


def _cancel(sandbox: CiscoSandbox, case_id: str, headers: Any, body: bytes) -> Answer:
    request = _json_body(headers, body)
    if isinstance(request, str):
        return _error(400, request)
    if not isinstance(request.get("reason"), str) or not request["reason"].strip():
        return _error(400, "reason: a str is required")
    case = sandbox.cases.get(case_id)
    if case is None:
        return _error(404, f"case {case_id} not found")
    rma = sandbox.rmas[case.rmas[-1]] if case.rmas else None
    if rma is not None and rma.status in ("Shipped", "Delivered", "Received", "Closed"):
        return _error(409, f"RMA {rma.number} is {rma.status}: it can no longer be cancelled")
    if case.status != "Cancelled":
        sandbox._stamp(case)
        case.status = "Cancelled"
        if rma is not None:
            rma.status = "Cancelled"
    return 200, {"RESPONSE": {"CASE_DETAIL": case.json()}}, {}
