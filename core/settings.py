"""Settings from environment variables; every default works on a fresh clone."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import msgspec

DEFAULT_DATABASE_URL = "sqlite:///var/casetrack.db"


class Settings(msgspec.Struct, frozen=True, kw_only=True):
    """What casetrack needs to run; ``Settings.from_env()`` reads ``CASETRACK_*`` variables."""

    database_url: str = DEFAULT_DATABASE_URL
    case_prefix: str = "MS"  # 铭升: the service company's case numbers, e.g. MS-2026-000042
    secret_key: str | None = None  # Fernet key for credentials; embedded default: var/secret.key
    contracts_dir: str = "contracts"
    token_cache_seconds: float = 10.0  # how long a server trusts a token it looked up
    timezone: str = "Asia/Shanghai"  # the desk's zone: case-number years, default --tz
    var_dir: str = "var"
    broker_url: str = ""  # dramatiq: redis://…, amqp://…, or empty for in-process

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        values = {
            field: env[f"CASETRACK_{field.upper()}"]
            for field in cls.__struct_fields__
            if f"CASETRACK_{field.upper()}" in env
        }
        return msgspec.convert(values, cls)

    @property
    def var_path(self) -> Path:
        return Path(self.var_dir)
