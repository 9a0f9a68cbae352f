"""The knowledge base on the console, without a browser, on both back ends (web/case_knowledge.py;
the browser journey is in test_web_knowledge_browser.py): the case page shows the past fixes of
the case's device when it opens, the search box's route answers htmx with the results alone
and a plain GET with the whole case page, results link to their case or article, and a
customer reaches none of it."""

from __future__ import annotations

import re

from test_api_cases import CASES, call, rescue_body
from test_knowledge_api import FINDING, FIX, resolved_case

from conftest import Api
from core.store.users import create_user, get_user
from core.store.web_sessions import start_session
from web.auth import SESSION_COOKIE, session_policy

HX = {"HX-Request": "true", "HX-Target": "kb-results"}


def sign_in(api: Api, login: str, *roles: str, customer: str | None = None) -> None:
    """A web user and a session cookie on the test client (what /login would set)."""
    with api.runtime.sessions.begin() as session:
        create_user(session, login=login, display_name=login, password="x" * 12, roles=roles,
                    customer_id=customer, now=api.now)  # fmt: skip
        user = get_user(session, login)
        sid = start_session(session, user, api.now, session_policy(api.runtime.settings))
    api.client.cookies.clear()
    api.client.cookies.set(SESSION_COOKIE, sid)


def test_the_case_page_shows_past_fixes_and_the_search_box_finds_them(api: Api) -> None:
    staff = api.headers("agent", "engineer")
    old = resolved_case(api, staff, "交换机上联端口闪断")
    new = call(api, "POST", CASES, staff, json=rescue_body(api, summary="交换机端口又在闪断"),
               expect=201).json()["number"]  # fmt: skip
    sign_in(api, "yu", "engineer")
    page = api.client.get(f"/console/cases/{new}", headers={"Accept-Language": "en"})
    assert page.status_code == 200
    related = page.text.split('id="kb-related"')[1].split("</ol>")[0]
    assert f'href="/console/cases/{old}"' in related and FIX in related and FINDING in related
    assert 'action="/console/cases/' + new + '/knowledge"' in page.text
    # htmx: the results alone, each linking to its case
    fragment = api.client.get(f"/console/cases/{new}/knowledge", params={"q": "光模块"},
                              headers=HX)  # fmt: skip
    assert fragment.status_code == 200
    assert fragment.text.lstrip().startswith('<div id="kb-results"')
    assert "<html" not in fragment.text and f'href="/console/cases/{old}"' in fragment.text
    assert FIX in fragment.text
    # no script: the plain GET renders the case page with the results in it
    full = api.client.get(f"/console/cases/{new}/knowledge", params={"q": "光模块"})
    assert full.status_code == 200 and "<html" in full.text and new in full.text
    assert 'value="光模块"' in full.text and FIX in full.text.split('id="kb-results"')[1]
    nothing = api.client.get(f"/console/cases/{new}/knowledge", params={"q": "投影仪"},
                             headers={**HX, "Accept-Language": "en"})  # fmt: skip
    assert "Nothing found for “投影仪”." in nothing.text
    # a query longer than any summary is refused as bad input, not a server error
    long = api.client.get(f"/console/cases/{new}/knowledge", params={"q": "x" * 501})
    assert long.status_code == 400 and "Traceback" not in long.text


def test_an_article_result_links_to_its_page(api: Api) -> None:
    staff = api.headers("agent", "engineer")
    body = {
        "title": "H3C 交换机端口闪断排查",
        "fix": "检查光模块收光功率",
        "body": "步骤一\n步骤二",
    }
    article = call(api, "POST", "/api/v1/knowledge", staff, json=body, expect=201).json()
    opened = call(api, "POST", CASES, staff, json=rescue_body(api, summary="端口闪断"), expect=201)
    number = opened.json()["number"]
    sign_in(api, "yu", "engineer")
    found = api.client.get(f"/console/cases/{number}/knowledge", params={"q": "闪断"}, headers=HX)
    assert f'href="/console/knowledge/{article["id"]}"' in found.text
    shown = api.client.get(f"/console/knowledge/{article['id']}", headers={"Accept-Language": "en"})
    assert shown.status_code == 200
    assert "H3C 交换机端口闪断排查" in shown.text and "staff only" in shown.text
    assert re.search(r"步骤一\s*步骤二", shown.text)
    assert api.client.get("/console/knowledge/999999").status_code == 404


def test_customers_and_unknown_cases_do_not_reach_the_knowledge_routes(api: Api) -> None:
    staff = api.headers("agent", "engineer")
    number = resolved_case(api, staff, "交换机上联端口闪断")
    entry = call(api, "GET", "/api/v1/knowledge", staff, params={"q": "闪断"}).json()[0]
    sign_in(api, "hospital1", "customer", customer="wdkn-hospital")
    for path in (f"/console/cases/{number}/knowledge?q=闪断", f"/console/knowledge/{entry['id']}"):
        refused = api.client.get(path, headers=HX)
        assert refused.status_code == 403, path
        assert FIX not in refused.text
    sign_in(api, "yu", "engineer")
    missing = api.client.get("/console/cases/ZZ-2026-999999/knowledge", params={"q": "闪断"})
    assert missing.status_code == 404
    assert api.client.get("/console/cases/not a number/knowledge").status_code == 404
    # an admin is staff but not among the people working cases: no knowledge part, no route
    sign_in(api, "root", "admin")
    page = api.client.get(f"/console/cases/{number}")
    assert page.status_code == 200 and 'id="kb"' not in page.text
    assert api.client.get(f"/console/cases/{number}/knowledge").status_code == 403
