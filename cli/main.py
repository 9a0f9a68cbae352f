"""The ``casetrack`` command line: the root parser, built from one module per command group.

Each module in ``COMMANDS`` owns its ``add_parser(commands)`` and the functions it runs:
contracts (check, schema), sla (due), db (upgrade, current), audit (verify, seal),
tokens (create, revoke, list), onsite (request, emergency, step, attach, show),
serve (the HTTP API), workers (scheduler, worker).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from cli import audit, contracts, db, onsite, serve, sla, tokens, workers
from cli._format import print_problems
from core.errors import CasetrackError, ContractError
from core.settings import Settings

COMMANDS = (contracts, sla, db, audit, tokens, onsite, serve, workers)  # the order `--help` lists


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit code (0 ok, 1 findings or refused, 2 usage).

    The CASETRACK_* settings are read once, here: they give the options their defaults and
    every command finds them as ``args.settings``."""
    try:
        settings = Settings.from_env()
    except CasetrackError as exc:
        print(f"error: {exc.detail}", file=sys.stderr)
        return 1
    parser = build_parser(settings)
    args = parser.parse_args(argv)
    if not hasattr(args, "run"):
        parser.print_help()
        return 2
    args.settings = settings
    try:
        return int(args.run(args) or 0)
    except ContractError as exc:
        print_problems(exc)
        return 1
    except CasetrackError as exc:
        print(f"error: {exc.detail}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


def build_parser(settings: Settings | None = None) -> argparse.ArgumentParser:
    """The parser; option defaults come from ``settings`` (the built-in defaults if None)."""
    settings = settings or Settings()
    parser = argparse.ArgumentParser(
        prog="casetrack", description="casetrack: cases, contracts as code and SLA clocks."
    )
    commands = parser.add_subparsers(title="commands", metavar="COMMAND")
    for command in COMMANDS:
        command.add_parser(commands, settings)
    return parser


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
