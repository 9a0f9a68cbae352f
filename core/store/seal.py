"""Keyed seals of the case history: HMAC-SHA256 with a key kept outside the database.

The hash chain (core.store.history) proves that events were not changed one by one, but anyone who
can write to the database can recompute plain SHA-256. A seal is an HMAC over a chain value
with the *audit key*: without the key nobody can make a seal that ``audit verify`` accepts.

- every event's ``mac`` seals its ``hash`` (which covers the case number, seq and prev_hash);
- every case's ``head_mac`` seals (number, last_seq, last_hash): the whole chain, so a cut
  tail or a rewritten chain is found even where events carry no seal (written before sealing);
- every numbering counter's ``mac`` seals (prefix, year, last): a deleted newest case cannot
  be hidden by moving the counter back.

The key: ``CASETRACK_AUDIT_KEY`` (``Settings.audit_key``, at least 32 characters), else the
embedded default ``<var_dir>/audit.key`` (created 0600 by the writers, like secret.key).
Writers find the key in ``session.info[KEY_INFO]`` (``core.store.db.make_sessionmaker``).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import Any

from core.errors import AuditKeyError
from core.settings import Settings
from core.store.keyfiles import check_private, create_private

KEY_FILE = "audit.key"
KEY_INFO = "audit_key"  # the sessionmaker's info key the writers read
MIN_KEY_CHARS = 32


def load_audit_key(settings: Settings, *, create: bool = False) -> bytes | None:
    """The audit key: ``settings.audit_key``, else ``<var_dir>/audit.key``.

    ``create`` (the writers: server, worker, demo) makes the file when it is missing; a
    reader (``audit verify``) never creates one and gets None when there is no key at all.
    """
    if settings.audit_key is not None and settings.audit_key.strip():
        return _checked(settings.audit_key.strip(), "CASETRACK_AUDIT_KEY")
    path = settings.var_path / KEY_FILE
    if not path.exists():
        if not create:
            return None
        create_private(path, (secrets.token_hex(32) + "\n").encode("ascii"))
    check_private(path, AuditKeyError)
    try:
        text = path.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise AuditKeyError(f"cannot read {path}: {exc}") from exc
    return _checked(text, str(path))


def _checked(text: str, source: str) -> bytes:
    if len(text) < MIN_KEY_CHARS:
        raise AuditKeyError(
            f"{source}: the audit key needs at least {MIN_KEY_CHARS} characters "
            "(make one with `python -c 'import secrets; print(secrets.token_hex(32))'`)"
        )
    return text.encode("utf-8")


# --- the seals -----------------------------------------------------------------------------
# each kind of seal has its own label, so one can never be passed off as another


def _mac(key: bytes, label: str, *parts: object) -> str:
    message = "\x00".join([label, *(str(part) for part in parts)]).encode("utf-8")
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def event_seal(key: bytes, event_hash: str) -> str:
    return _mac(key, "casetrack-event-v1", event_hash)


def head_seal(key: bytes, number: str, last_seq: int, last_hash: str) -> str:
    return _mac(key, "casetrack-head-v1", number, last_seq, last_hash)


def counter_seal(key: bytes, prefix: str, year: int, last: int) -> str:
    return _mac(key, "casetrack-counter-v1", prefix, year, last)


def matches(expected: str, stored: str | None) -> bool:
    """Constant-time comparison; a missing seal never matches."""
    return stored is not None and hmac.compare_digest(expected, stored)


def key_of(info: dict[str, Any]) -> bytes | None:
    """The audit key a session carries (None: this writer seals nothing)."""
    key = info.get(KEY_INFO)
    return key if isinstance(key, bytes) else None
