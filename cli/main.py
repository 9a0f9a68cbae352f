"""The ``casetrack`` command line: contract checks, schema export, SLA deadlines by hand."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from core.case import PRIORITIES
from core.errors import CasetrackError, ContractError
from core.settings import Settings

if TYPE_CHECKING:
    from sqlalchemy import Engine
    from sqlalchemy.orm import Session

    from core.jobs.broker import Jobs
    from core.jobs.loop import Background
    from core.loaded import ContractSet
    from core.runtime import Runtime


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit code (0 ok, 1 findings or refused, 2 usage).

    The CASETRACK_* settings are read once, here: they give the options their defaults and
    every command finds them as ``args.settings``."""
    try:
        settings = Settings.from_env()
    except CasetrackError as exc:
        print(f"error: {exc.detail}", file=sys.stderr)
        return 1
    parser = build_parser(settings)
    args = parser.parse_args(argv)
    if not hasattr(args, "run"):
        parser.print_help()
        return 2
    args.settings = settings
    try:
        return int(args.run(args) or 0)
    except ContractError as exc:
        _print_problems(exc)
        return 1
    except CasetrackError as exc:
        print(f"error: {exc.detail}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


def build_parser(settings: Settings | None = None) -> argparse.ArgumentParser:
    """The parser; option defaults come from ``settings`` (the built-in defaults if None)."""
    settings = settings or Settings()
    parser = argparse.ArgumentParser(
        prog="casetrack", description="casetrack: cases, contracts as code and SLA clocks."
    )
    commands = parser.add_subparsers(title="commands", metavar="COMMAND")
    _add_contracts(commands)
    _add_sla(commands, settings)
    _add_db(commands)
    _add_audit(commands)
    _add_tokens(commands)
    _add_serve(commands)
    _add_scheduler(commands)
    return parser


# --- casetrack contracts ... -------------------------------------------------------------------


def _add_contracts(commands: argparse._SubParsersAction) -> None:
    contracts = commands.add_parser("contracts", help="check contract files, export the schema")
    sub = contracts.add_subparsers(title="contracts commands", metavar="COMMAND")
    check = sub.add_parser("check", help="validate contract files; list every problem")
    check.add_argument("paths", nargs="+", type=Path, help="contract files or directories")
    check.set_defaults(run=_contracts_check)
    schema = sub.add_parser("schema", help="print the JSON Schema of contract files")
    schema.add_argument("--kind", choices=["contract", "tiers"], default="contract")
    schema.set_defaults(run=_contracts_schema)


def _contracts_check(args: argparse.Namespace) -> int:
    from core.sources.contracts import check_contracts

    limits = args.settings.yaml_limits
    loaded, problems = check_contracts(args.paths, limits=limits)
    if problems:
        _print_problems(ContractError(problems))
        return 1
    assert loaded is not None
    devices = sum(len(lc.contract.devices) for lc in loaded.contracts.values())
    print(
        f"ok: {len(loaded.contracts)} contracts, {devices} devices, "
        f"{len(loaded.catalog.tiers)} tiers, {len(loaded.catalog.programs)} programs"
    )
    _horizon_warnings(loaded, args.settings)  # visible, never a failure
    return 0


def _horizon_warnings(loaded: ContractSet, settings: Settings) -> None:
    """Warn (on stderr) about holiday regions whose published data ends soon."""
    from datetime import UTC

    from core.holidays import horizon_warnings

    # the CLI is the edge where the wall clock is read
    today = datetime.now(UTC).astimezone(ZoneInfo(settings.timezone)).date()
    for line in horizon_warnings(
        loaded.registry, loaded.regions(), today, settings.calendar_horizon_days
    ):
        print(f"warning: {line}", file=sys.stderr)


def _contracts_schema(args: argparse.Namespace) -> int:
    from core.sources.schema import contract_schema

    print(json.dumps(contract_schema(kind=args.kind), indent=2, ensure_ascii=False))
    return 0


def _print_problems(exc: ContractError) -> None:
    for problem in exc.problems:
        print(problem, file=sys.stderr)
    count = len(exc.problems)
    print(f"{count} problem{'s' if count != 1 else ''} found", file=sys.stderr)


# --- casetrack sla due ... -------------------------------------------------------------------


def _add_sla(commands: argparse._SubParsersAction, settings: Settings) -> None:
    from core.sla import CLOCK_KINDS

    sla = commands.add_parser("sla", help="compute SLA deadlines from a contract")
    sub = sla.add_subparsers(title="sla commands", metavar="COMMAND")
    due = sub.add_parser(
        "due",
        help="when is a clock due",
        description="Print the deadline of one clock and the rule that produced it.",
    )
    due.add_argument("--contract", required=True, help="contract id")
    due.add_argument("--kind", required=True, choices=CLOCK_KINDS)
    due.add_argument("--at", required=True, help="start instant, ISO 8601 (e.g. 2026-09-30T15:10)")
    due.add_argument(
        "--tz",
        default=settings.timezone,
        help=f"zone for an --at without offset (default: $CASETRACK_TIMEZONE, {settings.timezone})",
    )
    due.add_argument("--priority", choices=[str(p) for p in PRIORITIES])
    place = due.add_mutually_exclusive_group()
    place.add_argument("--zone", help="zone id (city, wendeng, rongcheng, rushan, other)")
    place.add_argument("--site", help="site address; the contract's zone resolver maps it")
    due.add_argument("--emergency", action="store_true", help="emergency on-site table")
    due.add_argument("--device", help="device serial (spare-part clocks)")
    due.add_argument("--shipped", help="actual ship instant for spare_arrival, ISO 8601")
    due.add_argument(
        "--contracts",
        type=Path,
        default=Path(settings.contracts_dir),
        help=f"contracts directory (default: $CASETRACK_CONTRACTS_DIR, {settings.contracts_dir})",
    )
    due.set_defaults(run=_sla_due)


def _sla_due(args: argparse.Namespace) -> int:
    from core import sla
    from core.sources.contracts import load_contracts

    contracts = load_contracts([args.contracts])
    lc = contracts.get(args.contract)
    device = _device(lc, args.device)
    zone, zone_note = _zone(lc, args, device)
    at = _instant(args.at, args.tz, "--at")
    shipped = _instant(args.shipped, args.tz, "--shipped") if args.shipped else None
    deadline = sla.due(
        lc,
        args.kind,
        at=at,
        priority=args.priority,
        zone=zone,
        emergency=args.emergency,
        device=device,
        shipped_at=shipped,
    )
    print(f"{deadline.kind} due {deadline.due.isoformat()}  (UTC {_utc(deadline.due)})")
    print(f"  target: {deadline.target}")
    if zone_note:
        print(f"  zone:   {zone_note}")
    print(f"  rule:   {deadline.rule}")
    note = sla.period_note(lc, at)
    if note:
        print(f"  note:   {note}")
    return 0


def _device(lc, serial: str | None):
    from core.errors import NotFoundError

    if serial is None:
        return None
    device = lc.contract.device(serial)
    if device is None:
        known = ", ".join(d.serial for d in lc.contract.devices) or "none"
        raise NotFoundError(f"device {serial!r} is not covered by {lc.contract.id} ({known})")
    return device


def _zone(lc, args: argparse.Namespace, device) -> tuple[str | None, str]:
    if args.zone:
        return args.zone, ""
    if args.site:
        match = lc.resolve_site(address=args.site)
        return match.zone, match.reason
    if device is not None:
        match = lc.resolve_site(address=device.site, lat=device.lat, lon=device.lon)
        return match.zone, f"device site: {match.reason}"
    return None, ""


def _instant(text: str, tz: str, flag: str) -> datetime:
    from core.errors import CasetrackError

    try:
        moment = datetime.fromisoformat(text)
    except ValueError as exc:
        raise CasetrackError(f"{flag}: not an ISO 8601 time: {text!r}") from exc
    if moment.tzinfo is None:
        try:
            moment = moment.replace(tzinfo=ZoneInfo(tz))
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise CasetrackError(f"--tz: unknown time zone {tz!r}") from exc
    return moment


def _utc(moment: datetime) -> str:
    from datetime import UTC

    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M")


# --- casetrack db ... ---------------------------------------------------------------------------


def _add_db(commands: argparse._SubParsersAction) -> None:
    db = commands.add_parser("db", help="create or upgrade the database schema")
    sub = db.add_subparsers(title="db commands", metavar="COMMAND")
    upgrade = sub.add_parser(
        "upgrade",
        help="apply the migrations shipped with casetrack",
        description="Bring $CASETRACK_DATABASE_URL (default sqlite:///var/casetrack.db) to the "
        "newest schema. Safe to run again.",
    )
    upgrade.set_defaults(run=_db_upgrade)
    current = sub.add_parser("current", help="print the schema revision of the database")
    current.set_defaults(run=_db_current)


def _db_upgrade(args: argparse.Namespace) -> int:
    from core.store.migrate import current_revision, upgrade

    with _engine(args.settings) as engine:
        before = current_revision(engine)
        upgrade(engine)
        after = current_revision(engine)
    url = _shown_url(args.settings)
    print(f"ok: {url} at revision {after}" + ("" if before != after else " (already current)"))
    return 0


def _db_current(args: argparse.Namespace) -> int:
    from core.store.migrate import current_revision, head_revision

    with _engine(args.settings) as engine:
        current = current_revision(engine)
    head = head_revision()
    state = "current" if current == head else f"behind: newest is {head}"
    print(f"{_shown_url(args.settings)}: revision {current or 'none'} ({state})")
    return 0 if current == head else 1


@contextmanager
def _engine(settings: Settings, *, require_schema: bool = False) -> Iterator[Engine]:
    """The configured database's engine; an unreachable server is a one-line error.

    With ``require_schema`` a missing SQLite file or a schema behind the newest migration is
    refused first (connecting would create an empty SQLite file).
    """
    from core.store.db import make_engine
    from core.store.migrate import NOT_INITIALISED, require_current, sqlite_file_missing

    url = settings.database_url
    if require_schema and sqlite_file_missing(url):
        raise CasetrackError(NOT_INITIALISED)
    engine = make_engine(url, timeouts=settings.db_timeouts)
    try:
        with _reachable():
            if require_schema:
                require_current(engine)
            yield engine
    finally:
        engine.dispose()


@contextmanager
def _reachable() -> Iterator[None]:
    """Turn a database connection failure into one line instead of a traceback."""
    from sqlalchemy.exc import OperationalError

    try:
        yield
    except OperationalError as exc:
        reason = (str(exc.orig).strip().splitlines() or ["no reason given"])[0]
        raise CasetrackError(f"database unavailable: {reason}") from None


def _shown_url(settings: Settings) -> str:
    from sqlalchemy.engine import make_url

    return make_url(settings.database_url).render_as_string(hide_password=True)


# --- casetrack audit verify / seal ---------------------------------------------------------


def _add_audit(commands: argparse._SubParsersAction) -> None:
    audit = commands.add_parser(
        "audit", help="verify case histories, their seals and the rows built from them"
    )
    sub = audit.add_subparsers(title="audit commands", metavar="COMMAND")
    verify = sub.add_parser(
        "verify",
        help="check that no case history, case, clock or number was changed, cut or removed",
        description="Recompute every event hash and link, check the HMAC seals with the audit "
        "key (CASETRACK_AUDIT_KEY or var/audit.key), replay every history against the cases "
        "and clocks stored, and check that case numbers are gapless; exit 1 with one line a "
        "finding. The database is $CASETRACK_DATABASE_URL (default sqlite:///var/casetrack.db). "
        "See docs/audit.md.",
    )
    verify.add_argument("--case", metavar="NUMBER", help="check only this case")
    verify.set_defaults(run=_audit_verify)
    seal = sub.add_parser(
        "seal",
        help="seal the unsealed case heads and counters that verify (once, after upgrading)",
        description="Seal with the audit key every case head and numbering counter that has no "
        "seal yet (histories written before migration 0005 or by a writer without the key), "
        "after verifying them; a case or counter with findings is refused and listed, exit 1.",
    )
    seal.set_defaults(run=_audit_seal)


def _audit_key(settings: Settings, *, create: bool) -> bytes | None:
    from core.store.seal import load_audit_key

    return load_audit_key(settings, create=create)


def _audit_verify(args: argparse.Namespace) -> int:
    from core.store import audit
    from core.store.db import make_sessionmaker

    settings = args.settings
    key = _audit_key(settings, create=False)
    with _engine(settings, require_schema=True) as engine, make_sessionmaker(engine)() as session:
        report = audit.verify(session, args.case, key=key)
        if key is None:
            report.findings += audit.unverifiable_seals(session)
    for line in report.lines():
        print(line)
    if not report.ok:
        return 1
    print(audit.summary(report))
    return 0


def _audit_seal(args: argparse.Namespace) -> int:
    from core.store import audit
    from core.store.db import make_sessionmaker

    key = _audit_key(args.settings, create=True)
    assert key is not None
    with (
        _engine(args.settings, require_schema=True) as engine,
        make_sessionmaker(engine).begin() as session,
    ):
        sealed = audit.seal_unsealed(session, key)
    for line in sealed.refused:
        print(f"not sealed: {line}")
    print(f"sealed {sealed.cases} case heads and {sealed.counters} counters")
    return 1 if sealed.refused else 0


# --- casetrack tokens ... ------------------------------------------------------------------------


def _add_tokens(commands: argparse._SubParsersAction) -> None:
    from core.case import TOKEN_ROLES
    from core.store.tokens import spelled

    tokens = commands.add_parser("tokens", help="create, revoke and list API tokens")
    sub = tokens.add_subparsers(title="tokens commands", metavar="COMMAND")
    create = sub.add_parser(
        "create",
        help="create a token (printed once)",
        description="Print a new API token on stdout; only its hash is stored, so it is shown "
        "this once. The database is $CASETRACK_DATABASE_URL.",
    )
    create.add_argument(
        "--role",
        action="append",
        required=True,
        metavar="ROLE",
        help=f"one of {spelled(TOKEN_ROLES)}; repeat for several (customer stands alone)",
    )
    create.add_argument(
        "--customer",
        metavar="ID",
        help="the customer id (a contract's customer.id) a customer token is bound to",
    )
    create.add_argument("--name", help="who or what holds the token (default: its roles)")
    create.set_defaults(run=_tokens_create)
    revoke = sub.add_parser("revoke", help="revoke a token by id (it stops working at once)")
    revoke.add_argument("id", type=int, metavar="ID", help="token id, as `tokens list` shows")
    revoke.set_defaults(run=_tokens_revoke)
    listing = sub.add_parser("list", help="list tokens (never the token itself)")
    listing.set_defaults(run=_tokens_list)


def _tokens_create(args: argparse.Namespace) -> int:
    from datetime import UTC

    from core.store.tokens import create_token

    settings = args.settings
    roles = sorted(set(args.role))
    if args.customer and roles == ["customer"]:
        # other combinations are refused by create_token's own rules, with their message
        _require_customer(settings.contracts_dir, args.customer)
    name = args.name or "+".join(roles) + (f" {args.customer}" if args.customer else "")
    with _token_session(args.settings) as session:
        token, row = create_token(
            session, roles=roles, name=name, now=datetime.now(UTC), customer_id=args.customer
        )
        token_id = row.id
    print(token)
    bound = f", customer {args.customer}" if args.customer else ""
    print(
        f"token {token_id} ({name}): roles {', '.join(roles)}{bound}. "
        "Store it now: it will not be shown again.",
        file=sys.stderr,
    )
    return 0


def _require_customer(contracts_dir: str, customer_id: str) -> None:
    from core.sources.contracts import load_contracts
    from core.store.tokens import TokenError

    contracts = load_contracts([Path(contracts_dir)])
    known = sorted({lc.contract.customer.id for lc in contracts.contracts.values()})
    if customer_id not in known:
        raise TokenError(
            f"no contract in {contracts_dir} is for customer {customer_id!r} "
            f"(customers: {', '.join(known) or 'none'})"
        )


def _tokens_revoke(args: argparse.Namespace) -> int:
    from datetime import UTC

    from core.store.tokens import revoke_token

    now = datetime.now(UTC)
    with _token_session(args.settings) as session:
        row = revoke_token(session, args.id, now)
        revoked_at = row.revoked_at
    again = "" if revoked_at == now else " (it already was)"
    print(f"token {args.id} revoked at {_minute(revoked_at)}{again}")
    return 0


def _tokens_list(args: argparse.Namespace) -> int:
    from core.store.tokens import list_tokens

    with _token_session(args.settings) as session:
        rows = [
            (
                str(row.id),
                row.name,
                ",".join(row.roles),
                row.customer_id or "-",
                _minute(row.created_at),
                _minute(row.revoked_at),
            )
            for row in list_tokens(session)
        ]
    if not rows:
        print("no tokens: create one with `casetrack tokens create --role ROLE`", file=sys.stderr)
        return 0
    table = [("ID", "NAME", "ROLES", "CUSTOMER", "CREATED (UTC)", "REVOKED (UTC)"), *rows]
    widths = [max(_display_width(line[i]) for line in table) for i in range(len(table[0]))]
    for line in table:
        cells = (c + " " * (w - _display_width(c)) for c, w in zip(line, widths, strict=True))
        print("  ".join(cells).rstrip())
    return 0


def _display_width(text: str) -> int:
    # names are often Chinese: a wide character takes two terminal columns
    import unicodedata

    return sum(2 if unicodedata.east_asian_width(char) in "WF" else 1 for char in text)


def _minute(moment: datetime | None) -> str:
    from datetime import UTC

    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M") if moment else "-"


@contextmanager
def _token_session(settings: Settings) -> Iterator[Session]:
    """A transaction on the configured database, refused unless its schema is current."""
    from core.store.db import make_sessionmaker

    with (
        _engine(settings, require_schema=True) as engine,
        make_sessionmaker(engine).begin() as session,
    ):
        yield session


# --- casetrack serve ---------------------------------------------------------------------------


def _add_serve(commands: argparse._SubParsersAction) -> None:
    serve = commands.add_parser(
        "serve",
        help="run the HTTP API (uvicorn)",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Run the HTTP API until Ctrl-C. Settings come from CASETRACK_* variables;\n"
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
        type=_positive,
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
    serve.set_defaults(run=_serve)


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def _serve(args: argparse.Namespace) -> int:
    from datetime import UTC

    from cli.serve import ServeOptions, serve

    options = ServeOptions(
        host=args.host,
        port=args.port,
        workers=args.workers,
        demo=args.demo,
        migrate=args.migrate,
        background=args.background,
    )
    # the CLI is the edge where the wall clock is read: the demo's "now"
    return serve(options, now=datetime.now(UTC), settings=args.settings)


# --- casetrack scheduler / worker -------------------------------------------------------------


def _add_scheduler(commands: argparse._SubParsersAction) -> None:
    scheduler = commands.add_parser(
        "scheduler",
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
    scheduler.set_defaults(run=_scheduler)
    worker = commands.add_parser(
        "worker",
        help="run the dramatiq workers that send notifications",
        description="Consume the notification queue of CASETRACK_BROKER_URL (redis://... or "
        "amqp://...) and send each notice through its notifier plugin. Run as many as you "
        "like; each row is claimed before it is sent. SIGTERM or Ctrl-C stops after the "
        "messages in hand.",
    )
    worker.add_argument(
        "--threads", type=_positive, default=4, metavar="N", help="worker threads (default 4)"
    )
    worker.set_defaults(run=_worker)


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of seconds, not {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be more than 0, not {text}")
    return value


@contextmanager
def _background_runtime(settings: Settings) -> Iterator[Runtime]:
    """A runtime on a current schema, for the scheduler and the workers."""
    from core.runtime import build_runtime
    from core.store.migrate import NOT_INITIALISED, require_current, sqlite_file_missing

    if sqlite_file_missing(settings.database_url):
        raise CasetrackError(NOT_INITIALISED)
    runtime = build_runtime(settings)
    try:
        with _reachable():
            require_current(runtime.engine)
            yield runtime
    finally:
        runtime.close()


def _jobs(runtime: Runtime) -> Jobs:
    from core.jobs.broker import make_broker, set_broker

    return set_broker(runtime, make_broker(runtime.settings.broker_url))  # BrokerUrlError: 1 line


def _scheduler(args: argparse.Namespace) -> int:
    from core.jobs.loop import Background

    with _background_runtime(args.settings) as runtime:
        jobs = _jobs(runtime)
        embedded = not runtime.settings.broker_url
        interval = args.interval or runtime.settings.tick_seconds
        background = Background(runtime, jobs, interval=interval, worker=embedded, log=_say)
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


def _worker(args: argparse.Namespace) -> int:
    with _background_runtime(args.settings) as runtime:
        if not runtime.settings.broker_url:
            raise CasetrackError(
                "CASETRACK_BROKER_URL is not set: the embedded default sends notifications "
                "inside `casetrack serve` (or `casetrack scheduler`); a separate worker needs "
                "redis://... or amqp://..."
            )
        jobs = _jobs(runtime)
        worker = jobs.worker(threads=args.threads, timeout_ms=1000)
        worker.start()
        shown = _broker_shown(runtime)
        _say(f"worker: {args.threads} threads on queue {jobs.queue_name} ({shown})")
        try:
            _wait_for_stop()
        finally:
            worker.stop()
            jobs.close()
    return 0


def _wait_for_stop() -> None:
    """Block until SIGTERM or Ctrl-C."""
    import signal
    import threading

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


def _say(line: str) -> None:
    print(line, flush=True)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
