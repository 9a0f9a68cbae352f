"""A spare part requested and shipped through the case page's forms in Debian's chromium
(tests/browser_support.py); the same forms over the test client on both back ends:
tests/test_web_case_forms.py."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import Page, expect

from browser_support import WebServer, assert_accessible, screenshot, sign_in
from core.commands import Assign, Caller, OpenCase, Window

WEB_SETTINGS = {"web_session_seconds": 30 * 86400, "web_idle_seconds": 30 * 86400}
NOW = datetime(2026, 10, 14, 2, 0, tzinfo=UTC)  # Wed 10:00 in Weihai: working hours
SWITCH = "219801A23B8205Q0021K"  # the hospital's H3C switch, 8x5xNBD, Wendeng


@pytest.fixture(scope="module")
def rescue(web_server: WebServer) -> str:
    web_server.now = NOW
    web_server.user("agent1", "agent", name="Agent Wang")
    cmd = OpenCase(
        contract_id="wdkn-hospital-2026",
        caller=Caller(name="周医生"),
        summary="core switch PSU failed",
        category="fault_rescue",
        request_type="problem_report",
        priority="P2",
        channel="phone",
        device_serial=SWITCH,
        appointment=Window(start=NOW, end=NOW + timedelta(hours=8)),
    )
    desk = web_server.runtime.desk
    number = desk.open_case(cmd, actor="test", now=NOW).number
    desk.assign(number, Assign(engineer="于涛"), actor="test", now=NOW)
    return number


def test_an_agent_requests_a_spare_part_and_records_its_shipment(
    web_page: Page, web_server: WebServer, rescue: str, request: pytest.FixtureRequest
) -> None:
    sign_in(web_page, web_server, "agent1")
    web_page.goto(f"{web_server.url}/console/cases/{rescue}")
    assert web_page.locator("#action-spare-steps").count() == 0  # nothing requested yet
    web_page.click("#action-spares summary")
    web_page.fill("#spares-part", "PSU LSVM1AC650")
    web_page.select_option("#spares-mode", "courier")
    web_page.fill("#spares-note", "stock in Jinan")
    screenshot(web_page, request, "form")
    web_page.click("#action-spares button[type=submit]")
    expect(web_page.locator(".notice")).to_have_text("Spare part requested.")
    timeline = web_page.locator("#timeline")
    expect(timeline.locator("[data-kind=spare_requested]")).to_have_text("Spare part requested")
    expect(timeline).to_contain_text("PSU LSVM1AC650")
    expect(web_page.locator("#clocks")).to_contain_text("spare_ship")
    # the steps form offers the new request
    web_page.click("#action-spare-steps summary")
    expect(web_page.locator("#spare-steps-request option")).to_have_text(
        ["1 · PSU LSVM1AC650 (requested)"]
    )
    web_page.select_option("#spare-steps-step", "shipped")
    web_page.fill("#spare-steps-carrier", "SF Express")
    web_page.fill("#spare-steps-waybill", "SF1234567890")
    web_page.click("#action-spare-steps button[type=submit]")
    expect(web_page.locator(".notice")).to_have_text("Spare-part step recorded.")
    expect(timeline.locator("li").first).to_contain_text("SF1234567890")
    expect(web_page.locator("#clocks tr", has_text="spare_ship")).to_contain_text("met")
    screenshot(web_page, request, "case")
    assert_accessible(web_page)
