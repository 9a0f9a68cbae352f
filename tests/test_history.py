"""The append-only history: hash chain links, canonical encoding, database refusals."""

from __future__ import annotations

import enum
import itertools
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.orm.exc import StaleDataError

from core.errors import NaiveDatetimeError
from core.store import orm
from core.store.history import (
    GENESIS,
    append_payload,
    canonical,
    event_hash,
    events_of,
    normalize_payload,
)

T0 = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)


def new_case(session: Session, number: str, at: datetime = T0) -> orm.Case:
    """A case row with every required column; no events yet."""
    case = orm.Case(
        number=number,
        contract_id="wendeng-kangning-hospital",
        customer_id="kangning",
        caller_name="张医生",
        summary="打印机卡纸",
        category="hardware",
        request_type="incident",
        priority="P3",
        channel="phone",
        status="new",
        opened_at=at,
        updated_at=at,
    )
    session.add(case)
    session.flush()
    return case


def append_n(session: Session, case: orm.Case, count: int) -> list[orm.CaseEvent]:
    return [
        append_payload(
            session,
            case,
            kind="note",
            actor="alice",
            at=T0 + timedelta(minutes=i),
            payload={"text": f"note {i}", "n": i},
            visibility="customer" if i % 2 else "internal",
        )
        for i in range(count)
    ]


# --- the chain ---------------------------------------------------------------------------------


def test_events_link_into_a_chain(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as session:
        case = new_case(session, "MS-2026-000001")
        events = append_n(session, case, 4)
    assert [e.seq for e in events] == [1, 2, 3, 4]
    assert events[0].prev_hash == GENESIS
    for before, after in itertools.pairwise(events):
        assert after.prev_hash == before.hash
    assert (case.last_seq, case.last_hash) == (4, events[-1].hash)
    assert len({e.hash for e in events}) == 4


def test_stored_events_hash_to_their_stored_hash(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as session:
        case = new_case(session, "MS-2026-000001")
        written = append_n(session, case, 3)
        case_id = case.id
    with sessions() as session:  # a fresh session: every value comes back from the database
        stored = events_of(session, case_id)
        head = session.get(orm.Case, case_id)
        assert head is not None and (head.last_seq, head.last_hash) == (3, stored[-1].hash)
    assert [e.hash for e in stored] == [e.hash for e in written]
    for event in stored:
        again = event_hash(
            "MS-2026-000001",
            event.seq,
            event.kind,
            event.actor,
            event.at,
            event.payload,
            event.visibility,
            event.prev_hash,
        )
        assert again == event.hash


def test_chains_of_different_cases_are_independent(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as session:
        first = new_case(session, "MS-2026-000001")
        second = new_case(session, "MS-2026-000002")
        append_n(session, first, 2)
        event = append_payload(session, second, kind="opened", actor="bob", at=T0, payload={})
    assert (event.seq, event.prev_hash) == (1, GENESIS)
    assert (first.last_seq, second.last_seq) == (2, 1)


def test_customer_view_holds_only_customer_events(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as session:
        case = new_case(session, "MS-2026-000001")
        append_n(session, case, 5)
    with sessions() as session:
        assert [e.seq for e in events_of(session, case.id)] == [1, 2, 3, 4, 5]
        customer = events_of(session, case.id, customer_view=True)
    assert [e.seq for e in customer] == [2, 4]
    assert {e.visibility for e in customer} == {"customer"}


def test_append_links_a_case_without_id_in_one_flush(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as session:
        case = orm.Case(
            number="MS-2026-000009",
            contract_id="c",
            customer_id="k",
            caller_name="n",
            summary="s",
            category="hardware",
            request_type="incident",
            priority="P4",
            channel="email",
            status="new",
            opened_at=T0,
            updated_at=T0,
        )
        session.add(case)
        event = append_payload(session, case, kind="opened", actor="bob", at=T0, payload={})
        assert case.id is None  # nothing written yet
        session.flush()
        assert case.id is not None and event.case_id == case.id


def test_a_stale_case_cannot_fork_its_chain(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as session:
        case_id = new_case(session, "MS-2026-000001").id
    with sessions.begin() as session:  # writer A reads the case ...
        stale = session.get(orm.Case, case_id)
        assert stale is not None
    with sessions.begin() as session:  # ... writer B appends first ...
        fresh = session.get(orm.Case, case_id)
        assert fresh is not None
        append_payload(session, fresh, kind="note", actor="bob", at=T0, payload={})
    with pytest.raises(StaleDataError), sessions.begin() as session:
        session.add(stale)  # ... and A, still holding version 1, must not append event 1 again
        append_payload(session, stale, kind="note", actor="alice", at=T0, payload={})
    with sessions() as session:
        assert [e.actor for e in events_of(session, case_id)] == ["bob"]


# --- the database refuses to change history ----------------------------------------------------


@pytest.mark.parametrize(
    "statement",
    ["UPDATE case_events SET actor = 'mallory'", "DELETE FROM case_events"],
    ids=["update", "delete"],
)
def test_database_refuses_to_change_events(
    engine: Engine, sessions: sessionmaker[Session], statement: str
) -> None:
    with sessions.begin() as session:
        append_n(session, new_case(session, "MS-2026-000001"), 2)
    with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
        conn.execute(text(statement))
    with sessions() as session:
        events = session.query(orm.CaseEvent).order_by(orm.CaseEvent.seq).all()
        assert [(e.seq, e.actor) for e in events] == [(1, "alice"), (2, "alice")]


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)  # SQLite has no TRUNCATE
def test_postgresql_refuses_truncate(engine: Engine, sessions: sessionmaker[Session]) -> None:
    assert engine.dialect.name == "postgresql"
    with sessions.begin() as session:
        append_n(session, new_case(session, "MS-2026-000001"), 1)
    with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
        conn.execute(text("TRUNCATE case_events"))


def test_orm_changes_to_an_event_are_refused(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as session:
        event = append_n(session, new_case(session, "MS-2026-000001"), 1)[0]
    with pytest.raises(IntegrityError, match="append-only"), sessions.begin() as session:
        event = session.merge(event)
        event.payload = {"text": "rewritten"}


# --- the canonical encoding --------------------------------------------------------------------

FIELDS: dict[str, Any] = {
    "case_number": "MS-2026-000001",
    "seq": 1,
    "kind": "opened",
    "actor": "alice",
    "at": datetime(2026, 11, 25, 16, 0, 0, 1234, tzinfo=timezone(timedelta(hours=8))),
    "payload": {"summary": "打印机卡纸", "n": 2, "flags": [True, None]},
    "visibility": "customer",
    "prev_hash": GENESIS,
}


def test_canonical_encoding_is_pinned() -> None:
    # every stored chain depends on these exact bytes: a change here is a data migration
    assert (
        canonical(**FIELDS)
        == (
            '{"actor":"alice","at":"2026-11-25T08:00:00.001234Z","case":"MS-2026-000001",'
            '"kind":"opened","payload":{"flags":[true,null],"n":2,"summary":"打印机卡纸"},'
            f'"prev_hash":"{GENESIS}","seq":1,"visibility":"customer"}}'
        ).encode()
    )
    assert event_hash(**FIELDS) == (
        "ebcf6ad7baf1b54e93ccb9b4801121956a89ee6be5ea1d9eba155712d0bcd7f8"
    )


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("case_number", "MS-2026-000002"),
        ("seq", 2),
        ("kind", "note"),
        ("actor", "bob"),
        ("at", FIELDS["at"] + timedelta(microseconds=1)),
        ("payload", {"summary": "打印机卡纸", "n": 3, "flags": [True, None]}),
        ("payload", {"summary": "打印机卡纸", "n": 2, "flags": [True, None], "x": None}),
        ("visibility", "internal"),
        ("prev_hash", "f" * 64),
    ],
)
def test_hash_covers_every_field(name: str, value: Any) -> None:
    assert event_hash(**{**FIELDS, name: value}) != event_hash(**FIELDS)


def test_hash_does_not_depend_on_key_order_or_time_zone() -> None:
    shuffled = dict(reversed(list(FIELDS["payload"].items())))
    in_utc = FIELDS["at"].astimezone(UTC)
    assert event_hash(**{**FIELDS, "payload": shuffled, "at": in_utc}) == event_hash(**FIELDS)


class Colour(str, enum.Enum):  # noqa: UP042 - on purpose: its str() is "Colour.RED"
    RED = "red"


def test_normalize_payload_makes_plain_json() -> None:
    shanghai = datetime(2026, 11, 25, 16, 30, tzinfo=ZoneInfo("Asia/Shanghai"))
    payload = {
        "due": shanghai,
        "day": date(2026, 12, 1),
        "nested": {"list": (1, shanghai, [date(2026, 1, 1)])},
        "colour": Colour.RED,
        "ratio": 0.5,
    }
    normal = normalize_payload(payload)
    assert normal == {
        "due": "2026-11-25T08:30:00.000000Z",
        "day": "2026-12-01",
        "nested": {"list": [1, "2026-11-25T08:30:00.000000Z", ["2026-01-01"]]},
        "colour": "red",
        "ratio": 0.5,
    }
    assert type(normal["colour"]) is str
    assert normalize_payload(normal) == normal  # idempotent: stored payloads hash the same
    assert event_hash(**{**FIELDS, "payload": payload}) == event_hash(
        **{**FIELDS, "payload": normal}
    )


@pytest.mark.parametrize(
    ("payload", "error"),
    [
        ({"at": datetime(2026, 11, 25, 8, 0)}, NaiveDatetimeError),
        ({"nan": float("nan")}, ValueError),
        ({"tags": {"a", "b"}}, TypeError),
        ({"blob": b"\x00"}, TypeError),
        ({1: "int key"}, TypeError),
        (["not", "a", "mapping"], TypeError),
    ],
    ids=["naive", "nan", "set", "bytes", "int-key", "list"],
)
def test_normalize_payload_refuses_what_json_cannot_hold(payload: Any, error: type) -> None:
    with pytest.raises(error):
        normalize_payload(payload)


def test_payload_with_datetimes_is_stored_as_hashed(sessions: sessionmaker[Session]) -> None:
    due = datetime(2026, 11, 26, 9, 15, 30, 250, tzinfo=ZoneInfo("Asia/Shanghai"))
    payload = {"due": due, "day": date(2026, 11, 26), "who": ["张三", {"at": due}]}
    with sessions.begin() as session:
        case = new_case(session, "MS-2026-000001")
        written = append_payload(
            session, case, kind="scheduled", actor="a", at=due, payload=payload
        )
    with sessions() as session:
        stored = events_of(session, case.id)[0]
    assert stored.payload == normalize_payload(payload) == written.payload
    assert stored.payload["due"] == "2026-11-26T01:15:30.000250Z"
    assert stored.at == due
    args = (stored.seq, stored.kind, stored.actor, stored.at)
    rest = (stored.visibility, stored.prev_hash)
    assert event_hash(case.number, *args, stored.payload, *rest) == stored.hash
    assert event_hash(case.number, *args, payload, *rest) == stored.hash


# --- refusals before anything is written -------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ({"at": datetime(2026, 11, 25, 8, 0)}, NaiveDatetimeError),
        ({"visibility": "public"}, ValueError),
        ({"kind": ""}, ValueError),
        ({"payload": {"x": object()}}, TypeError),
    ],
    ids=["naive-at", "visibility", "no-kind", "payload"],
)
def test_bad_events_are_refused_and_nothing_changes(
    sessions: sessionmaker[Session], change: dict[str, Any], error: type
) -> None:
    with sessions.begin() as session:
        case = new_case(session, "MS-2026-000001")
        append_n(session, case, 1)
        session.flush()
        head = (case.last_seq, case.last_hash)
        args: dict[str, Any] = {"kind": "note", "actor": "a", "at": T0, "payload": {}}
        with pytest.raises(error):
            append_payload(session, case, **{**args, **change})
        assert (case.last_seq, case.last_hash) == head
        assert not [obj for obj in session.new if isinstance(obj, orm.CaseEvent)]
