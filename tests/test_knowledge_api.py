"""The knowledge base and device records over HTTP on both back ends (issue 16 §4, §6): a
resolved case's fix is harvested in the resolving transaction and found by search, customers
see public entries and their own, articles are written and edited, an engineer sees past fixes
on a new case for the same device, and device changes are recorded with their history."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError, IntegrityError
from test_api_cases import CASES, SWITCH, call, rescue_body

from conftest import Api
from core.store import orm

KB = "/api/v1/knowledge"
DEVICES = "/api/v1/devices"
FIX = "更换光模块并清洁光纤跳线端面，端口恢复稳定"
FINDING = "上联口光模块收光功率过低，端口反复闪断"


def resolved_case(api: Api, staff: dict[str, str], summary: str, fix: str = FIX) -> str:
    """A fault rescue on the hospital's H3C switch, diagnosed and resolved."""
    opened = call(api, "POST", CASES, staff, json=rescue_body(api, summary=summary), expect=201)
    number = opened.json()["number"]
    base = f"{CASES}/{number}"
    call(api, "POST", f"{base}/assign", staff, json={"engineer": "于志强"}, expect=200)
    call(
        api,
        "POST",
        f"{base}/first-response",
        staff,
        json={"agreed_content": "远程排查"},
        expect=200,
    )
    call(api, "POST", f"{base}/diagnosis", staff, json={"finding": FINDING}, expect=200)
    call(api, "POST", f"{base}/resolve", staff, json={"resolution": fix}, expect=200)
    return str(number)


def search(api: Api, headers: dict[str, str], q: str, **params: Any) -> list[dict[str, Any]]:
    response = call(api, "GET", KB, headers, params={"q": q, **params}, expect=200)
    return list(response.json())


def test_a_resolved_case_is_found_by_its_fix_and_shown_on_the_next_case(api: Api) -> None:
    staff = api.headers("service_manager", "engineer")
    number = resolved_case(api, staff, "交换机上联端口闪断")
    hits = search(api, staff, "光模块 闪断")
    assert [h["case_number"] for h in hits] == [number]
    assert hits[0]["fix"] == FIX and hits[0]["cause"] == FINDING
    assert hits[0]["device_model"] == "H3C S5560X-54C-EI" and hits[0]["category"] == "fault_rescue"
    # the case's customer sees its own fix, not the internal diagnosis; others see nothing
    mine = search(api, api.headers("customer", customer="wdkn-hospital"), "光模块")
    assert [(h["case_number"], h["cause"], h["fix"]) for h in mine] == [(number, None, FIX)]
    assert search(api, api.headers("customer", customer="rsyz"), "光模块") == []
    # a new case on the same device and category: the past fix is beside it
    again = call(api, "POST", CASES, staff, json=rescue_body(api, summary="端口又断了"), expect=201)
    related = call(api, "GET", f"{CASES}/{again.json()['number']}/related-fixes", staff, expect=200)
    assert [h["case_number"] for h in related.json()] == [number]
    customer = api.headers("customer", customer="wdkn-hospital")
    call(api, "GET", f"{CASES}/{again.json()['number']}/related-fixes", customer, expect=403)
    # the first case's own page does not list itself
    own = call(api, "GET", f"{CASES}/{number}/related-fixes", staff, expect=200)
    assert own.json() == []


def test_reopening_withdraws_the_fix_and_resolving_again_rewrites_it(api: Api) -> None:
    staff = api.headers("service_manager", "engineer")
    number = resolved_case(api, staff, "交换机端口闪断")
    call(api, "POST", f"{CASES}/{number}/reopen", staff, json={"reason": "又断了"}, expect=200)
    assert search(api, staff, "光模块") == []
    better = "更换上联光纤跳线，原跳线弯折损耗过大"
    call(api, "POST", f"{CASES}/{number}/resolve", staff, json={"resolution": better}, expect=200)
    hits = search(api, staff, "跳线 弯折")
    assert [(h["case_number"], h["fix"]) for h in hits] == [(number, better)]


def test_articles_are_written_edited_and_shown_by_visibility(api: Api) -> None:
    engineer = api.headers("engineer")
    hospital = api.headers("customer", customer="wdkn-hospital")
    school = api.headers("customer", customer="rsyz")
    body = {
        "title": "打印机频繁卡纸",
        "problem": "每打几张就卡纸",
        "cause": "搓纸轮磨损",
        "fix": "更换搓纸轮",
        "device_model": "HP LaserJet Pro M403dn",
        "category": "fault_rescue",
    }
    internal = call(api, "POST", KB, engineer, json=body, expect=201).json()
    assert internal["visibility"] == "internal" and internal["author"].startswith("test")
    assert search(api, hospital, "卡纸") == []
    call(api, "GET", f"{KB}/{internal['id']}", hospital, expect=404)
    own = {
        **body,
        "title": "医院打印机卡纸处理",
        "visibility": "customer",
        "customer_id": "wdkn-hospital",
    }
    mine = call(api, "POST", KB, engineer, json=own, expect=201).json()
    assert [h["id"] for h in search(api, hospital, "卡纸")] == [mine["id"]]
    assert search(api, school, "卡纸") == []
    # made public: every customer finds it, and it is indexed again with its new words
    edited = call(
        api,
        "PATCH",
        f"{KB}/{internal['id']}",
        engineer,
        json={"visibility": "public", "fix": "更换搓纸轮并清洁进纸通道"},
        expect=200,
    ).json()
    assert edited["visibility"] == "public" and edited["updated_by"].startswith("test")
    assert [h["id"] for h in search(api, school, "进纸通道")] == [internal["id"]]
    assert {h["id"] for h in search(api, hospital, "卡纸")} == {internal["id"], mine["id"]}
    assert len(search(api, engineer, "卡纸")) == 2


def test_bad_knowledge_requests_are_problems(api: Api) -> None:
    engineer = api.headers("engineer")
    missing = call(
        api, "POST", KB, engineer, json={"title": "t", "visibility": "customer"}, expect=400
    )
    assert "$.customer_id" in missing.text
    call(api, "POST", KB, api.headers("agent"), json={"title": "t"}, expect=403)
    call(api, "POST", KB, api.headers("customer", customer="rsyz"), json={"title": "t"}, expect=403)
    call(api, "POST", KB, engineer, json={"title": "t", "colour": "red"}, expect=400)
    call(api, "GET", KB, engineer, expect=400)  # q is required
    call(api, "GET", KB, engineer, params={"q": "x", "limit": 51}, expect=400)
    call(api, "GET", f"{KB}/999999", engineer, expect=404)
    call(api, "PATCH", f"{KB}/999999", engineer, json={"title": "t"}, expect=404)
    assert search(api, engineer, "，。！") == []  # punctuation only: no terms, no error


def test_device_changes_are_recorded_on_the_device_and_the_case(api: Api) -> None:
    staff = api.headers("service_manager", "engineer")
    device = call(api, "GET", f"{DEVICES}/{SWITCH}", staff, expect=200).json()
    assert (device["model"], device["software_version"], device["history"]) == (
        "H3C S5560X-54C-EI",
        None,
        [],
    )
    number = call(api, "POST", CASES, staff, json=rescue_body(api), expect=201).json()["number"]
    change = {
        "software_version": "Comware 7.1.070 R6728",
        "environment": "核心机房 机柜A3",
        "case_number": number,
        "note": "升级固件修复端口驱动缺陷",
    }
    after = call(api, "POST", f"{DEVICES}/{SWITCH}/changes", staff, json=change, expect=200).json()
    assert after["software_version"] == "Comware 7.1.070 R6728"
    [event] = after["history"]
    assert event["changes"] == {
        "environment": {"from": None, "to": "核心机房 机柜A3"},
        "software_version": {"from": None, "to": "Comware 7.1.070 R6728"},
    }
    assert (event["source"], event["case_number"]) == ("case", number)
    detail = call(api, "GET", f"{CASES}/{number}", staff, expect=200).json()
    recorded = [e for e in detail["events"] if e["kind"] == "device_changed"]
    assert [e["seq"] for e in recorded] == [event["case_seq"]]
    # the same values again change nothing; a new version is a second event
    again = call(api, "POST", f"{DEVICES}/{SWITCH}/changes", staff, json=change, expect=200).json()
    assert len(again["history"]) == 1
    newer = {"software_version": "Comware 7.1.070 R6731"}
    later = call(api, "POST", f"{DEVICES}/{SWITCH}/changes", staff, json=newer, expect=200).json()
    assert [e["source"] for e in later["history"]] == ["case", "manual"]
    assert later["history"][1]["changes"]["software_version"]["from"] == "Comware 7.1.070 R6728"
    call(api, "GET", f"{DEVICES}/NO-SUCH-SERIAL", staff, expect=404)
    call(
        api,
        "GET",
        f"{DEVICES}/{SWITCH}",
        api.headers("customer", customer="wdkn-hospital"),
        expect=403,
    )
    other = {"model": "x", "case_number": "MS-2026-999999"}
    call(api, "POST", f"{DEVICES}/{SWITCH}/changes", staff, json=other, expect=404)


def test_device_history_is_append_only(api: Api) -> None:
    staff = api.headers("service_manager")
    body = {"site": "文登区米山路 门诊楼3层"}
    call(api, "POST", f"{DEVICES}/{SWITCH}/changes", staff, json=body, expect=200)
    with api.runtime.sessions() as session:
        assert session.scalar(select(orm.DeviceEvent.id))
        for statement in ("UPDATE device_events SET actor = 'x'", "DELETE FROM device_events"):
            with pytest.raises((IntegrityError, DBAPIError)):
                session.execute(text(statement))
            session.rollback()
