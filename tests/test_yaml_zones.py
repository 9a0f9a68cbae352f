"""yaml_zones: a regional partner's zones from a districts file the contract names (no code)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pluggy
import pytest

from conftest import Api
from core import sla
from core.errors import PluginError
from core.loaded import LoadedContract
from core.plugins import collect_named, make_plugin_manager
from core.runtime import build_runtime
from core.settings import Settings
from core.sources.contracts import check_contracts, load_contracts
from core.sources.uploads import check_uploads
from core.zones import Site

ROOT = Path(__file__).resolve().parents[1]
CONTRACTS = ROOT / "contracts"
QINGDAO = ROOT / "docs" / "examples" / "zones" / "qingdao.yaml"
SHANGHAI = ZoneInfo("Asia/Shanghai")

WEIHAI_ZONES = """zones:
  resolver: weihai_zones
"""
QINGDAO_ZONES = """zones:
  resolver: districts
  config:
    file: zones/qingdao.yaml
"""
WEIHAI_ONSITE = """  normal: {city: 3h, wendeng: 5h, rongcheng: 5h, rushan: 7h, other: 12h}
  emergency: {city: 1h, wendeng: 2h, rongcheng: 2h, rushan: 3h, other: 6h}
"""
QINGDAO_ONSITE = """  normal: {city: 2h, jimo: 4h, jiaozhou: 4h, north: 6h, other: 12h}
  emergency: {city: 1h, jimo: 2h, jiaozhou: 2h, north: 3h, other: 6h}
"""


@pytest.fixture(scope="module")
def pm() -> pluggy.PluginManager:
    return make_plugin_manager(load_entrypoints=False, disabled=[])


def qingdao_dir(root: Path, *edits: tuple[str, str], districts: str | None = None) -> Path:
    """A contracts directory: the bank's contract moved to Qingdao's zones, and the example
    districts file under ``zones/`` (``districts`` replaces its text)."""
    (root / "zones").mkdir(parents=True)
    shutil.copy(CONTRACTS / "tiers.yaml", root / "tiers.yaml")
    text = QINGDAO.read_text(encoding="utf-8") if districts is None else districts
    (root / "zones" / "qingdao.yaml").write_text(text, encoding="utf-8")
    contract = (CONTRACTS / "whccb-huancui.yaml").read_text(encoding="utf-8")
    for old, new in ((WEIHAI_ZONES, QINGDAO_ZONES), (WEIHAI_ONSITE, QINGDAO_ONSITE), *edits):
        assert old in contract, old
        contract = contract.replace(old, new, 1)
    (root / "qingdao-bank.yaml").write_text(contract, encoding="utf-8")
    return root


def loaded(root: Path, pm: pluggy.PluginManager) -> LoadedContract:
    return next(iter(load_contracts([root], pm=pm).contracts.values()))


def test_hook_register_zone_resolvers_registers_districts(pm: pluggy.PluginManager) -> None:
    districts = collect_named(pm, "register_zone_resolvers")["districts"]
    with pytest.raises(PluginError, match="needs the contract's districts file"):
        districts.resolve(Site(address="青岛市市南区"))


@pytest.mark.parametrize(
    ("address", "zone", "reason"),
    [
        ("山东省青岛市市南区香港中路76号", "city", "address mentions 市南区"),
        ("青岛西海岸新区长江中路", "city", "address mentions 西海岸新区 (黄岛区)"),
        ("Jiāozhōu City, Qingdao", "jiaozhou", "address mentions Jiaozhou City (胶州市)"),
        ("青岛市平度市红旗路", "north", "address mentions 平度市"),
        # a road named after Jimo in the old town: the district wins over the road name
        ("青岛市市北区即墨路18号", "city", "address mentions 市北区"),
        ("山东省烟台市莱山区", "other", "address mentions 烟台市"),
        ("山东省青岛市", "other", "no district recognised in the address"),
    ],
)
def test_hook_register_zone_resolvers_districts_resolve_addresses(
    tmp_path: Path, pm: pluggy.PluginManager, address: str, zone: str, reason: str
) -> None:
    lc = loaded(qingdao_dir(tmp_path), pm)
    assert lc.zone_resolver.zones == ("city", "jimo", "jiaozhou", "north", "other")
    match = lc.resolve_site(address)
    assert match.zone == zone
    assert match.reason.startswith(f"{reason} (zones/qingdao.yaml) → {zone}"), match.reason


def test_the_contracts_onsite_table_prices_the_files_zones(
    tmp_path: Path, pm: pluggy.PluginManager
) -> None:
    edits = (
        "config:\n    file: zones/qingdao.yaml\n",
        "config:\n    file: zones/qingdao.yaml\n    default-zone: city\n",
    )
    lc = loaded(qingdao_dir(tmp_path, edits), pm)
    zone = lc.resolve_site("青岛市胶州市李哥庄镇").zone
    agreed = datetime(2026, 3, 5, 10, 0, tzinfo=SHANGHAI)
    found = sla.onsite_arrival(lc, zone=zone, emergency=False, agreed_at=agreed)
    assert (zone, found.due) == ("jiaozhou", datetime(2026, 3, 5, 14, 0, tzinfo=SHANGHAI))
    assert lc.resolve_site("山东省青岛市").reason.endswith("→ city (default-zone)")


def test_errors_in_the_districts_file_are_located(tmp_path: Path, pm: pluggy.PluginManager) -> None:
    text = QINGDAO.read_text(encoding="utf-8")
    broken = text.replace("即墨区: {zone: jimo,", "即墨区: {zone: jimoo,").replace(
        "莱西市: {zone: north, names: [Laixi City]}", "莱西市: {zone: north, names: [Pingdu City]}"
    )
    root = qingdao_dir(tmp_path, districts=broken)
    _, problems = check_contracts([root], pm=pm)
    lines = broken.splitlines()
    jimo = next(i for i, line in enumerate(lines, 1) if line.startswith("  即墨区"))
    laixi = next(i for i, line in enumerate(lines, 1) if line.startswith("  莱西市"))
    file = str(root / "zones" / "qingdao.yaml")
    assert [str(p) for p in problems] == [
        f"{file}:{jimo}:{lines[jimo - 1].index('jimoo') + 1}: $.districts.即墨区.zone: unknown "
        "zone 'jimoo' (zones: city, jimo, jiaozhou, north, other)",
        f"{file}:{laixi}:{lines[laixi - 1].index('Pingdu') + 1}: $.districts.莱西市.names[0]: "
        "'Pingdu City' is already a name of 平度市",
    ]


def test_a_structural_error_in_the_districts_file_is_located(
    tmp_path: Path, pm: pluggy.PluginManager
) -> None:
    broken = QINGDAO.read_text(encoding="utf-8").replace("fallback: other", "fallbak: other")
    root = qingdao_dir(tmp_path, districts=broken)
    _, problems = check_contracts([root], pm=pm)
    (problem,) = problems
    assert problem.file == str(root / "zones" / "qingdao.yaml")
    line = broken.splitlines().index("fallbak: other") + 1
    assert (problem.line, problem.column) == (line, 1)
    assert "fallbak" in problem.message


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ("file: zones/tianjin.yaml", "no such data file 'zones/tianjin.yaml'"),
        ("file: zones/qingdao.yaml\n    default-zone: moon", "default-zone: unknown zone 'moon'"),
        ("default-zone: city", "invalid config"),
    ],
)
def test_a_bad_zones_config_is_a_contract_problem(
    tmp_path: Path, pm: pluggy.PluginManager, config: str, message: str
) -> None:
    root = qingdao_dir(tmp_path, ("file: zones/qingdao.yaml", config))
    _, problems = check_contracts([root], pm=pm)
    (problem,) = problems
    assert problem.file == str(root / "qingdao-bank.yaml")
    assert problem.path == "$.zones.config"
    assert message in problem.message


def test_a_zone_the_onsite_table_does_not_price_is_a_problem(
    tmp_path: Path, pm: pluggy.PluginManager
) -> None:
    root = qingdao_dir(tmp_path, ("north: 6h, other: 12h", "other: 12h"))
    _, problems = check_contracts([root], pm=pm)
    (problem,) = problems
    assert problem.path == "$.onsite.normal"
    assert "no normal on-site time for zone north" in problem.message


# --- through the desk, on both back ends ----------------------------------------------------

CASES = "/api/v1/cases"
JIAOZHOU_SITE = "青岛市胶州市李哥庄镇 分理处机房"
SWITCH = "219801A28N8212Q0001F"


@pytest.fixture
def qingdao_api(db_url: str, tmp_path: Path) -> Iterator[Api]:
    """The app over each back end with the Qingdao contract (valid at API_NOW)."""
    from litestar.testing import TestClient

    from server import create_app

    contracts = qingdao_dir(
        tmp_path / "contracts",
        ("end: 2026-06-30", "end: 2026-12-31"),
        (
            "site: 山东省威海市环翠区新威路17号 一楼机房\n    tier: 8x5xNBD\n"
            "    rma: digital_china\n  - model: Cisco",
            f"site: {JIAOZHOU_SITE}\n    tier: 8x5xNBD\n    rma: digital_china\n  - model: Cisco",
        ),
    )
    settings = Settings(
        database_url=db_url, contracts_dir=str(contracts), var_dir=str(tmp_path / "var")
    )
    holder = Api.__new__(Api)
    runtime = build_runtime(settings, clock=lambda: holder.now)
    with TestClient(create_app(settings, runtime=runtime)) as client:
        holder.__init__(runtime, client)
        yield holder


def test_a_case_on_a_qingdao_site_gets_the_files_zone_and_its_onsite_hours(
    qingdao_api: Api,
) -> None:
    api = qingdao_api
    body = {
        "contract_id": "whccb-huancui-2025",
        "caller": {"name": "孙志刚", "company": "青岛分行", "phone": "0532-5231800"},
        "summary": "core switch drops packets",
        "category": "consulting",
        "request_type": "problem_report",
        "priority": "P2",
        "channel": "phone",
        "device_serial": SWITCH,
    }
    response = api.client.post(CASES, json=body, headers=api.headers("agent"))
    assert response.status_code == 201, response.text
    case = response.json()
    assert case["zone"] == "jiaozhou"
    url = f"{CASES}/{case['number']}/onsite-request"
    response = api.client.post(
        url,
        json={"reason": "needs hands", "override_reason": "no phone line"},
        headers=api.headers("service_manager"),
    )
    assert response.status_code == 200, response.text
    (onsite,) = [c for c in response.json()["clocks"] if c["kind"] == "onsite_arrival"]
    assert onsite["deadline"] == "2026-10-14T06:00:00Z"  # 4h for jiaozhou on the 24x7 duty clock


def test_the_upload_check_finds_the_districts_file_beside_the_contracts(
    tmp_path: Path, pm: pluggy.PluginManager
) -> None:
    root = qingdao_dir(tmp_path)
    current = load_contracts([root], pm=pm)
    upload = (root / "qingdao-bank.yaml").read_bytes().replace(b"jiaozhou: 4h", b"jiaozhou: 3h")
    checked = check_uploads({"qingdao-bank.yaml": upload}, current, root, pm)
    (lc,) = checked.loaded.contracts.values()
    assert lc.contract.onsite.normal["jiaozhou"] == "3h"
    assert lc.resolve_site("胶州市").zone == "jiaozhou"
