"""Reading contract files and directories into a ContractSet, checked; the plugin collection."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
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
from core.contract_calendars import (
    WEEKDAY_INDEX,
    build_calendar,
    parse_clock,
    parse_days,
    parse_span,
    parse_week,
    region_holidays,
    visible_calendars,
)
from core.contract_check import (
    TARGET_KEYS,
    TARGET_TABLES,
    Checker,
    catalog_problems,
    duplicate_problems,
    plugin_problems,
)
from core.contract_schema import contract_schema
from core.errors import ContractError, NotFoundError, Problem
from core.holidays import HolidayRegistry, build_registry
from core.plugins import collect_named, make_plugin_manager
from core.yamlsource import DEFAULT_LIMITS, YamlDoc, YamlLimits, convert, parse
from core.zones import Site, ZoneMatch, ZoneResolver

if TYPE_CHECKING:
    from pluggy import PluginManager

    from core.calendar import Calendar

__all__ = [
    "BUILTIN_NOTIFIER_CHANNELS",
    "CALENDARS_DIR",
    "CONTRACT_SUFFIXES",
    "TARGET_KEYS",
    "TARGET_TABLES",
    "TIERS_FILES",
    "WEEKDAY_INDEX",
    "ContractSet",
    "LoadedContract",
    "Plugins",
    "build_calendar",
    "check_contracts",
    "contract_schema",
    "load_contracts",
    "parse_clock",
    "parse_days",
    "parse_span",
    "parse_week",
    "region_holidays",
    "visible_calendars",
]

TIERS_FILES = ("tiers.yaml", "tiers.yml")
CALENDARS_DIR = "calendars"
CONTRACT_SUFFIXES = (".yaml", ".yml")
# Escalation ladders may always name these two (the built-in email_notify and sms_notify
# plugins provide them, and a deployment may disable either); any other channel must be
# registered through `register_notifiers`.
BUILTIN_NOTIFIER_CHANNELS = frozenset({"email", "sms"})


# --- a loaded contract -----------------------------------------------------------------------


@dataclass(frozen=True)
class LoadedContract:
    """A checked contract with what it needs to compute deadlines: catalog, holidays, zones."""

    contract: Contract
    file: str
    catalog: TierCatalog
    registry: HolidayRegistry
    zone_resolver: ZoneResolver
    doc: YamlDoc | None = field(default=None, repr=False, compare=False)
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

    def find_device(self, serial: str) -> tuple[LoadedContract, Device]:
        for loaded in self.contracts.values():
            device = loaded.contract.device(serial)
            if device is not None:
                return loaded, device
        raise NotFoundError(f"no contract covers a device with serial {serial!r}")


# --- entry points ------------------------------------------------------------------------------


def load_contracts(
    paths: Sequence[Path | str],
    *,
    pm: PluginManager | None = None,
    calendar_dirs: Sequence[Path] | None = None,
    limits: YamlLimits = DEFAULT_LIMITS,
) -> ContractSet:
    """Load and check contracts; raises ContractError listing every problem in every file."""
    loaded, problems = check_contracts(paths, pm=pm, calendar_dirs=calendar_dirs, limits=limits)
    if problems or loaded is None:
        raise ContractError(problems)
    return loaded


def check_contracts(
    paths: Sequence[Path | str],
    *,
    pm: PluginManager | None = None,
    calendar_dirs: Sequence[Path] | None = None,
    limits: YamlLimits = DEFAULT_LIMITS,
) -> tuple[ContractSet | None, list[Problem]]:
    """Load and check contracts; returns the set (None when anything is wrong) and problems.

    Every contract and tier file is read within ``limits`` (size, depth, aliases, time).
    """
    pm = pm if pm is not None else make_plugin_manager()
    problems: list[Problem] = []
    layout = _layout(paths, problems)
    dirs = layout.calendar_dirs if calendar_dirs is None else [Path(d) for d in calendar_dirs]
    plugins = Plugins.collect(pm)
    registry = _registry(pm, dirs, problems)
    catalog = _load_catalog(layout.tiers, registry, problems, limits) if layout.tiers else None
    checker = Checker(catalog or TierCatalog(), catalog is not None, registry, plugins)
    loaded: list[LoadedContract] = []
    for file in layout.contracts:
        lc = _load_contract(file, checker, problems, limits)
        if lc is not None:
            loaded.append(lc)
    problems += duplicate_problems(loaded)
    problems += plugin_problems(loaded, plugins.checks, problems)
    problems.sort(key=_problem_order)
    if problems:
        return None, problems
    contracts = {lc.id: lc for lc in loaded}
    return ContractSet(contracts, checker.catalog, registry), []


# --- which files -------------------------------------------------------------------------------


@dataclass
class _Layout:
    contracts: list[Path] = field(default_factory=list)
    tiers: Path | None = None
    calendar_dirs: list[Path] = field(default_factory=list)


def _layout(paths: Sequence[Path | str], problems: list[Problem]) -> _Layout:
    """Sort the given paths into contract files, the tier catalog and holiday directories."""
    layout = _Layout()
    tiers: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            folder = path
            layout.contracts += sorted(
                p
                for p in path.iterdir()
                if p.is_file() and p.suffix in CONTRACT_SUFFIXES and p.name not in TIERS_FILES
            )
        elif path.is_file():
            folder = path.parent
            if path.name not in TIERS_FILES:
                layout.contracts.append(path)
        else:
            problems.append(_file_problem(path, "no such file or directory"))
            continue
        tiers += [folder / name for name in TIERS_FILES if (folder / name).is_file()]
        if (folder / CALENDARS_DIR).is_dir():
            layout.calendar_dirs.append(folder / CALENDARS_DIR)
    layout.contracts = _unique(layout.contracts)
    layout.calendar_dirs = _unique(layout.calendar_dirs)
    tiers = _unique(tiers)
    if len(tiers) > 1:
        names = ", ".join(str(t) for t in tiers)
        message = f"several tier catalogs given ({names}): load contracts sharing one tiers.yaml"
        problems.append(_file_problem(tiers[1], message))
    if tiers:
        layout.tiers = tiers[0]
    elif layout.contracts:
        message = (
            "no tiers.yaml (the tier catalog) beside these contracts: every contracts "
            "directory needs one"
        )
        problems.append(_file_problem(layout.contracts[0], message))
    return layout


def _file_problem(path: Path, message: str) -> Problem:
    """A problem with a whole file (no line to point at)."""
    return Problem(str(path), None, None, "$", message)


def _unique(paths: Iterable[Path]) -> list[Path]:
    seen: dict[Path, Path] = {}
    for path in paths:
        seen.setdefault(path.resolve(), path)
    return list(seen.values())


def _problem_order(problem: Problem) -> tuple[str, int, int]:
    return problem.file, problem.line or 0, problem.column or 0


# --- plugins and holiday data ------------------------------------------------------------------


@dataclass
class Plugins:
    """What the registered plugins offer the checks: RMA channels, zone resolvers, notifiers."""

    rma_channels: dict[str, Any]
    zone_resolvers: dict[str, Any]
    notifier_channels: frozenset[str]
    checks: dict[str, Callable[..., Iterable[tuple[str, str]]]]

    @classmethod
    def collect(cls, pm: PluginManager) -> Plugins:
        notifiers = collect_named(pm, "register_notifiers")
        return cls(
            rma_channels=collect_named(pm, "register_rma_channels"),
            zone_resolvers=collect_named(pm, "register_zone_resolvers"),
            notifier_channels=BUILTIN_NOTIFIER_CHANNELS | frozenset(notifiers),
            checks=collect_named(pm, "register_contract_checks"),
        )


def _registry(pm: PluginManager, dirs: Sequence[Path], problems: list[Problem]) -> HolidayRegistry:
    """Holiday data from plugins and YAML files; a broken file is a problem, not a crash."""
    try:
        return build_registry(pm, dirs)
    except ContractError as exc:
        problems += exc.problems
    except ValueError as exc:
        where = str(dirs[0]) if dirs else "holiday data"
        problems.append(Problem(where, None, None, "$", str(exc)))
    # fall back to plugin data only, so the contracts can still be checked
    try:
        return build_registry(pm, [])
    except (ContractError, ValueError):
        return HolidayRegistry()


# --- the tier catalog --------------------------------------------------------------------------


def _load_catalog(
    path: Path, registry: HolidayRegistry, problems: list[Problem], limits: YamlLimits
) -> TierCatalog | None:
    try:
        doc = parse(path, limits=limits)
        catalog = convert(doc, TierCatalog)
    except ContractError as exc:
        problems += exc.problems
        return None
    problems += catalog_problems(doc, catalog, registry)
    return catalog


# --- one contract ------------------------------------------------------------------------------


def _load_contract(
    file: Path, checker: Checker, problems: list[Problem], limits: YamlLimits
) -> LoadedContract | None:
    """Decode one file; structural errors stop it, semantic problems are all collected."""
    try:
        doc = parse(file, limits=limits)
        contract = convert(doc, Contract)
    except ContractError as exc:
        problems += exc.problems
        return None
    resolver = checker.plugins.zone_resolvers.get(contract.zones.resolver, _NoResolver())
    lc = LoadedContract(contract, str(file), checker.catalog, checker.registry, resolver, doc)
    problems += checker.contract_problems(doc, lc)
    return lc


class _NoResolver:
    """Stands in for a zone resolver the contract names but no plugin registered."""

    zones: tuple[str, ...] = ()

    def resolve(self, site: Site, config: Mapping[str, Any] | None = None) -> ZoneMatch:
        raise NotFoundError("the contract's zone resolver is not registered by any plugin")
