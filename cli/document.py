"""`casetrack document KIND`: a document of R-MAINT generated from the record, as JSON, HTML
or PDF (docs/documents.md)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from cli import _db
from cli._args import Commands, command
from cli.report import _now
from core.documents.model import KINDS
from core.settings import Settings


def add_parser(commands: Commands, settings: Settings) -> None:
    document = command(
        commands,
        "document",
        run_document,
        help="a maintenance document from the record (plan, summary, implementation, "
        "assessment, manual; json, html, pdf)",
        description="Generate one of the documents the handbook promises (维护支持体系文档) for "
        "contract ID: `plan` (维护计划: each maintenance plan's schedule, next inspections, "
        "devices and checklist), `summary` (阶段服务总结; with --period contract, the default: "
        "the stage report at contract end), `implementation` (实施方案/实施报告 of --case "
        "NUMBER's change plans), `assessment` (评估报告 with preventive advice) or `manual` "
        "(维护手册模板 of --model). Periods are in the desk's zone ($CASETRACK_TIMEZONE). The "
        "database is $CASETRACK_DATABASE_URL.",
    )
    document.add_argument("kind", choices=KINDS, help="which document")
    document.add_argument("--contract", required=True, metavar="ID", help="contract id")
    document.add_argument(
        "--period",
        help="summary, assessment: a quarter (2026Q3), a month (2026-09) or `contract` "
        "(the whole contract period, the default)",
    )
    document.add_argument("--case", metavar="NUMBER", help="implementation: the case")
    document.add_argument("--model", help="manual: the device model")
    document.add_argument(
        "--format", choices=("json", "html", "pdf"), default="html", help="default: html"
    )
    document.add_argument(
        "-o", "--output", type=Path, help="the file to write (default: standard output)"
    )
    document.add_argument(
        "--now", help="the document's instant, ISO 8601 with an offset (default: now)"
    )
    document.add_argument(
        "--contracts",
        type=Path,
        default=Path(settings.contracts_dir),
        help=f"contracts directory (default: $CASETRACK_CONTRACTS_DIR, {settings.contracts_dir})",
    )


def run_document(args: argparse.Namespace) -> int:
    from core.documents.render import render
    from core.documents.service import build_document, check_request
    from core.sources.contracts import load_contracts

    contracts = load_contracts([args.contracts])
    given = {"period": args.period, "case": args.case, "model": args.model}
    tz = args.settings.timezone
    check_request(contracts, args.kind, args.contract, tz=tz, **given)  # before the database
    now = _now(args.now)
    with _db.transaction(args.settings) as session:
        doc = build_document(
            session,
            contracts,
            args.kind,
            args.contract,
            now=now,
            tz=tz,
            **given,
        )
    data = render(doc, args.format)
    if args.output is None:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
    else:
        args.output.write_bytes(data)
        print(f"wrote {args.output} ({len(data)} bytes, {args.kind}, {args.format})")
    return 0
