"""Complaints as their own record (issue 15 §3): filed with their cases, owned by the complaint
manager (reply, assign, investigate, resolve, close), clocks on the contract's complaint
targets escalating through the ladder, corrective actions to closure, the improvement reported
back to the customer; a complaint about an installation needs no appointment window."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from quality_story import HOSPITAL, closed_case
from test_api_cases import CASES, call, open_body

from conftest import Api
from core.jobs import scheduler

COMPLAINTS = "/api/v1/complaints"


def complaint_body(api: Api, about: list[str], **changes: Any) -> dict[str, Any]:
    fields = {
        "request_type": "complaint",
        "category": "installation",  # about an installation: no appointment window asked for
        "summary": "投诉：机房设备安装拖延且未通知",
        **changes,
    }
    case = open_body(api, **fields)
    return {"case": case, "about": about}


def test_the_complaint_manager_works_a_complaint_to_closure(api: Api) -> None:
    about, _ = closed_case(api.runtime, api.now - timedelta(days=3), api.now - timedelta(days=1))
    agent, manager = api.headers("agent"), api.headers("complaint_manager")
    filed = call(api, "POST", COMPLAINTS, agent, json=complaint_body(api, [about]), expect=201)
    complaint = filed.json()
    url = filed.headers["location"]
    assert complaint["about"] == [about] and complaint["status"] == "received"
    assert complaint["clocks"] == {
        "complaint_first_reply": "running",
        "complaint_resolution": "running",
    }

    call(api, "POST", f"{url}/reply", api.headers("engineer"), json={"reply": "x"}, expect=403)
    replied = call(
        api, "POST", f"{url}/reply", manager, json={"reply": "已致歉，今日内给出方案"}
    ).json()
    assert replied["clocks"]["complaint_first_reply"] == "met" and replied["status"] == "replied"
    call(api, "POST", f"{url}/reply", manager, json={"reply": "again"}, expect=409)
    call(api, "POST", f"{url}/assign", manager, json={"assignee": "yu-tao"}, expect=200)
    call(api, "POST", f"{url}/investigate", manager, json={"finding": "备件未按时到货"}, expect=200)
    action = {"text": "安装前一日电话确认到货", "owner": "服务经理"}
    shown = call(api, "POST", f"{url}/actions", manager, json=action, expect=201).json()
    resolved = call(
        api, "POST", f"{url}/resolve", manager, json={"resolution": "已完成安装"}
    ).json()
    assert resolved["clocks"]["complaint_resolution"] == "met" and resolved["status"] == "resolved"
    closing = {"conclusion": "流程已改进", "improvement": "安装前一日电话确认备件到货"}
    blocked = call(api, "POST", f"{url}/close", manager, json=closing, expect=409).json()
    assert "corrective actions" in blocked["detail"]
    done = f"{url}/actions/{shown['actions'][0]['id']}/done"
    call(api, "POST", done, manager, json={"result": "已纳入安装流程"}, expect=200)
    closed = call(api, "POST", f"{url}/close", manager, json=closing, expect=200).json()
    assert closed["status"] == "closed"

    customer = api.headers("customer", customer="wdkn-hospital")
    mine = call(api, "GET", url, customer, expect=200).json()
    assert mine["status"] == "closed"
    call(api, "GET", url, api.headers("customer", customer="rsyz"), expect=404)
    history = call(api, "GET", f"{CASES}/{complaint['case_number']}", customer, expect=200).json()
    seen = [e["kind"] for e in history["events"]]
    assert {
        "complaint_replied",
        "complaint_resolved",
        "complaint_closed",
        "improvement_reported",
    } <= set(seen)
    assert "complaint_assigned" not in seen  # internal steps stay internal
    assert history["status"] == "closed"
    listed = call(api, "GET", COMPLAINTS, manager, params={"status": "closed"}, expect=200).json()
    assert [c["id"] for c in listed] == [complaint["id"]]


def test_a_complaint_about_another_customers_case_is_refused(api: Api) -> None:
    school, _ = closed_case(
        api.runtime, api.now - timedelta(days=3), api.now - timedelta(days=1), contract="rsyz-2026"
    )
    body = complaint_body(api, [school])
    call(api, "POST", COMPLAINTS, api.headers("agent"), json=body, expect=404)
    wrong = complaint_body(api, [], request_type="consultation")
    problem = call(api, "POST", COMPLAINTS, api.headers("agent"), json=wrong, expect=400).json()
    assert "request_type" in problem["detail"]


def test_an_unanswered_complaint_escalates_through_the_ladder(api: Api) -> None:
    filed = call(
        api, "POST", COMPLAINTS, api.headers("agent"), json=complaint_body(api, []), expect=201
    ).json()
    scheduler.tick(api.runtime, now=api.now + timedelta(hours=3))
    history = call(api, "GET", f"{CASES}/{filed['case_number']}", api.headers("admin")).json()
    fired = [e["payload"]["clock"] for e in history["events"] if e["kind"] == "escalated"]
    assert "complaint_first_reply" in fired
    lc = api.runtime.contracts.get(HOSPITAL)
    assert lc.contract.complaint.first_reply.within == "2h"
