"""Typed events (core.events): the history keeps the bytes it had with plain dicts, a database
written before the types verifies, and plugins hear frozen typed records. Both back ends."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import msgspec
import pytest
from history_scenario import AUDIT_KEY, play, runtime_for
from sqlalchemy import select
from sqlalchemy.orm import Session

from core import hookimpl
from core.events import (
    BODIES,
    Escalated,
    EventBody,
    ManualEscalation,
    NoteAdded,
    Opened,
    RecordedEvent,
    ScheduledEscalation,
    decode_body,
    kind_of,
    payload_of,
)
from core.handover import EVENT_KIND
from core.jobs.outbox import RETRIED
from core.jobs.scheduler import ACTOR
from core.store import audit, orm
from core.store.db import make_engine, make_sessionmaker
from core.store.history import normalize_payload
from core.store.migrate import upgrade

BEFORE = Path(__file__).resolve().parent / "data" / "history-before-typed-events.db"
# kinds added after that database was written (issue 13: spare-part requests); their
# payloads are checked by tests/test_spares.py
T = datetime(2026, 10, 14, 2, 0, tzinfo=UTC)
Row = tuple[str, int, str, str, str, dict[str, Any]]  # case, seq, kind, actor, hash, payload
# kinds added after the old database was written: it cannot hold them
NEWER_KINDS = {
    "rma_updated",
    "spare_requested",
    "spare_step",
    "spare_vendor_case",
    "onsite_prepared",
    "onsite_request_signed",
    "onsite_solution_approved",
    "onsite_operation_approved",
    "onsite_operation_performed",
    "onsite_report_signed",
    "onsite_training_given",
    # issue 15 (quality): tests/test_quality_surveys.py, tests/test_complaints.py
    "survey_answered",
    "survey_problem_opened",
    "survey_problem_classified",
    "survey_problem_closed",
    "corrective_action",
    "corrective_action_done",
    "improvement_reported",
    "complaint_filed",
    "complaint_linked",
    "complaint_replied",
    "complaint_assigned",
    "complaint_investigated",
    "complaint_resolved",
    "complaint_closed",
    "device_changed",
    "inspection_opened",
    "inspection_result",
    "inspection_reported",
    "follow_up_of",
    "change_proposed",
    "change_reviewed",
    "change_implemented",
}


def stored_rows(url: str) -> list[Row]:
    engine = make_engine(url)
    try:
        with Session(engine) as session:
            query = (
                select(orm.Case.number, orm.CaseEvent)
                .join(orm.Case, orm.Case.id == orm.CaseEvent.case_id)
                .order_by(orm.Case.number, orm.CaseEvent.seq)
            )
            return [
                (number, e.seq, e.kind, e.actor, e.hash, e.payload)
                for number, e in session.execute(query)
            ]
    finally:
        engine.dispose()


@pytest.fixture(scope="module")
def before() -> list[Row]:
    """The events the code of c2ab268 wrote for tests/history_scenario.py."""
    return stored_rows(f"sqlite:///{BEFORE}")


# kinds recorded since that database was written (their own tests cover them)


class Listener:
    def __init__(self) -> None:
        self.heard: list[RecordedEvent] = []

    @hookimpl
    def case_event_recorded(self, event: RecordedEvent) -> None:
        self.heard.append(event)


# --- a database written before typed events ------------------------------------------------------


def test_a_database_written_before_typed_events_verifies_intact(tmp_path: Path) -> None:
    copy = tmp_path / "before.db"
    shutil.copyfile(BEFORE, copy)
    engine = make_engine(f"sqlite:///{copy}")
    try:
        upgrade(engine)  # to today's schema, as `casetrack db upgrade` would
        with make_sessionmaker(engine)() as session:
            report = audit.verify(session, key=AUDIT_KEY.encode())
    finally:
        engine.dispose()
    assert report.ok, report.lines()
    assert (report.cases_checked, report.events_checked, report.sealed) == (4, 46, True)
    assert report.numbered


def test_the_old_database_holds_every_kind_and_each_decodes_to_the_same_payload(
    before: list[Row],
) -> None:
    assert {kind for _, _, kind, _, _, _ in before} == set(BODIES) - NEWER_KINDS
    for number, seq, kind, _, _, payload in before:
        body = decode_body(kind, payload)
        assert isinstance(body, BODIES[kind]) and kind_of(body) == kind
        again = normalize_payload(payload_of(body))
        # same keys in the same order, same values: the bytes the chain hashed
        assert json.dumps(again) == json.dumps(payload), f"{number} #{seq} {kind}"


def test_both_escalation_shapes_share_the_kind(before: list[Row]) -> None:
    shapes = {
        type(decode_body(kind, payload)): actor
        for _, _, kind, actor, _, payload in before
        if kind == "escalated"
    }
    assert shapes == {ManualEscalation: "eng:wang", ScheduledEscalation: ACTOR}
    assert all(issubclass(shape, Escalated) for shape in shapes)
    manual = ManualEscalation(level=1, reason="r", target_group="g", alarm_at=T)
    assert kind_of(manual) == "escalated" and isinstance(manual, Escalated)


# --- the same story, told again with typed events -----------------------------------------------


@pytest.mark.parametrize("db_url", ["sqlite", "postgresql"], indirect=True)
def test_the_story_told_again_hashes_the_same_and_plugins_hear_typed_bodies(
    db_url: str, tmp_path: Path, before: list[Row]
) -> None:
    listener = Listener()
    with runtime_for(db_url, tmp_path) as runtime:
        runtime.pm.register(listener, name="listener")
        play(runtime, tmp_path)
        with runtime.sessions() as session:
            report = audit.verify(session, key=AUDIT_KEY.encode())
    assert report.ok, report.lines()
    now = stored_rows(db_url)
    assert [row[:5] for row in now] == [row[:5] for row in before]  # hashes cover payloads
    assert [row[5] for row in now] == [row[5] for row in before]

    # plugins heard every event once, after its commit, as a frozen typed record
    heard = sorted(listener.heard, key=lambda e: (e.case_number, e.seq))
    assert [(e.case_number, e.seq, e.kind, e.actor, e.hash) for e in heard] == [
        row[:5] for row in now
    ]
    for event, row in zip(heard, now, strict=True):
        assert isinstance(event.body, BODIES[event.kind])
        assert normalize_payload(payload_of(event.body)) == row[5]
    opened = heard[0].body
    assert isinstance(opened, Opened) and opened.contract_id == "wdkn-hospital-2026"
    assert opened.appointment and opened.sla and opened.sla[0].deadline.tzinfo is not None
    kinds = {e.kind for e in heard}
    assert {EVENT_KIND, RETRIED, "escalated"} <= kinds
    with pytest.raises(AttributeError):
        heard[0].seq = 9  # type: ignore[misc]


# --- the types themselves -------------------------------------------------------------------------


def test_every_body_is_frozen_and_tagged_with_its_kind() -> None:
    for kind, cls in BODIES.items():
        config = cls.__struct_config__
        assert (config.tag, config.tag_field, config.frozen) == (kind, "kind", True)
        assert issubclass(cls, EventBody)
    note = NoteAdded(text="x")
    assert msgspec.json.decode(msgspec.json.encode(note)) == {"kind": "note", "text": "x"}
    assert payload_of(note) == {"text": "x"}  # the tag is the kind column, not the payload


def test_a_kind_no_code_records_is_refused() -> None:
    with pytest.raises(KeyError):
        decode_body("plugin_thing", {})
