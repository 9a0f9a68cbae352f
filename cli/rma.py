"""`casetrack rma ...`: vendor RMAs on a case (open, list, update, cancel) and the scheduler's
RMA work run once (poll-once, ingest-maildrop). Each prints the RMA orders as JSON lines."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import msgspec

from cli._args import Commands, command, group, positive
from cli.workers import _background_runtime
from core.errors import CasetrackError

if TYPE_CHECKING:
    from core.rma import RmaView
    from core.settings import Settings

_T = TypeVar("_T")
STATES = ("requested", "open", "shipped", "delivered", "closed", "cancelled", "rejected")


def add_parser(commands: Commands, settings: Settings) -> None:
    rma = group(commands, "rma", help="vendor RMAs: open, list, record, cancel, poll")
    opened = command(
        rma,
        "open",
        run_open,
        help="open an RMA for a device of a case",
        description="Open an RMA through the device's channel (digital_china: a structured "
        "e-mail to CASETRACK_DC_RMA_ADDRESS). The key makes a retry safe.",
    )
    opened.add_argument("case", help="case number, e.g. MS-2026-000042")
    opened.add_argument("--serial", help="device serial (default: the case's device)")
    opened.add_argument("--part", help="part number or description")
    opened.add_argument("--problem", help="the diagnosed fault (default: the case summary)")
    opened.add_argument("--ship-to", help="delivery address (default: the device's site)")
    opened.add_argument("--vendor-case", help="the vendor's case number, if the customer has one")
    opened.add_argument("--key", help="idempotency key (default: one open RMA per device)")
    _actor(opened)

    listed = command(rma, "list", run_list, help="a case's RMAs")
    listed.add_argument("case")

    update = command(rma, "update", run_update, help="record what the vendor said")
    update.add_argument("case")
    update.add_argument("rma", type=positive, help="RMA id")
    update.add_argument("--state", required=True, choices=STATES)
    update.add_argument("--raw-status", help="the vendor's own word (default: the state)")
    update.add_argument("--vendor-case")
    update.add_argument("--carrier")
    update.add_argument("--waybill")
    update.add_argument(
        "--stock", help="warehouses holding the part, comma-separated (beijing,shanghai); 'none'"
    )
    _actor(update)

    cancel = command(rma, "cancel", run_cancel, help="withdraw an RMA at the vendor")
    cancel.add_argument("case")
    cancel.add_argument("rma", type=positive, help="RMA id")
    cancel.add_argument("--reason", required=True)
    _actor(cancel)

    poll = command(
        rma,
        "poll-once",
        run_poll_once,
        help="ask the vendors about every due RMA once (what each scheduler pass does)",
    )
    poll.add_argument("--limit", type=positive, default=100)

    ingest = command(
        rma,
        "ingest-maildrop",
        run_ingest,
        help="read the vendor replies in the RMA mail drop once",
        description="Read every .eml file (and maildir new/) of the mail drop; processed "
        "files move to done/, unreadable ones to failed/ with a .reason.txt.",
    )
    ingest.add_argument(
        "--dir",
        type=Path,
        default=None,
        help="mail drop (default: $CASETRACK_RMA_MAILDROP_DIR, else <var_dir>/rma-maildrop)",
    )
    ingest.add_argument(
        "--channel",
        default=settings.rma_maildrop_channel,
        help=f"whose parser reads it (default: {settings.rma_maildrop_channel})",
    )


def _actor(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--actor", default="cli", help="who records it (default: cli)")


def _print(views: Iterable[RmaView]) -> None:
    for view in views:
        sys.stdout.write(msgspec.json.encode(view).decode() + "\n")


def _convert(values: dict[str, object], kind: type[_T]) -> _T:
    try:
        return msgspec.convert(values, kind)
    except msgspec.ValidationError as exc:
        raise CasetrackError(f"invalid option: {exc}") from None


def run_open(args: argparse.Namespace) -> int:
    from core.rma import OpenRma

    cmd = _convert(
        {
            "serial": args.serial,
            "part": args.part,
            "problem": args.problem,
            "ship_to": args.ship_to,
            "vendor_case": args.vendor_case,
            "idempotency_key": args.key,
        },
        OpenRma,
    )
    with _background_runtime(args) as runtime:
        _print([runtime.desk.open_rma(args.case, cmd, actor=args.actor, now=runtime.clock())])
    return 0


def run_list(args: argparse.Namespace) -> int:
    with _background_runtime(args) as runtime:
        _print(runtime.desk.list_rmas(args.case))
    return 0


def run_update(args: argparse.Namespace) -> int:
    from core.rma import RmaEntry

    stock = None
    if args.stock is not None:
        stock = [s.strip() for s in args.stock.split(",") if s.strip() not in ("", "none")]
    cmd = _convert(
        {
            "state": args.state,
            "raw_status": args.raw_status,
            "vendor_case": args.vendor_case,
            "carrier": args.carrier,
            "waybill": args.waybill,
            "stock": stock,
        },
        RmaEntry,
    )
    with _background_runtime(args) as runtime:
        view = runtime.desk.update_rma(
            args.case, args.rma, cmd, actor=args.actor, now=runtime.clock()
        )
        _print([view])
    return 0


def run_cancel(args: argparse.Namespace) -> int:
    from core.rma import CancelRma

    with _background_runtime(args) as runtime:
        view = runtime.desk.cancel_rma(
            args.case,
            args.rma,
            CancelRma(reason=args.reason),
            actor=args.actor,
            now=runtime.clock(),
        )
        _print([view])
    return 0


def run_poll_once(args: argparse.Namespace) -> int:
    from core.jobs.rma import poll_rmas

    with _background_runtime(args) as runtime:
        report = poll_rmas(runtime, now=runtime.clock(), limit=args.limit)
    print(report.line())
    return 0


def run_ingest(args: argparse.Namespace) -> int:
    from core.jobs.rma import ingest_maildrop

    with _background_runtime(args) as runtime:
        report = ingest_maildrop(
            runtime, now=runtime.clock(), directory=args.dir, channel=args.channel
        )
    print(report.line())
    return 1 if report.rejected else 0
