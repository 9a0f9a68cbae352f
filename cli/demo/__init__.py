"""The demo of `casetrack serve --demo`: stories.yaml (the data) played by seed.py."""

from cli.demo.book import ENGINEER
from cli.demo.seed import (
    BANK,
    HEADLINE,
    HOSPITAL,
    OVERDUE,
    PORT,
    REMOTE,
    SCHOOL,
    DemoSummary,
    DemoToken,
    seed_demo,
)

__all__ = [
    "BANK",
    "ENGINEER",
    "HEADLINE",
    "HOSPITAL",
    "OVERDUE",
    "PORT",
    "REMOTE",
    "SCHOOL",
    "DemoSummary",
    "DemoToken",
    "seed_demo",
]
