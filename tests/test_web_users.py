"""Web users, sessions and sign-in rate limits in the store (both back ends), and
`casetrack users`."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.orm import Session, sessionmaker

from cli.main import main
from core.case import Role
from core.store.attempts import TooManyAttempts
from core.store.users import (
    UserError,
    UserExists,
    check_password,
    create_user,
    principal_of,
    reset_password,
    set_disabled,
)
from core.store.web_sessions import (
    LoginLimits,
    SessionPolicy,
    check_attempts,
    clear_failures,
    end_session,
    record_failure,
    resume_session,
    start_session,
)

NOW = datetime(2026, 10, 14, 2, 0, tzinfo=UTC)
POLICY = SessionPolicy(lifetime=timedelta(hours=12), idle=timedelta(hours=1))
LIMITS = LoginLimits(window=timedelta(minutes=15), per_login=3, per_address=5)


def _user(session: Session, login: str = "wang", *roles: str, **kw: object):  # type: ignore[no-untyped-def]
    return create_user(
        session,
        login=login,
        display_name=kw.pop("name", "王工"),  # type: ignore[arg-type]
        password="a good password",
        roles=roles or ("agent",),
        now=NOW,
        **kw,  # type: ignore[arg-type]
    )


@pytest.mark.parametrize(
    ("roles", "customer", "says"),
    [
        (("customer",), None, "bound to a customer"),
        (("customer", "agent"), "sdgw", "cannot also carry staff roles"),
        (("agent",), "sdgw", "only customer tokens and users"),
        (("wizard",), None, "unknown role"),
    ],
)
def test_roles_and_customer_are_bound_as_tokens_are(
    sessions: sessionmaker[Session], roles: tuple[str, ...], customer: str | None, says: str
) -> None:
    with sessions.begin() as session, pytest.raises(UserError, match=says):
        _user(session, "x", *roles, customer_id=customer)


def test_a_login_is_taken_once_and_a_password_is_long_enough(
    sessions: sessionmaker[Session],
) -> None:
    with sessions.begin() as session:
        _user(session)
        with pytest.raises(UserExists):
            _user(session)
        with pytest.raises(UserError, match="password"):
            create_user(
                session, login="li", display_name="Li", password="short", roles=["agent"], now=NOW
            )
        with pytest.raises(UserError, match="login"):
            _user(session, "has space")


def test_the_password_is_checked_against_an_argon2_hash(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as session:
        row = _user(session, "sun", "customer", customer_id="wdkn-hospital", name="Dr. Sun")
        assert row.password_hash.startswith("$argon2id$")
        assert "a good password" not in row.password_hash
    with sessions.begin() as session:
        found = check_password(session, "sun", "a good password")
        assert found is not None
        principal = principal_of(found)
        assert principal.roles == {Role.CUSTOMER} and principal.customer_id == "wdkn-hospital"
        assert principal.actor == f"Dr. Sun (user {found.id})"
        assert check_password(session, "sun", "a bad password") is None
        assert check_password(session, "nobody", "a good password") is None
        set_disabled(session, "sun", True, NOW)
        assert check_password(session, "sun", "a good password") is None


def test_a_session_ends_when_idle_or_expired(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as session:
        user = _user(session)
        sid = start_session(session, user, NOW, POLICY)
    with sessions.begin() as session:
        live = resume_session(session, sid, NOW + timedelta(minutes=50), POLICY)
        assert live is not None and live.login == "wang" and len(live.csrf_token) > 30
        # seen at 50 min: the idle hour counts from there
        assert resume_session(session, sid, NOW + timedelta(minutes=100), POLICY) is not None
        assert resume_session(session, sid, NOW + timedelta(minutes=170), POLICY) is None
        assert resume_session(session, sid, NOW + timedelta(minutes=171), POLICY) is None
        patient = SessionPolicy(lifetime=timedelta(hours=12), idle=timedelta(days=1))
        second = start_session(session, user, NOW, patient)
    with sessions.begin() as session:
        late = NOW + timedelta(hours=12)
        assert resume_session(session, second, late - timedelta(minutes=1), patient) is not None
        assert resume_session(session, second, late, patient) is None
        assert resume_session(session, "forged", NOW, patient) is None


def test_reset_disable_and_sign_out_end_sessions(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as session:
        user = _user(session)
        first, second, third = (start_session(session, user, NOW, POLICY) for _ in range(3))
    with sessions.begin() as session:
        end_session(session, first)
        assert resume_session(session, first, NOW, POLICY) is None
        assert resume_session(session, second, NOW, POLICY) is not None
        reset_password(session, "wang", "another good one", NOW)
        assert resume_session(session, second, NOW, POLICY) is None
        fourth = start_session(session, user, NOW, POLICY)
        set_disabled(session, "wang", True, NOW)
        assert resume_session(session, fourth, NOW, POLICY) is None
        assert resume_session(session, third, NOW, POLICY) is None


def test_failures_are_limited_per_login_and_per_address(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as session:
        for minute in range(3):
            check_attempts(session, "wang", "10.0.0.1", NOW, LIMITS)
            record_failure(session, "wang", "10.0.0.1", NOW + timedelta(minutes=minute))
    with sessions.begin() as session:
        with pytest.raises(TooManyAttempts, match="try again in 13 minutes") as refused:
            check_attempts(session, "wang", "10.0.0.2", NOW + timedelta(minutes=2), LIMITS)
        assert refused.value.minutes == 13
        check_attempts(session, "li", "10.0.0.2", NOW, LIMITS)  # others are not held up
        # the first failure leaves the window after 15 minutes
        check_attempts(session, "wang", "10.0.0.2", NOW + timedelta(minutes=15, seconds=1), LIMITS)
        for login in ("a", "b"):
            record_failure(session, login, "10.0.0.1", NOW)
        with pytest.raises(TooManyAttempts):
            check_attempts(session, "c", "10.0.0.1", NOW, LIMITS)  # 5 from this address
        clear_failures(session, "wang", NOW, LIMITS)
        check_attempts(session, "wang", "10.0.0.3", NOW, LIMITS)


def test_the_users_command(
    db_templates: object, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CASETRACK_DATABASE_URL", db_templates.sqlite())  # type: ignore[attr-defined]
    monkeypatch.setattr("sys.stdin", io.StringIO("a typed password\n"))
    args = ["users", "create", "liuyang", "--name", "刘洋", "--role", "service_manager"]
    assert main([*args, "--password-stdin"]) == 0
    assert main(["users", "create", "sun", "--role", "customer", "--customer", "sdgw"]) == 0
    made = capsys.readouterr().out.strip()
    assert len(made) >= 12
    assert main(["users", "create", "sun", "--role", "agent"]) == 1
    assert "exists already" in capsys.readouterr().err
    assert main(["users", "list"]) == 0
    listed = capsys.readouterr().out
    assert "刘洋" in listed and "service_manager" in listed and "sdgw" in listed
    assert main(["users", "reset-password", "sun"]) == 0
    assert capsys.readouterr().out.strip() not in ("", made)
    assert main(["users", "disable", "sun"]) == 0
    assert main(["users", "list"]) == 0
    rows = [line.split() for line in capsys.readouterr().out.splitlines()]
    assert next(row for row in rows if row[0] == "sun")[-3] == "yes"
    assert next(row for row in rows if row[0] == "liuyang")[-3] == "no"
    assert main(["users", "disable", "nobody"]) == 1


def test_ended_sessions_are_purged(sessions: sessionmaker[Session]) -> None:
    from core.store.web_sessions import purge_sessions

    with sessions.begin() as session:
        user = _user(session)
        old = start_session(session, user, NOW - timedelta(hours=2), POLICY)  # idle too long
        fresh = start_session(session, user, NOW, POLICY)
    with sessions.begin() as session:
        assert purge_sessions(session, NOW, POLICY) == 1
        assert resume_session(session, fresh, NOW, POLICY) is not None
        assert resume_session(session, old, NOW - timedelta(hours=2), POLICY) is None
