"""The knowledge base in the demo and on the command line, both back ends: after `serve --demo`
seeds its stories, `casetrack kb search` finds the HIS outage's past fix (its resolution was
harvested when the story resolved it); `kb add`, `kb show`, `kb backfill` and
`devices record` / `devices show` do what they say."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import delete

from cli.demo import HEADLINE, seed_demo
from cli.main import main
from core.runtime import build_runtime
from core.settings import Settings
from core.store import orm

ROOT = Path(__file__).resolve().parent.parent
NOW = datetime(2026, 11, 25, 17, 5, tzinfo=ZoneInfo("Asia/Shanghai"))
HIS_APP = "CZJ9350FKR"  # the HIS application server of the demo's headline story


@pytest.fixture
def settings(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    env = {
        "CASETRACK_DATABASE_URL": db_url,
        "CASETRACK_CONTRACTS_DIR": str(ROOT / "contracts"),
        "CASETRACK_VAR_DIR": str(tmp_path / "var"),
        "CASETRACK_EMAIL_SPOOL": str(tmp_path / "spool"),
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return Settings.from_env()


def lines(capsys: pytest.CaptureFixture[str]) -> list[dict[str, Any]]:
    return [json.loads(line) for line in capsys.readouterr().out.splitlines() if line]


def test_kb_search_finds_the_demos_past_fix(
    settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    runtime = build_runtime(settings, clock=lambda: NOW)
    try:
        numbers = seed_demo(runtime, now=NOW).numbers
    finally:
        runtime.close()
    capsys.readouterr()
    assert main(["kb", "search", "服务器宕机 内存故障", "--json"]) == 0
    hits = lines(capsys)
    assert hits[0]["case_number"] == numbers[HEADLINE], hits
    assert "P1-DIMM 8" in hits[0]["fix"] and "ECC" in hits[0]["cause"]
    assert hits[0]["device_model"] == "HPE ProLiant DL380 Gen10 (HIS application)"
    # the hospital, searching as itself, finds its own fix without the internal finding
    assert main(["kb", "search", "内存", "--customer", "wdkn-hospital", "--json"]) == 0
    mine = lines(capsys)
    assert [h["case_number"] for h in mine][:1] == [numbers[HEADLINE]] and mine[0]["cause"] is None
    assert main(["kb", "search", "内存", "--customer", "rsyz", "--json"]) == 0
    assert lines(capsys) == []
    assert main(["kb", "show", str(hits[0]["id"])]) == 0
    shown = capsys.readouterr().out
    assert f"case {numbers[HEADLINE]}" in shown and "fix: 已在停机窗口更换 P1-DIMM 8" in shown


def test_kb_and_devices_on_the_command_line(
    settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    runtime = build_runtime(settings, clock=lambda: NOW)
    try:
        seed_demo(runtime, now=NOW)
        with runtime.sessions.begin() as session:  # as if resolved before the knowledge base
            session.execute(delete(orm.KbEntry))
    finally:
        runtime.close()
    capsys.readouterr()
    assert main(["kb", "search", "内存", "--json"]) == 0
    assert lines(capsys) == []
    assert main(["kb", "backfill", "--limit", "2"]) == 0
    harvested = int(capsys.readouterr().out.split()[0])
    assert harvested >= 5  # every resolved or closed demo case, in batches of 2
    assert main(["kb", "search", "内存", "--json"]) == 0
    assert lines(capsys)
    assert main(["kb", "backfill"]) == 0
    assert capsys.readouterr().out.startswith("0 resolved")
    add = ["kb", "add", "--title", "HIS服务器内存更换步骤", "--fix", "先在iLO中确认故障DIMM槽位"]
    assert main([*add, "--visibility", "public", "--model", "HPE ProLiant DL380 Gen10"]) == 0
    added = capsys.readouterr().out
    assert added.startswith("#") and "visibility: public" in added
    assert main(["kb", "search", "iLO 槽位", "--customer", "rsyz"]) == 0
    assert "HIS服务器内存更换步骤" in capsys.readouterr().out
    assert main(["kb", "add", "--title", "x", "--visibility", "customer"]) == 1
    assert "customer_id" in capsys.readouterr().err
    record = ["devices", "record", HIS_APP, "--software-version", "iLO 5 2.72", "--note", "巡检"]
    assert main(record) == 0
    assert "1 change(s)" in capsys.readouterr().out
    assert main(["devices", "show", HIS_APP]) == 0
    shown = capsys.readouterr().out
    assert "software: iLO 5 2.72" in shown and "software_version: - -> iLO 5 2.72" in shown
