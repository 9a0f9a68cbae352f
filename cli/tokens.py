"""`casetrack tokens create | revoke | list`: the API's bearer tokens (only hashes are stored)."""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from pathlib import Path

from cli import _db
from cli._args import Commands, command, group
from cli._format import print_table, shown_time
from core.settings import Settings


def add_parser(commands: Commands, settings: Settings) -> None:
    from core.case import TOKEN_ROLES
    from core.store.tokens import spelled

    sub = group(commands, "tokens", help="create, revoke and list API tokens")
    create = command(
        sub,
        "create",
        run_create,
        help="create a token (printed once)",
        description="Print a new API token on stdout; only its hash is stored, so it is shown "
        "this once. The database is $CASETRACK_DATABASE_URL.",
    )
    create.add_argument(
        "--role",
        action="append",
        required=True,
        metavar="ROLE",
        help=f"one of {spelled(TOKEN_ROLES)}; repeat for several (customer stands alone)",
    )
    create.add_argument(
        "--customer",
        metavar="ID",
        help="the customer id (a contract's customer.id) a customer token is bound to",
    )
    create.add_argument("--name", help="who or what holds the token (default: its roles)")
    revoke = command(
        sub,
        "revoke",
        run_revoke,
        help="revoke a token by id (it stops working at once)",
        description="Mark a token revoked: requests carrying it are refused from now on. "
        "Revoking one already revoked changes nothing.",
    )
    revoke.add_argument("id", type=int, metavar="ID", help="token id, as `tokens list` shows")
    command(
        sub,
        "list",
        run_list,
        help="list tokens (never the token itself)",
        description="Print every token of $CASETRACK_DATABASE_URL: id, name, roles, customer, "
        "when it was created and revoked (UTC). Only hashes are stored: the token itself "
        "cannot be shown.",
    )


def run_create(args: argparse.Namespace) -> int:
    from core.store.tokens import create_token

    settings = args.settings
    roles = sorted(set(args.role))
    if args.customer and roles == ["customer"]:
        # other combinations are refused by create_token's own rules, with their message
        _require_customer(settings.contracts_dir, args.customer)
    name = args.name or "+".join(roles) + (f" {args.customer}" if args.customer else "")
    with _db.transaction(args.settings) as session:
        token, row = create_token(
            session, roles=roles, name=name, now=datetime.now(UTC), customer_id=args.customer
        )
        token_id = row.id
    print(token)
    bound = f", customer {args.customer}" if args.customer else ""
    print(
        f"token {token_id} ({name}): roles {', '.join(roles)}{bound}. "
        "Store it now: it will not be shown again.",
        file=sys.stderr,
    )
    return 0


def _require_customer(contracts_dir: str, customer_id: str) -> None:
    from core.sources.contracts import load_contracts
    from core.store.tokens import TokenError

    contracts = load_contracts([Path(contracts_dir)])
    known = sorted({lc.contract.customer.id for lc in contracts.contracts.values()})
    if customer_id not in known:
        raise TokenError(
            f"no contract in {contracts_dir} is for customer {customer_id!r} "
            f"(customers: {', '.join(known) or 'none'})"
        )


def run_revoke(args: argparse.Namespace) -> int:
    from core.store.tokens import revoke_token

    now = datetime.now(UTC)
    with _db.transaction(args.settings) as session:
        row = revoke_token(session, args.id, now)
        revoked_at = row.revoked_at
    again = "" if revoked_at == now else " (it already was)"
    print(f"token {args.id} revoked at {shown_time(revoked_at)}{again}")
    return 0


def run_list(args: argparse.Namespace) -> int:
    from core.store.tokens import list_tokens

    with _db.transaction(args.settings) as session:
        rows = [
            (
                str(row.id),
                row.name,
                ",".join(row.roles),
                row.customer_id or "-",
                shown_time(row.created_at),
                shown_time(row.revoked_at),
            )
            for row in list_tokens(session)
        ]
    if not rows:
        print("no tokens: create one with `casetrack tokens create --role ROLE`", file=sys.stderr)
        return 0
    table = [("ID", "NAME", "ROLES", "CUSTOMER", "CREATED (UTC)", "REVOKED (UTC)"), *rows]
    print_table(table)
    return 0
