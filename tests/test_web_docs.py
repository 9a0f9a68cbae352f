"""The API docs page renders in a real browser with nothing fetched from another host."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from browser_support import WebServer, screenshot


@pytest.mark.parametrize("path", ["/schema", "/schema/swagger"])
def test_the_api_docs_render_offline_from_the_servers_own_assets(
    web_page: Page, web_server: WebServer, request: pytest.FixtureRequest, path: str
) -> None:
    hosts: set[str] = set()
    failed: list[str] = []
    web_page.on("request", lambda r: hosts.add(r.url.split("/")[2]))
    web_page.on("requestfailed", lambda r: failed.append(r.url))
    # the first request builds the OpenAPI document (seconds on a busy 2-core machine)
    web_page.goto(web_server.url + path, timeout=60_000)
    expect(web_page.locator(".swagger-ui .info .title")).to_contain_text("casetrack")
    # the operations are listed: one of the case API's paths is on the page
    expect(web_page.locator(".opblock-summary-path").first).to_be_visible()
    assert web_page.locator(".opblock").count() > 20
    assert hosts == {web_server.url.split("/")[2]}, hosts
    assert failed == []
    screenshot(web_page, request)
