"""`casetrack db upgrade | current`: create or upgrade the schema, show its revision."""

from __future__ import annotations

import argparse

from cli import _db
from cli._args import Commands, command, group
from core.settings import Settings


def add_parser(commands: Commands, settings: Settings) -> None:
    sub = group(commands, "db", help="create or upgrade the database schema")
    command(
        sub,
        "upgrade",
        run_upgrade,
        help="apply the migrations shipped with casetrack",
        description="Bring $CASETRACK_DATABASE_URL (default sqlite:///var/casetrack.db) to the "
        "newest schema. Safe to run again.",
    )
    command(
        sub,
        "current",
        run_current,
        help="print the schema revision of the database",
        description="Print the Alembic revision of $CASETRACK_DATABASE_URL and whether it is the "
        "newest one; exit 1 when it is behind (run `casetrack db upgrade`).",
    )


def run_upgrade(args: argparse.Namespace) -> int:
    from core.store.migrate import current_revision, upgrade

    with _db.engine(args.settings) as engine:
        before = current_revision(engine)
        upgrade(engine)
        after = current_revision(engine)
    url = _db.shown_url(args.settings.database_url)
    print(f"ok: {url} at revision {after}" + ("" if before != after else " (already current)"))
    return 0


def run_current(args: argparse.Namespace) -> int:
    from core.store.migrate import current_revision, head_revision

    with _db.engine(args.settings) as engine:
        current = current_revision(engine)
    head = head_revision()
    state = "current" if current == head else f"behind: newest is {head}"
    print(f"{_db.shown_url(args.settings.database_url)}: revision {current or 'none'} ({state})")
    return 0 if current == head else 1
