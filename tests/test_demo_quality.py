"""The demo's quality story (issue 15, "done when"): the hospital's last quarter has closed
cases with survey answers (link and service form), a low score's survey problem, and an
unanswered survey; its quarterly result and the quarter-end notice come from them."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from cli.demo import HOSPITAL, seed_demo
from core.jobs.quality import quality_pass
from core.quality import Quarter
from core.runtime import Runtime, build_runtime
from core.settings import Settings
from core.store import orm
from core.store.quality import quarterly_result

CONTRACTS = Path(__file__).resolve().parent.parent / "contracts"
NOW = datetime(2026, 11, 25, 17, 5, tzinfo=ZoneInfo("Asia/Shanghai"))


@pytest.fixture
def runtime(db_url: str, tmp_path: Path) -> Iterator[Runtime]:
    settings = Settings(database_url=db_url, contracts_dir=str(CONTRACTS), var_dir=str(tmp_path))
    runtime = build_runtime(settings, clock=lambda: NOW)
    yield runtime
    runtime.close()


def test_the_demo_hospital_has_a_rated_quarter(runtime: Runtime) -> None:
    numbers = seed_demo(runtime, now=NOW).numbers
    quarter = Quarter.of(NOW, ZoneInfo("Asia/Shanghai")).previous
    with runtime.sessions() as session:
        result = quarterly_result(session, runtime.contracts.get(HOSPITAL), quarter, now=NOW)
        sources = set(
            session.scalars(select(orm.Survey.source).where(orm.Survey.source.is_not(None)))
        )
        problem = session.scalars(select(orm.SurveyProblem)).one()
        problem_case = session.get(orm.Case, problem.case_id)
    assert (result.cases, result.answered, result.unanswered) == (5, 4, 1)
    assert result.answered_figure is not None and result.handbook_figure is not None
    assert sources == {"link", "form"}
    assert problem_case is not None and problem_case.number == numbers["q-vpn-slow"]
    sent = quality_pass(runtime, now=NOW)
    assert f"{HOSPITAL} {quarter}" in sent.sent and sent.notices >= 1
