"""`casetrack document`: the port's documents from the command line (HTML on standard output,
JSON, one PDF file); bad input is one line and exit 1."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from documents_story import CISCO, NOW, PORT, ROOT, Story, make_runtime, tell
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from cli.main import main
from core.sources.contracts import load_contracts

AT = NOW.isoformat()


@pytest.fixture
def story(
    engine: Engine,
    sessions: sessionmaker[Session],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Story:
    runtime = make_runtime(engine, sessions, load_contracts([ROOT / "contracts"]), tmp_path)
    told = tell(runtime)
    monkeypatch.setenv("CASETRACK_DATABASE_URL", runtime.settings.database_url)
    monkeypatch.setenv("CASETRACK_CONTRACTS_DIR", str(ROOT / "contracts"))
    monkeypatch.setenv("CASETRACK_TIMEZONE", "Asia/Shanghai")
    return told


def test_documents_on_standard_output(
    story: Story, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    argv = ["document", "summary", "--contract", PORT, "--period", "2026Q1", "--now", AT]
    assert main(argv) == 0
    page = capsysbinary.readouterr().out.decode("utf-8")
    assert page.startswith("<!DOCTYPE html>") and "阶段服务总结" in page and story.repeat in page
    argv = ["document", "implementation", "--contract", PORT, "--case", story.upgrade]
    assert main([*argv, "--format", "json", "--now", AT]) == 0
    body = json.loads(capsysbinary.readouterr().out)
    assert body["implemented"] is True and body["header"]["title"].startswith("实施报告")


@pytest.mark.parametrize(
    "db_url", ["sqlite"], indirect=True
)  # the PDF does not depend on the back end: rendered once (slow)
def test_a_manual_as_a_pdf_file(
    db_url: str, request: pytest.FixtureRequest, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    request.getfixturevalue("story")
    out = tmp_path / "manual.pdf"
    argv = ["document", "manual", "--contract", PORT, "--model", CISCO, "--format", "pdf"]
    assert main([*argv, "--now", AT, "-o", str(out)]) == 0
    assert out.read_bytes().startswith(b"%PDF-")
    assert "wrote" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["plan", "--contract", "nosuch"], "unknown contract"),
        (["summary", "--contract", PORT, "--period", "2026Q9"], "2026Q9"),
        (["manual", "--contract", PORT], "needs a model"),
        (["plan", "--contract", PORT, "--now", "2026-02-05"], "offset"),
    ],
)
def test_bad_input_is_one_line_and_exit_1(
    capsys: pytest.CaptureFixture[str], extra: list[str], message: str
) -> None:
    assert main(["document", *extra]) == 1
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
