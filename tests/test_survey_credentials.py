"""The survey link is a credential: its outbox row keeps it only while it may still be sent
(core/jobs/credentials.py). Once the row is sent, failed, dead or dropped the link is gone
from the row; automatic retries before that send the same link; a manual retry of a row whose
link is gone is refused. On both back ends."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from quality_story import HOSPITAL, closed_case, runtime_on
from sqlalchemy import select, update

from core import hookimpl
from core.commands import Reopen
from core.jobs.credentials import REMOVED
from core.jobs.deliver import DeliveryPolicy, deliver
from core.jobs.outbox import CredentialRemoved, retry
from core.notify import Delivery, Notice, TransientDeliveryError
from core.runtime import Runtime
from core.store import orm
from core.surveys import SURVEY_TEMPLATE, SurveyAnswer

CLOSED = datetime(2026, 10, 14, 2, 0, tzinfo=UTC)
NOW = CLOSED + timedelta(minutes=1)
POLICY = DeliveryPolicy(max_attempts=2)


class Channels:
    """``kept``: delivers and remembers each notice; ``busy``: always down for now."""

    def __init__(self) -> None:
        self.kept: list[Notice] = []
        self.tried: list[Notice] = []

    def deliver(self, notice: Notice) -> Delivery:
        self.kept.append(notice)
        return Delivery(status="sent", detail="kept")

    def refuse(self, notice: Notice) -> Delivery:
        self.tried.append(notice)
        raise TransientDeliveryError("provider busy", code=421)

    @hookimpl
    def register_notifiers(self, register: Any) -> None:
        register("kept", _Sender(self.deliver))
        register("busy", _Sender(self.refuse))


class _Sender:
    def __init__(self, send: Any) -> None:
        self.send = send


@pytest.fixture
def story(db_url: str, tmp_path: Path) -> Iterator[tuple[Runtime, Channels, str, str]]:
    """A closed hospital case whose survey e-mail goes to ``kept`` and SMS to ``busy``."""
    with runtime_on(db_url, tmp_path) as runtime:
        channels = Channels()
        runtime.pm.register(channels)
        number, token = closed_case(runtime, CLOSED - timedelta(days=1), CLOSED, contract=HOSPITAL)
        assert token is not None
        with runtime.sessions.begin() as session:
            for old, new in (("email", "kept"), ("sms", "busy")):
                session.execute(
                    update(orm.Notification)
                    .where(orm.Notification.template == SURVEY_TEMPLATE)
                    .where(orm.Notification.channel == old)
                    .values(channel=new)
                )
        yield runtime, channels, number, token


def _rows(runtime: Runtime) -> dict[str, orm.Notification]:
    with runtime.sessions() as session:
        rows = session.scalars(
            select(orm.Notification).where(orm.Notification.template == SURVEY_TEMPLATE)
        )
        return {r.channel: r for r in rows}


def _holds(row: orm.Notification, token: str) -> bool:
    return any(token in str(getattr(row, c.key)) for c in orm.Notification.__table__.columns)


def test_a_sent_notice_keeps_no_link_and_the_link_it_sent_works(
    story: tuple[Runtime, Channels, str, str],
) -> None:
    runtime, channels, number, token = story
    kept = _rows(runtime)["kept"]
    assert _holds(kept, token)  # queued: the link waits in the row
    assert deliver(runtime, kept.id, now=NOW, policy=POLICY) == "sent"
    assert channels.kept[0].variables["link"].endswith(f"/survey/{token}")
    row = _rows(runtime)["kept"]
    assert row.state == "sent" and row.variables["link"] == REMOVED
    assert not _holds(row, token)
    assert row.variables["case_number"] == number  # the rest stays for the record
    # a redelivered message finds the row final: nothing is sent, nothing restored
    assert deliver(runtime, kept.id, now=NOW, policy=POLICY) == "sent"
    assert len(channels.kept) == 1 and not _holds(_rows(runtime)["kept"], token)
    view = runtime.desk.answer_survey(token, SurveyAnswer(score=5), now=NOW)
    assert view.answered


def test_retries_send_the_same_link_until_dead_and_then_it_is_gone(
    story: tuple[Runtime, Channels, str, str],
) -> None:
    runtime, channels, _, token = story
    busy = _rows(runtime)["busy"]
    assert deliver(runtime, busy.id, now=NOW, policy=POLICY) == "queued"
    assert _holds(_rows(runtime)["busy"], token)  # a retry is planned: the link stays
    later = NOW + timedelta(minutes=5)
    assert deliver(runtime, busy.id, now=later, policy=POLICY) == "dead"
    assert [n.variables["link"] for n in channels.tried] == [
        channels.tried[0].variables["link"]
    ] * 2
    assert channels.tried[0].variables["link"].endswith(token)
    row = _rows(runtime)["busy"]
    assert row.state == "dead" and not _holds(row, token)
    with pytest.raises(CredentialRemoved, match="survey link was removed"):
        retry(runtime, busy.id, actor="manager:zhao", now=later)
    assert _rows(runtime)["busy"].state == "dead"  # nothing was queued again


def test_a_notice_dropped_by_a_reopen_keeps_no_link(
    story: tuple[Runtime, Channels, str, str],
) -> None:
    runtime, _, number, token = story
    runtime.desk.reopen(number, Reopen(reason="the fault came back"), actor="agent:li", now=NOW)
    kept = _rows(runtime)["kept"]
    deliver(runtime, kept.id, now=NOW, policy=POLICY)  # a worker finds it stale
    for row in _rows(runtime).values():
        assert row.state == "dropped", row.channel
        assert not _holds(row, token)
