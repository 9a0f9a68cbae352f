"""The casetrack command: contract checks, schema export and `sla due`, as a user runs them."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from cli.main import main

ROOT = Path(__file__).resolve().parent.parent
CONTRACTS = ROOT / "contracts"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def sla_due(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """`casetrack sla due` against the shipped contracts."""
    return run(capsys, "sla", "due", "--contracts", str(CONTRACTS), *argv)


def test_check_shipped_contracts_prints_one_line_summary(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, err = run(capsys, "contracts", "check", str(CONTRACTS))
    assert code == 0, err
    assert out.startswith("ok: 4 contracts, ") and out.count("\n") == 1
    # stderr holds at most the holiday-horizon warning (wall-clock dependent: test_horizon)
    assert all(line.startswith("warning: calendar region ") for line in err.splitlines())


def test_check_lists_every_problem_and_exits_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    shutil.copy(CONTRACTS / "tiers.yaml", tmp_path / "tiers.yaml")
    text = (CONTRACTS / "wendeng-kangning-hospital.yaml").read_text(encoding="utf-8")
    text = text.replace("tier: 24x7x48h", "tier: 24x7x96h", 1)
    text = text.replace("rma: cisco_tac", "rma: cisco_tax", 1)
    (tmp_path / "bad.yaml").write_text(text, encoding="utf-8")
    code, out, err = run(capsys, "contracts", "check", str(tmp_path))
    assert code == 1 and out == ""
    lines = err.strip().splitlines()
    assert lines[-1] == "2 problems found"
    assert any("bad.yaml:" in line and "24x7x96h" in line for line in lines)
    assert any("bad.yaml:" in line and "cisco_tax" in line for line in lines)
    assert "Traceback" not in err


def test_check_yaml_syntax_error_names_file_line_column(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    shutil.copy(CONTRACTS / "tiers.yaml", tmp_path / "tiers.yaml")
    (tmp_path / "broken.yaml").write_text("id: x\ncustomer: [a, b\n", encoding="utf-8")
    code, _, err = run(capsys, "contracts", "check", str(tmp_path))
    assert code == 1
    assert f"{tmp_path / 'broken.yaml'}:3:1: $: YAML syntax" in err


def test_schema_is_json_and_matches_the_committed_file(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "contracts", "schema")
    assert code == 0
    assert json.loads(out) == json.loads((CONTRACTS / "contract.schema.json").read_text("utf-8"))


def test_sla_due_prints_deadline_rule_and_zone(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = sla_due(
        capsys,
        "--contract",
        "wdkn-hospital-2026",
        "--kind",
        "spare_ship",
        "--device",
        "FOC2211X0RB",
        "--at",
        "2026-09-30T15:10",
    )
    assert code == 0, err
    assert out.splitlines()[0] == "spare_ship due 2026-10-08T15:00:00+08:00  (UTC 2026-10-08 07:00)"
    assert "after the 15:00 cut-off; next business day 2026-10-08" in out
    assert "zone:   device site: address mentions 文登区 → wendeng" in out


def test_sla_due_resolves_a_site_and_respects_an_explicit_offset(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, err = sla_due(
        capsys,
        "--contract",
        "wdkn-hospital-2026",
        "--kind",
        "onsite_arrival",
        "--site",
        "荣成市石岛管理区",
        "--at",
        "2026-10-09T12:30Z",
    )
    assert code == 0, err
    assert "onsite_arrival due 2026-10-10T01:30:00+08:00" in out  # 20:30 local + 5 h
    assert "→ rongcheng" in out


def test_sla_due_outside_the_period_warns(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = sla_due(
        capsys,
        "--contract",
        "wdkn-hospital-2026",
        "--kind",
        "first_response",
        "--priority",
        "P3",
        "--at",
        "2025-12-31T10:00",
    )
    assert code == 0
    assert "note:   2025-12-31 is outside the contract period 2026-01-01..2026-12-31" in out


def test_sla_due_past_the_holiday_data_is_provisional(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, err = sla_due(
        capsys,
        "--contract",
        "wdkn-hospital-2026",
        "--kind",
        "first_response",
        "--priority",
        "P3",
        "--at",
        "2027-01-04T10:00",
    )
    assert code == 0, err
    assert "[provisional: 2027 holidays planned from the statutory rules" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--contract", "nobody", "--kind", "first_response", "--priority", "P1"], "nobody"),
        (["--contract", "wdkn-hospital-2026", "--kind", "first_response"], "needs a priority"),
        (["--contract", "wdkn-hospital-2026", "--kind", "spare_ship", "--device", "X1"], "X1"),
        (
            ["--contract", "wdkn-hospital-2026", "--kind", "onsite_arrival", "--zone", "mars"],
            "zone 'mars'",
        ),
    ],
)
def test_sla_due_refusals_are_one_clear_line(
    capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    code, out, err = sla_due(capsys, "--at", "2026-10-09T10:00", *args)
    assert code == 1 and out == ""
    assert err.startswith("error: ") and message in err and "Traceback" not in err


def test_bad_time_is_a_clear_error(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = sla_due(
        capsys,
        "--contract",
        "wdkn-hospital-2026",
        "--kind",
        "remote_access",
        "--at",
        "next tuesday",
    )
    assert code == 1 and "--at: not an ISO 8601 time" in err


def test_console_script_is_installed_and_runs() -> None:
    exe = Path(sys.executable).with_name("casetrack")
    assert exe.exists(), "pip install -e . creates the casetrack command"
    result = subprocess.run(
        [str(exe), "contracts", "check", str(CONTRACTS)],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHONWARNINGS": "error"},
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("ok: ")


def test_db_upgrade_then_current_on_each_back_end(
    db_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CASETRACK_DATABASE_URL", db_url)
    code, out, _ = run(capsys, "db", "upgrade")
    assert code == 0 and "(already current)" in out  # the fixture migrated it
    code, out, _ = run(capsys, "db", "current")
    assert code == 0 and "(current)" in out


def test_db_upgrade_creates_the_embedded_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("CASETRACK_DATABASE_URL", raising=False)
    code, out, _ = run(capsys, "db", "current")
    assert code == 1 and "revision none" in out
    code, out, _ = run(capsys, "db", "upgrade")
    assert code == 0 and out.startswith("ok: sqlite:///var/casetrack.db at revision ")
    assert (tmp_path / "var" / "casetrack.db").is_file()


def test_unreachable_database_is_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CASETRACK_DATABASE_URL", "postgresql://postgres@127.0.0.1:1/none")
    code, out, err = run(capsys, "db", "upgrade")
    assert code == 1 and out == ""
    assert err.startswith("error: database unavailable:") and err.count("\n") == 1


def test_sla_due_takes_its_defaults_from_the_settings(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # contracts from CASETRACK_CONTRACTS_DIR (the old CASETRACK_CONTRACTS is not read), and an
    # --at without offset in CASETRACK_TIMEZONE: 07:10 UTC is 15:10 in Weihai, after the cut-off
    monkeypatch.setenv("CASETRACK_CONTRACTS_DIR", str(CONTRACTS))
    monkeypatch.setenv("CASETRACK_CONTRACTS", str(tmp_path))
    monkeypatch.setenv("CASETRACK_TIMEZONE", "UTC")
    argv = ["--contract", "wdkn-hospital-2026", "--kind", "spare_ship", "--device", "FOC2211X0RB"]
    code, out, err = run(capsys, "sla", "due", *argv, "--at", "2026-09-30T07:10")
    assert code == 0, err
    assert out.splitlines()[0] == "spare_ship due 2026-10-08T15:00:00+08:00  (UTC 2026-10-08 07:00)"


def test_sla_due_priorities_are_the_case_vocabulary(capsys: pytest.CaptureFixture[str]) -> None:
    from core.case import Priority

    assert [str(p) for p in Priority] == ["P1", "P2", "P3", "P4"]
    with pytest.raises(SystemExit) as exit_:
        sla_due(
            capsys, "--contract", "x", "--kind", "first_response", "--at", "x", "--priority", "P5"
        )
    assert exit_.value.code == 2
    assert "{P1,P2,P3,P4}" in capsys.readouterr().err  # the usage line


def test_the_settings_are_read_once_per_command(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from core.settings import Settings

    calls: list[int] = []
    real = Settings.from_env.__func__  # type: ignore[attr-defined]

    def counted(cls: type[Settings], environ: object = None) -> Settings:
        calls.append(1)
        return real(cls, environ)

    monkeypatch.setattr(Settings, "from_env", classmethod(counted))
    code, _, err = run(capsys, "contracts", "check", str(CONTRACTS))  # limits + horizon
    assert code == 0, err
    assert len(calls) == 1
