"""WeihaiZones: site → zone from address keywords first, then approximate district areas."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.zones import Site, ZoneMatch
from plugins.weihai_zones.config import ZonesConfig, parse_config
from plugins.weihai_zones.data import DATA_FILE, ZoneData, load_data, normalize


@dataclass(frozen=True, slots=True)
class Keyword:
    """One searchable name; ``district`` is empty for a contract's ``extra`` keyword."""

    text: str  # normalised form that is searched for
    shown: str  # as written in the data or the contract, for the reason
    district: str
    weihai_only: bool
    zone: str | None = None  # set for contract keywords only


@dataclass(frozen=True, slots=True)
class _Hit:
    keyword: Keyword
    position: int
    order: int  # keyword's place in the data: the last tie-breaker, for determinism

    def rank(self) -> tuple[bool, int, int, int]:
        # Weihai-only beats generic, then the longest (most specific), then the earliest in
        # the text (Chinese addresses go from the larger unit to the smaller).
        return (self.keyword.weihai_only, len(self.keyword.text), -self.position, -self.order)


class WeihaiZones:
    """The ``weihai_zones`` resolver; satisfies ``core.zones.ZoneResolver``."""

    def __init__(self, data: ZoneData) -> None:
        self.data = data
        self.zones: tuple[str, ...] = tuple(data.zones)
        self.labels: Mapping[str, str] = dict(data.zones)
        self._keywords = tuple(
            Keyword(normalize(word), word, name, weihai_only)
            for name, district in data.districts.items()
            for weihai_only, words in ((True, district.names), (False, district.generic))
            for word in words
        )
        self._weihai = tuple(normalize(word) for word in data.weihai)

    @classmethod
    def load(cls, path: Path = DATA_FILE) -> WeihaiZones:
        return cls(load_data(path))

    def resolve(self, site: Site, config: Mapping[str, Any] | None = None) -> ZoneMatch:
        """Address (when it names a district) wins, then coordinates, then ``default-zone``."""
        settings = parse_config(config, self.data)
        by_coordinates = self._by_coordinates(site, settings)
        hit = self._best_hit(site.address, settings) if site.address else None
        if hit is not None:
            zone = self._zone_of(hit.keyword, settings)
            reason = self._address_reason(hit.keyword, zone, settings)
            if by_coordinates is not None:
                reason += (
                    "; the coordinates agree"
                    if by_coordinates.zone == zone
                    else f"; the address wins over the coordinates ({by_coordinates.zone})"
                )
            return ZoneMatch(zone=zone, reason=reason)
        if by_coordinates is not None:
            return by_coordinates
        return self._default(site, settings)

    # --- address ---------------------------------------------------------------------------

    def _best_hit(self, address: str, settings: ZonesConfig) -> _Hit | None:
        text = normalize(address)
        extra = [
            Keyword(normalize(word), word, "", True, zone) for word, zone in settings.extra.items()
        ]
        replaced = {k.text for k in extra}
        keywords = [k for k in self._keywords if k.text not in replaced] + extra
        hits = [
            _Hit(keyword, position, order)
            for order, keyword in enumerate(keywords)
            if (position := text.find(keyword.text)) >= 0
        ]
        return max(hits, key=_Hit.rank, default=None)

    def _zone_of(self, keyword: Keyword, settings: ZonesConfig) -> str:
        if keyword.zone is not None:
            return keyword.zone
        return self._district_zone(keyword.district, settings)

    def _district_zone(self, district: str, settings: ZonesConfig) -> str:
        return settings.districts.get(district, self.data.districts[district].zone)

    def _address_reason(self, keyword: Keyword, zone: str, settings: ZonesConfig) -> str:
        if not keyword.district:
            return f"address mentions {keyword.shown} (contract keyword) → {zone}"
        where = keyword.shown
        if keyword.shown != keyword.district:
            where += f" ({keyword.district})"
        return f"address mentions {where} → {zone}{self._moved(keyword.district, settings)}"

    def _moved(self, district: str, settings: ZonesConfig) -> str:
        shipped = self.data.districts[district].zone
        zone = settings.districts.get(district, shipped)
        if zone == shipped:
            return ""
        return f" (the contract moves {district} from {shipped} to {zone})"

    # --- coordinates -----------------------------------------------------------------------

    def _by_coordinates(self, site: Site, settings: ZonesConfig) -> ZoneMatch | None:
        if site.lat is None or site.lon is None:
            return None
        where = f"coordinates {site.lat:.4f}, {site.lon:.4f}"
        for name, district in self.data.districts.items():
            if district.area and contains(district.area, site.lat, site.lon):
                zone = self._district_zone(name, settings)
                reason = f"{where} lie in the approximate {name} area → {zone}"
                return ZoneMatch(zone=zone, reason=reason + self._moved(name, settings))
        fallback = self.data.fallback
        return ZoneMatch(zone=fallback, reason=f"{where} lie outside Weihai's areas → {fallback}")

    # --- nothing recognised ----------------------------------------------------------------

    def _default(self, site: Site, settings: ZonesConfig) -> ZoneMatch:
        zone = settings.default_zone or self.data.fallback
        if not site.address:
            why = "no address or coordinates"
        elif any(name in normalize(site.address) for name in self._weihai):
            why = "no district recognised (the address names only the prefecture 威海)"
        else:
            why = "no district recognised in the address"
        return ZoneMatch(zone=zone, reason=f"{why} → {zone} (default-zone)")


def contains(area: list[tuple[float, float]], lat: float, lon: float) -> bool:
    """Even-odd ray casting on (lat, lon) corners; fine at this scale (no geodesics needed)."""
    inside = False
    for (lat1, lon1), (lat2, lon2) in zip(area, [*area[1:], area[0]], strict=True):
        if (lat1 > lat) != (lat2 > lat):
            crossing = lon1 + (lat - lat1) * (lon2 - lon1) / (lat2 - lat1)
            if lon < crossing:
                inside = not inside
    return inside
