"""Remote-access credentials: encrypted at rest with Fernet, never printed (R-RESP)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import msgspec
from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from core.errors import CredentialsUnreadable, SecretKeyError
from core.settings import Settings
from core.store.keyfiles import check_private, create_private

KEY_FILE = "secret.key"
MASK = "******"


class RemoteCredentials(
    msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True, omit_defaults=True
):
    """What the customer hands over for remote access (远程支持): the customer's secrets.

    The handbook lists the network login password, the dial-up number, the device's IP
    address and the operator's name and password. repr() and str() show only which fields
    are set, never a value, so an accidental log line or traceback cannot leak them.
    """

    login: str | None = None
    password: str | None = None
    dial_up_number: str | None = None
    device_ip: str | None = None
    operator: str | None = None
    operator_password: str | None = None
    notes: str | None = None

    def to_mapping(self) -> dict[str, str]:
        """The set fields as a plain dict, ready for ``CredentialVault.encrypt``."""
        return {k: v for k, v in msgspec.structs.asdict(self).items() if v is not None}

    @classmethod
    def from_mapping(cls, values: Mapping[str, str]) -> RemoteCredentials:
        """From ``CredentialVault.decrypt``'s dict; unknown keys are refused (typos)."""
        try:
            return msgspec.convert(dict(values), cls)
        except msgspec.ValidationError as exc:
            # the message names a key or a type, never a value
            raise CredentialsUnreadable(f"not remote-access credentials: {exc}") from exc

    def _set_fields(self) -> list[str]:
        return [name for name in self.__struct_fields__ if getattr(self, name) is not None]

    def __repr__(self) -> str:
        shown = ", ".join(f"{name}={MASK}" for name in self._set_fields())
        return f"RemoteCredentials({shown})"

    __str__ = __repr__

    def __rich_repr__(self) -> list[tuple[str, Any]]:  # msgspec.Struct's signature
        return [(name, MASK) for name in self._set_fields()]


def redact(credentials: Mapping[str, Any] | RemoteCredentials) -> dict[str, str]:
    """The same keys with every value masked, for logs and listings."""
    if isinstance(credentials, RemoteCredentials):
        credentials = credentials.to_mapping()
    return dict.fromkeys(credentials, MASK)


class CredentialVault:
    """Encrypts credential mappings with Fernet (AES-128-CBC + HMAC-SHA256, timestamped).

    ``key`` is one Fernet key or a comma-separated list of them: the first encrypts, every one
    decrypts (MultiFernet), so a key is rotated by putting the new key first, running
    ``rotate`` over the stored tokens, then dropping the old key.
    """

    def __init__(self, key: bytes | str) -> None:
        text = key.decode("ascii", "replace") if isinstance(key, bytes) else key
        parts = [part.strip() for part in text.split(",") if part.strip()]
        if not parts:
            raise SecretKeyError("no secret key given (set CASETRACK_SECRET_KEY or var/secret.key)")
        fernets: list[Fernet] = []
        for i, part in enumerate(parts, 1):
            try:
                fernets.append(Fernet(part))
            except (ValueError, TypeError) as exc:
                # name the position, never the key itself
                raise SecretKeyError(
                    f"secret key {i} of {len(parts)} is not a Fernet key (32 url-safe "
                    "base64-encoded bytes; make one with Fernet.generate_key())"
                ) from exc
        self._fernet = MultiFernet(fernets)
        self._count = len(fernets)

    def __repr__(self) -> str:
        return f"CredentialVault(keys={self._count})"

    def encrypt(self, credentials: Mapping[str, str]) -> bytes:
        """A Fernet token of the JSON-encoded mapping (string keys and values only)."""
        values = dict(credentials)
        for name, value in values.items():
            if not isinstance(name, str) or not isinstance(value, str):
                raise TypeError(f"credential {name!r}: keys and values must be strings")
        return self._fernet.encrypt(msgspec.json.encode(values))

    def decrypt(self, token: bytes) -> dict[str, str]:
        """The mapping back; CredentialsUnreadable if no key opens the token."""
        try:
            plain = self._fernet.decrypt(token)
        except (InvalidToken, TypeError) as exc:
            raise CredentialsUnreadable(
                "stored credentials cannot be decrypted with the configured key(s): "
                "wrong key, key rotated away, or the token is damaged"
            ) from exc
        try:
            return msgspec.json.decode(plain, type=dict[str, str])
        except msgspec.DecodeError as exc:
            raise CredentialsUnreadable("decrypted credentials are not a string mapping") from exc

    def rotate(self, token: bytes) -> bytes:
        """``token`` re-encrypted with the first key (after putting a new key first)."""
        try:
            return self._fernet.rotate(token)
        except (InvalidToken, TypeError) as exc:
            raise CredentialsUnreadable(
                "stored credentials cannot be decrypted with the configured key(s)"
            ) from exc


def load_key(settings: Settings) -> str:
    """``settings.secret_key`` (CASETRACK_SECRET_KEY) if set, else the embedded default.

    The embedded default is ``<var_dir>/secret.key``: created on first use with a new Fernet
    key and file mode 0600 (owner read/write only), reused afterwards. Fine for one host; a
    deployment with several hosts sets CASETRACK_SECRET_KEY so they all share the key.
    """
    if settings.secret_key is not None and settings.secret_key.strip():
        return settings.secret_key.strip()
    path = settings.var_path / KEY_FILE
    if not path.exists():
        create_private(path, Fernet.generate_key() + b"\n")
    check_private(path, SecretKeyError)
    try:
        key = path.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise SecretKeyError(f"cannot read {path}: {exc}") from exc
    if not key:
        raise SecretKeyError(f"{path} is empty: delete it to make a new key (old tokens are lost)")
    return key
