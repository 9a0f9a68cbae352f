"""`casetrack devices show SERIAL`: a device on record, the replacements before and after it,
and the contract that covers it (spare parts, docs/spares.md)."""

from __future__ import annotations

import argparse

from cli import _db
from cli._args import Commands, command, group
from core.settings import Settings


def add_parser(commands: Commands, settings: Settings) -> None:
    sub = group(commands, "devices", help="device records: replacements and their coverage")
    show = command(
        sub,
        "show",
        run_show,
        help="a device, its replacement chain and its coverage",
        description="Show the device SERIAL as recorded (a contract's device once a spare was "
        "requested for it, or a replacement installed on a spare request), the devices it "
        "replaced and was replaced by, and the contract whose coverage it carries. The "
        "database is $CASETRACK_DATABASE_URL.",
    )
    show.add_argument("serial", metavar="SERIAL")


def run_show(args: argparse.Namespace) -> int:
    from core.desk.devices import find_row
    from core.errors import NotFoundError

    with _db.transaction(args.settings) as session:
        row = find_row(session, args.serial)
        if row is None:
            raise NotFoundError(f"no device {args.serial!r} on record")
        before: list[str] = []
        after: list[str] = []
        current = row
        while current.predecessor_serial and len(before) < 50:
            before.append(current.predecessor_serial)
            found = find_row(session, current.predecessor_serial)
            if found is None:
                break
            current = found
        current = row
        while current.replaced_by and len(after) < 50:
            after.append(current.replaced_by)
            found = find_row(session, current.replaced_by)
            if found is None:
                break
            current = found
        print(f"{row.serial}  {row.model}")
        print(f"  contract: {row.contract_id or '(none: not under contract)'}")
        print(f"  tier: {row.tier or '-'}  site: {row.site or '-'}  zone: {row.zone or '-'}")
        if before:
            print(f"  replaces: {' <- '.join(before)}")
        if after:
            print(f"  replaced by: {' -> '.join(after)}")
    return 0
