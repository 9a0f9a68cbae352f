"""argparse shared by the command modules: a command group, one command, argument types."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

Commands = argparse._SubParsersAction  # what `add_parser` of a command module receives
Run = Callable[[argparse.Namespace], int]


def group(commands: Commands, name: str, help: str) -> Commands:
    """``casetrack NAME COMMAND``: the group's parser, ready for its commands."""
    parser = commands.add_parser(name, help=help)
    return parser.add_subparsers(title=f"{name} commands", metavar="COMMAND")


def command(commands: Commands, name: str, run: Run, **options: Any) -> argparse.ArgumentParser:
    """One command that calls ``run(args)``; ``options`` as argparse's ``add_parser`` takes."""
    parser = commands.add_parser(name, **options)
    parser.set_defaults(run=run)
    return parser


def positive(text: str) -> int:
    """A whole number of at least 1 (workers, threads)."""
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value
