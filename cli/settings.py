"""`casetrack settings show`: the effective settings, where each came from, secrets masked."""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING

from cli._args import Commands, command, group
from core.settings import shown_value

if TYPE_CHECKING:
    from core.settings import Settings
    from core.sources.settings_file import ResolvedSettings


def add_parser(commands: Commands, settings: Settings) -> None:
    show = command(
        group(commands, "settings", help="the effective settings and where they come from"),
        "show",
        run_show,
        help="print every setting, its value and its source",
        description="Print each setting on one line: its value and where it came from "
        "(default, FILE:LINE of the settings file, env CASETRACK_X, or option --set). "
        "Precedence: default < file < environment < option. Secrets (names ending in _key, "
        "_secret, _password, _token, and passwords inside URLs) are masked.",
    )
    show.add_argument("--json", action="store_true", help="one JSON object instead of lines")


def run_show(args: argparse.Namespace) -> int:
    resolved: ResolvedSettings = args.resolved
    print(render_json(resolved) if args.json else render_text(resolved))
    return 0


def rows(resolved: ResolvedSettings) -> list[tuple[str, object, str]]:
    """(name, value as shown, source) for every setting, in the Struct's order."""
    return [
        (name, shown_value(name, getattr(resolved.settings, name)), str(resolved.origins[name]))
        for name in resolved.settings.__struct_fields__
    ]


def render_text(resolved: ResolvedSettings) -> str:
    """``name = value  # source`` lines (TOML-like: strings quoted, unset shown as such)."""
    cells = [(name, _toml(value), source) for name, value, source in rows(resolved)]
    width = max(len(f"{name} = {value}") for name, value, _ in cells)
    head = f"# settings file: {resolved.path or 'none'}"
    body = [f"{f'{name} = {value}':<{width}}  # {source}" for name, value, source in cells]
    return "\n".join([head, *body])


def render_json(resolved: ResolvedSettings) -> str:
    document = {
        "file": None if resolved.path is None else str(resolved.path),
        "settings": {
            name: {"value": value, "source": source} for name, value, source in rows(resolved)
        },
    }
    return json.dumps(document, ensure_ascii=False, indent=2)


def _toml(value: object) -> str:
    if value is None:
        return "(unset)"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)  # a TOML basic string
    return str(value)
