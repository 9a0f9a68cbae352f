"""GET /api/v1/documents/{contract}/{kind}: the documents of R-MAINT over HTTP (JSON, HTML),
and bad requests as problem details (who may read them: tests/test_api_access.py)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from documents_story import CISCO, PORT, Story, tell

from conftest import Api

URL = f"/api/v1/documents/{PORT}"
PROBLEM = "application/problem+json"


@pytest.fixture
def story(api: Api) -> Story:
    return tell(api.runtime)


def call(api: Api, url: str, headers: dict[str, str], expect: int, **params: Any) -> httpx.Response:
    response = api.client.get(url, headers=headers, params=params)
    assert response.status_code == expect, response.text
    if expect >= 400:
        assert response.headers["content-type"].startswith(PROBLEM)
    return response


def test_staff_get_each_document_as_json_and_html(api: Api, story: Story) -> None:
    manager = api.headers("service_manager")
    summary = call(api, f"{URL}/summary", manager, 200, period="2026Q1").json()
    assert summary["type"] == "summary" and summary["open_total"] == 3
    assert next(r["cases"] for r in summary["cases"] if r["key"] == "*") == 4
    report = call(api, f"{URL}/implementation", manager, 200, case=story.upgrade).json()
    assert report["changes"][0]["reviewer"] == "expert:park-jiho"
    manual = call(api, f"{URL}/manual", manager, 200, model=CISCO, format="html")
    assert manual.headers["content-type"].startswith("text/html")
    assert "维护手册模板" in manual.text and "9300 电源模块告警处理" in manual.text
    plan = call(api, f"{URL}/plan", api.headers("engineer"), 200).json()
    assert [p["id"] for p in plan["plans"]] == ["monthly-core-room", "quarterly-cold-chain"]
    assessment = call(api, f"{URL}/assessment", api.headers("expert_group"), 200).json()
    assert {a["rule"] for a in assessment["advice"]} == {"A1", "A2", "A3", "A4", "A5", "A6"}


BAD = [
    ("summary", {"period": "2026Q5"}, 400, "period"),
    ("summary", {"period": "2026Q1", "format": "docx"}, 400, "format"),
    ("brochure", {}, 400, "kind"),
    ("implementation", {}, 400, "case"),
    ("plan", {"model": CISCO}, 400, "model"),
    ("implementation", {"case": "MS-2026-999999"}, 404, "MS-2026-999999"),
    ("manual", {"model": "Nokia 7750"}, 404, "Nokia 7750"),
]


@pytest.mark.parametrize(("kind", "params", "status", "named"), BAD)
def test_bad_requests_are_problems_naming_what_is_wrong(
    api: Api, kind: str, params: dict[str, str], status: int, named: str
) -> None:
    problem = call(api, f"{URL}/{kind}", api.headers("admin"), status, **params).json()
    assert named in str(problem), problem
