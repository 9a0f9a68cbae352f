"""GET /api/v1/reports/{contract}: the JSON report, its CSV zip and HTML page, who may read
which contract's, and bad periods as problem details naming the parameter."""

from __future__ import annotations

import io
import zipfile
from typing import Any

import httpx
import pytest

from conftest import Api
from report_fixture import HOSPITAL, PORT, known

URL = f"/api/v1/reports/{HOSPITAL}"
PROBLEM = "application/problem+json"


@pytest.fixture
def loaded(api: Api) -> Api:
    with api.runtime.sessions.begin() as session:
        known().load(session.connection())
    return api


def call(api: Api, url: str, headers: dict[str, str], expect: int, **params: Any) -> httpx.Response:
    response = api.client.get(url, headers=headers, params=params)
    assert response.status_code == expect, response.text
    if expect >= 400:
        assert response.headers["content-type"].startswith(PROBLEM)
    return response


def test_a_manager_gets_the_quarters_figures_as_json_csv_and_html(loaded: Api) -> None:
    manager = loaded.headers("service_manager")
    body = call(loaded, URL, manager, 200, period="2026Q3").json()
    assert body["customer_name"] == "威海市文登区康宁医院"
    assert body["period"]["label"] == "2026Q3"
    totals = next(r for r in body["statistics"] if r["dimension"] == "all")
    assert totals["cases"] == 5
    assert body["major_total"] == 1
    assert body["first_time_fix"]["rate"] == 0.5
    assert body["satisfaction"]["available"] is True  # core/reports/satisfaction.py
    assert body["satisfaction"]["trend"][-1]["period"] == "2026Q3"
    csv = call(loaded, URL, manager, 200, period="2026Q3", format="csv")
    assert csv.headers["content-type"] == "application/zip"
    assert "attachment" in csv.headers["content-disposition"]
    assert "sla.csv" in zipfile.ZipFile(io.BytesIO(csv.content)).namelist()
    html = call(loaded, URL, manager, 200, period="2026Q3", format="html")
    assert html.headers["content-type"].startswith("text/html")
    assert "<svg" in html.text


def test_a_date_range_counts_only_its_days(loaded: Api) -> None:
    body = call(
        loaded, URL, loaded.headers("admin"), 200, **{"from": "2026-07-01", "to": "2026-07-31"}
    ).json()
    totals = next(r for r in body["statistics"] if r["dimension"] == "all")
    assert totals["cases"] == 3  # c1, c2 and c6 (01:00 on 1 July local)


def test_a_customer_reads_its_own_contract_only(loaded: Api) -> None:
    own = loaded.headers("customer", customer="wdkn-hospital")
    assert call(loaded, URL, own, 200, period="2026Q3").json()["contract_id"] == HOSPITAL
    call(loaded, f"/api/v1/reports/{PORT}", own, 404, period="2026Q3")
    call(loaded, "/api/v1/reports/nosuch", own, 404, period="2026Q3")
    call(loaded, URL, loaded.headers("engineer"), 403, period="2026Q3")
    call(loaded, URL, {}, 401, period="2026Q3")


BAD = [
    ({"period": "2026Q5"}, "period"),
    ({"period": "2026-13"}, "period"),
    ({}, "period"),
    ({"from": "2026-08-01", "to": "2026-07-01"}, "to"),
    ({"period": "2026Q3", "from": "2026-07-01", "to": "2026-07-02"}, "period"),
    ({"period": "2026Q3", "format": "docx"}, "format"),
]


def test_a_bad_period_or_format_is_a_400_naming_the_parameter(loaded: Api) -> None:
    admin = loaded.headers("admin")
    for params, field in BAD:
        problem = call(loaded, URL, admin, 400, **params).json()
        assert field in str(problem), (params, problem)
