"""What a first-time caller of the API sees when a request is wrong (issue 11 §7): enum errors
list the allowed values, parameter errors name the parameter, every missing field at once, a
WeChat channel among the case channels."""

from __future__ import annotations

from typing import Any

import msgspec
from test_api_cases import CASES, call, open_body

from conftest import Api
from core.case import Channel, Priority, Status
from core.commands import OpenCase


def problem(api: Api, method: str, url: str, **kwargs: Any) -> dict[str, Any]:
    response = call(api, method, url, api.headers("agent"), expect=400, **kwargs)
    body = response.json()
    assert "ParamType" not in response.text, response.text
    return body


def values(enum: Any) -> str:
    return ", ".join(str(member) for member in enum)


def test_query_enum_error_names_the_parameter_and_its_values(api: Api) -> None:
    body = problem(api, "GET", CASES, params={"status": "bogus"})
    assert body["errors"] == [
        {
            "path": "query.status",
            "message": f"Invalid enum value 'bogus'; expected one of: {values(Status)}",
        }
    ]
    assert body["detail"].startswith("query parameter `status`: Invalid enum value 'bogus'")
    repeated = problem(api, "GET", CASES, params=[("priority", "P1"), ("priority", "P9")])
    assert repeated["errors"][0]["path"] == "query.priority"
    assert repeated["errors"][0]["message"].endswith(f"expected one of: {values(Priority)}")


def test_query_type_error_names_the_parameter(api: Api) -> None:
    body = problem(api, "GET", CASES, params={"limit": "many"})
    assert body["errors"] == [{"path": "query.limit", "message": "Expected `int`, got `str`"}]
    assert body["detail"] == "query parameter `limit`: Expected `int`, got `str`"


def test_body_enum_error_lists_the_allowed_values(api: Api) -> None:
    body = problem(api, "POST", CASES, json=open_body(api, channel="carrier-pigeon"))
    assert body["errors"] == [
        {
            "path": "$.channel",
            "message": f"Invalid enum value 'carrier-pigeon'; expected one of: {values(Channel)}",
        }
    ]


def test_every_missing_required_field_is_reported_at_once(api: Api) -> None:
    sent = {"caller": {"phone": "0631-8451234"}, "appointment": {}, "priority": "P2"}
    body = problem(api, "POST", CASES, json=sent)
    found = {(e["path"], e["message"]) for e in body["errors"]}
    required = {f.encode_name for f in msgspec.inspect.type_info(OpenCase).fields if f.required}
    expected = {
        ("$", f"Object missing required field `{name}`") for name in required - set(sent)
    } | {
        ("$.caller", "Object missing required field `name`"),
        ("$.appointment", "Object missing required field `start`"),
        ("$.appointment", "Object missing required field `end`"),
    }
    assert found == expected
    assert len(body["errors"]) == len(expected)  # each once
    assert {"contract_id", "summary", "channel"} <= {
        m.split("`")[1] for _, m in found
    }  # the top level's, whatever field msgspec met first


def test_a_type_error_comes_with_the_missing_fields_too(api: Api) -> None:
    sent = open_body(api, priority=1)
    del sent["summary"], sent["channel"]
    body = problem(api, "POST", CASES, json=sent)
    assert body["errors"][0] == {"path": "$.priority", "message": "Expected `str`, got `int`"}
    assert body["errors"][1:] == [
        {"path": "$", "message": "Object missing required field `summary`"},
        {"path": "$", "message": "Object missing required field `channel`"},
    ]


def test_a_wechat_case_opens_and_the_schema_offers_it(api: Api) -> None:
    opened = call(
        api, "POST", CASES, api.headers("agent"), json=open_body(api, channel="wechat"), expect=201
    ).json()
    case = call(api, "GET", f"{CASES}/{opened['number']}", api.headers("agent"), expect=200)
    assert case.json()["channel"] == "wechat"
    schema = call(api, "GET", "/schema/openapi.json", expect=200).text
    assert '"wechat"' in schema
