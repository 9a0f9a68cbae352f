"""The demo seeder: plays the stories of stories.yaml through the desk, each step at its time."""

from __future__ import annotations

import dataclasses
import email.policy
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime
from typing import TYPE_CHECKING

import msgspec
from sqlalchemy import func, select

from cli.demo.book import (
    BOOK,
    CiscoAdvance,
    NoOccurrence,
    OpenInspection,
    Step,
    Story,
    VendorReply,
    When,
    local,
    read_story,
)
from cli.demo.cisco import cisco_stand_in
from cli.demo.web_users import DemoUser, make_demo_users
from core.commands import Close
from core.jobs.rma import poll_rmas
from core.service_types import effective_service_type
from core.store import orm
from core.store.tokens import create_token
from core.surveys import SurveyAnswer

if TYPE_CHECKING:
    from core.runtime import Runtime
    from plugins.vendor_rma.cisco_sandbox import CiscoSandbox

# the contracts and stories the code names (the banner, the tests)
HOSPITAL, SCHOOL, BANK, PORT = "wdkn-hospital-2026", "rsyz-2026", "whccb-huancui-2025", "sdgw-2025"
HEADLINE = "his-outage"  # the story the CLI shows first (the P1 emergency at the hospital)
REMOTE = "pacs-remote"  # the case whose credentials the demo engineer may reveal
OVERDUE = "core-switch-overdue"  # the case that escalates while the demo runs
DC_RMA = "pacs-controller-rma"  # a part through Digital China's RMA: request, stock, shipped


@dataclass(frozen=True, slots=True)
class DemoToken:
    """One demo API token (shown once: only its hash is stored)."""

    role: str
    name: str
    token: str
    customer_id: str | None = None


@dataclass(frozen=True, slots=True)
class DemoSummary:
    """What ``seed_demo`` did: counts of the seeded data, or why nothing was seeded."""

    seeded: bool
    message: str
    cases: int = 0
    events: int = 0
    by_status: dict[str, int] = field(default_factory=dict)
    by_contract: dict[str, int] = field(default_factory=dict)
    clocks: dict[str, int] = field(default_factory=dict)  # clock state → how many
    numbers: dict[str, str] = field(default_factory=dict)  # story key → case number
    tokens: tuple[DemoToken, ...] = ()
    skipped: tuple[str, ...] = ()  # contracts or stories left out, with the reason
    users: tuple[DemoUser, ...] = ()  # web sign-in, one beside each token (cli/demo/web_users.py)


# --- seeding -----------------------------------------------------------------------------------


DEMO_URL = "http://localhost:8000"  # `casetrack serve`'s default address


def seed_demo(runtime: Runtime, *, now: datetime) -> DemoSummary:
    """Seed example cases and demo tokens into an empty case store; a no-op otherwise.

    Every case is played through the desk's own commands, each at its own time before
    ``now``, so clocks are met or breached exactly as they would be. A contract whose period
    ended gets only stories that close before its end; one not yet started is skipped.
    Not one transaction: each command commits on its own, like the desk does for real.
    """
    if now.tzinfo is None:
        raise ValueError("seed_demo needs an aware `now`")
    existing = _count(runtime, orm.Case)
    if existing:
        return DemoSummary(
            seeded=False,
            message=f"the database already has {existing} case{'s' if existing != 1 else ''}: "
            "demo not seeded (and no demo tokens made)",
        )
    stories, skipped = _plan(runtime, now)
    # all stories interleaved in time order: case numbers follow the opening times
    steps = [(step.at, i, story, step) for story in stories for i, step in enumerate(story.steps)]
    # survey links need a public URL: without one set, the demo's point at serve's default
    public_url, runtime.desk.public_url = (
        runtime.desk.public_url,
        runtime.desk.public_url or DEMO_URL,
    )
    try:
        with cisco_stand_in(runtime, stories) as cisco:  # Cisco's API, played locally
            for _, _, story, step in sorted(steps, key=lambda entry: (entry[0], entry[1])):
                _play(runtime, story, step, cisco)
    finally:
        runtime.desk.public_url = public_url
    runtime.desk.note_breaches(now=now)  # what the periodic sweep would have recorded by now
    tokens = _make_tokens(runtime, now)
    users = make_demo_users(runtime, tokens, now)
    return dataclasses.replace(_summary(runtime, stories, tokens, skipped), users=users)


def _plan(runtime: Runtime, now: datetime) -> tuple[list[Story], list[str]]:
    """The stories to play, per contract and its period, and what was left out and why."""
    stories: list[Story] = []
    skipped: list[str] = []
    for told in BOOK.contracts:
        lc = runtime.contracts.contracts.get(told.id)
        if lc is None:
            skipped.append(f"{told.id}: contract not loaded")
            continue
        period = lc.contract.period
        cal = lc.calendar("working-hours")
        today = now.astimezone(cal.tz).date()
        if today < period.start:
            skipped.append(f"{told.id}: its period starts {period.start}")
            continue
        ended = today > period.end
        # a finished contract gets history only: stories told as if the day after it ended
        anchor = local(period.end + timedelta(days=1), "00:00", cal.tz) if ended else now
        when = When(anchor, cal)
        for data in told.stories:
            try:
                story = read_story(data, lc, when)
            except NoOccurrence as exc:
                skipped.append(str(exc))
                continue
            first = story.steps[0].at
            if ended and not story.closes:
                skipped.append(f"{told.id}/{story.key}: open story, period ended {period.end}")
            elif first.astimezone(cal.tz).date() < period.start:
                skipped.append(f"{told.id}/{story.key}: would start before {period.start}")
            else:
                story.check(now)
                stories.append(story)
    return stories, skipped


def _play(runtime: Runtime, story: Story, step: Step, cisco: CiscoSandbox | None) -> None:
    desk = runtime.desk
    if step.method == "open_case":
        story.number = desk.open_case(step.cmd, actor=step.actor, now=step.at).number
        return
    if isinstance(step.cmd, OpenInspection):  # the scheduler's, on time
        (story.number,) = desk.open_inspections([story.occurrence], now=step.at)
        return
    if isinstance(step.cmd, VendorReply):
        order = desk.list_rmas(story.number)[-1]
        raw = vendor_reply(step.cmd.lines, story.number, order.idempotency_key, step.at)
        desk.ingest_rma_message(step.cmd.channel, raw, now=step.at)
        return
    if isinstance(step.cmd, CiscoAdvance):
        _cisco_advance(runtime, story, step.cmd, step.at, cisco)
        return
    if isinstance(step.cmd, SurveyAnswer):
        desk.answer_survey(survey_token(runtime, story.number), step.cmd, now=step.at)
        return
    cmd = step.cmd if step.method != "close" else _closing(story, step)
    receipt = getattr(desk, step.method)(story.number, cmd, actor=step.actor, now=step.at)
    if getattr(cmd, "follow_up", None) is not None:
        # the case the finding opened: numbered as "<story>/follow-up" in the summary
        story.follow_up = receipt.appended[-1].payload["follow_up"]


def survey_token(runtime: Runtime, number: str) -> str:
    """The token of the case's latest survey link, from its queued notice (the caller's
    mailbox would show the same link)."""
    with runtime.sessions() as session:
        variables = session.scalars(
            select(orm.Notification.variables)
            .join(orm.Case, orm.Case.id == orm.Notification.case_id)
            .where(orm.Case.number == number, orm.Notification.template == "survey_request")
            .order_by(orm.Notification.id.desc())
        ).first()
    if variables is None:
        raise ValueError(f"demo: case {number} has no survey link (a caller without address?)")
    return str(variables["link"]).rsplit("/", 1)[1]


def _cisco_advance(
    runtime: Runtime,
    story: Story,
    cmd: CiscoAdvance,
    at: datetime,
    cisco: CiscoSandbox | None,
) -> None:
    """Cisco moves the story's latest RMA on; the scheduler's RMA poll then reads it."""
    order = runtime.desk.list_rmas(story.number)[-1]
    if cisco is None or order.vendor_case is None:
        raise ValueError(f"demo story {story.key}: no Cisco RMA to advance")
    cisco.advance(order.vendor_case, cmd.to)
    report = poll_rmas(runtime, now=at)
    after = runtime.desk.list_rmas(story.number)[-1]
    if not report.polled or after.failures or after.updated_at != at:
        raise ValueError(
            f"demo story {story.key}: the RMA poll at {at} did not read Cisco's {cmd.to!r} "
            f"(due {order.next_poll_at}, last error {after.last_error!r})"
        )


def vendor_reply(lines: list[str], number: str, key: str, at: datetime) -> bytes:
    """A vendor's reply as it would arrive in the RMA mail drop, quoting our subject."""
    message = EmailMessage(policy=email.policy.SMTP)
    message["From"] = "神州数码备件中心 <rma@digitalchina.example.cn>"
    message["To"] = "servicedesk@localhost.localdomain"
    message["Subject"] = f"Re: [RMA open] {number} key={key}"
    message["Date"] = format_datetime(at)
    message.set_content("\n".join(lines) + "\n")
    return message.as_bytes()


def _closing(story: Story, step: Step) -> Close:
    """The close of ``step``: every checklist item confirmed, every deliverable filed."""
    service = effective_service_type(story.category, story.lc.contract.service_types)
    documents = {
        d.id: f"文档库/{story.number}/{d.label.split()[0]}.pdf" for d in service.deliverables
    }
    return msgspec.structs.replace(
        step.cmd, checklist=list(service.checklist_ids), deliverables=documents
    )


def _make_tokens(runtime: Runtime, now: datetime) -> tuple[DemoToken, ...]:
    wanted: list[tuple[str, str, str | None]] = []
    for token in BOOK.tokens:
        if token.customer_of is None:
            wanted.append((token.role, token.name or token.role, None))
        elif (lc := runtime.contracts.contracts.get(token.customer_of)) is not None:
            customer = lc.contract.customer
            wanted.append((token.role, token.name or f"{customer.name} (demo)", customer.id))
    made = []
    with runtime.sessions.begin() as session:
        for role, name, customer_id in wanted:
            secret, _ = create_token(
                session, roles=[role], name=name, now=now, customer_id=customer_id
            )
            made.append(DemoToken(role, name, secret, customer_id))
    return tuple(made)


def _summary(
    runtime: Runtime, stories: list[Story], tokens: tuple[DemoToken, ...], skipped: list[str]
) -> DemoSummary:
    with runtime.sessions() as session:
        cases = session.execute(select(orm.Case.status, orm.Case.contract_id)).all()
        states = session.scalars(select(orm.SlaClock.state)).all()
        events = session.scalar(select(func.count()).select_from(orm.CaseEvent)) or 0
    return DemoSummary(
        seeded=True,
        message=f"seeded {len(cases)} demo cases with {events} events",
        cases=len(cases),
        events=events,
        by_status=dict(Counter(status for status, _ in cases)),
        by_contract=dict(Counter(contract for _, contract in cases)),
        clocks=dict(Counter(states)),
        numbers={
            **{s.key: s.number for s in stories if s.number},
            **{f"{s.key}/follow-up": s.follow_up for s in stories if s.follow_up},
        },
        tokens=tokens,
        skipped=tuple(skipped),
    )


def _count(runtime: Runtime, table: type[orm.Base]) -> int:
    with runtime.sessions() as session:
        return session.scalar(select(func.count()).select_from(table)) or 0
