"""The deployment files of docs/ops/ stay true to the code: every `casetrack ...` command line
the systemd units and compose.yaml run parses with the real CLI parser, the settings files
they mount load, and `systemd-analyze verify` accepts the units."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from cli.main import build_parser
from core.sources.settings_file import read_settings_file

ROOT = Path(__file__).resolve().parent.parent
OPS = ROOT / "docs" / "ops"
UNITS = sorted((OPS / "systemd").glob("*.service"))
INSTALLED = "/opt/casetrack/.venv/bin/casetrack"
CONFIG = "/etc/casetrack/casetrack.toml"


def unit_commands() -> dict[str, list[str]]:
    """unit file name → its ExecStart as argv."""
    commands = {}
    for unit in UNITS:
        [line] = [x for x in unit.read_text().splitlines() if x.startswith("ExecStart=")]
        commands[unit.name] = shlex.split(line.removeprefix("ExecStart="))
    return commands


def compose() -> dict[str, object]:
    loaded = yaml.safe_load((OPS / "compose.yaml").read_text(encoding="utf-8"))
    assert isinstance(loaded, dict)
    return loaded


def compose_commands() -> dict[str, list[str]]:
    services = compose()["services"]
    assert isinstance(services, dict)
    return {
        name: [str(part) for part in service["command"]]
        for name, service in services.items()
        if service.get("command", [None])[0] == "casetrack"
    }


def parses(argv: list[str]) -> None:
    """argparse accepts ``argv`` (it exits on an unknown command or option) and finds a command."""
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exc:
        pytest.fail(f"`casetrack {shlex.join(argv)}` does not parse (exit {exc.code})")
    assert hasattr(args, "run"), f"`casetrack {shlex.join(argv)}` names no command"


def test_the_unit_set_is_complete() -> None:
    assert [u.name for u in UNITS] == [
        "casetrack-api.service",
        "casetrack-scheduler.service",
        "casetrack-worker@.service",
    ]


@pytest.mark.parametrize(("unit", "argv"), sorted(unit_commands().items()))
def test_each_unit_runs_a_casetrack_command_that_exists(unit: str, argv: list[str]) -> None:
    assert argv[0] == INSTALLED
    assert argv[1:3] == ["--config", CONFIG]  # every process reads the one settings file
    parses(argv[1:])
    text = (OPS / "systemd" / unit).read_text()
    assert "EnvironmentFile=/etc/casetrack/casetrack.env" in text  # the keys, shared


def test_the_api_unit_does_not_migrate() -> None:
    """Migrations run once per release (`casetrack db upgrade`), never in N API units."""
    assert "--no-migrate" in unit_commands()["casetrack-api.service"]


@pytest.mark.parametrize(("service", "argv"), sorted(compose_commands().items()))
def test_each_compose_service_runs_a_casetrack_command_that_exists(
    service: str, argv: list[str]
) -> None:
    parses(argv[1:])


def test_compose_has_the_production_shape() -> None:
    services = compose()["services"]
    assert isinstance(services, dict)
    assert set(services) == {"postgres", "redis", "migrate", "api", "scheduler", "worker"}
    commands = {name: argv[1] for name, argv in compose_commands().items()}
    assert commands == {
        "migrate": "db",
        "api": "serve",
        "scheduler": "scheduler",
        "worker": "worker",
    }
    for name in ("api", "scheduler", "worker"):
        depends = services[name]["depends_on"]
        assert depends["migrate"] == {"condition": "service_completed_successfully"}
        assert services[name]["environment"]["CASETRACK_CONFIG"] == CONFIG
    assert "--no-migrate" in compose_commands()["api"]


def test_the_settings_files_shipped_for_deployment_load() -> None:
    for name in ("casetrack.compose.toml", "casetrack.example.toml"):
        read_settings_file(OPS / name)
    example = (OPS / "casetrack.env.example").read_text(encoding="utf-8")
    env_keys = re.findall(r"^#? ?(CASETRACK_\w+)=", example, re.M)
    assert {"CASETRACK_SECRET_KEY", "CASETRACK_AUDIT_KEY"} <= set(env_keys)


def test_systemd_accepts_the_units(tmp_path: Path) -> None:
    """`systemd-analyze verify` with the casetrack of this checkout in place of /opt's (it
    checks that the command is executable, and names unknown keys)."""
    if shutil.which("systemd-analyze") is None:
        if os.environ.get("CI"):
            pytest.fail("systemd-analyze is required in CI (systemd is installed here)")
        pytest.skip("systemd-analyze is not installed")
    casetrack = str(Path(sys.executable).parent / "casetrack")
    paths = []
    for unit in UNITS:
        name = unit.name.replace("@.", "@1.")  # verify an instance of the template
        target = tmp_path / name
        target.write_text(unit.read_text().replace(INSTALLED, casetrack))
        paths.append(str(target))
    done = subprocess.run(
        ["systemd-analyze", "verify", "--man=no", *paths],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert "Unknown" not in done.stderr and "ignoring" not in done.stderr, done.stderr
