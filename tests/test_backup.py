"""docs/ops/backup.md, followed: a PostgreSQL database with a few sealed cases is dumped with
pg_dump, restored with pg_restore into a second database, and `casetrack audit verify`
passes on the copy with the same audit key; one event row changed in the copy fails it."""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import create_engine, text
from test_desk import T0, consult_cmd

from cli.main import main
from conftest import PG_ADMIN_URL
from core.commands import Assign, FirstResponse
from core.runtime import build_runtime
from core.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
AUDIT_KEY = "backup-test-audit-key-" + "k" * 24


def libpq(url: str) -> str:
    """SQLAlchemy's postgresql+psycopg://… as the client programs take it."""
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


def client(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        if os.environ.get("CI"):
            pytest.fail(f"{name} is required in CI (scripts/services.sh installs it)")
        pytest.skip(f"{name} is not installed")
    return found


@pytest.fixture
def restored_name() -> Iterator[str]:
    name = f"casetrack_restore_{uuid.uuid4().hex[:10]}"
    yield name
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
    admin.dispose()


def fill(url: str, var: Path) -> list[str]:
    """Three cases through the desk, sealed with the audit key, one of them worked on."""
    settings = Settings(
        database_url=url,
        contracts_dir=str(ROOT / "contracts"),
        var_dir=str(var),
        audit_key=AUDIT_KEY,
        secret_key=Fernet.generate_key().decode(),
    )
    runtime = build_runtime(settings)
    try:
        desk = runtime.desk
        numbers = [desk.open_case(consult_cmd(), actor="agent:li", now=T0).number for _ in "abc"]
        desk.assign(numbers[0], Assign(engineer="yu-tao"), actor="agent:li", now=T0)
        desk.first_response(
            numbers[0], FirstResponse(agreed_content="remote"), actor="eng:yu", now=T0
        )
    finally:
        runtime.close()
    return numbers


def verify(
    url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> tuple[int, str]:
    monkeypatch.setenv("CASETRACK_DATABASE_URL", url)
    monkeypatch.setenv("CASETRACK_AUDIT_KEY", AUDIT_KEY)
    code = main(["audit", "verify"])
    out, err = capsys.readouterr()
    return code, out + err


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_a_restored_dump_verifies_and_a_tampered_copy_does_not(
    db_url: str,
    restored_name: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    numbers = fill(db_url, tmp_path / "var")
    dump = tmp_path / "casetrack.dump"
    source = libpq(db_url)
    target_url = db_url.rsplit("/", 1)[0] + f"/{restored_name}"
    server = source.rsplit("/", 1)[0]
    restore_into = f"--dbname={libpq(target_url)}"
    steps = [
        [client("pg_dump"), "--format=custom", f"--file={dump}", f"--dbname={source}"],
        [client("createdb"), f"--maintenance-db={server}/postgres", restored_name],
        [client("pg_restore"), "--no-owner", "--exit-on-error", restore_into, str(dump)],
    ]
    for step in steps:
        done = subprocess.run(step, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, f"{step[0]}: {done.stderr}"

    code, said = verify(target_url, monkeypatch, capsys)
    assert code == 0, said
    assert said.startswith(f"ok: {len(numbers)} cases, ") and "seals valid" in said

    # an insider with the database's superuser edits one event of the copy: the append-only
    # triggers are bypassed (replica role), the hash chain and the seal are not
    engine = create_engine(target_url)
    with engine.begin() as conn:
        conn.execute(text("SET session_replication_role = replica"))
        conn.execute(
            text(
                "UPDATE case_events SET actor = 'agent:mallory' WHERE id = "
                "(SELECT e.id FROM case_events e JOIN cases c ON c.id = e.case_id "
                " WHERE c.number = :number ORDER BY e.seq LIMIT 1)"
            ),
            {"number": numbers[1]},
        )
    engine.dispose()
    code, said = verify(target_url, monkeypatch, capsys)
    assert code == 1
    assert numbers[1] in said and numbers[0] not in said, said
