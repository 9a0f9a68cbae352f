"""The portal's case list without a browser, on both back ends (web/portal.py; the browser
journey is test_web_portal.py): keyset pages as GET /api/v1/cases (the same cursor), a status
filter (open, awaiting confirmation, closed) and text in the summary or the case number,
kept across pages; only the customer's own cases, whatever the filter or cursor."""

from __future__ import annotations

import re
from html import unescape

import pytest
from test_api_access import CUSTOMER_A, school_case
from test_api_cases import CASES, HOSPITAL, call, open_body

import web.portal
from conftest import Api
from core.service_types import effective_service_type
from core.store.users import create_user, get_user
from core.store.web_sessions import start_session
from web.auth import SESSION_COOKIE, session_policy

EN = {"Accept-Language": "en"}


def sign_in(api: Api, login: str, *roles: str, customer: str | None = None) -> None:
    """A web user and a session cookie on the test client (what /login would set)."""
    with api.runtime.sessions.begin() as session:
        create_user(session, login=login, display_name=login, password="x" * 12, roles=roles,
                    customer_id=customer, now=api.now)  # fmt: skip
        user = get_user(session, login)
        sid = start_session(session, user, api.now, session_policy(api.runtime.settings))
    api.client.cookies.clear()
    api.client.cookies.set(SESSION_COOKIE, sid)


def listed(html: str) -> list[str]:
    """The case numbers of the page's table, in order."""
    table = (
        html.split('id="portal-cases"')[1].split("</table>")[0] if "portal-cases" in html else ""
    )
    return re.findall(r'href="/portal/cases/([^"]+)"', table)


def next_link(html: str) -> str | None:
    found = re.search(r'<a href="([^"]+)" rel="next"', html)
    return unescape(found.group(1)) if found else None


def walk(api: Api, url: str) -> list[list[str]]:
    """Every page from ``url`` on, following "Next page"."""
    pages = []
    next_url: str | None = url
    while next_url is not None:
        shown = api.client.get(next_url, headers=EN)
        assert shown.status_code == 200, shown.text
        pages.append(listed(shown.text))
        next_url = next_link(shown.text)
    return pages


@pytest.fixture
def cases(api: Api) -> dict[str, list[str]]:
    """Five cases of the hospital (two about the printer; one resolved, one closed) and one
    of the school."""
    agent = api.headers("agent")
    summaries = ["HIS printer jammed", "Ward 3 PC offline", "Core switch port flapping",
                 "Printer driver after the update", "Wi-Fi in the lobby"]  # fmt: skip
    numbers = [call(api, "POST", CASES, agent, json=open_body(api, summary=s), expect=201)
               .json()["number"] for s in summaries]  # fmt: skip
    for number in numbers[2:4]:
        url = f"{CASES}/{number}"
        call(api, "POST", f"{url}/assign", agent, json={"engineer": "yu-tao"}, expect=200)
        call(api, "POST", f"{url}/resolve", agent, json={"resolution": "done"}, expect=200)
    service = effective_service_type(
        "consulting", api.runtime.contracts.get(HOSPITAL).contract.service_types
    )
    close = {
        "confirmed_by": "Dr. Sun",
        "confirmed_at": api.now.isoformat(),
        "checklist": list(service.checklist_ids),
        "deliverables": {d: f"DMS-{i}" for i, d in enumerate(service.deliverable_ids)},
    }
    customer = api.headers("customer", customer=CUSTOMER_A)
    call(api, "POST", f"{CASES}/{numbers[3]}/close", customer, json=close, expect=200)
    school = school_case(api)["number"]
    newest_first = list(reversed(numbers))
    return {
        "all": newest_first,
        "open": [n for n in newest_first if n not in numbers[2:4]],
        "resolved": [numbers[2]],
        "closed": [numbers[3]],
        "printer": [numbers[3], numbers[0]],
        "school": [school],
    }


def test_the_list_is_paged_by_the_keyset_cursor(
    api: Api, cases: dict[str, list[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(web.portal, "PAGE_SIZE", 2)
    sign_in(api, "sun", "customer", customer=CUSTOMER_A)
    pages = walk(api, "/portal")
    assert pages == [cases["all"][0:2], cases["all"][2:4], cases["all"][4:]]
    # the cursor is the API's: a page of GET /api/v1/cases continues on the portal
    token = api.headers("customer", customer=CUSTOMER_A)
    first = call(api, "GET", CASES, token, params={"limit": 2}, expect=200).json()
    shown = api.client.get("/portal", params={"cursor": first["next_cursor"]}, headers=EN)
    assert listed(shown.text) == cases["all"][2:4]
    assert 'href="/portal">First page</a>' in shown.text
    first_page = api.client.get("/portal", headers=EN).text
    assert "First page" not in first_page
    # a cursor this server never handed out is a 400 page, not a 500
    bad = api.client.get("/portal", params={"cursor": "garbage"}, headers=EN)
    assert bad.status_code == 400 and "Traceback" not in bad.text


def test_filters_narrow_the_list_and_stay_on_every_page(
    api: Api, cases: dict[str, list[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    sign_in(api, "sun", "customer", customer=CUSTOMER_A)
    for status in ("open", "resolved", "closed"):
        shown = api.client.get("/portal", params={"status": status}, headers=EN)
        assert listed(shown.text) == cases[status], status
        assert f'<option value="{status}" selected>' in shown.text
    assert listed(api.client.get("/portal", params={"q": "printer"}).text) == cases["printer"]
    assert listed(api.client.get("/portal", params={"q": " PRINTER "}).text) == cases["printer"]
    number = cases["all"][1]
    assert listed(api.client.get("/portal", params={"q": number[-6:]}).text) == [number]
    both = api.client.get("/portal", params={"q": "printer", "status": "closed"})
    assert listed(both.text) == cases["closed"]
    assert 'value="printer"' in both.text
    nothing = api.client.get("/portal", params={"q": "projector"}, headers=EN)
    assert listed(nothing.text) == [] and "No case matches the filter." in nothing.text
    # an unknown status is no filter; the pages keep the filter in their links
    assert listed(api.client.get("/portal", params={"status": "weird"}).text) == cases["all"]
    monkeypatch.setattr(web.portal, "PAGE_SIZE", 1)
    pages = walk(api, "/portal?q=printer")
    assert pages == [[n] for n in cases["printer"]]
    pages = walk(api, "/portal?status=open")
    assert pages == [[n] for n in cases["open"]]


def test_another_customers_cases_never_show(api: Api, cases: dict[str, list[str]]) -> None:
    sign_in(api, "sun", "customer", customer=CUSTOMER_A)
    school = cases["school"][0]
    for params in ({}, {"status": "open"}):
        assert school not in api.client.get("/portal", params=params).text, params
    for text in (school, "unreachable", school[-6:]):  # its number, its summary: no match
        shown = api.client.get("/portal", params={"q": text})
        assert listed(shown.text) == [] and 'id="portal-no-match"' in shown.text, text
    # the cursor is only a position: it cannot widen the list to another customer
    token = api.headers("agent")
    everything = call(api, "GET", CASES, token, params={"limit": 1}, expect=200).json()
    shown = api.client.get("/portal", params={"cursor": everything["next_cursor"]})
    assert school not in shown.text and set(listed(shown.text)) <= set(cases["all"])


def test_bad_query_text_is_a_400_page(api: Api, cases: dict[str, list[str]]) -> None:
    sign_in(api, "sun", "customer", customer=CUSTOMER_A)
    for params in ({"q": "x\x00y"}, {"q": "x" * 501}):
        refused = api.client.get("/portal", params=params)
        assert refused.status_code == 400 and "Traceback" not in refused.text


def test_the_messages_exist_in_both_languages(api: Api, cases: dict[str, list[str]]) -> None:
    sign_in(api, "sun", "customer", customer=CUSTOMER_A)
    zh = api.client.get("/portal", params={"q": "projector"}, headers={"Accept-Language": "zh"})
    assert "没有符合条件的服务单。" in zh.text and "已解决，待您确认" in zh.text
    en = api.client.get("/portal", headers=EN)
    assert "Resolved: awaiting your confirmation" in en.text and 'id="portal-filter"' in en.text
