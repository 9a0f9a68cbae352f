"""`casetrack maintenance plans | run-once | show | result | report | change | announce |
notices`: maintenance plans and their inspections, major change review, hotline and contact
change notices, with the HTTP API's authorization rules (docs/maintenance.md).

``--as`` names the person acting (an id or name in the staff directory); their directory roles
must include one of the roles the matching HTTP route allows (api/maintenance.py).
"""

from __future__ import annotations

import argparse
import json
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import msgspec

from cli._args import Commands, case_and_actor, command, group
from cli.onsite import _authorize, _runtime
from core.errors import CasetrackError

if TYPE_CHECKING:
    from core.runtime import Runtime
    from core.settings import Settings

# change action → (desk method, command Struct name, api/maintenance.py roles tuple)
CHANGES = {
    "propose": ("propose_change", "ProposeChange", "CHANGE_PROPOSERS"),
    "review": ("review_change", "ReviewChange", "CHANGE_REVIEWERS"),
    "implement": ("implement_change", "ImplementChange", "CHANGE_IMPLEMENTERS"),
}


def add_parser(commands: Commands, settings: Settings) -> None:
    sub = group(
        commands, "maintenance", help="maintenance plans, inspections, change review, notices"
    )
    command(sub, "plans", run_plans, help="every plan's health: opened, late, missed, next (JSON)")
    once = command(
        sub,
        "run-once",
        run_once,
        help="open the inspections due now (one scheduler pass of the plans)",
        description="Opens every occurrence due now and not yet opened (each once, whatever "
        "other schedulers do); --at gives the instant (ISO 8601 with offset) instead of now.",
    )
    once.add_argument("--at", type=_instant, help="the pass's instant (default: now)")
    show = command(sub, "show", run_show, help="an inspection case's checklist and results (JSON)")
    show.add_argument("number")
    for name, run, what in (
        ("result", run_result, 'a device\'s result, e.g. {"serial": "X", "outcome": "ok"}'),
        ("report", run_report, 'the report, e.g. {"summary": "…", "attachments": ["<sha256>"]}'),
    ):
        parser = command(sub, name, run, help=f"record {what.split(',')[0]}")
        case_and_actor(parser)
        parser.add_argument("--json", required=True, help=f"its fields (JSON object): {what}")
    change = command(
        sub,
        "change",
        run_change,
        help="propose, review (expert group) or implement a change plan",
        description="A major change is carried out only after the expert group approved it "
        '(refused, exit 1, otherwise). --json e.g. \'{"change": 7, "decision": "approved", '
        '"comment": "ok"}\'.',
    )
    change.add_argument("action", choices=list(CHANGES))
    case_and_actor(change)
    change.add_argument("--json", required=True, help="the command's fields (JSON object)")
    announce = command(
        sub,
        "announce",
        run_announce,
        help="record and send a hotline or contact change notice",
        description="Refused (exit 1) under notice_days (3) ahead unless force with "
        'force_reason. --json e.g. \'{"subject": "hotline", "old_value": "0631-5187755", '
        '"new_value": "0631-5187766", "effective_at": "2026-12-20T00:00:00+08:00"}\'.',
    )
    announce.add_argument("contract")
    announce.add_argument("--as", dest="actor", required=True, help="who announces it")
    announce.add_argument("--json", required=True, help="the notice (JSON object)")
    notices = command(sub, "notices", run_notices, help="a contract's change notices (JSON)")
    notices.add_argument("contract")


def _instant(text: str) -> datetime:
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        raise argparse.ArgumentTypeError(f"{text!r} has no UTC offset (e.g. +08:00)")
    return moment


def _decode(text: str, struct: str) -> Any:
    from core import commands

    try:
        return msgspec.json.decode(text.encode("utf-8"), type=getattr(commands, struct))
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise CasetrackError(f"--json: {exc}") from None


def _print(value: Any) -> int:
    print(json.dumps(msgspec.to_builtins(value), ensure_ascii=False, indent=2))
    return 0


def _show(runtime: Runtime, number: str) -> int:
    from api.maintenance import inspection_status

    with runtime.sessions() as session:
        return _print(inspection_status(session, number, customer_view=False))


def run_plans(args: argparse.Namespace) -> int:
    from core.jobs.inspections import plan_health

    runtime = _runtime(args.settings)
    try:
        catch_up = timedelta(days=runtime.settings.inspection_catch_up_days)
        with runtime.sessions() as session:
            health = plan_health(session, runtime.contracts, now=runtime.clock(), catch_up=catch_up)
        return _print(health)
    finally:
        runtime.close()


def run_once(args: argparse.Namespace) -> int:
    from core.jobs.inspections import inspection_pass

    runtime = _runtime(args.settings)
    try:
        done = inspection_pass(runtime, now=args.at or runtime.clock())
        print(done.line())
        for number in done.opened:
            print(f"  opened {number}")
        for error in done.errors:
            print(f"  error: {error}")
        return 1 if done.errors else 0
    finally:
        runtime.close()


def run_show(args: argparse.Namespace) -> int:
    runtime = _runtime(args.settings)
    try:
        return _show(runtime, args.number)
    finally:
        runtime.close()


def _inspection_step(args: argparse.Namespace, method: str, struct: str) -> int:
    from api.maintenance import INSPECTORS

    cmd = _decode(args.json, struct)
    runtime = _runtime(args.settings)
    try:
        actor = _authorize(runtime, args.actor, INSPECTORS)
        getattr(runtime.desk, method)(args.number, cmd, actor=actor, now=runtime.clock())
        return _show(runtime, args.number)
    finally:
        runtime.close()


def run_result(args: argparse.Namespace) -> int:
    return _inspection_step(args, "record_inspection_result", "InspectionResult")


def run_report(args: argparse.Namespace) -> int:
    return _inspection_step(args, "record_inspection_report", "InspectionReport")


def run_change(args: argparse.Namespace) -> int:
    from api import maintenance

    method, struct, roles = CHANGES[args.action]
    cmd = _decode(args.json, struct)
    runtime = _runtime(args.settings)
    try:
        actor = _authorize(runtime, args.actor, getattr(maintenance, roles))
        receipt = getattr(runtime.desk, method)(args.number, cmd, actor=actor, now=runtime.clock())
        print(f"{receipt.number}: recorded event #{', #'.join(map(str, receipt.events))}")
        return 0
    finally:
        runtime.close()


def run_announce(args: argparse.Namespace) -> int:
    from api.maintenance import ANNOUNCERS

    cmd = _decode(args.json, "AnnounceChange")
    runtime = _runtime(args.settings)
    try:
        actor = _authorize(runtime, args.actor, ANNOUNCERS)
        return _print(
            runtime.desk.announce_change(args.contract, cmd, actor=actor, now=runtime.clock())
        )
    finally:
        runtime.close()


def run_notices(args: argparse.Namespace) -> int:
    runtime = _runtime(args.settings)
    try:
        return _print(runtime.desk.notices(args.contract))
    finally:
        runtime.close()
