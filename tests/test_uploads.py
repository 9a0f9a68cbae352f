"""core.sources.uploads: uploaded contract files checked against the loaded set (no HTTP)."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.errors import ContractError
from core.loaded import ContractSet
from core.plugins import make_plugin_manager
from core.sources.contracts import load_contracts
from core.sources.uploads import check_uploads

ROOT = Path(__file__).resolve().parent.parent
CONTRACTS = ROOT / "contracts"
SHIDAO = (CONTRACTS / "shidao-port.yaml").read_text(encoding="utf-8")
SERIALS = (
    "FOC2334Y1AB",
    "FOC2334Y1AC",
    "2102312CJN10K5000212",
    "2102353SYB10P1000077",
    "219801A1NB8191Q0009X",
)


@pytest.fixture(scope="module")
def current() -> ContractSet:
    return load_contracts([CONTRACTS], pm=make_plugin_manager())


def check(current: ContractSet, files: dict[str, str]) -> list[str]:
    """The problems of a check as text, or [] when it passes."""
    encoded = {name: text.encode("utf-8") for name, text in files.items()}
    try:
        check_uploads(encoded, current, CONTRACTS, make_plugin_manager())
    except ContractError as exc:
        return [str(p) for p in exc.problems]
    return []


def renamed(contract_id: str) -> str:
    return SHIDAO.replace("id: sdgw-2025", f"id: {contract_id}", 1)


def test_a_serial_a_loaded_contract_covers_names_that_contract_and_its_line(
    current: ContractSet,
) -> None:
    problems = check(current, {"port-2027.yaml": renamed("sdgw-2027")})
    clashes = [p for p in problems if "also covered by contract sdgw-2025" in p]
    assert len(clashes) == 5 and clashes == problems
    line = next(n for n, text in enumerate(SHIDAO.splitlines(), 1) if "FOC2334Y1AB" in text)
    assert clashes[0].startswith(f"port-2027.yaml:{line}:")
    assert f"(shidao-port.yaml:{line}:" in clashes[0]  # the loaded file, without its directory
    assert str(CONTRACTS) not in "".join(problems) and "casetrack-check" not in "".join(problems)


def test_a_clash_between_two_uploads_is_reported_once(current: ContractSet) -> None:
    one, two = renamed("sdgw-one"), renamed("sdgw-two")
    for serial in SERIALS:  # not the loaded contract's serials any more
        one, two = one.replace(serial, f"{serial}X"), two.replace(serial, f"{serial}X")
    problems = check(current, {"one.yaml": one, "two.yaml": two})
    assert problems and all(p.startswith("two.yaml:") for p in problems)
    assert len(problems) == len(set(problems))
    assert all("also covered by contract sdgw-one (one.yaml:" in p for p in problems)


def test_an_upload_with_a_loaded_id_stands_in_for_it(current: ContractSet) -> None:
    changed = SHIDAO.replace("name: 荣成市石岛湾港务有限公司", "name: changed", 1)
    checked = check_uploads(
        {"other-name.yaml": changed.encode("utf-8")}, current, CONTRACTS, make_plugin_manager()
    )
    assert checked.replaces == ["sdgw-2025"]
    assert list(checked.loaded.contracts) == ["sdgw-2025"]
    assert checked.loaded.contracts["sdgw-2025"].contract.customer.name == "changed"
