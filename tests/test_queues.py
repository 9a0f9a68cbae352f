"""Console queues and the managers' board on SQLite and PostgreSQL (core/store/queues.py,
core/store/board.py)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker
from test_queries import new_case, new_clock, new_event

from core.calendar import Calendar
from core.case import Priority, Status
from core.errors import InvalidCursor, InvalidQuery, NotFoundError
from core.staff import load_staff
from core.store.board import board, month_bounds
from core.store.db import make_engine, make_sessionmaker, transaction
from core.store.orm import Case, CaseEvent, Notification, SlaClock
from core.store.queues import QueueFilter, Viewer, opened_any, queue_page, viewer_for

SH = "Asia/Shanghai"
NOW = datetime(2026, 11, 6, 8, 0, tzinfo=UTC)  # Friday 16:00 in Shanghai
HOLIDAY = date(2026, 11, 9)  # the Monday after: closed on the "holiday" calendar
CALENDARS = {
    "8x5": Calendar.weekly(SH, range(5), time(9), time(17)),
    "holiday": Calendar.weekly(SH, range(5), time(9), time(17), holidays=[HOLIDAY]),
}


def calendars(contract_id: str, name: str) -> Calendar | None:
    return CALENDARS.get(name)


def local(day: int, hour: int) -> datetime:
    return datetime(2026, 11, day, hour, tzinfo=UTC) - timedelta(hours=8)


VIEWER = Viewer(me=("li.na",), group=("li.na", "wang.wu"))


def add(s: Session, number: str, clocks: list[SlaClock] | None = None, **kw: Any) -> None:
    case = new_case(number, **kw)
    case.clocks = clocks or []
    running = [c.deadline for c in case.clocks if c.state == "running"]
    case.next_deadline = min(running, default=None)
    s.add(case)


@pytest.fixture
def desk(sessions: sessionmaker[Session]) -> sessionmaker[Session]:
    """Seven cases, one per queue situation (see each comment)."""
    with transaction(sessions) as s:
        # mine, breaching: response due in 30 min
        add(
            s,
            "C1",
            [new_clock("response", calendar="8x5", deadline=NOW + timedelta(minutes=30))],
            assignee="li.na",
            status="assigned",
            priority="P2",
            opened_at=NOW - timedelta(hours=5),
        )
        # mine: restore due Tuesday 10:00, Monday a holiday -> 1 h Friday + 1 h Tuesday
        add(
            s,
            "C2",
            [new_clock("restore", calendar="holiday", deadline=local(10, 10))],
            assignee="li.na",
            status="in_progress",
            priority="P1",
            customer_id="cust-b",
            opened_at=NOW - timedelta(hours=4),
        )
        # unassigned, breached by its deadline two hours ago (not yet flagged)
        add(
            s,
            "C3",
            [new_clock("response", calendar="8x5", deadline=NOW - timedelta(hours=2))],
            status="new",
            priority="P3",
            opened_at=NOW - timedelta(hours=6),
        )
        # group (wang.wu), pending vendor, clock paused: no next deadline
        add(
            s,
            "C4",
            [
                new_clock(
                    "restore", calendar="8x5", state="paused", deadline=NOW + timedelta(days=2)
                )
            ],
            assignee="wang.wu",
            status="pending_vendor",
            priority="P4",
            opened_at=NOW - timedelta(days=1),
        )
        # unassigned, pending customer, flagged breached earlier
        add(
            s,
            "C5",
            [
                new_clock(
                    "response",
                    calendar="8x5",
                    state="breached",
                    deadline=NOW - timedelta(days=1),
                    breached_at=NOW - timedelta(days=1),
                )
            ],
            status="pending_customer",
            priority="P3",
            customer_id="cust-b",
            breached=True,
            opened_at=NOW - timedelta(days=2),
        )
        # closed: in no queue
        add(s, "C6", assignee="li.na", status="closed", priority="P1", opened_at=NOW)
        # someone else's, due in 3 h wall time but only 1 h of Friday's open time is left
        add(
            s,
            "C7",
            [new_clock("response", calendar="8x5", deadline=NOW + timedelta(hours=3))],
            assignee="zhao",
            status="new",
            priority="P2",
            opened_at=NOW - timedelta(hours=1),
        )
    return sessions


def numbers(sessions: sessionmaker[Session], queue: str, **kw: Any) -> list[str]:
    with sessions() as s:
        page = queue_page(s, queue, kw.pop("viewer", VIEWER), NOW, calendars, **kw)
    return [row.number for row in page.items]


@pytest.mark.parametrize(
    ("queue", "expected"),
    [
        ("mine", ["C1", "C2"]),
        ("group", ["C1", "C2", "C4"]),
        ("unassigned", ["C3", "C5"]),
        ("breaching", ["C1"]),
        ("breached", ["C3", "C5"]),
        ("pending_vendor", ["C4"]),
        ("pending_customer", ["C5"]),
    ],
)
def test_queue_membership(desk: sessionmaker[Session], queue: str, expected: list[str]) -> None:
    assert numbers(desk, queue) == expected


def test_rows_carry_the_next_deadline_and_business_time_left(desk: sessionmaker[Session]) -> None:
    with desk() as s:
        rows = {r.number: r for r in queue_page(s, "group", VIEWER, NOW, calendars).items}
        late = queue_page(s, "unassigned", VIEWER, NOW, calendars).items[0]
        other = queue_page(
            s, "breaching", Viewer(), NOW + timedelta(hours=2, minutes=1), calendars
        ).items
    c1, c2, c4 = rows["C1"], rows["C2"], rows["C4"]
    assert c1.next_deadline is not None and c1.next_deadline.kind == "response"
    assert c1.next_deadline.due_at == NOW + timedelta(minutes=30)
    assert c1.business_seconds_left == 30 * 60
    # Friday 16:00-17:00, the weekend and the Monday holiday closed, Tuesday 09:00-10:00
    assert c2.next_deadline is not None and c2.next_deadline.calendar == "holiday"
    assert c2.business_seconds_left == 2 * 3600
    assert (c4.next_deadline, c4.business_seconds_left) == (None, None)
    # overdue: negative, counted in open time only (Friday 14:00 -> 16:00)
    assert (late.number, late.business_seconds_left, late.breached) == ("C3", -2 * 3600, True)
    # C7 at Friday 18:01 (after hours) is due in 59 min of wall time and no open time
    assert [(r.number, r.business_seconds_left) for r in other] == [("C7", 0)]
    assert c1.assignee == "li.na" and c1.priority == "P2" and c1.status == "assigned"


def test_customer_scope_and_filters(desk: sessionmaker[Session]) -> None:
    cust_b = Viewer(me=("li.na",), customer_id="cust-b")
    assert numbers(desk, "mine", viewer=cust_b) == ["C2"]
    assert numbers(desk, "unassigned", viewer=cust_b) == ["C5"]
    assert numbers(desk, "unassigned", viewer=cust_b, flt=QueueFilter(customer_id="cust-a")) == []
    assert numbers(desk, "group", flt=QueueFilter(customer_id="cust-a")) == ["C1", "C4"]
    urgent = QueueFilter(priority=[Priority.P1, Priority.P4])
    assert numbers(desk, "group", flt=urgent) == ["C2", "C4"]
    assert numbers(desk, "breached", flt=QueueFilter(status=[Status.NEW])) == ["C3"]


def test_bad_queue_sort_and_cursor_are_client_errors(desk: sessionmaker[Session]) -> None:
    with desk() as s:
        with pytest.raises(NotFoundError, match="no queue 'yours'"):
            queue_page(s, "yours", VIEWER, NOW, calendars)
        with pytest.raises(InvalidQuery, match="sort must be one of"):
            queue_page(s, "mine", VIEWER, NOW, calendars, sort="colour")
        page = queue_page(s, "group", VIEWER, NOW, calendars, limit=1)
        assert page.next_cursor is not None
        with pytest.raises(InvalidCursor, match="another queue"):
            queue_page(s, "mine", VIEWER, NOW, calendars, after=page.next_cursor)
        with pytest.raises(InvalidCursor, match="another queue or ordering"):
            queue_page(s, "group", VIEWER, NOW, calendars, sort="number", after=page.next_cursor)
        with pytest.raises(InvalidCursor):
            queue_page(s, "group", VIEWER, NOW, calendars, after="not-a-cursor!")


def test_viewer_group_comes_from_the_staff_rota() -> None:
    directory = load_staff(Path(__file__).resolve().parent.parent / "contracts/staff/staff.yaml")
    # lin-haitao shares the rongcheng zone with yu-zhiqiang: that is the group
    rongcheng = viewer_for(directory, "lin-haitao")
    assert rongcheng.me == ("lin-haitao", "林海涛")
    assert set(rongcheng.group) == {"lin-haitao", "林海涛", "yu-zhiqiang", "于志强"}
    # no zone: everyone with one of the person's roles (engineers), not the managers
    yu = viewer_for(directory, "于涛")
    assert "yu-tao" in yu.me and {"sun-hao", "lin-haitao"} <= set(yu.group)
    assert "liu-yang" not in yu.group
    assert viewer_for(directory, "nobody") == Viewer(me=("nobody",), group=("nobody",))
    assert viewer_for(None, "x", customer_id="c").customer_id == "c"


# --- ordering and keyset paging over a bigger unassigned queue ---------------------------------

N = 23


@pytest.fixture
def many(sessions: sessionmaker[Session]) -> sessionmaker[Session]:
    """N unassigned open cases with repeating priorities, opened times and deadlines (ties and
    cases without a deadline included) so that every ordering needs its id tie-breaker."""
    with transaction(sessions) as s:
        for i in range(N):
            due = None if i % 5 == 0 else NOW + timedelta(minutes=10 * (i % 4))
            clocks = [new_clock("response", calendar="8x5", deadline=due)] if due else []
            add(
                s,
                f"Q{(i * 7) % N:03d}",
                clocks,
                priority=f"P{i % 4 + 1}",
                opened_at=NOW - timedelta(hours=i % 3),
            )
    return sessions


def sort_key(sort: str) -> Callable[[Any], Any]:
    key = sort.lstrip("-")
    return {
        "deadline": lambda r: (
            r.next_deadline is None,
            r.next_deadline.due_at if r.next_deadline else NOW,
        ),
        "priority": lambda r: r.priority,
        "number": lambda r: r.number,
        "opened": lambda r: r.opened_at,
    }[key]


@pytest.mark.parametrize(
    "sort",
    ["deadline", "-deadline", "priority", "-priority", "number", "-number", "opened", "-opened"],
)
def test_every_sort_pages_stably(many: sessionmaker[Session], sort: str) -> None:
    with many() as s:
        whole = queue_page(s, "unassigned", VIEWER, NOW, calendars, sort=sort, limit=N + 1).items
        paged, after = [], None
        while True:
            page = queue_page(
                s, "unassigned", VIEWER, NOW, calendars, sort=sort, limit=4, after=after
            )
            paged += page.items
            after = page.next_cursor
            if after is None:
                break
        ids = {r.number: r for r in whole}
    assert len(whole) == N
    assert [r.number for r in paged] == [r.number for r in whole]
    key = sort_key(sort)
    # deadline descending still puts the cases without a deadline last
    if sort == "-deadline":
        dated = [r for r in whole if r.next_deadline is not None]
        assert whole[len(dated) :] == [r for r in whole if r.next_deadline is None]
        values = [r.next_deadline.due_at for r in dated if r.next_deadline]
        assert values == sorted(values, reverse=True)
    else:
        values = [key(r) for r in whole]
        assert values == sorted(values, reverse=sort.startswith("-"))
    assert len(ids) == N


# --- the managers' board -----------------------------------------------------------------------


def seed_board(s: Session) -> None:
    """A known month (November 2026 in Shanghai): response met 2, breached 2 (one flagged,
    one running late), open 1; restore met 1; plus clocks that must not count."""
    month = datetime(2026, 11, 1, tzinfo=UTC) - timedelta(hours=8)

    def clock(kind: str, state: str, deadline: datetime, **kw: Any) -> SlaClock:
        return new_clock(kind, state=state, deadline=deadline, calendar="8x5", **kw)

    add(
        s,
        "B1",
        [
            clock("response", "met", NOW - timedelta(days=1), met_at=NOW - timedelta(days=2)),
            clock("restore", "met", NOW - timedelta(hours=1)),
        ],
        status="resolved",
        priority="P2",
        customer_id="cust-a",
    )
    add(
        s,
        "B2",
        [clock("response", "met", NOW - timedelta(days=3))],
        status="closed",
        priority="P3",
        customer_id="cust-b",
    )
    add(
        s,
        "B3",
        [
            clock(
                "response", "breached", NOW - timedelta(days=1), breached_at=NOW - timedelta(days=1)
            )
        ],
        status="in_progress",
        priority="P1",
        customer_id="cust-b",
        breached=True,
    )
    add(
        s,
        "B4",
        [clock("response", "running", NOW - timedelta(minutes=5))],
        status="new",
        priority="P1",
        customer_id="cust-b",
    )
    add(
        s,
        "B5",
        [clock("response", "running", NOW + timedelta(hours=2))],
        status="new",
        priority="P1",
        customer_id="cust-a",
    )
    # not counted: last month's deadline, a cancelled clock, an excluded breach
    add(
        s,
        "B6",
        [
            clock(
                "response",
                "breached",
                month - timedelta(hours=1),
                breached_at=month - timedelta(hours=1),
            ),
            clock("restore", "cancelled", NOW),
            clock(
                "onsite",
                "breached",
                NOW - timedelta(hours=3),
                breached_at=NOW - timedelta(hours=3),
                exclusion_cause="force_majeure",
            ),
        ],
        status="assigned",
        priority="P4",
        customer_id="cust-c",
    )
    s.flush()
    for i, state in enumerate(["dead", "sent", "dead", "dead"]):
        s.add(
            Notification(
                case_id=s.query(Case.id).filter_by(number="B3").scalar(),
                event_seq=1,
                level=0,
                channel="email",
                recipient={"name": "Li Na", "email": "li.na@example.cn"},
                template="breach",
                variables={},
                idempotency_key=f"k{i}",
                state=state,
                attempts=5,
                send_after=NOW,
                created_at=NOW,
            )
        )


def board_figures(sessions: sessionmaker[Session]) -> dict[str, Any]:
    with transaction(sessions) as s:
        seed_board(s)
    with sessions() as s:
        b = board(s, NOW, tz=SH, horizon_warnings=["CN: data ends 2026-12-31"])
    return {
        "open": [(o.priority, o.status, o.count) for o in b.open_cases],
        "compliance": [(c.kind, c.met, c.breached, c.open, c.percent_met) for c in b.compliance],
        "customers": [(c.customer_id, c.breached) for c in b.breaches_by_customer],
        "dead": (b.dead_letters, [n.id for n in b.newest_dead_letters]),
        "masked": {n.recipient.email for n in b.newest_dead_letters},
        "month": (b.month_start, b.month_end),
        "horizon": b.horizon_warnings,
    }


def test_board_figures_for_a_known_month(sessions: sessionmaker[Session]) -> None:
    got = board_figures(sessions)
    assert got["open"] == [("P1", "in_progress", 1), ("P1", "new", 2), ("P4", "assigned", 1)]
    assert got["compliance"] == [("response", 2, 2, 1, 50.0), ("restore", 1, 0, 0, 100.0)]
    assert got["customers"] == [("cust-b", 2)]
    count, newest = got["dead"]
    assert count == 3 and newest == sorted(newest, reverse=True) and len(newest) == 3
    assert got["masked"] == {"l***@example.cn"}
    assert got["month"] == (
        datetime(2026, 10, 31, 16, tzinfo=UTC),
        datetime(2026, 11, 30, 16, tzinfo=UTC),
    )
    assert got["horizon"] == ["CN: data ends 2026-12-31"]


def test_board_is_the_same_on_both_back_ends(db_templates: Any) -> None:
    """The same fixture on SQLite and PostgreSQL gives the same board."""
    results = []
    for make in (db_templates.sqlite, db_templates.postgresql):
        url = make()
        engine = make_engine(url)
        try:
            results.append(board_figures(make_sessionmaker(engine)))
        finally:
            engine.dispose()
            db_templates.drop(url)
    assert results[0] == results[1]


def test_month_bounds_follow_the_desk_zone() -> None:
    # 2026-11-30 17:00 UTC is already 1 December in Shanghai
    start, end = month_bounds(datetime(2026, 11, 30, 17, tzinfo=UTC), SH)
    assert (start, end) == (
        datetime(2026, 11, 30, 16, tzinfo=UTC),
        datetime(2026, 12, 31, 16, tzinfo=UTC),
    )
    start, _ = month_bounds(datetime(2026, 12, 31, 17, tzinfo=UTC), SH)
    assert start == datetime(2026, 12, 31, 16, tzinfo=UTC)
    with pytest.raises(InvalidQuery):
        month_bounds(datetime(2026, 11, 30), SH)


def test_mine_uses_the_partial_index_of_open_cases(desk: sessionmaker[Session]) -> None:
    """The queues' open-status predicate is rendered inline, equal to the partial index's."""
    from sqlalchemy import text

    from core.store.orm import OPEN_CASES_SQL
    from core.store.queues import queue_statement

    stmt = queue_statement("mine", VIEWER, NOW)
    assert stmt is not None
    with desk() as s:
        sql = str(stmt.compile(s.get_bind(), compile_kwargs={"literal_binds": True}))
        assert OPEN_CASES_SQL.replace("status", "cases.status") in sql
        if s.get_bind().dialect.name == "sqlite":
            plan = s.execute(text("EXPLAIN QUERY PLAN " + sql)).all()
            assert "ix_cases_open_assignee" in " ".join(str(r[-1]) for r in plan)


def test_mine_holds_the_open_cases_a_person_opened_whoever_works_them(
    desk: sessionmaker[Session],
) -> None:
    """A service-desk agent's "mine": the calls they took (their `opened` event's actor), as
    well as what is assigned to them; closed cases drop out as from every queue."""
    with transaction(desk) as s:
        cases = {c.number: c for c in s.query(Case)}
        for number, actor in (
            ("C3", "丛丽 (user 7)"),
            ("C4", "someone else"),
            ("C1", "丛丽 (user 7)"),
            ("C6", "丛丽 (user 7)"),
        ):
            opened = new_event(cases[number], 1, "opened", "customer")
            opened.actor = actor
            s.add(opened)
    agent = Viewer(me=("丛丽",), group=("丛丽",), actors=("丛丽 (user 7)",))
    assert numbers(desk, "mine", viewer=agent) == ["C3", "C1"]  # by deadline; C6 is closed
    assert numbers(desk, "mine") == ["C1", "C2"]  # li.na records no opening here
    with desk() as s:
        assert s.query(CaseEvent).filter(CaseEvent.kind == "opened").count() == 4


def test_mine_of_someone_who_opened_nothing_is_what_is_assigned_to_them(
    desk: sessionmaker[Session],
) -> None:
    """ "mine" asks first whether the viewer opened any case (opened_any) and, if not, pages
    the assigned cases alone: the same rows, until their first opening counts."""
    li_na = Viewer(me=("li.na",), group=("li.na",), actors=("李娜 (user 3)",))
    with desk() as s:
        assert not opened_any(s, li_na.actors)
    assert numbers(desk, "mine", viewer=li_na) == ["C1", "C2"]
    assert numbers(desk, "mine", viewer=li_na, limit=1) == ["C1"]
    with transaction(desk) as s:
        c3 = s.query(Case).filter(Case.number == "C3").one()
        opened = new_event(c3, 1, "opened", "customer")
        opened.actor = "李娜 (user 3)"
        s.add(opened)
    with desk() as s:
        assert opened_any(s, li_na.actors)
        assert not opened_any(s, ("someone else",))
    assert numbers(desk, "mine", viewer=li_na) == ["C3", "C1", "C2"]
