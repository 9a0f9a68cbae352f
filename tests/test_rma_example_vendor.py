"""An integrator's vendor package (tests/data/example_vendor) found through its entry point.

Installing it with pip would be slow and change the test environment for everyone, so the
test lays out what an install leaves on ``sys.path``: the package and a ``*.dist-info``
folder whose ``entry_points.txt`` names the hooks module in the ``casetrack`` group. The
plugin manager loads it exactly as it would an installed distribution; a contract names its
channel, and the desk opens and polls an RMA through it, on both back ends."""

from __future__ import annotations

import importlib
import shutil
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest
from rma_support import ROOT, at

from core import hookspecs
from core.jobs.rma import poll_rmas
from core.plugins import collect_named, make_plugin_manager, plugin_names
from core.rma import OpenRma, RmaChannel
from core.runtime import build_runtime
from core.settings import Settings

EXAMPLE = ROOT / "tests" / "data" / "example_vendor"
HIS = "CZJ9350FKR"  # the hospital's HIS server: its contract entry is switched to hpe_demo


def dist_info(site: Path) -> None:
    """What ``pip install tests/data/example_vendor`` leaves in site-packages."""
    project = tomllib.loads((EXAMPLE / "pyproject.toml").read_text())["project"]
    shutil.copytree(EXAMPLE / "src" / "hpe_demo_casetrack", site / "hpe_demo_casetrack")
    info = site / f"hpe_demo_casetrack-{project['version']}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {project['name']}\nVersion: {project['version']}\n"
    )
    group = project["entry-points"][hookspecs.PROJECT]
    lines = [f"[{hookspecs.PROJECT}]", *(f"{name} = {ref}" for name, ref in group.items())]
    (info / "entry_points.txt").write_text("\n".join(lines) + "\n")


@pytest.fixture
def installed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    site = tmp_path / "site-packages"
    site.mkdir()
    dist_info(site)
    monkeypatch.syspath_prepend(str(site))
    importlib.invalidate_caches()
    yield site
    for name in [m for m in sys.modules if m.startswith("hpe_demo_casetrack")]:
        del sys.modules[name]


def test_the_entry_point_registers_the_channel(installed: Path) -> None:
    pm = make_plugin_manager(load_entrypoints=True, disabled=[])
    assert "hpe_demo" in plugin_names(pm)
    channels = collect_named(pm, "register_rma_channels")
    assert isinstance(channels["hpe_demo"], RmaChannel)
    assert {"digital_china", "cisco_tac", "hpe_demo"} <= set(channels)
    assert "hpe_demo" not in plugin_names(make_plugin_manager(load_entrypoints=False))


def test_a_contract_names_the_channel_and_the_desk_uses_it(
    installed: Path, tmp_path: Path, db_url: str
) -> None:
    contracts = tmp_path / "contracts"
    shutil.copytree(ROOT / "contracts", contracts)
    hospital = contracts / "wendeng-kangning-hospital.yaml"
    text = hospital.read_text()
    entry = text.index(f"serial: {HIS}")
    switched = text[entry:].replace("rma: digital_china", "rma: hpe_demo", 1)
    hospital.write_text(text[:entry] + switched)

    settings = Settings(database_url=db_url, contracts_dir=str(contracts), var_dir=str(tmp_path))
    runtime = build_runtime(settings, pm=make_plugin_manager(load_entrypoints=True, disabled=[]))
    try:
        from core.case import Category, Channel, RequestType
        from core.commands import Caller, OpenCase

        now = at("2026-10-14T10:00")
        number = runtime.desk.open_case(
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
            now=now,
        ).number
        order = runtime.desk.open_rma(number, OpenRma(), actor="agent", now=now)
        assert (order.channel, order.state) == ("hpe_demo", "open")
        assert order.vendor_case is not None and order.vendor_case.startswith("HPE-")
        for hours in (2, 4):
            poll_rmas(runtime, now=at(f"2026-10-14T{10 + hours}:00"))
        [order] = runtime.desk.list_rmas(number)
        assert (order.state, order.carrier, order.waybill) == ("delivered", "DHL", "HPE-WB-1")
    finally:
        runtime.close()
