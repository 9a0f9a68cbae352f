"""The read side on SQLite and PostgreSQL: detail, customer views, filters, keyset pages, scans."""

from __future__ import annotations

import base64
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from core.errors import InvalidCursor, InvalidQuery, NotFoundError
from core.store.db import transaction
from core.store.orm import Case, CaseEvent, CaseSecret, SlaClock
from core.store.queries import (
    MAX_LIMIT,
    CaseFilter,
    CaseSummary,
    Page,
    customer_history,
    due_clocks,
    explain_due_clocks,
    get_case,
    list_cases,
)

T0 = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)
SECRET = b"RECOGNIZABLE-CIPHERTEXT-7f3a9c"
STATUSES = ("new", "assigned", "in_progress", "resolved", "closed")
N = 23


def new_case(number: str, **overrides: Any) -> Case:
    values: dict[str, Any] = {
        "number": number,
        "contract_id": "k1",
        "customer_id": "cust-a",
        "caller_name": "Wang Lei",
        "caller_phone": "+86 631 555 0101",
        "summary": f"printer {number} jams",
        "category": "fault_rescue",
        "request_type": "problem_report",
        "priority": "P3",
        "emergency": False,
        "channel": "phone",
        "site": "Huancui branch",
        "zone": "city",
        "status": "new",
        "opened_at": T0,
        "updated_at": T0,
        "breached": False,
    }
    values.update(overrides)
    return Case(**values)


def new_clock(kind: str, **overrides: Any) -> SlaClock:
    values: dict[str, Any] = {
        "kind": kind,
        "state": "running",
        "calendar": "business",
        "target": "4h",
        "rule": "P3 response within 4 business hours",
        "started_at": T0,
        "deadline": T0 + timedelta(hours=4),
        "pauses": [],
    }
    values.update(overrides)
    return SlaClock(**values)


def new_event(case: Case, seq: int, kind: str, visibility: str, **payload: Any) -> CaseEvent:
    return CaseEvent(
        case_id=case.id,
        seq=seq,
        kind=kind,
        actor="agent-1",
        at=T0 + timedelta(minutes=seq),
        payload=payload,
        visibility=visibility,
        prev_hash=f"{seq - 1:064x}",
        hash=f"{seq:064x}",
    )


@pytest.fixture
def detailed(sessions: sessionmaker[Session]) -> str:
    """One case with two clocks, mixed-visibility history and stored remote-access secrets."""
    with transaction(sessions) as s:
        case = new_case("WH-2026-000001", customer_id="cust-a", assignee="li.na")
        case.clocks = [
            new_clock("resolution", deadline=T0 + timedelta(days=1), next_alert_at=None),
            new_clock("response", next_alert_at=T0 + timedelta(hours=3)),
        ]
        s.add(case)
        s.flush()
        s.add_all(
            [
                new_event(case, 3, "note", "internal", text="vendor is slow again"),
                new_event(case, 1, "opened", "customer", summary=case.summary),
                new_event(case, 2, "assigned", "internal", to="li.na"),
                new_event(case, 4, "comment", "customer", text="engineer on the way"),
            ]
        )
        s.add(CaseSecret(case_id=case.id, ciphertext=SECRET, stored_at=T0, stored_by="li.na"))
    return "WH-2026-000001"


# --- one case --------------------------------------------------------------------------------


def test_get_case_has_fields_clocks_and_full_history(
    sessions: sessionmaker[Session], detailed: str
) -> None:
    with sessions() as s:
        case = get_case(s, detailed)
    assert case.number == detailed
    assert (case.customer_id, case.assignee, case.version) == ("cust-a", "li.na", 1)
    assert case.caller_name == "Wang Lei" and case.site == "Huancui branch"
    assert case.opened_at == T0 and case.opened_at.tzinfo is not None
    assert [c.kind for c in case.clocks] == ["resolution", "response"]
    assert case.clocks[1].next_alert_at == T0 + timedelta(hours=3)
    assert case.clocks[0].pauses == []
    assert [e.seq for e in case.events] == [1, 2, 3, 4]
    assert case.events[1].payload == {"to": "li.na"}
    assert case.events[0].hash == f"{1:064x}"


def test_unknown_case_is_not_found(sessions: sessionmaker[Session], detailed: str) -> None:
    with sessions() as s, pytest.raises(NotFoundError):
        get_case(s, "WH-2026-999999")


def test_another_customers_case_is_not_found_not_forbidden(
    sessions: sessionmaker[Session], detailed: str
) -> None:
    with sessions() as s:
        with pytest.raises(NotFoundError) as theirs:
            get_case(s, detailed, customer_id="cust-b")
        with pytest.raises(NotFoundError) as missing:
            get_case(s, "WH-2026-999999", customer_id="cust-b")
    # same wording either way: nothing tells the caller the number exists
    assert theirs.value.detail.replace(detailed, "#") == missing.value.detail.replace(
        "WH-2026-999999", "#"
    )


def test_customer_view_hides_internal_events_but_shows_clocks(
    sessions: sessionmaker[Session], detailed: str
) -> None:
    with sessions() as s:
        case = get_case(s, detailed, customer_id="cust-a")
    assert [(e.seq, e.kind) for e in case.events] == [(1, "opened"), (4, "comment")]
    assert {e.visibility for e in case.events} == {"customer"}
    assert b"vendor is slow" not in msgspec.json.encode(case)
    assert [c.kind for c in case.clocks] == ["resolution", "response"]


def test_secrets_never_appear_in_detail_or_lists(
    sessions: sessionmaker[Session], detailed: str
) -> None:
    with sessions() as s:
        outputs = [
            get_case(s, detailed),
            get_case(s, detailed, customer_id="cust-a"),
            list_cases(s, CaseFilter()),
            customer_history(s, "cust-a"),
        ]
    for out in outputs:
        encoded = msgspec.json.encode(out)
        assert SECRET not in encoded
        assert base64.b64encode(SECRET) not in encoded
        assert SECRET.hex().encode() not in encoded
        assert b"ciphertext" not in encoded and b"stored_by" not in encoded


# --- lists -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Spec:
    """What the i-th seeded case looks like, so expectations are computed independently."""

    i: int

    @property
    def number(self) -> str:
        return f"WH-2026-{self.i + 1:06d}"

    @property
    def customer(self) -> str:
        return ("cust-a", "cust-b", "cust-c")[self.i % 3]

    @property
    def contract(self) -> str:
        return ("k1", "k2")[self.i % 2]

    @property
    def status(self) -> str:
        return STATUSES[self.i % 5]

    @property
    def priority(self) -> str:
        return f"P{self.i % 4 + 1}"

    @property
    def breached(self) -> bool:
        return self.i % 7 == 0

    @property
    def deadline(self) -> datetime | None:
        # groups of four share a deadline (ties for the keyset), and some have no clock running
        return None if self.i % 6 == 5 else T0 + timedelta(hours=self.i % 5)

    @property
    def opened(self) -> datetime:
        return T0 + timedelta(minutes=self.i)


SPECS = [Spec(i) for i in range(N)]


@pytest.fixture
def many(sessions: sessionmaker[Session]) -> list[Spec]:
    # inserted in a shuffled-deadline order so id order and deadline order disagree
    with transaction(sessions) as s:
        for spec in SPECS:
            s.add(
                new_case(
                    spec.number,
                    customer_id=spec.customer,
                    contract_id=spec.contract,
                    status=spec.status,
                    priority=spec.priority,
                    breached=spec.breached,
                    next_deadline=spec.deadline,
                    opened_at=spec.opened,
                    updated_at=spec.opened,
                )
            )
            s.flush()  # ids follow list order
    return SPECS


def newest_first(keep: Callable[[Spec], bool]) -> list[str]:
    return [s.number for s in reversed(SPECS) if keep(s)]


def walk(
    s: Session, flt: CaseFilter, limit: int, fetch: Callable[..., Page[CaseSummary]] | None = None
) -> tuple[list[str], int]:
    """Every item over all pages, and how many pages it took."""
    fetch = fetch or (lambda after: list_cases(s, flt, limit=limit, after=after))
    numbers: list[str] = []
    after: str | None = None
    pages = 0
    while True:
        page = fetch(after)
        pages += 1
        assert 0 < len(page.items) <= limit
        numbers += [c.number for c in page.items]
        if page.next_cursor is None:
            return numbers, pages
        after = page.next_cursor
        assert pages < 100


FILTERS: list[tuple[str, CaseFilter, Callable[[Spec], bool]]] = [
    ("all", CaseFilter(), lambda s: True),
    ("customer", CaseFilter(customer_id="cust-b"), lambda s: s.customer == "cust-b"),
    ("contract", CaseFilter(contract_id="k2"), lambda s: s.contract == "k2"),
    ("status", CaseFilter(status=["new", "closed"]), lambda s: s.status in ("new", "closed")),
    ("priority", CaseFilter(priority=["P1"]), lambda s: s.priority == "P1"),
    ("breached", CaseFilter(breached=True), lambda s: s.breached),
    ("not-breached", CaseFilter(breached=False), lambda s: not s.breached),
    (
        "opened",
        CaseFilter(opened_from=T0 + timedelta(minutes=5), opened_to=T0 + timedelta(minutes=9)),
        lambda s: 5 <= s.i < 9,
    ),
    (
        "combined",
        CaseFilter(customer_id="cust-a", priority=["P1", "P2"], contract_id="k1"),
        lambda s: s.customer == "cust-a" and s.priority in ("P1", "P2") and s.contract == "k1",
    ),
]


def test_filters_each_narrow_the_list(sessions: sessionmaker[Session], many: list[Spec]) -> None:
    with sessions() as s:
        for name, flt, keep in FILTERS:
            expected = newest_first(keep)
            assert 0 < len(expected) < N or name in ("all", "not-breached"), name
            got = [c.number for c in list_cases(s, flt, limit=MAX_LIMIT).items]
            assert got == expected, name


def test_due_before_lists_most_urgent_first_with_ties_by_id(
    sessions: sessionmaker[Session], many: list[Spec]
) -> None:
    cut = T0 + timedelta(hours=3)
    expected = [
        s.number
        for s in sorted(SPECS, key=lambda s: (s.deadline or cut, s.i))
        if s.deadline is not None and s.deadline < cut
    ]
    with sessions() as s:
        page = list_cases(s, CaseFilter(due_before=cut), limit=MAX_LIMIT)
    assert [c.number for c in page.items] == expected
    assert page.next_cursor is None
    deadlines = [c.next_deadline for c in page.items if c.next_deadline is not None]
    assert deadlines == sorted(deadlines) and len(deadlines) == len(page.items)
    assert len(set(deadlines)) < len(deadlines)  # the ties the keyset has to handle


@pytest.mark.parametrize("limit", [1, 5, 7])
def test_keyset_pages_cover_everything_once_in_both_orderings(
    sessions: sessionmaker[Session], many: list[Spec], limit: int
) -> None:
    by_id = newest_first(lambda s: True)
    cut = T0 + timedelta(hours=10)
    by_deadline = [
        s.number for s in sorted(SPECS, key=lambda s: (s.deadline or cut, s.i)) if s.deadline
    ]
    with sessions() as s:
        got, pages = walk(s, CaseFilter(), limit)
        assert got == by_id and pages == -(-N // limit)
        got, pages = walk(s, CaseFilter(due_before=cut), limit)
        assert got == by_deadline and pages == -(-len(by_deadline) // limit)


def test_a_filtered_walk_ending_on_a_page_boundary_has_no_empty_page(
    sessions: sessionmaker[Session], many: list[Spec]
) -> None:
    expected = newest_first(lambda s: s.contract == "k2")  # 11 cases
    with sessions() as s:
        got, pages = walk(s, CaseFilter(contract_id="k2"), 11)
    assert got == expected and pages == 1


def test_customer_history_is_only_that_customer_newest_first(
    sessions: sessionmaker[Session], many: list[Spec]
) -> None:
    with sessions() as s:
        got, _ = walk(
            s, CaseFilter(), 3, lambda after: customer_history(s, "cust-c", limit=3, after=after)
        )
        assert got == newest_first(lambda s: s.customer == "cust-c")
        assert customer_history(s, "nobody").items == []


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def test_garbled_or_tampered_cursors_are_invalid_cursor(
    sessions: sessionmaker[Session], many: list[Spec]
) -> None:
    with sessions() as s:
        good = list_cases(s, CaseFilter(), limit=5).next_cursor
        assert good is not None
        flipped = good[:-2] + ("A" if good[-2] != "A" else "B") + good[-1]
        bad = [
            "",
            "not a cursor!",
            "%%%%",
            "数字",
            good[:-3],
            flipped,
            good + "x",
            _b64(b"\xff\xfe not json"),
            _b64(b"[1, 2]"),
            _b64(b'{"o": "id"}'),
            _b64(b'{"o": "id", "id": "7"}'),
            _b64(b'{"o": "id", "id": 0}'),
            _b64(b'{"o": "sideways", "id": 7}'),
            _b64(b'{"o": "due", "deadline": "2026-11-02T08:00:00", "id": 3}'),
            _b64(b'{"o": "due", "deadline": "yesterday", "id": 3}'),
        ]
        for cursor in bad:
            for flt in (CaseFilter(), CaseFilter(due_before=T0 + timedelta(days=1))):
                with pytest.raises(InvalidCursor):
                    list_cases(s, flt, limit=5, after=cursor)


def test_a_cursor_from_the_other_ordering_is_invalid_cursor(
    sessions: sessionmaker[Session], many: list[Spec]
) -> None:
    due = CaseFilter(due_before=T0 + timedelta(days=1))
    with sessions() as s:
        by_id = list_cases(s, CaseFilter(), limit=5).next_cursor
        by_deadline = list_cases(s, due, limit=5).next_cursor
        assert by_id is not None and by_deadline is not None
        with pytest.raises(InvalidCursor, match="different ordering"):
            list_cases(s, due, limit=5, after=by_id)
        with pytest.raises(InvalidCursor, match="different ordering"):
            list_cases(s, CaseFilter(), limit=5, after=by_deadline)


def test_limit_and_naive_instants_are_invalid_query(sessions: sessionmaker[Session]) -> None:
    with sessions() as s:
        for limit in (0, -1, MAX_LIMIT + 1):
            with pytest.raises(InvalidQuery):
                list_cases(s, CaseFilter(), limit=limit)
            with pytest.raises(InvalidQuery):
                customer_history(s, "cust-a", limit=limit)
        for limit in (1, MAX_LIMIT):
            assert list_cases(s, CaseFilter(), limit=limit).items == []
        with pytest.raises(InvalidQuery):
            list_cases(s, CaseFilter(due_before=datetime(2026, 11, 2, 8, 0)))
        with pytest.raises(InvalidQuery):
            due_clocks(s, T0, limit=0)
        with pytest.raises(InvalidQuery):
            due_clocks(s, datetime(2026, 11, 2, 8, 0))


def test_filter_decodes_from_query_values_and_rejects_unknown_status() -> None:
    flt = msgspec.convert(
        {"status": ["new"], "priority": ["P1"], "due_before": "2026-11-02T08:00:00Z"}, CaseFilter
    )
    assert flt.due_before == T0
    with pytest.raises(msgspec.ValidationError):
        msgspec.convert({"status": ["in-progress"]}, CaseFilter)
    with pytest.raises(msgspec.ValidationError):
        msgspec.convert({"priority": ["P9"]}, CaseFilter)


# --- the escalation scan ---------------------------------------------------------------------


def test_due_clocks_are_the_due_ones_in_alert_order(sessions: sessionmaker[Session]) -> None:
    now = T0 + timedelta(hours=2)
    alerts = {  # clock kind -> next_alert_at
        "late": now - timedelta(minutes=30),
        "latest": now - timedelta(hours=1),
        "exactly-now": now,
        "future": now + timedelta(seconds=1),
        "silent": None,
    }
    with transaction(sessions) as s:
        for i, (kind, at) in enumerate(alerts.items()):
            case = new_case(f"WH-2026-{i + 1:06d}")
            case.clocks = [new_clock(kind, next_alert_at=at, alert_level=i)]
            s.add(case)
    with sessions() as s:
        due = due_clocks(s, now)
        assert due_clocks(s, now, limit=2) == due[:2]
    assert [d.kind for d in due] == ["latest", "late", "exactly-now"]
    assert [d.number for d in due] == ["WH-2026-000002", "WH-2026-000001", "WH-2026-000003"]
    assert [d.alert_level for d in due] == [1, 0, 2]
    assert due[0].next_alert_at == now - timedelta(hours=1)
    assert due[0].deadline == T0 + timedelta(hours=4)
    assert len({d.clock_id for d in due}) == 3


def test_due_clock_scan_uses_the_partial_index(sessions: sessionmaker[Session]) -> None:
    with transaction(sessions) as s:
        case = new_case("WH-2026-000001")
        case.clocks = [new_clock("response", next_alert_at=T0), new_clock("resolution")]
        s.add(case)
    with sessions() as s:
        if s.get_bind().dialect.name == "postgresql":
            # a two-row table is cheaper to scan; forbid that to prove the index is usable
            s.execute(text("SET LOCAL enable_seqscan = off"))
        plan = explain_due_clocks(s, T0 + timedelta(hours=1))
    assert "ix_sla_clocks_next_alert_at" in plan, plan
