"""`casetrack contracts check | schema`: validate contract files, export their JSON Schema."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from cli._args import Commands, command, group
from cli._format import print_problems
from core.errors import ContractError

if TYPE_CHECKING:
    from core.loaded import ContractSet
    from core.settings import Settings


def add_parser(commands: Commands, settings: Settings) -> None:
    sub = group(
        commands,
        "contracts",
        help="check contract files, export the schema",
        description="The customer contracts (contracts/*.yaml), their tier catalog "
        "(tiers.yaml), holiday files and staff directory.",
    )
    check = command(
        sub,
        "check",
        run_check,
        help="validate contract files; list every problem",
        description="Load the contracts as the server does: each file, the tiers.yaml beside "
        "it, the holiday files in its calendars/ folder and the staff directory in staff/. "
        "Every problem is printed as file:line:column: $.path: message; exit 1 if there is "
        "any, 0 with a one-line summary if there is none. `casetrack check` also checks the "
        "settings.",
    )
    check.add_argument("paths", nargs="+", type=Path, help="contract files or directories")
    schema = command(
        sub,
        "schema",
        run_schema,
        help="print the JSON Schema of contract files",
        description="Print the JSON Schema of a contract file (or, with --kind tiers, of "
        "tiers.yaml) for editors that complete and check YAML as it is typed.",
    )
    schema.add_argument(
        "--kind",
        choices=["contract", "tiers"],
        default="contract",
        help="which file's schema (default: contract)",
    )


def run_check(args: argparse.Namespace) -> int:
    from core.sources.contracts import check_contracts

    limits = args.settings.yaml_limits
    loaded, problems = check_contracts(args.paths, limits=limits)
    if problems:
        print_problems(ContractError(problems))
        return 1
    assert loaded is not None
    devices = sum(len(lc.contract.devices) for lc in loaded.contracts.values())
    print(
        f"ok: {len(loaded.contracts)} contracts, {devices} devices, "
        f"{len(loaded.catalog.tiers)} tiers, {len(loaded.catalog.programs)} programs"
    )
    horizon_warnings(loaded, args.settings)  # visible, never a failure
    return 0


def horizon_warnings(loaded: ContractSet, settings: Settings) -> None:
    """Warn (on stderr) about holiday regions whose published data ends soon."""
    from core.holidays import horizon_warnings as warnings

    # the CLI is the edge where the wall clock is read
    today = datetime.now(UTC).astimezone(ZoneInfo(settings.timezone)).date()
    for line in warnings(loaded.registry, loaded.regions(), today, settings.calendar_horizon_days):
        print(f"warning: {line}", file=sys.stderr)


def run_schema(args: argparse.Namespace) -> int:
    from core.sources.schema import contract_schema

    print(json.dumps(contract_schema(kind=args.kind), indent=2, ensure_ascii=False))
    return 0
