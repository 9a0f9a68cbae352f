"""The demo as data: cli/demo/stories.yaml read into times and desk commands (no database)."""

from __future__ import annotations

import tomllib
from datetime import datetime, timedelta
from fnmatch import fnmatch
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from cli.demo import HEADLINE, HOSPITAL, OVERDUE
from cli.demo.book import (
    BOOK,
    COMMANDS,
    SEEDER_STEPS,
    STORIES,
    OpenInspection,
    StoryData,
    When,
    read_book,
    read_story,
)
from core import sla
from core.commands import Caller, Close, FirstResponse, OpenCase
from core.desk import CaseDesk
from core.loaded import ContractSet, LoadedContract
from core.sources.contracts import load_contracts

ROOT = Path(__file__).resolve().parent.parent
SH = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 25, 17, 5, tzinfo=SH)  # a Wednesday afternoon in Weihai


@pytest.fixture(scope="module")
def contracts() -> ContractSet:
    return load_contracts([ROOT / "contracts"])


@pytest.fixture(scope="module")
def hospital(contracts: ContractSet) -> LoadedContract:
    return contracts.get(HOSPITAL)


def when(lc: LoadedContract, anchor: datetime = NOW) -> When:
    return When(anchor, lc.calendar("working-hours"))


def told(contract_id: str, key: str) -> StoryData:
    stories = next(c.stories for c in BOOK.contracts if c.id == contract_id)
    return next(story for story in stories if story.key == key)


def test_times_count_days_workdays_and_spans_back_from_now(hospital: LoadedContract) -> None:
    w = when(hospital)
    assert w.at("day 3 02:40") == datetime(2026, 11, 22, 2, 40, tzinfo=SH)
    assert w.at("day -3 17:00") == datetime(2026, 11, 28, 17, 0, tzinfo=SH)
    # Wednesday: the 3rd business day back is the Friday before
    assert w.at("workday 3 09:20") == datetime(2026, 11, 20, 9, 20, tzinfo=SH)
    assert w.at("now") == NOW
    assert w.at("now-2h50m") == NOW - timedelta(hours=2, minutes=50)
    assert w.at("now+90s") == NOW + timedelta(seconds=90)
    for wrong in ("yesterday", "day 3", "now-2x", "workday three 09:00"):
        with pytest.raises(ValueError, match="not a time"):
            w.at(wrong)


def test_every_story_reads_into_desk_commands(contracts: ContractSet) -> None:
    for contract in BOOK.contracts:
        lc = contracts.get(contract.id)
        for data in contract.stories:
            story = read_story(data, lc, when(lc))
            assert isinstance(story.steps[0].cmd, (OpenCase, OpenInspection)), story.key
            for step in story.steps:
                assert isinstance(step.cmd, COMMANDS[step.method]), (story.key, step.method)
                if step.method not in SEEDER_STEPS:
                    assert callable(getattr(CaseDesk, step.method)), step.method


def test_contacts_defaults_and_the_appointment_fill_in(hospital: LoadedContract) -> None:
    story = read_story(told(HOSPITAL, HEADLINE), hospital, when(hospital))
    opened, assigned, answered = (step.cmd for step in story.steps[:3])
    site_lead = next(c for c in hospital.contract.customer.contacts if c.role == "site-lead")
    assert opened.caller == Caller(
        name=site_lead.name,
        company=hospital.contract.customer.name,
        phone=site_lead.mobile or site_lead.phone,
        email=site_lead.email,
    )
    assert story.steps[0].actor == BOOK.people["night_desk"]
    assert assigned.engineer == story.engineer == BOOK.people["engineer"]
    # an emergency: no window, the contract's P1 target (issue 11)
    assert isinstance(opened, OpenCase) and opened.emergency and opened.appointment is None
    assert isinstance(answered, FirstResponse) and "4小时内恢复业务" in answered.agreed_content
    inspection = read_story(told(HOSPITAL, "q4-inspection"), hospital, when(hospital))
    agreed, answer = inspection.steps[0].cmd, inspection.steps[2].cmd
    assert isinstance(agreed, OpenCase) and agreed.appointment is not None
    start = f"{agreed.appointment.start:%m月%d日%H:%M}"
    assert isinstance(answer, FirstResponse) and f"约定{start}起巡检" in answer.agreed_content
    close = story.steps[-1]
    it_manager = next(c for c in hospital.contract.customer.contacts if c.role == "it-manager")
    assert isinstance(close.cmd, Close) and close.cmd.confirmed_by == it_manager.name
    assert close.cmd.confirmed_at == close.at and close.actor == BOOK.people["agent"]


def test_the_overdue_case_opens_so_its_first_response_falls_due_in_90_s(
    hospital: LoadedContract,
) -> None:
    story = read_story(told(HOSPITAL, OVERDUE), hospital, when(hospital))
    opened = story.steps[0]
    due = sla.first_response(hospital, priority=opened.cmd.priority, received_at=opened.at).due
    assert due == NOW + timedelta(seconds=90) and opened.at < NOW


@pytest.mark.parametrize(
    ("step", "message"),
    [
        ({"assign": "day 1 09:00", "resolve": "day 1 09:10"}, "a step names one of"),
        ({"actor": "丛丽"}, "a step names one of"),
        ({"resolve": "day 1 09:10", "resolution": "ok", "colour": "red"}, "resolve: .*colour"),
        ({"change_status": "day 1 09:10", "status": "lost"}, "change_status: .*status"),
    ],
)
def test_a_wrong_step_names_its_story(
    hospital: LoadedContract, step: dict[str, object], message: str
) -> None:
    opening = told(HOSPITAL, HEADLINE).steps[0]
    data = StoryData(key="broken", steps=[opening, step])
    with pytest.raises(ValueError, match=f"demo story broken.*{message}"):
        read_story(data, hospital, when(hospital))


def test_a_story_starts_by_opening_its_case(hospital: LoadedContract) -> None:
    data = StoryData(key="no-open", steps=[{"assign": "day 1 09:00"}])
    with pytest.raises(ValueError, match="no-open: its first step must be open_case"):
        read_story(data, hospital, when(hospital))


def test_the_stories_ship_as_package_data_of_cli_demo() -> None:
    setuptools = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    assert (STORIES.parent / "__init__.py").exists()  # cli.demo is a package ...
    assert any(fnmatch("cli.demo", p) for p in setuptools["packages"]["find"]["include"])
    assert any(fnmatch(STORIES.name, p) for p in setuptools["package-data"]["*"])  # ... with it
    assert read_book(STORIES) == BOOK


def test_the_inspection_story_opens_on_the_plans_schedule(hospital: LoadedContract) -> None:
    from core.maintenance import occurrences

    data = next(
        story
        for contract in BOOK.contracts
        if contract.id == HOSPITAL
        for story in contract.stories
        if story.key == "weekly-inspection"
    )
    story = read_story(data, hospital, when(hospital))
    first = story.steps[0]
    assert isinstance(first.cmd, OpenInspection) and first.actor == "system:scheduler"
    plan = next(p for p in hospital.contract.maintenance_plans if p.id == first.cmd.plan)
    starts = [o.start for o in occurrences(hospital, plan, NOW - timedelta(days=30), NOW)]
    assert first.at in starts and first.at <= NOW - timedelta(days=1)  # on time, in the past
    assert all(step.at > first.at for step in story.steps[1:])
    finding = [s.cmd for s in story.steps if s.method == "record_inspection_result"]
    assert any(cmd.follow_up is not None for cmd in finding)
