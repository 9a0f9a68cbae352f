"""On-site over HTTP (issue 13 §4): the role matrix, the customer's view, multipart uploads
(size and type by magic bytes → 4xx problems) on both back ends."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from conftest import Api
from core.runtime import build_runtime
from core.settings import Settings

CASES = "/api/v1/cases"
PORT, SWITCH = "sdgw-2025", "FOC2334Y1AB"  # 石岛 (荣成)
PDF = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj <<>> endobj\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
LIMIT = 2048


@pytest.fixture
def api(db_url: str, tmp_path: Path) -> Iterator[Api]:
    """The app with a 2 KiB attachment limit and the port's contract in force (API_NOW is in
    2026-10, after its period: the clock is set back to 2026-06-10)."""
    from litestar.testing import TestClient

    from conftest import API_NOW
    from server import create_app

    settings = Settings(
        database_url=db_url,
        contracts_dir=str(Path(__file__).resolve().parent.parent / "contracts"),
        var_dir=str(tmp_path / "var"),
        attachment_max_bytes=LIMIT,
    )
    holder = Api.__new__(Api)
    runtime = build_runtime(settings, clock=lambda: holder.now)
    app = create_app(settings, runtime=runtime)
    with TestClient(app, raise_server_exceptions=False) as client:
        holder.__init__(runtime, client)
        holder.now = API_NOW - timedelta(days=126)  # Wed 2026-06-10 10:00 in Weihai
        yield holder


def post(api: Api, path: str, headers: dict[str, str], expect: int, **kw: Any) -> Any:
    response = api.client.post(path, headers=headers, **kw)
    assert response.status_code == expect, response.text
    return response.json()


def emergency_case(api: Api) -> str:
    body = {
        "contract_id": PORT,
        "caller": {"name": "鞠文涛"},
        "summary": "core switch down",
        "category": "consulting",
        "request_type": "problem_report",
        "priority": "P1",
        "channel": "phone",
        "device_serial": SWITCH,
        "emergency": True,
    }
    return str(post(api, CASES, api.headers("agent"), 201, json=body)["number"])


def test_an_engineer_dispatches_an_emergency_and_records_the_signed_steps(api: Api) -> None:
    number = emergency_case(api)
    url = f"{CASES}/{number}"
    engineer, customer = api.headers("engineer"), api.headers("customer", customer="sdgw")
    # the normal on-site request is the service manager's; the emergency is the engineer's too
    post(api, f"{url}/onsite-request", engineer, 403, json={"reason": "x"})
    post(api, f"{url}/onsite-emergency", customer, 403, json={"reason": "x"})
    case = post(api, f"{url}/onsite-emergency", engineer, 200, json={"reason": "cranes stopped"})
    [clock] = [c for c in case["clocks"] if c["kind"] == "onsite_arrival"]
    assert clock["deadline"] == "2026-06-10T04:00:00Z"  # 10:00 + 荣成's emergency 2 h
    # a step before the arrival is 409, a restart without approval 409 naming the supervisor
    signed = {"signed_by": "毕红梅"}
    problem = post(api, f"{url}/onsite/request-signed", engineer, 409, json=signed)
    assert problem["type"] == "/problems/on-site-step-out-of-order"
    post(api, f"{url}/onsite/prepared", engineer, 200, json={"files": ["设备档案"]})
    post(api, f"{url}/onsite-arrival", engineer, 200, json={})
    post(api, f"{url}/onsite/request-signed", engineer, 200, json=signed)
    restart = {"operation": "restart", "description": "reload the core switch"}
    problem = post(api, f"{url}/onsite/operations", engineer, 409, json=restart)
    assert problem["type"] == "/problems/approval-required"
    assert "maintenance supervisor" in problem["detail"]
    approval = {"operation": "restart", "approved_by": "汤立新"}
    post(api, f"{url}/onsite/operation-approved", engineer, 200, json=approval)
    post(api, f"{url}/onsite/operations", engineer, 200, json=restart)
    post(api, f"{url}/onsite/operations", customer, 403, json=restart)
    # the signed report's scan: uploaded, then named by its SHA-256
    files = {"data": ("report.pdf", PDF, "application/pdf")}
    ref = post(api, f"{url}/attachments", engineer, 201, files=files)
    assert ref == {
        "sha256": hashlib.sha256(PDF).hexdigest(),
        "size": len(PDF),
        "media_type": "application/pdf",
        "name": "report.pdf",
    }
    report = {"signed_by": "毕红梅", "summary": "restored", "attachments": [ref["sha256"]]}
    post(api, f"{url}/onsite/report-signed", engineer, 200, json=report)
    post(api, f"{url}/onsite/training", engineer, 200, json={"topic": "logs"})
    staff_view = api.client.get(f"{url}/onsite", headers=engineer).json()
    assert staff_view["state"] == "reported" and staff_view["engineer"] == "lin-haitao"
    # the customer sees the status and the signed steps, not the engineer's preparation
    mine = api.client.get(f"{url}/onsite", headers=customer)
    assert mine.status_code == 200, mine.text
    kinds = [s["kind"] for s in mine.json()["steps"]]
    assert "onsite_prepared" in [s["kind"] for s in staff_view["steps"]]
    assert kinds == [
        "onsite_requested",
        "onsite_arrived",
        "onsite_request_signed",
        "onsite_operation_approved",
        "onsite_operation_performed",
        "onsite_report_signed",
        "onsite_training_given",
    ]
    assert mine.json()["steps"][5]["fields"]["attachments"][0]["sha256"] == ref["sha256"]
    other = api.headers("customer", customer="whccb")
    assert api.client.get(f"{url}/onsite", headers=other).status_code == 404


def test_a_bad_upload_is_a_4xx_problem_naming_what_is_wrong(api: Api) -> None:
    number = emergency_case(api)
    url = f"{CASES}/{number}/attachments"
    engineer = api.headers("engineer")
    # a text file sent as a PDF: the type is read from the bytes
    fake = {"data": ("report.pdf", b"hello, not a pdf", "application/pdf")}
    problem = post(api, url, engineer, 415, files=fake)
    assert problem["type"] == "/problems/unsupported-attachment-type"
    assert "(sent as application/pdf)" in problem["detail"]
    big = {"data": ("photo.png", PNG + b"\x00" * LIMIT, "image/png")}
    problem = post(api, url, engineer, 413, files=big)
    assert problem["type"] == "/problems/attachment-too-large"
    assert f"at most {LIMIT}" in problem["detail"]
    # far past the route's limit: litestar's own 413, still a problem body
    huge = {"data": ("photo.png", PNG + b"\x00" * (LIMIT + 128 * 1024), "image/png")}
    response = api.client.post(url, headers=engineer, files=huge)
    assert response.status_code == 413
    assert response.headers["content-type"].startswith("application/problem+json")
    ok = {"data": ("photo.png", PNG, "image/png")}
    assert post(api, url, engineer, 201, files=ok)["media_type"] == "image/png"
    post(api, url, api.headers("customer", customer="sdgw"), 403, files=ok)


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_the_command_line_checks_the_same_roles(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import json
    from datetime import datetime
    from zoneinfo import ZoneInfo

    import cli.onsite
    from cli.main import main
    from core.commands import Caller, OpenCase

    at = datetime(2026, 10, 14, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
    contracts = str(Path(__file__).resolve().parent.parent / "contracts")
    for name, value in (("DATABASE_URL", db_url), ("VAR_DIR", str(tmp_path / "var"))):
        monkeypatch.setenv(f"CASETRACK_{name}", value)
    monkeypatch.setenv("CASETRACK_CONTRACTS_DIR", contracts)
    monkeypatch.setattr(
        cli.onsite, "_runtime", lambda settings: build_runtime(settings, clock=lambda: at)
    )
    runtime = build_runtime(Settings.from_env())
    opened = OpenCase(
        contract_id="wdkn-hospital-2026",
        caller=Caller(name="徐晓东"),
        summary="HIS down",
        category="consulting",  # type: ignore[arg-type]
        request_type="problem_report",  # type: ignore[arg-type]
        priority="P1",  # type: ignore[arg-type]
        channel="phone",  # type: ignore[arg-type]
        device_serial="CZJ9350FKQ",
    )
    number = runtime.desk.open_case(opened, actor="agent", now=at).number
    runtime.close()

    def run(*argv: str) -> tuple[int, str, str]:
        code = main(["onsite", *argv])
        out, err = capsys.readouterr()
        return code, out, err

    code, _, err = run("emergency", number, "--as", "zhang-haiyan", "--reason", "HIS down")
    assert code == 1 and "may not do this" in err  # a project manager dispatches nobody
    code, out, _ = run("emergency", number, "--as", "yu-tao", "--reason", "HIS down")
    assert code == 0 and json.loads(out)["state"] == "requested"
    assert run("step", number, "arrived", "--as", "yu-tao")[0] == 0
    restart = '{"operation": "restart", "description": "reboot the HIS server"}'
    code, _, err = run("step", number, "operation", "--json", restart, "--as", "yu-tao")
    assert code == 1 and "maintenance supervisor" in err
    scan = tmp_path / "report.pdf"
    scan.write_bytes(PDF)
    code, out, _ = run("attach", number, str(scan), "--as", "于涛")
    assert code == 0 and json.loads(out)["sha256"] == hashlib.sha256(PDF).hexdigest()
    signed = json.dumps(
        {"signed_by": "邵敏", "summary": "ok", "attachments": [json.loads(out)["sha256"]]}
    )
    code, out, _ = run("step", number, "report-signed", "--json", signed, "--as", "yu-tao")
    assert code == 0 and json.loads(out)["state"] == "reported"
    assert main(["audit", "verify"]) == 0
    assert "1 attachments intact" in capsys.readouterr().out
