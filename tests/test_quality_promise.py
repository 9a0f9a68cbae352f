"""The quarterly promise (issue 15 §2, §6): the handbook's figure under each unanswered-survey
setting, a re-opened case counted once, the Q3/Q4 rule, an exclusion-covered miss, the same
SQL result on both back ends, and the quarter-end result sent once by two schedulers."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from pathlib import Path

import msgspec
import pytest
from concurrency import at_the_same_instant
from quality_story import HOSPITAL, close_case, closed_case, runtime_on, with_survey
from sqlalchemy import func, select

from conftest import Templates
from core.commands import ExcludeClock, Reopen
from core.jobs.quality import quality_pass, report_recipients
from core.quality import FILL, Quarter, QuarterlyResult, parse_quarter
from core.runtime import Runtime
from core.store import orm
from core.store.quality import quarterly_result
from core.surveys import SurveyAnswer

Q3 = Quarter(2026, 3)
JULY = datetime(2026, 7, 6, 2, 0, tzinfo=UTC)  # Mon 10:00 in Weihai
DAY = timedelta(days=1)
AFTER_Q3 = datetime(2026, 10, 1, 1, 0, tzinfo=UTC)  # 09:00 on 1 October in Weihai


def result(runtime: Runtime, quarter: Quarter = Q3) -> QuarterlyResult:
    with runtime.sessions() as session:
        lc = runtime.contracts.get(HOSPITAL)
        return quarterly_result(session, lc, quarter, now=AFTER_Q3)


def surveyed(runtime: Runtime, scores: Sequence[int | None]) -> list[str]:
    """One closed Q3 case per score (None: its survey left unanswered)."""
    numbers = []
    for i, score in enumerate(scores):
        opened = JULY + i * DAY
        number, token = closed_case(runtime, opened, opened + DAY / 2)
        assert token is not None
        if score is not None:
            answer = SurveyAnswer(score=score, comment=f"case {i}")
            runtime.desk.answer_survey(token, answer, now=opened + DAY)
        numbers.append(number)
    return numbers


def expected(scores: Sequence[int | None], fill: int | None) -> Fraction:
    answers = [s for s in scores if s is not None]
    if fill is None:
        return Fraction(sum(answers), len(answers))
    return Fraction(sum(answers) + fill * (len(scores) - len(answers)), len(scores))


SCORES = [5, 4, None, 2, 5, None]


@pytest.mark.parametrize("rule", ["exclude", "lowest", "neutral"])
def test_a_quarter_with_known_scores_gives_the_exact_figure(
    db_url: str, tmp_path: Path, rule: str
) -> None:
    with runtime_on(db_url, tmp_path) as runtime:
        runtime.use_contracts(with_survey(runtime.contracts, HOSPITAL, unanswered=rule))
        surveyed(runtime, SCORES)
        got = result(runtime)
    figure = expected(SCORES, FILL[rule])
    over_answers = expected(SCORES, None)
    assert (got.cases, got.answered, got.unanswered) == (6, 4, 2)
    assert got.handbook_figure == round(float(figure), 2)
    assert got.answered_figure == round(float(over_answers), 2)
    assert got.met == (figure >= 4) and got.compensation == (figure < 4)
    assert got.unanswered_rule == rule and got.quarter == "2026Q3"


def test_the_default_counts_every_case_as_the_handbook_does(db_url: str, tmp_path: Path) -> None:
    """No ``unanswered`` in a contract: ``neutral`` (the handbook divides by cases)."""
    with runtime_on(db_url, tmp_path) as runtime:
        lc = runtime.contracts.get(HOSPITAL)
        default = msgspec.structs.replace(lc.contract.survey)  # the shipped hospital's
        assert default.unanswered == "neutral"
        from core.contract import Survey

        assert Survey().unanswered == "neutral" and FILL[Survey().unanswered] is not None


def test_a_reopened_case_counts_once_with_its_latest_answer(db_url: str, tmp_path: Path) -> None:
    with runtime_on(db_url, tmp_path) as runtime:
        number, first = closed_case(runtime, JULY, JULY + DAY)
        assert first is not None
        runtime.desk.answer_survey(first, SurveyAnswer(score=5), now=JULY + 2 * DAY)
        runtime.desk.reopen(number, Reopen(reason="故障复现"), actor="agent:li", now=JULY + 3 * DAY)
        reopened = result(runtime)
        second = close_case(runtime, number, JULY + 4 * DAY)
        assert second is not None and second != first
        runtime.desk.answer_survey(second, SurveyAnswer(score=3), now=JULY + 5 * DAY)
        got = result(runtime)
        with runtime.sessions() as session:
            rounds = session.scalar(select(func.count()).select_from(orm.Survey))
    assert reopened.cases == 0  # re-opened: not closed, its old answer no longer counts
    assert rounds == 2
    assert (got.cases, got.answered, got.score_sum) == (1, 1, 3)


def test_a_case_that_arose_in_q3_and_closed_in_q4_counts_in_neither(
    db_url: str, tmp_path: Path
) -> None:
    """本季度所有已发生并且已经关闭的 CASE: both in the quarter (docs/quality.md)."""
    late = datetime(2026, 9, 30, 6, 0, tzinfo=UTC)  # 14:00 on 30 September in Weihai
    with runtime_on(db_url, tmp_path) as runtime:
        _, across = closed_case(runtime, late, late + DAY)  # closed 1 October
        _, inside = closed_case(runtime, late + 2 * DAY, late + 3 * DAY)
        for token in (across, inside):
            assert token is not None
            runtime.desk.answer_survey(token, SurveyAnswer(score=4), now=late + 4 * DAY)
        q3, q4 = result(runtime, Q3), result(runtime, Q3.next)
    assert (q3.cases, q4.cases) == (0, 1)


def test_the_quarter_edges_are_local_midnight() -> None:
    from zoneinfo import ZoneInfo

    start, end = Q3.bounds(ZoneInfo("Asia/Shanghai"))
    assert start == datetime(2026, 6, 30, 16, 0, tzinfo=UTC)
    assert end == datetime(2026, 9, 30, 16, 0, tzinfo=UTC)
    assert parse_quarter("2026q4") == Q3.next and Q3.last_day.isoformat() == "2026-09-30"


def test_a_miss_the_recorded_exclusions_account_for_is_not_flagged(
    db_url: str, tmp_path: Path
) -> None:
    with runtime_on(db_url, tmp_path) as runtime:
        runtime.use_contracts(with_survey(runtime.contracts, HOSPITAL, unanswered="exclude"))
        good, bad = surveyed(runtime, [5, 1])
        missed = result(runtime)
        cause = ExcludeClock(kind="resolution", cause="vendor-defect", note="原厂固件缺陷")
        runtime.desk.exclude_clock(bad, cause, actor="mgr:zhao", now=JULY + 10 * DAY)
        excused = result(runtime)
    assert missed.met is False and missed.compensation and not missed.excused
    assert excused.met is False and excused.excused and not excused.compensation
    assert [(e.case_number, e.causes, e.score) for e in excused.exclusions] == [
        (bad, ["vendor-defect"], 1)
    ]
    assert excused.figure_without_excluded == 5.0 and good not in str(excused.exclusions)


def test_both_back_ends_give_the_same_result(db_templates: Templates, tmp_path: Path) -> None:
    results = []
    for make in (db_templates.sqlite, db_templates.postgresql):
        url = make()
        try:
            with runtime_on(url, tmp_path / make.__name__) as runtime:
                numbers = surveyed(runtime, [5, None, 3, 1, 4])
                runtime.desk.exclude_clock(
                    numbers[3],
                    ExcludeClock(kind="resolution", cause="force-majeure", note="台风"),
                    actor="mgr:zhao",
                    now=JULY + 9 * DAY,
                )
                results.append(msgspec.to_builtins(result(runtime)))
        finally:
            db_templates.drop(url)
    assert results[0] == results[1]
    assert results[0]["cases"] == 5 and results[0]["exclusions"]


# --- the quarter-end job ---------------------------------------------------------------------


def sent_quarters(runtime: Runtime) -> tuple[int, int]:
    with runtime.sessions() as session:
        rows = session.scalar(select(func.count()).select_from(orm.QualityQuarter))
        notices = session.scalar(
            select(func.count())
            .select_from(orm.Notification)
            .where(orm.Notification.template == "quality_quarter")
        )
    return int(rows or 0), int(notices or 0)


def test_the_quarter_end_result_goes_to_the_customer_once(db_url: str, tmp_path: Path) -> None:
    with runtime_on(db_url, tmp_path) as runtime:
        surveyed(runtime, [4, 5])
        assert quality_pass(runtime, now=JULY + 20 * DAY).sent == []  # Q3 is not over
        first = quality_pass(runtime, now=AFTER_Q3)
        again = quality_pass(runtime, now=AFTER_Q3 + DAY)
        recipients = report_recipients(runtime.contracts.get(HOSPITAL))
        with runtime.sessions() as session:
            stored = session.scalars(select(orm.QualityQuarter)).one()
        counts = sent_quarters(runtime)
    assert first.sent == [f"{HOSPITAL} 2026Q3"] and again.sent == []
    assert counts == (1, len(recipients)) and recipients
    assert stored.result["handbook_figure"] == 4.5 and stored.notices == len(recipients)


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_two_schedulers_at_quarter_end_send_it_exactly_once(db_url: str, tmp_path: Path) -> None:
    with runtime_on(db_url, tmp_path / "a") as one, runtime_on(db_url, tmp_path / "b") as two:
        surveyed(one, [4, 5, 3])
        passes = at_the_same_instant(
            lambda: quality_pass(one, now=AFTER_Q3), lambda: quality_pass(two, now=AFTER_Q3)
        )
        recipients = len(report_recipients(one.contracts.get(HOSPITAL)))
        counts = sent_quarters(one)
    assert sorted(len(p.sent) for p in passes) == [0, 1]
    assert counts == (1, recipients)
