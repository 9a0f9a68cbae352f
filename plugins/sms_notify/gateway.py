"""The notifier shape, SMS templates, and an Alibaba Cloud SMS ``SendSms`` client of our own."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import string
import threading
import unicodedata
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal
from urllib.parse import quote

import httpx
import msgspec

from core.errors import NaiveDatetimeError
from core.notify import (
    Delivery,
    Locale,
    Notice,
    NoticeTemplateError,
    NotifierError,
    Recipient,
    TransientDeliveryError,
    Variable,
)
from plugins.sms_notify.phones import MobileNumber, PhoneNumberError, normalise_mobile

Clock = Callable[[], datetime]

# --- the notifier shape is core.notify's (one set of types); re-exported for existing imports --

__all__ = [
    "Delivery",
    "Locale",
    "Notice",
    "NoticeTemplateError",
    "NotifierError",
    "Recipient",
    "TransientDeliveryError",
    "Variable",
]


class UnknownTemplate(NoticeTemplateError):
    """The notice names a template that templates.yaml does not define."""

    title = "unknown SMS template"


class MissingTemplateVariables(NoticeTemplateError):
    """The notice lacks (or leaves blank) variables its SMS template needs."""

    title = "missing template variables"

    def __init__(self, template: str, missing: tuple[str, ...]) -> None:
        super().__init__(f"SMS template {template!r} needs variables: {', '.join(missing)}")
        self.template = template
        self.missing = missing


def utc_now() -> datetime:
    return datetime.now(UTC)


# --- templates ---------------------------------------------------------------------------------

LINK = "link"  # the notice variable carrying the case page's URL (core.notify.case_link)
TEMPLATES_FILE = Path(__file__).with_name("templates.yaml")
_PLACEHOLDER = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
ELLIPSIS = "…"
CHINA_STANDARD_TIME = timedelta(hours=8)


class _Struct(msgspec.Struct, frozen=True, forbid_unknown_fields=True, rename="kebab"):
    """Immutable, unknown keys rejected, kebab-case keys in YAML."""


class LocaleTemplate(_Struct):
    """One registered Alibaba template: its code and its text (for the spool and for review)."""

    template_code: str
    text: str


class SmsTemplate(_Struct):
    """A template name's variables (name → max characters) and its texts per locale."""

    variables: dict[str, int]
    locales: dict[str, LocaleTemplate]
    # the same texts ending with the case page's ${link}, sent when the notice carries one
    linked: dict[str, LocaleTemplate] = {}

    def __post_init__(self) -> None:
        # msgspec turns these ValueErrors into a located ValidationError when decoding
        if not self.locales:
            raise ValueError("a template needs at least one locale")
        for name, limit in self.variables.items():
            if limit < 1:
                raise ValueError(f"variable {name!r}: the limit must be at least 1")
        _check_texts(self.locales, set(self.variables), "locale")
        _check_texts(self.linked, {*self.variables, LINK}, "linked locale")

    def locale_for(self, requested: str | None) -> str:
        """``zh-CN`` / ``zh_Hans`` → ``zh``; an unknown locale falls back to the first one."""
        primary = (requested or "").replace("_", "-").split("-")[0].lower()
        return primary if primary in self.locales else next(iter(self.locales))


def _check_texts(texts: dict[str, LocaleTemplate], variables: set[str], what: str) -> None:
    for locale, entry in texts.items():
        used = set(_PLACEHOLDER.findall(entry.text))
        if used != variables:
            raise ValueError(
                f"{what} {locale!r}: the text uses {sorted(used)} "
                f"but the variables are {sorted(variables)}"
            )


class SmsTemplates(_Struct):
    """templates.yaml: the templates, how some variables are formatted, the clock names."""

    templates: dict[str, SmsTemplate]
    # the longest case link sent (a link is never cut: a longer one sends the text without it)
    link_max: int = 100
    formats: dict[str, Literal["clock", "datetime", "list", "label"]] = {}
    clock_labels: dict[str, dict[str, str]] = {}
    # a "label" variable's words per value and locale (the notice's subject "hotline" → 服务热线)
    labels: dict[str, dict[str, dict[str, str]]] = {}

    def format(self, name: str, value: str, locale: str) -> str:
        """A variable as the SMS shows it: a clock kind by its name, a date-time short, a
        list as ``a, b, c``, a label in words."""
        kind = self.formats.get(name)
        if kind == "clock":
            return self.clock_labels.get(value, {}).get(locale, value)  # unknown: as is
        if kind == "label":
            return self.labels.get(name, {}).get(value, {}).get(locale, value)  # unknown: as is
        if kind == "datetime":
            return _short_datetime(name, value)
        if kind == "list":
            return LIST_SEPARATOR.join(_list_values(value))
        return value

    def fit(self, name: str, value: str, limit: int) -> str:
        """A formatted value within ``limit`` characters: a list keeps whole values."""
        if self.formats.get(name) == "list":
            return truncate_list(value, limit)
        return truncate(value, limit)


def _short_datetime(name: str, value: str) -> str:
    """``2026-03-05T14:00:00+08:00`` → ``2026-03-05 14:00``; another offset is spelt out."""
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise NoticeTemplateError(f"{name}: not an ISO 8601 date-time: {value!r}") from None
    offset = moment.utcoffset()
    if offset is None:  # ambiguous for a reader: refuse rather than guess a zone
        raise NoticeTemplateError(f"{name}: date-time without a UTC offset: {value!r}")
    shown = f"{moment:%Y-%m-%d %H:%M}"
    if offset == CHINA_STANDARD_TIME:  # the desk's zone and every recipient's: say nothing
        return shown
    sign = "-" if offset < timedelta(0) else "+"
    minutes = abs(int(offset.total_seconds())) // 60
    return f"{shown} UTC{sign}{minutes // 60:02d}:{minutes % 60:02d}"


def load_templates(path: Path = TEMPLATES_FILE) -> SmsTemplates:
    """Read and check a templates file (the shape of ``templates.yaml``)."""
    return msgspec.yaml.decode(path.read_bytes(), type=SmsTemplates)


def truncate(value: str, limit: int) -> str:
    """At most ``limit`` characters (code points, as Alibaba counts them), ending in … if cut.

    Whitespace runs become one space first (a variable is one line of an SMS). The cut moves
    back to the start of a character sequence rather than split one: a letter and its
    combining accent, an emoji and its skin-tone modifier or variation selector, and emoji
    joined by a zero-width joiner stay whole or go together.
    """
    value = " ".join(value.split())
    if len(value) <= limit:
        return value
    cut = limit - 1  # room for the ellipsis
    while cut > 0 and (_continues_sequence(value[cut]) or value[cut - 1] == _ZWJ):
        cut -= 1
    return value[:cut].rstrip() + ELLIPSIS


LIST_SEPARATOR = ", "
LIST_MORE = LIST_SEPARATOR + ELLIPSIS


def _list_values(value: str) -> list[str]:
    """``"a,b ,  c"`` → ``["a", "b", "c"]``: each value on one line, blanks dropped."""
    return [" ".join(part.split()) for part in value.split(",") if part.strip()]


def truncate_list(value: str, limit: int) -> str:
    """Comma-separated values within ``limit`` characters, none of them cut.

    ``"MS-2026-000001, MS-2026-000002, MS-2026-000003"`` with a limit of 35 becomes
    ``"MS-2026-000001, MS-2026-000002, …"``: as many whole values as fit, then ``, …``. A
    first value too long on its own is cut as ``truncate`` cuts.
    """
    values = _list_values(value)
    joined = LIST_SEPARATOR.join(values)
    if len(joined) <= limit:
        return joined
    kept: list[str] = []
    for item in values:
        if len(LIST_SEPARATOR.join([*kept, item])) + len(LIST_MORE) > limit:
            break
        kept.append(item)
    if not kept:
        return truncate(joined, limit)
    return LIST_SEPARATOR.join(kept) + LIST_MORE


_ZWJ = "\u200d"


def _continues_sequence(char: str) -> bool:
    """True for a character that modifies the one before it (a cut must not fall before it)."""
    if char == _ZWJ or unicodedata.category(char).startswith("M"):  # marks, VS16 included
        return True
    return 0x1F3FB <= ord(char) <= 0x1F3FF  # emoji skin-tone modifiers


@dataclass(frozen=True, slots=True)
class PreparedSms:
    """A notice checked against its template: number, template code, values, rendered text."""

    number: MobileNumber
    template: str
    locale: str
    template_code: str
    params: dict[str, str]
    text: str
    truncated: tuple[str, ...]


def prepare(notice: Notice, templates: SmsTemplates) -> PreparedSms:
    """Validate the phone number and variables, format and truncate values, render the text.

    Raises ``PhoneNumberError`` / ``NotAMobileNumber``, ``UnknownTemplate``,
    ``MissingTemplateVariables`` or ``NoticeTemplateError``: all permanent.
    """
    number = normalise_mobile(notice.recipient.phone)
    template = templates.templates.get(notice.template)
    if template is None:
        known = ", ".join(sorted(templates.templates))
        raise UnknownTemplate(f"no SMS template {notice.template!r} (known: {known})")
    given = {name: "" if value is None else str(value) for name, value in notice.variables.items()}
    missing = tuple(name for name in template.variables if not given.get(name, "").strip())
    if missing:
        raise MissingTemplateVariables(notice.template, missing)
    locale = template.locale_for(notice.recipient.locale)
    # only the declared variables are sent: Alibaba's template knows no others
    shown = {name: templates.format(name, given[name], locale) for name in template.variables}
    params = {
        name: templates.fit(name, shown[name], limit) for name, limit in template.variables.items()
    }
    truncated = tuple(name for name in params if params[name] != " ".join(shown[name].split()))
    entry = template.locales[locale]
    link = given.get(LINK, "").strip()
    if link and locale in template.linked and len(link) <= templates.link_max:
        entry, params = template.linked[locale], {**params, LINK: link}
    return PreparedSms(
        number=number,
        template=notice.template,
        locale=locale,
        template_code=entry.template_code,
        params=params,
        text=string.Template(entry.text).substitute(params),
        truncated=truncated,
    )


class LazyTemplates:
    """Templates read on first use, so that building a sender (at registration) does no I/O."""

    def __init__(self, path: Path = TEMPLATES_FILE) -> None:
        self.path = path
        self._templates: SmsTemplates | None = None
        self._lock = threading.Lock()

    def get(self) -> SmsTemplates:
        with self._lock:
            if self._templates is None:
                self._templates = load_templates(self.path)
            return self._templates


# --- Alibaba Cloud RPC signature (SignatureVersion 1.0, HMAC-SHA1) -----------------------------


def percent_encode(text: str) -> str:
    """RFC 3986 as Alibaba's POP wants it: only A-Z a-z 0-9 - _ . ~ stay; space → %20, * → %2A."""
    # quote() leaves exactly the unreserved set unescaped when safe is empty (~ since 3.7)
    return quote(text, safe="", encoding="utf-8")


def canonical_query(params: Mapping[str, str]) -> str:
    """Parameters sorted by name, each ``percentEncode(name)=percentEncode(value)``, joined by &."""
    return "&".join(f"{percent_encode(k)}={percent_encode(v)}" for k, v in sorted(params.items()))


def string_to_sign(params: Mapping[str, str], method: str = "GET") -> str:
    return f"{method}&{percent_encode('/')}&{percent_encode(canonical_query(params))}"


def signature(params: Mapping[str, str], secret: str, method: str = "GET") -> str:
    """Base64 of HMAC-SHA1 over the StringToSign, keyed with ``AccessKeySecret + "&"``."""
    digest = hmac.new(
        f"{secret}&".encode(), string_to_sign(params, method).encode(), hashlib.sha1
    ).digest()
    return base64.b64encode(digest).decode("ascii")


def format_timestamp(at: datetime) -> str:
    """ISO 8601 in UTC, ``YYYY-MM-DDThh:mm:ssZ``; a naive datetime is refused, not guessed."""
    if at.tzinfo is None or at.utcoffset() is None:
        raise NaiveDatetimeError("the SMS clock must return an aware datetime (UTC or any zone)")
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# --- nonces: the same one only for a retry whose outcome we do not know ------------------------

NONCE_WINDOW = timedelta(minutes=15)  # Alibaba remembers a SignatureNonce this long
_NONCE_NAMESPACE = uuid.UUID("5b0f3c51-6d8e-4a57-9d0b-2f6c3e6a9c11")  # fixed: nonces are stable


class NonceBook:
    """``SignatureNonce`` per notice: uuid5(idempotency key, generation).

    A retry reuses the nonce of the previous attempt, so if that attempt did reach Alibaba
    (we timed out waiting for the answer) Alibaba refuses the repeat with SignatureNonceUsed
    instead of sending a second SMS. But the nonce check comes before the SMS service, so a
    request it then rejects (rate limit, no balance) has spent its nonce too: a retry after
    such a definite answer must use a fresh nonce, or it would be refused as a repeat and the
    SMS never sent. So a definite answer bumps the key's generation. The book lives in this
    process and forgets a key 15 minutes after its last use, when Alibaba has forgotten the
    nonce too. Its limit: a retry in *another* process within those 15 minutes after a
    definite answer starts at generation 0 and is taken for a repeat, so the outbox should
    retry a rejected notice from the same worker (or persist the generation).
    """

    def __init__(self) -> None:
        self._entries: dict[str, tuple[int, datetime]] = {}
        self._lock = threading.Lock()

    def nonce(self, key: str, now: datetime) -> str:
        with self._lock:
            self._prune(now)
            generation, _ = self._entries.get(key, (0, now))
            self._entries[key] = (generation, now)
            return str(uuid.uuid5(_NONCE_NAMESPACE, f"{key}#{generation}"))

    def answered(self, key: str, now: datetime) -> None:
        """Alibaba gave a definite answer other than OK: the next attempt needs a new nonce."""
        with self._lock:
            generation, _ = self._entries.get(key, (0, now))
            self._entries[key] = (generation + 1, now)

    def _prune(self, now: datetime) -> None:
        stale = [k for k, (_, last) in self._entries.items() if now - last > NONCE_WINDOW]
        for key in stale:
            del self._entries[key]


# --- response classification -------------------------------------------------------------------

NONCE_USED = "SignatureNonceUsed"

# Alibaba's Code → (transient?, what it means). Transient codes raise TransientDeliveryError
# (the caller retries with back-off); the others are a failed Delivery (a human must act).
ERROR_CODES: dict[str, tuple[bool, str]] = {
    # rate limits and Alibaba-side trouble: waiting helps
    "isv.BUSINESS_LIMIT_CONTROL": (True, "rate limit for this number/template (业务限流)"),
    "Throttling": (True, "API request rate limit"),
    "Throttling.User": (True, "API request rate limit for this account"),
    "Throttling.Api": (True, "API request rate limit"),
    "isp.SYSTEM_ERROR": (True, "Alibaba system error"),
    "ServiceUnavailable": (True, "service unavailable"),
    "InternalError": (True, "Alibaba internal error"),
    # the notice itself is wrong: retrying sends the same wrong request
    "isv.MOBILE_NUMBER_ILLEGAL": (False, "not a valid mobile number"),
    "isv.MOBILE_COUNT_OVER_LIMIT": (False, "too many phone numbers"),
    "isv.TEMPLATE_MISSING_PARAMETERS": (False, "the template needs variables we did not send"),
    "isv.INVALID_JSON_PARAM": (False, "TemplateParam is not valid JSON"),
    "isv.INVALID_PARAMETERS": (False, "invalid parameters"),
    "isv.PARAM_LENGTH_LIMIT": (False, "a variable is longer than the template allows"),
    "isv.PARAM_NOT_SUPPORT_URL": (False, "a variable contains a URL"),
    "isv.TEMPLATE_PARAMS_ILLEGAL": (False, "a variable contains forbidden words"),
    "isv.SMS_CONTENT_ILLEGAL": (False, "the content contains forbidden words"),
    "isv.BLACK_KEY_CONTROL_LIMIT": (False, "blocked keyword"),
    "isv.DOMESTIC_NUMBER_NOT_SUPPORTED": (
        False,
        "international template used for a mainland number",
    ),
    # configuration and account: an operator must fix something first
    "SignatureDoesNotMatch": (False, "signature rejected: wrong AccessKey secret?"),
    "InvalidAccessKeyId.NotFound": (False, "unknown AccessKey ID"),
    "InvalidAccessKeyId.Inactive": (False, "AccessKey disabled"),
    "InvalidTimeStamp.Expired": (False, "Timestamp off by more than 15 minutes: check the clock"),
    "isp.RAM_PERMISSION_DENY": (False, "the AccessKey lacks the SMS permission (RAM)"),
    "isv.SMS_TEMPLATE_ILLEGAL": (False, "template code unknown or not approved"),
    "isv.SMS_SIGNATURE_ILLEGAL": (False, "sign name unknown or not approved"),
    "isv.SMS_SIGNATURE_SCENE_ILLEGAL": (False, "sign name and template type do not match"),
    "isv.SIGN_STATE_ILLEGAL": (False, "sign name is not usable"),
    "isv.SMS_SIGN_ILLEGAL": (False, "sign name is forbidden"),
    "isv.AMOUNT_NOT_ENOUGH": (False, "account balance too low: top up"),
    "isv.OUT_OF_SERVICE": (False, "service suspended (balance)"),
    "isv.PRODUCT_UN_SUBSCRIPT": (False, "the account has not enabled SMS"),
    "isv.PRODUCT_UNSUBSCRIBE": (False, "the account has not enabled SMS"),
    "isv.ACCOUNT_NOT_EXISTS": (False, "account does not exist"),
    "isv.ACCOUNT_ABNORMAL": (False, "account abnormal"),
    "isv.DENY_IP_RANGE": (False, "source IP outside the mainland is refused"),
    "isv.DAY_LIMIT_CONTROL": (False, "daily send quota set in the console reached"),
    "isv.MONTH_LIMIT_CONTROL": (False, "monthly send quota set in the console reached"),
}


def classify(status_code: int, body: bytes) -> Delivery:
    """Turn Alibaba's answer into a Delivery, or raise TransientDeliveryError.

    An unknown Code is permanent (a person should read it; looping could bill twice) unless
    the HTTP status is 5xx. A body that is not Alibaba JSON is transient on 5xx/429, else
    permanent.
    """
    answer = _decode(body)
    code = answer_code(answer)
    if answer is None or code is None:
        if status_code >= 500 or status_code == 429:
            raise TransientDeliveryError(
                f"Alibaba SMS answered HTTP {status_code}", code=status_code
            )
        return Delivery(
            status="failed", detail=f"unexpected answer from Alibaba SMS: HTTP {status_code}"
        )
    request_id = answer.get("RequestId", "?")
    if code == "OK" and status_code < 300:
        biz_id = answer.get("BizId")
        return Delivery(
            status="sent",
            detail=f"accepted by Alibaba SMS (RequestId {request_id})",
            provider_id=str(biz_id) if biz_id else None,
        )
    if code == NONCE_USED:
        # only a retry of ours reuses a nonce, and only after an attempt whose answer we
        # never got: Alibaba did receive that attempt, so the SMS went out then (NonceBook
        # explains the one exception)
        return Delivery(
            status="sent",
            detail="already received by Alibaba SMS: a previous attempt of this notice reached it "
            "within 15 minutes (SignatureNonceUsed), not sent twice",
        )
    message = answer.get("Message", "")
    transient, meaning = ERROR_CODES.get(code, (status_code >= 500, "unclassified error"))
    detail = f"Alibaba SMS {code}: {meaning} ({message}; RequestId {request_id})"
    if transient:
        raise TransientDeliveryError(detail, code=status_code)
    return Delivery(status="failed", detail=detail)


def _decode(body: bytes) -> dict[str, Any] | None:
    try:
        answer = json.loads(body)
    except ValueError:
        return None
    return answer if isinstance(answer, dict) else None


def answer_code(answer: Mapping[str, Any] | None) -> str | None:
    """Alibaba's ``Code`` when the body is its JSON answer, else None."""
    code = answer.get("Code") if answer is not None else None
    return code if isinstance(code, str) and code else None


# --- the client --------------------------------------------------------------------------------

DEFAULT_ENDPOINT = "https://dysmsapi.aliyuncs.com/"
OUT_ID_MAX = 64  # the API reference gives no limit for OutId: stay well inside any sane one
_OUT_ID_CHARS = re.compile(r"[\x21-\x7e]+")


def out_id(idempotency_key: str) -> str:
    """The idempotency key (it comes back in delivery receipts), hashed if long or unusual."""
    if len(idempotency_key) <= OUT_ID_MAX and _OUT_ID_CHARS.fullmatch(idempotency_key):
        return idempotency_key
    return hashlib.sha256(idempotency_key.encode()).hexdigest()  # 64 hex characters


class AlibabaSms:
    """Sends a notice with Alibaba Cloud SMS ``SendSms`` (HTTP RPC API, version 2017-05-25).

    ``send`` does blocking network I/O: call it from a worker (a dramatiq actor), never from
    a hook. It returns a ``sent`` Delivery when Alibaba accepted the SMS (the handset receipt
    comes later), a ``failed`` one for a permanent problem, and raises
    ``TransientDeliveryError`` when a retry may succeed.
    """

    region_id = "cn-hangzhou"
    version = "2017-05-25"

    def __init__(
        self,
        *,
        access_key_id: str,
        access_key_secret: str,
        sign_name: str,
        endpoint: str = DEFAULT_ENDPOINT,
        timeout: float = 10.0,
        templates: LazyTemplates | None = None,
        clock: Clock = utc_now,
    ) -> None:
        self.access_key_id = access_key_id
        self._secret = access_key_secret
        self.sign_name = sign_name
        self.endpoint = endpoint
        self.timeout = timeout
        self.templates = templates or LazyTemplates()
        self.clock = clock
        self.nonces = NonceBook()
        self._client: httpx.Client | None = None  # one pool for every send (thread-safe)
        self._client_lock = threading.Lock()

    def __repr__(self) -> str:
        # the secret never appears in logs
        return (
            f"AlibabaSms(access_key_id={self.access_key_id!r}, sign_name={self.sign_name!r}, "
            f"endpoint={self.endpoint!r})"
        )

    def send(self, notice: Notice) -> Delivery:
        templates = self.templates.get()  # a broken templates file raises: it is no notice's fault
        try:
            sms = prepare(notice, templates)
        except (PhoneNumberError, NoticeTemplateError) as exc:  # retrying cannot fix these
            return Delivery(status="failed", detail=exc.detail)
        now = self.clock()
        params = self.signed_params(sms, notice.idempotency_key, now)
        url = f"{self.endpoint}?{canonical_query(params)}"
        try:
            response = self.client().get(url)
        except httpx.TimeoutException as exc:
            raise TransientDeliveryError(f"Alibaba SMS timed out: {type(exc).__name__}") from exc
        except httpx.TransportError as exc:
            raise TransientDeliveryError(f"Alibaba SMS unreachable: {exc!r}") from exc
        if answer_code(_decode(response.content)) not in (None, "OK", NONCE_USED):
            # a definite "no": Alibaba spent this nonce without sending, a retry needs another
            self.nonces.answered(notice.idempotency_key, now)
        return classify(response.status_code, response.content)

    def client(self) -> httpx.Client:
        """The HTTP client, built once: building one loads the CA bundle (~17 ms of CPU)."""
        with self._client_lock:
            if self._client is None:
                self._client = httpx.Client(timeout=self.timeout)
            return self._client

    def signed_params(
        self, sms: PreparedSms, idempotency_key: str, now: datetime
    ) -> dict[str, str]:
        """Every query parameter of the GET, ``Signature`` included."""
        timestamp = format_timestamp(now)  # first: a bad clock must not touch the nonce book
        params = {
            "AccessKeyId": self.access_key_id,
            "Action": "SendSms",
            "Format": "JSON",
            "OutId": out_id(idempotency_key),
            "PhoneNumbers": sms.number.for_alibaba,
            "RegionId": self.region_id,
            "SignName": self.sign_name,
            "SignatureMethod": "HMAC-SHA1",
            "SignatureNonce": self.nonces.nonce(idempotency_key, now),
            "SignatureVersion": "1.0",
            "TemplateCode": sms.template_code,
            "TemplateParam": json.dumps(
                sms.params, ensure_ascii=False, separators=(",", ":"), sort_keys=True
            ),
            "Timestamp": timestamp,
            "Version": self.version,
        }
        params["Signature"] = signature(params, self._secret)
        return params
