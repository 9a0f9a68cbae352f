"""The background loop: scheduler ticks and outbox relay, plus the embedded in-process worker.

`casetrack scheduler` runs it in the foreground; `casetrack serve` runs it on a thread in the
embedded default (no broker URL: an in-process StubBroker and worker, so one process does
everything; the outbox is in the database, so a restart loses nothing).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from core.jobs.documents import document_pass
from core.jobs.inspections import InspectionPass, inspection_pass
from core.jobs.metrics import record_failed_pass, record_pass
from core.jobs.quality import QualityPass, quality_pass
from core.jobs.relay import RelayReport, relay
from core.jobs.reports import report_pass
from core.jobs.rma import RmaPass, rma_pass
from core.jobs.runs import RunPass
from core.jobs.scheduler import TickReport, tick

if TYPE_CHECKING:
    import dramatiq

    from core.jobs.broker import Jobs
    from core.runtime import Runtime

Log = Callable[[str], None]
REPORT_EVERY = 300.0  # seconds between checks for periodic customer reports (docs/reports.md)
log = logging.getLogger("casetrack.scheduler")


@dataclass(frozen=True, slots=True)
class Pass:
    """One pass of the loop: the tick, the RMA polls and mail, and the relay that followed."""

    tick: TickReport
    relay: RelayReport
    rma: RmaPass | None = None
    quality: QualityPass | None = None  # quarter-end results generated (core.jobs.quality)
    inspections: InspectionPass | None = None

    def lines(self) -> list[str]:
        rma = self.rma if self.rma is not None and not self.rma.quiet() else None
        due = self.inspections
        due = due if due is not None and not due.quiet() else None
        quiet = not (self.tick.events or self.tick.errors or self.relay.messages)
        if quiet and rma is None and due is None:
            return []
        lines = [self.tick.line(), self.relay.line(), *(f"  error: {e}" for e in self.tick.errors)]
        if rma is not None:
            lines += [rma.line(), *(f"  error: {e}" for e in rma.errors)]
        if self.quality is not None and self.quality.sent:
            lines.append(f"quality: {', '.join(self.quality.sent)} sent")
        if due is not None:
            lines += [due.line(), *(f"  error: {e}" for e in due.errors)]
        return lines


def one_pass(runtime: Runtime, jobs: Jobs) -> Pass:
    """Open due inspections of maintenance plans, fire due escalation levels (an inspection
    opened late fires at once), poll due RMAs and read the RMA mail drop, generate the
    quarter-end quality results once a quarter is over, then hand due
    notifications (an RMA escalation's too) to the workers; counted in
    the process's job metrics (core/jobs/metrics.py)."""
    now = runtime.clock()
    started = time.perf_counter()  # a duration to report, not a time the logic uses
    try:
        due = inspection_pass(runtime, now=now)
        report = tick(runtime, now=now)
        rma = rma_pass(runtime, now=now)
        quality = quality_pass(runtime, now=now)  # before the relay: its notices go this pass
        done = Pass(report, relay(runtime, jobs, now=now), rma, quality, due)
    except BaseException:
        record_failed_pass(time.perf_counter() - started)
        raise
    record_pass(
        now=now,
        seconds=time.perf_counter() - started,
        events=done.tick.events,
        breaches=done.tick.breaches,
        planned=done.tick.notifications,
        relayed=done.relay.notifications,
    )
    return done


class Background:
    """Runs ``one_pass`` every ``interval`` seconds on a thread; with ``worker`` also an
    in-process dramatiq worker (the embedded default). A failing pass (database or broker
    away) is logged and the next pass tries again: nothing is lost, the rows wait.

    Lines go to the ``casetrack.scheduler`` logger, or to ``log`` if given (a test's list)."""

    def __init__(
        self,
        runtime: Runtime,
        jobs: Jobs,
        *,
        interval: float,
        worker: bool,
        log: Log | None = None,
        worker_threads: int = 2,
    ) -> None:
        self.runtime, self.jobs, self.interval, self.log = runtime, jobs, interval, log
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="casetrack-scheduler", daemon=True)
        self._worker: dramatiq.Worker | None = (
            jobs.worker(threads=worker_threads) if worker else None
        )

    def start(self) -> None:
        if self._worker is not None:
            self._worker.start()
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._thread.join(timeout)
        if self._worker is not None:
            self._worker.stop()

    def run_pass(self) -> Pass | None:
        """One pass now; a database or broker failure is logged, not raised."""
        try:
            done = one_pass(self.runtime, self.jobs)
        except Exception as exc:  # database or broker away (each client has its own types)
            failed = f"scheduler: pass failed, retrying in {self.interval:g}s: {_one_line(exc)}"
            self._say(failed, logging.WARNING)
            return None
        for line in done.lines():
            self._say(line, logging.WARNING if line.startswith("  error:") else logging.INFO)
        return done

    def run_reports(self) -> RunPass | None:
        """The periodic customer reports due now (core.jobs.reports); a failure is logged."""
        return self._mailing(report_pass, "reports")

    def run_documents(self) -> RunPass | None:
        """The stage reports and periodic summaries due now (core.jobs.documents), logged."""
        return self._mailing(document_pass, "documents")

    def _mailing(self, mailing: Callable[..., RunPass], what: str) -> RunPass | None:
        try:
            done = mailing(self.runtime, now=self.runtime.clock())
        except Exception as exc:  # database away, a renderer failure: the next check retries
            self._say(f"{what}: check failed: {_one_line(exc)}", logging.WARNING)
            return None
        if not done.quiet():
            self._say(done.line(), logging.INFO)
        for error in done.errors:
            self._say(f"  error: {error}", logging.WARNING)
        return done

    def _say(self, line: str, level: int) -> None:
        if self.log is None:
            log.log(level, line)
        else:
            self.log(line)

    def _loop(self) -> None:
        # reports are heavy (a PDF each) and due only at period ends: checked every
        # REPORT_EVERY seconds, the first check one interval after start, off the tick's path
        next_reports = time.monotonic() + REPORT_EVERY
        while not self._stop.is_set():
            self.run_pass()
            if time.monotonic() >= next_reports:
                self.run_reports()
                self.run_documents()  # R-MAINT: stage reports and periodic summaries
                next_reports = time.monotonic() + REPORT_EVERY
            self._stop.wait(self.interval)


def _one_line(exc: BaseException) -> str:
    # no personal data: a database error's text holds the rows it failed on (core/logsafe.py)
    from core.store.logsafe import describe

    return describe(exc)
