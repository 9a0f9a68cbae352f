"""`casetrack onsite request | emergency | step | attach | show`: the on-site procedure from the
command line, with the HTTP API's authorization rules (docs/onsite.md).

``--as`` names the person acting (an id or name in the staff directory); their directory roles
must include one of the roles the matching HTTP route allows (api/cases.py, api/onsite.py).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import msgspec

from cli import _db
from cli._args import Commands, case_and_actor, command, group
from core.errors import CasetrackError, Forbidden

if TYPE_CHECKING:
    from core.runtime import Runtime
    from core.settings import Settings

# step name → (desk method, command Struct name); the roles are api/onsite.STEP_RECORDERS
STEPS = {
    "prepared": ("onsite_prepared", "OnsitePrepare"),
    "arrived": ("onsite_arrived", "Milestone"),
    "request-signed": ("onsite_request_signed", "OnsiteSignRequest"),
    "solution-approved": ("onsite_solution_approved", "OnsiteApproveSolution"),
    "operation-approved": ("onsite_operation_approved", "OnsiteApproveOperation"),
    "operation": ("onsite_operation_performed", "OnsitePerformOperation"),
    "report-signed": ("onsite_report_signed", "OnsiteSignReport"),
    "training": ("onsite_training_given", "OnsiteTraining"),
}


def add_parser(commands: Commands, settings: Settings) -> None:
    sub = group(commands, "onsite", help="on-site dispatch, its signed steps and attachments")
    request = command(
        sub,
        "request",
        run_request,
        help="file a normal on-site request (the service manager's)",
        description="Both sides agreed on-site support is needed: the zone's arrival clock "
        "starts. Refused (exit 1) without a recorded phone or remote attempt unless "
        "--override gives a reason, and where the contract did not buy it unless --chargeable.",
    )
    emergency = command(
        sub,
        "emergency",
        run_emergency,
        help="dispatch an emergency: the engineer goes straight to the site",
    )
    for parser in (request, emergency):
        case_and_actor(parser)
        parser.add_argument("--reason", required=True)
        parser.add_argument("--engineer", help="who goes (default: plan's, else zone's on-duty)")
        parser.add_argument("--part-swap", action="store_true", help="an on-site part swap")
        parser.add_argument("--chargeable", metavar="REASON", help="record it as chargeable")
    request.add_argument("--override", metavar="REASON", help="no phone/remote attempt: why")
    step = command(
        sub,
        "step",
        run_step,
        help="record a step of the visit: " + ", ".join(STEPS),
        description="The step's fields as JSON, as the HTTP API takes them, e.g. "
        '--json \'{"signed_by": "毕红梅"}\'.',
    )
    case_and_actor(step)
    step.add_argument("step", choices=list(STEPS))
    step.add_argument("--json", default="{}", help="the step's fields (JSON object)")
    attach = command(sub, "attach", run_attach, help="store a PDF/JPEG/PNG for the case")
    case_and_actor(attach)
    attach.add_argument("file", type=Path)
    show = command(sub, "show", run_show, help="the case's on-site status and steps (JSON)")
    show.add_argument("number")


def _runtime(settings: Settings) -> Runtime:
    from core.runtime import build_runtime

    with _db.engine(settings, require_schema=True):
        pass  # refuse a database that is missing or behind, before building anything
    return build_runtime(settings)


def _authorize(runtime: Runtime, actor: str, allowed: tuple[Any, ...]) -> str:
    """The actor's directory id when one of their roles is allowed; Forbidden otherwise."""
    staff = runtime.desk.staff()
    person = staff.person(actor) if staff is not None else None
    if person is None:
        raise Forbidden(f"{actor!r} is not in the staff directory: --as names one of our people")
    if not {str(role) for role in allowed} & set(person.roles):
        needed = ", ".join(str(role) for role in allowed)
        raise Forbidden(f"{person.id} ({', '.join(person.roles)}) may not do this: needs {needed}")
    return person.id


def _done(runtime: Runtime, number: str) -> int:
    from api.onsite import onsite_status

    with runtime.sessions() as session:
        status = onsite_status(session, number, customer_view=False)
    print(json.dumps(msgspec.to_builtins(status), ensure_ascii=False, indent=2))
    return 0


def run_request(args: argparse.Namespace) -> int:
    from api.cases import ONSITE_REQUESTERS
    from core.commands import RequestOnsite

    runtime = _runtime(args.settings)
    try:
        actor = _authorize(runtime, args.actor, ONSITE_REQUESTERS)
        cmd = RequestOnsite(
            reason=args.reason,
            engineer=args.engineer,
            part_swap=args.part_swap,
            chargeable=args.chargeable is not None,
            chargeable_reason=args.chargeable,
            override_reason=args.override,
        )
        runtime.desk.request_onsite(args.number, cmd, actor=actor, now=runtime.clock())
        return _done(runtime, args.number)
    finally:
        runtime.close()


def run_emergency(args: argparse.Namespace) -> int:
    from api.onsite import EMERGENCY_DISPATCHERS
    from core.commands import EmergencyOnsite

    runtime = _runtime(args.settings)
    try:
        actor = _authorize(runtime, args.actor, EMERGENCY_DISPATCHERS)
        cmd = EmergencyOnsite(
            reason=args.reason,
            engineer=args.engineer,
            part_swap=args.part_swap,
            chargeable=args.chargeable is not None,
            chargeable_reason=args.chargeable,
        )
        runtime.desk.dispatch_emergency(args.number, cmd, actor=actor, now=runtime.clock())
        return _done(runtime, args.number)
    finally:
        runtime.close()


def run_step(args: argparse.Namespace) -> int:
    from api.cases import MILESTONES
    from api.onsite import STEP_RECORDERS
    from core import commands

    method, struct = STEPS[args.step]
    try:
        cmd = msgspec.json.decode(args.json.encode("utf-8"), type=getattr(commands, struct))
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise CasetrackError(f"--json: {exc}") from None
    runtime = _runtime(args.settings)
    try:
        allowed = MILESTONES if args.step == "arrived" else STEP_RECORDERS
        actor = _authorize(runtime, args.actor, allowed)
        getattr(runtime.desk, method)(args.number, cmd, actor=actor, now=runtime.clock())
        return _done(runtime, args.number)
    finally:
        runtime.close()


def run_attach(args: argparse.Namespace) -> int:
    from api.onsite import ATTACHERS

    try:
        data = args.file.read_bytes()
    except OSError as exc:
        raise CasetrackError(f"cannot read {args.file}: {exc.strerror}") from None
    runtime = _runtime(args.settings)
    try:
        actor = _authorize(runtime, args.actor, ATTACHERS)
        ref = runtime.desk.attach(
            args.number, data, name=args.file.name, claimed=None, actor=actor, now=runtime.clock()
        )
        print(json.dumps(msgspec.to_builtins(ref), ensure_ascii=False))
        return 0
    finally:
        runtime.close()


def run_show(args: argparse.Namespace) -> int:
    runtime = _runtime(args.settings)
    try:
        return _done(runtime, args.number)
    finally:
        runtime.close()
