"""Private key files in var/ (the credential key, the audit key): made once, 0600 from the
start, and refused when others can read them."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from core.errors import CasetrackError


def create_private(path: Path, content: bytes) -> None:
    """Write ``content`` to a private temp file, then link it in place: two processes starting
    together never see a half-written file, and the loser keeps the winner's key."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    # O_EXCL + 0600 from the start: the key is never readable by others, whatever the umask
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(content)
            handle.flush()
            os.fsync(handle.fileno())
        with contextlib.suppress(FileExistsError):  # the other starter won: keep its key
            os.link(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def check_private(path: Path, error: type[CasetrackError]) -> None:
    """Refuse (``error``) a key file others can read, as ssh does with private keys (POSIX)."""
    if os.name != "posix":
        return
    mode = path.stat().st_mode & 0o777
    if mode & 0o077:
        raise error(f"{path} is accessible by others (mode {mode:04o}): chmod 600 {path}")
