"""`casetrack report`: the hospital's quarter as a PDF file and as JSON on standard output;
an unknown contract or a bad period is one line and exit 1. `casetrack reports
rebuild-facts` rebuilds the facts the report reads."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import delete
from sqlalchemy.orm import Session, sessionmaker

from cli.main import main
from core.store import case_facts
from core.store.orm import CaseFacts, ClockFacts
from report_fixture import HOSPITAL, known

NOW = "2026-10-08T10:00:00+08:00"


@pytest.fixture
def database(db_url: str, sessions: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch) -> str:
    with sessions.begin() as session:
        known().load(session.connection())
    monkeypatch.setenv("CASETRACK_DATABASE_URL", db_url)
    monkeypatch.setenv("CASETRACK_TIMEZONE", "Asia/Shanghai")
    return db_url


def test_the_quarter_as_json_on_standard_output(
    database: str, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    argv = ["report", "--contract", HOSPITAL, "--period", "2026Q3", "--now", NOW]
    assert main(argv) == 0
    body = json.loads(capsysbinary.readouterr().out)
    assert body["period"]["label"] == "2026Q3"
    assert next(r for r in body["statistics"] if r["dimension"] == "all")["cases"] == 5


def test_the_quarter_as_a_pdf_file(
    database: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "q3.pdf"
    argv = ["report", "--contract", HOSPITAL, "--period", "2026Q3", "--format", "pdf"]
    assert main([*argv, "--now", NOW, "-o", str(out)]) == 0
    assert out.read_bytes().startswith(b"%PDF-")
    assert "wrote" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--contract", "nosuch", "--period", "2026Q3"], "unknown contract"),
        (["--contract", HOSPITAL, "--period", "2026Q9"], "2026Q9"),
        (["--contract", HOSPITAL, "--period", "2026Q3", "--now", "2026-10-08"], "offset"),
    ],
)
def test_bad_input_is_one_line_and_exit_1(
    capsys: pytest.CaptureFixture[str], extra: list[str], message: str
) -> None:
    assert main(["report", *extra]) == 1
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_rebuild_facts_restores_what_the_report_reads(
    database: str, sessions: sessionmaker[Session], capsys: pytest.CaptureFixture[str]
) -> None:
    with sessions() as session:
        built = case_facts.rows(session)
    with sessions.begin() as session:
        session.execute(delete(ClockFacts))
        session.execute(delete(CaseFacts))
    assert main(["reports", "rebuild-facts"]) == 0
    cases = len(built[0])
    assert capsys.readouterr().out.strip() == f"rebuilt the report facts of {cases} cases"
    with sessions() as session:
        assert case_facts.rows(session) == built
