"""Sign-in, sessions, CSRF, rate limits, languages and role checks of the web pages, in
Debian's chromium against the app under uvicorn (tests/browser_support.py)."""

from __future__ import annotations

import re

import httpx
import pytest
from playwright.sync_api import Page, expect

from browser_support import (
    SCREENSHOTS,
    WebServer,
    assert_accessible,
    screenshot,
    sign_in,
)

WEB_SETTINGS = {"login_max_failures": 3, "login_max_failures_per_address": 50}


@pytest.fixture(scope="module")
def users(web_server: WebServer) -> WebServer:
    web_server.user("agent1", "agent", name="Agent Wang")
    web_server.user("admin1", "admin", name="Admin Zhao")
    web_server.user("hospital1", "customer", customer="wdkn-hospital", name="Dr. Sun")
    web_server.user("locked1", "agent")
    web_server.user("keys1", "engineer", name="Engineer Li")
    return web_server


def test_root_sends_a_stranger_to_sign_in(web_page: Page, users: WebServer, request) -> None:
    web_page.goto(users.url + "/")
    expect(web_page).to_have_url(re.compile(r"/login$"))
    expect(web_page.locator("h1")).to_have_text("Sign in")
    assert web_page.locator("meta[name=viewport]").count() == 1
    screenshot(web_page, request)
    assert_accessible(web_page)


def test_sign_in_reaches_the_console_home(web_page: Page, users: WebServer, request) -> None:
    sign_in(web_page, users, "agent1")
    expect(web_page).to_have_url(re.compile(r"/console$"))
    expect(web_page.locator("h1")).to_have_text("Console")
    expect(web_page.locator(".who")).to_contain_text("Agent Wang")
    expect(web_page.locator("nav a[href='/console/queues']")).to_be_visible()
    assert web_page.locator("nav a[href='/admin/users']").count() == 0  # not an admin
    path = screenshot(web_page, request)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert_accessible(web_page)


def test_htmx_is_served_locally_and_nothing_else_is_fetched(
    web_page: Page, users: WebServer
) -> None:
    hosts: set[str] = set()
    web_page.on("request", lambda r: hosts.add(r.url.split("/")[2]))
    sign_in(web_page, users, "agent1")
    assert web_page.evaluate("typeof htmx") == "object"
    assert hosts == {users.url.split("/")[2]}


def test_a_wrong_password_and_an_unknown_login_look_alike(
    web_page: Page, users: WebServer, request
) -> None:
    sign_in(web_page, users, "keys1", "not the password")
    wrong = web_page.locator("#login-error").inner_text()
    screenshot(web_page, request)
    sign_in(web_page, users, "nobody-here", "not the password")
    unknown = web_page.locator("#login-error").inner_text()
    assert wrong == unknown == "The login or password is wrong."
    expect(web_page).to_have_url(re.compile(r"/login$"))


def test_sign_in_is_refused_for_a_while_after_too_many_failures(
    web_page: Page, users: WebServer, request
) -> None:
    for _ in range(WEB_SETTINGS["login_max_failures"]):
        sign_in(web_page, users, "locked1", "wrong password!")
        expect(web_page.locator("#login-error")).to_have_text("The login or password is wrong.")
    sign_in(web_page, users, "locked1")  # the right password, too late
    expect(web_page.locator("#login-error")).to_have_text(
        re.compile(r"Too many failed sign-ins\. Try again in 1[45] minutes\.")
    )
    screenshot(web_page, request)
    sign_in(web_page, users, "agent1")  # another login from the same address still works
    expect(web_page).to_have_url(re.compile(r"/console$"))


def test_a_post_without_its_csrf_token_is_refused(users: WebServer) -> None:
    with httpx.Client(base_url=users.url, headers={"Accept-Language": "en"}) as client:
        client.get("/login")  # the signed-out CSRF cookie
        refused = client.post("/login", data={"login": "agent1", "password": "x" * 12})
        assert refused.status_code == 403
        assert "security token" in refused.text and "text/html" in refused.headers["content-type"]
        wrong = client.post(
            "/login", data={"login": "agent1", "password": "x", "csrf_token": "forged"}
        )
        assert wrong.status_code == 403


def test_a_signed_in_form_needs_the_sessions_token(web_page: Page, users: WebServer) -> None:
    sign_in(web_page, users, "agent1")
    token = web_page.locator("form[action='/logout'] input[name=csrf_token]").input_value()
    refused = web_page.request.post(users.url + "/logout", form={"csrf_token": "x" + token})
    assert refused.status == 403
    web_page.goto(users.url + "/console")
    expect(web_page).to_have_url(re.compile(r"/console$"))  # still signed in


def test_sign_out_ends_the_session_on_the_server(web_page: Page, users: WebServer) -> None:
    sign_in(web_page, users, "agent1")
    cookie = next(c for c in web_page.context.cookies() if c["name"] == "ct_session")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Lax"
    web_page.click("form[action='/logout'] button")
    expect(web_page).to_have_url(re.compile(r"/login$"))
    web_page.goto(users.url + "/console")
    expect(web_page).to_have_url(re.compile(r"/login\?next=/console$"))
    replayed = httpx.get(
        users.url + "/console", cookies={"ct_session": cookie["value"]}, follow_redirects=False
    )
    assert replayed.status_code == 303 and replayed.headers["location"].startswith("/login")


def test_the_language_switch_overrides_accept_language(
    web_page: Page, users: WebServer, request
) -> None:
    web_page.goto(users.url + "/login")
    expect(web_page.locator("h1")).to_have_text("Sign in")  # Accept-Language: en-US
    web_page.click("a[lang='zh-CN']")
    expect(web_page.locator("h1")).to_have_text("登录")
    expect(web_page.locator("html")).to_have_attribute("lang", "zh-CN")
    sign_in(web_page, users, "agent1")
    expect(web_page.locator("h1")).to_have_text("工作台")  # the cookie stays
    screenshot(web_page, request)
    assert_accessible(web_page)
    web_page.click("a[lang='en']")
    expect(web_page.locator("h1")).to_have_text("Console")
    expect(web_page).to_have_url(re.compile(r"/console$"))


def test_a_chinese_browser_gets_chinese_pages(browser, users: WebServer) -> None:
    context = browser.new_context(locale="zh-CN")
    try:
        page = context.new_page()
        page.goto(users.url + "/login")
        expect(page.locator("h1")).to_have_text("登录")
    finally:
        context.close()


def test_a_customer_cannot_open_a_staff_page(web_page: Page, users: WebServer, request) -> None:
    sign_in(web_page, users, "hospital1")
    expect(web_page.locator(".who")).to_contain_text("Dr. Sun")
    assert web_page.locator("nav a[href='/console/queues']").count() == 0
    response = web_page.goto(users.url + "/admin/users")
    assert response is not None and response.status == 403
    expect(web_page.locator("h1")).to_have_text("You may not open this page.")
    screenshot(web_page, request)


def test_an_admin_creates_a_user_who_then_signs_in(web_page: Page, users: WebServer) -> None:
    sign_in(web_page, users, "admin1")
    web_page.click("nav a[href='/admin/users']")
    web_page.fill("#new-login", "liuyang")
    web_page.fill("#new-name", "刘洋")
    web_page.fill("#new-password", "manager-pass-1")
    web_page.fill("#new-roles", "service_manager")
    web_page.click("form[action='/admin/users'] button")
    expect(web_page.locator(".notice")).to_contain_text("liuyang")
    assert_accessible(web_page)
    web_page.fill("#new-login", "bad")
    web_page.fill("#new-name", "Bad")
    web_page.fill("#new-password", "another-pass-1")
    web_page.fill("#new-roles", "customer")  # a customer user needs its customer
    web_page.click("form[action='/admin/users'] button")
    expect(web_page.locator("[role=alert]")).to_contain_text("bound to a customer")
    web_page.click("form[action='/logout'] button")
    sign_in(web_page, users, "liuyang", "manager-pass-1")
    expect(web_page.locator(".who")).to_contain_text("刘洋")


def test_signing_in_with_the_keyboard_only(web_page: Page, users: WebServer) -> None:
    web_page.goto(users.url + "/login")
    assert web_page.evaluate("document.activeElement.id") == "login"  # autofocus
    web_page.keyboard.type("agent1")
    web_page.keyboard.press("Tab")
    assert web_page.evaluate("document.activeElement.id") == "password"
    web_page.keyboard.type(users.passwords["agent1"])
    web_page.keyboard.press("Tab")
    assert web_page.evaluate("document.activeElement.type") == "submit"
    web_page.keyboard.press("Enter")
    expect(web_page).to_have_url(re.compile(r"/console$"))


def test_screenshots_are_written() -> None:
    shots = {p.name for p in SCREENSHOTS.glob("*.png")}
    assert "test_root_sends_a_stranger_to_sign_in.png" in shots
    assert "test_a_customer_cannot_open_a_staff_page.png" in shots


def test_sign_in_returns_to_the_page_asked_for(web_page: Page, users: WebServer) -> None:
    web_page.goto(users.url + "/admin/users")
    expect(web_page).to_have_url(re.compile(r"/login\?next=/admin/users$"))
    web_page.fill("#login", "admin1")
    web_page.fill("#password", users.passwords["admin1"])
    web_page.click("form[action='/login'] button")
    expect(web_page).to_have_url(re.compile(r"/admin/users$"))
    web_page.goto(users.url + "/login?next=//evil.example/")
    expect(web_page).to_have_url(re.compile(r"/$|/console$"))  # signed in: never off-site


def test_htmx_requests_carry_the_token_in_a_header(web_page: Page, users: WebServer) -> None:
    sign_in(web_page, users, "agent1")
    token = web_page.locator("form[action='/logout'] input[name=csrf_token]").input_value()
    sent = web_page.evaluate(
        "t => fetch('/logout', {method: 'POST', headers: {'X-CSRF-Token': t}}).then(r => r.url)",
        token,
    )
    assert sent.endswith("/login")
    web_page.goto(users.url + "/console")
    expect(web_page).to_have_url(re.compile(r"/login\?next=/console$"))


def test_the_pages_fit_a_phone(web_page: Page, users: WebServer, request) -> None:
    web_page.set_viewport_size({"width": 375, "height": 740})
    sign_in(web_page, users, "admin1")
    for path in ("/console", "/admin/users", "/login"):
        web_page.goto(users.url + path)
        assert web_page.evaluate("document.documentElement.scrollWidth") <= 375, path
    web_page.goto(users.url + "/console")
    screenshot(web_page, request)
