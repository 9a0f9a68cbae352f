"""The case page's forms for the commands that were API-only (web/case_actions.py): spare-part
request, its steps and the customer's vendor case, SLA exclusion, hand-over and progress report.
Requests over the test client with a signed-in session, on both back ends (the browser journey:
tests/test_web_case_forms_browser.py). Each form: success shows its event on the page, a bad
value is shown at its field with the values kept, a role the API refuses gets no form and a
forged POST is 403; a page shown before someone else changed the case is 409."""

from __future__ import annotations

import re
from datetime import timedelta

import httpx
from test_api_cases import CASES, call, open_body, rescue_body
from test_web_knowledge import sign_in

from conftest import Api

EN = {"Accept-Language": "en"}
TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')
VERSION = re.compile(r'name="expected_version" value="(\d+)"')


def _rescue(api: Api) -> str:
    """A fault rescue about the hospital's covered switch, assigned to an engineer."""
    staff = api.headers("service_manager")
    number = call(api, "POST", CASES, staff, json=rescue_body(api), expect=201).json()["number"]
    call(api, "POST", f"{CASES}/{number}/assign", staff, json={"engineer": "yu-tao"}, expect=200)
    return str(number)


def _page(api: Api, number: str) -> str:
    page = api.client.get(f"/console/cases/{number}", headers=EN)
    assert page.status_code == 200, page.text
    return page.text


def _form(html: str, slug: str) -> str | None:
    found = re.search(rf'<details class="action" id="action-{slug}".*?</details>', html, re.S)
    return found.group(0) if found else None


def _post(
    api: Api, number: str, slug: str, html: str | None = None, **fields: str
) -> httpx.Response:
    """The form's POST with its hidden fields as the page showed them."""
    form = _form(html or _page(api, number), slug)
    assert form is not None, f"no {slug} form"
    token, version = TOKEN.search(form), VERSION.search(form)
    assert token is not None and version is not None
    data = {"csrf_token": token.group(1), "expected_version": version.group(1), **fields}
    return api.client.post(
        f"/console/cases/{number}/{slug}", data=data, headers=EN, follow_redirects=False
    )


def _done(api: Api, number: str, slug: str, **fields: str) -> str:
    """Post, follow the redirect: the case page with the notice."""
    answer = _post(api, number, slug, **fields)
    assert answer.status_code == 303, answer.text
    assert answer.headers["location"] == f"/console/cases/{number}?done={slug}"
    html = api.client.get(answer.headers["location"], headers=EN).text
    assert 'class="notice"' in html
    return html


def _kinds(html: str) -> list[str]:
    timeline = html[html.index('id="timeline"') :]
    return re.findall(r'data-kind="([^"]+)"', timeline)


def _refused_at(answer: httpx.Response, slug: str, field: str) -> str:
    """The form again (422), the error next to ``field``, the field marked invalid."""
    assert answer.status_code == 422, answer.text
    form = _form(answer.text, slug)
    assert form is not None and " open>" in form.split("\n", 1)[0]
    assert f'id="{slug}-{field}-error"' in form, form
    assert re.search(rf'id="{slug}-{field}"[^>]*aria-invalid="true"', form), form
    return form


def _forbidden(api: Api, number: str, slug: str, **fields: str) -> None:
    """No form for this user, and the POST forged with the session's own token is 403."""
    html = _page(api, number)
    assert _form(html, slug) is None
    token = TOKEN.search(html)
    assert token is not None
    forged = api.client.post(
        f"/console/cases/{number}/{slug}",
        data={"csrf_token": token.group(1), **fields},
        headers=EN,
        follow_redirects=False,
    )
    assert forged.status_code == 403, forged.text


def _events(api: Api, number: str, kind: str) -> list[dict[str, object]]:
    case = call(api, "GET", f"{CASES}/{number}", api.headers("admin"), expect=200).json()
    return [e for e in case["events"] if e["kind"] == kind]


# --- spare parts ------------------------------------------------------------------------------


def test_a_spare_part_is_requested_through_the_form(api: Api) -> None:
    number = _rescue(api)
    sign_in(api, "wang", "agent")
    html = _page(api, number)
    assert _form(html, "spare-steps") is None  # no request yet: no steps to record
    answer = _post(api, number, "spares", html, part="", mode="courier", vendor="H3C")
    form = _refused_at(answer, "spares", "part")
    assert 'id="spares-vendor" name="vendor" type="text" value="H3C"' in form
    html = _done(api, number, "spares", part="PSU", mode="courier", note="stock in Jinan")
    assert "Spare part requested." in html
    assert _kinds(html)[:2] == ["note", "spare_requested"]  # newest first
    [requested] = _events(api, number, "spare_requested")
    assert requested["payload"]["part"] == "PSU" and requested["actor"] == "wang (user 1)"
    # the steps form now offers the request
    steps = _form(html, "spare-steps")
    assert steps is not None and '<option value="1"' in steps and "PSU (requested)" in steps


def test_a_chargeable_flag_on_a_covered_device_is_refused_at_its_field(api: Api) -> None:
    number = _rescue(api)
    sign_in(api, "wang", "agent")
    answer = _post(api, number, "spares", part="PSU", mode="courier", chargeable="on")
    form = _refused_at(answer, "spares", "chargeable")  # the desk's InvalidField
    assert "is not charged" in form and 'value="PSU"' in form
    assert _events(api, number, "spare_requested") == []


def test_a_spare_form_from_a_page_someone_has_since_changed_is_409(api: Api) -> None:
    number = _rescue(api)
    sign_in(api, "wang", "agent")
    html = _page(api, number)
    call(api, "POST", f"{CASES}/{number}/notes", api.headers("agent"), json={"text": "x"},
         expect=200)  # fmt: skip
    stale = _post(api, number, "spares", html, part="PSU", mode="courier")
    assert stale.status_code == 409, stale.text
    form = _form(stale.text, "spares")
    assert form is not None and 'id="spares-error"' in form and 'value="PSU"' in form
    assert _events(api, number, "spare_requested") == []


def test_the_steps_of_a_spare_request_are_recorded_through_the_form(api: Api) -> None:
    number = _rescue(api)
    sign_in(api, "yu", "engineer")
    _done(api, number, "spares", part="PSU", mode="courier")
    # a step's fields with another step: the desk names the field
    wrong = _post(api, number, "spare-steps", request="1", step="arrived", waybill="SF1")
    form = _refused_at(wrong, "spare-steps", "waybill")
    assert 'value="SF1"' in form
    missing = _post(api, number, "spare-steps", request="1", step="rma_opened")
    _refused_at(missing, "spare-steps", "rma_number")
    html = _done(api, number, "spare-steps", request="1", step="shipped", carrier="SF",
                 waybill="SF1", note="on its way")  # fmt: skip
    assert "Spare-part step recorded." in html and _kinds(html)[0] == "spare_step"
    [step] = _events(api, number, "spare_step")
    assert step["payload"]["waybill"] == "SF1" and step["visibility"] == "customer"
    again = _post(api, number, "spare-steps", request="1", step="shipped")
    assert again.status_code == 409 and "already recorded" in again.text  # above the form


def test_the_customers_vendor_case_is_linked_through_the_form(api: Api) -> None:
    number = _rescue(api)
    sign_in(api, "liu", "service_manager")
    _done(api, number, "spares", part="PSU", mode="courier")
    empty = _post(api, number, "spare-vendor-case", request="1", vendor="H3C", vendor_case="")
    form = _refused_at(empty, "spare-vendor-case", "vendor_case")
    assert 'value="H3C"' in form
    html = _done(api, number, "spare-vendor-case", request="1", vendor="H3C",
                 vendor_case="SR 698123999")  # fmt: skip
    assert _kinds(html)[0] == "spare_vendor_case"
    [linked] = _events(api, number, "spare_vendor_case")
    assert linked["payload"]["vendor_case"] == "SR 698123999"


def test_a_project_manager_gets_no_spare_forms_and_a_forged_post_is_403(api: Api) -> None:
    number = _rescue(api)
    sign_in(api, "yu", "engineer")
    _done(api, number, "spares", part="PSU", mode="courier")
    sign_in(api, "pm", "project_manager")
    _forbidden(api, number, "spares", part="PSU", mode="courier")
    _forbidden(api, number, "spare-steps", request="1", step="shipped")
    _forbidden(api, number, "spare-vendor-case", request="1", vendor="H3C", vendor_case="SR 1")
    assert len(_events(api, number, "spare_requested")) == 1
    assert _events(api, number, "spare_step") == []
    assert _events(api, number, "spare_vendor_case") == []


# --- SLA exclusion ----------------------------------------------------------------------------


def test_a_manager_excludes_a_clock_through_the_form(api: Api) -> None:
    number = _rescue(api)
    sign_in(api, "liu", "service_manager")
    form = _form(_page(api, number), "exclusions")
    assert form is not None
    assert '<option value="resolution"' in form and '<option value="force-majeure"' in form
    empty = _post(api, number, "exclusions", kind="resolution", cause="force-majeure", note="")
    assert 'name="cause"' in _refused_at(empty, "exclusions", "note")
    html = _done(api, number, "exclusions", kind="resolution", cause="force-majeure",
                 note="typhoon closed the roads")  # fmt: skip
    assert "Exclusion recorded." in html and _kinds(html)[0] == "clock_excluded"
    case = call(api, "GET", f"{CASES}/{number}", api.headers("admin"), expect=200).json()
    resolution = {c["kind"]: c for c in case["clocks"]}["resolution"]
    assert resolution["exclusion_cause"] == "force-majeure"


def test_a_cause_the_contract_does_not_list_is_refused_above_the_form(api: Api) -> None:
    number = _rescue(api)
    sign_in(api, "liu", "service_manager")
    bad = _post(api, number, "exclusions", kind="resolution", cause="bad weather", note="rain")
    assert bad.status_code == 422
    form = _form(bad.text, "exclusions")
    assert form is not None and 'id="exclusions-error"' in form and "bad weather" in form
    assert "rain</textarea>" in form
    assert _events(api, number, "clock_excluded") == []


def test_an_agent_gets_no_exclusion_form_and_a_forged_post_is_403(api: Api) -> None:
    number = _rescue(api)
    sign_in(api, "wang", "agent")
    _forbidden(api, number, "exclusions", kind="resolution", cause="force-majeure", note="x")
    assert _events(api, number, "clock_excluded") == []


# --- hand-over --------------------------------------------------------------------------------


def test_an_engineer_hands_the_case_over_through_the_form(api: Api) -> None:
    number = _rescue(api)
    sign_in(api, "yu", "engineer")
    no_ticket = _post(api, number, "handovers", target="digital-china", reason="lab test",
                      ticket="", vendor="", visibility="internal")  # fmt: skip
    form = _refused_at(no_ticket, "handovers", "ticket")
    assert "lab test</textarea>" in form and '<option value="digital-china" selected>' in form
    html = _done(api, number, "handovers", target="vendor", reason="RMA needed", ticket="SR 1",
                 vendor="H3C TAC", visibility="internal")  # fmt: skip
    assert "Handed over." in html and _kinds(html)[0] == "handed_over"
    [event] = _events(api, number, "handed_over")
    assert event["payload"]["target"] == "vendor" and event["payload"]["ticket"] == "SR 1"


def test_an_agent_gets_no_hand_over_form_and_a_forged_post_is_403(api: Api) -> None:
    number = _rescue(api)
    sign_in(api, "wang", "agent")
    _forbidden(api, number, "handovers", target="expert-group", reason="x",
               visibility="internal")  # fmt: skip
    assert _events(api, number, "handed_over") == []


# --- progress report --------------------------------------------------------------------------


def _emergency_on_site(api: Api) -> str:
    agent = api.headers("agent")
    body = open_body(api, emergency=True, site="山东省威海市文登区峰山路66号")
    number = call(api, "POST", CASES, agent, json=body, expect=201).json()["number"]
    call(api, "POST", f"{CASES}/{number}/assign", agent, json={"engineer": "yu-tao"}, expect=200)
    api.now += timedelta(hours=1)
    call(api, "POST", f"{CASES}/{number}/onsite-arrival", api.headers("engineer"), json={},
         expect=200)  # fmt: skip
    api.now += timedelta(minutes=40)
    return str(number)


def test_an_engineer_reports_progress_through_the_form(api: Api) -> None:
    number = _emergency_on_site(api)
    sign_in(api, "yu", "engineer")
    empty = _post(api, number, "progress-reports", text="", visibility="customer")
    assert '<option value="customer" selected>' in _refused_at(empty, "progress-reports", "text")
    html = _done(api, number, "progress-reports", text="switch replaced, testing",
                 visibility="customer")  # fmt: skip
    assert "Progress reported." in html and _kinds(html)[0] == "progress_reported"
    [event] = _events(api, number, "progress_reported")
    assert event["visibility"] == "customer" and event["payload"]["final"] is False


def test_a_report_when_none_is_due_is_refused_above_the_form(api: Api) -> None:
    number = _rescue(api)
    sign_in(api, "yu", "engineer")
    early = _post(api, number, "progress-reports", text="x", visibility="internal")
    assert early.status_code == 409
    form = _form(early.text, "progress-reports")
    assert form is not None and 'id="progress-reports-error"' in form and "no report" in form


def test_a_project_manager_gets_no_progress_form_and_a_forged_post_is_403(api: Api) -> None:
    number = _emergency_on_site(api)
    sign_in(api, "pm", "project_manager")
    _forbidden(api, number, "progress-reports", text="x", visibility="internal")
    assert _events(api, number, "progress_reported") == []
