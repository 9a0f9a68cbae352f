"""Settings: one Struct, read from environment variables (and, through
core/sources/settings_file.py, from casetrack.toml); every default works on a fresh clone.
Also how a setting is shown to a person: secrets masked."""

from __future__ import annotations

import os
import urllib.parse
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Literal

import msgspec

from core.errors import ServerError
from core.limits import DbTimeouts, YamlLimits
from core.logs import LOG_LEVELS

DEFAULT_DATABASE_URL = "sqlite:///var/casetrack.db"
Positive = Annotated[int, msgspec.Meta(gt=0)]
Seconds = Annotated[float, msgspec.Meta(ge=0)]  # 0 allowed (e.g. no statement limit)
PositiveSeconds = Annotated[float, msgspec.Meta(gt=0)]
SECRET_SUFFIXES = ("_key", "_secret", "_password", "_token")  # settings never shown
MASK = "***"
# a level name in any case ("info", "INFO"); the loggers get it upper-cased
# "" or an http(s) URL without query or fragment: the base of links to the desk's pages
PublicUrl = Annotated[str, msgspec.Meta(pattern=r"^(https?://[^\s/?#]+(/[^\s?#]*)?)?$")]
LogLevel = Annotated[str, msgspec.Meta(pattern=f"(?i)^({'|'.join(LOG_LEVELS)})$")]


class SettingsError(ServerError):
    """A CASETRACK_* variable holds a value of the wrong kind."""

    title = "invalid setting"


# choices said in words rather than as msgspec's regex or "Invalid enum value"
_CHOICES = {
    "log_level": " or ".join([", ".join(LOG_LEVELS[:-1]), LOG_LEVELS[-1]]) + " (any case)",
    "log_format": "text or json",
}


def _choice_error(message: str, values: Mapping[str, str]) -> str | None:
    """The error of a field with choices, e.g. ``CASETRACK_LOG_FORMAT: expected text or json,
    not 'xml'``."""
    field = message.rpartition(" - at `$.")[2].rstrip("`")
    if field not in _CHOICES or field not in values:
        return None
    return f"CASETRACK_{field.upper()}: expected {_CHOICES[field]}, not {values[field]!r}"


def _variable_named(message: str) -> str:
    """msgspec's "... - at `$.digest_seconds`" → "CASETRACK_DIGEST_SECONDS: ..."."""
    text, _, path = message.rpartition(" - at `$.")
    if not text:
        return message
    return f"CASETRACK_{path.rstrip('`').upper()}: {text}"


class Settings(msgspec.Struct, frozen=True, kw_only=True):
    """What casetrack needs to run; ``Settings.from_env()`` reads ``CASETRACK_*`` variables."""

    database_url: str = DEFAULT_DATABASE_URL
    case_prefix: str = "MS"  # 铭升: the service company's case numbers, e.g. MS-2026-000042
    secret_key: str | None = None  # Fernet key for credentials; embedded default: var/secret.key
    audit_key: str | None = None  # HMAC key sealing the history; embedded default: var/audit.key
    contracts_dir: str = "contracts"
    token_cache_seconds: float = 10.0  # how long a server trusts a token it looked up
    timezone: str = "Asia/Shanghai"  # the desk's zone: case-number years, default --tz
    var_dir: str = "var"
    broker_url: str = ""  # dramatiq: redis://…, amqp://…, or empty for in-process
    queue: str = "notifications"  # the dramatiq queue: tell deployments sharing a broker apart
    # delivery (docs/escalation.md): notices to one person within this window go as one
    # digest (0: never hold a notice); a worker's claim on a row lapses after the lease;
    # transient failures retry after retry_seconds, doubling, until max_attempts → dead
    tick_seconds: float = 15.0  # the scheduler's pause between passes
    digest_seconds: float = 120.0
    delivery_lease_seconds: float = 300.0
    retry_seconds: float = 30.0
    retry_max_seconds: float = 1800.0
    max_attempts: int = 5
    # PostgreSQL outages (docs/outages.md): seconds to connect, for a statement (0: no limit;
    # the client also gives up on a server silent for statement + connect), for a pooled
    # connection. A request that runs into one of them is answered 503 + Retry-After.
    db_connect_timeout: Seconds = 3.0
    db_statement_timeout: Seconds = 10.0
    db_pool_timeout: Seconds = 5.0
    # a time a caller reports (a close's confirmed_at, a remote-access consent) may be this far
    # ahead of the server's clock, or before the case opened (docs/api.md, "Times")
    clock_skew_seconds: Seconds = 300.0
    # warn (contracts check, serve, /readyz, /metrics) when a calendar region's published
    # holiday data ends within this many days (docs/calendars.md)
    calendar_horizon_days: Annotated[int, msgspec.Meta(ge=0)] = 60
    # hostile input (docs/contracts.md, docs/api.md): what one YAML file may cost to read,
    # and how much and how long the HTTP server waits for a request's line and headers
    yaml_max_bytes: Positive = YamlLimits.max_bytes
    yaml_max_depth: Positive = YamlLimits.max_depth
    yaml_max_aliases: Positive = YamlLimits.max_aliases
    yaml_max_nodes: Positive = YamlLimits.max_nodes
    yaml_max_seconds: PositiveSeconds = YamlLimits.max_seconds
    # attachments (docs/onsite.md): the content-addressed store's directory (empty: the
    # var dir's attachments/) and the largest file accepted (bytes; the upload route's
    # request limit is this plus room for the multipart framing)
    attachments_dir: str = ""
    attachment_max_bytes: Positive = 10 * 1024 * 1024
    # an S3-compatible store instead of the directory (docs/onsite.md, "S3-compatible store"):
    # ``s3://bucket/prefix`` (empty: the directory above), the endpoint of a non-AWS server
    # (MinIO, Ceph RGW, OSS...; empty: AWS's), its region, the access key pair (empty: boto3's
    # own chain: AWS_* variables, a profile, an instance role) and the seconds one request may
    # take; the keys are never shown (settings show, logs, errors)
    attachments_store: str = ""
    attachments_s3_endpoint_url: str = ""
    attachments_s3_region: str = "us-east-1"
    attachments_s3_access_key: str = ""
    attachments_s3_secret_key: str = ""
    attachments_s3_timeout_seconds: PositiveSeconds = 10.0
    http_max_header_bytes: Positive = 16_384
    http_header_seconds: PositiveSeconds = 10.0
    # Cisco TAC (docs/rma_cisco.md): the Support API and its OAuth2 token endpoint, the API
    # client's credentials (empty: the cisco_tac channel refuses to work, saying so), the
    # seconds one HTTP request may take, the severity (1-4) and the Cisco.com contact of the
    # service requests we open
    cisco_tac_api_url: str = "https://apix.cisco.com"
    cisco_tac_token_url: str = "https://id.cisco.com/oauth2/default/v1/token"
    cisco_tac_client_id: str = ""
    cisco_tac_client_secret: str = ""
    cisco_tac_timeout_seconds: PositiveSeconds = 10.0
    cisco_tac_severity: Annotated[int, msgspec.Meta(ge=1, le=4)] = 3
    cisco_tac_contact: str = ""
    # logs of serve, scheduler and worker (docs/ops/logging.md); --log-level and
    # --log-format override them
    log_level: LogLevel = "INFO"
    log_format: Literal["text", "json"] = "text"
    # Prometheus multiprocess files of this host's serve workers, schedulers and workers
    # (docs/ops/metrics.md); empty: <var_dir>/metrics
    metrics_dir: str = ""
    # serve --workers N: a worker process that does not answer its supervisor's ping within
    # this many seconds is replaced (uvicorn's 5 s kept replacing workers still starting on a
    # busy host, docs/deploy.md)
    worker_healthcheck_seconds: Positive = 30
    # vendor RMA (docs/rma.md). Digital China: where the structured request e-mail goes, the
    # calendar and number of business days of its ship promise, the warehouses whose stock
    # counts ("北京和上海备件库有备件": either one, by default)
    dc_rma_address: str = "rma@digitalchina.example.cn"
    dc_rma_calendar: str = "spare-window"
    dc_ship_business_days: Positive = 3
    dc_stock_warehouses: str = "beijing,shanghai"
    # inbound vendor e-mail: a directory a local MTA delivers .eml files to (empty:
    # <var_dir>/rma-maildrop); processed files move to done/, unreadable ones to failed/
    rma_maildrop_dir: str = ""
    rma_maildrop_channel: str = "digital_china"  # whose parser reads the mail drop
    # polling open RMAs: every rma_poll_seconds; a vendor outage retries after
    # rma_retry_seconds, doubling up to rma_retry_max_seconds; after rma_max_failures
    # failures in a row the case is escalated (once) to rma_escalation_group; a scheduler's
    # claim on an order lapses after rma_lease_seconds
    rma_poll_seconds: PositiveSeconds = 3600.0
    rma_retry_seconds: PositiveSeconds = 60.0
    rma_retry_max_seconds: PositiveSeconds = 3600.0
    rma_max_failures: Positive = 5
    rma_lease_seconds: PositiveSeconds = 300.0
    rma_escalation_group: str = "service-manager"
    # web sign-in (docs/web.md): a session ends web_session_seconds after sign-in, or after
    # web_idle_seconds without a request; its cookie is Secure when the request came over
    # https, or always with web_secure_cookies (TLS ended by a proxy that does not say so).
    # Failed sign-ins within login_window_seconds: login_max_failures per login and
    # login_max_failures_per_address per client address, then refused until the window passes.
    # The pages' language when the browser's Accept-Language names neither zh nor en.
    web_session_seconds: PositiveSeconds = 12 * 3600.0
    web_idle_seconds: PositiveSeconds = 3600.0
    web_secure_cookies: bool = False
    login_window_seconds: PositiveSeconds = 900.0
    login_max_failures: Positive = 5
    login_max_failures_per_address: Positive = 20
    web_default_language: Literal["zh", "en"] = "zh"
    # the public survey link (docs/quality.md): unknown tokens and refused answers counted
    # over survey_window_seconds, survey_max_failures_per_address per client address and
    # survey_max_failures_per_token per token (its SHA-256), then 429 until the window passes
    survey_window_seconds: PositiveSeconds = 900.0
    survey_max_failures_per_address: Positive = 10
    survey_max_failures_per_token: Positive = 5
    # where people reach this desk's pages, e.g. "https://desk.example.cn" (no trailing
    # slash needed): alert e-mails and SMS then carry the case page's link
    # (<public_url>/console/cases/<number>); empty: no link is sent (docs/web.md)
    public_url: PublicUrl = ""
    # the managers' board (docs/web.md "Board"): each server process keeps the board's
    # figures this long (0: never kept) so that polling does not re-run its queries; the
    # page asks for fresh breach figures every board_poll_seconds
    board_cache_seconds: Seconds = 30.0
    board_poll_seconds: PositiveSeconds = 15.0
    # maintenance plans (docs/maintenance.md): the scheduler opens an occurrence it missed
    # (down, or a plan added later) up to this many days late; older ones are reported as
    # missed by `casetrack maintenance plans`, never opened (0: this scheduler opens no
    # inspections at all). A hotline or contact change is
    # announced at least notice_days ahead (the handbook's 3 days) unless forced.
    inspection_catch_up_days: Annotated[int, msgspec.Meta(ge=0)] = 7
    notice_days: Annotated[int, msgspec.Meta(ge=0)] = 3

    def __repr__(self) -> str:
        # keys and client secrets stay out of logs and tracebacks that print the settings
        shown = []
        for name in self.__struct_fields__:
            value = getattr(self, name)
            hidden = is_secret(name) and value
            shown.append(f"{name}={MASK if hidden else repr(value)}")
        return f"Settings({', '.join(shown)})"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        values = {
            field: env[f"CASETRACK_{field.upper()}"]
            for field in cls.__struct_fields__
            if f"CASETRACK_{field.upper()}" in env
        }
        try:
            # strict=False: environment values are text, "5" must become a number
            return msgspec.convert(values, cls, strict=False)
        except msgspec.ValidationError as exc:
            message = str(exc)
            raise SettingsError(
                _choice_error(message, values) or _variable_named(message)
            ) from None

    @property
    def db_timeouts(self) -> DbTimeouts:
        return DbTimeouts(
            connect=self.db_connect_timeout,
            statement=self.db_statement_timeout,
            pool=self.db_pool_timeout,
        )

    @property
    def yaml_limits(self) -> YamlLimits:
        return YamlLimits(
            max_bytes=self.yaml_max_bytes,
            max_depth=self.yaml_max_depth,
            max_aliases=self.yaml_max_aliases,
            max_nodes=self.yaml_max_nodes,
            max_seconds=self.yaml_max_seconds,
        )

    @property
    def var_path(self) -> Path:
        return Path(self.var_dir)

    @property
    def metrics_path(self) -> Path:
        return Path(self.metrics_dir) if self.metrics_dir else self.var_path / "metrics"

    @property
    def rma_maildrop_path(self) -> Path:
        return (
            Path(self.rma_maildrop_dir) if self.rma_maildrop_dir else self.var_path / "rma-maildrop"
        )

    @property
    def attachments_path(self) -> Path:
        return Path(self.attachments_dir) if self.attachments_dir else self.var_path / "attachments"


# --- showing settings: secrets masked ----------------------------------------------------------


def is_secret(name: str) -> bool:
    """A setting whose value is never shown: its name ends in _key, _secret, _password, _token."""
    return name.endswith(SECRET_SUFFIXES)


def masked_url(text: str) -> str:
    """``postgresql://user:pw@host/db`` → ``postgresql://user:***@host/db``; other text as is."""
    try:
        parts = urllib.parse.urlsplit(text)
        password = parts.password
    except ValueError:  # not a URL (e.g. a bad port): nothing to mask by this rule
        return text
    if not parts.scheme or password is None:
        return text
    userinfo, _, host = parts.netloc.rpartition("@")
    user = userinfo.partition(":")[0]
    return urllib.parse.urlunsplit(parts._replace(netloc=f"{user}:{MASK}@{host}"))


def shown_value(name: str, value: object) -> object:
    """``value`` as a person may see it: a secret set is ``***``, a URL's password too."""
    if is_secret(name) and value not in (None, ""):
        return MASK
    if isinstance(value, str):
        return masked_url(value)
    return value
