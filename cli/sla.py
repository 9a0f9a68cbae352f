"""`casetrack sla due`: when one clock of a contract falls due, and the rule behind it."""

from __future__ import annotations

import argparse
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from cli._args import Commands, command, group
from cli._format import shown_time
from core.case import PRIORITIES
from core.errors import CasetrackError

if TYPE_CHECKING:
    from core.contract import Device
    from core.loaded import LoadedContract
    from core.settings import Settings


def add_parser(commands: Commands, settings: Settings) -> None:
    from core.sla import CLOCK_KINDS

    due = command(
        group(commands, "sla", help="compute SLA deadlines from a contract"),
        "due",
        run_due,
        help="when is a clock due",
        description="Print the deadline of one clock and the rule that produced it.",
    )
    due.add_argument(
        "--contract",
        help="contract id (default with --device: the contract covering the device at --at)",
    )
    due.add_argument(
        "--kind", required=True, choices=CLOCK_KINDS, help="which clock (the SLA target measured)"
    )
    due.add_argument("--at", required=True, help="start instant, ISO 8601 (e.g. 2026-09-30T15:10)")
    due.add_argument(
        "--tz",
        default=settings.timezone,
        help=f"zone for an --at without offset (default: $CASETRACK_TIMEZONE, {settings.timezone})",
    )
    due.add_argument("--priority", choices=[str(p) for p in PRIORITIES])
    due.add_argument(
        "--request-type",
        choices=["consultation", "problem_report"],
        help="first_response: a request type with its own rule (request-response) takes it",
    )
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


def run_due(args: argparse.Namespace) -> int:
    from core import sla
    from core.sources.contracts import load_contracts

    contracts = load_contracts([args.contracts])
    at = _instant(args.at, args.tz, "--at")
    if args.contract is None:
        if args.device is None:
            raise CasetrackError("give --contract, or --device to find its contract")
        # a renewal lists the same serial: the contract whose period covers --at
        lc, _ = contracts.find_device(args.device, at.astimezone(ZoneInfo(args.tz)).date())
    else:
        lc = contracts.get(args.contract)
    device = _device(lc, args.device)
    zone, zone_note = _zone(lc, args, device)
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
        request_type=args.request_type,
    )
    print(f"{deadline.kind} due {deadline.due.isoformat()}  (UTC {shown_time(deadline.due)})")
    print(f"  target: {deadline.target}")
    if zone_note:
        print(f"  zone:   {zone_note}")
    print(f"  rule:   {deadline.rule}")
    print(f"  contract: {lc.id} ({lc.contract.period.start}..{lc.contract.period.end})")
    note = sla.period_note(lc, at)
    if note:
        print(f"  note:   {note}")
    return 0


def _device(lc: LoadedContract, serial: str | None) -> Device | None:
    from core.errors import NotFoundError

    if serial is None:
        return None
    device = lc.contract.device(serial)
    if device is None:
        known = ", ".join(d.serial for d in lc.contract.devices) or "none"
        raise NotFoundError(f"device {serial!r} is not covered by {lc.contract.id} ({known})")
    return device


def _zone(
    lc: LoadedContract, args: argparse.Namespace, device: Device | None
) -> tuple[str | None, str]:
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
