"""`casetrack users create | reset-password | disable | list`: people who sign in to the web
pages (docs/web.md). Roles and the customer binding are spelled and checked as API tokens'."""

from __future__ import annotations

import argparse
import secrets
import sys
from datetime import UTC, datetime

from cli import _db
from cli._args import Commands, command, group
from cli._format import print_table, shown_time
from core.settings import Settings


def add_parser(commands: Commands, settings: Settings) -> None:
    from core.case import TOKEN_ROLES
    from core.store.tokens import spelled

    sub = group(commands, "users", help="create, reset, disable and list web sign-in users")
    create = command(
        sub,
        "create",
        run_create,
        help="create a user who signs in to the web pages",
        description="Create a web user with roles (and, for a customer user, the customer it "
        "sees), as API tokens carry them. The password is read from stdin with "
        "--password-stdin, else one is made and printed once. Only its argon2 hash is stored.",
    )
    create.add_argument("login", help="the name typed to sign in (letters, digits, . _ @ -)")
    create.add_argument("--name", help="the name shown and recorded in histories (default: login)")
    create.add_argument(
        "--role",
        action="append",
        required=True,
        metavar="ROLE",
        help=f"one of {spelled(TOKEN_ROLES)}; repeat for several (customer stands alone)",
    )
    create.add_argument("--customer", metavar="ID", help="the customer a customer user sees")
    _password_option(create)
    reset = command(
        sub,
        "reset-password",
        run_reset,
        help="give a user a new password (their sessions end)",
        description="Set a new password (from stdin with --password-stdin, else one is made "
        "and printed once); the user's open sessions end.",
    )
    reset.add_argument("login", help="the user's login")
    _password_option(reset)
    disable = command(
        sub,
        "disable",
        run_disable,
        help="disable a user (their sessions end); --enable undoes it",
        description="A disabled user cannot sign in and their open sessions end at once.",
    )
    disable.add_argument("login", help="the user's login")
    disable.add_argument("--enable", action="store_true", help="enable the user again")
    command(
        sub,
        "list",
        run_list,
        help="list users (never their passwords)",
        description="Print every web user: login, name, roles, customer, disabled, created.",
    )


def _password_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--password-stdin",
        action="store_true",
        help="read the password from the first line of stdin (else one is generated)",
    )


def _password(args: argparse.Namespace) -> tuple[str, bool]:
    """The password and whether it was made here (then it is printed)."""
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\r\n"), False
    return secrets.token_urlsafe(12), True


def run_create(args: argparse.Namespace) -> int:
    from core.store.users import create_user

    password, made = _password(args)
    with _db.transaction(args.settings) as session:
        row = create_user(
            session,
            login=args.login,
            display_name=args.name or args.login,
            password=password,
            roles=sorted(set(args.role)),
            customer_id=args.customer,
            now=datetime.now(UTC),
        )
        roles, customer = ", ".join(row.roles), row.customer_id
    bound = f", customer {customer}" if customer else ""
    print(f"user {args.login}: roles {roles}{bound}", file=sys.stderr)
    if made:
        print(password)
        print("password printed once above: hand it over now", file=sys.stderr)
    return 0


def run_reset(args: argparse.Namespace) -> int:
    from core.store.users import reset_password

    password, made = _password(args)
    with _db.transaction(args.settings) as session:
        reset_password(session, args.login, password, datetime.now(UTC))
    print(f"user {args.login}: password reset, sessions ended", file=sys.stderr)
    if made:
        print(password)
    return 0


def run_disable(args: argparse.Namespace) -> int:
    from core.store.users import set_disabled

    with _db.transaction(args.settings) as session:
        set_disabled(session, args.login, not args.enable, datetime.now(UTC))
    state = "enabled" if args.enable else "disabled (sessions ended)"
    print(f"user {args.login}: {state}")
    return 0


def run_list(args: argparse.Namespace) -> int:
    from core.store.users import list_users

    with _db.transaction(args.settings) as session:
        rows = [
            (
                row.login,
                row.display_name,
                ",".join(row.roles),
                row.customer_id or "-",
                "yes" if row.disabled else "no",
                shown_time(row.created_at),
            )
            for row in list_users(session)
        ]
    if not rows:
        print(
            "no users: create one with `casetrack users create LOGIN --role ROLE`", file=sys.stderr
        )
        return 0
    print_table([("LOGIN", "NAME", "ROLES", "CUSTOMER", "DISABLED", "CREATED (UTC)"), *rows])
    return 0
