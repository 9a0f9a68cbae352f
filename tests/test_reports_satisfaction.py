"""The customer report's satisfaction section comes from the quality module: the quarterly
promise per quarter (the same figures as the quarter-end result) and the complaint counts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from quality_story import HOSPITAL, closed_case, runtime_on

from core.case import Category, Channel, RequestType
from core.commands import Caller, OpenCase
from core.quality import Quarter
from core.reports.render import csv_tables, to_html
from core.reports.service import contract_report, period_of
from core.store.quality import quarterly_result
from core.surveys import SurveyAnswer

JULY = datetime(2026, 7, 6, 1, 0, tzinfo=UTC)  # Monday 09:00 in Weihai
DAY = timedelta(days=1)
AFTER_Q3 = datetime(2026, 10, 9, 2, 0, tzinfo=UTC)


def complaint(about: str) -> OpenCase:
    return OpenCase(
        contract_id=HOSPITAL,
        caller=Caller(name="周医生", phone="13561812199"),
        summary="投诉：安装拖延",
        category=Category.INSTALLATION,  # no appointment window asked of a complaint
        request_type=RequestType.COMPLAINT,
        priority="P3",
        channel=Channel.PHONE,
    )


def test_the_report_shows_each_quarters_promise_and_the_complaints(
    db_url: str, tmp_path: Path
) -> None:
    with runtime_on(db_url, tmp_path) as runtime:
        numbers = []
        for i, score in enumerate((5, 4, None)):
            opened = JULY + i * DAY
            number, token = closed_case(runtime, opened, opened + DAY / 2)
            assert token is not None
            if score is not None:
                runtime.desk.answer_survey(token, SurveyAnswer(score=score), now=opened + DAY)
            numbers.append(number)
        runtime.desk.open_case(
            complaint(numbers[0]), actor="agent:li", now=JULY + 10 * DAY, about=[numbers[0]]
        )
        period = period_of(runtime.settings.timezone, "2026Q3")
        with runtime.sessions() as session:
            report = contract_report(session, runtime.contracts, HOSPITAL, period, now=AFTER_Q3)
            lc = runtime.contracts.get(HOSPITAL)
            expected = quarterly_result(session, lc, Quarter(2026, 3), now=AFTER_Q3)
    section = report.satisfaction
    assert section.available is True
    assert [p.period for p in section.trend] == ["2025Q4", "2026Q1", "2026Q2", "2026Q3"]
    q3 = section.trend[-1]
    assert (q3.cases, q3.answered, q3.unanswered) == (3, 2, 1)
    assert q3.answers_score == 4.5  # (5 + 4) / 2
    assert q3.handbook_score == expected.handbook_figure  # the quarter-end result's figure
    assert q3.met == expected.met and q3.target == expected.target
    assert section.unanswered_rule == expected.unanswered_rule
    assert (section.complaints_opened, section.complaints_closed) == (1, 0)
    assert section.complaints_open == 1 and section.complaint_first_reply_breaches == 0
    html = to_html(report)  # the section and its trend chart, with the figures
    part = html[html.index('id="satisfaction"') :]
    assert "2026Q3" in part and "4.5" in part and "<svg" in part
    rows = csv_tables(report)["satisfaction.csv"].decode()
    assert "2026Q3" in rows


def test_a_quarter_not_begun_is_not_in_the_trend(db_url: str, tmp_path: Path) -> None:
    with runtime_on(db_url, tmp_path) as runtime:
        period = period_of(runtime.settings.timezone, "2026Q3")
        with runtime.sessions() as session:
            report = contract_report(session, runtime.contracts, HOSPITAL, period, now=JULY + DAY)
    assert [p.period for p in report.satisfaction.trend] == [
        "2025Q4",
        "2026Q1",
        "2026Q2",
        "2026Q3",
    ]
    assert report.satisfaction.trend[-1].cases == 0
    assert report.satisfaction.complaints_opened == 0
