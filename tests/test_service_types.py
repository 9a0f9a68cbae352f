"""Service types (R-CAT): the shipped catalog, contract overrides and what a close needs."""

from __future__ import annotations

import shutil
from pathlib import Path

import msgspec
import pluggy
import pytest

from core.case import APPOINTMENT_CATEGORIES, Category
from core.errors import NotFoundError
from core.plugins import make_plugin_manager
from core.service_types import (
    ChecklistItem,
    Deliverable,
    ServiceType,
    ServiceTypeOverride,
    effective_service_type,
    load_service_types,
    missing_for_close,
)
from core.sources.contracts import check_contracts, load_contracts

ROOT = Path(__file__).resolve().parent.parent
CONTRACTS = ROOT / "contracts"
HOSPITAL = "wendeng-kangning-hospital.yaml"


@pytest.fixture(scope="module")
def pm() -> pluggy.PluginManager:
    return make_plugin_manager(load_entrypoints=False)


# --- the shipped catalog -----------------------------------------------------------------------


def test_exactly_the_thirteen_categories_in_the_handbooks_order() -> None:
    types = load_service_types()
    assert list(types) == [c.value for c in Category]
    assert len(types) == 13
    assert all(st.id == key for key, st in types.items())


def test_loading_is_cached() -> None:
    assert load_service_types() is load_service_types()


@pytest.mark.parametrize("category", [c.value for c in Category])
def test_every_type_has_a_checklist_and_a_deliverable(category: str) -> None:
    st = load_service_types()[category]
    assert st.checklist and st.deliverables
    assert len(set(st.checklist_ids)) == len(st.checklist)
    assert len(set(st.deliverable_ids)) == len(st.deliverables)
    # Chinese first, English gloss after
    assert any("\u4e00" <= ch <= "\u9fff" for ch in st.label)
    assert any(ch.isascii() and ch.isalpha() for ch in st.label)
    for item in st.checklist:
        assert any("\u4e00" <= ch <= "\u9fff" for ch in item.text), item
        assert any(ch.isascii() and ch.isalpha() for ch in item.text), item


def test_appointment_types_match_core_case() -> None:
    types = load_service_types()
    appointment = {key for key, st in types.items() if st.schedule == "appointment"}
    assert appointment == {c.value for c in APPOINTMENT_CATEGORIES}
    others = {st.schedule for key, st in types.items() if key not in appointment}
    assert others == {"working-hours-or-agreed"}


def test_seed_documents_and_completion_standards() -> None:
    types = load_service_types()
    assert types["consulting"].deliverable_ids == ("recommended-product-list",)
    assert types["periodic_inspection"].deliverable_ids == ("inspection-record",)
    assert types["project_assistant"].deliverable_ids == (
        "project-plan",
        "project-assistant-report",
    )
    assert types["fault_rescue"].deliverable_ids == ("rescue-record",)
    assert "出现产品安装成功提示界面" in types["installation"].checklist[0].text
    assert "(ours)" in types["warranty_renewal"].deliverables[0].label


def test_loaded_types_are_immutable() -> None:
    st = load_service_types()["installation"]
    assert isinstance(st.checklist, tuple)
    with pytest.raises(AttributeError):
        st.label = "x"  # type: ignore[misc]


# --- overrides ---------------------------------------------------------------------------------

NOTE = Deliverable(id="mlps-compliance-note", label="等保合规说明")


def test_no_override_is_the_shipped_type() -> None:
    assert effective_service_type("consulting", {}) is load_service_types()["consulting"]


def test_override_replaces_checklist_and_deliverables() -> None:
    override = ServiceTypeOverride(
        checklist=[ChecklistItem(id="demo-accepted", text="演示通过 demo accepted")],
        deliverables=[Deliverable(id="quote", label="报价单 quotation")],
    )
    st = effective_service_type("consulting", {"consulting": override})
    assert st.checklist_ids == ("demo-accepted",)
    assert st.deliverable_ids == ("quote",)
    assert st.label == load_service_types()["consulting"].label
    # the shipped type is untouched
    assert load_service_types()["consulting"].deliverable_ids == ("recommended-product-list",)


def test_override_extends_deliverables() -> None:
    overrides = {"periodic_inspection": ServiceTypeOverride(extra_deliverables=[NOTE])}
    st = effective_service_type("periodic_inspection", overrides)
    assert st.deliverable_ids == ("inspection-record", "mlps-compliance-note")
    assert st.checklist == load_service_types()["periodic_inspection"].checklist
    # other types are not affected
    assert effective_service_type("fault_rescue", overrides).deliverable_ids == ("rescue-record",)


def test_extra_deliverables_follow_replaced_ones() -> None:
    override = ServiceTypeOverride(
        deliverables=[Deliverable(id="a", label="A")], extra_deliverables=[NOTE]
    )
    st = effective_service_type("periodic_inspection", {"periodic_inspection": override})
    assert st.deliverable_ids == ("a", "mlps-compliance-note")


def test_unknown_category_names_the_known_ones() -> None:
    with pytest.raises(NotFoundError, match=r"unknown service type 'repair'.*installation"):
        effective_service_type("repair", {})


def test_override_decodes_kebab_case_and_refuses_unknown_keys() -> None:
    raw = {"extra-deliverables": [{"id": "x", "label": "X"}]}
    assert msgspec.convert(raw, ServiceTypeOverride).extra_deliverables[0].id == "x"
    with pytest.raises(msgspec.ValidationError, match="unknown field `extra_deliverables`"):
        msgspec.convert({"extra_deliverables": []}, ServiceTypeOverride)
    with pytest.raises(msgspec.ValidationError, match="regex"):
        msgspec.convert({"checklist": [{"id": "Not Kebab", "text": "t"}]}, ServiceTypeOverride)


# --- closing -----------------------------------------------------------------------------------


def test_missing_for_close() -> None:
    st = effective_service_type(
        "project_assistant", {"project_assistant": ServiceTypeOverride(extra_deliverables=[NOTE])}
    )
    assert missing_for_close(st, [], []) == (
        ["assistance-finished", "report-confirmed"],
        ["project-plan", "project-assistant-report", "mlps-compliance-note"],
    )
    # order follows the type, not the input; unknown ids are ignored
    assert missing_for_close(
        st, iter(["report-confirmed", "bogus"]), ("mlps-compliance-note", "project-plan")
    ) == (["assistance-finished"], ["project-assistant-report"])
    done = missing_for_close(
        st, st.checklist_ids, ["project-plan", "project-assistant-report", "mlps-compliance-note"]
    )
    assert done == ([], [])


def test_missing_for_close_takes_any_service_type() -> None:
    st = ServiceType(id="x", label="X", schedule="appointment", checklist=(), deliverables=())
    assert missing_for_close(st, [], []) == ([], [])


# --- contracts ---------------------------------------------------------------------------------


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    shutil.copy(CONTRACTS / "tiers.yaml", tmp_path / "tiers.yaml")
    if (CONTRACTS / "calendars").is_dir():
        shutil.copytree(CONTRACTS / "calendars", tmp_path / "calendars")
    return tmp_path


def _hospital(workdir: Path, old: str, new: str) -> Path:
    text = (CONTRACTS / HOSPITAL).read_text(encoding="utf-8")
    assert old in text
    target = workdir / HOSPITAL
    target.write_text(text.replace(old, new, 1), encoding="utf-8")
    return target


def _line_col(path: Path, needle: str) -> tuple[int, int]:
    for number, line in enumerate(path.read_text("utf-8").splitlines(), 1):
        if needle in line:
            return number, line.index(needle) + 1
    raise AssertionError(needle)


def test_example_contract_override_loads(pm: pluggy.PluginManager) -> None:
    lc = load_contracts([CONTRACTS / HOSPITAL], pm=pm).get("wdkn-hospital-2026")
    overrides = lc.contract.service_types
    assert list(overrides) == ["periodic_inspection"]
    st = effective_service_type("periodic_inspection", overrides)
    assert st.deliverable_ids == ("inspection-record", "mlps-compliance-note")
    assert "等保" in st.deliverables[-1].label


def test_unknown_service_type_override_is_located(workdir: Path, pm: pluggy.PluginManager) -> None:
    path = _hospital(workdir, "  periodic_inspection:\n", "  periodic_inspections:\n")
    loaded, problems = check_contracts([workdir], pm=pm)
    assert loaded is None
    assert len(problems) == 1, problems
    problem = problems[0]
    assert (problem.line, problem.column) == _line_col(path, "periodic_inspections:")
    assert problem.path == "$.service-types.periodic_inspections"
    assert "unknown service type 'periodic_inspections'" in problem.message
    assert "periodic_inspection," in problem.message and "technical_training" in problem.message
    assert str(problem).startswith(f"{path}:{problem.line}:{problem.column}: ")


def test_duplicate_deliverable_after_override_is_located(
    workdir: Path, pm: pluggy.PluginManager
) -> None:
    path = _hospital(workdir, "id: mlps-compliance-note", "id: inspection-record")
    _, problems = check_contracts([workdir], pm=pm)
    assert [p.path for p in problems] == ["$.service-types.periodic_inspection"]
    assert "deliverable 'inspection-record' listed twice" in problems[0].message
    assert problems[0].line == _line_col(path, "extra-deliverables:")[0]


def test_bad_override_key_is_a_structural_error(workdir: Path, pm: pluggy.PluginManager) -> None:
    path = _hospital(workdir, "extra-deliverables:", "extra-documents:")
    _, problems = check_contracts([workdir], pm=pm)
    assert len(problems) == 1
    assert problems[0].path == "$.service-types.periodic_inspection.extra-documents"
    assert "unknown key 'extra-documents'" in problems[0].message
    assert (problems[0].line, problems[0].column) == _line_col(path, "extra-documents:")
