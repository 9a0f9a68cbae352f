"""`casetrack report`: a contract's report for a period as JSON, a CSV zip, HTML or PDF;
`casetrack reports rebuild-facts`: the reports' per-case facts rebuilt from the histories
(docs/reports.md)."""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from pathlib import Path

from cli import _db
from cli._args import Commands, command, group
from core.errors import CasetrackError
from core.settings import Settings


def add_parser(commands: Commands, settings: Settings) -> None:
    report = command(
        commands,
        "report",
        run_report,
        help="a customer report for a period (json, csv, html, pdf)",
        description="Build the report of contract ID for a quarter (--period 2026Q3), a month "
        "(--period 2026-09) or the local dates --from..--to: case statistics, major cases "
        "with their timelines, SLA compliance, first-time fix and response percentiles, RMA "
        "turnaround and satisfaction. Periods are in the desk's zone ($CASETRACK_TIMEZONE). "
        "The database is $CASETRACK_DATABASE_URL.",
    )
    report.add_argument("--contract", required=True, metavar="ID", help="contract id")
    report.add_argument("--period", help="a quarter (2026Q3) or a month (2026-09)")
    report.add_argument("--from", dest="first", metavar="DATE", help="first local date")
    report.add_argument("--to", dest="last", metavar="DATE", help="last local date (inclusive)")
    report.add_argument(
        "--format", choices=("json", "csv", "html", "pdf"), default="json", help="default: json"
    )
    report.add_argument(
        "-o", "--output", type=Path, help="the file to write (default: standard output)"
    )
    report.add_argument(
        "--now",
        help="the report's instant, ISO 8601 with an offset (default: now); running clocks "
        "past their deadline at this instant count as breached",
    )
    report.add_argument(
        "--contracts",
        type=Path,
        default=Path(settings.contracts_dir),
        help=f"contracts directory (default: $CASETRACK_CONTRACTS_DIR, {settings.contracts_dir})",
    )

    reports = group(commands, "reports", help="the reports' stored per-case facts")
    command(
        reports,
        "rebuild-facts",
        run_rebuild_facts,
        help="rebuild the per-case facts the reports read from every case's events and clocks",
        description="Recompute the case_facts and clock_facts tables (one row per case and "
        "per SLA clock) from the cases, their events and clocks, in one transaction. The "
        "desk keeps them in step on every commit; run this after loading cases around it "
        "(a bulk import, a restore of the case tables alone). Prints the cases rebuilt. The "
        "database is $CASETRACK_DATABASE_URL.",
    )


def run_rebuild_facts(args: argparse.Namespace) -> int:
    from core.store import case_facts

    with _db.transaction(args.settings) as session:
        cases = case_facts.rebuild(session)
    print(f"rebuilt the report facts of {cases} cases")
    return 0


def _now(text: str | None) -> datetime:
    if text is None:
        return datetime.now(UTC)  # the command line is the edge: it reads the clock
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise CasetrackError(f"--now: {text!r} is not an ISO 8601 instant") from None
    if value.tzinfo is None:
        raise CasetrackError(f"--now: {text!r} needs an offset (Z or +08:00)")
    return value


def run_report(args: argparse.Namespace) -> int:
    from core.reports.render import render
    from core.reports.service import contract_report, period_of
    from core.sources.contracts import load_contracts

    contracts = load_contracts([args.contracts])
    contracts.get(args.contract)  # an unknown contract fails before the database is asked
    period = period_of(args.settings.timezone, args.period, args.first, args.last)
    now = _now(args.now)
    with _db.transaction(args.settings) as session:
        report = contract_report(session, contracts, args.contract, period, now=now)
    data = render(report, args.format)
    if args.output is None:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
    else:
        args.output.write_bytes(data)
        print(f"wrote {args.output} ({len(data)} bytes, {args.format}, {period.label})")
    return 0
