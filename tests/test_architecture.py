"""The layers, read from the source (nothing is imported): an import that runs the wrong way
fails here. Function-level and TYPE_CHECKING imports count too.

    cli/ ──► server.py ──► api/ ──► core/ ◄── plugins/ (core's root modules only)
                      └──► web/ ──► api/, core/   (the pages: a front door like api/)
    core/: runtime.py ──► desk/, jobs/ ──► store/, sources/ ──► root (pure primitives)

Known debt is listed beside each rule; it may only shrink (a test fails when an entry is no
longer needed, so the list is pruned as the debt is paid).
"""

from __future__ import annotations

import ast
from collections.abc import Iterable
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FRONT_DOORS = ("litestar", "uvicorn", "server", "api", "cli", "web")
MACHINERY = (
    "sqlalchemy",
    "dramatiq",
    "alembic",
    "core.store",
    "core.jobs",
    "core.desk",
    "core.sources",
)
USE_CASES = ("core.desk", "core.jobs", "core.runtime")

# the composition root builds everything; it may import every layer of core
COMPOSITION_ROOT = {"core/runtime.py"}
# root modules that still reach into machinery: may only shrink
ROOT_DEBT = {
    "core/staff.py imports core.sources.yamlsource",  # parses staff.yaml itself
    "core/service_types.py imports core.sources.yamlsource",  # parses service_types.yaml itself
}
PLUGIN_DEBT = {
    "plugins/weihai_zones/data.py imports core.sources.yamlsource",  # district lists as YAML
}


def imported(path: Path) -> set[str]:
    """Every absolute module name ``path`` imports, at any depth (``from core import orm``
    counts as ``core.orm``)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.update(_from_names(node.module, [alias.name for alias in node.names]))
    return names


def _from_names(module: str, names: list[str]) -> set[str]:
    """``from core.store import orm`` names the module ``core.store.orm``; ``from core.errors
    import Problem`` names ``core.errors`` (a module of ours is found on disk)."""
    folder = ROOT / module.replace(".", "/")
    found = {
        f"{module}.{name}"
        for name in names
        if (folder / f"{name}.py").is_file() or (folder / name / "__init__.py").is_file()
    }
    return found or {module}


def offenders(files: Iterable[Path], banned: tuple[str, ...]) -> set[str]:
    """``"<file> imports <module>"`` for each import of a banned module or one inside it."""
    found = set()
    for path in files:
        names = imported(path)
        for name in names:
            if any(name == b or name.startswith(b + ".") for b in banned):
                found.add(f"{path.relative_to(ROOT).as_posix()} imports {name}")
    return found


def python_files(folder: str) -> list[Path]:
    return sorted((ROOT / folder).rglob("*.py"))


def test_core_knows_no_front_door() -> None:
    assert offenders(python_files("core"), FRONT_DOORS) == set()


def test_core_root_is_pure() -> None:
    root = [
        p
        for p in sorted((ROOT / "core").glob("*.py"))
        if p.relative_to(ROOT).as_posix() not in COMPOSITION_ROOT
    ]
    assert offenders(root, MACHINERY) == ROOT_DEBT


def test_store_knows_no_use_case() -> None:
    assert offenders(python_files("core/store"), USE_CASES) == set()


def test_sources_know_no_store_and_no_use_case() -> None:
    assert offenders(python_files("core/sources"), ("core.store", *USE_CASES)) == set()


def test_plugins_use_only_cores_public_surface() -> None:
    machinery = (*MACHINERY, "core.runtime", *FRONT_DOORS)
    assert offenders(python_files("plugins"), machinery) == PLUGIN_DEBT


def test_web_uses_core_and_api_but_no_outer_layer() -> None:
    """The pages call core (through the runtime) and reuse api's helpers; they never reach
    the server module or the command line, and api knows nothing of them."""
    assert offenders(python_files("web"), ("server", "cli", "uvicorn")) == set()
    assert offenders(python_files("api"), ("web",)) == set()


@pytest.mark.parametrize("folder", ["core", "plugins", "web"])
def test_no_layer_reaches_the_command_line(folder: str) -> None:
    assert offenders(python_files(folder), ("cli",)) == set()


def test_the_rule_sees_function_level_and_type_checking_imports(tmp_path: Path) -> None:
    """The checker itself: imports hidden in a function or under TYPE_CHECKING are found."""
    source = (
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from server import create_app\n"
        "def f():\n    import uvicorn\n    from core.store import orm\n"
    )
    (tmp_path / "probe.py").write_text(source)
    names = imported(tmp_path / "probe.py")
    assert {"server", "uvicorn", "core.store.orm"} <= names
