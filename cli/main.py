"""The ``casetrack`` command line: the root parser, built from one module per command group.

Each module in ``COMMANDS`` owns its ``add_parser(commands)`` and the functions it runs:
check (everything an admin edits, in one pass), contracts (check, schema), sla (due),
db (upgrade, current), audit (verify, seal), tokens (create, revoke, list),
users (create, reset-password, disable, list: web sign-in), devices (show, record),
kb (search, add, show, backfill),
plugins (list), serve (the HTTP API), workers (scheduler, worker), settings (show),
rma (open, list, update, cancel, poll-once, ingest-maildrop),
onsite (request, emergency, step, attach, show), quality (quarter, quarter-end, problems,
classify, close-problem, actions, add-action, action-done), complaints (list, reply,
assign, investigate, resolve, close), report (a customer report: json, csv, html, pdf),
document (the maintenance documents: plan, summary, implementation, assessment, manual) and
maintenance (plans, run-once, show, result, report, change, announce, notices).

Global options, before the command: ``--config PATH`` (the settings file, docs/deploy.md)
and ``--set NAME=VALUE`` (one setting, above the file and the environment).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import sys
from collections.abc import Sequence

from cli import (
    audit,
    check,
    contracts,
    db,
    devices,
    document,
    kb,
    maintenance,
    onsite,
    plugins,
    quality,
    report,
    rma,
    serve,
    settings,
    sla,
    tokens,
    users,
    workers,
)
from cli._format import print_problems
from core.errors import CasetrackError, ContractError
from core.settings import Settings, SettingsError
from core.sources.settings_file import ResolvedSettings, parse_assignments, resolve_settings

# the order `--help` lists
COMMANDS = (
    *(check, contracts, sla, db, audit, tokens, users, devices, kb, onsite, maintenance, rma),
    *(quality, report, document),
    *(plugins, serve, workers, settings),
)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit code (0 ok, 1 findings or refused, 2 usage).

    The settings are resolved once, here (the file of --config, CASETRACK_* variables,
    --set): they give the options their defaults and every command finds them as
    ``args.settings`` (and with their sources as ``args.resolved``). A settings problem is
    a usage error: its lines, exit 2 — except for ``check``, which reports them with
    the rest (``args.settings_error``)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    resolved: ResolvedSettings | None = None
    settings_error: SettingsError | None = None
    try:
        resolved = resolved_settings(argv)
    except SettingsError as exc:
        settings_error = exc
    settings = resolved.settings if resolved is not None else Settings()
    parser = build_parser(settings)
    if settings_error is not None and not _reports_settings(parser, argv):
        for line in settings_error.detail.splitlines():
            print(f"error: {line}", file=sys.stderr)
        return 2
    args = parser.parse_args(argv)
    if not hasattr(args, "run"):
        parser.print_help()
        return 2
    args.settings, args.resolved, args.settings_error = settings, resolved, settings_error
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


def _reports_settings(parser: argparse.ArgumentParser, argv: Sequence[str]) -> bool:
    """Whether the command asked for reports invalid settings as findings (``check``); read
    leniently, so that a settings problem is said before any complaint about the command."""
    try:
        with contextlib.redirect_stderr(io.StringIO()):  # argparse's own complaint: not now
            known, _ = parser.parse_known_args(argv)
    except SystemExit:
        return False
    return bool(getattr(known, "reports_settings", False))


def resolved_settings(argv: Sequence[str]) -> ResolvedSettings:
    """The global options read ahead of the full parser (whose defaults depend on them)."""
    early = argparse.ArgumentParser(add_help=False, allow_abbrev=False)
    add_global_options(early)
    known, _ = early.parse_known_args(argv)
    options = parse_assignments(known.set or [])
    return resolve_settings(config=known.config, environ=os.environ, options=options)


def add_global_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--config",
        metavar="PATH",
        help="settings file (default: $CASETRACK_CONFIG, else ./casetrack.toml if it exists); "
        "CASETRACK_* variables override it",
    )
    parser.add_argument(
        "--set",
        action="append",
        metavar="NAME=VALUE",
        help="one setting, over the file and the environment (repeatable), e.g. "
        "--set tick_seconds=5",
    )


def build_parser(settings: Settings | None = None) -> argparse.ArgumentParser:
    """The parser; option defaults come from ``settings`` (the built-in defaults if None)."""
    settings = settings or Settings()
    parser = argparse.ArgumentParser(
        prog="casetrack",
        allow_abbrev=False,  # --config is read ahead (resolved_settings): spelled in full
        description="casetrack: cases, contracts as code and SLA clocks. Settings: "
        "`casetrack settings show` (docs/deploy.md).",
    )
    add_global_options(parser)
    commands = parser.add_subparsers(title="commands", metavar="COMMAND")
    for command in COMMANDS:
        command.add_parser(commands, settings)
    return parser


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
