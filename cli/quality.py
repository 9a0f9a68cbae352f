"""`casetrack quality ...`: the quarterly satisfaction promise, survey problems, complaints and
corrective actions (R-QUAL, docs/quality.md). Every command prints JSON lines."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, TypeVar

import msgspec

from cli._args import Commands, command, group, positive
from cli.workers import _background_runtime
from core.errors import CasetrackError

if TYPE_CHECKING:
    from core.runtime import Runtime
    from core.settings import Settings

_T = TypeVar("_T")
CLASSES = (
    "response-time",
    "resolution-time",
    "technical-skill",
    "attitude",
    "communication",
    "spare-parts",
    "process",
    "other",
)


def add_parser(commands: Commands, settings: Settings) -> None:
    quality = group(
        commands,
        "quality",
        help="satisfaction surveys, the quarterly promise, complaints, corrective actions",
    )
    quarter = command(
        quality,
        "quarter",
        run_quarter,
        help="a contract's quarterly satisfaction result (both figures)",
        description="The handbook's figure (sum of scores / cases, unanswered surveys counted "
        "as the contract's survey.unanswered says) beside the figure over the answers, the "
        "unanswered count, and whether a miss is flagged for compensation or excused.",
    )
    quarter.add_argument("contract", help="contract id, e.g. wdkn-hospital-2026")
    quarter.add_argument("quarter", help="e.g. 2026Q3")

    command(
        quality,
        "quarter-end",
        run_quarter_end,
        help="generate and queue every ended quarter's result once (what the scheduler does)",
    )

    problems = command(quality, "problems", run_problems, help="survey problems (low scores)")
    problems.add_argument("--status", choices=("open", "closed"))

    classify = command(quality, "classify", run_classify, help="classify a survey problem")
    classify.add_argument("problem", type=positive)
    classify.add_argument("classification", choices=CLASSES)
    classify.add_argument("--note")
    _actor(classify)

    close = command(quality, "close-problem", run_close_problem, help="close a survey problem")
    close.add_argument("problem", type=positive)
    _closing(close)

    actions = command(
        quality,
        "actions",
        run_actions,
        help="every corrective action, for management (通报总经理室)",
    )
    actions.add_argument("--open", action="store_true", help="only those not done yet")

    add = command(
        quality,
        "add-action",
        run_add_action,
        help="a corrective action of a survey problem or a complaint",
    )
    add.add_argument("subject", choices=("problem", "complaint"))
    add.add_argument("id", type=positive, help="the survey problem's or complaint's id")
    add.add_argument("text")
    add.add_argument("--owner", required=True)
    _actor(add)

    done = command(quality, "action-done", run_action_done, help="a corrective action is done")
    done.add_argument("subject", choices=("problem", "complaint"))
    done.add_argument("id", type=positive)
    done.add_argument("action", type=positive)
    done.add_argument("--result", required=True)
    _actor(done)

    _complaints(group(commands, "complaints", help="complaints: list, reply, assign, resolve"))


def _complaints(complaints: Commands) -> None:
    listed = command(complaints, "list", run_complaints, help="complaints, oldest first")
    listed.add_argument("--status")
    listed.add_argument("--contract")
    for name, text, field in (
        ("reply", "the first reply (stops the 2-hour clock)", "reply"),
        ("assign", "who investigates", "assignee"),
        ("investigate", "a finding of the investigation", "finding"),
        ("resolve", "resolved (stops the 15-day clock)", "resolution"),
    ):
        step = command(complaints, name, run_complaint_step, help=text)
        step.add_argument("complaint", type=positive)
        step.add_argument(field)
        step.set_defaults(step=name, field=field)
        _actor(step)
    close = command(complaints, "close", run_close_complaint, help="close a resolved complaint")
    close.add_argument("complaint", type=positive)
    _closing(close)


def _actor(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--actor", default="cli", help="who records it (default: cli)")


def _closing(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--conclusion", required=True)
    parser.add_argument("--improvement", help="reported back to the customer")
    _actor(parser)


def _print(views: Iterable[Any]) -> None:
    for view in views:
        sys.stdout.write(msgspec.json.encode(view).decode() + "\n")


def _convert(values: dict[str, object], kind: type[_T]) -> _T:
    try:
        return msgspec.convert(values, kind)
    except msgspec.ValidationError as exc:
        raise CasetrackError(f"invalid option: {exc}") from None


def _with(args: argparse.Namespace, act: Callable[[Runtime], Any]) -> int:
    with _background_runtime(args) as runtime:
        result = act(runtime)
    _print(result if isinstance(result, list) else [result])
    return 0


# --- the quarter -------------------------------------------------------------------------------


def run_quarter(args: argparse.Namespace) -> int:
    from core.quality import parse_quarter
    from core.store.quality import quarterly_result

    quarter = parse_quarter(args.quarter, "quarter")

    def act(runtime: Runtime) -> Any:
        with runtime.sessions() as session:
            lc = runtime.contracts.get(args.contract)
            return quarterly_result(session, lc, quarter, now=runtime.clock())

    return _with(args, act)


def run_quarter_end(args: argparse.Namespace) -> int:
    from core.jobs.quality import quality_pass

    with _background_runtime(args) as runtime:
        done = quality_pass(runtime, now=runtime.clock())
    print(f"quality: {len(done.sent)} quarters generated, {done.notices} notices queued")
    for line in done.sent:
        print(f"  {line}")
    return 0


# --- survey problems and actions -----------------------------------------------------------------


def run_problems(args: argparse.Namespace) -> int:
    return _with(args, lambda runtime: runtime.desk.survey_problems(status=args.status))


def run_classify(args: argparse.Namespace) -> int:
    from core.corrective import Classify

    cmd = _convert({"classification": args.classification, "note": args.note}, Classify)
    return _with(
        args,
        lambda rt: rt.desk.classify_problem(args.problem, cmd, actor=args.actor, now=rt.clock()),
    )


def run_close_problem(args: argparse.Namespace) -> int:
    cmd = _closing_cmd(args)
    return _with(
        args, lambda rt: rt.desk.close_problem(args.problem, cmd, actor=args.actor, now=rt.clock())
    )


def run_actions(args: argparse.Namespace) -> int:
    return _with(args, lambda runtime: runtime.desk.corrective_actions(open_only=args.open))


def run_add_action(args: argparse.Namespace) -> int:
    from core.corrective import NewAction

    cmd = _convert({"text": args.text, "owner": args.owner}, NewAction)

    def act(rt: Runtime) -> Any:
        add = (
            rt.desk.add_problem_action
            if args.subject == "problem"
            else rt.desk.add_complaint_action
        )
        return add(args.id, cmd, actor=args.actor, now=rt.clock())

    return _with(args, act)


def run_action_done(args: argparse.Namespace) -> int:
    from core.corrective import ActionDone

    cmd = _convert({"result": args.result}, ActionDone)

    def act(rt: Runtime) -> Any:
        desk = rt.desk
        finish = (
            desk.finish_problem_action
            if args.subject == "problem"
            else desk.finish_complaint_action
        )
        return finish(args.id, args.action, cmd, actor=args.actor, now=rt.clock())

    return _with(args, act)


def _closing_cmd(args: argparse.Namespace) -> Any:
    from core.corrective import CloseProblem

    values = {"conclusion": args.conclusion, "improvement": args.improvement}
    return _convert(values, CloseProblem)


# --- complaints --------------------------------------------------------------------------------


def run_complaints(args: argparse.Namespace) -> int:
    return _with(args, lambda rt: rt.desk.complaints(status=args.status, contract_id=args.contract))


def run_complaint_step(args: argparse.Namespace) -> int:
    from core.complaints import AssignComplaint, Investigate, Reply, ResolveComplaint

    kinds: dict[str, type[Any]] = {
        "reply": Reply,
        "assign": AssignComplaint,
        "investigate": Investigate,
        "resolve": ResolveComplaint,
    }
    cmd = _convert({args.field: getattr(args, args.field)}, kinds[args.step])

    def act(rt: Runtime) -> Any:
        step = getattr(rt.desk, f"{args.step}_complaint")
        return step(args.complaint, cmd, actor=args.actor, now=rt.clock())

    return _with(args, act)


def run_close_complaint(args: argparse.Namespace) -> int:
    cmd = _closing_cmd(args)
    return _with(
        args,
        lambda rt: rt.desk.close_complaint(args.complaint, cmd, actor=args.actor, now=rt.clock()),
    )
