"""A checked contract with what computing its deadlines needs (catalog, holidays, zones), and
the set of every loaded contract. Built by core.sources.contracts from the files."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any

from core.contract import (
    ArrivalRule,
    CalendarSpec,
    Contract,
    Device,
    Program,
    ShipRule,
    Tier,
    TierCatalog,
)
from core.contract_calendars import build_calendar, visible_calendars
from core.errors import NotFoundError
from core.holidays import HolidayRegistry
from core.zones import Site, ZoneMatch, ZoneResolver

if TYPE_CHECKING:
    from core.calendar import Calendar

__all__ = ["ContractSet", "LoadedContract", "NoResolver"]


@dataclass(frozen=True)
class LoadedContract:
    """A checked contract with what it needs to compute deadlines: catalog, holidays, zones."""

    contract: Contract
    file: str
    catalog: TierCatalog
    registry: HolidayRegistry
    zone_resolver: ZoneResolver
    # the parsed file (core.sources.yamlsource.YamlDoc) that locates problems; None when built
    doc: Any = field(default=None, repr=False, compare=False)
    # built calendars per (name, weekdays_only); the dataclass is frozen, the cache is not
    _calendars: dict[tuple[str, bool], Calendar] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    @property
    def id(self) -> str:
        return self.contract.id

    def calendar_spec(self, name: str) -> CalendarSpec:
        """The spec behind ``name``: the contract's, then the catalog's, then a default."""
        specs = visible_calendars(self.contract, self.catalog)
        if name not in specs:
            raise NotFoundError(
                f"contract {self.id}: unknown calendar {name!r} (known: {', '.join(sorted(specs))})"
            )
        return specs[name]

    def calendar(self, name: str, *, weekdays_only: bool = False) -> Calendar:
        """The named calendar, built once per (name, weekdays_only)."""
        key = (name, weekdays_only)
        if key not in self._calendars:
            spec = self.calendar_spec(name)
            self._calendars[key] = build_calendar(
                spec, self.registry, name=name, weekdays_only=weekdays_only
            )
        return self._calendars[key]

    def tier(self, name: str) -> Tier:
        if name not in self.catalog.tiers:
            known = ", ".join(self.catalog.tiers) or "none"
            raise NotFoundError(f"unknown tier {name!r} (known: {known})")
        return self.catalog.tiers[name]

    def program(self) -> Program:
        name = self.contract.program
        if name not in self.catalog.programs:
            known = ", ".join(self.catalog.programs) or "none"
            raise NotFoundError(f"contract {self.id}: unknown program {name!r} (known: {known})")
        return self.catalog.programs[name]

    def effective_spare_rules(
        self, device: Device
    ) -> tuple[Tier, ShipRule | None, ArrivalRule | None, str]:
        """The device's tier, with its vendor terms applied where the program allows.

        A vendor-terms field left out inherits the tier's rule. The string says which applied.
        """
        tier = self.tier(device.tier)
        terms = device.vendor_terms
        if terms is None or not self.program().vendor_terms_override:
            return tier, tier.ship, tier.arrival, f"tier {device.tier}"
        ship = terms.ship if terms.ship is not None else tier.ship
        arrival = terms.arrival if terms.arrival is not None else tier.arrival
        note = terms.note or f"{device.model} vendor commitment over tier {device.tier}"
        return tier, ship, arrival, f"vendor terms: {note}"

    def resolve_site(
        self, address: str | None = None, lat: float | None = None, lon: float | None = None
    ) -> ZoneMatch:
        """The zone of a site, by the contract's zone resolver and its overrides."""
        site = Site(address=address, lat=lat, lon=lon)
        return self.zone_resolver.resolve(site, self.contract.zones.config)


@dataclass
class ContractSet:
    """Every loaded contract by id, with the shared catalog and holiday data."""

    contracts: dict[str, LoadedContract]
    catalog: TierCatalog
    registry: HolidayRegistry

    def get(self, contract_id: str) -> LoadedContract:
        if contract_id not in self.contracts:
            known = ", ".join(sorted(self.contracts)) or "none loaded"
            raise NotFoundError(f"unknown contract {contract_id!r} (known: {known})")
        return self.contracts[contract_id]

    def regions(self) -> set[str]:
        """Every holiday region a calendar of the loaded contracts (or the catalog) uses."""
        specs = [*visible_calendars(None, self.catalog).values()]
        for loaded in self.contracts.values():
            specs += loaded.contract.calendars.values()
        return {spec.region.upper() for spec in specs if spec.region is not None}

    def find_device(self, serial: str, on: date | None = None) -> tuple[LoadedContract, Device]:
        """The contract covering the device ``serial`` on day ``on`` (a renewal lists the same
        serial under several contracts whose periods do not overlap). Without ``on``, or
        when no period covers it, the contract with the latest period that lists it."""
        found = [
            (lc, device)
            for lc in self.contracts.values()
            if (device := lc.contract.device(serial)) is not None
        ]
        if not found:
            raise NotFoundError(f"no contract covers a device with serial {serial!r}")
        if on is not None:
            for lc, device in found:
                if lc.contract.period.start <= on <= lc.contract.period.end:
                    return lc, device
        return max(found, key=lambda pair: pair[0].contract.period.end)


class NoResolver:
    """Stands in for a zone resolver the contract names but no plugin registered."""

    zones: tuple[str, ...] = ()

    def resolve(self, site: Site, config: Mapping[str, Any] | None = None) -> ZoneMatch:
        raise NotFoundError("the contract's zone resolver is not registered by any plugin")
