"""A customer's comment over the API (POST /api/v1/cases/{number}/comments), on both back ends:
the same customer-visible note in the customer's name the portal's comment form records,
own cases only, expected_version, field errors naming their path; staff write notes."""

from __future__ import annotations

import re

from test_api_access import CUSTOMER_A, CUSTOMER_B, MISSING, school_case, without_instance
from test_api_cases import CASES, call, open_body, problem_paths

from conftest import Api
from core.store.users import create_user, get_user
from core.store.web_sessions import start_session
from web.auth import SESSION_COOKIE, session_policy


def _hospital_case(api: Api) -> dict[str, object]:
    return call(api, "POST", CASES, api.headers("agent"), json=open_body(api), expect=201).json()


def test_a_customer_comments_on_its_own_case_as_a_customer_visible_note(api: Api) -> None:
    case = _hospital_case(api)
    url = f"{CASES}/{case['number']}/comments"
    token = api.token("customer", customer=CUSTOMER_A, name="Dr. Sun")
    headers = {"Authorization": f"Bearer {token}"}
    answer = call(
        api, "POST", url, headers, json={"text": "The printer is in room 204."}, expect=200
    ).json()
    assert answer["version"] == case["version"] + 1  # type: ignore[operator]
    note = answer["events"][-1]
    assert (note["kind"], note["visibility"]) == ("note", "customer")
    assert note["payload"] == {"text": "The printer is in room 204."}
    assert re.fullmatch(r"Dr\. Sun \(token \d+\)", note["actor"])
    # staff see it among the case's customer-visible events, in the customer's name
    staff_view = call(api, "GET", f"{CASES}/{case['number']}", api.headers("agent")).json()
    assert staff_view["events"][-1] == note


def test_the_api_records_the_note_the_portal_records(api: Api) -> None:
    number = str(_hospital_case(api)["number"])
    with api.runtime.sessions.begin() as session:
        create_user(
            session,
            login="sun",
            display_name="Dr. Sun",
            password="x" * 12,
            roles=("customer",),
            customer_id=CUSTOMER_A,
            now=api.now,
        )
        sid = start_session(
            session, get_user(session, "sun"), api.now, session_policy(api.runtime.settings)
        )
    api.client.cookies.set(SESSION_COOKIE, sid)
    shown = api.client.get(f"/portal/cases/{number}")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', shown.text)
    assert shown.status_code == 200 and csrf is not None
    posted = api.client.post(
        f"/portal/cases/{number}/comments",
        data={"csrf_token": csrf.group(1), "text": "from the page"},
        follow_redirects=False,
    )
    assert posted.status_code == 303
    api.client.cookies.clear()
    token = {"Authorization": f"Bearer {api.token('customer', customer=CUSTOMER_A)}"}
    call(
        api, "POST", f"{CASES}/{number}/comments", token, json={"text": "from the API"}, expect=200
    )
    events = call(api, "GET", f"{CASES}/{number}", api.headers("agent")).json()["events"]
    page, by_api = events[-2:]
    assert {
        k: v for k, v in page.items() if k not in ("seq", "at", "actor", "hash", "payload")
    } == {k: v for k, v in by_api.items() if k not in ("seq", "at", "actor", "hash", "payload")}
    assert (page["kind"], page["visibility"]) == ("note", "customer")
    assert (page["payload"], by_api["payload"]) == (
        {"text": "from the page"},
        {"text": "from the API"},
    )
    assert re.fullmatch(r"Dr\. Sun \(user \d+\)", page["actor"])
    assert re.fullmatch(r"test \(token \d+\)", by_api["actor"])


def test_a_stale_expected_version_is_a_409_and_records_nothing(api: Api) -> None:
    case = _hospital_case(api)
    url = f"{CASES}/{case['number']}"
    customer = api.headers("customer", customer=CUSTOMER_A)
    first = {"text": "is anyone there?", "expected_version": case["version"]}
    done = call(api, "POST", f"{url}/comments", customer, json=first, expect=200).json()
    # a retry after a lost answer, with the version it saw: refused, no second copy
    call(api, "POST", f"{url}/comments", customer, json=first, expect=409)
    again = {"text": "second", "expected_version": done["version"]}
    call(api, "POST", f"{url}/comments", customer, json=again, expect=200)
    texts = [e["payload"].get("text") for e in call(api, "GET", url, customer).json()["events"]]
    assert texts.count("is anyone there?") == 1 and texts[-1] == "second"


def test_bad_bodies_name_the_field(api: Api) -> None:
    case = _hospital_case(api)
    url = f"{CASES}/{case['number']}/comments"
    customer = api.headers("customer", customer=CUSTOMER_A)
    for body, path in [
        ({}, "$"),  # "Object missing required field `text`" (docs/api.md)
        ({"text": ""}, "$.text"),
        ({"text": "x" * 4001}, "$.text"),
        ({"text": "nul\x00"}, "$.text"),
        ({"text": 5}, "$.text"),
        ({"text": "hi", "expected_version": "1"}, "$.expected_version"),
        ({"text": "hi", "expected_version": 0}, "$.expected_version"),
        # a customer's comment is always customer-visible: no visibility to choose
        ({"text": "hi", "visibility": "internal"}, "$"),
    ]:
        refused = call(api, "POST", url, customer, json=body, expect=400)
        assert path in problem_paths(refused), (body, refused.text)
        if not body:
            assert "`text`" in refused.json()["errors"][0]["message"]
    call(api, "POST", url, customer, content=b"[", expect=400)
    after = call(api, "GET", f"{CASES}/{case['number']}", customer).json()
    assert after["version"] == case["version"]


def test_staff_are_refused_and_pointed_to_notes(api: Api) -> None:
    case = _hospital_case(api)
    url = f"{CASES}/{case['number']}/comments"
    for role in ("agent", "engineer", "service_manager", "admin"):
        refused = call(api, "POST", url, api.headers(role), json={"text": "hi"}, expect=403)
        assert "customer" in refused.json()["detail"]


def test_another_customers_case_is_the_missing_ones_404(api: Api) -> None:
    theirs = school_case(api)
    customer_a = api.headers("customer", customer=CUSTOMER_A)
    answers = [
        call(api, "POST", f"{CASES}/{number}/comments", customer_a, json={"text": "x"}, expect=404)
        for number in (theirs["number"], MISSING)
    ]
    assert without_instance(answers[0].json()) == without_instance(answers[1].json())
    own = api.headers("customer", customer=CUSTOMER_B)
    call(api, "POST", f"{CASES}/{theirs['number']}/comments", own, json={"text": "x"}, expect=200)
    events = call(api, "GET", f"{CASES}/{theirs['number']}", api.headers("agent")).json()["events"]
    assert [e["payload"].get("text") for e in events if e["kind"] == "note"] == ["x"]


def test_the_case_list_finds_text_in_the_summary_or_the_number(api: Api) -> None:
    agent = api.headers("agent")
    printer = call(
        api, "POST", CASES, agent, json=open_body(api, summary="HIS Printer 100% stuck"), expect=201
    ).json()["number"]
    other = call(
        api, "POST", CASES, agent, json=open_body(api, summary="门诊楼交换机掉线"), expect=201
    ).json()["number"]

    def found(**params: object) -> list[str]:
        page = call(api, "GET", CASES, agent, params=params, expect=200).json()
        return [item["number"] for item in page["items"]]

    assert found(q="printer") == [printer]
    assert found(q="  PRINTER  ") == [printer]
    assert found(q="交换机") == [other]
    assert found(q=other[-6:]) == [other]  # a part of the number
    assert found(q="100%") == [printer] and found(q="0%") == [printer]
    assert found(q="_") == []  # LIKE's wildcards are plain characters
    assert found(q="%") == [printer]
    assert found(q="") == [other, printer]
    assert found(q="printer", status="closed") == []
    call(api, "GET", CASES, agent, params={"q": "x\x00"}, expect=400)
    call(api, "GET", CASES, agent, params={"q": "x" * 501}, expect=400)
