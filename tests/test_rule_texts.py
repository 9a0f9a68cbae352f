"""Rule texts read in the calendar's zone (issue 11 §6): every clock kind, started from an
instant given in UTC, shows the local wall time of its start and its due time, never UTC; so
does an appointment window given in UTC."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from test_api_cases import CASES, SWITCH, at, call, open_body

from conftest import Api
from core import sla
from core.contract import Device
from core.loaded import LoadedContract
from core.sources.contracts import load_contracts

ROOT = Path(__file__).resolve().parent.parent
SH = ZoneInfo("Asia/Shanghai")
# Friday 19:29 UTC is Saturday 03:29 in Weihai: the date, the weekday and the hour all differ
START = datetime(2026, 10, 16, 19, 29, tzinfo=UTC)
# a Monday shipment after local midnight: Mon 01:10 local is Sun 17:10 UTC
SHIPPED = datetime(2026, 10, 18, 17, 10, tzinfo=UTC)


def shown(moment: datetime, tz: ZoneInfo | type[UTC] = SH) -> str:
    return moment.astimezone(tz).strftime("%Y-%m-%d %H:%M %a")  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def lc() -> LoadedContract:
    # the port's contract has all three spare tiers: NBD (ship), 8x5x48h (ship, arrival
    # counted from shipment) and 24x7x48h (arrival from diagnosis)
    return load_contracts([ROOT / "contracts"]).get("sdgw-2025")


def _device(lc: LoadedContract, tier: str) -> Device:
    return next(d for d in lc.contract.devices if d.tier == tier)


def _variants() -> list[tuple[str, str]]:
    """(kind, variant): every kind once, the arrival rule from each of its three bases."""
    found: list[tuple[str, str]] = []
    for kind in sla.CLOCK_KINDS:
        if kind == "spare_arrival":
            found += [(kind, "from diagnosis"), (kind, "shipped"), (kind, "projected")]
        else:
            found.append((kind, "-"))
    return found


def _arguments(lc: LoadedContract, kind: str, variant: str) -> dict[str, Any]:
    if kind == "spare_ship":
        return {"device": _device(lc, "8x5xNBD")}
    if variant == "from diagnosis":
        return {"device": _device(lc, "24x7x48h")}
    if variant == "shipped":
        return {"device": _device(lc, "8x5x48h"), "shipped_at": SHIPPED}
    if variant == "projected":
        return {"device": _device(lc, "8x5x48h")}
    return {"priority": "P2", "zone": "city"}


@pytest.mark.parametrize(("kind", "variant"), _variants())
def test_rule_text_shows_local_times_only(lc: LoadedContract, kind: str, variant: str) -> None:
    extra = _arguments(lc, kind, variant)
    deadline = sla.due(lc, kind, at=START, **extra)
    assert lc.calendar(deadline.calendar).tz == SH
    rule = deadline.rule
    start = extra.get("shipped_at", START)
    if variant != "projected":  # a projected arrival counts from the ship deadline instead
        assert shown(start) in rule, rule
        assert shown(start, UTC) not in rule, rule
    else:
        assert "ship deadline 2026-10-19 15:00 Mon" in rule, rule
    assert shown(deadline.due) in rule, rule
    assert shown(deadline.due, UTC) not in rule, rule


def test_shipped_saturday_local_reads_as_saturday(lc: LoadedContract) -> None:
    """The issue's example: shipped Saturday 03:29 local, given in UTC (Friday 19:29)."""
    deadline = sla.spare_arrival(
        lc, device=_device(lc, "8x5x48h"), diagnosed_at=START - timedelta(hours=2), shipped_at=START
    )
    assert "shipped 2026-10-17 03:29 Sat" in deadline.rule
    assert "19:29 Fri" not in deadline.rule


def test_an_appointment_window_given_in_utc_reads_in_local_time(api: Api) -> None:
    """The resolution rule of an appointment service shows the window as Weihai wall time."""
    window = {"start": at(api, hours=1), "end": at(api, hours=8)}  # 03:00Z, 10:00Z
    body = open_body(api, category="installation", device_serial=SWITCH, appointment=window)
    case = call(api, "POST", CASES, api.headers("agent"), json=body, expect=201).json()
    [resolution] = [c for c in case["clocks"] if c["kind"] == "resolution"]
    assert "2026-10-14T11:00:00+08:00 – 2026-10-14T18:00:00+08:00" in resolution["rule"]
    assert "+00:00" not in resolution["rule"] and "03:00" not in resolution["rule"]
