"""Every command and subcommand of `casetrack` explains itself: a help line in its parent's
list and a description in its own `--help`. The parser tree is walked, so a new command
without them fails here."""

from __future__ import annotations

import argparse
from collections.abc import Iterator

import pytest

from cli.main import build_parser, main


def subcommands(
    parser: argparse.ArgumentParser, path: tuple[str, ...] = ()
) -> Iterator[tuple[tuple[str, ...], argparse.ArgumentParser, str | None]]:
    """``(path, parser, help line)`` for every subparser, depth first."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            helps = {choice.dest: choice.help for choice in action._choices_actions}
            for name, sub in action.choices.items():
                yield (*path, name), sub, helps.get(name)
                yield from subcommands(sub, (*path, name))


COMMANDS = list(subcommands(build_parser()))
IDS = [" ".join(path) for path, _, _ in COMMANDS]


def test_the_walk_finds_the_commands() -> None:
    assert {"contracts check", "contracts schema", "db current", "tokens list"} <= set(IDS)
    assert {"check", "plugins list", "report"} <= set(IDS)
    assert len(IDS) >= 20


@pytest.mark.parametrize(("path", "parser", "help_line"), COMMANDS, ids=IDS)
def test_every_command_has_a_help_line_and_a_description(
    path: tuple[str, ...], parser: argparse.ArgumentParser, help_line: str | None
) -> None:
    assert help_line and help_line.strip(), f"`casetrack {' '.join(path)}` has no help line"
    assert parser.description and parser.description.strip(), (
        f"`casetrack {' '.join(path)} --help` has no description"
    )


@pytest.mark.parametrize(
    "argv",
    [
        ["contracts", "check"],
        ["contracts", "schema"],
        ["db", "current"],
        ["tokens", "list"],
        ["report"],
    ],
)
def test_the_commands_the_issue_named_print_a_description(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_:
        main([*argv, "--help"])
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    usage, _, rest = out.partition("\n\n")
    assert usage.startswith(f"usage: casetrack {' '.join(argv)}")
    description = rest.split("\n\n")[0]
    assert description and not description.startswith(("positional", "options")), out
