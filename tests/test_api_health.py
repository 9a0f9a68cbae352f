"""Health, readiness, metrics, OpenAPI and the problem-details contract of every error."""

from __future__ import annotations

from scrape import value

from conftest import Api


def test_healthz_and_readyz(api: Api) -> None:
    assert api.client.get("/healthz").json() == {"status": "ok"}
    ready = api.client.get("/readyz").json()
    assert ready["status"] == "ready"
    assert [c["region"] for c in ready["calendars"]] == ["CN"]  # the horizon: test_horizon


def test_metrics_expose_requests_and_case_gauges(api: Api) -> None:
    api.client.get("/healthz")
    text = api.client.get("/metrics").text
    route = {"method": "GET", "route": "/healthz", "status": "200"}
    assert value(text, "casetrack_http_requests_total", **route) == 1
    assert value(text, "casetrack_open_cases") == 0
    assert value(text, "casetrack_breached_clocks") == 0
    assert value(text, "casetrack_http_request_duration_seconds_count", **route) == 1
    assert value(text, "casetrack_http_request_duration_seconds_bucket", **route, le="+Inf") == 1
    assert value(text, "casetrack_notifications_dead") == 0
    assert value(text, "casetrack_notifications_oldest_due_seconds") == 0
    assert value(text, "casetrack_http_requests_in_progress") == 1  # this scrape


def test_openapi_is_3_1_and_served_with_a_docs_page(api: Api) -> None:
    schema = api.client.get("/schema/openapi.json").json()
    assert schema["openapi"].startswith("3.1")
    assert api.client.get("/schema").status_code == 200


def test_unknown_route_is_a_problem(api: Api) -> None:
    response = api.client.get("/nowhere")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["status"] == 404
