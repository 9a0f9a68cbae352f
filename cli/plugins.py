"""`casetrack plugins list`: every registered plugin, where it comes from, its hooks; the
blocked ones."""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys

from cli._args import Commands, command, group
from cli._format import print_table
from core.settings import Settings


def add_parser(commands: Commands, settings: Settings) -> None:
    sub = group(
        commands,
        "plugins",
        help="list the plugins casetrack loads",
        description="The plugins casetrack loads: the built-in ones under plugins/ and those "
        "installed through the `casetrack` entry-point group.",
    )
    listing = command(
        sub,
        "list",
        run_list,
        help="name, version, distribution and hooks of every plugin; the blocked ones",
        description="Build the plugin manager as the server does (built-ins, then installed "
        "entry points, minus the names in CASETRACK_DISABLED_PLUGINS) and print each "
        "registered plugin with its version, the distribution (package) that ships it and "
        "the hooks it implements, then the blocked names.",
    )
    listing.add_argument("--json", action="store_true", help="print JSON instead of a table")


def run_list(args: argparse.Namespace) -> int:
    from core.plugins import blocked_plugins, describe_plugins, make_plugin_manager

    pm = make_plugin_manager()
    plugins, blocked = describe_plugins(pm), blocked_plugins(pm)
    if args.json:
        shown = {
            "plugins": [dataclasses.asdict(p) for p in plugins],
            "blocked": [dataclasses.asdict(b) for b in blocked],
        }
        print(json.dumps(shown, indent=2, ensure_ascii=False))
        return 0
    rows = [(p.name, p.version, p.distribution, ", ".join(p.hooks) or "-") for p in plugins]
    print_table([("PLUGIN", "VERSION", "DISTRIBUTION", "HOOKS"), *rows])
    if not plugins:
        print("no plugins registered", file=sys.stderr)
    for b in blocked:
        print(f"blocked: {b.name} ({b.source}; CASETRACK_DISABLED_PLUGINS)")
    return 0
