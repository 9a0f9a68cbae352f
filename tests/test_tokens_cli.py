"""`casetrack tokens create/revoke/list` on each back end, and core.store.tokens' rules."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session, sessionmaker

from cli.main import main
from core.store import orm
from core.store.tokens import (
    STAFF_TOKEN_ROLES,
    InvalidToken,
    TokenError,
    authenticate,
    create_token,
    hash_token,
    list_tokens,
    revoke_token,
)

ROOT = Path(__file__).resolve().parent.parent
NOW = datetime(2026, 10, 14, 2, 0, tzinfo=UTC)


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def cli_env(db_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The CLI pointed at a fresh database and the repository's contracts."""
    monkeypatch.setenv("CASETRACK_DATABASE_URL", db_url)
    monkeypatch.setenv("CASETRACK_CONTRACTS_DIR", str(ROOT / "contracts"))
    yield db_url


def create(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[str, str]:
    code, out, err = run(capsys, "tokens", "create", *argv)
    assert code == 0, err
    return out.strip(), err


# --- create, revoke, list ----------------------------------------------------------------------


def test_create_prints_a_token_that_authenticates(
    cli_env: str, sessions: sessionmaker[Session], capsys: pytest.CaptureFixture[str]
) -> None:
    token, err = create(capsys, "--role", "engineer", "--role", "agent", "--name", "李工")
    assert token.startswith("ct_") and "\n" not in token
    # the id and roles go to stderr with the warning; stdout is the token alone (pipeable)
    assert "token 1 (李工): roles agent, engineer" in err
    assert "will not be shown again" in err and token not in err
    with sessions() as session:
        principal = authenticate(session, token)
    assert principal.roles == frozenset({"agent", "engineer"})
    assert principal.name == "李工" and principal.customer_id is None


def test_a_customer_token_is_bound_to_its_customer(
    cli_env: str, sessions: sessionmaker[Session], capsys: pytest.CaptureFixture[str]
) -> None:
    token, err = create(capsys, "--role", "customer", "--customer", "sdgw")
    assert "customer sdgw" in err
    with sessions() as session:
        principal = authenticate(session, token)
    assert principal.is_customer and principal.customer_id == "sdgw"


def test_revoke_makes_the_token_fail(
    cli_env: str, sessions: sessionmaker[Session], capsys: pytest.CaptureFixture[str]
) -> None:
    token, _ = create(capsys, "--role", "admin")
    kept, _ = create(capsys, "--role", "agent")
    code, out, _ = run(capsys, "tokens", "revoke", "1")
    assert code == 0 and out.startswith("token 1 revoked at ")
    with sessions() as session:
        with pytest.raises(InvalidToken):
            authenticate(session, token)
        assert authenticate(session, kept).roles == frozenset({"agent"})
    code, out, _ = run(capsys, "tokens", "revoke", "1")
    assert code == 0 and "already" in out


def test_revoking_an_unknown_id_is_one_line(
    cli_env: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, "tokens", "revoke", "42")
    assert code == 1 and out == ""
    assert err == "error: no token with id 42\n"


def test_list_shows_tokens_but_never_a_token_or_its_hash(
    cli_env: str, sessions: sessionmaker[Session], capsys: pytest.CaptureFixture[str]
) -> None:
    admin, _ = create(capsys, "--role", "admin", "--name", "ops")
    customer, _ = create(capsys, "--role", "customer", "--customer", "rsyz", "--name", "于老师")
    assert run(capsys, "tokens", "revoke", "1")[0] == 0
    code, out, err = run(capsys, "tokens", "list")
    assert code == 0, err
    lines = out.strip().splitlines()
    assert lines[0].startswith("ID  NAME") and lines[0].endswith("REVOKED (UTC)")
    first, second = (line.split() for line in lines[1:])
    # revoked: date and minute in the last column; not revoked: "-"
    assert first[:4] == ["1", "ops", "admin", "-"] and len(first) == 8
    assert second[:4] == ["2", "于老师", "customer", "rsyz"] and second[6:] == ["-"]
    with sessions() as session:
        hashes = list(session.scalars(select(orm.ApiToken.token_hash)))
    for secret in (admin, customer, *hashes):
        assert secret not in out and secret not in err
    assert "ct_" not in out


def test_list_of_no_tokens(cli_env: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "tokens", "list")
    assert code == 0 and out == ""
    assert "no tokens" in err


# --- refusals ----------------------------------------------------------------------------------


def refused(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    code, out, err = run(capsys, "tokens", "create", *argv)
    assert code == 1 and out == ""
    assert err.startswith("error: ") and err.count("\n") == 1
    return err


def test_a_customer_token_needs_a_customer(
    cli_env: str, sessions: sessionmaker[Session], capsys: pytest.CaptureFixture[str]
) -> None:
    assert "must be bound to a customer" in refused(capsys, "--role", "customer")
    with sessions() as session:
        assert list_tokens(session) == []


def test_an_unknown_customer_is_refused(cli_env: str, capsys: pytest.CaptureFixture[str]) -> None:
    err = refused(capsys, "--role", "customer", "--customer", "nobody")
    assert "'nobody'" in err and "sdgw" in err


def test_rules_of_roles_are_one_line_errors(
    cli_env: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert "unknown role(s) boss" in refused(capsys, "--role", "boss")
    assert "cannot also carry staff roles" in refused(
        capsys, "--role", "customer", "--role", "admin", "--customer", "sdgw"
    )
    assert "only customer tokens" in refused(capsys, "--role", "agent", "--customer", "sdgw")


def test_role_is_required(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["tokens", "create"])
    assert exit_.value.code == 2
    assert "--role" in capsys.readouterr().err


def test_a_missing_sqlite_file_says_to_upgrade(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    database = tmp_path / "none.db"
    monkeypatch.setenv("CASETRACK_DATABASE_URL", f"sqlite:///{database}")
    for argv in (("create", "--role", "admin"), ("list",), ("revoke", "1")):
        code, out, err = run(capsys, "tokens", *argv)
        assert code == 1 and out == ""
        assert err == "error: database not initialised: run `casetrack db upgrade`\n"
    assert not database.exists()


def test_an_unmigrated_database_says_to_upgrade(
    cli_env: str, engine: Engine, capsys: pytest.CaptureFixture[str]
) -> None:
    # what `db upgrade` leaves behind is what require_current reads: take it away
    with engine.begin() as connection:
        connection.execute(text("DROP TABLE alembic_version"))
    code, out, err = run(capsys, "tokens", "create", "--role", "admin")
    assert code == 1 and out == ""
    assert err.strip().endswith("run `casetrack db upgrade`") and err.count("\n") == 1


def test_an_unreachable_database_is_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CASETRACK_DATABASE_URL", "postgresql://postgres@127.0.0.1:1/none")
    code, _, err = run(capsys, "tokens", "list")
    assert code == 1 and err.startswith("error: database unavailable: ")
    assert err.count("\n") == 1


# --- core.store.tokens rules ---------------------------------------------------------------


def test_only_the_hash_is_stored(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as session:
        token, row = create_token(session, roles=["admin"], name="ops", now=NOW)
        token_id = row.id
    with sessions() as session:
        stored = session.get(orm.ApiToken, token_id)
        assert stored is not None
        assert stored.token_hash == hash_token(token) and stored.token_hash != token
        assert stored.roles == ["admin"] and stored.created_at == NOW
        # no column of the row holds the token itself
        values = session.execute(select(orm.ApiToken.__table__)).one()
        assert all(token not in str(value) for value in values)


def test_each_token_is_new(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as session:
        one, _ = create_token(session, roles=["agent"], name="a", now=NOW)
        two, _ = create_token(session, roles=["agent"], name="a", now=NOW)
    assert one != two and len(one) > 40


@pytest.mark.parametrize(
    ("roles", "customer", "message"),
    [
        ((), None, "(none given)"),
        (("root",), None, "unknown role(s) root"),
        (("customer",), None, "must be bound to a customer"),
        (("customer", "agent"), "sdgw", "cannot also carry staff roles"),
        (("admin",), "sdgw", "only customer tokens"),
    ],
)
def test_token_rules(
    sessions: sessionmaker[Session], roles: tuple[str, ...], customer: str | None, message: str
) -> None:
    with sessions.begin() as session, pytest.raises(TokenError, match=re.escape(message)):
        create_token(session, roles=roles, name="x", now=NOW, customer_id=customer)
    with sessions() as session:
        assert list_tokens(session) == []


@pytest.mark.parametrize("role", sorted(STAFF_TOKEN_ROLES))
def test_every_staff_role_alone_is_fine(sessions: sessionmaker[Session], role: str) -> None:
    with sessions.begin() as session:
        token, _ = create_token(session, roles=[role], name=role, now=NOW)
    with sessions() as session:
        principal = authenticate(session, token)
    assert principal.roles == {role} and not principal.is_customer


def test_malformed_unknown_and_revoked_tokens_fail(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as session:
        token, row = create_token(session, roles=["agent"], name="a", now=NOW)
        token_id = row.id
    with sessions() as session:
        for bad in (None, "", "Bearer x", "ct_" + "x" * 43):
            with pytest.raises(InvalidToken):
                authenticate(session, bad)
    with sessions.begin() as session:
        revoked = revoke_token(session, token_id, NOW)
        assert revoked.revoked_at == NOW
    with sessions() as session, pytest.raises(InvalidToken):
        authenticate(session, token)
