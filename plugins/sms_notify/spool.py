"""The embedded default SMS channel: one JSON file per notice in a spool directory."""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path
from urllib.parse import quote

from plugins.sms_notify.gateway import (
    Clock,
    Delivery,
    LazyTemplates,
    Notice,
    NoticeTemplateError,
    TransientDeliveryError,
    prepare,
    utc_now,
)
from plugins.sms_notify.phones import PhoneNumberError

_NAME_MAX = 200  # bytes; file systems allow 255 for a name, leave room for ".json" and temp files


def spool_name(idempotency_key: str) -> str:
    """A file name per key: the key percent-encoded (distinct keys, distinct names), or its
    SHA-256 if that would be too long for a file name."""
    encoded = quote(idempotency_key, safe="-_.~@+=,")
    if not encoded.strip(".") or len(encoded) > _NAME_MAX:
        encoded = "sha256-" + hashlib.sha256(idempotency_key.encode()).hexdigest()
    return encoded + ".json"


class SpoolSms:
    """Writes each SMS as ``<directory>/<key>.json`` instead of sending it.

    It validates exactly like the gateway (mobile number, template variables, truncation),
    so a bad contact shows up in the embedded setup too, and renders the text in the
    recipient's locale for a person to read. A retry of a notice overwrites its file (the
    name comes from the idempotency key), so nothing is spooled twice. The directory is
    created on the first send, never when the sender is built.
    """

    def __init__(
        self,
        directory: Path | str,
        *,
        templates: LazyTemplates | None = None,
        clock: Clock = utc_now,
    ) -> None:
        self.directory = Path(directory)
        self.templates = templates or LazyTemplates()
        self.clock = clock

    def __repr__(self) -> str:
        return f"SpoolSms({str(self.directory)!r})"

    def send(self, notice: Notice) -> Delivery:
        templates = self.templates.get()
        try:
            sms = prepare(notice, templates)
        except (PhoneNumberError, NoticeTemplateError) as exc:  # permanent, as with the gateway
            return Delivery(status="failed", detail=exc.detail)
        record = {
            "idempotency_key": notice.idempotency_key,
            "channel": notice.channel,
            "template": sms.template,
            "locale": sms.locale,
            "template_code": sms.template_code,
            "recipient": {
                "name": notice.recipient.name,
                "phone": sms.number.e164,
                "locale": notice.recipient.locale,
            },
            "variables": sms.params,
            "truncated": list(sms.truncated),
            "text": sms.text,
            "spooled_at": self.clock().isoformat(),
        }
        path = self.directory / spool_name(notice.idempotency_key)
        try:
            _write_atomically(path, json.dumps(record, ensure_ascii=False, indent=2) + "\n")
        except OSError as exc:  # a full or unmounted disk may come back: let the caller retry
            raise TransientDeliveryError(f"cannot write the SMS spool file {path}: {exc}") from exc
        return Delivery(
            status="sent",
            detail=f"spooled to {path} (no SMS gateway configured)",
            provider_id=path.name,
        )


def _write_atomically(path: Path, text: str) -> None:
    """Write then rename, so a reader never sees half a file and a retry replaces it whole."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".json")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
