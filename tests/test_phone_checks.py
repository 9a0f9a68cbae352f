"""Phone numbers in the files admins edit: a bad one in the staff directory or a contract is a
located problem at `contracts check`, `casetrack check` and `serve` start."""

from __future__ import annotations

import os
import shutil
import socket
from pathlib import Path

import pytest

from cli.main import main
from core.errors import ContractError
from core.sources.contracts import check_contracts, load_contracts

ROOT = Path(__file__).resolve().parent.parent
CONTRACTS = ROOT / "contracts"
HOSPITAL = "wendeng-kangning-hospital.yaml"


def contracts_copy(tmp_path: Path) -> Path:
    """The shipped contracts folder (staff directory and holiday files included)."""
    folder = tmp_path / "contracts"
    shutil.copytree(CONTRACTS, folder)
    return folder


def edit(path: Path, old: str, new: str) -> tuple[int, int]:
    """Replace the first ``old`` with ``new``; the 1-based line and column of ``new``."""
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path}"
    at = text.index(old)
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    line = text.count("\n", 0, at) + 1
    return line, at - text.rfind("\n", 0, at)


def clean_env(monkeypatch: pytest.MonkeyPatch, contracts: Path) -> None:
    for name in [k for k in os.environ if k.startswith("CASETRACK_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("CASETRACK_CONTRACTS_DIR", str(contracts))


def test_the_shipped_numbers_are_all_valid() -> None:
    loaded, problems = check_contracts([CONTRACTS])
    assert problems == [] and loaded is not None


def test_a_bad_staff_mobile_is_located_by_contracts_check(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = contracts_copy(tmp_path)
    staff = folder / "staff" / "staff.yaml"
    line, column = edit(staff, 'mobile: "13963112311"', 'mobile: "0631-5187762"')
    code = main(["contracts", "check", str(folder)])
    _, err = capsys.readouterr()
    assert code == 1
    where = f"{staff}:{line}:{column + len('mobile: ')}: $.people[0].mobile:"
    assert f"{where} '0631-5187762' is a mainland landline, not a mobile number" in err
    assert err.endswith("1 problem found\n")


def test_the_hong_kong_number_the_issue_names_is_accepted(tmp_path: Path) -> None:
    folder = contracts_copy(tmp_path)
    edit(folder / "staff" / "staff.yaml", 'mobile: "13963112311"', 'mobile: "+852 6123 0001"')
    edit(folder / "staff" / "staff.yaml", 'mobile: "13963112312"', 'mobile: "+85261230001"')
    assert check_contracts([folder])[1] == []


def test_a_bad_contract_contact_number_is_located(tmp_path: Path) -> None:
    folder = contracts_copy(tmp_path)
    contract = folder / HOSPITAL
    text = contract.read_text(encoding="utf-8")
    first_phone = text.split("phone: ", 1)[1].split("\n", 1)[0].split("#")[0].strip()
    line, column = edit(contract, f"phone: {first_phone}", "phone: 518-7755")
    problems = check_contracts([folder])[1]
    assert len(problems) == 1, problems
    problem = problems[0]
    assert (problem.file, problem.line, problem.column) == (
        str(contract),
        line,
        column + len("phone: "),
    )
    assert problem.path.endswith(".phone")
    assert "without area code" in problem.message


def test_a_contract_mobile_must_take_an_sms(tmp_path: Path) -> None:
    folder = contracts_copy(tmp_path)
    contract = folder / HOSPITAL
    text = contract.read_text(encoding="utf-8")
    mobile = text.split("mobile: ", 1)[1].split("\n", 1)[0].strip()
    edit(contract, f"mobile: {mobile}", 'mobile: "400-810-8888"')
    with pytest.raises(ContractError) as caught:
        load_contracts([folder])
    [problem] = caught.value.problems
    assert problem.path.endswith(".mobile")
    assert "service number (400/800 line), not a mobile number" in problem.message


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_a_bad_staff_number_stops_serve_before_the_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = contracts_copy(tmp_path)
    staff = folder / "staff" / "staff.yaml"
    line, _ = edit(staff, 'mobile: "13963112312"', 'mobile: "1396311231"')
    monkeypatch.chdir(tmp_path)
    clean_env(monkeypatch, folder)
    code = main(["serve", "--port", str(free_port())])
    out, err = capsys.readouterr()
    assert code == 1 and out == ""
    assert f"{staff}:{line}:" in err and "$.people[1].mobile" in err
    assert "'1396311231' is not a valid mainland number" in err
    assert err.endswith("1 problem found\n")
    assert not (tmp_path / "var" / "casetrack.db").exists()
