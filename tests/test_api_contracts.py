"""The contracts API: list, show, check an upload, reload from disk, and who may do which."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from conftest import Api
from core.runtime import build_runtime
from core.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
CONTRACTS = ROOT / "contracts"
SHIDAO = (CONTRACTS / "shidao-port.yaml").read_text(encoding="utf-8")
IDS = ["rsyz-2026", "sdgw-2025", "wdkn-hospital-2026", "whccb-huancui-2025"]
YAML = {"Content-Type": "application/yaml"}


def position(text: str, needle: str, *, within: str | None = None) -> tuple[int, int]:
    """1-based (line, column) of ``within`` inside the line that holds ``needle``."""
    for number, line in enumerate(text.splitlines(), start=1):
        if needle in line:
            return number, line.index(within or needle) + 1
    raise AssertionError(f"{needle!r} not in the text")


def new_contract(text: str = SHIDAO, *, suffix: str = "new") -> str:
    """The Shidao contract as a different contract: new id, customer and serials."""
    text = text.replace("id: sdgw-2025", f"id: sdgw-{suffix}", 1)
    text = text.replace("  id: sdgw\n", f"  id: sdgw-{suffix}\n", 1)
    for serial in ("FOC2334Y1AB", "FOC2334Y1AC", "2102312CJN10K5000212"):
        text = text.replace(serial, f"{serial}{suffix.upper()}")
    return text.replace("2102353SYB10P1000077", f"X{suffix}").replace(
        "219801A1NB8191Q0009X", f"Y{suffix}"
    )


def check(api: Api, text: str, *, name: str = "upload.yaml", role: str = "admin") -> Any:
    return api.client.post(
        "/api/v1/contracts/check",
        content=text.encode("utf-8"),
        params={"name": name},
        headers={**api.headers(role), **YAML},
    )


# --- list and show ----------------------------------------------------------------------------


def test_list_summarises_every_loaded_contract(api: Api) -> None:
    response = api.client.get("/api/v1/contracts", headers=api.headers("engineer"))
    assert response.status_code == 200
    items = response.json()["items"]
    assert [item["id"] for item in items] == IDS
    shidao = items[1]
    assert shidao == {
        "id": "sdgw-2025",
        "customer": {"id": "sdgw", "name": "荣成市石岛湾港务有限公司"},
        "program": "vendor-warranty",
        "period": {"start": "2025-10-01", "end": "2026-09-30"},
        "devices": 5,
        "file": "shidao-port.yaml",
    }


@pytest.mark.parametrize("role", ["agent", "service_manager", "complaint_manager", "admin"])
def test_every_staff_role_lists(api: Api, role: str) -> None:
    assert api.client.get("/api/v1/contracts", headers=api.headers(role)).status_code == 200


def test_customers_do_not_list_contracts(api: Api) -> None:
    headers = api.headers("customer", customer="sdgw")
    response = api.client.get("/api/v1/contracts", headers=headers)
    assert response.status_code == 403
    assert response.headers["content-type"].startswith("application/problem+json")


def test_show_is_the_contract_as_loaded_with_tiers_and_zones(api: Api) -> None:
    response = api.client.get("/api/v1/contracts/sdgw-2025", headers=api.headers("agent"))
    assert response.status_code == 200
    body = response.json()
    assert body["id"] == "sdgw-2025" and body["file"] == "shidao-port.yaml"
    contract = body["contract"]
    # kebab-case keys as in the YAML, defaults filled in as loaded
    assert contract["our-staff"]["project-manager"]["name"] == "王磊"
    assert contract["devices"][0]["vendor-terms"]["arrival"] == {
        "within": "1bd",
        "calendar": "working-hours",
        "from": "shipped",
    }
    assert contract["period"] == {"start": "2025-10-01", "end": "2026-09-30"}
    assert contract["onsite-labour"] is False
    assert contract["zones"]["resolver"] == "weihai_zones"
    assert body["tiers"] == ["24x7x48h", "8x5x48h", "8x5xNBD"]
    assert set(body["tiers"]) <= set(body["program_tiers"])
    assert {"city", "wendeng", "rongcheng", "rushan", "other"} <= set(body["zones"])


def test_unknown_contract_is_a_404_problem(api: Api) -> None:
    response = api.client.get("/api/v1/contracts/nope", headers=api.headers("engineer"))
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["title"] == "not found"


def test_a_customer_reads_its_own_contract_and_no_other(api: Api) -> None:
    headers = api.headers("customer", customer="sdgw")
    own = api.client.get("/api/v1/contracts/sdgw-2025", headers=headers)
    assert own.status_code == 200 and own.json()["contract"]["customer"]["id"] == "sdgw"
    other = api.client.get("/api/v1/contracts/rsyz-2026", headers=headers)
    missing = api.client.get("/api/v1/contracts/nope", headers=headers)
    assert other.status_code == missing.status_code == 404
    # the same answer as a missing one, and no list of the ids that exist
    assert other.json()["detail"] == "unknown contract 'rsyz-2026'"
    assert missing.json()["detail"] == "unknown contract 'nope'"
    assert "rsyz" not in missing.text


def test_without_a_token_is_401(api: Api) -> None:
    assert api.client.get("/api/v1/contracts").status_code == 401
    assert api.client.post("/api/v1/contracts/reload").status_code == 401


# --- check -------------------------------------------------------------------------------------


def test_check_a_good_replacement(api: Api) -> None:
    response = check(api, SHIDAO, name="shidao-port.yaml")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["ok"] is True
    summary = body["summary"]
    assert summary["replaces"] == ["sdgw-2025"]
    assert summary["contracts"] == 1 and summary["devices"] == 5
    assert summary["checked"][0]["id"] == "sdgw-2025"
    assert summary["checked"][0]["file"] == "shidao-port.yaml"


def test_check_a_good_new_contract_as_plain_text(api: Api) -> None:
    response = api.client.post(
        "/api/v1/contracts/check",
        content=new_contract().encode("utf-8"),
        headers={**api.headers("project_manager"), "Content-Type": "text/plain; charset=utf-8"},
    )
    assert response.status_code == 200, response.text
    summary = response.json()["summary"]
    assert summary["replaces"] == []
    assert summary["checked"][0]["file"] == "upload.yaml"


def test_check_a_bad_upload_names_its_file_and_lines(api: Api) -> None:
    text = SHIDAO.replace("tier: 8x5x48h", "tier: 8x5x96h", 1)
    text = text.replace("P1: {within: 2h, calendar: duty}", "P1: {within: 0h, calendar: duty}", 1)
    response = check(api, text, name="my-port.yaml", role="service_manager")
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    errors = {e["path"]: e for e in body["errors"]}
    assert set(errors) == {"$.diagnosis.P1.within", "$.devices[4].tier"}
    assert all(e["file"] == "my-port.yaml" for e in body["errors"])
    duration = errors["$.diagnosis.P1.within"]
    assert (duration["line"], duration["column"]) == position(text, "within: 0h", within="0h")
    assert "zero" in duration["message"]
    tier = errors["$.devices[4].tier"]
    assert (tier["line"], tier["column"]) == position(text, "tier: 8x5x96h", within="8x5x96h")
    assert "8x5x96h" in tier["message"]
    assert "/tmp" not in response.text and "casetrack-check" not in response.text


def test_check_a_yaml_syntax_error(api: Api) -> None:
    response = check(api, "id: x\ncustomer: [a, b\n", name="broken.yaml")
    assert response.status_code == 422
    (error,) = response.json()["errors"]
    assert (error["file"], error["line"], error["column"]) == ("broken.yaml", 3, 1)


def test_check_finds_serials_another_loaded_contract_covers(api: Api) -> None:
    # a new contract id, but the Shidao port's devices: the serials clash
    text = SHIDAO.replace("id: sdgw-2025", "id: sdgw-2027", 1)
    response = check(api, text, name="shidao-2027.yaml")
    assert response.status_code == 422
    errors = response.json()["errors"]
    assert len(errors) == 5
    first = errors[0]
    assert first["file"] == "shidao-2027.yaml" and first["path"] == "$.devices[0].serial"
    assert first["line"] == position(text, "serial: FOC2334Y1AB")[0]
    assert "also covered by contract sdgw-2025 (shidao-port.yaml:" in first["message"]


def test_check_several_files_as_json(api: Api) -> None:
    one = new_contract(suffix="one")
    two = new_contract(suffix="two").replace("id: sdgw-two\n", "id: sdgw-one\n", 1)
    files = {"one.yaml": one, "two.yaml": two}
    response = api.client.post(
        "/api/v1/contracts/check", json={"files": files}, headers=api.headers("admin")
    )
    assert response.status_code == 422
    (error,) = response.json()["errors"]
    assert error["file"] == "two.yaml" and error["path"] == "$.id"
    assert "already used by one.yaml:" in error["message"]
    good = {"one.yaml": one, "two.yaml": new_contract(suffix="two")}
    response = api.client.post(
        "/api/v1/contracts/check", json={"files": good}, headers=api.headers("admin")
    )
    assert response.status_code == 200, response.text
    assert [c["file"] for c in response.json()["summary"]["checked"]] == ["one.yaml", "two.yaml"]


def test_check_changes_nothing(api: Api) -> None:
    before = api.runtime.contracts
    text = SHIDAO.replace("name: 荣成市石岛湾港务有限公司", "name: changed", 1)
    assert check(api, text, name="shidao-port.yaml").status_code == 200
    assert check(api, new_contract(), name="extra.yaml").status_code == 200
    assert api.runtime.contracts is before and api.runtime.desk.contracts is before
    assert sorted(before.contracts) == IDS
    shown = api.client.get("/api/v1/contracts/sdgw-2025", headers=api.headers("agent")).json()
    assert shown["contract"]["customer"]["name"] == "荣成市石岛湾港务有限公司"
    assert not (CONTRACTS / "extra.yaml").exists()


@pytest.mark.parametrize("role", ["agent", "engineer", "complaint_manager"])
def test_check_needs_a_managing_role(api: Api, role: str) -> None:
    assert check(api, SHIDAO, role=role).status_code == 403


def test_check_by_a_customer_is_403(api: Api) -> None:
    response = api.client.post(
        "/api/v1/contracts/check",
        content=SHIDAO.encode("utf-8"),
        headers={**api.headers("customer", customer="sdgw"), **YAML},
    )
    assert response.status_code == 403


@pytest.mark.parametrize("name", ["../escape.yaml", "tiers.yaml", "notes.txt", ".hidden.yaml"])
def test_check_refuses_file_names_it_cannot_use(api: Api, name: str) -> None:
    response = check(api, SHIDAO, name=name)
    assert response.status_code == 400
    assert response.json()["errors"][0]["path"] == "query.name"
    response = api.client.post(
        "/api/v1/contracts/check", json={"files": {name: SHIDAO}}, headers=api.headers("admin")
    )
    assert response.status_code == 400


def test_check_refuses_other_bodies(api: Api) -> None:
    headers = api.headers("admin")
    xml = api.client.post(
        "/api/v1/contracts/check",
        content=b"<contract/>",
        headers={**headers, "Content-Type": "application/xml"},
    )
    assert xml.status_code == 415
    assert xml.headers["content-type"].startswith("application/problem+json")
    for body in ({"files": {}}, {"file": "x"}, {"files": ["x"]}):
        response = api.client.post("/api/v1/contracts/check", json=body, headers=headers)
        assert response.status_code == 400, body


def test_check_of_a_body_over_the_limit_is_413(api: Api) -> None:
    big = SHIDAO + "#" * 1_100_000 + "\n"
    response = check(api, big)
    assert response.status_code == 413
    assert response.headers["content-type"].startswith("application/problem+json")


# --- reload ------------------------------------------------------------------------------------


def test_reload_by_an_admin(api: Api) -> None:
    before = api.runtime.contracts
    response = api.client.post("/api/v1/contracts/reload", headers=api.headers("admin"))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["ok"] is True
    assert body["contracts"] == 4 and body["added"] == [] and body["removed"] == []
    assert body["devices"] > 0 and body["tiers"] == len(before.catalog.tiers)
    assert api.runtime.contracts is not before
    assert api.runtime.desk.contracts is api.runtime.contracts


@pytest.mark.parametrize(
    "role",
    ["engineer", "agent", "service_manager", "project_manager", "complaint_manager", "customer"],
)
def test_only_admins_reload(api: Api, role: str) -> None:
    before = api.runtime.contracts
    customer = "sdgw" if role == "customer" else None
    headers = api.headers(role, customer=customer)
    response = api.client.post("/api/v1/contracts/reload", headers=headers)
    assert response.status_code == 403
    assert api.runtime.contracts is before


@pytest.fixture
def own_dir_api(db_url: str, tmp_path: Path) -> Iterator[tuple[Api, Path]]:
    """An app whose contracts directory is a copy the test may break."""
    from litestar.testing import TestClient

    from server import create_app

    directory = tmp_path / "contracts"
    shutil.copytree(CONTRACTS, directory)
    settings = Settings(
        database_url=db_url, contracts_dir=str(directory), var_dir=str(tmp_path / "var")
    )
    runtime = build_runtime(settings)
    with TestClient(create_app(settings, runtime=runtime), raise_server_exceptions=False) as c:
        yield Api(runtime, c), directory


def test_a_broken_reload_keeps_the_old_contracts(own_dir_api: tuple[Api, Path]) -> None:
    api, directory = own_dir_api
    before = api.runtime.contracts
    text = SHIDAO.replace("tier: 8x5x48h", "tier: 8x5x96h", 1)
    (directory / "shidao-port.yaml").write_text(text, encoding="utf-8")
    response = api.client.post("/api/v1/contracts/reload", headers=api.headers("admin"))
    assert response.status_code == 422
    (error,) = response.json()["errors"]
    assert error["file"] == "shidao-port.yaml" and error["path"] == "$.devices[4].tier"
    assert error["line"] == position(text, "tier: 8x5x96h")[0]
    assert api.runtime.contracts is before and api.runtime.desk.contracts is before
    listed = api.client.get("/api/v1/contracts", headers=api.headers("agent")).json()["items"]
    assert [item["id"] for item in listed] == IDS
    shown = api.client.get("/api/v1/contracts/sdgw-2025", headers=api.headers("agent")).json()
    assert shown["tiers"] == ["24x7x48h", "8x5x48h", "8x5xNBD"]


def test_a_reload_swaps_in_what_changed_on_disk(own_dir_api: tuple[Api, Path]) -> None:
    api, directory = own_dir_api
    (directory / "rushan-no1-school.yaml").unlink()
    (directory / "extra.yaml").write_text(new_contract(), encoding="utf-8")
    response = api.client.post("/api/v1/contracts/reload", headers=api.headers("admin"))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["added"] == ["sdgw-new"] and body["removed"] == ["rsyz-2026"]
    assert api.runtime.desk.contracts is api.runtime.contracts
    headers = api.headers("engineer")
    assert api.client.get("/api/v1/contracts/sdgw-new", headers=headers).status_code == 200
    assert api.client.get("/api/v1/contracts/rsyz-2026", headers=headers).status_code == 404


def test_check_uses_the_current_directory_catalog(own_dir_api: tuple[Api, Path]) -> None:
    api, directory = own_dir_api
    # the uploaded contract names a tier the catalog on disk does not have
    text = SHIDAO.replace("tier: 8x5x48h", "tier: 8x5x72h", 1)
    assert check(api, text, name="shidao-port.yaml").status_code == 422
    catalog = (directory / "tiers.yaml").read_text(encoding="utf-8")
    extra = (
        "\n  8x5x72h:\n    label: test level\n    ship:\n      calendar: spare-window\n"
        '      cutoff: "15:00"\n    arrival:\n      within: 72h\n      calendar: 24x7\n'
    )
    catalog = catalog.replace("\nprograms:", extra + "\nprograms:", 1)
    (directory / "tiers.yaml").write_text(catalog, encoding="utf-8")
    response = check(api, text, name="shidao-port.yaml")
    # now the tier exists, but the vendor-warranty program does not sell it
    assert response.status_code == 422
    assert any("8x5x72h" in e["message"] for e in response.json()["errors"])
    assert all(e["file"] == "shidao-port.yaml" for e in response.json()["errors"])
