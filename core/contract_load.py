"""Load contract files and cross-check them against the tier catalog, calendars and plugins."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import time
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import msgspec

from core.contract import (
    PRIORITIES,
    WEEKDAYS,
    ArrivalRule,
    CalendarSpec,
    Contract,
    Device,
    Program,
    ShipRule,
    Target,
    TargetRule,
    Tier,
    TierCatalog,
    default_calendars,
    parse_duration,
)
from core.errors import CasetrackError, ContractError, NotFoundError, Problem
from core.holidays import HolidayRegistry, HolidayYear, RegionHolidays, build_registry
from core.plugins import collect_named, make_plugin_manager
from core.yamlsource import YamlDoc, convert, parse
from core.zones import Site, ZoneMatch, ZoneResolver

if TYPE_CHECKING:
    from pluggy import PluginManager

    from core.calendar import Calendar

TIERS_FILES = ("tiers.yaml", "tiers.yml")
CALENDARS_DIR = "calendars"
CONTRACT_SUFFIXES = (".yaml", ".yml")
TARGET_TABLES = ("response", "diagnosis", "resolution")
TARGET_KEYS = (*PRIORITIES, "default")
# No notifier plugin exists yet (email and SMS arrive with a later issue), so escalation
# ladders may name these two as built-ins; any channel registered through
# `register_notifiers` is accepted as well.
BUILTIN_NOTIFIER_CHANNELS = frozenset({"email", "sms"})

WEEKDAY_INDEX = {name: index for index, name in enumerate(WEEKDAYS)}


# --- calendars: YAML spec → core.calendar.Calendar --------------------------------------------


def parse_clock(text: str) -> time:
    """``"08:30"`` → time(8, 30); ``"24:00"`` (end of day) → time(0)."""
    hours, _, minutes = text.strip().partition(":")
    h, m = int(hours), int(minutes)
    if h == 24 and m == 0:
        return time(0)
    if not (0 <= h < 24 and 0 <= m < 60):
        raise ValueError(f"{text.strip()!r} is not a time of day (00:00 to 24:00)")
    return time(h, m)


def parse_span(text: str) -> tuple[time, time]:
    """``"08:30-17:30"`` → (08:30, 17:30); an end not after the start crosses midnight."""
    first, sep, second = text.partition("-")
    if not sep:
        raise ValueError(f"{text!r} is not a span: expected HH:MM-HH:MM such as 08:30-17:30")
    if first.strip().startswith("24"):
        raise ValueError(f"span {text.strip()!r} starts at 24:00: write 00:00 instead")
    start, end = parse_clock(first), parse_clock(second)
    if start == end and not (second.strip() == "24:00" and start == time(0)):
        raise ValueError(
            f"span {text.strip()!r} is empty (start equals end): write 00:00-24:00 for a whole day"
        )
    return start, end


def parse_days(text: str) -> list[int]:
    """``"mon-fri"`` → [0..4], ``"sat,sun"`` → [5, 6]; a range may wrap (``sun-mon``)."""
    days: list[int] = []
    for part in text.split(","):
        first, _, last = part.strip().partition("-")
        if first.strip() not in WEEKDAY_INDEX or (last and last.strip() not in WEEKDAY_INDEX):
            raise ValueError(f"{part.strip()!r} is not a weekday or range such as mon-fri")
        start = WEEKDAY_INDEX[first.strip()]
        stop = WEEKDAY_INDEX[last.strip()] if last else start
        days += [(start + offset) % 7 for offset in range((stop - start) % 7 + 1)]
    return days


def parse_week(week: Mapping[str, Sequence[str]]) -> dict[int, list[tuple[time, time]]]:
    """Week keys → weekday index (0 = Monday) → sorted spans; a day named twice merges."""
    result: dict[int, list[tuple[time, time]]] = {}
    for days, spans in week.items():
        parsed = [parse_span(span) for span in spans]
        for day in parse_days(days):
            result.setdefault(day, []).extend(parsed)
    return {day: sorted(spans) for day, spans in sorted(result.items())}


def _without_workdays(year: HolidayYear | None) -> HolidayYear | None:
    return None if year is None else replace(year, workdays=frozenset())


def region_holidays(
    registry: HolidayRegistry, region: str, *, make_up_workdays: bool = True
) -> RegionHolidays:
    """The registry's view of ``region``; optionally without its make-up workdays (调休)."""
    if make_up_workdays:
        return registry.region(region)
    return RegionHolidays(region.upper(), lambda r, y: _without_workdays(registry.get(r, y)))


def build_calendar(
    spec: CalendarSpec, registry: HolidayRegistry, *, name: str, weekdays_only: bool = False
) -> Calendar:
    """A Calendar from its YAML spec; ``weekdays_only`` drops the region's make-up workdays.

    The spec's own ``workdays:`` stay: they are dates the contract opened on purpose.
    """
    from core.calendar import Calendar

    region = None
    if spec.region is not None:
        keep = spec.make_up_workdays and not weekdays_only
        region = region_holidays(registry, spec.region, make_up_workdays=keep)
    return Calendar(
        ZoneInfo(spec.tz),
        parse_week(spec.week),
        tuple(spec.holidays),
        tuple(spec.workdays),
        region=region,
        assume_weekdays=spec.assume_weekdays,
        workday_spans=WEEKDAY_INDEX[spec.workday_spans],
        name=name,
    )


def visible_calendars(contract: Contract | None, catalog: TierCatalog) -> dict[str, CalendarSpec]:
    """Every calendar name a contract can use: its own, then the catalog's, then defaults."""
    merged = dict(default_calendars())
    merged.update(catalog.calendars)
    if contract is not None:
        merged.update(contract.calendars)
    return merged


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
) -> ContractSet:
    """Load and check contracts; raises ContractError listing every problem in every file."""
    loaded, problems = check_contracts(paths, pm=pm, calendar_dirs=calendar_dirs)
    if problems or loaded is None:
        raise ContractError(problems)
    return loaded


def check_contracts(
    paths: Sequence[Path | str],
    *,
    pm: PluginManager | None = None,
    calendar_dirs: Sequence[Path] | None = None,
) -> tuple[ContractSet | None, list[Problem]]:
    """Load and check contracts; returns the set (None when anything is wrong) and problems."""
    pm = pm if pm is not None else make_plugin_manager()
    problems: list[Problem] = []
    layout = _layout(paths, problems)
    dirs = layout.calendar_dirs if calendar_dirs is None else [Path(d) for d in calendar_dirs]
    plugins = _Plugins.collect(pm)
    registry = _registry(pm, dirs, problems)
    catalog = _load_catalog(layout.tiers, registry, problems) if layout.tiers else None
    checker = _Checker(catalog or TierCatalog(), catalog is not None, registry, plugins)
    loaded: list[LoadedContract] = []
    for file in layout.contracts:
        lc = _load_contract(file, checker, problems)
        if lc is not None:
            loaded.append(lc)
    problems += _duplicates(loaded)
    problems += _plugin_checks(loaded, plugins.checks, problems)
    problems.sort(key=_problem_order)
    if problems:
        return None, problems
    contracts = {lc.id: lc for lc in loaded}
    return ContractSet(contracts, checker.catalog, registry), []


def contract_schema(kind: str = "contract") -> dict[str, Any]:
    """JSON Schema (draft 2020-12) of a contract file or of the tier catalog."""
    if kind == "contract":
        body = msgspec.json.schema(Contract)
        title = "casetrack contract"
        description = (
            "One customer's service contract (contracts/*.yaml): customer, our staff, period, "
            "program, calendars, response / diagnosis / resolution targets, on-site tables, "
            "covered devices, escalation ladder, survey and complaint promises. "
            "See docs/contracts.md."
        )
    elif kind == "tiers":
        body = msgspec.json.schema(TierCatalog)
        title = "casetrack tier catalog"
        description = (
            "contracts/tiers.yaml: the shared calendars, spare-part tiers (8x5xNBD, 24x7x4h...) "
            "and the programs that offer them. See docs/contracts.md."
        )
    else:
        raise ValueError(f"unknown schema kind {kind!r}: expected 'contract' or 'tiers'")
    if kind == "contract":
        # the target tables' keys are checked semantically (so every bad key is reported);
        # editors still get to know them
        properties = body["$defs"]["Contract"]["properties"]
        for table in TARGET_TABLES:
            properties[table]["propertyNames"] = {"enum": list(TARGET_KEYS)}
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": title,
        "description": description,
        **body,
    }


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
class _Plugins:
    rma_channels: dict[str, Any]
    zone_resolvers: dict[str, Any]
    notifier_channels: frozenset[str]
    checks: dict[str, Callable[..., Iterable[tuple[str, str]]]]

    @classmethod
    def collect(cls, pm: PluginManager) -> _Plugins:
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
    path: Path, registry: HolidayRegistry, problems: list[Problem]
) -> TierCatalog | None:
    try:
        doc = parse(path)
        catalog = convert(doc, TierCatalog)
    except ContractError as exc:
        problems += exc.problems
        return None
    found = list(_catalog_problems(doc, catalog, registry))
    problems += found
    return catalog


def _catalog_problems(
    doc: YamlDoc, catalog: TierCatalog, registry: HolidayRegistry
) -> Iterator[Problem]:
    for name, spec in catalog.calendars.items():
        yield from _calendar_spec_problems(doc, f"$.calendars.{name}", name, spec, registry)
    known = visible_calendars(None, catalog)
    for name, tier in catalog.tiers.items():
        yield from _tier_problems(doc, f"$.tiers.{name}", tier, known)
    for name, program in catalog.programs.items():
        for i, tier_name in enumerate(program.tiers):
            if tier_name not in catalog.tiers:
                yield doc.problem(
                    f"$.programs.{name}.tiers[{i}]",
                    f"unknown tier {tier_name!r} (tiers.yaml defines: "
                    f"{', '.join(catalog.tiers) or 'none'})",
                )


def _tier_problems(
    doc: YamlDoc, path: str, tier: Tier, calendars: Mapping[str, CalendarSpec] | None
) -> Iterator[Problem]:
    if tier.ship is None and tier.arrival is None:
        yield doc.problem(path, "a tier needs a ship rule, an arrival rule or both")
    if tier.ship is not None:
        yield from _ship_problems(doc, f"{path}.ship", tier.ship, calendars)
    if tier.arrival is not None:
        yield from _arrival_problems(doc, f"{path}.arrival", tier.arrival, calendars)
        if tier.ship is None and tier.arrival.from_ == "shipped":
            yield doc.problem(
                f"{path}.arrival.from",
                "arrival counts from the shipment but the tier has no ship rule: use "
                "from: diagnosed (24x7 levels ship at any hour)",
            )


def _ship_problems(
    doc: YamlDoc, path: str, ship: ShipRule, calendars: Mapping[str, CalendarSpec] | None
) -> Iterator[Problem]:
    yield from _calendar_ref(doc, f"{path}.calendar", ship.calendar, calendars)
    try:
        if ship.cutoff.strip().startswith("24"):
            raise ValueError("a cut-off of 24:00 never applies: use a time within the day")
        parse_clock(ship.cutoff)
    except ValueError as exc:
        yield doc.problem(f"{path}.cutoff", str(exc))


def _arrival_problems(
    doc: YamlDoc, path: str, arrival: ArrivalRule, calendars: Mapping[str, CalendarSpec] | None
) -> Iterator[Problem]:
    yield from _calendar_ref(doc, f"{path}.calendar", arrival.calendar, calendars)
    yield from _duration_problems(doc, f"{path}.within", arrival.within)


# --- one contract ------------------------------------------------------------------------------


def _load_contract(file: Path, checker: _Checker, problems: list[Problem]) -> LoadedContract | None:
    """Decode one file; structural errors stop it, semantic problems are all collected."""
    try:
        doc = parse(file)
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


@dataclass
class _Checker:
    """The semantic checks of one contract against the catalog, holiday data and plugins."""

    catalog: TierCatalog
    catalog_ok: bool  # when tiers.yaml is broken, don't also flag every tier name
    registry: HolidayRegistry
    plugins: _Plugins

    def contract_problems(self, doc: YamlDoc, lc: LoadedContract) -> list[Problem]:
        contract = lc.contract
        # with tiers.yaml broken its calendar names are unknown: don't flag references
        calendars = visible_calendars(contract, self.catalog) if self.catalog_ok else None
        found: list[Problem] = []
        found += _period_problems(doc, contract)
        for name, spec in contract.calendars.items():
            found += _calendar_spec_problems(doc, f"$.calendars.{name}", name, spec, self.registry)
        found += _target_problems(doc, contract, calendars)
        found += self._program_problems(doc, contract)
        found += self._zone_problems(doc, contract, calendars)
        found += self._device_problems(doc, lc, calendars)
        found += self._escalation_problems(doc, contract)
        found += _exclusion_problems(doc, contract)
        return found

    def _program_problems(self, doc: YamlDoc, contract: Contract) -> Iterator[Problem]:
        if self.catalog_ok and contract.program not in self.catalog.programs:
            yield doc.problem(
                "$.program",
                f"unknown program {contract.program!r} (tiers.yaml offers: "
                f"{', '.join(self.catalog.programs) or 'none'})",
            )

    def _zone_problems(
        self, doc: YamlDoc, contract: Contract, calendars: Mapping[str, CalendarSpec] | None
    ) -> Iterator[Problem]:
        resolvers = self.plugins.zone_resolvers
        name = contract.zones.resolver
        yield from _calendar_ref(doc, "$.onsite.calendar", contract.onsite.calendar, calendars)
        for label, table in (
            ("normal", contract.onsite.normal),
            ("emergency", contract.onsite.emergency),
        ):
            for zone, within in table.items():
                yield from _duration_problems(doc, f"$.onsite.{label}.{zone}", within)
        if name not in resolvers:
            yield doc.problem(
                "$.zones.resolver",
                f"unknown zone resolver {name!r} (registered: {', '.join(resolvers) or 'none'})",
            )
            return
        resolver = resolvers[name]
        try:
            # a dry run: the resolver validates its config section on every call
            resolver.resolve(Site(), contract.zones.config)
        except (CasetrackError, ValueError) as exc:
            detail = exc.detail if isinstance(exc, CasetrackError) else str(exc)
            yield doc.problem("$.zones.config", detail)
            return
        zones = tuple(resolver.zones)
        for label, table in (
            ("normal", contract.onsite.normal),
            ("emergency", contract.onsite.emergency),
        ):
            yield from _onsite_table_problems(doc, f"$.onsite.{label}", label, table, name, zones)

    def _device_problems(
        self, doc: YamlDoc, lc: LoadedContract, calendars: Mapping[str, CalendarSpec] | None
    ) -> Iterator[Problem]:
        seen: dict[str, int] = {}
        for i, device in enumerate(lc.contract.devices):
            path = f"$.devices[{i}]"
            if device.serial in seen:
                first, _ = doc.locate(f"$.devices[{seen[device.serial]}].serial")
                yield doc.problem(
                    f"{path}.serial",
                    f"serial {device.serial!r} is listed twice in this contract (first at "
                    f"line {first})",
                )
            seen.setdefault(device.serial, i)
            yield from self._device_tier(doc, lc, path, device)
            if device.rma not in self.plugins.rma_channels:
                known = ", ".join(sorted(self.plugins.rma_channels)) or "none"
                yield doc.problem(
                    f"{path}.rma", f"unknown RMA channel {device.rma!r} (registered: {known})"
                )
            yield from self._vendor_terms(doc, lc.contract, path, device, calendars)

    def _device_tier(
        self, doc: YamlDoc, lc: LoadedContract, path: str, device: Device
    ) -> Iterator[Problem]:
        if not self.catalog_ok:
            return
        tiers, programs = self.catalog.tiers, self.catalog.programs
        if device.tier not in tiers:
            yield doc.problem(
                f"{path}.tier",
                f"unknown tier {device.tier!r} (tiers.yaml defines: {', '.join(tiers)})",
            )
            return
        program = programs.get(lc.contract.program)
        if program is not None and device.tier not in program.tiers:
            yield doc.problem(
                f"{path}.tier",
                f"tier {device.tier} is not offered by program {lc.contract.program} "
                f"(offers {', '.join(program.tiers)})",
            )
            return
        tier = tiers[device.tier]
        if tier.zones is not None and lc.contract.zones.resolver in self.plugins.zone_resolvers:
            yield from _restricted_tier(doc, lc, path, device, tier)

    def _vendor_terms(
        self,
        doc: YamlDoc,
        contract: Contract,
        path: str,
        device: Device,
        calendars: Mapping[str, CalendarSpec] | None,
    ) -> Iterator[Problem]:
        terms = device.vendor_terms
        if terms is None:
            return
        path = f"{path}.vendor-terms"
        program = self.catalog.programs.get(contract.program)
        if program is not None and not program.vendor_terms_override:
            yield doc.problem(
                path,
                f"program {contract.program} does not let vendor terms override its tiers "
                "(only programs with vendor-terms-override: true do); remove them or move "
                "the device to such a program",
            )
        if terms.ship is None and terms.arrival is None and terms.note is None:
            yield doc.problem(path, "vendor terms need a note, a ship or an arrival rule")
        if terms.ship is not None:
            yield from _ship_problems(doc, f"{path}.ship", terms.ship, calendars)
        if terms.arrival is not None:
            yield from _arrival_problems(doc, f"{path}.arrival", terms.arrival, calendars)

    def _escalation_problems(self, doc: YamlDoc, contract: Contract) -> Iterator[Problem]:
        known = self.plugins.notifier_channels
        for i, step in enumerate(contract.escalation):
            for j, channel in enumerate(step.channels):
                if channel not in known:
                    yield doc.problem(
                        f"$.escalation[{i}].channels[{j}]",
                        f"unknown notification channel {channel!r} (known: "
                        f"{', '.join(sorted(known))})",
                    )
            if not step.notify:
                yield doc.problem(f"$.escalation[{i}].notify", "notify nobody: name a role")


def _restricted_tier(
    doc: YamlDoc, lc: LoadedContract, path: str, device: Device, tier: Tier
) -> Iterator[Problem]:
    """A zone-restricted tier (4-hour levels) must not cover a device outside its zones."""
    try:
        match = lc.resolve_site(device.site, device.lat, device.lon)
    except (CasetrackError, ValueError) as exc:
        yield doc.problem(f"{path}.site", f"cannot resolve the site to a zone: {exc}")
        return
    assert tier.zones is not None
    if match.zone not in tier.zones:
        yield doc.problem(
            f"{path}.tier",
            f"tier {device.tier} is only offered in zones {', '.join(tier.zones)}; this "
            f"device's site is in zone {match.zone!r} ({match.reason})",
        )


def _onsite_table_problems(
    doc: YamlDoc,
    path: str,
    label: str,
    table: Mapping[str, str],
    resolver: str,
    zones: Sequence[str],
) -> Iterator[Problem]:
    for zone in table:
        if zone not in zones:
            yield doc.problem_at_key(
                f"{path}.{zone}",
                f"unknown zone {zone!r} (resolver {resolver} returns: {', '.join(zones)})",
            )
    missing = [zone for zone in zones if zone not in table]
    if missing:
        yield doc.problem(
            path,
            f"no {label} on-site time for zone {', '.join(missing)}: price every zone resolver "
            f"{resolver} can return ({', '.join(zones)}); the handbook leaves 'elsewhere' to "
            "each contract",
        )


def _period_problems(doc: YamlDoc, contract: Contract) -> Iterator[Problem]:
    period = contract.period
    if period.end < period.start:
        yield doc.problem(
            "$.period.end", f"the period ends ({period.end}) before it starts ({period.start})"
        )


def _calendar_spec_problems(
    doc: YamlDoc, path: str, name: str, spec: CalendarSpec, registry: HolidayRegistry
) -> list[Problem]:
    found: list[Problem] = []
    try:
        ZoneInfo(spec.tz)
    except (ZoneInfoNotFoundError, ValueError):
        found.append(
            doc.problem(
                f"{path}.tz",
                f"unknown time zone {spec.tz!r}: expected an IANA name such as Asia/Shanghai",
            )
        )
    if spec.region is not None and not registry.years(spec.region):
        found.append(
            doc.problem(
                f"{path}.region",
                f"no holiday data at all for region {spec.region!r} (regions with data: "
                f"{', '.join(registry.regions()) or 'none'})",
            )
        )
    for days, spans in spec.week.items():
        try:
            parse_days(days)
        except ValueError as exc:
            found.append(doc.problem_at_key(f"{path}.week.{days}", str(exc)))
        for i, span in enumerate(spans):
            try:
                parse_span(span)
            except ValueError as exc:
                found.append(doc.problem(f"{path}.week.{days}[{i}]", str(exc)))
    both = sorted(set(spec.holidays) & set(spec.workdays))
    if both:
        found.append(
            doc.problem(
                f"{path}.workdays",
                f"dates both holidays and workdays: {', '.join(map(str, both))}",
            )
        )
    if not found:
        found += _build_problems(doc, path, name, spec, registry)
    return found


def _build_problems(
    doc: YamlDoc, path: str, name: str, spec: CalendarSpec, registry: HolidayRegistry
) -> list[Problem]:
    """Whatever else the Calendar itself rejects (overlapping spans, no open time...)."""
    try:
        build_calendar(spec, registry, name=name)
    except (CasetrackError, ValueError, TypeError) as exc:
        detail = exc.detail if isinstance(exc, CasetrackError) else str(exc)
        return [doc.problem(f"{path}.week", f"calendar {name}: {detail}")]
    return []


def _calendar_ref(
    doc: YamlDoc, path: str, name: str | None, calendars: Mapping[str, CalendarSpec] | None
) -> Iterator[Problem]:
    if name is not None and calendars is not None and name not in calendars:
        yield doc.problem(
            path, f"unknown calendar {name!r} (known: {', '.join(sorted(calendars))})"
        )


def _duration_problems(doc: YamlDoc, path: str, text: str) -> Iterator[Problem]:
    try:
        duration = parse_duration(text)
    except ValueError as exc:
        yield doc.problem(path, str(exc))
        return
    if duration.amount <= 0:
        yield doc.problem(path, f"duration {text!r} is zero: a target must be positive")


def _target_problems(
    doc: YamlDoc, contract: Contract, calendars: Mapping[str, CalendarSpec] | None
) -> Iterator[Problem]:
    for table in TARGET_TABLES:
        rules: dict[str, TargetRule] = getattr(contract, table)
        for key, rule in rules.items():
            if key not in TARGET_KEYS:
                yield doc.problem_at_key(
                    f"$.{table}.{key}",
                    f"unknown priority {key!r}: expected {', '.join(TARGET_KEYS)}",
                )
            yield from _rule_problems(doc, f"$.{table}.{key}", rule, calendars)
        missing = [p for p in PRIORITIES if p not in rules]
        if "default" not in rules and missing:
            yield doc.problem(
                f"$.{table}",
                f"no {table} target for {', '.join(missing)} and no default",
            )
    yield from _rule_problems(doc, "$.remote-access", contract.remote_access, calendars)
    complaint = contract.complaint
    yield from _rule_problems(doc, "$.complaint.first-reply", complaint.first_reply, calendars)
    yield from _rule_problems(doc, "$.complaint.resolution", complaint.resolution, calendars)


def _rule_problems(
    doc: YamlDoc, path: str, rule: TargetRule, calendars: Mapping[str, CalendarSpec] | None
) -> Iterator[Problem]:
    targets = rule if isinstance(rule, list) else [rule]
    if not targets:
        yield doc.problem(path, "an empty list of targets: give at least one")
        return
    for i, target in enumerate(targets):
        where = f"{path}[{i}]" if isinstance(rule, list) else path
        yield from _target_fields(doc, where, target, calendars)
    last = targets[-1]
    if last.when_open is not None or last.when_closed is not None:
        where = f"{path}[{len(targets) - 1}]" if isinstance(rule, list) else path
        yield doc.problem(
            where,
            "every target here has a condition (when-open / when-closed), so some requests "
            "would have none: end with a target without one",
        )


def _target_fields(
    doc: YamlDoc, path: str, target: Target, calendars: Mapping[str, CalendarSpec] | None
) -> Iterator[Problem]:
    yield from _duration_problems(doc, f"{path}.within", target.within)
    yield from _calendar_ref(doc, f"{path}.calendar", target.calendar, calendars)
    yield from _calendar_ref(doc, f"{path}.when-open", target.when_open, calendars)
    yield from _calendar_ref(doc, f"{path}.when-closed", target.when_closed, calendars)
    if target.when_open is not None and target.when_closed is not None:
        yield doc.problem(f"{path}.when-closed", "give when-open or when-closed, not both")


def _exclusion_problems(doc: YamlDoc, contract: Contract) -> Iterator[Problem]:
    seen: set[str] = set()
    for i, cause in enumerate(contract.exclusions):
        if cause in seen:
            yield doc.problem(f"$.exclusions[{i}]", f"exclusion {cause!r} is listed twice")
        seen.add(cause)


# --- across files ------------------------------------------------------------------------------


def _duplicates(loaded: Sequence[LoadedContract]) -> Iterator[Problem]:
    """Contract ids and device serials must be unique over every file loaded together."""
    ids: dict[str, LoadedContract] = {}
    serials: dict[str, tuple[LoadedContract, int]] = {}
    for lc in loaded:
        doc = _doc(lc)
        first = ids.setdefault(lc.id, lc)
        if first is not lc:
            yield doc.problem(
                "$.id", f"contract id {lc.id!r} is already used by {_where(first, '$.id')}"
            )
        for i, device in enumerate(lc.contract.devices):
            owner, index = serials.setdefault(device.serial, (lc, i))
            if owner is not lc:
                yield doc.problem(
                    f"$.devices[{i}].serial",
                    f"serial {device.serial!r} is also covered by contract {owner.id} "
                    f"({_where(owner, f'$.devices[{index}].serial')})",
                )


def _doc(lc: LoadedContract) -> YamlDoc:
    assert lc.doc is not None, "contracts loaded from files always keep their document"
    return lc.doc


def _where(lc: LoadedContract, path: str) -> str:
    line, column = _doc(lc).locate(path)
    return f"{lc.file}:{line}:{column}"


# --- plugin checks -----------------------------------------------------------------------------


def _plugin_checks(
    loaded: Sequence[LoadedContract],
    checks: Mapping[str, Callable[..., Iterable[tuple[str, str]]]],
    problems: Sequence[Problem],
) -> list[Problem]:
    """Run every registered contract check; each yields (yaml_path, message) pairs."""
    broken = {p.file for p in problems}
    found: list[Problem] = []
    for lc in loaded:
        doc = _doc(lc)
        for name, check in checks.items():
            try:
                pairs = list(_call_check(check, lc))
            except Exception:
                # a check may trip over data core has already reported; only a clean
                # contract makes a crash the plugin's bug, which must surface loudly
                if lc.file in broken:
                    continue
                raise
            for path, message in pairs:
                path = path if path.startswith("$") else f"$.{path}"
                found.append(doc.problem(path, f"{message} (check {name})"))
    return found


def _call_check(
    check: Callable[..., Iterable[tuple[str, str]]], lc: LoadedContract
) -> Iterable[tuple[str, str]]:
    """``check(loaded_contract)``; also accepts the hookspec's ``check(contract, context)``."""
    try:
        params = inspect.signature(check).parameters.values()
    except (TypeError, ValueError):
        return check(lc)
    positional = [
        p
        for p in params
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) and p.default is p.empty
    ]
    if len(positional) >= 2:
        return check(lc.contract, lc)
    return check(lc)
