"""`casetrack rma ...`: open, list, update, cancel, poll-once, ingest-maildrop (SQLite file)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from rma_support import ROOT, at, dc_reply

from cli.main import main
from core.case import Category, Channel, RequestType
from core.commands import Caller, OpenCase
from core.runtime import build_runtime
from core.settings import Settings
from core.store.migrate import upgrade

HIS = "CZJ9350FKR"


@pytest.fixture
def case_number(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    env = {
        "CASETRACK_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}",
        "CASETRACK_CONTRACTS_DIR": str(ROOT / "contracts"),
        "CASETRACK_VAR_DIR": str(tmp_path / "var"),
        "CASETRACK_EMAIL_SPOOL": str(tmp_path / "spool"),
        "CASETRACK_RMA_MAILDROP_DIR": str(tmp_path / "drop"),
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    runtime = build_runtime(Settings.from_env())
    upgrade(runtime.engine)
    receipt = runtime.desk.open_case(
        OpenCase(
            contract_id="wdkn-hospital-2026",
            caller=Caller(name="周医生"),
            summary="HIS server PSU failed",
            category=Category.SYSTEM_DEBUGGING,
            request_type=RequestType.PROBLEM_REPORT,
            priority="P2",
            channel=Channel.PHONE,
            device_serial=HIS,
        ),
        actor="agent",
        now=at("2026-10-14T10:00"),
    )
    runtime.close()
    return receipt.number


def lines(capsys: pytest.CaptureFixture[str]) -> list[dict[str, object]]:
    return [json.loads(line) for line in capsys.readouterr().out.splitlines() if line]


def test_rma_commands(case_number: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["rma", "open", case_number, "--key", "cli-1", "--part", "PSU 800W"]) == 0
    [opened] = lines(capsys)
    assert (opened["state"], opened["channel"]) == ("requested", "digital_china")
    assert len(list((tmp_path / "spool").glob("*.eml"))) == 1

    drop = tmp_path / "drop"
    drop.mkdir()
    reply = ["服务单号: DC-55", "状态: 已发货", "承运商: 顺丰", "运单号: SF55"]
    (drop / "reply.eml").write_bytes(
        dc_reply(reply, subject=f"Re: [RMA open] {case_number} key=cli-1")
    )
    (drop / "junk.eml").write_bytes(b"not mail at all")
    assert main(["rma", "ingest-maildrop"]) == 1  # one file failed: exit 1
    assert "1 mails read, 1 mails failed" in capsys.readouterr().out
    assert (drop / "failed" / "junk.eml.reason.txt").is_file()

    assert main(["rma", "list", case_number]) == 0
    [listed] = lines(capsys)
    assert (listed["state"], listed["waybill"]) == ("shipped", "SF55")

    rma_id = str(listed["id"])
    assert main(["rma", "update", case_number, rma_id, "--state", "delivered"]) == 0
    assert lines(capsys)[0]["state"] == "delivered"
    with pytest.raises(SystemExit):  # argparse: usage error, exit 2
        main(["rma", "update", case_number, rma_id, "--state", "nonsense"])
    capsys.readouterr()
    assert main(["rma", "poll-once"]) == 0
    assert "0 polled" in capsys.readouterr().out
    assert main(["rma", "cancel", case_number, "99", "--reason", "x"]) == 1
    assert "has no RMA 99" in capsys.readouterr().err
