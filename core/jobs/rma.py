"""The scheduler's RMA work: poll open RMAs that are due, and read the vendor mail drop.

Polling claims due orders with a lease (core.desk.rma.claim_due_rmas: SKIP LOCKED on
PostgreSQL, one writer at a time on SQLite), so two schedulers never ask the vendor about
the same order at once; the claimed orders of a channel with ``status_many`` (Cisco TAC: 30
cases a call) are asked in batches, the others one by one; the answers, failures, back-off
and escalations are recorded by the desk.

The mail drop is a directory a local MTA delivers vendor replies to (``*.eml`` files, or a
maildir's ``new/``). Each file is claimed by renaming it into ``processing/`` (atomic: two
schedulers never read one file), then moved to ``done/`` once its updates are committed, or
to ``failed/`` beside a ``.reason.txt`` when it cannot be read or names no RMA of ours. A
file whose pass died (database away, crash) goes back to the drop and is read again; a
second reading records nothing new. No file is ever deleted.
"""

from __future__ import annotations

import os
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from core.errors import ClientError, ConflictError
from core.rma import RmaChannelUnavailable
from core.store.logsafe import describe

if TYPE_CHECKING:
    from core.runtime import Runtime

__all__ = ["RmaPass", "ingest_maildrop", "poll_rmas", "rma_pass"]

SUFFIX = ".eml"
PROCESSING, DONE = "processing", "done"
FAILED = "failed/".rstrip("/")  # a folder, not a NotificationState (tests/test_vocabulary.py)


@dataclass
class RmaPass:
    """What one RMA pass did."""

    polled: int = 0
    failed: int = 0  # the vendor could not be reached (retry planned)
    ingested: int = 0  # mail files read and recorded
    rejected: int = 0  # mail files moved to failed/
    errors: list[str] = field(default_factory=list)

    def quiet(self) -> bool:
        return not (self.polled or self.ingested or self.rejected or self.errors)

    def line(self) -> str:
        return (
            f"rma: {self.polled} polled ({self.failed} vendor failures), "
            f"{self.ingested} mails read, {self.rejected} mails failed"
        )


def rma_pass(runtime: Runtime, *, now: datetime, limit: int = 100, batched: bool = True) -> RmaPass:
    """Poll due RMAs, then read the mail drop; a failure of one part is reported, not raised,
    so the rest of the scheduler's pass still runs."""
    report = RmaPass()
    try:
        poll_rmas(runtime, now=now, limit=limit, report=report, batched=batched)
    except Exception as exc:  # database away: the claims lapse and the next pass retries
        report.errors.append(f"rma poll: {describe(exc)}")
    try:
        ingest_maildrop(runtime, now=now, report=report)
    except OSError as exc:
        report.errors.append(f"rma mail drop: {exc}")
    return report


def poll_rmas(
    runtime: Runtime,
    *,
    now: datetime,
    limit: int = 100,
    report: RmaPass | None = None,
    batched: bool = True,
) -> RmaPass:
    """Claim up to ``limit`` due orders and ask their vendors: a channel with
    ``status_many`` once per batch (core.desk.rma ``poll_rmas``), any other order by order;
    each answer recorded in its own transaction. ``batched=False`` asks every order alone
    (the benchmark's baseline)."""
    report = report or RmaPass()
    owner = uuid.uuid4().hex
    claimed = runtime.desk.claim_due_rmas(now=now, owner=owner, limit=limit)
    if batched:
        views = runtime.desk.poll_rmas(claimed, owner=owner, now=now)
    else:
        views = [runtime.desk.poll_rma(order_id, owner=owner, now=now) for order_id in claimed]
    for view in views:
        report.polled += 1
        if view.failures and view.last_error and view.updated_at == now:
            report.failed += 1
    return report


def ingest_maildrop(
    runtime: Runtime,
    *,
    now: datetime,
    directory: Path | None = None,
    channel: str | None = None,
    report: RmaPass | None = None,
) -> RmaPass:
    """Read every new file of the mail drop through ``channel``'s parser (see the module
    docstring for where each file ends up)."""
    settings = runtime.settings
    report = report or RmaPass()
    drop = directory or settings.rma_maildrop_path
    channel = channel or settings.rma_maildrop_channel
    if not drop.is_dir():
        return report
    _release_stale(drop, settings.rma_lease_seconds)
    for path in _new_files(drop):
        claimed = _claim(path, drop)
        if claimed is None:
            continue  # another scheduler took it
        try:
            runtime.desk.ingest_rma_message(channel, claimed.read_bytes(), now=now)
        except ConflictError as exc:
            if not isinstance(exc, RmaChannelUnavailable):  # the case changed meanwhile
                os.replace(claimed, drop / claimed.name)  # read again on the next pass
                report.errors.append(f"rma mail drop: {claimed.name}: {exc.detail}")
                continue
            _move(claimed, drop / FAILED, reason=f"{type(exc).__name__}: {exc.detail}")
            report.rejected += 1
            continue
        except ClientError as exc:  # unreadable, or no RMA of ours: a person looks at it
            _move(claimed, drop / FAILED, reason=f"{type(exc).__name__}: {exc.detail}")
            report.rejected += 1
            continue
        except Exception:
            os.replace(claimed, drop / claimed.name)  # back to the drop: read again later
            raise
        _move(claimed, drop / DONE)
        report.ingested += 1
    return report


def _new_files(drop: Path) -> list[Path]:
    """``*.eml`` in the drop and every file of a maildir's ``new/``, oldest first."""
    found = [p for p in drop.glob(f"*{SUFFIX}") if p.is_file() and not p.name.startswith(".")]
    maildir = drop / "new"
    if maildir.is_dir():
        found += [p for p in maildir.iterdir() if p.is_file() and not p.name.startswith(".")]
    return sorted(found, key=lambda p: (p.stat().st_mtime, p.name))


def _claim(path: Path, drop: Path) -> Path | None:
    target = drop / PROCESSING / _unique_name(drop / PROCESSING, path.name)
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.rename(path, target)
    except FileNotFoundError:
        return None
    os.utime(target)  # the claim's time: a stale claim is released by its age
    return target


def _release_stale(drop: Path, lease_seconds: float) -> None:
    """Files left in processing/ by a pass that died go back to the drop."""
    processing = drop / PROCESSING
    if not processing.is_dir():
        return
    cutoff = time.time() - lease_seconds
    for path in processing.iterdir():
        if path.is_file() and path.stat().st_mtime < cutoff:
            try:
                os.rename(path, drop / _unique_name(drop, path.name))
            except FileNotFoundError:
                continue


def _move(path: Path, folder: Path, *, reason: str | None = None) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    name = _unique_name(folder, path.name)
    if reason is not None:
        (folder / f"{name}.reason.txt").write_text(reason + "\n", encoding="utf-8")
    os.replace(path, folder / name)


def _unique_name(folder: Path, name: str) -> str:
    """``name``, or ``name`` with a counter when the folder already has one (never overwrite)."""
    if not name.endswith(SUFFIX):
        name += SUFFIX  # a maildir's file names carry no suffix
    if not (folder / name).exists():
        return name
    stem = name[: -len(SUFFIX)]
    n = 1
    while (folder / f"{stem}.{n}{SUFFIX}").exists():
        n += 1
    return f"{stem}.{n}{SUFFIX}"
