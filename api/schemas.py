"""OpenAPI documentation structs and examples of the case API (bodies are core.commands Structs)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import msgspec
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import Example

from api.problems import MEDIA_TYPE
from core.store.queries import CaseDetail


class FieldProblem(msgspec.Struct, kw_only=True, omit_defaults=True):
    """One complaint, located by its JSON/YAML path (and file:line:column for contracts)."""

    path: str
    message: str
    file: str | None = None
    line: int | None = None
    column: int | None = None


class Problem(msgspec.Struct, kw_only=True, omit_defaults=True):
    """An RFC 9457 problem detail, as every error of the API is answered."""

    type: str
    title: str
    status: int
    detail: str
    instance: str
    errors: list[FieldProblem] | None = None
    missing_checklist: list[str] | None = None
    missing_deliverables: list[str] | None = None


OPEN_CASE_EXAMPLE: dict[str, Any] = {
    "contract_id": "wdkn-hospital-2026",
    "caller": {"name": "周医生", "company": "文登康宁医院", "phone": "0631-8451234"},
    "summary": "HIS server unreachable from wards",
    "category": "fault_rescue",
    "request_type": "problem_report",
    "priority": "P2",
    "channel": "phone",
    "device_serial": "219801A23B8205Q0021K",
    "appointment": {"start": "2026-10-14T10:00:00+08:00", "end": "2026-10-14T18:00:00+08:00"},
}

CASE_DETAIL_EXAMPLE: dict[str, Any] = {
    "number": "MS-2026-000042",
    "contract_id": "wdkn-hospital-2026",
    "customer_id": "wdkn-hospital",
    "summary": "HIS server unreachable from wards",
    "category": "fault_rescue",
    "request_type": "problem_report",
    "priority": "P2",
    "emergency": False,
    "out_of_contract": False,
    "status": "new",
    "assignee": None,
    "zone": "wendeng",
    "opened_at": "2026-10-14T02:00:00Z",
    "updated_at": "2026-10-14T02:00:00Z",
    "next_deadline": "2026-10-14T02:30:00Z",
    "breached": False,
    "version": 1,
    "caller_name": "周医生",
    "caller_company": "文登康宁医院",
    "caller_phone": "0631-8451234",
    "caller_email": None,
    "caller_address": None,
    "channel": "phone",
    "device_serial": "219801A23B8205Q0021K",
    "site": "文登区 康宁医院 信息中心机房",
    "appointment_start": "2026-10-14T02:00:00Z",
    "appointment_end": "2026-10-14T10:00:00Z",
    "resolved_at": None,
    "closed_at": None,
    "clocks": [
        {
            "kind": "first_response",
            "state": "running",
            "calendar": "duty",
            "target": "30m",
            "rule": "call center: respond within 30 minutes during working hours",
            "started_at": "2026-10-14T02:00:00Z",
            "deadline": "2026-10-14T02:30:00Z",
            "paused_at": None,
            "pause_cause": None,
            "pauses": [],
            "met_at": None,
            "breached_at": None,
            "exclusion_cause": None,
            "exclusion_note": None,
            "next_alert_at": "2026-10-14T02:20:00Z",
            "provisional": False,
        }
    ],
    "events": [
        {
            "seq": 1,
            "kind": "opened",
            "actor": "hotline (token 3)",
            "at": "2026-10-14T02:00:00Z",
            "payload": {"summary": "HIS server unreachable from wards", "zone": "wendeng"},
            "visibility": "customer",
            "hash": "9f2c…",
        }
    ],
}

PROBLEM_EXAMPLE: dict[str, Any] = {
    "type": "/problems/invalid-request",
    "title": "invalid request",
    "status": 400,
    "detail": "$.caller.name: Expected `str` of length >= 1",
    "instance": "/api/v1/cases",
    "errors": [{"path": "$.caller.name", "message": "Expected `str` of length >= 1"}],
}

open_case_examples = [
    Example(summary="a fault-rescue call about a covered switch", value=OPEN_CASE_EXAMPLE)
]
case_detail_examples = [Example(summary="a case just opened", value=CASE_DETAIL_EXAMPLE)]

_PROBLEM_TEXT = {
    400: "Invalid request: the problem lists every field path at fault.",
    401: "Missing, unknown or revoked token (WWW-Authenticate: Bearer).",
    403: "The token's roles do not allow this.",
    404: "No such case (or contract/customer) visible to this token.",
    409: "Illegal transition or a stale expected_version: reload and retry.",
    413: "Request body larger than 1 MB.",
    422: "The command does not fit the case or its contract.",
}


def case_detail_response(description: str) -> ResponseSpec:
    """A documented CaseDetail response with its example."""
    return ResponseSpec(
        data_container=CaseDetail,
        description=description,
        examples=case_detail_examples,
        generate_examples=False,
    )


def problem_responses(
    *codes: int, texts: Mapping[int, str] | None = None
) -> dict[int, ResponseSpec]:
    """Documented problem+json responses for the given status codes: the one builder of the
    API's error responses. ``texts`` says what a code means on this route (else the case
    API's wording); the generic 400 example goes with the generic 400 text only."""
    texts = texts or {}
    return {
        code: ResponseSpec(
            data_container=Problem,
            description=texts.get(code, _PROBLEM_TEXT.get(code, "")),
            media_type=MEDIA_TYPE,
            generate_examples=False,
            examples=[
                Example(summary=_PROBLEM_TEXT[code], value={**PROBLEM_EXAMPLE, "status": code})
            ]
            if code == 400 and code not in texts
            else None,
        )
        for code in codes
    }
