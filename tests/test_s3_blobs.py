"""The S3-compatible attachment store (core.store.s3_blobs) against a real local S3 server:
moto's ThreadedMotoServer on an ephemeral port speaks the S3 wire protocol (REST, SigV4,
XML errors) to boto3 as AWS or MinIO would; our code runs unchanged against it."""

from __future__ import annotations

import hashlib
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto.server import ThreadedMotoServer
from rma_support import at, open_port_case, rma_runtime

from conftest import Api
from core.errors import Unavailable
from core.runtime import Runtime, build_runtime
from core.settings import Settings, SettingsError
from core.store.blobs import (
    BlobCorrupt,
    BlobMissing,
    BlobStoreError,
    BlobStoreUnavailable,
    UnknownAttachment,
    blob_problem,
    open_blobs,
    read_blob,
)
from core.store.s3_blobs import S3Blobs, S3Location

ACCESS, SECRET = "AKIACASETRACKTEST", "s3-secret-never-shown-0123456789"
BUCKET = "casetrack-attachments"
PDF = b"%PDF-1.7\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@pytest.fixture(scope="module")
def s3_server() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    url = f"http://{host}:{port}"
    admin = _client(url)
    admin.create_bucket(Bucket=BUCKET)
    yield url
    server.stop()


def _client(url: str) -> Any:
    return boto3.session.Session().client(
        "s3",
        endpoint_url=url,
        aws_access_key_id=ACCESS,
        aws_secret_access_key=SECRET,
        region_name="us-east-1",
    )


def s3_settings(endpoint: str, **more: Any) -> dict[str, Any]:
    return {
        "attachments_store": f"s3://{BUCKET}/casetrack/att",
        "attachments_s3_endpoint_url": endpoint,
        "attachments_s3_access_key": ACCESS,
        "attachments_s3_secret_key": SECRET,
        "attachments_s3_timeout_seconds": 2.0,
        **more,
    }


@pytest.fixture
def runtime(db_url: str, tmp_path: Path, s3_server: str) -> Iterator[Runtime]:
    rt = rma_runtime(db_url, tmp_path, **s3_settings(s3_server))
    yield rt
    rt.close()


def dead_endpoint() -> str:
    """A local port nobody listens on (bound, then closed)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def test_an_upload_round_trips_through_the_desk_into_the_bucket(
    runtime: Runtime, s3_server: str
) -> None:
    assert isinstance(runtime.desk.blobs, S3Blobs)  # chosen by the settings alone
    number = open_port_case(runtime, at("2026-03-02T10:00"))
    ref = runtime.desk.attach(
        number,
        PDF,
        name="report.pdf",
        claimed="application/pdf",
        actor="eng:x",
        now=at("2026-03-02T11:00"),
    )
    assert ref.sha256 == hashlib.sha256(PDF).hexdigest() and ref.size == len(PDF)
    # the object is where the setting says, with the bytes uploaded
    key = f"casetrack/att/{ref.sha256[:2]}/{ref.sha256}"
    stored = _client(s3_server).get_object(Bucket=BUCKET, Key=key)
    assert stored["Body"].read() == PDF
    again = runtime.desk.attach(
        number, PDF, name="again.pdf", claimed=None, actor="eng:x", now=at("2026-03-02T11:05")
    )
    assert again.sha256 == ref.sha256
    got_ref, data = runtime.desk.attachment(number, ref.sha256)
    assert data == PDF and got_ref.media_type == "application/pdf"


def test_bytes_changed_in_the_bucket_are_refused_on_read_and_by_the_audit(
    runtime: Runtime, s3_server: str
) -> None:
    number = open_port_case(runtime, at("2026-03-02T10:00"))
    ref = runtime.desk.attach(
        number, PNG, name="photo.png", claimed=None, actor="eng:x", now=at("2026-03-02T11:00")
    )
    key = f"casetrack/att/{ref.sha256[:2]}/{ref.sha256}"
    _client(s3_server).put_object(Bucket=BUCKET, Key=key, Body=PNG + b"forged")
    with pytest.raises(BlobCorrupt, match=f"{len(PNG) + 6} bytes"):
        runtime.desk.attachment(number, ref.sha256)
    _client(s3_server).delete_object(Bucket=BUCKET, Key=key)
    with pytest.raises(BlobMissing, match="missing from the store"):
        runtime.desk.attachment(number, ref.sha256)
    # `audit verify` asks the same store
    assert runtime.desk.blobs is not None
    assert blob_problem(runtime.desk.blobs, ref.sha256) == (
        f"attachment {ref.sha256} is missing from the store"
    )


def test_a_missing_object_is_none_to_the_store_and_blob_missing_to_a_reader(
    s3_server: str,
) -> None:
    store = open_blobs(Settings(**s3_settings(s3_server)))
    absent = hashlib.sha256(b"never uploaded").hexdigest()
    assert store.get(absent) is None
    with pytest.raises(BlobMissing):
        read_blob(store, absent, 14)


def test_a_store_that_is_down_is_unavailable_503_not_a_500(db_url: str, tmp_path: Path) -> None:
    rt = rma_runtime(db_url, tmp_path, **s3_settings(dead_endpoint()))
    try:
        number = open_port_case(rt, at("2026-03-02T10:00"))
        with pytest.raises(BlobStoreUnavailable) as caught:
            rt.desk.attach(
                number,
                PDF,
                name="r.pdf",
                claimed=None,
                actor="eng:x",
                now=at("2026-03-02T11:00"),
            )
        assert isinstance(caught.value, Unavailable)
        assert "try again later" in caught.value.detail
        assert SECRET not in caught.value.detail and ACCESS not in caught.value.detail
        # nothing was recorded for a file the store never got
        with pytest.raises(UnknownAttachment):
            rt.desk.attachment(number, hashlib.sha256(PDF).hexdigest())
    finally:
        rt.close()


def test_a_missing_bucket_or_refused_keys_is_a_server_error_naming_the_bucket(
    s3_server: str,
) -> None:
    store = open_blobs(Settings(**s3_settings(s3_server, attachments_store="s3://no-such-bkt/x")))
    with pytest.raises(BlobStoreError, match="no-such-bkt") as caught:
        store.put(PDF)
    assert not isinstance(caught.value, Unavailable)
    assert SECRET not in caught.value.detail


def test_the_settings_name_a_bad_store_url_and_keep_the_keys_out_of_reprs(
    s3_server: str,
) -> None:
    with pytest.raises(SettingsError, match="CASETRACK_ATTACHMENTS_STORE"):
        open_blobs(Settings(attachments_store="https://bucket/x"))
    assert S3Location.parse("s3://b/one/two/").key("a" * 64) == f"one/two/aa/{'a' * 64}"
    settings = Settings(**s3_settings(s3_server))
    store = open_blobs(settings)
    for text in (repr(settings), repr(store), str(store)):
        assert SECRET not in text and ACCESS not in text


# --- over HTTP: the upload route answers 201 with the bucket, 503 without it ----------------------


@contextmanager
def s3_api(db_url: str, tmp: Path, endpoint: str) -> Iterator[Api]:
    from litestar.testing import TestClient

    from conftest import API_NOW
    from server import create_app

    settings = Settings(
        database_url=db_url,
        contracts_dir=str(Path(__file__).resolve().parent.parent / "contracts"),
        var_dir=str(tmp / "var"),
        **s3_settings(endpoint),
    )
    holder = Api.__new__(Api)
    runtime = build_runtime(settings, clock=lambda: holder.now)
    app = create_app(settings, runtime=runtime)
    with TestClient(app, raise_server_exceptions=False) as client:
        holder.__init__(runtime, client)  # type: ignore[misc]
        holder.now = API_NOW - timedelta(days=126)  # inside the port's contract period
        yield holder


def upload(api: Api) -> Any:
    body = {
        "contract_id": "sdgw-2025",
        "caller": {"name": "鞠文涛"},
        "summary": "core switch down",
        "category": "consulting",
        "request_type": "problem_report",
        "priority": "P1",
        "channel": "phone",
        "device_serial": "FOC2334Y1AB",
    }
    opened = api.client.post("/api/v1/cases", headers=api.headers("agent"), json=body)
    assert opened.status_code == 201, opened.text
    url = f"/api/v1/cases/{opened.json()['number']}/attachments"
    files = {"data": ("report.pdf", PDF, "application/pdf")}
    return api.client.post(url, headers=api.headers("engineer"), files=files)


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)  # the desk tests run on both
def test_the_upload_route_stores_in_the_bucket_and_answers_503_when_it_is_down(
    db_url: str, tmp_path: Path, s3_server: str
) -> None:
    with s3_api(db_url, tmp_path / "up", s3_server) as api:
        response = upload(api)
        assert response.status_code == 201, response.text
        sha = response.json()["sha256"]
        assert sha == hashlib.sha256(PDF).hexdigest()
        case_url = response.request.url.path.rsplit("/", 1)[0]
        got = api.client.get(f"{case_url}/attachments/{sha}", headers=api.headers("agent"))
        assert got.status_code == 200 and got.content == PDF  # read back from the bucket
        assert got.headers["content-type"] == "application/pdf"
        assert "report.pdf" in got.headers["content-disposition"]
        other = api.client.get(f"{case_url}/attachments/{'0' * 64}", headers=api.headers("agent"))
        assert other.status_code == 422 and other.json()["type"].startswith("/problems/")
        customer = api.headers("customer", customer="sdgw")
        hidden = api.client.get(f"{case_url}/attachments/{sha}", headers=customer)
        assert hidden.status_code in (403, 404) and PDF not in hidden.content
    with s3_api(db_url, tmp_path / "down", dead_endpoint()) as api:
        response = upload(api)
        assert response.status_code == 503, response.text
        assert response.headers["content-type"].startswith("application/problem+json")
        assert response.headers["retry-after"]
        problem = response.json()
        assert problem["type"] == "/problems/attachment-store-unavailable"
        assert SECRET not in response.text and ACCESS not in response.text
