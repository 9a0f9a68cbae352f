"""The ``districts`` resolver: the longest district name found in the address decides."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import msgspec

from core.errors import ContractError, PluginError
from core.zones import DataReader, Site, ZoneMatch
from plugins.yaml_zones.data import DistrictsFile, check, normalize

PLUGIN = "yaml_zones"
NAME = "districts"


class DistrictsConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True, rename="kebab"):
    """The contract's ``zones.config``: ``file`` (required) and ``default-zone``."""

    file: str
    default_zone: str | None = None


@dataclass(frozen=True, slots=True)
class _Name:
    text: str  # normalised, searched for
    shown: str  # as written in the file
    district: str
    order: int  # place in the file: the last tie-breaker


class Districts:
    """Registered as ``districts``; a contract gets its own resolver from ``for_contract``."""

    zones: tuple[str, ...] = ()

    def for_contract(self, config: Mapping[str, Any], read: DataReader) -> DistrictZones:
        """Read and check the districts file the contract's config names."""
        settings = parse_config(config)
        data, locate = read(settings.file, DistrictsFile)
        problems = list(check(data, locate))
        if problems:
            raise ContractError(problems)
        if settings.default_zone is not None and settings.default_zone not in data.zones:
            raise PluginError(
                PLUGIN,
                f"default-zone: unknown zone {settings.default_zone!r} "
                f"(zones of {settings.file}: {', '.join(data.zones)})",
            )
        return DistrictZones(data, settings)

    def resolve(self, site: Site, config: Mapping[str, Any] | None = None) -> ZoneMatch:
        raise PluginError(PLUGIN, "the districts resolver needs the contract's districts file")


def parse_config(config: Mapping[str, Any] | None) -> DistrictsConfig:
    try:
        return msgspec.convert(dict(config or {}), DistrictsConfig)
    except msgspec.ValidationError as exc:
        raise PluginError(
            PLUGIN, f"invalid config: {exc} (want file: <districts file>, default-zone: <zone>)"
        ) from exc


class DistrictZones:
    """One contract's districts; satisfies ``core.zones.ZoneResolver``."""

    def __init__(self, data: DistrictsFile, settings: DistrictsConfig) -> None:
        self.data = data
        self.file = settings.file
        self.default_zone = settings.default_zone or data.fallback
        self.zones: tuple[str, ...] = tuple(data.zones)
        self.labels: Mapping[str, str] = dict(data.zones)
        words = [
            (word, name)
            for name, district in data.districts.items()
            for word in (name, *district.names)
        ]
        self._names = tuple(
            _Name(normalize(word), word, name, order) for order, (word, name) in enumerate(words)
        )

    def resolve(self, site: Site, config: Mapping[str, Any] | None = None) -> ZoneMatch:
        """The district named in the address (longest, then earliest); else default-zone."""
        text = normalize(site.address or "")
        hits = [(name, at) for name in self._names if (at := text.find(name.text)) >= 0]
        if not hits:
            why = "no district recognised in the address" if text else "no address"
            zone = self.default_zone
            return ZoneMatch(zone=zone, reason=f"{why} ({self.file}) → {zone} (default-zone)")
        name, _ = max(hits, key=lambda hit: (len(hit[0].text), -hit[1], -hit[0].order))
        zone = self.data.districts[name.district].zone
        where = name.shown if name.shown == name.district else f"{name.shown} ({name.district})"
        return ZoneMatch(zone=zone, reason=f"address mentions {where} ({self.file}) → {zone}")
