"""How the command line shows values: times, terminal widths, contract problems."""

from __future__ import annotations

import sys
import unicodedata
from collections.abc import Sequence
from datetime import UTC, datetime

from core.errors import ContractError


def shown_time(moment: datetime | None) -> str:
    """``moment`` in UTC to the minute (``2026-09-30 07:10``); ``-`` for none."""
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M") if moment else "-"


def display_width(text: str) -> int:
    """Terminal columns of ``text``: names are often Chinese, and a wide character takes two."""
    return sum(2 if unicodedata.east_asian_width(char) in "WF" else 1 for char in text)


def print_table(table: Sequence[Sequence[str]]) -> None:
    """Rows (the first is the header) in columns padded to their widest cell."""
    widths = [max(display_width(line[i]) for line in table) for i in range(len(table[0]))]
    for line in table:
        cells = (c + " " * (w - display_width(c)) for c, w in zip(line, widths, strict=True))
        print("  ".join(cells).rstrip())


def print_problems(exc: ContractError) -> None:
    """Every problem of ``exc`` on stderr, then how many there were."""
    for problem in exc.problems:
        print(problem, file=sys.stderr)
    count = len(exc.problems)
    print(f"{count} problem{'s' if count != 1 else ''} found", file=sys.stderr)
