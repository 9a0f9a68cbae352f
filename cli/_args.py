"""argparse shared by the command modules: a command group, one command, argument types.

Every group and command has a one-line ``help`` (shown in its parent's list) and a
``description`` (shown by its own ``--help``); without one, the help line is the description,
so no ``--help`` is ever empty (tests/test_cli_help.py walks the whole parser)."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

Commands = argparse._SubParsersAction  # what `add_parser` of a command module receives
Run = Callable[[argparse.Namespace], int]


def group(commands: Commands, name: str, help: str, description: str | None = None) -> Commands:
    """``casetrack NAME COMMAND``: the group's parser, ready for its commands."""
    parser = commands.add_parser(name, help=help, description=description or sentence(help))
    return parser.add_subparsers(title=f"{name} commands", metavar="COMMAND")


def command(commands: Commands, name: str, run: Run, **options: Any) -> argparse.ArgumentParser:
    """One command that calls ``run(args)``; ``options`` as argparse's ``add_parser`` takes."""
    if options.get("help") and not options.get("description"):
        options["description"] = sentence(options["help"])
    parser = commands.add_parser(name, **options)
    parser.set_defaults(run=run)
    return parser


def case_and_actor(parser: argparse.ArgumentParser) -> None:
    """A case command's positional case number and its ``--as`` (who acts)."""
    parser.add_argument("number", help="the case number, e.g. MS-2026-000042")
    parser.add_argument(
        "--as", dest="actor", required=True, help="who acts: a staff directory id or name"
    )


def sentence(text: str) -> str:
    """A help line as a description: ``list tokens`` → ``List tokens.``"""
    text = text.strip()
    if not text:
        return text
    return text[0].upper() + text[1:] + ("" if text.endswith((".", ")")) else ".")


def positive(text: str) -> int:
    """A whole number of at least 1 (workers, threads)."""
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value
