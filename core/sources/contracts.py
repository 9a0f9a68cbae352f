"""Reading contract files and directories into a ContractSet, checked; the plugin collection."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.contract import (
    Contract,
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
from core.errors import CasetrackError, ContractError, Problem
from core.holidays import HolidayRegistry
from core.loaded import ContractSet, LoadedContract, NoResolver
from core.plugins import make_plugin_manager
from core.sources.checks import (
    TARGET_KEYS,
    TARGET_TABLES,
    Checker,
    catalog_problems,
    duplicate_problems,
    plugin_problems,
)
from core.sources.plugin_offers import BUILTIN_NOTIFIER_CHANNELS, Plugins
from core.sources.registry import build_registry
from core.sources.schema import contract_schema
from core.sources.yamlsource import DEFAULT_LIMITS, YamlDoc, YamlLimits, convert, parse
from core.staff import StaffError, load_staff, staff_path
from core.zones import Locate, ZoneResolver, for_contract

if TYPE_CHECKING:
    from pluggy import PluginManager


__all__ = [
    "BUILTIN_NOTIFIER_CHANNELS",
    "CALENDARS_DIR",
    "CONTRACT_SUFFIXES",
    "TARGET_KEYS",
    "TARGET_TABLES",
    "TIERS_FILES",
    "WEEKDAY_INDEX",
    "ZONES_DIR",
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
ZONES_DIR = "zones"  # districts files for the ``districts`` zone resolver (docs/zones.md)
CONTRACT_SUFFIXES = (".yaml", ".yml")


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
    problems += staff_problems(layout.staff_files)
    problems.sort(key=problem_order)
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
    staff_files: list[Path] = field(default_factory=list)  # staff/staff.yaml beside them


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
        if staff_path(folder).is_file():
            layout.staff_files.append(staff_path(folder))
    layout.contracts = _unique(layout.contracts)
    layout.calendar_dirs = _unique(layout.calendar_dirs)
    layout.staff_files = _unique(layout.staff_files)
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


def problem_order(problem: Problem) -> tuple[str, int, int]:
    """Problems are listed by file, line and column."""
    return problem.file, problem.line or 0, problem.column or 0


def relative_problems(problems: Iterable[Problem], root: Path) -> list[Problem]:
    """Problems with ``root`` cut from file names and messages: the client's names, not ours."""
    prefix = str(root) + os.sep
    return [
        Problem(
            p.file.removeprefix(prefix), p.line, p.column, p.path, p.message.replace(prefix, "")
        )
        for p in problems
    ]


# --- the staff directory -----------------------------------------------------------------------


def staff_problems(files: Iterable[Path]) -> list[Problem]:
    """Every problem of each staff directory (contracts/staff/staff.yaml) located: loaded
    with the contracts, a bad number or rota stops `contracts check` and `serve`, not only
    the scheduler's log."""
    found: list[Problem] = []
    for path in files:
        try:
            load_staff(path)
        except StaffError as exc:
            found += exc.problems
    return found


# --- plugins and holiday data ------------------------------------------------------------------


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
    resolver = _zone_resolver(doc, contract, file.parent, checker, problems, limits)
    lc = LoadedContract(contract, str(file), checker.catalog, checker.registry, resolver, doc)
    problems += checker.contract_problems(doc, lc)
    return lc


def _zone_resolver(
    doc: YamlDoc,
    contract: Contract,
    directory: Path,
    checker: Checker,
    problems: list[Problem],
    limits: YamlLimits,
) -> ZoneResolver:
    """The contract's resolver, bound to the data files it names; NoResolver when unknown
    (the checks say so) or when binding failed (its problems are added here)."""
    resolver = checker.plugins.zone_resolvers.get(contract.zones.resolver)
    if resolver is None:
        return NoResolver()
    try:
        return for_contract(resolver, contract.zones.config, _data_reader(directory, limits))
    except ContractError as exc:
        problems += exc.problems
    except (CasetrackError, ValueError) as exc:
        detail = exc.detail if isinstance(exc, CasetrackError) else str(exc)
        problems.append(doc.problem("$.zones.config", detail))
    return NoResolver()


def _data_reader(directory: Path, limits: YamlLimits) -> Callable[..., tuple[Any, Locate]]:
    """A ``core.zones.DataReader`` for files named relative to ``directory``."""

    def read(name: str, type_: type[Any]) -> tuple[Any, Locate]:
        path = Path(name) if Path(name).is_absolute() else directory / name
        if not path.is_file():
            raise ValueError(f"no such data file {name!r} (looked for {path})")
        data_doc = parse(path, limits=limits)
        return convert(data_doc, type_), data_doc.problem

    return read
