"""A case's past fixes and searches by model and category, in the store, on both back ends
(core.store.knowledge ``related``, ``search``; migration 0022): the newest entries of the
model and category are ranked against the case's words, matches first, then the newest
others; other models, categories and withdrawn entries never show; the model-and-category
facet is in every entry's terms, also those written before migration 0022."""

from __future__ import annotations

import importlib
from datetime import UTC, datetime, timedelta

from alembic import command
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from core.store import orm
from core.store.knowledge import (
    index_terms,
    model_category_facet,
    related,
    search,
    window_bm25,
)
from core.store.migrate import alembic_config, upgrade

T0 = datetime(2026, 10, 1, tzinfo=UTC)
MODEL, OTHER_MODEL = "HPE ProLiant DL380 Gen10", "Lenovo ThinkSystem SR590"
MIGRATION = importlib.import_module(
    "core.store.migrations.versions.20261206_0022_kb_model_category_facet"
)


def add(
    session: Session,
    title: str,
    fix: str,
    *,
    model: str = MODEL,
    category: str = "fault_rescue",
    active: bool = True,
    customer: str | None = None,
) -> int:
    at = T0 + timedelta(minutes=session.query(orm.KbEntry).count())
    entry = orm.KbEntry(kind="article", title=title, problem=None, cause=None, fix=fix, body=None,
                        device_model=model, category=category, customer_id=customer,
                        visibility="customer" if customer else "internal", active=active,
                        author="test", created_at=at, updated_at=at, updated_by="test")  # fmt: skip
    entry.terms = index_terms(entry)
    session.add(entry)
    session.flush()
    return entry.id


def titles(hits: list) -> list[str]:  # type: ignore[type-arg]
    return [hit.title for hit in hits]


def test_past_fixes_rank_the_newest_entries_of_the_model_and_category(
    sessions: sessionmaker[Session],
) -> None:
    with sessions.begin() as session:
        add(session, "老的内存故障", "更换内存条")  # a match, but older than the window
        add(session, "电源告警", "更换电源模块")
        add(session, "内存故障 ECC", "更换 P1-DIMM 8 内存条")
        add(session, "风扇噪音", "清洁风扇")
        add(session, "内存故障", "其他型号的内存", model=OTHER_MODEL)
        add(session, "内存故障", "其他类别的内存", category="system_debugging")
        add(session, "内存故障 撤回", "没有解决", active=False)
    with sessions() as session:
        found = related(session, "服务器内存故障", device_model=MODEL, category="fault_rescue",
                        exclude_case_id=None, limit=5, window=3)  # fmt: skip
        # the window is the 3 newest active ones: the match first, then the newest others
        assert titles(found) == ["内存故障 ECC", "风扇噪音", "电源告警"]
        assert found[0].score > 0 and found[1].score == found[2].score == 0.0
        everything = related(session, "服务器内存故障", device_model=MODEL,
                             category="fault_rescue", exclude_case_id=None, limit=5)  # fmt: skip
        assert set(titles(everything)[:2]) == {"内存故障 ECC", "老的内存故障"}  # both match
        assert titles(everything)[2:] == ["风扇噪音", "电源告警"]
        assert related(session, "内存", device_model=None, category="fault_rescue",
                       exclude_case_id=None, limit=5) == []  # fmt: skip
        # the API's search with both filters: every term first, then any, of that pair only
        filtered = search(session, "内存故障 ECC", device_model=MODEL, category="fault_rescue")
        assert titles(filtered) == ["内存故障 ECC", "老的内存故障"]


def test_a_customers_search_by_model_and_category_sees_its_own_only(
    sessions: sessionmaker[Session],
) -> None:
    with sessions.begin() as session:
        add(session, "内存故障 ECC", "更换内存条", customer="hospital")
        add(session, "内存报警", "重新插拔内存", customer="school")
        add(session, "内存故障 内部", "内部记录")
    with sessions() as session:
        mine = search(session, "内存故障 ECC", customer_id="hospital", device_model=MODEL,
                      category="fault_rescue")  # fmt: skip
        assert titles(mine) == ["内存故障 ECC"]
        staff = search(session, "内存故障 ECC", device_model=MODEL, category="fault_rescue")
        assert titles(staff)[0] == "内存故障 ECC" and len(staff) == 3  # then any term, newest


def test_migration_0022_gives_older_entries_the_model_and_category_facet(
    engine: Engine, sessions: sessionmaker[Session]
) -> None:
    facet = model_category_facet(MODEL, "fault_rescue")
    assert MIGRATION.model_category_facet(MODEL, "fault_rescue") == facet
    with sessions.begin() as session:
        entry_id = add(session, "内存故障 ECC", "更换内存条")
        add(session, "没有型号", "无", model="")
    command.downgrade(alembic_config(engine), MIGRATION.down_revision)  # as written before 0022
    with sessions() as session:
        assert facet not in session.get_one(orm.KbEntry, entry_id).terms
    upgrade(engine)
    with sessions() as session:
        terms = session.scalar(select(orm.KbEntry.terms).where(orm.KbEntry.id == entry_id))
        assert terms is not None and terms.count(facet) == 1 and terms.endswith(f" {facet} ")
        assert terms == index_terms(session.get_one(orm.KbEntry, entry_id))
        hits = search(session, "内存故障 ECC", device_model=MODEL, category="fault_rescue")
        assert titles(hits) == ["内存故障 ECC"]


def test_window_bm25_weighs_rarer_words_and_marks_non_matches() -> None:
    docs = [" 内存 故障 ", " 故障 电源 ", " 风扇 ", " 故障 "]
    scores = window_bm25(["内存", "故障"], docs)
    assert scores[2] == -1.0  # holds neither word
    assert scores[0] > scores[3] > 0  # the rare word 内存 counts more than the common 故障
    assert window_bm25(["内存"], []) == []
