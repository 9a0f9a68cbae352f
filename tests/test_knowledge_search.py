"""Knowledge search judged on a labelled set (tests/data/kb_queries.yaml): precision and recall
of the top 5 on both back ends, beside a baseline (the whole query as one substring, what a
LIKE search box does) measured in the same run. The table is printed (`pytest -s`) and
copied into docs/knowledge.md; the floors are below what was measured, above the baseline."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import msgspec
import pytest
import yaml
from sqlalchemy import or_, select
from sqlalchemy.orm import Session, sessionmaker

from core import kbtext
from core.commands import WriteArticle
from core.desk import CaseDesk
from core.loaded import ContractSet
from core.sources.contracts import load_contracts
from core.store import orm

ROOT = Path(__file__).resolve().parent.parent
LABELLED = yaml.safe_load((ROOT / "tests" / "data" / "kb_queries.yaml").read_text("utf-8"))
NOW = datetime(2026, 10, 14, 2, 0, tzinfo=UTC)
K = 5


@dataclass(frozen=True)
class Scores:
    p1: float  # the first answer is relevant
    p5: float  # relevant answers among the top 5, over 5
    r5: float  # relevant answers in the top 5, over all relevant ones
    mrr: float  # 1 / rank of the first relevant answer

    def row(self, name: str) -> str:
        return f"| {name} | {self.p1:.2f} | {self.p5:.2f} | {self.r5:.2f} | {self.mrr:.2f} |"


def score(ranked: Callable[[str], list[str]]) -> Scores:
    p1 = p5 = r5 = mrr = 0.0
    queries = LABELLED["queries"]
    for item in queries:
        relevant = set(item["relevant"])
        top = ranked(item["q"])[:K]
        hits = [key in relevant for key in top]
        p1 += 1.0 if hits[:1] == [True] else 0.0
        p5 += sum(hits) / K
        r5 += sum(hits) / len(relevant)
        mrr += next((1.0 / (i + 1) for i, hit in enumerate(hits) if hit), 0.0)
    n = len(queries)
    return Scores(p1 / n, p5 / n, r5 / n, mrr / n)


@pytest.fixture(scope="module")
def contracts() -> ContractSet:
    return load_contracts([ROOT / "contracts"])


@pytest.fixture
def loaded(
    sessions: sessionmaker[Session], contracts: ContractSet
) -> tuple[CaseDesk, dict[int, str]]:
    desk = CaseDesk(sessions, contracts, prefix="MS")
    keys = {}
    for key, entry in LABELLED["entries"].items():
        fields = {name: entry[name] for name in ("title", "problem", "cause", "fix", "category")}
        cmd = msgspec.convert(
            {**fields, "device_model": entry["model"], "visibility": "public"}, WriteArticle
        )
        article = desk.write_article(cmd, actor="eng:test", now=NOW)
        keys[article.id] = key
    return desk, keys


def substring_baseline(
    sessions: sessionmaker[Session], keys: dict[int, str]
) -> Callable[[str], list[str]]:
    def ranked(query: str) -> list[str]:
        pattern = f"%{query.lower()}%"
        columns = (orm.KbEntry.title, orm.KbEntry.problem, orm.KbEntry.cause, orm.KbEntry.fix)
        with sessions() as session:
            ids = session.scalars(
                select(orm.KbEntry.id)
                .where(or_(*(column.ilike(pattern) for column in columns)))
                .order_by(orm.KbEntry.id.desc())
                .limit(K)
            ).all()
        return [keys[i] for i in ids]

    return ranked


def test_search_precision_on_the_labelled_queries(
    loaded: tuple[CaseDesk, dict[int, str]], sessions: sessionmaker[Session], db_url: str
) -> None:
    desk, keys = loaded

    def ranked(query: str) -> list[str]:
        return [keys[hit.id] for hit in desk.search_knowledge(query, limit=K)]

    ours = score(ranked)
    baseline = score(substring_baseline(sessions, keys))
    backend = db_url.split(":", 1)[0].split("+")[0]
    print(f"\nknowledge search, {len(LABELLED['queries'])} queries, {backend}")
    print("| search | P@1 | P@5 | R@5 | MRR |\n|---|---|---|---|---|")
    ideal = sum(min(len(q["relevant"]), K) / K for q in LABELLED["queries"])
    print(f"(best possible P@5 on this set: {ideal / len(LABELLED['queries']):.2f})")
    print(ours.row("segmented terms (jieba) + index"))
    print(baseline.row("baseline: whole query as a substring"))
    assert ours.r5 >= 0.9 and ours.p1 >= 0.8 and ours.mrr >= 0.85, ours
    assert ours.r5 > baseline.r5 + 0.3, (ours, baseline)


FALLBACK = LABELLED["queries"][-10:]  # the queries no entry holds every word of


def test_the_fallback_queries_are_answered_by_the_any_term_pass_alone() -> None:
    """The labelled set's last 10 queries hold words no entry has together (some words in
    no entry, common ones in several), so they measure the "any term" pass."""
    entries = [
        set(kbtext.indexed((e["title"], e["problem"], e["cause"], e["fix"], e["model"])).split())
        for e in LABELLED["entries"].values()
    ]
    for item in FALLBACK:
        words = set(kbtext.query_terms(item["q"]))
        assert len(words) > 1 and not any(words <= entry for entry in entries), item["q"]


def test_the_fallback_queries_find_their_entry_first(
    loaded: tuple[CaseDesk, dict[int, str]],
) -> None:
    desk, keys = loaded
    top = [[keys[hit.id] for hit in desk.search_knowledge(item["q"], limit=1)] for item in FALLBACK]
    assert top == [item["relevant"][:1] for item in FALLBACK]


def failures(desk: CaseDesk, keys: dict[int, str]) -> list[dict[str, Any]]:
    """The queries whose relevant entries are not all in the top 5 (for a failing run)."""
    missed = []
    for item in LABELLED["queries"]:
        top = [keys[hit.id] for hit in desk.search_knowledge(item["q"], limit=K)]
        if not set(item["relevant"]) <= set(top):
            missed.append({"q": item["q"], "top": top, "relevant": item["relevant"]})
    return missed


def test_every_query_finds_its_first_relevant_entry(
    loaded: tuple[CaseDesk, dict[int, str]],
) -> None:
    desk, keys = loaded
    missed = [m for m in failures(desk, keys) if not set(m["relevant"]) & set(m["top"])]
    assert missed == []
