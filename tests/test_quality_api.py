"""Surveys over HTTP (issue 15 §1, §6): the link is single use, expires, cannot be guessed and
rates only its own case; the technical service form's score; low scores as survey problems;
the quarterly result per contract."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from typing import Any

from quality_story import HOSPITAL, SCHOOL, closed_case
from sqlalchemy import select
from test_api_cases import CASES, call

from conftest import Api
from core.store import orm
from core.surveys import new_token

SURVEYS = "/api/v1/surveys"
PROBLEMS = "/api/v1/survey-problems"


def story(api: Api, **kw: Any) -> tuple[str, str]:
    """A hospital case closed an hour before the API's now; its survey token."""
    api.runtime.desk.public_url = "https://desk.example.cn"  # survey links need one
    number, token = closed_case(
        api.runtime, api.now - timedelta(days=1), api.now - timedelta(hours=1), **kw
    )
    assert token is not None
    return number, token


def kinds(api: Api, number: str, headers: dict[str, str]) -> list[str]:
    case = call(api, "GET", f"{CASES}/{number}", headers, expect=200).json()
    return [e["kind"] for e in case["events"]]


def test_the_link_answers_once_without_a_bearer_token(api: Api) -> None:
    number, token = story(api)
    shown = call(api, "GET", f"{SURVEYS}/{token}", expect=200).json()
    assert shown["case_number"] == number and shown["usable"] and not shown["answered"]
    answered = call(
        api, "POST", f"{SURVEYS}/{token}", json={"score": 4, "comment": "响应及时"}, expect=200
    ).json()
    assert answered["answered"] and not answered["usable"]
    again = call(api, "POST", f"{SURVEYS}/{token}", json={"score": 1}, expect=410).json()
    assert "already answered" in again["detail"]
    customer = api.headers("customer", customer="wdkn-hospital")
    assert kinds(api, number, customer).count("survey_answered") == 1  # customer-visible


def test_the_link_expires(api: Api) -> None:
    _, token = story(api)
    days = api.runtime.contracts.get(HOSPITAL).contract.survey.link_days
    api.now += timedelta(days=days)
    assert not call(api, "GET", f"{SURVEYS}/{token}", expect=200).json()["usable"]
    gone = call(api, "POST", f"{SURVEYS}/{token}", json={"score": 5}, expect=410).json()
    assert "expired" in gone["detail"]


def test_the_token_cannot_be_guessed_and_is_stored_hashed(api: Api) -> None:
    _, token = story(api)
    assert len(token) >= 43  # 256 random bits, URL-safe
    with api.runtime.sessions() as session:
        stored = session.scalars(select(orm.Survey)).one()
    assert stored.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert token not in str([getattr(stored, c.key) for c in orm.Survey.__table__.columns])
    guesses = [new_token(), token[:-1] + ("A" if token[-1] != "A" else "B"), "1"]
    bodies = [
        call(api, "POST", f"{SURVEYS}/{g}", json={"score": 5}, expect=404).json() for g in guesses
    ]
    assert len({b["detail"] for b in bodies}) == 1  # one answer for every wrong token


def test_a_link_rates_its_own_case_only(api: Api) -> None:
    hospital, token = story(api)
    school, _ = story(api, contract=SCHOOL)
    refused = call(
        api, "POST", f"{SURVEYS}/{token}", json={"score": 1, "case_number": school}, expect=400
    ).json()
    assert "case_number" in refused["detail"]
    call(api, "POST", f"{SURVEYS}/{token}", json={"score": 5}, expect=200)
    admin = api.headers("admin")
    assert "survey_answered" in kinds(api, hospital, admin)
    assert "survey_answered" not in kinds(api, school, admin)


def test_a_score_outside_1_to_5_names_the_field(api: Api) -> None:
    _, token = story(api)
    for bad in (0, 6, "5"):
        problem = call(api, "POST", f"{SURVEYS}/{token}", json={"score": bad}, expect=400).json()
        assert "$.score" in problem["detail"]


def test_the_service_form_score_and_a_low_score_problem_to_closure(api: Api) -> None:
    number, token = story(api)
    form = {
        "score": 2,
        "comment": "等待时间长",
        "signed_by": "邵敏",
        "signed_at": api.now.isoformat(),
    }
    call(api, "POST", f"{CASES}/{number}/survey-form", api.headers("agent"), json=form, expect=403)
    engineer = api.headers("engineer")
    case = call(
        api, "POST", f"{CASES}/{number}/survey-form", engineer, json=form, expect=200
    ).json()
    answered = [e for e in case["events"] if e["kind"] == "survey_answered"][-1]
    assert answered["payload"]["source"] == "form" and answered["payload"]["signed_by"] == "邵敏"
    assert answered["actor"] != "customer:survey-link"
    call(api, "POST", f"{SURVEYS}/{token}", json={"score": 5}, expect=410)  # the link is spent

    quality = api.headers("quality_department")
    call(api, "GET", PROBLEMS, engineer, expect=403)
    [problem] = call(api, "GET", PROBLEMS, quality, params={"status": "open"}, expect=200).json()
    assert (problem["case_number"], problem["score"]) == (number, 2)
    url = f"{PROBLEMS}/{problem['id']}"
    call(api, "POST", f"{url}/close", quality, json={"conclusion": "x"}, expect=422)  # unclassified
    call(
        api,
        "POST",
        f"{url}/classify",
        quality,
        json={"classification": "response-time"},
        expect=200,
    )
    action = {"text": "增派文登区值班工程师", "owner": "服务经理 赵"}
    shown = call(api, "POST", f"{url}/actions", quality, json=action, expect=201).json()
    action_id = shown["actions"][0]["id"]
    blocked = call(
        api, "POST", f"{url}/close", quality, json={"conclusion": "x"}, expect=409
    ).json()
    assert str(action_id) in blocked["detail"]
    call(
        api,
        "POST",
        f"{url}/actions/{action_id}/done",
        quality,
        json={"result": "已排班"},
        expect=200,
    )
    closing = {"conclusion": "夜间值守不足", "improvement": "文登区增设夜间值班工程师"}
    closed = call(api, "POST", f"{url}/close", quality, json=closing, expect=200).json()
    assert closed["status"] == "closed"
    customer = api.headers("customer", customer="wdkn-hospital")
    assert "improvement_reported" in kinds(api, number, customer)
    report = call(api, "GET", "/api/v1/quality/actions", quality, expect=200).json()
    assert [(a["case_number"], a["done_at"] is not None) for a in report] == [(number, True)]


def test_the_quarterly_result_per_contract(api: Api) -> None:
    _, token = story(api)
    call(api, "POST", f"{SURVEYS}/{token}", json={"score": 5}, expect=200)
    story(api)  # unanswered
    url = f"/api/v1/contracts/{HOSPITAL}/quality/2026Q4"
    mine = api.headers("customer", customer="wdkn-hospital")
    shown = call(api, "GET", url, mine, expect=200).json()
    assert (shown["cases"], shown["answered"], shown["unanswered"]) == (2, 1, 1)
    assert shown["answered_figure"] == 5.0 and shown["handbook_figure"] == 4.0  # neutral: 3
    other = api.headers("customer", customer="rsyz")
    call(api, "GET", url, other, expect=404)
    bad = call(api, "GET", url.replace("2026Q4", "2026Q5"), mine, expect=400).json()
    assert "quarter" in bad["detail"]
