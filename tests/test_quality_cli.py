"""`casetrack quality ...` and `casetrack complaints ...` (docs/quality.md): the quarter's
result, survey problems to closure, a complaint's steps, the management list."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from quality_story import HOSPITAL, closed_case, runtime_on

from cli.main import main
from core.case import Category, Channel, RequestType
from core.commands import Caller, OpenCase
from core.surveys import SurveyAnswer

JULY = datetime(2026, 7, 6, 2, 0, tzinfo=UTC)
DAY = timedelta(days=1)


def lines(capsys: pytest.CaptureFixture[str]) -> list[dict[str, object]]:
    return [json.loads(line) for line in capsys.readouterr().out.splitlines() if line]


def test_quality_and_complaint_commands(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CASETRACK_DATABASE_URL", db_url)
    monkeypatch.setenv(
        "CASETRACK_CONTRACTS_DIR", str(Path(__file__).resolve().parent.parent / "contracts")
    )
    monkeypatch.setenv("CASETRACK_VAR_DIR", str(tmp_path / "var"))
    with runtime_on(db_url, tmp_path) as runtime:
        for score in (5, 1):
            _, token = closed_case(runtime, JULY, JULY + DAY)
            assert token is not None
            runtime.desk.answer_survey(token, SurveyAnswer(score=score), now=JULY + 2 * DAY)
        complaint = OpenCase(
            contract_id=HOSPITAL,
            caller=Caller(name="徐晓东"),
            summary="投诉：巡检报告迟交",
            category=Category.PERIODIC_INSPECTION,
            request_type=RequestType.COMPLAINT,
            priority="P3",
            channel=Channel.PHONE,
        )
        runtime.desk.open_case(complaint, actor="agent:li", now=JULY + 3 * DAY)

    assert main(["quality", "quarter", HOSPITAL, "2026Q3"]) == 0
    [result] = lines(capsys)
    assert (result["cases"], result["answered_figure"], result["compensation"]) == (2, 3.0, True)

    assert main(["quality", "problems", "--status", "open"]) == 0
    [problem] = lines(capsys)
    pid = str(problem["id"])
    assert main(["quality", "classify", pid, "attitude"]) == 0
    assert main(["quality", "add-action", "problem", pid, "服务礼仪培训", "--owner", "质量部"]) == 0
    action = lines(capsys)[-1]["actions"][0]["id"]  # type: ignore[index]
    assert main(["quality", "close-problem", pid, "--conclusion", "x"]) == 1  # action open
    capsys.readouterr()
    assert main(["quality", "action-done", "problem", pid, str(action), "--result", "已培训"]) == 0
    assert main(["quality", "close-problem", pid, "--conclusion", "态度问题已纠正"]) == 0
    assert lines(capsys)[-1]["status"] == "closed"

    assert main(["complaints", "list"]) == 0
    [filed] = lines(capsys)
    cid = str(filed["id"])
    assert main(["complaints", "reply", cid, "已致歉"]) == 0
    assert main(["complaints", "assign", cid, "yu-tao"]) == 0
    assert main(["complaints", "resolve", cid, "报告已补交"]) == 0
    assert main(["complaints", "close", cid, "--conclusion", "按期提交"]) == 0
    assert lines(capsys)[-1]["status"] == "closed"
    assert main(["quality", "actions"]) == 0
    assert [a["done_at"] is not None for a in lines(capsys)] == [True]
