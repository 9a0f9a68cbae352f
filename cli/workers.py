"""`casetrack scheduler` and `casetrack worker`: the escalation loop, the notice senders."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from cli import _db, logs
from cli._args import Commands, command, positive
from core.errors import CasetrackError

if TYPE_CHECKING:
    from core.jobs.broker import Jobs
    from core.jobs.loop import Background
    from core.runtime import Runtime
    from core.settings import Settings

log = logging.getLogger("casetrack.worker")


def add_parser(commands: Commands, settings: Settings) -> None:
    scheduler = command(
        commands,
        "scheduler",
        run_scheduler,
        help="fire due escalation levels and relay notifications to the workers",
        description="Every --interval seconds, claim the SLA clocks whose next escalation level "
        "is due, record an `escalated` event per level and queue its notifications (one "
        "transaction per small batch), then hand due notifications to the broker "
        "(CASETRACK_BROKER_URL). Several schedulers may run on PostgreSQL. Without a broker "
        "URL it also runs an in-process worker, so it delivers on its own. Ctrl-C stops.",
    )
    scheduler.add_argument("--once", action="store_true", help="run one pass and exit")
    scheduler.add_argument(
        "--interval",
        type=_seconds,
        default=None,
        metavar="SECONDS",
        help="pause between passes (default CASETRACK_TICK_SECONDS, 15)",
    )
    logs.add_options(scheduler)
    worker = command(
        commands,
        "worker",
        run_worker,
        help="run the dramatiq workers that send notifications",
        description="Consume the notification queue of CASETRACK_BROKER_URL (redis://... or "
        "amqp://...) and send each notice through its notifier plugin. Run as many as you "
        "like; each row is claimed before it is sent. SIGTERM or Ctrl-C stops after the "
        "messages in hand.",
    )
    worker.add_argument(
        "--threads", type=positive, default=4, metavar="N", help="worker threads (default 4)"
    )
    logs.add_options(worker)
    for parser in (scheduler, worker):
        _metrics_options(parser)


def _metrics_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--metrics-port",
        type=_port,
        default=None,
        metavar="PORT",
        help="serve /metrics on this port: the sums of every casetrack process writing to "
        "this host's metrics directory (CASETRACK_METRICS_DIR, default var/metrics)",
    )
    parser.add_argument(
        "--metrics-host",
        default="127.0.0.1",
        metavar="HOST",
        help="interface of --metrics-port (default 127.0.0.1; 0.0.0.0 for a remote Prometheus)",
    )


def _port(text: str) -> int:
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise argparse.ArgumentTypeError(f"expected a TCP port (1-65535), not {text!r}")
    return int(text)


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of seconds, not {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be more than 0, not {text}")
    return value


@contextmanager
def _background_runtime(args: argparse.Namespace) -> Iterator[Runtime]:
    """A runtime on a current schema, for the scheduler and the workers; logging set up."""
    from core.runtime import build_runtime
    from core.store.migrate import NOT_INITIALISED, require_current, sqlite_file_missing

    settings = logs.chosen(args, args.settings)
    logs.configure(settings)
    if sqlite_file_missing(settings.database_url):
        raise CasetrackError(NOT_INITIALISED)
    runtime = build_runtime(settings)
    try:
        with _db.reachable():
            require_current(runtime.engine)
            yield runtime
    finally:
        runtime.close()


def jobs_of(runtime: Runtime) -> Jobs:
    """The broker of ``runtime``'s settings, set on the actors (BrokerUrlError: one line)."""
    from core.jobs.broker import make_broker, set_broker

    return set_broker(runtime, make_broker(runtime.settings.broker_url))


@contextmanager
def _metrics(args: argparse.Namespace, role: str) -> Iterator[None]:
    """This process writes its metrics to the host's metrics directory (before anything is
    counted) and, with --metrics-port, serves the directory's sums; it marks the processes
    of the directory that ended (a killed worker), and itself on exit."""
    from cli.metrics import Reaper, announce, mark_this_process_ended, multiprocess, serve_metrics

    logs.configure(logs.chosen(args, args.settings))  # the lines below are log records
    with multiprocess(args.settings.metrics_path) as directory, Reaper(directory):
        announce(role)
        try:
            if args.metrics_port is not None:
                url = _listening(args.metrics_host, args.metrics_port, serve_metrics)
                log.info(f"{role}: metrics at {url}")
            yield
        finally:
            mark_this_process_ended()


def _listening(host: str, port: int, start: Callable[[str, int], str]) -> str:
    try:
        return start(host, port)
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise CasetrackError(f"--metrics-port: cannot listen on {host}:{port}: {reason}") from None


def run_scheduler(args: argparse.Namespace) -> int:
    from core.jobs.loop import Background

    with _metrics(args, "scheduler"), _background_runtime(args) as runtime:
        jobs = jobs_of(runtime)
        embedded = not runtime.settings.broker_url
        interval = args.interval or runtime.settings.tick_seconds
        background = Background(runtime, jobs, interval=interval, worker=embedded)
        if args.once:
            try:
                return _scheduler_once(background, embedded)
            finally:
                jobs.close()
        background.start()
        try:
            _wait_for_stop()
            return 0
        finally:
            background.stop()
            jobs.close()


def _scheduler_once(background: Background, embedded: bool) -> int:
    """One pass, its two lines; embedded, wait until the in-process worker sent the relayed."""
    from core.jobs.loop import one_pass

    done = one_pass(background.runtime, background.jobs)
    print(done.tick.line(), flush=True)
    print(done.relay.line(), flush=True)
    for error in done.tick.errors:
        print(f"  error: {error}", file=sys.stderr)
    if embedded and done.relay.messages:
        worker = background.jobs.worker()
        worker.start()
        try:
            background.jobs.broker.join(background.jobs.queue_name, timeout=60_000)
        finally:
            worker.stop()
    return 0


def run_worker(args: argparse.Namespace) -> int:
    with _metrics(args, "worker"), _background_runtime(args) as runtime:
        if not runtime.settings.broker_url:
            raise CasetrackError(
                "CASETRACK_BROKER_URL is not set: the embedded default sends notifications "
                "inside `casetrack serve` (or `casetrack scheduler`); a separate worker needs "
                "redis://... or amqp://..."
            )
        jobs = jobs_of(runtime)
        worker = jobs.worker(threads=args.threads, timeout_ms=1000)
        worker.start()
        shown = _broker_shown(runtime)
        log.info(f"worker: {args.threads} threads on queue {jobs.queue_name} ({shown})")
        try:
            _wait_for_stop()
        finally:
            worker.stop()
            jobs.close()
    return 0


def _wait_for_stop() -> None:
    """Block until SIGTERM or Ctrl-C."""
    stop = threading.Event()
    previous = signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)


def _broker_shown(runtime: Runtime) -> str:
    url = runtime.settings.broker_url
    scheme, _, rest = url.partition("://")
    return f"{scheme}://{rest.rpartition('@')[2]}"  # never the password
