"""The host's metrics directory: every casetrack process of a host writes its Prometheus values
there (prometheus_client's multiprocess mode), and one scrape sums them (docs/ops/metrics.md).

`casetrack serve` empties it of the files of processes that have ended and points its worker
processes at it; `casetrack scheduler` and `casetrack worker` write to the same directory and,
with ``--metrics-port``, serve its sums themselves.
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from prometheus_client import Gauge

ENV = "PROMETHEUS_MULTIPROC_DIR"
LIVE_MODES = ("liveall", "livemin", "livemax", "livesum", "livemostrecent")


@contextmanager
def multiprocess(directory: Path, *, clean: bool = False) -> Iterator[Path]:
    """This process and those it starts write their metrics to ``directory`` (created; with
    ``clean``, emptied of the files of processes no longer running). Leaving restores the
    environment: a command run inside a test leaves no trace in the test process."""
    directory.mkdir(parents=True, exist_ok=True)
    if clean:
        remove_ended(directory)
    previous = os.environ.get(ENV)
    os.environ[ENV] = str(directory.resolve())
    _choose_value_class()
    try:
        yield directory
    finally:
        if previous is None:
            os.environ.pop(ENV, None)
        else:
            os.environ[ENV] = previous
        _choose_value_class()


def _choose_value_class() -> None:
    """prometheus_client picks in-memory or file-backed values when it is first imported; a
    module that imported it before the directory was chosen must not keep the wrong kind."""
    values = sys.modules.get("prometheus_client.values")
    if values is not None:
        values.ValueClass = values.get_value_class()  # type: ignore[attr-defined]


def pid_of(path: Path) -> int | None:
    """``counter_4242.db`` → 4242 (prometheus_client names each process's files so)."""
    tail = path.stem.rpartition("_")[2]
    return int(tail) if tail.isdigit() else None


def running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's process: alive
    return True


def remove_ended(directory: Path) -> int:
    """Delete the files of processes that no longer run (a previous run's); how many."""
    removed = 0
    for path in directory.glob("*.db"):
        pid = pid_of(path)
        if pid is not None and pid != os.getpid() and not running(pid):
            path.unlink(missing_ok=True)
            removed += 1
    return removed


def mark_ended(directory: Path) -> list[int]:
    """``mark_process_dead`` for each process with live gauges that no longer runs: its
    requests in progress and its presence leave the sums (its counters stay)."""
    from prometheus_client.multiprocess import mark_process_dead

    ended = set()
    for mode in LIVE_MODES:
        for path in directory.glob(f"gauge_{mode}_*.db"):
            pid = pid_of(path)
            if pid is not None and not running(pid):
                ended.add(pid)
    for pid in sorted(ended):
        try:
            mark_process_dead(pid, str(directory))
        except FileNotFoundError:  # another process's reaper removed it first
            continue
    return sorted(ended)


def mark_this_process_ended() -> None:
    """This process stops: its live gauges leave the sums."""
    directory = os.environ.get(ENV)
    if directory:
        from prometheus_client.multiprocess import mark_process_dead

        mark_process_dead(os.getpid(), directory)


class Reaper:
    """A thread marking ended processes every ``interval`` seconds (a worker uvicorn replaced,
    a scheduler that was killed), so the live gauges count only the living."""

    def __init__(self, directory: Path, interval: float = 2.0) -> None:
        self.directory, self.interval = directory, interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="casetrack-metrics", daemon=True)

    def __enter__(self) -> Reaper:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(self.interval + 1)
        mark_ended(self.directory)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                mark_ended(self.directory)
            except OSError:  # a file removed under us: the next round sees the rest
                continue


@cache
def _live_processes() -> Gauge:
    from prometheus_client import Gauge

    return Gauge(
        "casetrack_live_processes",
        "casetrack processes running on this host, by role (api, scheduler, worker).",
        ["role"],
        multiprocess_mode="livesum",
    )


def announce(role: str) -> None:
    """Count this process as a living ``role`` (it leaves the sum when marked ended)."""
    _live_processes().labels(role=role).set(1)


def serve_metrics(host: str, port: int) -> str:
    """Serve ``/metrics`` of the host's registry on a daemon thread; the URL."""
    from prometheus_client import start_http_server

    from core.jobs.metrics import host_registry

    start_http_server(port, addr=host, registry=host_registry(os.environ[ENV]))
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}/metrics"
