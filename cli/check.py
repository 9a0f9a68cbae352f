"""`casetrack check`: settings, plugins, contracts, staff directory and holiday files in one
pass, for CI and before a deploy. Each part is the check the server itself runs at start."""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from cli._args import Commands, command
from cli.contracts import horizon_warnings
from core.errors import CasetrackError, Problem

if TYPE_CHECKING:
    from pluggy import PluginManager

    from core.loaded import ContractSet
    from core.settings import Settings

PARTS = ("settings", "plugins", "contracts", "staff", "holidays")


def add_parser(commands: Commands, settings: Settings) -> None:
    check = command(
        commands,
        "check",
        run,
        help="check settings, plugins, contracts, staff directory and holiday files",
        description="Check in one pass what the server checks at start: the CASETRACK_* "
        "settings, the plugins (a hook implementation that matches no hook), every contract "
        "and its tiers.yaml, the staff directory (contracts/staff/staff.yaml) and the holiday "
        "files (contracts/calendars/). Each problem is printed as file:line:column: $.path: "
        "message, then a line per part and a summary. Exit status: 0 when all is well, 1 "
        "when there are problems, 2 on a usage error.",
    )
    check.add_argument(
        "--contracts",
        type=Path,
        default=None,
        metavar="DIR",
        help=f"the contracts folder (default: $CASETRACK_CONTRACTS_DIR, {settings.contracts_dir})",
    )
    check.set_defaults(reports_settings=True)  # invalid settings are findings, not a stop


@dataclass
class Findings:
    """What each part found: problems (failures, one line each, located where they have a
    file) and notes (shown, never failures)."""

    problems: dict[str, list[str]] = field(default_factory=lambda: {p: [] for p in PARTS})
    notes: dict[str, str] = field(default_factory=dict)

    def add(self, part: str, problem: Problem | str) -> None:
        self.problems[part].append(str(problem))

    @property
    def count(self) -> int:
        return sum(len(found) for found in self.problems.values())


def run(args: argparse.Namespace) -> int:
    settings: Settings = args.settings
    findings = Findings()
    _settings(args.settings_error, findings)
    pm = _plugins(findings)
    folder = args.contracts or Path(settings.contracts_dir)
    loaded = _contracts(folder, pm, settings, findings)
    for part in PARTS:
        for problem in findings.problems[part]:
            print(problem, file=sys.stderr)
    width = max(map(len, PARTS))
    for part in PARTS:
        found = len(findings.problems[part])
        state = f"{found} problem{'s' if found != 1 else ''}" if found else "ok"
        note = findings.notes.get(part)
        print(f"{part:<{width}}  {state}" + (f": {note}" if note else ""))
    if loaded is not None:
        horizon_warnings(loaded, settings)  # visible, never a failure
    if findings.count:
        print(f"{findings.count} problem{'s' if findings.count != 1 else ''} found")
        return 1
    print("ok: no problems found")
    return 0


def _settings(error: CasetrackError | None, findings: Findings) -> None:
    """Settings.from_env() ran in main(); its error (if any) is a finding."""
    if error is None:
        findings.notes["settings"] = "CASETRACK_* environment"
        return
    findings.add("settings", f"settings: {error.detail}")
    findings.notes["settings"] = "the other parts are checked with the default settings"


def _plugins(findings: Findings) -> PluginManager:
    """The manager the server builds; if it cannot be built, one with the built-ins only
    (so the contracts are still checked) and the reason as a problem."""
    from core.plugins import blocked_plugins, make_plugin_manager, plugin_names

    try:
        pm = make_plugin_manager()
    except CasetrackError as exc:  # core.plugins says which plugin cannot load
        findings.add("plugins", f"plugins: {exc.detail}")
        pm = make_plugin_manager(load_entrypoints=False)
    blocked = [b.name for b in blocked_plugins(pm)]
    findings.notes["plugins"] = f"{len(plugin_names(pm))} registered" + (
        f", blocked: {', '.join(blocked)}" if blocked else ""
    )
    return pm


def _contracts(
    folder: Path, pm: PluginManager, settings: Settings, findings: Findings
) -> ContractSet | None:
    """check_contracts (as `contracts check` and `serve`): contracts, tiers, staff directory
    and holiday files; each problem goes to the part its file belongs to."""
    from core.sources.contracts import CALENDARS_DIR, check_contracts
    from core.staff import cached_staff, staff_path

    loaded, problems = check_contracts([folder], pm=pm, limits=settings.yaml_limits)
    staff_file, calendars = staff_path(folder), folder / CALENDARS_DIR
    for problem in problems:
        findings.add(_part_of(Path(problem.file), staff_file, calendars), problem)
    if loaded is not None:
        devices = sum(len(lc.contract.devices) for lc in loaded.contracts.values())
        findings.notes["contracts"] = (
            f"{len(loaded.contracts)} contracts, {devices} devices, "
            f"{len(loaded.catalog.tiers)} tiers, {len(loaded.catalog.programs)} programs"
        )
        regions = loaded.registry.regions()
        findings.notes["holidays"] = ", ".join(
            f"{r} {min(loaded.registry.years(r))}-{max(loaded.registry.years(r))}" for r in regions
        )
    if not staff_file.is_file():
        findings.notes["staff"] = f"no {staff_file}: escalations cannot resolve roles to people"
    elif not findings.problems["staff"]:
        directory = cached_staff(staff_file)
        people = len(directory.people) if directory is not None else 0
        findings.notes["staff"] = f"{people} people ({staff_file})"
    return loaded


def _part_of(file: Path, staff_file: Path, calendars: Path) -> str:
    if file == staff_file:
        return "staff"
    if file.parent == calendars or file == calendars:
        return "holidays"
    return "contracts"
