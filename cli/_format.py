"""How the command line shows values: times, terminal widths, contract problems."""

from __future__ import annotations

import sys
import unicodedata
from datetime import UTC, datetime

from core.errors import ContractError


def shown_time(moment: datetime | None) -> str:
    """``moment`` in UTC to the minute (``2026-09-30 07:10``); ``-`` for none."""
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M") if moment else "-"


def display_width(text: str) -> int:
    """Terminal columns of ``text``: names are often Chinese, and a wide character takes two."""
    return sum(2 if unicodedata.east_asian_width(char) in "WF" else 1 for char in text)


def print_problems(exc: ContractError) -> None:
    """Every problem of ``exc`` on stderr, then how many there were."""
    for problem in exc.problems:
        print(problem, file=sys.stderr)
    count = len(exc.problems)
    print(f"{count} problem{'s' if count != 1 else ''} found", file=sys.stderr)
