"""Every shipped contract file decodes and passes every check, alone and together."""

from __future__ import annotations

from pathlib import Path

import pluggy
import pytest

from core.contract import TierCatalog
from core.plugins import make_plugin_manager
from core.sources.contracts import check_contracts, load_contracts
from core.sources.yamlsource import convert, parse

CONTRACTS = Path(__file__).resolve().parent.parent / "contracts"
FILES = sorted(p for p in CONTRACTS.glob("*.y*ml") if p.name not in ("tiers.yaml", "tiers.yml"))


@pytest.fixture(scope="module")
def pm() -> pluggy.PluginManager:
    return make_plugin_manager(load_entrypoints=False)


def test_there_are_example_contracts() -> None:
    assert len(FILES) >= 3


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_contract_file_passes_all_checks(path: Path, pm: pluggy.PluginManager) -> None:
    loaded, problems = check_contracts([path], pm=pm)
    assert problems == [], "\n".join(map(str, problems))
    assert loaded is not None
    [lc] = loaded.contracts.values()
    assert lc.contract.devices, "an example contract should cover devices"
    for device in lc.contract.devices:
        tier, _ship, _arrival, why = lc.effective_spare_rules(device)
        assert why
        assert tier.zones is None  # Weihai is not near Beijing, Shanghai or Guangzhou


@pytest.mark.parametrize("path", [*FILES, CONTRACTS / "tiers.yaml"], ids=lambda p: p.name)
def test_file_points_editors_at_the_schema(path: Path) -> None:
    first = path.read_text(encoding="utf-8").splitlines()[0]
    schema = "tiers" if path.name == "tiers.yaml" else "contract"
    assert first == f"# yaml-language-server: $schema=./{schema}.schema.json"
    assert (CONTRACTS / f"{schema}.schema.json").is_file()


def test_tier_catalog_decodes() -> None:
    catalog = convert(parse(CONTRACTS / "tiers.yaml"), TierCatalog)
    assert catalog.programs["own-service"].tiers == ["8x5xNBD", "8x5x48h", "24x7x48h"]


def test_whole_directory_loads_together(pm: pluggy.PluginManager) -> None:
    loaded = load_contracts([CONTRACTS], pm=pm)
    assert len(loaded.contracts) == len(FILES)
