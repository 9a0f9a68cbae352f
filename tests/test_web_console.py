"""The agent and engineer console in Debian's chromium (tests/browser_support.py): queues,
the case page and its lifecycle forms, the new case form, the live fragment, who may open
what; screenshots of each page and axe-core checks."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from playwright.sync_api import Page, expect

import web.console_queues
from browser_support import WebServer, assert_accessible, screenshot, sign_in
from core.commands import Assign, Caller, FirstResponse, OpenCase, RequestOnsite, Resolve
from core.jobs.scheduler import tick

HOSPITAL = "wdkn-hospital-2026"
SERVER = "CZJ9350FKQ"  # a device of the hospital's contract
CASES: dict[str, str] = {}
# the live test moves the clock a day on: sessions must outlast it
WEB_SETTINGS = {
    "web_session_seconds": 30 * 86400,
    "web_idle_seconds": 30 * 86400,
}  # what one test made, for the next


@pytest.fixture(scope="module")
def console(web_server: WebServer) -> WebServer:
    web_server.user("agent1", "agent", name="Agent Wang")
    web_server.user("yutao", "engineer", name="于涛")  # an engineer of contracts/staff
    web_server.user("manager1", "service_manager", name="刘洋")
    web_server.user("hospital1", "customer", customer="wdkn-hospital", name="Dr. Sun")
    web_server.now = None
    return web_server


def _open(server: WebServer, summary: str, **extra: object) -> str:
    """A case opened straight through the desk (the test's setup, not what it checks)."""
    contract_id = str(extra.pop("contract_id", HOSPITAL))
    cmd = OpenCase(
        contract_id=contract_id,
        caller=Caller(name="Dr. Zhang"),
        summary=summary,
        category="system_debugging",
        request_type="problem_report",
        priority=str(extra.pop("priority", "P2")),  # type: ignore[arg-type]
        channel="phone",
        device_serial=SERVER if contract_id == HOSPITAL else None,
    )
    receipt = server.runtime.desk.open_case(cmd, actor="test", now=server.clock())
    return receipt.number


def test_an_agent_opens_a_case_through_the_form_and_assigns_it(
    web_page: Page, console: WebServer, request: pytest.FixtureRequest
) -> None:
    sign_in(web_page, console, "agent1")
    web_page.click("nav a[href='/console/cases/new']")
    expect(web_page.locator("h1")).to_have_text("New case")
    web_page.select_option("#nc-contract_id", HOSPITAL)
    expect(web_page.locator("#nc-device_serial option[value='CZJ9350FKQ']")).to_have_count(1)
    web_page.fill("#nc-caller-name", "Dr. Zhang")
    web_page.fill("#nc-caller-phone", "0631-8888888")
    web_page.fill("#nc-summary", "HIS database server does not boot")
    web_page.select_option("#nc-category", "system_debugging")
    web_page.select_option("#nc-priority", "P2")
    web_page.select_option("#nc-device_serial", SERVER)
    screenshot(web_page, request, "form")
    web_page.click("#new-case button[type=submit]")
    expect(web_page).to_have_url(re.compile(r"/console/cases/[A-Z]+-\d{4}-\d+$"))
    number = web_page.url.rsplit("/", 1)[1]
    expect(web_page.locator("h1")).to_contain_text(number)
    expect(web_page.locator("#clocks")).to_contain_text("response")
    expect(web_page.locator("#clocks")).to_contain_text("running")
    web_page.click("#action-assign summary")
    web_page.fill("#assign-engineer", "于涛")
    web_page.click("#action-assign button[type=submit]")
    expect(web_page.locator(".notice")).to_have_text("Assigned.")
    expect(web_page.locator("#case-assignee")).to_have_text("于涛")
    expect(web_page.locator("#timeline")).to_contain_text("Engineer assigned")
    screenshot(web_page, request, "case")
    CASES["opened"] = number
    # the API's role sets decide the forms: an agent may not confirm a diagnosis
    assert web_page.locator("#action-diagnosis").count() == 0
    assert web_page.locator("#action-first-response").count() == 1
    # the agent's own "mine": the calls they took, whoever works them now
    web_page.goto(console.url + "/console/queues")
    expect(web_page).to_have_url(re.compile(r"/console/queues/mine$"))
    expect(web_page.locator("#queue-table tbody tr", has_text=number)).to_contain_text("于涛")
    screenshot(web_page, request, "mine")


def test_the_engineer_sees_it_in_mine_and_records_response_and_arrival(
    web_page: Page, console: WebServer, request: pytest.FixtureRequest
) -> None:
    number = CASES["opened"]
    console.runtime.desk.request_onsite(
        number, RequestOnsite(reason="server will not boot", override_reason="test setup"),
        actor="刘洋", now=console.clock(),
    )  # fmt: skip
    sign_in(web_page, console, "yutao")
    web_page.goto(console.url + "/console/queues")
    expect(web_page).to_have_url(re.compile(r"/console/queues/mine$"))
    row = web_page.locator("#queue-table tbody tr", has_text=number)
    expect(row).to_contain_text("P2")
    expect(row).to_contain_text(re.compile(r"\d+ h \d\d min"))  # business time left
    screenshot(web_page, request, "mine")
    row.locator("a").first.click()
    web_page.click("#action-first-response summary")
    web_page.fill("#first-response-agreed_content", "replace the RAID controller")
    web_page.click("#action-first-response button[type=submit]")
    expect(web_page.locator(".notice")).to_have_text("First response recorded.")
    web_page.click("#action-onsite-arrival summary")
    web_page.fill("#onsite-arrival-note", "in the server room")
    web_page.click("#action-onsite-arrival button[type=submit]")
    expect(web_page.locator(".notice")).to_have_text("On-site arrival recorded.")
    clocks = web_page.locator("#clocks")
    expect(clocks.locator("tr", has_text="response")).to_contain_text("met")
    expect(clocks.locator("tr", has_text="onsite_arrival")).to_contain_text("met")
    timeline = web_page.locator("#timeline")
    expect(timeline.locator("li.vis-customer").first).to_be_visible()
    expect(timeline).to_contain_text("Engineer on site")  # core/event_labels.py
    expect(timeline).not_to_contain_text("onsite_arrived")
    screenshot(web_page, request, "case")
    assert_accessible(web_page)


def test_a_core_error_is_shown_next_to_its_field_with_the_values_kept(
    web_page: Page, console: WebServer, request: pytest.FixtureRequest
) -> None:
    number = _open(console, "core error case")
    sign_in(web_page, console, "agent1")
    web_page.goto(f"{console.url}/console/cases/{number}")
    web_page.click("#action-escalations summary")
    web_page.fill("#escalations-level", "12")
    web_page.fill("#escalations-target_group", "expert group")
    web_page.fill("#escalations-reason", "customer calls every hour")
    web_page.click("#action-escalations button[type=submit]")
    error = web_page.locator("#escalations-level-error")
    expect(error).to_contain_text("<= 9")
    expect(web_page.locator("#escalations-level")).to_have_attribute("aria-invalid", "true")
    expect(web_page.locator("#escalations-reason")).to_have_value("customer calls every hour")
    screenshot(web_page, request, "field")
    # the desk's own refusal (a new case cannot wait for the customer) is shown on its form
    web_page.click("#action-status summary")
    web_page.select_option("#status-status", "pending_customer")
    web_page.click("#action-status button[type=submit]")
    expect(web_page.locator("#status-error")).to_contain_text("cannot change status")
    # and an unknown engineer is the core's InvalidField-like refusal at the form
    web_page.click("#action-assign summary")
    web_page.fill("#assign-engineer", "Nobody Here")
    web_page.click("#action-assign button[type=submit]")
    expect(web_page.locator("#action-assign [role=alert]")).to_contain_text("Nobody Here")
    expect(web_page.locator("#assign-engineer")).to_have_value("Nobody Here")


def test_the_desks_invalid_field_is_shown_at_that_field(web_page: Page, console: WebServer) -> None:
    number = _open(console, "resolved case")
    desk, now = console.runtime.desk, console.clock()
    desk.assign(number, Assign(engineer="于涛"), actor="test", now=now)
    desk.first_response(number, FirstResponse(agreed_content="reseat"), actor="test", now=now)
    console.runtime.desk.resolve(
        number, Resolve(resolution="reseated the disk"), actor="test", now=console.clock()
    )
    sign_in(web_page, console, "agent1")
    web_page.goto(f"{console.url}/console/cases/{number}")
    web_page.click("#action-close summary")
    web_page.fill("#close-confirmed_by", "Dr. Zhang")
    web_page.fill("#close-confirmed_at", "2030-01-01T10:00")  # years from now: implausible
    web_page.fill("#close-confirmation_document", "scan-0042.pdf")
    web_page.click("#action-close button[type=submit]")
    expect(web_page.locator("#close-confirmed_at-error")).to_be_visible()
    expect(web_page.locator("#close-confirmed_at")).to_have_attribute("aria-invalid", "true")
    expect(web_page.locator("#close-confirmation_document")).to_have_value("scan-0042.pdf")


def test_the_new_case_form_shows_the_field_the_core_refused(
    web_page: Page, console: WebServer
) -> None:
    sign_in(web_page, console, "agent1")
    web_page.goto(console.url + "/console/cases/new")
    web_page.fill("#nc-caller-name", "Dr. Zhang")
    web_page.fill("#nc-summary", "x" * 3000)  # longer than a summary may be
    web_page.click("#new-case button[type=submit]")
    expect(web_page.locator("#nc-summary-error")).to_be_visible()
    expect(web_page.locator("#nc-caller-name")).to_have_value("Dr. Zhang")


def test_customers_get_404_for_another_customers_case_and_403_on_the_console(
    web_page: Page, console: WebServer, request: pytest.FixtureRequest
) -> None:
    school_case = _open(console, "school projector", contract_id="rsyz-2026")
    own_case = _open(console, "hospital case")
    sign_in(web_page, console, "hospital1")
    other = web_page.goto(f"{console.url}/console/cases/{school_case}")
    assert other is not None and other.status == 404
    missing = web_page.goto(f"{console.url}/console/cases/MS-2026-999999")
    assert missing is not None and missing.status == 404
    assert web_page.locator("h1").inner_text() == "There is no such page."
    screenshot(web_page, request, "404")
    own = web_page.goto(f"{console.url}/console/cases/{own_case}")
    assert own is not None and own.status == 403
    queues = web_page.goto(f"{console.url}/console/queues/mine")
    assert queues is not None and queues.status == 403
    new = web_page.goto(f"{console.url}/console/cases/new")
    assert new is not None and new.status == 403


def test_queues_filter_sort_and_page_with_htmx(
    web_page: Page, console: WebServer, request: pytest.FixtureRequest
) -> None:
    numbers = [_open(console, f"unassigned {i}", priority="P3" if i % 2 else "P4")
               for i in range(4)]  # fmt: skip
    sign_in(web_page, console, "manager1")
    web_page.goto(console.url + "/console/queues/unassigned")
    table = web_page.locator("#queue-table")
    for number in numbers:
        expect(table).to_contain_text(number)
    web_page.evaluate("window.marker = 'kept'")  # survives only if the page is not reloaded
    web_page.select_option("#f-priority", "P3")
    expect(web_page).to_have_url(re.compile(r"priority=P3"))
    expect(table.locator("tbody tr", has_text="P4")).to_have_count(0)
    expect(table).to_contain_text(numbers[1])
    web_page.click("#queue-table th a:has-text('Case')")
    expect(web_page).to_have_url(re.compile(r"sort=number"))
    first = table.locator("tbody tr").first.locator("a").inner_text()
    web_page.click("#queue-table th a:has-text('Case')")
    expect(web_page).to_have_url(re.compile(r"sort=-number"))
    expect(table.locator("tbody tr").first.locator("a")).not_to_have_text(first)
    expect(table.locator("th[aria-sort=descending]")).to_have_count(1)
    assert web_page.evaluate("window.marker") == "kept"
    screenshot(web_page, request)
    assert_accessible(web_page)


def test_the_case_form_works_with_the_keyboard(web_page: Page, console: WebServer) -> None:
    number = _open(console, "keyboard case")
    sign_in(web_page, console, "agent1")
    web_page.goto(f"{console.url}/console/cases/{number}")
    web_page.focus("#action-assign summary")
    web_page.keyboard.press("Enter")  # opens the form
    web_page.keyboard.press("Tab")
    assert web_page.evaluate("document.activeElement.id") == "assign-engineer"
    web_page.keyboard.type("孙浩")
    web_page.keyboard.press("Enter")  # submits
    expect(web_page.locator(".notice")).to_have_text("Assigned.")
    expect(web_page.locator("#case-assignee")).to_have_text("孙浩")


def test_the_live_fragment_shows_a_breach_the_scheduler_fired(
    web_page: Page, console: WebServer, request: pytest.FixtureRequest, monkeypatch
) -> None:
    monkeypatch.setattr(web.console_queues, "LIVE_POLL_SECONDS", 1)
    number = _open(console, "will breach", priority="P1")
    sign_in(web_page, console, "manager1")
    web_page.goto(console.url + "/console/queues/breached")
    live = web_page.locator("#live")
    expect(live).to_be_visible()
    expect(web_page.locator("#live-escalations")).not_to_contain_text(number)
    later = console.clock() + timedelta(hours=2)
    console.now = later
    try:
        report = tick(console.runtime, now=later)
        assert report.clocks >= 1
        expect(web_page.locator("#live-escalations")).to_contain_text(number)
        expect(web_page.locator("#live-escalations li", has_text=number).first).to_contain_text(
            "breached"
        )
        expect(web_page.locator("#live-breached strong")).not_to_have_text("0")
        screenshot(web_page, request)
    finally:
        console.now = None
