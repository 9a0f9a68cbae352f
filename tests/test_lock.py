"""requirements.lock pins every dependency pyproject.toml declares, with hashes, in range."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent
PIN = re.compile(r"^([A-Za-z0-9_.-]+)==([^\s;\\]+)")


def _locked() -> dict[str, tuple[str, int]]:
    """name -> (version, number of hashes) for every pin in the lock."""
    pins: dict[str, tuple[str, int]] = {}
    current = None
    for line in (ROOT / "requirements.lock").read_text().splitlines():
        match = PIN.match(line)
        if match:
            current = canonicalize_name(match[1])
            pins[current] = (match[2], 0)
        elif current and line.strip().startswith("--hash=sha256:"):
            version, count = pins[current]
            pins[current] = (version, count + 1)
    return pins


def _declared() -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    names = list(project["dependencies"])
    for extra in ("dev", "bench"):
        names += project["optional-dependencies"][extra]
    build = (ROOT / "requirements-build.in").read_text().splitlines()
    names += [line for line in build if line.strip() and not line.startswith("#")]
    return [Requirement(name) for name in names]


@pytest.mark.parametrize("requirement", _declared(), ids=str)
def test_every_declared_dependency_is_pinned_in_range(requirement: Requirement) -> None:
    locked = _locked()
    name = canonicalize_name(requirement.name)
    assert name in locked, f"{requirement} is not in requirements.lock: run `make lock`"
    version, hashes = locked[name]
    assert requirement.specifier.contains(version, prereleases=True), (
        f"requirements.lock pins {name}=={version}, outside {requirement}: run `make lock`"
    )
    assert hashes >= 1, f"{name} has no hash in requirements.lock"


def test_every_pin_has_a_hash() -> None:
    unhashed = [name for name, (_, hashes) in _locked().items() if hashes == 0]
    assert not unhashed
