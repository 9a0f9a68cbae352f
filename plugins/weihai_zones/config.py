"""A contract's override section for the ``weihai_zones`` resolver (docs/zones.md)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import msgspec

from core.errors import PluginError
from plugins.weihai_zones.data import ZoneData, normalize

PLUGIN = "weihai_zones"


class ZonesConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True, rename="kebab"):
    """What a contract may change; every key is optional.

    - ``default-zone``: the zone of a site nothing recognises, e.g. an address that says only
      "山东省威海市" (default: the data's fallback, ``other``).
    - ``districts``: ``{district: zone}`` moves a shipped district, with all its keywords and
      its area, to another zone (``临港区: other``).
    - ``extra``: ``{keyword: zone}`` adds Weihai-only keywords, e.g. a customer's campus name;
      a keyword the data already has is reassigned.
    """

    default_zone: str | None = None
    districts: dict[str, str] = {}
    extra: dict[str, str] = {}


def parse_config(config: Mapping[str, Any] | None, data: ZoneData) -> ZonesConfig:
    """Decode and check a contract's section; PluginError lists every problem."""
    try:
        parsed = msgspec.convert(dict(config or {}), ZonesConfig)
    except msgspec.ValidationError as exc:
        raise PluginError(PLUGIN, f"invalid config: {exc}") from exc
    problems = list(_problems(parsed, data))
    if problems:
        raise PluginError(PLUGIN, "invalid config: " + "; ".join(problems))
    return parsed


def _problems(config: ZonesConfig, data: ZoneData) -> list[str]:
    zones = ", ".join(data.zones)
    found = []
    if config.default_zone is not None and config.default_zone not in data.zones:
        found.append(f"default-zone: unknown zone {config.default_zone!r} (known: {zones})")
    for district, zone in config.districts.items():
        if district not in data.districts:
            known = ", ".join(data.districts)
            found.append(f"districts: unknown district {district!r} (known: {known})")
        if zone not in data.zones:
            found.append(f"districts.{district}: unknown zone {zone!r} (known: {zones})")
    for keyword, zone in config.extra.items():
        if not normalize(keyword):
            found.append(f"extra: {keyword!r} has no letters or digits")
        if zone not in data.zones:
            found.append(f"extra.{keyword}: unknown zone {zone!r} (known: {zones})")
    return found
