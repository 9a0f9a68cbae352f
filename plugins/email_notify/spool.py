"""The embedded default e-mail channel: each message as an RFC 5322 ``.eml`` file in a spool."""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote

import jinja2

from plugins.email_notify.sender import (
    ComposingSender,
    Delivery,
    Notice,
    TransientDeliveryError,
    parse_sender,
)

# the sender when CASETRACK_SMTP_FROM is not set: plainly a demo, never a real mailbox.
# "localhost.localdomain" rather than "localhost": is_valid_address wants two labels.
DEFAULT_SPOOL_SENDER = "casetrack demo <casetrack@localhost.localdomain>"
SUFFIX = ".eml"
_NAME_MAX = 200  # bytes; file systems allow 255 for a name, leave room for the temp suffix


def spool_name(idempotency_key: str) -> str:
    """A file name per key: the key percent-encoded (distinct keys, distinct names), or its
    SHA-256 if that would be too long for a file name or is only dots. A leading dot is
    encoded too: no message hides as a dot file, and dot files are the spool's temporaries."""
    encoded = quote(idempotency_key, safe="-_.~@+=,")
    if encoded.startswith("."):
        encoded = "%2E" + encoded[1:]  # "%" itself is encoded, so no other key gives this
    if not idempotency_key.strip(".") or len(encoded) > _NAME_MAX:
        encoded = "sha256-" + hashlib.sha256(idempotency_key.encode()).hexdigest()
    return encoded + SUFFIX


def _utc_now() -> datetime:
    return datetime.now(UTC)


class SpoolEmail(ComposingSender):
    """Writes each message as ``<directory>/<key>.eml`` instead of sending it over SMTP.

    The file holds the bytes SMTP would carry (``EmailSender`` composes with the same
    ``compose_message``; same headers, same Message-ID from the idempotency key, CRLF line
    ends), so any mail client opens it. One file per key: a notice whose file exists was
    already sent and is not written again, so the file keeps the first attempt's Date. Two
    workers sending the same key at once may both write; the rename leaves one file, and
    both copies carry the same Message-ID. The directory is created on the first send, never
    when the sender is built.
    """

    def __init__(
        self,
        directory: Path | str,
        *,
        sender_address: str = DEFAULT_SPOOL_SENDER,
        clock: Callable[[], datetime] = _utc_now,
        html: bool = True,
        templates: jinja2.Environment | None = None,
    ) -> None:
        self.directory = Path(directory)
        self.sender = parse_sender(sender_address)
        self.clock = clock
        self.html = html
        self.templates = templates

    def __repr__(self) -> str:
        return f"SpoolEmail({str(self.directory)!r}, from={self.sender.addr_spec!r})"

    def send(self, notice: Notice) -> Delivery:
        """Spool ``notice``; a bad address fails and a template error raises, as over SMTP."""
        prepared = self.prepare(notice)
        if isinstance(prepared, Delivery):
            return prepared
        _, message, provider_id = prepared
        path = self.directory / spool_name(notice.idempotency_key)
        if path.exists():
            return Delivery(
                status="sent",
                detail=f"already spooled to {path}: not written twice",
                provider_id=provider_id,
            )
        try:
            _write_atomically(path, message.as_bytes())
        except OSError as exc:  # a full or unmounted disk may come back: let the caller retry
            raise TransientDeliveryError(f"cannot write the mail spool file {path}: {exc}") from exc
        return Delivery(
            status="sent",
            detail=f"spooled to {path} (no SMTP host configured)",
            provider_id=provider_id,
        )


def _write_atomically(path: Path, data: bytes) -> None:
    """Write, flush to disk, then rename: a reader (or a crash) never leaves half a message
    under the final name, which would count as sent."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=".", suffix=SUFFIX + ".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
