"""weihai_zones through its hook: addresses, pinyin, coordinates, contract overrides."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.errors import ContractError, PluginError
from core.plugins import collect_named, make_plugin_manager
from core.zones import Site, ZoneMatch
from plugins.weihai_zones.data import load_data
from plugins.weihai_zones.resolver import contains

ZONES = ("city", "wendeng", "rongcheng", "rushan", "other")


def weihai_resolver() -> Any:
    pm = make_plugin_manager(load_entrypoints=False, disabled=[])
    return collect_named(pm, "register_zone_resolvers")["weihai_zones"]


@pytest.fixture
def resolver() -> Any:
    return weihai_resolver()


def resolve(resolver: Any, config: dict | None = None, **site: Any) -> ZoneMatch:
    return resolver.resolve(Site(**site), config)


def test_hook_register_zone_resolvers_registers_weihai_zones(resolver: Any) -> None:
    assert resolver.zones == ZONES
    assert resolver.labels["city"] == "市内"
    assert isinstance(resolve(resolver, address="文登区"), ZoneMatch)


@pytest.mark.parametrize(
    ("address", "zone"),
    [
        ("山东省威海市环翠区文化西路2号", "city"),
        ("威海市环翠区孙家疃街道", "city"),
        ("威海市高区田和街道", "city"),
        ("威海火炬高技术产业开发区火炬路", "city"),
        ("山东省威海市经济技术开发区皇冠街道", "city"),
        ("威海市经区崮山镇", "city"),
        ("威海临港经济技术开发区草庙子镇", "city"),
        ("刘公岛", "city"),
        ("山东省威海市文登区天福路", "wendeng"),
        ("文登区大水泊镇", "wendeng"),
        ("威海市南海新区", "wendeng"),
        ("威海市文登区经济开发区", "wendeng"),
        ("山东省荣成市崖头街道", "rongcheng"),
        ("荣成市石岛管理区", "rongcheng"),
        ("石岛", "rongcheng"),
        ("好运角旅游度假区", "rongcheng"),
        ("山东省乳山市城区胜利街", "rushan"),
        ("乳山市海阳所镇", "rushan"),
        ("乳山口镇", "rushan"),
        ("山东省烟台市芝罘区", "other"),
        ("山东省青岛市市南区", "other"),
        ("北京市海淀区", "other"),
    ],
)
def test_hook_register_zone_resolvers_chinese_addresses(
    resolver: Any, address: str, zone: str
) -> None:
    assert resolve(resolver, address=address).zone == zone


@pytest.mark.parametrize(
    ("address", "zone"),
    [
        ("Wendeng", "wendeng"),
        ("WENDENG DISTRICT, WEIHAI", "wendeng"),
        ("Rongcheng Shi", "rongcheng"),
        ("rong cheng", "rongcheng"),
        ("Róngchéng Shì", "rongcheng"),
        ("Huancui District, Weihai, Shandong", "city"),
        ("No. 1 Shidao Rd?", "rongcheng"),
        ("Shidao Town", "rongcheng"),
        ("Rushan", "rushan"),
        ("Weihai ETDZ", "city"),
        ("Torch Hi-Tech Zone, Weihai", "city"),
        ("Ｗｅｎｄｅｎｇ", "wendeng"),  # full-width letters
    ],
)
def test_hook_register_zone_resolvers_pinyin_and_english(
    resolver: Any, address: str, zone: str
) -> None:
    assert resolve(resolver, address=address).zone == zone


@pytest.mark.parametrize(
    ("lat", "lon", "zone"),
    [
        (37.51, 122.12, "city"),  # city centre
        (37.53, 122.06, "city"),  # 高区 campuses
        (37.38, 122.00, "city"),  # 临港区
        (37.19, 122.06, "wendeng"),
        (37.19, 122.23, "wendeng"),  # Weihai airport at 大水泊
        (37.16, 122.49, "rongcheng"),  # 崖头
        (36.88, 122.43, "rongcheng"),  # Shidao
        (37.39, 122.70, "rongcheng"),  # 成山头
        (36.92, 121.54, "rushan"),
        (37.46, 121.45, "other"),  # Yantai
        (36.07, 120.38, "other"),  # Qingdao
        (39.90, 116.40, "other"),  # Beijing
    ],
)
def test_hook_register_zone_resolvers_coordinates(
    resolver: Any, lat: float, lon: float, zone: str
) -> None:
    match = resolve(resolver, lat=lat, lon=lon)
    assert match.zone == zone
    assert match.reason.startswith(f"coordinates {lat:.4f}, {lon:.4f}")


def test_hook_register_zone_resolvers_reason_names_keyword_and_district(resolver: Any) -> None:
    wendeng = resolve(resolver, address="山东省威海市文登区")
    assert wendeng.reason == "address mentions 文登区 → wendeng"
    assert resolve(resolver, address="Rongcheng Shi").reason == (
        "address mentions Rongcheng (荣成市) → rongcheng"
    )
    assert resolve(resolver, lat=37.19, lon=122.06).reason == (
        "coordinates 37.1900, 122.0600 lie in the approximate 文登区 area → wendeng"
    )
    assert resolve(resolver, lat=37.46, lon=121.45).reason == (
        "coordinates 37.4600, 121.4500 lie outside Weihai's areas → other"
    )


def test_hook_register_zone_resolvers_address_beats_coordinates(resolver: Any) -> None:
    match = resolve(resolver, address="威海市文登区", lat=37.51, lon=122.12)
    assert match.zone == "wendeng"
    assert match.reason == (
        "address mentions 文登区 → wendeng; the address wins over the coordinates (city)"
    )
    agreeing = resolve(resolver, address="文登区", lat=37.19, lon=122.06)
    assert agreeing.reason.endswith("; the coordinates agree")


def test_hook_register_zone_resolvers_coordinates_when_address_names_no_district(
    resolver: Any,
) -> None:
    match = resolve(resolver, address="山东省威海市", lat=36.92, lon=121.54)
    assert match.zone == "rushan"
    assert "coordinates" in match.reason


def test_hook_register_zone_resolvers_other(resolver: Any) -> None:
    match = resolve(resolver, address="山东省烟台市牟平区")
    assert match.zone == "other"
    assert match.reason == "address mentions 烟台市 (外地) → other"
    # a road named after another city is not that city
    assert resolve(resolver, address="威海市青岛中路128号").reason.startswith(
        "no district recognised"
    )


def test_hook_register_zone_resolvers_weihai_alone_is_ambiguous(resolver: Any) -> None:
    match = resolve(resolver, address="山东省威海市")
    assert match.zone == "other"
    assert match.reason.startswith("no district recognised (the address names only the")
    assert match.reason.endswith("prefecture 威海) → other (default-zone)")
    assert resolve(resolver, address="Weihai, Shandong").zone == "other"
    city = resolve(resolver, {"default-zone": "city"}, address="山东省威海市")
    assert city.zone == "city"
    assert city.reason.endswith("→ city (default-zone)")


def test_hook_register_zone_resolvers_nothing_to_go_on(resolver: Any) -> None:
    assert resolve(resolver) == ZoneMatch(
        zone="other", reason="no address or coordinates → other (default-zone)"
    )
    assert resolve(resolver, address="某公司机房").reason == (
        "no district recognised in the address → other (default-zone)"
    )
    assert resolve(resolver, lat=37.5).reason.startswith("no address or coordinates")


def test_hook_register_zone_resolvers_longest_match_wins(resolver: Any) -> None:
    shidao = resolve(resolver, address="荣成市石岛管理区")
    assert shidao.zone == "rongcheng"
    assert shidao.reason == "address mentions 石岛管理区 (荣成市) → rongcheng"
    assert resolve(resolver, address="乳山市").reason == "address mentions 乳山市 → rushan"
    assert resolve(resolver, address="乳山口").reason == "address mentions 乳山口 (乳山市) → rushan"
    # a road named after a district loses to the district itself
    assert resolve(resolver, address="威海市环翠区文登路").zone == "city"
    # the longer 临港 name beats the generic 经济技术开发区 inside it
    lingang = resolve(resolver, address="临港经济技术开发区")
    assert lingang.reason == "address mentions 临港经济技术开发区 (临港区) → city"


def test_hook_register_zone_resolvers_weihai_only_name_beats_generic(resolver: Any) -> None:
    # 经济开发区 is longer than 文登区 but exists in every county
    assert resolve(resolver, address="威海市文登区经济开发区").zone == "wendeng"
    assert resolve(resolver, address="荣成经济开发区").zone == "rongcheng"
    generic_only = resolve(resolver, address="威海市经济技术开发区")
    assert generic_only.reason == "address mentions 经济技术开发区 (经区) → city"


def test_hook_register_zone_resolvers_contract_moves_lingang_out_of_city(resolver: Any) -> None:
    config = {"districts": {"临港区": "other"}}
    by_address = resolve(resolver, config, address="威海市临港区草庙子镇")
    assert by_address.zone == "other"
    assert by_address.reason == (
        "address mentions 临港区 → other (the contract moves 临港区 from city to other)"
    )
    by_coordinates = resolve(resolver, config, lat=37.38, lon=122.00)
    assert by_coordinates.zone == "other"
    assert "moves 临港区" in by_coordinates.reason
    # the rest of the city is untouched, and without the override 临港区 is city
    assert resolve(resolver, config, address="环翠区").zone == "city"
    assert resolve(resolver, address="威海市临港区").zone == "city"


def test_hook_register_zone_resolvers_contract_extra_keywords(resolver: Any) -> None:
    config = {"extra": {"威海国际物流园": "city", "石岛": "city"}}
    assert resolve(resolver, config, address="威海国际物流园3号库").reason == (
        "address mentions 威海国际物流园 (contract keyword) → city"
    )
    assert resolve(resolver, config, address="石岛").zone == "city"  # reassigned
    assert resolve(resolver, address="石岛").zone == "rongcheng"  # only for that contract


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"districts": {"临港": "other"}}, "unknown district '临港'"),
        ({"districts": {"临港区": "suburb"}}, "unknown zone 'suburb'"),
        ({"default-zone": "downtown"}, "unknown zone 'downtown'"),
        ({"extra": {"园区": "nowhere"}}, "unknown zone 'nowhere'"),
        ({"extra": {"--": "city"}}, "has no letters or digits"),
        ({"default_zone": "city"}, "unknown field `default_zone`"),
        ({"districts": ["临港区"]}, "Expected `object`"),
    ],
)
def test_hook_register_zone_resolvers_invalid_config(
    resolver: Any, config: dict, message: str
) -> None:
    with pytest.raises(PluginError, match="invalid config") as caught:
        resolve(resolver, config, address="文登区")
    assert caught.value.plugin == "weihai_zones"
    assert message in str(caught.value)


@settings(deadline=None)  # what is checked is the answer: a loaded host is slow now and then
@given(
    address=st.one_of(st.none(), st.text(max_size=40)),
    lat=st.one_of(st.none(), st.floats(min_value=-90, max_value=90)),
    lon=st.one_of(st.none(), st.floats(min_value=-180, max_value=180)),
)
def test_hook_register_zone_resolvers_always_answers_a_known_zone(
    address: str | None, lat: float | None, lon: float | None
) -> None:
    resolver = weihai_resolver()
    site = Site(address=address, lat=lat, lon=lon)
    match = resolver.resolve(site)
    assert match.zone in resolver.zones
    assert match.reason
    assert resolver.resolve(site) == match  # deterministic


def test_district_areas_do_not_overlap() -> None:
    data = load_data()
    areas = {name: d.area for name, d in data.districts.items() if d.area}
    # an irregular step so no sample sits exactly on a shared edge or corner
    lats = [36.5 + i * 0.0137 for i in range(90)]
    lons = [121.0 + j * 0.0191 for j in range(100)]
    for lat in lats:
        for lon in lons:
            inside = [name for name, area in areas.items() if contains(area, lat, lon)]
            assert len(inside) <= 1, (lat, lon, inside)


def test_district_areas_cover_the_gap_between_neighbours() -> None:
    # points just either side of shared borders belong to one district each
    data = load_data()
    areas = [d.area for d in data.districts.values() if d.area]
    for lat, lon in [(37.31, 122.30), (37.10, 122.24), (37.33, 121.95), (36.95, 121.78)]:
        assert sum(contains(area, lat, lon) for area in areas) == 1, (lat, lon)


def test_zone_data_errors_are_located(tmp_path: Path) -> None:
    path = tmp_path / "zones.yaml"
    path.write_text(
        "zones: {city: 市内, other: 外地}\n"
        "fallback: elsewhere\n"
        "districts:\n"
        "  环翠区:\n"
        "    zone: downtown\n"
        "    names: [环翠区, 环翠区]\n"
        "    area: [[37.6, 121.9], [37.6, 122.4]]\n",
        encoding="utf-8",
    )
    with pytest.raises(ContractError) as caught:
        load_data(path)
    assert [str(p).removeprefix(f"{path}:") for p in caught.value.problems] == [
        "2:11: $.fallback: unknown zone 'elsewhere'",
        "5:11: $.districts.环翠区.zone: unknown zone 'downtown'",
        "7:11: $.districts.环翠区.area: an area needs at least 3 corners",
        "6:18: $.districts.环翠区.names[1]: '环翠区' is already a keyword of 环翠区",
    ]


def test_zone_data_unknown_key_is_located(tmp_path: Path) -> None:
    path = tmp_path / "zones.yaml"
    path.write_text(
        "zones: {other: 外地}\nfallback: other\ndistricts:\n  x: {zone: other, nmes: [a]}\n",
        encoding="utf-8",
    )
    with pytest.raises(ContractError, match=r"zones.yaml:4:\d+: \$.districts.x.nmes: unknown key"):
        load_data(path)
