"""`casetrack serve`: prepare the database, seed the demo, print the banner, run uvicorn."""

from __future__ import annotations

import argparse
import errno
import json
import logging
import os
import shlex
import socket
import sys
from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TextIO

from cli import _db, logs
from cli._args import Commands, command, positive
from cli._format import display_width
from cli.metrics import Reaper, mark_this_process_ended, multiprocess
from cli.metrics import announce as announce_process
from core.errors import ServerError
from core.settings import Settings

if TYPE_CHECKING:
    from litestar import Litestar

    from cli.demo import DemoSummary
    from core.jobs.loop import Background
    from core.runtime import Runtime

FACTORY = "cli.serve:app_from_env"
API = "/api/v1"
log = logging.getLogger("casetrack.serve")


class ServeError(ServerError):
    """The server cannot start (port taken, database unreachable...): one line for the user."""

    title = "cannot serve"


@dataclass(frozen=True, slots=True)
class ServeOptions:
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 1
    demo: bool = False
    migrate: bool = True
    background: bool | None = None  # scheduler + relay here; None: only when embedded


def add_parser(commands: Commands, settings: Settings) -> None:
    serve = command(
        commands,
        "serve",
        run,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        help="run the HTTP API (uvicorn)",
        description="Run the HTTP API until Ctrl-C. Settings come from casetrack.toml\n"
        "(--config) and CASETRACK_* variables (`casetrack settings show`);\n"
        "with none, the database is SQLite at ./var/casetrack.db and contracts come from\n"
        "./contracts. Contracts are loaded first (exit 1 listing every problem), migrations\n"
        "are applied once before any worker starts, then the URLs are printed.",
        epilog="SQLite serves several workers correctly (WAL, busy timeout, one writer at a\n"
        "time), but PostgreSQL is the production shape:\n"
        "  CASETRACK_DATABASE_URL=postgresql://... casetrack serve --workers 4",
    )
    serve.add_argument("--host", default="127.0.0.1", help="interface (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8000, help="TCP port (default 8000)")
    serve.add_argument(
        "--workers",
        type=positive,
        default=1,
        metavar="N",
        help="worker processes (default 1: one process serving the app object)",
    )
    serve.add_argument(
        "--demo",
        action="store_true",
        help="seed example cases and demo tokens into an empty database and print the tokens",
    )
    serve.add_argument(
        "--no-migrate",
        dest="migrate",
        action="store_false",
        help="do not apply migrations (the schema must already be current)",
    )
    serve.add_argument(
        "--background",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="run the escalation scheduler and notification relay in this process "
        "(default: yes without CASETRACK_BROKER_URL, with its in-process worker; "
        "no with a broker, where `casetrack scheduler` and `casetrack worker` run apart)",
    )
    logs.add_options(serve)


def run(args: argparse.Namespace) -> int:
    options = ServeOptions(
        **{option.name: getattr(args, option.name) for option in fields(ServeOptions)}
    )
    settings = logs.chosen(args, args.settings)
    logs.configure(settings)
    # the CLI is the edge where the wall clock is read: the demo's "now"
    # the worker processes of --workers N resolve the same settings: the same file, and
    # the --set options as environment variables
    resolved = getattr(args, "resolved", None)  # None: called without cli.main
    with environment(resolved.child_environment() if resolved else {}):
        return serve(options, now=datetime.now(UTC), settings=settings)


@contextmanager
def environment(changes: Mapping[str, str]) -> Iterator[None]:
    """``os.environ`` with ``changes`` while the block runs (spawned children inherit it)."""
    saved = {name: os.environ.get(name) for name in changes}
    os.environ.update(changes)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def app_from_env() -> Litestar:
    """The app of one uvicorn worker process: settings from the file the parent read
    (``CASETRACK_CONFIG``, which ``serve`` passes down) and the environment.

    Never migrates: the parent process did that once, before any worker started. Dies with
    the parent (core/lifeline.py): a killed `serve` leaves no worker holding the port.
    """
    from cli.lifeline import die_with_parent
    from core.sources.settings_file import load_settings
    from server import create_app

    die_with_parent()
    logging.captureWarnings(True)  # uvicorn set up this process's logging (cli/logs.py)
    announce_process("api")  # in the metrics directory the parent chose
    settings = load_settings(os.environ)
    http_protocol(settings)  # this worker's connections: the limits of its environment
    return create_app(settings)


def http_protocol(settings: Settings) -> type:
    """uvicorn's HTTP protocol with the request-head limits of ``settings`` (api/protocol.py)."""
    from api.protocol import configure

    return configure(
        max_header_bytes=settings.http_max_header_bytes,
        header_seconds=settings.http_header_seconds,
    )


def serve(
    options: ServeOptions,
    *,
    now: datetime,
    out: TextIO | None = None,
    settings: Settings | None = None,
) -> int:
    """Check the port, load contracts, migrate, seed (``now`` is the demo's present), run.
    ``settings``: the CLI's (default: the settings file and the environment)."""
    import uvicorn

    from core.runtime import build_runtime
    from core.sources.settings_file import load_settings

    out = out or sys.stdout
    check_port(options.host, options.port)
    settings = settings or load_settings(os.environ)
    runtime = build_runtime(settings)  # ContractError: the CLI lists every problem, exit 1
    try:
        schema_note = _prepare_database(runtime, migrate=options.migrate)
        summary = _seed(runtime, now) if options.demo else None
        if settings.log_format == "json":  # every line a JSON object: the banner as records
            announce(runtime, options, summary, schema_note, horizon_lines(runtime, now))
        else:
            out.write(banner(runtime, options, summary, schema_note))
            out.write(horizon_lines(runtime, now))
            out.flush()
    except BaseException:
        runtime.close()
        raise
    common: dict[str, Any] = {  # uvicorn.run's keywords, shared by both calls
        "host": options.host,
        "port": options.port,
        "log_level": settings.log_level.lower(),
        "log_config": logs.uvicorn_config(settings),  # this process's and every worker's
        "http": http_protocol(settings),
    }
    background = None
    metrics = ExitStack()
    try:
        # before any worker starts: they inherit PROMETHEUS_MULTIPROC_DIR (cli/metrics.py)
        directory = metrics.enter_context(multiprocess(settings.metrics_path, clean=True))
        metrics.enter_context(Reaper(directory))  # marks the workers that ended
        background = start_background(runtime, options)  # BrokerUrlError: one line
        if options.workers == 1:
            from server import create_app

            announce_process("api")
            uvicorn.run(create_app(settings, runtime=runtime), **common)
        else:
            # each worker builds its own runtime from the environment (spawned processes)
            uvicorn.run(
                FACTORY,
                factory=True,
                workers=options.workers,
                timeout_worker_healthcheck=settings.worker_healthcheck_seconds,
                **common,
            )
    finally:
        if background is not None:
            background.stop()
            background.jobs.close()
        runtime.close()
        mark_this_process_ended()
        metrics.close()
    return 0


def start_background(runtime: Runtime, options: ServeOptions) -> Background | None:
    """The scheduler loop on a thread (and, embedded, the in-process worker), if wanted.

    Embedded (no CASETRACK_BROKER_URL) it runs by default: one process does everything. With
    a broker, `casetrack scheduler` and `casetrack worker` run apart unless --background.
    """
    from cli.workers import jobs_of
    from core.jobs.loop import Background
    from core.jobs.relay import release_orphans

    embedded = not runtime.settings.broker_url
    wanted = embedded if options.background is None else options.background
    if not wanted:
        return None

    say = logging.getLogger("casetrack.scheduler").info
    jobs = jobs_of(runtime)
    if embedded and (orphans := release_orphans(runtime)):
        say(f"scheduler: {orphans} notifications the last run had not sent are queued again")
    interval = runtime.settings.tick_seconds
    background = Background(runtime, jobs, interval=interval, worker=embedded)
    background.start()
    announce_process("scheduler")
    where = "in-process worker" if embedded else "relay to the broker"
    spools = _spools(runtime)
    say(f"scheduler: every {interval:g}s, {where}; unconfigured channels spool to {spools}")
    return background


def _spools(runtime: Runtime) -> str:
    var = runtime.settings.var_path
    return f"{var / 'sms-spool'}/, {var / 'mail-spool'}/"


def check_port(host: str, port: int) -> None:
    """ServeError in one line when ``host:port`` cannot be listened on (e.g. already in use)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        # as uvicorn binds: a port in TIME_WAIT is free, one with a listener is not
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise ServeError(
                    f"port {port} on {host} is already in use: stop the other server "
                    "or choose another port with --port"
                ) from None
            reason = exc.strerror or str(exc)
            raise ServeError(f"cannot listen on {host}:{port}: {reason}") from None


def _prepare_database(runtime: Runtime, *, migrate: bool) -> str:
    """Migrate (once, here in the parent) or check; a note on the schema for the banner."""
    from core.store.migrate import current_revision, head_revision, upgrade

    with _db.reachable(ServeError):
        if migrate:
            upgrade(runtime.engine)
        current = current_revision(runtime.engine)
    if current == head_revision():
        return f"schema at revision {current}"
    return (
        f"WARNING: schema at revision {current or 'none'}, not {head_revision()}: "
        "/readyz answers 503 until `casetrack db upgrade`"
    )


def horizon_lines(runtime: Runtime, now: datetime) -> str:
    """Start-up: provisional clocks re-planned on the holiday data now installed (a new
    package or contracts/calendars/ file), and a warning per region whose data ends soon."""
    replanned = runtime.desk.replan_provisional(now=now)
    lines = []
    if replanned:
        count = sum(len(entry["clocks"]) for entry in replanned)
        cases = ", ".join(entry["case"] for entry in replanned)
        lines.append(f"holidays: re-planned {count} provisional clocks on new data ({cases})")
    lines += [f"WARNING: {line}" for line in runtime.horizon_warnings()]
    return "".join(line + "\n" for line in lines)


def _seed(runtime: Runtime, now: datetime) -> DemoSummary:
    from cli.demo import seed_demo

    return seed_demo(runtime, now=now)


# --- the banner ----------------------------------------------------------------------------------


def base_url(host: str, port: int) -> str:
    """Where a browser on this machine reaches the server (a wildcard host means any)."""
    shown = {"0.0.0.0": "127.0.0.1", "::": "[::1]", "": "127.0.0.1"}.get(host)
    if shown is None:
        shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}"


def banner(
    runtime: Runtime,
    options: ServeOptions,
    summary: DemoSummary | None,
    schema_note: str,
) -> str:
    """What `serve` prints before uvicorn starts: URLs, the demo, its tokens, curl lines."""
    url = base_url(options.host, options.port)
    lines = [*_head_lines(runtime, options, schema_note), ""]
    if summary is not None:
        lines += _demo_lines(summary)
        lines += _web_lines(url, summary)
    admin = _token(summary, "admin")
    lines += _curl_lines(runtime, url, admin, summary)
    lines += ["Stop the server with Ctrl-C.", ""]
    return "\n".join(lines) + "\n"


def _head_lines(runtime: Runtime, options: ServeOptions, schema_note: str) -> list[str]:
    """Where the server listens and what it serves: the banner's head, the JSON log's start."""
    url = base_url(options.host, options.port)
    database = _db.shown_url(runtime.settings.database_url)
    processes = "1 process" if options.workers == 1 else f"{options.workers} worker processes"
    return [
        f"casetrack serving {url}  ({processes})",
        f"  database   {database}  ({schema_note})",
        f"  contracts  {len(runtime.contracts.contracts)} from {runtime.settings.contracts_dir}/: "
        + ", ".join(sorted(runtime.contracts.contracts)),
        f"  API        {url}{API}/cases",
        f"  docs       {url}/schema  (Swagger UI: {url}/schema/swagger)",
        f"  health     {url}/readyz  ·  metrics {url}/metrics",
        f"  console    {url}/  (web pages: sign in with a user, `casetrack users create`)",
    ]


def announce(
    runtime: Runtime,
    options: ServeOptions,
    summary: DemoSummary | None,
    schema_note: str,
    horizon: str,
) -> None:
    """The banner as log records (``--log-format json``): where it serves and the demo's
    counts, never the demo tokens or the example caller (a log is kept and shipped)."""
    for line in _head_lines(runtime, options, schema_note):
        log.info(" ".join(line.split()))
    if summary is not None:
        log.info("demo: %s", summary.message)
        if summary.tokens:
            log.info("demo: tokens are printed only with --log-format text")
    for line in horizon.splitlines():
        warning = line.startswith("WARNING: ")
        log.log(logging.WARNING if warning else logging.INFO, line.removeprefix("WARNING: "))


def _demo_lines(summary: DemoSummary) -> list[str]:
    from cli.demo import OVERDUE

    if not summary.seeded:
        return [
            f"demo: {summary.message}.",
            "      Start over with an empty database (default SQLite: stop, `rm -rf var`).",
            "",
        ]
    statuses = ", ".join(f"{n} {s}" for s, n in _in_order(summary.by_status))
    clocks = ", ".join(f"{n} {state}" for state, n in sorted(summary.clocks.items()))
    lines = [
        f"demo: {summary.message}",
        f"      statuses:   {statuses}",
        f"      SLA clocks: {clocks}",
    ]
    lines += [f"      not seeded: {reason}" for reason in summary.skipped]
    overdue = summary.numbers.get(OVERDUE)
    if overdue:
        lines += [
            f"      escalating: {overdue} (P1, unanswered) - its first response falls due "
            "in about 90 s;",
            "      watch the scheduler lines below, its `escalated` events, and the notices "
            "spooled to var/sms-spool/ and var/mail-spool/",
        ]
    lines += ["", "demo tokens (printed only now: the database keeps only their hashes):"]
    remote = summary.numbers.get("pacs-remote")
    width = max((display_width(t.name) for t in summary.tokens), default=0)
    for t in summary.tokens:
        note = ""
        if t.role == "engineer" and remote:
            note = f"  assigned to {remote}: may reveal its remote-access credentials"
        elif t.customer_id:
            note = f"  sees only {t.customer_id}'s cases"
        name = t.name + " " * (width - display_width(t.name))
        lines.append(f"  {t.role:<9} {name}  {t.token}{note}")
    return [*lines, ""]


def _web_lines(url: str, summary: DemoSummary) -> list[str]:
    """The console's URL and the demo users with their passwords (shown only now)."""
    if not summary.users:
        return []
    lines = [f"web console: {url}/login  — demo users (passwords printed only now):"]
    width = max(display_width(u.name) for u in summary.users)
    for user in summary.users:
        name = user.name + " " * (width - display_width(user.name))
        bound = f"  sees only {user.customer_id}'s cases" if user.customer_id else ""
        lines.append(
            f"  web {user.login:<9} {name}  password {user.password}  ({user.role}){bound}"
        )
    lines.append(f"  customer portal {url}/portal  (a resolved case waits for the hospital's OK)")
    lines.append(f"  managers' board {url}/board")
    return [*lines, ""]


def _in_order(counts: dict[str, int]) -> list[tuple[str, int]]:
    from core.case import Status

    order = {s.value: i for i, s in enumerate(Status)}
    return sorted(counts.items(), key=lambda item: order.get(item[0], len(order)))


def _token(summary: DemoSummary | None, role: str) -> str | None:
    if summary is None:
        return None
    return next((t.token for t in summary.tokens if t.role == role), None)


def _curl_lines(
    runtime: Runtime, url: str, admin: str | None, summary: DemoSummary | None
) -> list[str]:
    """Ready-to-paste requests: list cases, get one, open one."""
    number = None
    if summary is not None and summary.numbers:
        number = summary.numbers.get("his-outage") or next(iter(summary.numbers.values()))
    token = admin or "$(casetrack tokens create --role admin)   # shown once: keep it"
    auth = '-H "Authorization: Bearer $TOKEN"'
    return [
        "try it:",
        f"  export TOKEN={token}",
        f"  curl -s {auth} {url}{API}/cases",
        f"  curl -s {auth} {url}{API}/cases/{number or 'MS-2026-000001'}",
        f"  curl -s {auth} -H 'Content-Type: application/json' \\",
        f"       -d {shlex.quote(_open_example(runtime))} {url}{API}/cases",
        *_document_lines(runtime, url, auth),
        "",
    ]


def _document_lines(runtime: Runtime, url: str, auth: str) -> list[str]:
    """A maintenance document of the hospital (else the first contract): docs/documents.md."""
    contracts = runtime.contracts.contracts
    lc = contracts.get("wdkn-hospital-2026") or next(iter(contracts.values()), None)
    if lc is None:
        return []
    return [
        "  # the assessment report with preventive advice, as a PDF (docs/documents.md)",
        f"  curl -s {auth} -o assessment.pdf \\",
        f"       '{url}{API}/documents/{lc.id}/assessment?format=pdf'",
    ]


def _open_example(runtime: Runtime) -> str:
    """An OpenCase body under the hospital's contract (else the first loaded)."""
    contracts = runtime.contracts.contracts
    lc = contracts.get("wdkn-hospital-2026") or next(iter(contracts.values()), None)
    if lc is None:
        return "{}"
    contacts = lc.contract.customer.contacts
    caller = {
        "name": contacts[0].name if contacts else "张三",
        "company": lc.contract.customer.name,
    }
    body: dict[str, object] = {
        "contract_id": lc.id,
        "caller": caller,
        "summary": "接入交换机一个端口故障,两台电脑无法上网",
        "category": "system_debugging",
        "request_type": "problem_report",
        "priority": "P3",
        "channel": "phone",
    }
    if lc.contract.devices:
        body["device_serial"] = lc.contract.devices[-1].serial
    return json.dumps(body, ensure_ascii=False)
