"""The knowledge base on the case page in Debian's chromium (tests/browser_support.py), over
the demo's stories: an engineer opening a new outage on the HIS application server sees the
demo's past fix for it (the night of the failed memory module), types a Chinese query into
the search box and gets the fix (htmx), and without script the same form still works."""

from __future__ import annotations

import re
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Browser, Page, expect

from browser_support import WebServer, assert_accessible, screenshot, sign_in
from cli.demo import HEADLINE, seed_demo
from core.commands import Caller, OpenCase

WEB_LOCALE = "zh-CN"
WEB_SETTINGS = {"web_session_seconds": 30 * 86400, "web_idle_seconds": 30 * 86400}
NOW = datetime(2026, 11, 25, 17, 5, tzinfo=ZoneInfo("Asia/Shanghai"))
HIS_APP = "CZJ9350FKR"  # the HIS application server of the demo's headline story
DEMO_FIX = "P1-DIMM 8"  # in the headline story's resolution (cli/demo/stories.yaml)


@pytest.fixture(scope="module")
def demo(web_server: WebServer) -> dict[str, str]:
    web_server.now = NOW
    numbers = seed_demo(web_server.runtime, now=NOW).numbers
    web_server.user("yutao", "engineer", name="于涛")
    cmd = OpenCase(
        contract_id="wdkn-hospital-2026",
        caller=Caller(name="邵敏"),
        summary="HIS应用服务器又宕机，挂号收费登录不了",
        category="fault_rescue",
        request_type="problem_report",
        priority="P1",
        channel="phone",
        device_serial=HIS_APP,
        emergency=True,
    )
    new = web_server.runtime.desk.open_case(cmd, actor="test", now=NOW).number
    return {"past": numbers[HEADLINE], "new": new}


def test_an_engineer_sees_the_past_fix_and_finds_it_by_a_chinese_query(
    web_page: Page, web_server: WebServer, demo: dict[str, str], request: pytest.FixtureRequest
) -> None:
    sign_in(web_page, web_server, "yutao")
    web_page.goto(f"{web_server.url}/console/cases/{demo['new']}")
    related = web_page.locator("#kb-related")
    expect(related).to_contain_text(DEMO_FIX)  # shown as the page opens
    expect(related.locator(f"a[href='/console/cases/{demo['past']}']")).to_have_count(1)
    expect(web_page.locator("#h-kb")).to_have_text("知识库")
    url = web_page.url
    web_page.locator("#kb-q").press_sequentially("内存故障")  # typed, as a person does
    web_page.locator("#kb-q").press("Enter")
    hits = web_page.locator("#kb-hits")
    expect(hits).to_contain_text(DEMO_FIX)
    expect(web_page.locator("#kb-results h3")).to_contain_text("内存故障")
    assert web_page.url == url  # htmx swapped the results in: the page stayed
    first = hits.locator("li").first
    expect(first).to_contain_text(DEMO_FIX)
    screenshot(web_page, request)
    assert_accessible(web_page)
    first.locator("a").click()
    expect(web_page).to_have_url(re.compile(rf"/console/cases/{demo['past']}$"))


def test_without_script_the_search_form_renders_the_page_with_the_results(
    browser: Browser, web_server: WebServer, demo: dict[str, str]
) -> None:
    context = browser.new_context(locale=WEB_LOCALE, java_script_enabled=False)
    context.set_default_timeout(10_000)
    try:
        page = context.new_page()
        sign_in(page, web_server, "yutao")
        page.goto(f"{web_server.url}/console/cases/{demo['new']}")
        page.fill("#kb-q", "服务器宕机 内存")
        page.click("form.kb-search button[type=submit]")
        expect(page).to_have_url(re.compile(rf"/console/cases/{demo['new']}/knowledge\?q="))
        expect(page.locator("h1")).to_contain_text(demo["new"])
        expect(page.locator("#kb-hits li").first).to_contain_text(DEMO_FIX)
        expect(page.locator("#kb-q")).to_have_value("服务器宕机 内存")
    finally:
        context.close()
