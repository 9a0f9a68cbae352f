"""The quality notices render in both languages (e-mail) and fit the SMS template: the survey
link after close and the quarterly result to the customer's contacts."""

from __future__ import annotations

import msgspec
import pytest

from core.desk.surveys import SurveyVariables
from core.jobs.quality import QuarterVariables
from core.notify import Notice, Recipient
from plugins.email_notify.sender import render

LINK = "https://casetrack.example.cn/survey/" + "x" * 43


@pytest.mark.parametrize("locale", ["zh", "en"])
def test_the_survey_and_quarter_mails_render(locale: str) -> None:
    survey = SurveyVariables(
        case_number="MS-2026-000042",
        customer="威海市文登区康宁医院",
        summary="HIS 查询缓慢",
        link=LINK,
        expires_at="2026-11-13T10:00:00+08:00",
    )
    recipient = Recipient(name="周医生", email="zhou@example.cn", locale=locale)  # type: ignore[arg-type]
    mail = render(
        Notice(
            idempotency_key="survey:1",
            channel="email",
            recipient=recipient,
            template="survey_request",
            variables=msgspec.to_builtins(survey),
        )
    )
    assert LINK in mail.text and mail.html is not None and LINK in mail.html
    assert "MS-2026-000042" in mail.subject
    quarter = QuarterVariables(
        contract_id="wdkn-hospital-2026",
        customer="威海市文登区康宁医院",
        quarter="2026Q3",
        cases=5,
        answered=4,
        unanswered=1,
        unanswered_rule="neutral",
        handbook_figure=3.4,
        answered_figure=3.5,
        target=4.0,
        met=False,
        compensation=True,
        excused=False,
    )
    result = render(
        Notice(
            idempotency_key="quality:1",
            channel="email",
            recipient=recipient,
            template="quality_quarter",
            variables=msgspec.to_builtins(quarter),
        )
    )
    assert "2026Q3" in result.subject and "3.4" in result.text and "3.5" in result.text
