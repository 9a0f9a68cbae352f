"""The content-addressed file store: attachments (signed on-site reports, photos) by SHA-256.

A blob's name is the SHA-256 of its bytes, so the same file stored twice is one blob and a
blob that was changed no longer matches its name: ``casetrack audit verify`` rehashes every
blob an event references (core.store.audit). The default back end is a local directory
(``attachments_dir``, default ``<var_dir>/attachments``); ``attachments_store =
"s3://bucket/prefix"`` puts them on an S3-compatible server instead (core.store.s3_blobs);
``open_blobs`` picks one by the settings. What may be stored is checked here: the size limit
and the type from the file's first bytes (its magic number), never from what the client
claims.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from core.errors import ClientError, ServerError, Unavailable

if TYPE_CHECKING:
    from core.settings import Settings

# the file types an attachment may be, by their first bytes (magic numbers)
MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"%PDF-", "application/pdf"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
)
ALLOWED = ", ".join(sorted({media for _, media in MAGIC}))


class AttachmentRejected(ClientError):
    """An attachment the store refuses, or one a step names that this case never uploaded."""

    title = "attachment rejected"


class AttachmentTooLarge(AttachmentRejected):
    """An upload larger than ``attachment_max_bytes`` (HTTP 413)."""

    title = "attachment too large"


class AttachmentType(AttachmentRejected):
    """An upload whose bytes are not a PDF, JPEG or PNG, whatever its content-type (415)."""

    title = "unsupported attachment type"


class UnknownAttachment(AttachmentRejected):
    """A step names a SHA-256 that was not uploaded to this case (422)."""

    title = "unknown attachment"


class BlobStoreError(ServerError):
    """The store cannot be written or read (its directory, permissions, disk)."""

    title = "attachment store unavailable"


class BlobStoreUnavailable(BlobStoreError, Unavailable):
    """The store's server cannot be reached now, times out or answers 5xx (HTTP 503)."""

    title = "attachment store unavailable"


class BlobMissing(BlobStoreError):
    """A blob the database says was uploaded is not in the store (lost or deleted there)."""

    title = "attachment missing from the store"


class BlobCorrupt(BlobStoreError):
    """A blob's bytes no longer hash to its name, or have another size than uploaded."""

    title = "attachment corrupt in the store"


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sniff(data: bytes) -> str | None:
    """The media type the bytes themselves say, or None when they are none we accept."""
    for magic, media in MAGIC:
        if data.startswith(magic):
            return media
    return None


def check_upload(data: bytes, *, max_bytes: int, claimed: str | None = None) -> str:
    """The upload's media type by its magic bytes; raises AttachmentTooLarge or
    AttachmentType naming the problem (``claimed`` is the client's content-type, only shown)."""
    if len(data) > max_bytes:
        raise AttachmentTooLarge(
            f"the file has {len(data)} bytes; attachments may have at most {max_bytes} "
            "(setting attachment_max_bytes)"
        )
    if not data:
        raise AttachmentType(f"the file is empty; attachments are {ALLOWED}")
    media = sniff(data)
    if media is None:
        said = f" (sent as {claimed})" if claimed else ""
        raise AttachmentType(
            f"the file's bytes are not one of {ALLOWED}{said}: its type is read from its "
            "content, not from its name or content-type"
        )
    return media


class BlobStore(Protocol):
    """Where attachment bytes live, by their SHA-256."""

    def put(self, data: bytes) -> str:
        """Store ``data`` (idempotent); its SHA-256."""
        ...

    def get(self, sha256: str) -> bytes | None:
        """The bytes stored as ``sha256``, or None when there is no such blob."""
        ...


@dataclass(frozen=True)
class LocalBlobs:
    """Blobs as files ``<root>/<sha256[:2]>/<sha256>``, written atomically (temp + rename)."""

    root: Path

    def path(self, sha256: str) -> Path:
        if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
            raise ValueError(f"not a SHA-256: {sha256!r}")
        return self.root / sha256[:2] / sha256

    def put(self, data: bytes) -> str:
        digest = sha256_hex(data)
        target = self.path(digest)
        if target.is_file():
            return digest
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            fd, temp = tempfile.mkstemp(dir=target.parent, prefix=".upload-")
            with os.fdopen(fd, "wb") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
            os.replace(temp, target)
        except OSError as exc:
            raise BlobStoreError(f"cannot store an attachment in {self.root}: {exc}") from exc
        return digest

    def get(self, sha256: str) -> bytes | None:
        try:
            return self.path(sha256).read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise BlobStoreError(f"cannot read attachment {sha256}: {exc}") from exc


def blob_problem(store: BlobStore, sha256: str) -> str | None:
    """Why the blob ``sha256`` is not intact (missing, or its bytes hash otherwise), or None."""
    data = store.get(sha256)
    if data is None:
        return f"attachment {sha256} is missing from the store"
    actual = sha256_hex(data)
    if actual != sha256:
        return f"attachment {sha256} was changed: its bytes now hash to {actual}"
    return None


def read_blob(store: BlobStore, sha256: str, size: int) -> bytes:
    """The blob's bytes, checked against its name and the size recorded at upload; raises
    BlobMissing or BlobCorrupt (never hands out bytes the audit would reject)."""
    data = store.get(sha256)
    if data is None:
        raise BlobMissing(f"attachment {sha256} ({size} bytes) is missing from the store")
    actual = sha256_hex(data)
    if actual != sha256 or len(data) != size:
        raise BlobCorrupt(
            f"attachment {sha256} was changed in the store: {len(data)} bytes hashing to "
            f"{actual}, uploaded as {size} bytes"
        )
    return data


def open_blobs(settings: Settings) -> BlobStore:
    """The store the settings name: the S3-compatible one for ``attachments_store =
    s3://...``, else the local directory."""
    if settings.attachments_store:
        from core.store.s3_blobs import s3_blobs

        return s3_blobs(settings)
    return LocalBlobs(settings.attachments_path)
