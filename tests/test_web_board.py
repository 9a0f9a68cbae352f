"""The managers' board in Debian's chromium (tests/browser_support.py): figures, charts, a
breach the scheduler fires while the page is open, the dead-letter retry; and the per-process
cache of the board's figures."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from browser_support import WebServer, assert_accessible, screenshot, sign_in
from core.commands import Caller, OpenCase
from core.jobs.scheduler import tick
from core.store import orm
from core.store.board import Board
from web.board import BoardCache

HOSPITAL = "wdkn-hospital-2026"
# no cache and a fast poll: a breach shows within a second or two of the scheduler's tick
WEB_SETTINGS = {
    "board_cache_seconds": 0,
    "board_poll_seconds": 1,
    "web_session_seconds": 30 * 86400,
    "web_idle_seconds": 30 * 86400,
}
# a Wednesday 10:00 in Shanghai, mid-month: every deadline of the day falls in this month
NOW = datetime(2026, 12, 9, 2, 0, tzinfo=UTC)


def _open(server: WebServer, summary: str, priority: str = "P1") -> str:
    cmd = OpenCase(
        contract_id=HOSPITAL,
        caller=Caller(name="Dr. Zhang"),
        summary=summary,
        category="system_debugging",
        request_type="problem_report",
        priority=priority,  # type: ignore[arg-type]
        channel="phone",
    )
    return server.runtime.desk.open_case(cmd, actor="test", now=server.clock()).number


@pytest.fixture(scope="module")
def managers(web_server: WebServer) -> WebServer:
    web_server.now = NOW
    web_server.user("manager1", "service_manager", name="刘洋")
    web_server.user("agent1", "agent", name="Agent Wang")
    web_server.user("hospital1", "customer", customer="wdkn-hospital", name="Dr. Sun")
    _open(web_server, "Ward PCs slow", priority="P3")
    return web_server


def test_the_board_shows_open_cases_and_charts(
    web_page: Page, managers: WebServer, request: pytest.FixtureRequest
) -> None:
    sign_in(web_page, managers, "manager1")
    web_page.click("nav a[href='/board']")
    expect(web_page.locator("h1")).to_have_text("Managers' board")
    expect(web_page.locator("#board-open")).to_contain_text("P3")
    assert web_page.locator("svg[role=img]").count() >= 1  # server-made charts, no script
    expect(web_page.locator("#board-no-breaches")).to_be_visible()
    screenshot(web_page, request)
    assert_accessible(web_page)


def test_agents_and_customers_are_refused_the_board(web_page: Page, managers: WebServer) -> None:
    for login in ("agent1", "hospital1"):
        sign_in(web_page, managers, login)
        assert web_page.locator("nav a[href='/board']").count() == 0
        response = web_page.goto(managers.url + "/board")
        assert response is not None and response.status == 403, login
        web_page.context.clear_cookies()


def test_a_breach_the_scheduler_fires_appears_while_the_page_is_open(
    web_page: Page, managers: WebServer, request: pytest.FixtureRequest
) -> None:
    number = _open(managers, "HIS application server down", priority="P1")
    sign_in(web_page, managers, "manager1")
    web_page.goto(managers.url + "/board")
    expect(web_page.locator("#board-no-breaches")).to_be_visible()
    before = web_page.locator("#board-as-of").inner_text()
    # the scheduler runs later than the page's clock: it fires the breach, the page polls
    report = tick(managers.runtime, now=NOW + timedelta(days=1))
    assert report.breaches >= 1
    breaches = web_page.locator("#board-breaches")
    expect(breaches).to_contain_text("wdkn-hospital")
    expect(web_page.locator("#board-compliance")).to_contain_text("first_response")
    assert web_page.url.endswith("/board")  # no reload: htmx swapped the figures in
    assert web_page.locator("#board-as-of").inner_text() == before  # the page's own clock
    with managers.runtime.sessions() as session:
        clock = session.scalars(
            select(orm.SlaClock)
            .join(orm.Case)
            .where(orm.Case.number == number, orm.SlaClock.kind == "first_response")
        ).one()
        assert clock.breached_at is not None
    screenshot(web_page, request)


def test_the_dead_letter_retry_button_requeues(
    web_page: Page, managers: WebServer, request: pytest.FixtureRequest
) -> None:
    with managers.runtime.sessions.begin() as session:
        row = session.scalars(select(orm.Notification).order_by(orm.Notification.id)).first()
        assert row is not None, "the breach test's tick queued notifications"
        row.state, row.attempts, row.last_error = "dead", 5, "smtp: 550 mailbox unavailable"
        dead_id = row.id
    sign_in(web_page, managers, "manager1")
    web_page.goto(managers.url + "/board")
    expect(web_page.locator("#board-dead")).to_contain_text("550 mailbox unavailable")
    screenshot(web_page, request, "dead")
    token = web_page.locator("form[action='/logout'] input[name=csrf_token]").input_value()
    refused = web_page.request.post(f"{managers.url}/board/dead-letters/{dead_id}/retry")
    assert refused.status == 403  # no CSRF token
    assert token
    web_page.click(f"form[action='/board/dead-letters/{dead_id}/retry'] button")
    expect(web_page).to_have_url(re.compile(rf"/board\?retried={dead_id}$"))
    expect(web_page.locator("#board-retried")).to_contain_text(str(dead_id))
    with managers.runtime.sessions() as session:
        again = session.get(orm.Notification, dead_id)
        assert again is not None and again.state == "queued" and again.attempts == 0
        kinds = session.scalars(
            select(orm.CaseEvent.kind).where(orm.CaseEvent.case_id == again.case_id)
        ).all()
    assert "notification_retried" in kinds
    screenshot(web_page, request)
    retried_again = web_page.request.post(
        f"{managers.url}/board/dead-letters/{dead_id}/retry", form={"csrf_token": token}
    )
    assert retried_again.status == 409  # queued, not dead: the core's conflict, as a page


def _board(n: int) -> Board:
    now = NOW + timedelta(seconds=n)
    return Board(
        now=now,
        month_start=now,
        month_end=now,
        open_cases=[],
        compliance=[],
        breaches_by_customer=[],
        dead_letters=n,
        newest_dead_letters=[],
        horizon_warnings=[],
    )


def test_the_board_cache_keeps_figures_for_its_seconds_only() -> None:
    ticks = iter(range(1, 100))
    elapsed = [0.0]
    cache = BoardCache(clock=lambda: elapsed[0])
    compute = lambda: _board(next(ticks))  # noqa: E731
    assert cache.get(30, compute).dead_letters == 1
    elapsed[0] = 29.9
    assert cache.get(30, compute).dead_letters == 1  # kept
    elapsed[0] = 30.0
    assert cache.get(30, compute).dead_letters == 2  # expired: computed again
    cache.clear()
    assert cache.get(30, compute).dead_letters == 3
    assert cache.get(0, compute).dead_letters == 3  # the entry made with 30 s still holds
    cache.clear()
    assert cache.get(0, compute).dead_letters == 4
    assert cache.get(0, compute).dead_letters == 5  # 0: never kept
