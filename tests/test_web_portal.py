"""The customer portal in Debian's chromium (tests/browser_support.py): a customer user sees
only their company's cases, opens a request, comments and confirms closure in their own
name; another customer's case is a 404; the forms need their CSRF token; staff are refused."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from browser_support import WebServer, assert_accessible, screenshot, sign_in
from core.commands import Assign, Caller, FirstResponse, OpenCase, Resolve
from core.store import orm
from core.store.queries import get_case

HOSPITAL = "wdkn-hospital-2026"
SCHOOL = "rsyz-2026"
CASES: dict[str, str] = {}
# survey links are sent only when the desk knows its public address
WEB_SETTINGS = {"public_url": "http://desk.example.cn"}


def _open(server: WebServer, contract_id: str, summary: str) -> str:
    """A case opened straight through the desk (the test's setup, not what it checks)."""
    cmd = OpenCase(
        contract_id=contract_id,
        caller=Caller(name="Dr. Zhang", email="zhang@hospital.example.cn"),
        summary=summary,
        category="system_debugging",
        request_type="problem_report",
        priority="P3",
        channel="phone",
    )
    return server.runtime.desk.open_case(cmd, actor="test", now=server.clock()).number


def _resolve(server: WebServer, number: str) -> None:
    desk, now = server.runtime.desk, server.clock()
    desk.assign(number, Assign(engineer="于涛"), actor="test", now=now)
    desk.first_response(number, FirstResponse(agreed_content="remote check"), actor="t", now=now)
    desk.resolve(number, Resolve(resolution="switch port replaced"), actor="test", now=now)


@pytest.fixture(scope="module")
def portal(web_server: WebServer) -> WebServer:
    web_server.user("hospital1", "customer", customer="wdkn-hospital", name="Dr. Sun")
    web_server.user("school1", "customer", customer="rsyz", name="Teacher Song")
    web_server.user("agent1", "agent", name="Agent Wang")
    CASES["hospital"] = _open(web_server, HOSPITAL, "HIS printer queue stuck")
    CASES["resolved"] = _open(web_server, HOSPITAL, "Core switch port flapping")
    _resolve(web_server, CASES["resolved"])
    CASES["school"] = _open(web_server, SCHOOL, "Campus firewall slow")
    return web_server


def test_a_customer_sees_only_their_companys_cases(
    web_page: Page, portal: WebServer, request: pytest.FixtureRequest
) -> None:
    sign_in(web_page, portal, "hospital1")
    web_page.click("nav a[href='/portal']")
    expect(web_page.locator("h1")).to_have_text("Your cases")
    table = web_page.locator("#portal-cases")
    expect(table).to_contain_text(CASES["hospital"])
    expect(table).to_contain_text(CASES["resolved"])
    expect(table).not_to_contain_text(CASES["school"])
    expect(table).to_contain_text("Resolved: please confirm")
    screenshot(web_page, request)
    assert_accessible(web_page)


def test_a_customer_filters_the_list(web_page: Page, portal: WebServer) -> None:
    sign_in(web_page, portal, "hospital1")
    web_page.goto(portal.url + "/portal")
    web_page.fill("#f-q", "printer")
    web_page.click("#portal-filter button[type=submit]")
    table = web_page.locator("#portal-cases")
    expect(table).to_contain_text(CASES["hospital"])
    expect(table).not_to_contain_text(CASES["resolved"])
    web_page.fill("#f-q", "")
    web_page.select_option("#f-status", "resolved")
    web_page.click("#portal-filter button[type=submit]")
    expect(web_page).to_have_url(re.compile(r"/portal\?status=resolved"))
    expect(table).to_contain_text(CASES["resolved"])
    expect(table).not_to_contain_text(CASES["hospital"])
    assert_accessible(web_page)


def test_another_customers_case_is_a_404(web_page: Page, portal: WebServer) -> None:
    sign_in(web_page, portal, "hospital1")
    other = web_page.goto(f"{portal.url}/portal/cases/{CASES['school']}")
    assert other is not None and other.status == 404
    missing = web_page.goto(f"{portal.url}/portal/cases/MS-2026-999999")
    assert missing is not None and missing.status == 404
    assert web_page.locator("h1").inner_text() == "There is no such page."
    token = web_page.locator("form[action='/logout'] input[name=csrf_token]").input_value()
    posted = web_page.request.post(
        f"{portal.url}/portal/cases/{CASES['school']}/comments",
        form={"csrf_token": token, "text": "hello"},
    )
    assert posted.status == 404
    with portal.runtime.sessions() as session:
        events = get_case(session, CASES["school"]).events
    assert not any(e.kind == "note" for e in events)


def test_staff_are_refused_the_portal(web_page: Page, portal: WebServer) -> None:
    sign_in(web_page, portal, "agent1")
    response = web_page.goto(portal.url + "/portal")
    assert response is not None and response.status == 403
    assert web_page.locator("nav a[href='/portal']").count() == 0


def test_a_customer_opens_a_request(
    web_page: Page, portal: WebServer, request: pytest.FixtureRequest
) -> None:
    sign_in(web_page, portal, "hospital1")
    web_page.goto(portal.url + "/portal")
    web_page.click("a[href='/portal/new']")
    expect(web_page.locator("h1")).to_have_text("Open a request")
    assert web_page.locator("#contract option").all_inner_texts() == [
        t for t in web_page.locator("#contract option").all_inner_texts() if HOSPITAL in t
    ]
    web_page.fill("#summary", "Ward 3 nurse station PC cannot reach the HIS")
    web_page.fill("#description", "Since 09:00 the login screen times out.")
    web_page.select_option("#priority", "P3")
    web_page.fill("#caller-phone", "0631-8452305")
    screenshot(web_page, request, "form")
    assert_accessible(web_page)
    web_page.click("#new-request button[type=submit]")
    expect(web_page).to_have_url(re.compile(r"/portal/cases/[A-Z]+-\d{4}-\d+$"))
    number = web_page.url.rsplit("/", 1)[1]
    expect(web_page.locator("h1")).to_contain_text("Ward 3 nurse station")
    expect(web_page.locator("#clocks")).to_contain_text("first_response")
    with portal.runtime.sessions() as session:
        case = get_case(session, number)
    assert case.customer_id == "wdkn-hospital" and case.channel == "web"
    assert case.events[0].actor.startswith("Dr. Sun (user ")


def test_a_bad_request_is_shown_next_to_the_form(web_page: Page, portal: WebServer) -> None:
    sign_in(web_page, portal, "hospital1")
    web_page.goto(portal.url + "/portal/new")
    web_page.fill("#summary", " ")
    web_page.evaluate("document.querySelector('#summary').removeAttribute('required')")
    web_page.click("#new-request button[type=submit]")
    expect(web_page.locator("#form-error")).to_contain_text("$.summary")


def test_a_customer_comments_and_staff_see_it_as_customer_visible(
    web_page: Page, portal: WebServer, request: pytest.FixtureRequest
) -> None:
    sign_in(web_page, portal, "hospital1")
    web_page.goto(f"{portal.url}/portal/cases/{CASES['hospital']}")
    web_page.fill("#comment-text", "The printer is in room 204.")
    web_page.click("#comment-form button[type=submit]")
    expect(web_page.locator("#events")).to_contain_text("The printer is in room 204.")
    # event kinds read as words (core/event_labels.py), not as the stored kind
    expect(web_page.locator("#events strong[data-kind='opened']")).to_have_text("Case opened")
    expect(web_page.locator("#events strong[data-kind='note']").last).to_have_text("Note")
    screenshot(web_page, request)
    assert_accessible(web_page)
    with portal.runtime.sessions() as session:
        note = [e for e in get_case(session, CASES["hospital"]).events if e.kind == "note"]
    assert note[-1].visibility == "customer" and note[-1].actor.startswith("Dr. Sun (user ")


def test_the_portal_forms_need_their_csrf_token(web_page: Page, portal: WebServer) -> None:
    sign_in(web_page, portal, "hospital1")
    for path, form in (
        (f"/portal/cases/{CASES['hospital']}/comments", {"text": "no token"}),
        (f"/portal/cases/{CASES['resolved']}/close", {"checklist": "x"}),
        ("/portal/new", {"summary": "no token"}),
    ):
        refused = web_page.request.post(portal.url + path, form=form)
        assert refused.status == 403, path
        assert "CSRF token is missing" in refused.text()
    with portal.runtime.sessions() as session:
        assert get_case(session, CASES["resolved"]).status == "resolved"


def test_a_customer_confirms_closure_in_their_own_name(
    web_page: Page, portal: WebServer, request: pytest.FixtureRequest
) -> None:
    number = CASES["resolved"]
    sign_in(web_page, portal, "hospital1")
    web_page.goto(f"{portal.url}/portal/cases/{number}")
    form = web_page.locator("#close-form")
    expect(form).to_be_visible()
    form.locator("button[type=submit]").click()  # nothing ticked: the core refuses
    expect(web_page.locator("#form-error")).to_be_visible()
    boxes = web_page.locator("#close-form input[type=checkbox]")
    for i in range(boxes.count()):
        boxes.nth(i).check()
    fields = web_page.locator("#close-form input[name^='deliverable:']")
    for i in range(fields.count()):
        fields.nth(i).fill(f"HOSP-DOC-{i + 1}")
    screenshot(web_page, request, "form")
    web_page.locator("#close-form button[type=submit]").click()
    expect(web_page.locator("#case-status")).to_have_text("Closed")
    expect(web_page.locator("#events .event-closed")).to_contain_text("Confirmed by Dr. Sun at")
    screenshot(web_page, request)
    with portal.runtime.sessions() as session:
        case = get_case(session, number)
    closed = next(e for e in case.events if e.kind == "closed")
    assert closed.payload["confirmed_by"] == "Dr. Sun"
    assert closed.payload["entered_by"] == "customer"
    assert "confirmation_document" not in closed.payload
    assert closed.actor.startswith("Dr. Sun (user ")
    assert closed.payload["confirmed_at"]


def _survey_token(server: WebServer, number: str) -> str:
    """The token of the case's survey link, from its queued e-mail (the link is all we send)."""
    with server.runtime.sessions() as session:
        variables = session.scalars(
            select(orm.Notification.variables)
            .join(orm.Case, orm.Case.id == orm.Notification.case_id)
            .where(orm.Case.number == number, orm.Notification.template == "survey_request")
            .order_by(orm.Notification.id.desc())
        ).first()
    assert variables is not None, "closing sent a survey"
    link = str(variables["link"])
    assert link.startswith("http://desk.example.cn/survey/")
    return link.rsplit("/", 1)[1]


def test_the_survey_link_answers_once_and_then_says_used(
    web_page: Page, portal: WebServer, request: pytest.FixtureRequest
) -> None:
    number = CASES["resolved"]  # closed by the customer above
    token = _survey_token(portal, number)
    web_page.goto(f"{portal.url}/survey/{token}")  # no sign-in: the link is the credential
    expect(web_page.locator("#survey-case")).to_have_text(number)
    screenshot(web_page, request, "form")
    assert_accessible(web_page)
    web_page.check("#score-4")
    web_page.fill("#survey-comment", "Fixed the same night, thank you.")
    web_page.click("#survey-form button[type=submit]")
    expect(web_page.locator("#survey-thanks")).to_be_visible()
    with portal.runtime.sessions() as session:
        events = get_case(session, number).events
    answered = [e for e in events if e.payload.get("score") == 4]
    assert answered and answered[-1].visibility == "customer"
    web_page.goto(f"{portal.url}/survey/{token}")
    expect(web_page.locator("#survey-state")).to_contain_text("already used")
    assert web_page.locator("#survey-form").count() == 0
    screenshot(web_page, request)
    again = web_page.request.get(f"{portal.url}/survey/{token}")
    assert again.status == 200 and again.headers["referrer-policy"] == "no-referrer"


def test_a_survey_answer_needs_its_csrf_token_and_a_wrong_token_is_404(
    web_page: Page, portal: WebServer
) -> None:
    number = _open(portal, HOSPITAL, "Survey CSRF case")
    _resolve(portal, number)
    sign_in(web_page, portal, "hospital1")
    web_page.goto(f"{portal.url}/portal/cases/{number}")
    for box in web_page.locator("#close-form input[type=checkbox]").all():
        box.check()
    for i, field in enumerate(web_page.locator("#close-form input[name^='deliverable:']").all()):
        field.fill(f"DOC-{i}")
    web_page.locator("#close-form button[type=submit]").click()
    expect(web_page.locator("#case-status")).to_have_text("Closed")
    token = _survey_token(portal, number)
    refused = web_page.request.post(f"{portal.url}/survey/{token}", form={"score": "5"})
    assert refused.status == 403
    wrong = web_page.goto(f"{portal.url}/survey/{token[:-2]}xx")
    assert wrong is not None and wrong.status == 404
    with portal.runtime.sessions.begin() as session:  # the link's time runs out
        survey = session.scalars(
            select(orm.Survey).join(orm.Case).where(orm.Case.number == number)
        ).one()
        survey.expires_at = survey.case_closed_at - timedelta(seconds=1)
    web_page.goto(f"{portal.url}/survey/{token}")
    expect(web_page.locator("#survey-state")).to_contain_text("expired")


def test_the_customer_downloads_their_report(web_page: Page, portal: WebServer) -> None:
    sign_in(web_page, portal, "hospital1")
    web_page.goto(portal.url + "/portal")
    links = web_page.locator("#portal-reports a")
    expect(links.first).to_be_visible()
    html = links.filter(has_text="HTML").first.get_attribute("href")
    assert html is not None and f"/portal/reports/{HOSPITAL}?period=" in html
    page = web_page.request.get(portal.url + html)
    assert page.status == 200 and "text/html" in page.headers["content-type"]
    with web_page.expect_download() as download:
        links.filter(has_text="CSV").first.click()
    assert download.value.suggested_filename.endswith(".zip")
    other = web_page.request.get(f"{portal.url}/portal/reports/{SCHOOL}?period=2026Q3")
    assert other.status == 404


def test_the_customer_downloads_a_maintenance_document(web_page: Page, portal: WebServer) -> None:
    sign_in(web_page, portal, "hospital1")
    web_page.goto(portal.url + "/portal")
    links = web_page.locator("#portal-documents a")
    expect(links.first).to_be_visible()
    with web_page.expect_download() as download:
        links.filter(has_text="PDF").first.click()  # the maintenance plan
    assert download.value.suggested_filename == f"{HOSPITAL}-plan.pdf"
    with open(download.value.path(), "rb") as pdf:
        assert pdf.read(5) == b"%PDF-"
    other = web_page.request.get(f"{portal.url}/documents/{SCHOOL}/plan?format=html")
    assert other.status == 404


def test_a_survey_token_tried_too_often_is_a_429_page(web_page: Page, portal: WebServer) -> None:
    # last in the module: these misses count against the browser's address too (its limit is
    # higher than the token's, and the earlier survey tests missed once)
    guess = "not-a-real-token-" + "x" * 30
    for _ in range(portal.runtime.settings.survey_max_failures_per_token):
        assert web_page.request.get(f"{portal.url}/survey/{guess}").status == 404
    refused = web_page.goto(f"{portal.url}/survey/{guess}")
    assert refused is not None and refused.status == 429
    assert int(refused.headers["retry-after"]) == portal.runtime.settings.survey_window_seconds
    assert refused.headers["referrer-policy"] == "no-referrer"
    expect(web_page.locator("h1")).to_have_text("Too many attempts on survey links from here.")
    expect(web_page.locator(".detail")).to_have_text("Try again in 15 minutes.")
