"""The RMA routes, both back ends: staff open, record and cancel; customers see their own
case's RMAs without internals; a descriptor-only channel is a 409, never a 5xx."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from test_api_cases import CASES, call, open_case

from conftest import Api

HIS = "CZJ9350FKR"  # the hospital's HIS server: rma digital_china
CUSTOMER = "wdkn-hospital"


@pytest.fixture(autouse=True)
def spool(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The request e-mails go to a spool (no SMTP host), here a temporary one."""
    monkeypatch.setenv("CASETRACK_EMAIL_SPOOL", str(tmp_path / "spool"))
    return tmp_path / "spool"


def rmas(number: str) -> str:
    return f"{CASES}/{number}/rmas"


def test_staff_open_update_cancel_and_customers_see_no_internals(api: Api, spool: Path) -> None:
    agent = api.headers("agent")
    number = open_case(api, agent, device_serial=HIS)["number"]
    opened = call(
        api, "POST", rmas(number), {**agent, "Idempotency-Key": "his-psu-1"}, json={}, expect=201
    ).json()
    assert (opened["state"], opened["channel"], opened["idempotency_key"]) == (
        "requested",
        "digital_china",
        "his-psu-1",
    )
    assert len(list(spool.glob("*.eml"))) == 1
    again = call(
        api, "POST", rmas(number), {**agent, "Idempotency-Key": "his-psu-1"}, json={}, expect=201
    ).json()
    assert again["id"] == opened["id"] and len(list(spool.glob("*.eml"))) == 1

    entry = {"state": "shipped", "vendor_case": "DC-88", "carrier": "顺丰", "waybill": "SF1"}
    url = f"{rmas(number)}/{opened['id']}/updates"
    updated = call(api, "POST", url, agent, json=entry, expect=200).json()
    assert (updated["state"], updated["waybill"]) == ("shipped", "SF1")

    customer = api.headers("customer", customer=CUSTOMER)
    [seen] = call(api, "GET", rmas(number), customer, expect=200).json()
    assert set(seen) == {
        "id", "channel", "vendor_case", "state", "promise_ship_by", "carrier", "waybill",
    }  # fmt: skip
    detail = call(api, "GET", f"{CASES}/{number}", customer, expect=200).json()
    kinds = [e["kind"] for e in detail["events"]]
    assert kinds.count("rma_updated") == 2
    assert "his-psu-1" not in str(detail)  # the key stays internal
    call(api, "POST", rmas(number), customer, json={}, expect=403)

    cancel = {"reason": "the old unit came back to life"}
    done = call(api, "POST", f"{rmas(number)}/{opened['id']}/cancel", agent, json=cancel)
    assert done.status_code == 200 and done.json()["state"] == "cancelled"
    call(api, "POST", f"{rmas(number)}/{opened['id']}/cancel", agent, json=cancel, expect=409)


def test_refusals_are_problems(api: Api) -> None:
    agent = api.headers("agent")
    number = open_case(api, agent)["number"]  # no device on the case
    refused = call(api, "POST", rmas(number), agent, json={}, expect=422)
    assert "names no device" in refused.json()["detail"]
    call(api, "POST", rmas(number), agent, json={"serial": "NOPE"}, expect=422)
    call(api, "POST", rmas(number), agent, json={"state": "x"}, expect=400)
    call(api, "POST", f"{rmas(number)}/999/cancel", agent, json={"reason": "x"}, expect=404)
    other = api.headers("customer", customer="rsyz")
    call(api, "GET", rmas(number), other, expect=404)  # another customer's case: unknown


def test_a_descriptor_only_channel_is_a_conflict(api: Api) -> None:
    from core.rma import RmaChannel

    channels: Any = api.runtime.desk.rma_channels
    channels.channels["digital_china"] = RmaChannel(
        name="digital_china", vendor="DC", description=""
    )
    channels._clients.clear()
    agent = api.headers("agent")
    number = open_case(api, agent, device_serial=HIS)["number"]
    refused = call(api, "POST", rmas(number), agent, json={}, expect=409)
    assert "descriptor only" in refused.json()["detail"]


def test_openapi_documents_the_rma_operations(api: Api) -> None:
    schema = call(api, "GET", "/schema/openapi.json", expect=200).json()
    ops = {
        op["operationId"]
        for path, item in schema["paths"].items()
        if "/rmas" in path
        for op in item.values()
    }
    assert ops == {"listRmas", "openRma", "recordRmaUpdate", "cancelRma"}
