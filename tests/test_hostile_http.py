"""Hostile input over HTTP: YAML bombs, oversize and slow headers, control characters,
405/OPTIONS, personal data in logs and in a customer's view of its contract.

Protocol-level cases run against a real `casetrack serve` subprocess over raw sockets (the
test client cannot send a NUL in a header, nor be slow); the rest on both back ends.
"""

from __future__ import annotations

import json
import logging
import select
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import msgspec
import pytest
from sqlalchemy import text
from test_serve import Server, serve_env, token_of
from test_yamlsource import BILLION_LAUGHS

from cli.main import main
from conftest import API_NOW, Api
from core.store.db import make_engine
from core.store.tokens import create_token

ROOT = Path(__file__).resolve().parent.parent
CONTRACTS = ROOT / "contracts"
YAML = {"Content-Type": "application/yaml"}
HEADER_SECONDS = 1.0  # the served limits: small, so the tests are quick
MAX_HEADER_BYTES = 4096

HOSTILE_YAML = {
    # name: (text, line, column, words of the problem)
    "billion-laughs": (BILLION_LAUGHS, 6, 4, "more than 250,000 nodes"),
    "nested-1000": ("id: x\nnote: " + "[" * 1000 + "]" * 1000 + "\n", 2, 56, "deeper than 50"),
    "100000-digits": ("id: x\nnumber: " + "7" * 100_000 + "\n", 2, 9, "100,000 characters"),
}


# --- contract uploads ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", list(HOSTILE_YAML))
def test_hostile_contract_uploads_are_refused_with_a_located_problem(api: Api, name: str) -> None:
    body, line, column, words = HOSTILE_YAML[name]
    headers = {**api.headers("admin"), **YAML}
    response = api.client.post(
        "/api/v1/contracts/check",
        content=body.encode(),
        params={"name": "evil.yaml"},
        headers=headers,
    )
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    (error,) = response.json()["errors"]
    assert (error["file"], error["line"], error["column"]) == ("evil.yaml", line, column)
    assert words in error["message"]
    # the same inside a JSON upload of several files
    response = api.client.post(
        "/api/v1/contracts/check",
        json={"files": {"a.yaml": body}},
        headers=api.headers("admin"),
    )
    assert response.status_code == 422
    assert [(e["file"], e["line"]) for e in response.json()["errors"]] == [("a.yaml", line)]


def test_contracts_check_refuses_a_bomb_on_disk(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "tiers.yaml").write_bytes((CONTRACTS / "tiers.yaml").read_bytes())
    (tmp_path / "bomb.yaml").write_text(BILLION_LAUGHS, encoding="utf-8")
    assert main(["contracts", "check", str(tmp_path)]) == 1
    assert f"{tmp_path / 'bomb.yaml'}:6:4: $: YAML: expands to" in capsys.readouterr().err


def test_reload_refuses_a_bomb_and_keeps_the_contracts(api: Api, tmp_path: Path) -> None:
    contracts = tmp_path / "contracts"
    shutil.copytree(CONTRACTS, contracts)
    (contracts / "bomb.yaml").write_text(BILLION_LAUGHS, encoding="utf-8")
    before = api.runtime.contracts
    api.runtime.settings = msgspec.structs.replace(
        api.runtime.settings, contracts_dir=str(contracts), yaml_max_nodes=50_000
    )
    response = api.client.post("/api/v1/contracts/reload", headers=api.headers("admin"))
    assert response.status_code == 422
    (error,) = response.json()["errors"]
    assert (error["file"], error["line"], error["column"]) == ("bomb.yaml", 5, 4)
    assert "more than 50,000 nodes" in error["message"]  # the server's limit
    assert api.runtime.contracts is before


def test_the_yaml_limits_come_from_the_environment(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "deep.yaml").write_text("a: [[[[1]]]]\n", encoding="utf-8")
    monkeypatch.setenv("CASETRACK_YAML_MAX_DEPTH", "3")
    assert main(["contracts", "check", str(tmp_path / "deep.yaml")]) == 1
    assert "deep.yaml:1:6: $: YAML: nested deeper than 3 levels" in capsys.readouterr().err


# --- methods ------------------------------------------------------------------------------------


def methods(header: str) -> set[str]:
    return {m.strip() for m in header.split(",")}


def test_trace_and_other_405s_name_the_allowed_methods(api: Api) -> None:
    response = api.client.request("TRACE", "/api/v1/cases", headers=api.headers("admin"))
    assert response.status_code == 405
    assert response.headers["content-type"] == "application/problem+json"
    assert methods(response.headers["allow"]) == {"GET", "POST", "OPTIONS"}
    response = api.client.delete("/api/v1/contracts/check", headers=api.headers("admin"))
    assert response.status_code == 405
    assert methods(response.headers["allow"]) == {"POST", "OPTIONS"}


def test_options_lists_every_method_of_the_path(api: Api) -> None:
    auth = api.headers("admin")
    cases = api.client.options("/api/v1/cases", headers=auth)
    assert cases.status_code == 204
    assert methods(cases.headers["allow"]) == {"GET", "POST", "OPTIONS"}
    one = api.client.options("/api/v1/cases/MS-2026-000001", headers=auth)
    assert methods(one.headers["allow"]) == {"GET", "OPTIONS"}


# --- privacy ------------------------------------------------------------------------------------

PHONE, EMAIL, NAME = "13900001111", "leak.test@example.cn", "Zhou Leaktest"


def refuse_the_caller(url: str) -> None:
    """Make the database itself refuse a case from this caller (a test-only constraint)."""
    engine = make_engine(url)
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(
                text(
                    "ALTER TABLE cases ADD CONSTRAINT no_test_caller "
                    f"CHECK (caller_phone IS DISTINCT FROM '{PHONE}')"
                )
            )
        else:
            conn.execute(
                text(
                    "CREATE TRIGGER no_test_caller BEFORE INSERT ON cases "
                    f"WHEN NEW.caller_phone = '{PHONE}' BEGIN SELECT RAISE(ABORT, 'no'); END"
                )
            )
    engine.dispose()


def leaky_case() -> dict[str, Any]:
    return {
        "contract_id": "wdkn-hospital-2026",
        "caller": {"name": NAME, "company": "文登康宁医院", "phone": PHONE, "email": EMAIL},
        "summary": "HIS server unreachable from wards",
        "category": "consulting",
        "request_type": "problem_report",
        "priority": "P2",
        "channel": "phone",
    }


def assert_no_personal_data(text: str) -> None:
    for secret in (PHONE, EMAIL, NAME, "leak.test"):
        assert secret not in text, f"{secret!r} reached the log"


def test_a_database_error_logs_no_personal_data(
    api: Api, db_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    refuse_the_caller(db_url)
    caplog.set_level(logging.DEBUG)
    response = api.client.post("/api/v1/cases", json=leaky_case(), headers=api.headers("admin"))
    assert response.status_code == 500
    assert_no_personal_data(response.text)
    logged = "\n".join(
        [r.getMessage() + (r.exc_text or "") for r in caplog.records] + [caplog.text]
    )
    assert "IntegrityError" in logged and "no_test_caller" not in response.text
    assert "cases" in logged and "Traceback" in logged  # where it failed is still told
    assert_no_personal_data(logged)


def test_a_served_database_error_logs_no_personal_data(db_url: str, tmp_path: Path) -> None:
    refuse_the_caller(db_url)
    engine = make_engine(db_url)
    with engine.begin() as conn:
        from sqlalchemy.orm import Session

        with Session(conn) as session:
            token, _ = create_token(session, roles=("admin",), name="t", now=API_NOW)
            session.flush()
    engine.dispose()
    server = Server([], tmp_path, serve_env(database_url=db_url))
    try:
        server.wait_ready()
        auth = {"Authorization": f"Bearer {token}"}
        response = httpx.post(f"{server.base}/api/v1/cases", json=leaky_case(), headers=auth)
        assert response.status_code == 500
        server.stop()
        assert "unhandled error on POST /api/v1/cases" in server.stderr()
        assert_no_personal_data(server.stderr() + server.stdout())
    finally:
        server.kill()


def test_log_lines_keep_what_failed_and_mask_what_is_personal() -> None:
    from core.store.logsafe import describe

    assert describe(ValueError(f"bad caller {PHONE} <{EMAIL}>\nmore")) == (
        "ValueError: bad caller 139****1111 <l***@example.cn>"
    )
    engine = make_engine("postgresql://postgres@127.0.0.1:1/nothing")
    with pytest.raises(Exception) as caught:
        engine.connect()
    line = describe(caught.value)  # a refused connection is still told as such
    assert line.startswith("sqlalchemy.exc.OperationalError: psycopg.OperationalError")
    assert "port 1 failed" in line


def test_a_customer_sees_our_staff_mobiles_and_emails_masked(api: Api) -> None:
    url = "/api/v1/contracts/sdgw-2025"
    own = api.client.get(url, headers=api.headers("customer", customer="sdgw"))
    assert own.status_code == 200, own.text
    staff = own.json()["contract"]["our-staff"]
    assert staff["project-manager"] == {
        "name": "王磊",
        "phone": "0631-5187756",  # office lines stay: the customer calls us there
        "mobile": "139****2301",
        "email": "w***@mingsheng.example.cn",
    }
    assert staff["service-manager"]["mobile"] == "139****2306"
    assert "13963112301" not in own.text and "wang.lei@" not in own.text
    # its own contacts are its own people: as written
    assert own.json()["contract"]["customer"]["contacts"][0]["mobile"] == "15863112401"
    ours = api.client.get(url, headers=api.headers("service_manager")).json()
    assert ours["contract"]["our-staff"]["project-manager"]["mobile"] == "13963112301"
    assert (
        ours["contract"]["our-staff"]["project-manager"]["email"] == "wang.lei@mingsheng.example.cn"
    )


# --- a real server, raw sockets ----------------------------------------------------------------


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, str]]:
    """`casetrack serve --demo` (SQLite) with small request-head limits, and an admin token."""
    env = serve_env(
        http_header_seconds=str(HEADER_SECONDS), http_max_header_bytes=str(MAX_HEADER_BYTES)
    )
    server = Server(["--demo"], tmp_path_factory.mktemp("served"), env)
    try:
        server.wait_ready()
        yield server, token_of(server.stdout(), "admin")
    finally:
        server.kill()


def exchange(server: Server, request: bytes, timeout: float = 10) -> bytes:
    """Send ``request`` whole, read until the server closes (or ``timeout``)."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=timeout) as sock:
        sock.sendall(request)
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
        return received


def problem_of(response: bytes) -> tuple[int, dict[str, str], dict[str, Any]]:
    head, _, body = response.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines)}
    return int(status_line.split()[1]), headers, json.loads(body)


def get(path: str, *headers: bytes) -> bytes:
    return b"\r\n".join(
        [f"GET {path} HTTP/1.1".encode(), b"Host: test", b"Connection: close", *headers, b"", b""]
    )


def test_headers_within_the_limit_are_served(served: tuple[Server, str]) -> None:
    server, _ = served
    response = exchange(server, get("/healthz", b"X-Pad: " + b"p" * (MAX_HEADER_BYTES // 2)))
    assert response.startswith(b"HTTP/1.1 200 ")


@pytest.mark.parametrize("size", [MAX_HEADER_BYTES + 100, 1_000_000])
def test_an_oversize_head_is_a_431_problem(served: tuple[Server, str], size: int) -> None:
    server, _ = served
    status, headers, problem = problem_of(
        exchange(server, get("/healthz", b"X-Big: " + b"b" * size))
    )
    assert status == 431 and headers["content-type"] == "application/problem+json"
    assert problem["status"] == 431 and f"{MAX_HEADER_BYTES:,} bytes" in problem["detail"]


@pytest.mark.parametrize("bad", [b"\x00", b"\r", b"\x07"])
def test_a_control_character_in_a_header_is_a_400_problem(
    served: tuple[Server, str], bad: bytes
) -> None:
    server, token = served
    for header in (b"X-Note: a" + bad + b"b", b"Authorization: Bearer " + token.encode() + bad):
        status, headers, problem = problem_of(exchange(server, get("/api/v1/cases", header)))
        assert status == 400 and headers["content-type"] == "application/problem+json"
        assert problem["type"] == "/problems/malformed-request"
    assert httpx.get(f"{server.base}/healthz").status_code == 200  # still serving


def test_a_slow_head_is_cut_off_at_the_limit(served: tuple[Server, str]) -> None:
    """Slow loris: a header line every 0.1 s never ends the head; 408 at the limit, closed."""
    server, _ = served
    with socket.create_connection(("127.0.0.1", server.port)) as sock:
        start = time.monotonic()
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: test\r\n")
        received, closed = b"", False
        while not closed and time.monotonic() - start < HEADER_SECONDS + 5:
            # read what the server said before writing more: a line written after its close
            # draws a reset, which can discard the unread 408
            if select.select([sock], [], [], 0.1)[0]:
                try:
                    chunk = sock.recv(65536)
                except ConnectionResetError:
                    break
                received += chunk
                closed = not chunk
                continue
            try:
                sock.sendall(b"X-Slow: 1\r\n")
            except OSError:
                break  # reset: closed
        elapsed = time.monotonic() - start
    assert received.startswith(b"HTTP/1.1 408 "), received
    assert problem_of(received)[2]["title"] == "request timeout"
    # the clock starts when the connection is accepted, a moment before `start`
    assert HEADER_SECONDS - 0.2 <= elapsed < HEADER_SECONDS + 2, elapsed


def test_a_silent_connection_is_closed_at_the_limit(served: tuple[Server, str]) -> None:
    server, _ = served
    with socket.create_connection(("127.0.0.1", server.port), timeout=HEADER_SECONDS + 5) as sock:
        start = time.monotonic()
        assert sock.recv(1) == b""  # closed, nothing said
        assert time.monotonic() - start < HEADER_SECONDS + 2


def test_a_large_body_is_not_a_large_head(served: tuple[Server, str]) -> None:
    server, token = served
    auth = {"Authorization": f"Bearer {token}", **YAML}
    body = "id: x\nnote: '" + "n" * 500_000 + "'\n"
    response = httpx.post(f"{server.base}/api/v1/contracts/check", content=body, headers=auth)
    assert response.status_code == 422  # read and checked (not a contract), not a 431


def test_healthz_answers_while_an_upload_is_parsed_and_a_bomb_is_refused(
    served: tuple[Server, str],
) -> None:
    """Checks run on a worker thread: the event loop answers /healthz meanwhile."""
    server, token = served
    auth = {"Authorization": f"Bearer {token}", **YAML}
    url = f"{server.base}/api/v1/contracts/check"
    # about 200 kB of devices: parsed for a second or more
    device = "  - model: m\n    serial: S{:07d}\n    tier: 8x5xNBD\n"
    large = "id: big\ndevices:\n" + "".join(device.format(i) for i in range(4_500))
    results: dict[str, httpx.Response] = {}

    def upload(name: str, body: str) -> None:
        results[name] = httpx.post(url, content=body, headers=auth, timeout=60)

    threads = [
        threading.Thread(target=upload, args=("large", large)),
        threading.Thread(target=upload, args=("bomb", BILLION_LAUGHS)),
    ]
    for thread in threads:
        thread.start()
    answers = []
    while threads[0].is_alive():
        answers.append(httpx.get(f"{server.base}/healthz", timeout=5).status_code)
        time.sleep(0.05)
    for thread in threads:
        thread.join(60)
    assert answers and set(answers) == {200}
    assert results["large"].status_code == 422  # parsed whole: only contract problems
    bomb = results["bomb"]
    assert bomb.status_code == 422
    (error,) = bomb.json()["errors"]
    assert (error["line"], error["column"]) == (6, 4)
    assert bomb.elapsed.total_seconds() < 10  # it held a CPU for six minutes before
