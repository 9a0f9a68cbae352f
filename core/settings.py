"""Settings from environment variables; every default works on a fresh clone."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated

import msgspec

from core.errors import ServerError
from core.limits import DbTimeouts, YamlLimits

DEFAULT_DATABASE_URL = "sqlite:///var/casetrack.db"
Positive = Annotated[int, msgspec.Meta(gt=0)]
Seconds = Annotated[float, msgspec.Meta(ge=0)]  # 0 allowed (e.g. no statement limit)
PositiveSeconds = Annotated[float, msgspec.Meta(gt=0)]


class SettingsError(ServerError):
    """A CASETRACK_* variable holds a value of the wrong kind."""

    title = "invalid setting"


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
    http_max_header_bytes: Positive = 16_384
    http_header_seconds: PositiveSeconds = 10.0

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
            raise SettingsError(_variable_named(str(exc))) from None

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
    def attachments_path(self) -> Path:
        return Path(self.attachments_dir) if self.attachments_dir else self.var_path / "attachments"
