"""The maintenance documents on the pages (web/documents.py): the portal offers the customer's
own contract's documents as PDF and HTML downloads under the rules of GET /api/v1/documents
(another contract is a 404), and the case page links a case's implementation document when
the case has a change plan, for the roles that may read it. Requests with a signed-in session
over the test client, on both back ends (the browser download: tests/test_web_portal.py)."""

from __future__ import annotations

import re

import pytest
from documents_story import CISCO, PORT, Story, tell

from conftest import Api
from core.store.users import create_user

PASSWORD = "correct horse battery"
OTHER = "rsyz-2026"  # another customer's contract


@pytest.fixture
def story(api: Api) -> Story:
    return tell(api.runtime)


def sign_in(api: Api, login: str, *roles: str, customer: str | None = None) -> None:
    """A user made now, signed in through the form (the client keeps the session cookie)."""
    with api.runtime.sessions.begin() as session:
        create_user(
            session,
            login=login,
            display_name=login,
            password=PASSWORD,
            roles=roles,
            customer_id=customer,
            now=api.now,
        )
    api.client.cookies.clear()
    form = api.client.get("/login").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', form)
    assert token is not None
    fields = {"login": login, "password": PASSWORD, "csrf_token": token.group(1)}
    signed = api.client.post("/login", data=fields, follow_redirects=False)
    assert signed.status_code == 303, signed.text


def test_the_portal_offers_the_customers_own_documents(api: Api, story: Story) -> None:
    sign_in(api, "ju", "customer", customer="sdgw")
    portal = api.client.get("/portal")
    assert portal.status_code == 200
    listed = re.search(r'<ul id="portal-documents".*?</ul>', portal.text, re.S)
    assert listed is not None
    hrefs = re.findall(r'href="([^"]+)"', listed.group(0))
    assert all(h.startswith(f"/documents/{PORT}/") for h in hrefs), hrefs
    assert f"/documents/{PORT}/plan?format=pdf" in hrefs
    assert f"/documents/{PORT}/summary?period=2026Q3&amp;format=html" in hrefs  # last quarter
    assert f"/documents/{PORT}/summary?period=contract&amp;format=pdf" in hrefs
    assert f"/documents/{PORT}/assessment?period=contract&amp;format=pdf" in hrefs
    assert f"/documents/{PORT}/manual?model=Cisco+Catalyst+9300-48P-E&amp;format=pdf" in hrefs
    assert "合同期末阶段报告" in api.client.get("/portal", headers={"Accept-Language": "zh"}).text

    stage = api.client.get(f"/documents/{PORT}/summary", params={"period": "contract"})
    assert stage.status_code == 200 and stage.headers["content-type"] == "application/pdf"
    assert stage.content.startswith(b"%PDF-")
    disposition = stage.headers["content-disposition"]
    assert disposition == f'attachment; filename="{PORT}-summary-contract.pdf"'
    manual = api.client.get(f"/documents/{PORT}/manual", params={"model": CISCO, "format": "html"})
    assert manual.status_code == 200 and "维护手册模板" in manual.text
    # the customer's own case with a change plan: its implementation report, as in the API
    report = api.client.get(
        f"/documents/{PORT}/implementation", params={"case": story.upgrade, "format": "html"}
    )
    assert report.status_code == 200 and "实施报告" in report.text


def test_another_customers_contract_is_a_404_and_staff_read_every_contracts(
    api: Api, story: Story
) -> None:
    sign_in(api, "ju", "customer", customer="sdgw")
    for url in (f"/documents/{OTHER}/plan", f"/documents/{OTHER}/summary?format=html"):
        other = api.client.get(url)
        assert other.status_code == 404 and "text/html" in other.headers["content-type"]
    assert api.client.get("/documents/nowhere/plan").status_code == 404
    bad = api.client.get(f"/documents/{PORT}/summary", params={"period": "2026Q5"})
    assert bad.status_code == 400
    sign_in(api, "eng", "engineer")
    assert api.client.get(f"/documents/{OTHER}/plan?format=html").status_code == 200
    sign_in(api, "agent", "agent")
    assert api.client.get(f"/documents/{PORT}/plan?format=html").status_code == 403


def test_the_case_page_links_the_implementation_document_of_a_case_with_a_change_plan(
    api: Api, story: Story
) -> None:
    sign_in(api, "expert", "expert_group")
    page = api.client.get(f"/console/cases/{story.upgrade}")
    assert page.status_code == 200
    link = f"/documents/{PORT}/implementation?case={story.upgrade}&amp;format=pdf"
    assert 'id="case-documents"' in page.text and link in page.text
    pdf = api.client.get(link.replace("&amp;", "&"))
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF-")
    assert 'id="case-documents"' not in api.client.get(f"/console/cases/{story.repeat}").text
    sign_in(api, "agent", "agent")  # the agent may not read documents: no link to a 403
    page = api.client.get(f"/console/cases/{story.upgrade}")
    assert page.status_code == 200 and 'id="case-documents"' not in page.text
