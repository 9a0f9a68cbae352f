"""GET /api/v1/queues/{queue} and GET /api/v1/board over HTTP on both back ends."""

from __future__ import annotations

from typing import Any

from test_api_cases import CASES, call, open_case

from conftest import Api

QUEUES = "/api/v1/queues"


def named(api: Api, role: str, name: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {api.token(role, name=name)}"}


def numbers(page: dict[str, Any]) -> list[str]:
    return [row["number"] for row in page["items"]]


def test_queues_over_http(api: Api) -> None:
    agent = api.headers("agent")
    first = open_case(api, agent)
    second = open_case(api, agent, priority="P1")
    call(
        api,
        "POST",
        f"{CASES}/{first['number']}/assign",
        agent,
        json={"engineer": "yu-tao"},
        expect=200,
    )
    engineer = named(api, "engineer", "yu-tao")
    mine = call(api, "GET", f"{QUEUES}/mine", engineer, expect=200).json()
    assert numbers(mine) == [first["number"]]
    row = mine["items"][0]
    assert row["assignee"] == "yu-tao" and row["customer_id"] == first["customer_id"]
    clock = min(
        (c for c in first["clocks"] if c["state"] == "running"), key=lambda c: c["deadline"]
    )
    assert row["next_deadline"]["kind"] == clock["kind"]
    assert isinstance(row["business_seconds_left"], int) and row["business_seconds_left"] > 0
    unassigned = call(api, "GET", f"{QUEUES}/unassigned", engineer, expect=200).json()
    assert numbers(unassigned) == [second["number"]]
    by_number = call(api, "GET", f"{QUEUES}/group", engineer, params={"sort": "-number"}).json()
    assert numbers(by_number) == [first["number"]]
    # a customer sees its own company's cases only
    own = api.headers("customer", customer=first["customer_id"])
    other = api.headers("customer", customer="rsyz")
    assert numbers(call(api, "GET", f"{QUEUES}/unassigned", own, expect=200).json()) == [
        second["number"]
    ]
    assert call(api, "GET", f"{QUEUES}/unassigned", other, expect=200).json()["items"] == []
    # a customer token named like the engineer has no "mine"
    lookalike = api.token("customer", customer=first["customer_id"], name="yu-tao")
    as_lookalike = {"Authorization": f"Bearer {lookalike}"}
    assert call(api, "GET", f"{QUEUES}/mine", as_lookalike, expect=200).json()["items"] == []


def test_queue_errors_are_problems(api: Api) -> None:
    agent = api.headers("agent")
    open_case(api, agent)
    open_case(api, agent)
    missing = call(api, "GET", f"{QUEUES}/yours", agent, expect=404).json()
    assert "unassigned" in missing["detail"]
    call(api, "GET", f"{QUEUES}/unassigned", agent, params={"sort": "colour"}, expect=400)
    call(api, "GET", f"{QUEUES}/unassigned", agent, params={"cursor": "garbage!"}, expect=400)
    page = call(api, "GET", f"{QUEUES}/unassigned", agent, params={"limit": 1}).json()
    assert page["next_cursor"]
    wrong = {"cursor": page["next_cursor"], "sort": "number"}
    call(api, "GET", f"{QUEUES}/unassigned", agent, params=wrong, expect=400)
    call(api, "GET", f"{QUEUES}/unassigned", None, expect=401)


def test_board_for_managers_only(api: Api) -> None:
    agent = api.headers("agent")
    open_case(api, agent)
    open_case(api, agent, priority="P1")
    call(api, "GET", "/api/v1/board", agent, expect=403)
    board = call(api, "GET", "/api/v1/board", api.headers("service_manager"), expect=200).json()
    assert sorted((o["priority"], o["status"], o["count"]) for o in board["open_cases"]) == [
        ("P1", "new", 1),
        ("P2", "new", 1),
    ]
    assert {c["kind"] for c in board["compliance"]} <= {
        c["kind"] for c in open_case(api, agent)["clocks"]
    }
    assert board["dead_letters"] == 0 and board["newest_dead_letters"] == []
    assert isinstance(board["horizon_warnings"], list)
