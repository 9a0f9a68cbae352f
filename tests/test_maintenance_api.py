"""Maintenance over HTTP on both back ends (issue 16 §1, §3, §5): inspection status and
results, change review refusals as problem details, plan health, change notices."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from test_api_cases import CASES, HOSPITAL, call, open_case

from conftest import Api
from core.jobs.inspections import inspection_pass
from core.store import orm

INFO_CENTER = "weekly-info-center"


def inspection(api: Api) -> str:
    """The hospital's weekly info-centre inspection of Monday 12 October."""
    done = inspection_pass(api.runtime, now=api.now)
    assert not done.errors
    with api.runtime.sessions() as session:
        number = session.scalar(
            select(orm.Inspection.case_number)
            .where(orm.Inspection.plan_id == INFO_CENTER)
            .order_by(orm.Inspection.nominal_at.desc())
            .limit(1)
        )
    assert number is not None
    return number


def test_an_inspection_shows_its_checklist_and_takes_results(api: Api) -> None:
    number = inspection(api)
    engineer = api.headers("engineer")
    shown = call(api, "GET", f"{CASES}/{number}/inspection", engineer, expect=200).json()
    assert shown["plan"] == INFO_CENTER and shown["devices"]
    assert [item["id"] for item in shown["checklist"]] == [
        "inspection-finished",
        "function-test-passed",
    ]
    first, second = shown["devices"][0]["serial"], shown["devices"][1]["serial"]
    ok = {"serial": first, "outcome": "ok"}
    call(api, "POST", f"{CASES}/{number}/inspection/results", api.headers("agent"), json=ok,
         expect=403)  # fmt: skip
    call(api, "POST", f"{CASES}/{number}/inspection/results", engineer, json=ok, expect=200)
    finding = {
        "serial": second,
        "outcome": "finding",
        "severity": "critical",
        "note": "RAID 降级",
        "follow_up": {"summary": "RAID 降级, 更换硬盘"},
    }
    call(api, "POST", f"{CASES}/{number}/inspection/results", engineer, json=finding, expect=200)
    shown = call(api, "GET", f"{CASES}/{number}/inspection", engineer, expect=200).json()
    results = {d["serial"]: d for d in shown["devices"]}
    assert results[first]["outcome"] == "ok"
    follow = results[second]["follow_up"]
    detail = call(api, "GET", f"{CASES}/{follow}", engineer, expect=200).json()
    assert detail["priority"] == "P1" and detail["summary"] == "RAID 降级, 更换硬盘"
    missing = {"summary": "done", "attachments": ["0" * 64]}
    refused = call(api, "POST", f"{CASES}/{number}/inspection/report", engineer, json=missing,
                   expect=409)  # fmt: skip
    assert refused.json()["type"] == "/problems/inspection-incomplete"
    bad = {"serial": second, "outcome": "finding"}
    call(api, "POST", f"{CASES}/{number}/inspection/results", engineer, json=bad, expect=400)


def test_implementing_a_major_change_before_approval_is_409_with_the_reason(api: Api) -> None:
    number = open_case(api, api.headers("agent"))["number"]
    engineer, expert = api.headers("engineer"), api.headers("expert_group")
    plan = {"title": "HIS 数据库迁移", "change_kind": "migration", "major": True, "plan": "…"}
    call(api, "POST", f"{CASES}/{number}/changes", engineer, json=plan, expect=200)
    with api.runtime.sessions() as session:
        seq = session.scalar(
            select(orm.CaseEvent.seq)
            .join(orm.Case)
            .where(orm.Case.number == number, orm.CaseEvent.kind == "change_proposed")
        )
    done = {"change": seq, "note": "迁移完成"}
    refused = call(api, "POST", f"{CASES}/{number}/changes/implemented", engineer, json=done,
                   expect=409)  # fmt: skip
    assert refused.json()["type"] == "/problems/change-not-approved"
    assert "expert group" in refused.json()["detail"]
    review = {"change": seq, "decision": "approved", "comment": "同意, 周末窗口执行"}
    call(api, "POST", f"{CASES}/{number}/changes/review", engineer, json=review, expect=403)
    call(api, "POST", f"{CASES}/{number}/changes/review", expert, json=review, expect=200)
    call(api, "POST", f"{CASES}/{number}/changes/implemented", engineer, json=done, expect=200)


def test_plan_health_lists_every_plan(api: Api) -> None:
    inspection(api)
    plans = call(api, "GET", "/api/v1/maintenance/plans", api.headers("service_manager"),
                 expect=200).json()  # fmt: skip
    info = next(p for p in plans if p["plan"] == INFO_CENTER)
    assert info["opened"] and info["next"] and info["missed"]  # no scheduler ran before
    assert {p["plan"] for p in plans} >= {INFO_CENTER, "monthly-core-room"}
    call(api, "GET", "/api/v1/maintenance/plans", api.headers("customer", customer="wdkn-hospital"),
         expect=403)  # fmt: skip


def test_a_hotline_change_notice_under_three_days_is_refused_unless_forced(api: Api) -> None:
    url = f"/api/v1/contracts/{HOSPITAL}/notices"
    pm = api.headers("project_manager")
    body = {
        "subject": "hotline",
        "old_value": "0631-5187755",
        "new_value": "0631-5187766",
        "effective_at": (api.now + timedelta(days=2)).isoformat(),
    }
    refused = call(api, "POST", url, pm, json=body, expect=409)
    assert refused.json()["type"] == "/problems/notice-too-short"
    call(api, "POST", url, api.headers("agent"), json=body, expect=403)
    forced = {**body, "force": True, "force_reason": "运营商割接"}
    notice = call(api, "POST", url, pm, json=forced, expect=201).json()
    assert notice["forced"] and notice["force_reason"] == "运营商割接"
    listed = call(api, "GET", url, pm, expect=200).json()
    assert [n["id"] for n in listed] == [notice["id"]]
    call(api, "GET", "/api/v1/contracts/nope/notices", pm, expect=404)
