"""Deadlines from a contract: the seed's tables as scenarios, each rule with its explanation."""

from __future__ import annotations

import shutil
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import msgspec
import pytest
import yaml

from core import sla
from core.errors import NaiveDatetimeError, SlaError
from core.loaded import LoadedContract
from core.sources.contracts import load_contracts

ROOT = Path(__file__).resolve().parent.parent
SH = ZoneInfo("Asia/Shanghai")

CONTRACT = """\
id: T-SLA
customer:
  id: test-customer
  name: 测试客户 Test Customer
  contacts:
    - {name: 王磊, role: site-lead, phone: "0631-5200001"}
our-staff:
  project-manager: {name: 张伟, email: pm@example.com}
  service-manager: {name: 李娜, mobile: "13906310002"}
period: {start: 2026-01-01, end: 2027-12-31}
program: own-service
response:
  P1: {within: 15m, calendar: duty}
diagnosis:
  P3: {within: 8h, calendar: working-hours}
  P4: {within: 3bd, calendar: working-hours}
onsite:
  normal: {city: 3h, wendeng: 5h, rongcheng: 5h, rushan: 7h, other: 12h}
  emergency: {city: 1h, wendeng: 2h, rongcheng: 2h, rushan: 3h, other: 6h}
devices:
  - {model: HPE ProLiant DL380 Gen10, serial: SRV-NBD, site: 威海市环翠区新威路1号, tier: 8x5xNBD,
     rma: digital_china}
  - {model: Huawei OceanStor 5300, serial: STO-48H, site: 威海市文登区龙山路2号, tier: 8x5x48h,
     rma: digital_china}
  - {model: H3C S5560X, serial: SW-24X7, site: 荣成市石岛管理区黄海中路3号, tier: 24x7x48h,
     rma: digital_china}
  - {model: Lenovo ThinkSystem SR650, serial: SRV-WKD, site: 乳山市胜利街4号,
     tier: 8x5xNBD-weekdays, rma: digital_china}
"""


@pytest.fixture(scope="module")
def contracts_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A contracts directory: the shipped tiers.yaml plus one weekdays-only tier, and CONTRACT."""
    directory = tmp_path_factory.mktemp("contracts")
    tiers = yaml.safe_load((ROOT / "contracts" / "tiers.yaml").read_text(encoding="utf-8"))
    weekdays = dict(tiers["tiers"]["8x5xNBD"], label="8x5xNBD, Mon-Fri only")
    weekdays["weekdays-only"] = True
    tiers["tiers"]["8x5xNBD-weekdays"] = weekdays
    tiers["programs"]["own-service"]["tiers"].append("8x5xNBD-weekdays")
    (directory / "tiers.yaml").write_text(yaml.safe_dump(tiers, allow_unicode=True), "utf-8")
    (directory / "t-sla.yaml").write_text(CONTRACT, encoding="utf-8")
    if (ROOT / "contracts" / "calendars").is_dir():
        shutil.copytree(ROOT / "contracts" / "calendars", directory / "calendars")
    return directory


@pytest.fixture(scope="module")
def lc(contracts_dir: Path) -> LoadedContract:
    return load_contracts([contracts_dir]).get("T-SLA")


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=SH)


def device(lc: LoadedContract, serial: str):
    found = lc.contract.device(serial)
    assert found is not None
    return found


# --- R-RESP: the call-center rule -----------------------------------------------------------


@pytest.mark.parametrize(
    ("received", "due", "why"),
    [
        ("2026-10-14T10:00", "2026-10-14T10:30", "working-hours is open"),  # Wednesday
        ("2026-10-14T17:29", "2026-10-14T17:59", "working-hours is open"),  # 30 min on duty
        ("2026-10-14T17:30", "2026-10-14T18:30", "working-hours is closed"),  # 17:30 sharp
        ("2026-10-14T20:00", "2026-10-14T21:00", "working-hours is closed"),
        ("2026-10-17T10:00", "2026-10-17T11:00", "working-hours is closed"),  # Saturday
        ("2026-10-10T10:00", "2026-10-10T10:30", "working-hours is open"),  # make-up Saturday
        ("2026-10-03T10:00", "2026-10-03T11:00", "working-hours is closed"),  # National Day
    ],
)
def test_first_response_follows_the_call_center_rule(
    lc: LoadedContract, received: str, due: str, why: str
) -> None:
    deadline = sla.first_response(lc, priority="P2", received_at=at(received))
    assert deadline.due == at(due)
    assert deadline.calendar == "duty"
    assert f"while {why}" in deadline.rule


def test_priority_specific_target_beats_default(lc: LoadedContract) -> None:
    deadline = sla.first_response(lc, priority="P1", received_at=at("2026-10-14T10:00"))
    assert deadline.due == at("2026-10-14T10:15")
    assert deadline.target == "15m on duty"


def test_deadline_is_in_calendar_zone_whatever_the_input_zone(lc: LoadedContract) -> None:
    utc = at("2026-10-14T10:00").astimezone(ZoneInfo("UTC"))
    deadline = sla.first_response(lc, priority="P2", received_at=utc)
    assert deadline.due == at("2026-10-14T10:30")
    assert deadline.due.utcoffset() == timedelta(hours=8)


def test_naive_start_is_refused(lc: LoadedContract) -> None:
    with pytest.raises(NaiveDatetimeError):
        sla.first_response(lc, priority="P2", received_at=datetime(2026, 10, 14, 10))


# --- diagnosis, resolution, remote access, complaints ----------------------------------------


def test_diagnosis_in_working_hours_skips_the_weekend(lc: LoadedContract) -> None:
    # Friday 16:30: 1 h left that day, 7 h on Monday from 08:30 → 15:30
    deadline = sla.diagnosis(lc, fault_level="P3", started_at=at("2026-10-16T16:30"))
    assert deadline.due == at("2026-10-19T15:30")


def test_diagnosis_defaults_apply_to_levels_the_contract_omits(lc: LoadedContract) -> None:
    deadline = sla.diagnosis(lc, fault_level="P1", started_at=at("2026-10-17T23:00"))
    assert deadline.due == at("2026-10-18T01:00")  # 2 h on the 24x7 duty clock (ours)


def test_business_days_end_at_close_and_name_the_holiday(lc: LoadedContract) -> None:
    # 3bd from Wed 2026-09-30: Oct 1-7 closed, then Thu 8, Fri 9, Sat 10 (make-up workday)
    deadline = sla.diagnosis(lc, fault_level="P4", started_at=at("2026-09-30T11:00"))
    assert deadline.due == at("2026-10-10T17:30")
    assert "National Day 国庆节 10-01..10-07" in deadline.rule
    assert "make-up workday 2026-10-10" in deadline.rule


def test_resolution_default_for_p2_is_24_hours_on_duty(lc: LoadedContract) -> None:
    deadline = sla.resolution(lc, priority="P2", reported_at=at("2026-10-14T10:00"))
    assert deadline.due == at("2026-10-15T10:00")


def test_remote_access_default(lc: LoadedContract) -> None:
    deadline = sla.remote_access(lc, agreed_at=at("2026-10-14T23:30"))
    assert deadline.due == at("2026-10-15T00:30")


def test_complaint_first_reply_2h_and_resolution_half_a_month(lc: LoadedContract) -> None:
    reply = sla.complaint_first_reply(lc, received_at=at("2026-10-14T22:00"))
    assert reply.due == at("2026-10-15T00:00")
    done = sla.complaint_resolution(lc, received_at=at("2026-10-14T22:00"))
    assert done.due == at("2026-10-29T22:00")


# --- on-site arrival by zone -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("zone", "normal", "emergency"),
    [("city", 3, 1), ("wendeng", 5, 2), ("rongcheng", 5, 2), ("rushan", 7, 3), ("other", 12, 6)],
)
def test_onsite_arrival_uses_the_seed_tables_on_wall_clock_time(
    lc: LoadedContract, zone: str, normal: int, emergency: int
) -> None:
    start = at("2026-10-03T22:00")  # a holiday night: on-site clocks run 24x7
    assert sla.onsite_arrival(lc, zone=zone, emergency=False, agreed_at=start).due == (
        start + timedelta(hours=normal)
    )
    urgent = sla.onsite_arrival(lc, zone=zone, emergency=True, agreed_at=start)
    assert urgent.due == start + timedelta(hours=emergency)
    assert "emergency on-site" in urgent.rule and f"zone {zone}" in urgent.rule


def test_onsite_unknown_zone_is_a_typed_error(lc: LoadedContract) -> None:
    with pytest.raises(SlaError, match="zone 'mars'"):
        sla.onsite_arrival(lc, zone="mars", emergency=False, agreed_at=at("2026-10-14T10:00"))


# --- spare parts ---------------------------------------------------------------------------------


def test_spare_ship_before_cutoff_ships_same_day(lc: LoadedContract) -> None:
    deadline = sla.spare_ship(lc, device=device(lc, "SRV-NBD"), diagnosed_at=at("2026-10-14T14:59"))
    assert deadline.due == at("2026-10-14T15:00")
    assert "before the 15:00 cut-off" in deadline.rule


def test_spare_ship_after_cutoff_before_national_day_ships_october_8(lc: LoadedContract) -> None:
    deadline = sla.spare_ship(lc, device=device(lc, "SRV-NBD"), diagnosed_at=at("2026-09-30T15:10"))
    assert deadline.due.date().isoformat() == "2026-10-08"
    assert deadline.due == at("2026-10-08T15:00")
    assert "after the 15:00 cut-off; next business day 2026-10-08" in deadline.rule
    assert "National Day 国庆节 10-01..10-07" in deadline.rule


def test_spare_ship_friday_evening_ships_on_sunday_make_up_workday(lc: LoadedContract) -> None:
    deadline = sla.spare_ship(lc, device=device(lc, "SRV-NBD"), diagnosed_at=at("2026-09-18T16:00"))
    assert deadline.due == at("2026-09-20T15:00")  # Sunday 2026-09-20 is an official workday


def test_spare_ship_weekdays_only_tier_skips_make_up_workday(lc: LoadedContract) -> None:
    deadline = sla.spare_ship(lc, device=device(lc, "SRV-WKD"), diagnosed_at=at("2026-09-18T16:00"))
    assert deadline.due == at("2026-09-21T15:00")  # Monday
    assert "make-up workday" not in deadline.rule


def test_spare_ship_on_a_closed_day_ships_next_business_day(lc: LoadedContract) -> None:
    deadline = sla.spare_ship(lc, device=device(lc, "SRV-NBD"), diagnosed_at=at("2026-10-17T09:30"))
    assert deadline.due == at("2026-10-19T15:00")
    assert "closed day" in deadline.rule


def test_nbd_promises_no_arrival(lc: LoadedContract) -> None:
    with pytest.raises(SlaError, match="shipping only"):
        sla.spare_arrival(lc, device=device(lc, "SRV-NBD"), diagnosed_at=at("2026-10-14T10:00"))


def test_48h_arrival_projected_from_ship_deadline_then_from_shipment(lc: LoadedContract) -> None:
    dev = device(lc, "STO-48H")
    projected = sla.spare_arrival(lc, device=dev, diagnosed_at=at("2026-10-14T10:00"))
    assert projected.due == at("2026-10-16T15:00")  # ships by 15:00 Wed, + 48 h
    assert "projected from the ship deadline" in projected.rule
    shipped = sla.spare_arrival(
        lc, device=dev, diagnosed_at=at("2026-10-14T10:00"), shipped_at=at("2026-10-14T11:00")
    )
    assert shipped.due == at("2026-10-16T11:00")


def test_24x7_level_counts_arrival_from_diagnosis_and_has_no_ship_rule(lc: LoadedContract) -> None:
    dev = device(lc, "SW-24X7")
    deadline = sla.spare_arrival(lc, device=dev, diagnosed_at=at("2026-10-03T23:00"))
    assert deadline.due == at("2026-10-05T23:00")
    with pytest.raises(SlaError, match="arrival only"):
        sla.spare_ship(lc, device=dev, diagnosed_at=at("2026-10-03T23:00"))


def test_zone_restricted_tier_refuses_a_weihai_zone(lc: LoadedContract) -> None:
    restricted = [name for name, t in lc.catalog.tiers.items() if t.zones]
    assert "8x5x4h" in restricted and "24x7x4h" in restricted
    four_hour = msgspec.structs.replace(device(lc, "SRV-NBD"), tier="8x5x4h")
    with pytest.raises(SlaError, match="only offered in zones"):
        sla.spare_terms(lc, four_hour, "city")


# --- dispatch used by the CLI ---------------------------------------------------------------------


def test_due_dispatch_names_missing_parameters(lc: LoadedContract) -> None:
    with pytest.raises(SlaError, match="needs a priority"):
        sla.due(lc, "first_response", at=at("2026-10-14T10:00"))
    with pytest.raises(SlaError, match="needs a device"):
        sla.due(lc, "spare_ship", at=at("2026-10-14T10:00"))
    with pytest.raises(SlaError, match="unknown clock kind"):
        sla.due(lc, "coffee", at=at("2026-10-14T10:00"))


def test_due_dispatch_covers_every_kind(lc: LoadedContract) -> None:
    start = at("2026-10-14T10:00")
    for kind in sla.CLOCK_KINDS:
        deadline = sla.due(
            lc, kind, at=start, priority="P2", zone="city", device=device(lc, "STO-48H")
        )
        assert deadline.kind == kind
        assert deadline.due > start
        assert deadline.rule


def test_period_note_warns_outside_the_contract_period(lc: LoadedContract) -> None:
    assert sla.period_note(lc, at("2026-10-14T10:00")) == ""
    note = sla.period_note(lc, at("2025-12-31T23:59"))
    assert "2025-12-31 is outside the contract period 2026-01-01..2027-12-31" in note
