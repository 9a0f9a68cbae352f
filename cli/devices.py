"""`casetrack devices show SERIAL`: a device on record, the replacements before and after it,
the contract that covers it (spare parts, docs/spares.md), its operating environment and
software version and their history; `casetrack devices record SERIAL`: record a change
(docs/knowledge.md "Device records")."""

from __future__ import annotations

import argparse

from cli import _db
from cli._args import Commands, command, group
from core.settings import Settings


def add_parser(commands: Commands, settings: Settings) -> None:
    sub = group(
        commands, "devices", help="device records: coverage, replacements, versions, history"
    )
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
    record = command(
        sub,
        "record",
        run_record,
        help="record a change of a device's model, site, environment or software version",
        description="Record the new values given for the device SERIAL (on record, or listed "
        "by a contract). With --case the change is also an event of that case. A value equal "
        "to the record's is no change.",
    )
    record.add_argument("serial", metavar="SERIAL")
    record.add_argument("--model")
    record.add_argument("--site")
    record.add_argument("--environment", help="operating environment (运行环境)")
    record.add_argument("--software-version", help="software or firmware version (软件版本)")
    record.add_argument("--case", help="the case (or inspection) during which it changed")
    record.add_argument("--note")
    record.add_argument("--actor", default="cli", help="who records it (default: cli)")


def run_show(args: argparse.Namespace) -> int:
    from core.desk.device_records import device_history
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
        print(f"  software: {row.software_version or '-'}")
        print(f"  environment: {row.environment or '-'}")
        for event in device_history(session, row.serial):
            changes = ", ".join(
                f"{name}: {change['from'] or '-'} -> {change['to'] or '-'}"
                for name, change in event.changes.items()
            )
            where = f" on {event.case_number}" if event.case_number else ""
            print(f"  {event.at:%Y-%m-%d %H:%M}Z {event.kind}{where} by {event.actor}: {changes}")
    return 0


def run_record(args: argparse.Namespace) -> int:
    import msgspec

    from cli.workers import _background_runtime
    from core.commands import RecordDeviceChange
    from core.errors import CasetrackError

    values = {
        "model": args.model,
        "site": args.site,
        "environment": args.environment,
        "software_version": args.software_version,
        "case_number": args.case,
        "note": args.note,
    }
    try:
        cmd = msgspec.convert(values, RecordDeviceChange)
    except msgspec.ValidationError as exc:
        raise CasetrackError(f"invalid option: {exc}") from None
    with _background_runtime(args) as runtime:
        view = runtime.desk.record_device_change(
            args.serial, cmd, actor=args.actor, now=runtime.clock()
        )
    print(f"{view.serial}  {view.model}: {len(view.history)} change(s) on record")
    return 0
