"""The content-addressed attachment store on an S3-compatible server (AWS S3, MinIO, Ceph RGW).

A blob is the object ``<prefix>/<sha256[:2]>/<sha256>`` in the bucket of the
``attachments_store`` setting (``s3://bucket/prefix``). An upload sends its SHA-256
(``ChecksumSHA256``) so the server refuses bytes damaged on the way; a blob already there is
not sent again. What the server says is turned into casetrack's errors: a server that cannot be
reached, times out, answers 5xx or throttles is ``BlobStoreUnavailable`` (503, try again); a
missing bucket or refused credentials is ``BlobStoreError`` (500, an operator acts). The access
keys appear in no repr, log line or error text.
"""

from __future__ import annotations

import base64
import hashlib
import urllib.parse
from dataclasses import dataclass
from typing import Any

from core.settings import Settings, SettingsError, masked_url
from core.store.blobs import BlobStoreError, BlobStoreUnavailable, sha256_hex

# what an S3 server answers when it is the server's trouble, not ours: try again later
_TRANSIENT_CODES = frozenset(
    {
        "InternalError",
        "ServiceUnavailable",
        "SlowDown",
        "RequestTimeout",
        "RequestTimeTooSkewed",
        "Throttling",
        "ThrottlingException",
    }
)
_MISSING_CODES = frozenset({"NoSuchKey", "404", "NotFound"})


@dataclass(frozen=True)
class S3Location:
    """``s3://bucket/prefix`` read apart; the prefix without slashes at its ends."""

    bucket: str
    prefix: str

    @classmethod
    def parse(cls, url: str) -> S3Location:
        parts = urllib.parse.urlsplit(url)
        if parts.scheme != "s3" or not parts.netloc or parts.query or parts.fragment:
            raise SettingsError(
                f"CASETRACK_ATTACHMENTS_STORE: expected s3://bucket/prefix (or empty for the "
                f"attachments directory), not {url!r}"
            )
        return cls(bucket=parts.netloc, prefix=parts.path.strip("/"))

    def key(self, sha256: str) -> str:
        if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
            raise ValueError(f"not a SHA-256: {sha256!r}")
        name = f"{sha256[:2]}/{sha256}"
        return f"{self.prefix}/{name}" if self.prefix else name


class S3Blobs:
    """Blobs as objects of an S3-compatible bucket (``core.store.blobs.BlobStore``)."""

    def __init__(self, client: Any, location: S3Location, *, endpoint: str = "") -> None:
        self._client = client
        self.location = location
        self.endpoint = masked_url(endpoint)  # only for messages: never a password in them

    def __repr__(self) -> str:
        where = f" at {self.endpoint}" if self.endpoint else ""
        return f"S3Blobs(s3://{self.location.bucket}/{self.location.prefix}{where})"

    def put(self, data: bytes) -> str:
        digest = sha256_hex(data)
        key = self.location.key(digest)
        if self._exists(key):
            return digest
        checksum = base64.b64encode(hashlib.sha256(data).digest()).decode("ascii")
        self._call(
            "store",
            key,
            self._client.put_object,
            Bucket=self.location.bucket,
            Key=key,
            Body=data,
            ContentLength=len(data),
            ChecksumSHA256=checksum,
        )
        return digest

    def get(self, sha256: str) -> bytes | None:
        key = self.location.key(sha256)
        try:
            answer = self._call(
                "read", key, self._client.get_object, Bucket=self.location.bucket, Key=key
            )
        except _Missing:
            return None
        return self._read_body(answer, key)

    def _exists(self, key: str) -> bool:
        try:
            self._call(
                "look up", key, self._client.head_object, Bucket=self.location.bucket, Key=key
            )
        except _Missing:
            return False
        return True

    def _read_body(self, answer: dict[str, Any], key: str) -> bytes:
        from botocore.exceptions import BotoCoreError

        try:
            return bytes(answer["Body"].read())
        except BotoCoreError as exc:  # the connection broke while the body came
            raise self._unavailable("read", key, type(exc).__name__) from None

    def _call(self, doing: str, key: str, method: Any, **params: Any) -> Any:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return method(**params)
        except ClientError as exc:
            raise self._client_error(doing, key, exc) from None
        except BotoCoreError as exc:  # no connection, a timeout, a broken response
            raise self._unavailable(doing, key, type(exc).__name__) from None

    def _client_error(self, doing: str, key: str, exc: Any) -> Exception:
        error = exc.response.get("Error", {})
        code = str(error.get("Code", ""))
        status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
        if code in _MISSING_CODES and doing != "store":
            return _Missing()
        if code in _TRANSIENT_CODES or status >= 500:
            return self._unavailable(doing, key, f"{code or status}")
        return BlobStoreError(
            f"cannot {doing} attachment object {key!r} in bucket {self.location.bucket!r}"
            f"{self._where()}: the server answered {code or status}"
            f" ({error.get('Message', 'no message')}); check the bucket and the access keys"
            " (attachments_store, attachments_s3_*)"
        )

    def _unavailable(self, doing: str, key: str, why: str) -> BlobStoreUnavailable:
        return BlobStoreUnavailable(
            f"cannot {doing} attachment object {key!r} in bucket {self.location.bucket!r}"
            f"{self._where()} now ({why}); try again later"
        )

    def _where(self) -> str:
        return f" at {self.endpoint}" if self.endpoint else ""


class _Missing(Exception):
    """No such object (internal: ``get`` answers None, ``put`` uploads)."""


def s3_blobs(settings: Settings) -> S3Blobs:
    """The S3 store the settings name: its client with their endpoint, region, keys, timeout."""
    import boto3
    from botocore.config import Config

    location = S3Location.parse(settings.attachments_store)
    seconds = settings.attachments_s3_timeout_seconds
    config = Config(
        connect_timeout=seconds,
        read_timeout=seconds,
        retries={"mode": "standard", "total_max_attempts": 2},
        region_name=settings.attachments_s3_region or None,
    )
    client = boto3.session.Session().client(
        "s3",
        endpoint_url=settings.attachments_s3_endpoint_url or None,
        aws_access_key_id=settings.attachments_s3_access_key or None,
        aws_secret_access_key=settings.attachments_s3_secret_key or None,
        config=config,
    )
    return S3Blobs(client, location, endpoint=settings.attachments_s3_endpoint_url)
