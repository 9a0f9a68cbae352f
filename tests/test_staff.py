"""The staff directory: the shipped file loads, every mistake is located, the rota answers."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from core.errors import ContractError, NaiveDatetimeError, Problem
from core.staff import STAFF_FILE, StaffDirectory, StaffError, load_staff

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = ROOT / STAFF_FILE
TZ = ZoneInfo("Asia/Shanghai")


@pytest.fixture(scope="module")
def staff() -> StaffDirectory:
    return load_staff(SHIPPED)


def local(*args: int) -> datetime:
    return datetime(*args, tzinfo=TZ)  # type: ignore[misc]


# --- the shipped file ------------------------------------------------------------------------


def test_shipped_directory_loads(staff: StaffDirectory) -> None:
    assert staff.file == str(SHIPPED)
    assert {p.id for p in staff.people_with("engineer")} >= {"yu-tao", "sun-hao", "li-qiang"}
    assert [p.id for p in staff.people_with("general-manager")] == ["yu-jianguo"]
    assert [p.id for p in staff.people_with("expert-group")] == ["gao-feng", "park-jiho"]
    for person in staff.people:
        assert person.email and person.email.endswith("@mingsheng.example.cn")
        assert person.phone and person.phone.startswith("0631-")
        assert person.mobile is None or person.mobile.startswith("139")
        expected = "duty" if person.roles == ["engineer"] else "working-hours"
        assert person.calendar == expected, person.id


def test_lookup_by_id_name_and_email(staff: StaffDirectory) -> None:
    assert staff.person("liu-yang") is staff.person("刘洋")
    assert staff.person("nobody") is None
    assert staff.match("Liu Y.", "LIU.YANG@mingsheng.example.cn") is staff.person("liu-yang")
    assert staff.match("刘洋", None) is staff.person("liu-yang")


def test_locale_defaults_to_chinese(staff: StaffDirectory) -> None:
    assert staff.person("liu-yang").locale == "zh"  # type: ignore[union-attr]
    assert staff.person("park-jiho").locale == "en"  # type: ignore[union-attr]


def test_staff_file_is_not_read_as_a_contract() -> None:
    # contract loading takes *.yaml directly in contracts/ only; the directory is a subfolder
    assert SHIPPED.parent.parent == ROOT / "contracts"
    assert SHIPPED.parent != ROOT / "contracts"


# --- the rota --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("at", "engineer"),
    [
        (local(2026, 3, 2, 9, 0), "yu-tao"),  # Monday, day shift
        (local(2026, 3, 2, 17, 29), "yu-tao"),  # last minute of the day shift
        (local(2026, 3, 2, 17, 30), "sun-hao"),  # night shift starts
        (local(2026, 3, 2, 23, 0), "sun-hao"),
        (local(2026, 3, 3, 3, 0), "sun-hao"),  # after midnight: still Monday's night shift
        (local(2026, 3, 3, 8, 29), "sun-hao"),
        (local(2026, 3, 3, 8, 30), "yu-tao"),
        (local(2026, 3, 6, 20, 0), "li-qiang"),  # Friday night
        (local(2026, 3, 7, 12, 0), "li-qiang"),  # Saturday
        (local(2026, 3, 8, 8, 29), "li-qiang"),  # Saturday's 24 h shift ends Sunday 08:30
        (local(2026, 3, 8, 8, 30), "zhou-min"),
        (local(2026, 3, 8, 23, 59), "zhou-min"),
        (local(2026, 3, 9, 0, 0), "zhou-min"),  # across the week's end: Sunday → Monday
        (local(2026, 3, 9, 8, 29), "zhou-min"),
        (local(2026, 3, 9, 8, 30), "yu-tao"),
    ],
)
def test_weekly_pattern(staff: StaffDirectory, at: datetime, engineer: str) -> None:
    assert staff.on_duty(at).id == engineer


@pytest.mark.parametrize(
    ("at", "engineer"),
    [
        (local(2026, 10, 1, 8, 29), "sun-hao"),  # Wednesday night shift still runs
        (local(2026, 10, 1, 8, 30), "qu-hang"),  # National Day duty begins
        (local(2026, 10, 2, 12, 0), "qu-hang"),  # a Friday: the day shift would be yu-tao
        (local(2026, 10, 4, 8, 30), "li-qiang"),  # the second half of the holiday
        (local(2026, 10, 5, 3, 0), "li-qiang"),
        (local(2026, 10, 8, 8, 29), "li-qiang"),
        (local(2026, 10, 8, 8, 30), "yu-tao"),  # back to the pattern on Thursday morning
        (local(2026, 2, 17, 23, 0), "qu-hang"),  # Spring Festival
        (local(2026, 2, 21, 12, 0), "sun-hao"),
    ],
)
def test_holiday_overrides_win(staff: StaffDirectory, at: datetime, engineer: str) -> None:
    assert staff.on_duty(at).id == engineer


def test_on_duty_reads_any_time_zone(staff: StaffDirectory) -> None:
    # 2026-03-02 15:00 UTC is 23:00 in Weihai: the night shift
    assert staff.on_duty(datetime(2026, 3, 2, 15, 0, tzinfo=UTC)).id == "sun-hao"
    # an override is an instant too: 2026-10-01 00:30 UTC is 08:30 in Weihai
    assert staff.on_duty(datetime(2026, 10, 1, 0, 30, tzinfo=UTC)).id == "qu-hang"


def test_on_duty_needs_a_time_zone(staff: StaffDirectory) -> None:
    with pytest.raises(NaiveDatetimeError):
        staff.on_duty(datetime(2026, 3, 2, 9, 0))


# --- load errors, each with file:line:column -------------------------------------------------


def edited(tmp_path: Path, *edits: tuple[str, str]) -> Path:
    text = SHIPPED.read_text(encoding="utf-8")
    for old, new in edits:
        assert old in text, f"{old!r} not in staff.yaml"
        text = text.replace(old, new, 1)
    path = tmp_path / "staff.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def problems(path: Path) -> list[Problem]:
    with pytest.raises(StaffError) as info:
        load_staff(path)
    assert isinstance(info.value, ContractError)  # the CLI and API already report these
    assert info.value.title == "invalid staff directory"
    return info.value.problems


def only(found: list[Problem]) -> Problem:
    assert len(found) == 1, "\n".join(map(str, found))
    return found[0]


def position(path: Path, needle: str, nth: int = 1) -> tuple[int, int]:
    """1-based (line, column) of the ``nth`` occurrence of ``needle``."""
    hits = [
        (number, line.index(needle) + 1)
        for number, line in enumerate(path.read_text("utf-8").splitlines(), 1)
        if needle in line
    ]
    return hits[nth - 1]


def test_unknown_role(tmp_path: Path) -> None:
    path = edited(tmp_path, ("roles: [quality-department]", "roles: [quality-dept]"))
    problem = only(problems(path))
    assert (problem.line, problem.column) == position(path, "quality-dept")
    assert problem.path == "$.people[13].roles[0]"
    assert "expected one of engineer, service-manager" in problem.message
    assert "got 'quality-dept'" in problem.message
    assert str(problem).startswith(f"{path}:{problem.line}:{problem.column}: ")


def test_duplicate_person_id(tmp_path: Path) -> None:
    path = edited(tmp_path, ("id: park-jiho", "id: gao-feng"))
    problem = only(problems(path))
    line, column = position(path, "id: gao-feng", nth=2)
    assert (problem.line, problem.column) == (line, column + len("id: "))  # at the value
    first_line = position(path, "id: gao-feng")[0]
    assert problem.message == f"duplicate person id 'gao-feng' (first at line {first_line})"
    assert problem.path == "$.people[6].id"


def test_rota_names_unknown_person(tmp_path: Path) -> None:
    path = edited(tmp_path, ("engineer: li-qiang}", "engineer: li-qing}"))
    problem = only(problems(path))
    assert (problem.line, problem.column) == position(path, "li-qing")
    assert problem.path == "$.rota.weekly[2].engineer"
    assert problem.message == "unknown person 'li-qing' (not in people)"


def test_rota_names_someone_who_is_not_an_engineer(tmp_path: Path) -> None:
    path = edited(tmp_path, ("      engineer: qu-hang", "      engineer: song-li"))
    problem = only(problems(path))
    assert (problem.line, problem.column) == position(path, "song-li", nth=2)
    assert problem.path == "$.rota.overrides[0].engineer"
    assert problem.message == "'song-li' is not an engineer (roles: quality-department)"


def test_rota_gap_is_located_at_the_shift_before_it(tmp_path: Path) -> None:
    # the day shift ends at 17:00 but the night shift only starts at 17:30
    path = edited(
        tmp_path,
        (
            'from: "08:30", to: "17:30", engineer: yu-tao',
            'from: "08:30", to: "17:00", engineer: yu-tao',
        ),
    )
    found = problems(path)
    assert [p.message for p in found] == [
        f"gap in the rota: nobody on duty {day} 17:00-{day} 17:30"
        for day in ("Mon", "Tue", "Wed", "Thu", "Fri")
    ]
    line, column = position(path, '"17:00"')
    assert {(p.line, p.column, p.path) for p in found} == {(line, column, "$.rota.weekly[0].to")}


def test_rota_gap_across_the_week_end_is_one_gap(tmp_path: Path) -> None:
    path = edited(
        tmp_path,
        ('{days: sun, from: "08:30", to: "08:30"', '{days: sun, from: "08:30", to: "23:00"'),
    )
    problem = only(problems(path))
    assert problem.message == "gap in the rota: nobody on duty Sun 23:00-Mon 08:30"
    assert (problem.line, problem.column) == position(path, '"23:00"')


def test_rota_overlap(tmp_path: Path) -> None:
    # the Friday night shift starts at 17:00 while the day shift runs to 17:30
    path = edited(tmp_path, ('{days: fri, from: "17:30"', '{days: fri, from: "17:00"'))
    problem = only(problems(path))
    assert problem.path == "$.rota.weekly[2]"
    assert (problem.line, problem.column) == position(path, "{days: fri")
    assert (
        problem.message == "overlaps weekly[0] (mon-fri 08:30-17:30, yu-tao) on Fri 17:00-Fri 17:30"
    )


def test_rota_needs_a_week_not_an_empty_list(tmp_path: Path) -> None:
    path = tmp_path / "staff.yaml"
    path.write_text(
        "people:\n  - {id: a, name: A, roles: [engineer]}\nrota:\n  weekly: []\n", "utf-8"
    )
    problem = only(problems(path))
    assert (problem.line, problem.column, problem.path) == (4, 11, "$.rota.weekly")


@pytest.mark.parametrize("bad", ["25:00", "8:30", "17.30"])
def test_bad_time_of_day(tmp_path: Path, bad: str) -> None:
    path = edited(tmp_path, ('{days: mon-thu, from: "17:30"', f'{{days: mon-thu, from: "{bad}"'))
    problem = only(problems(path))
    assert problem.path == "$.rota.weekly[1].from"
    assert (problem.line, problem.column) == position(path, f'"{bad}"')
    assert problem.message.startswith("expected a time of day HH:MM (24:00 only as an end)")


def test_shift_cannot_start_at_midnight_end(tmp_path: Path) -> None:
    path = edited(tmp_path, ('{days: mon-thu, from: "17:30"', '{days: mon-thu, from: "24:00"'))
    found = problems(path)
    [problem] = [p for p in found if p.path == "$.rota.weekly[1].from"]
    assert problem.message == "a shift cannot start at 24:00"
    assert (problem.line, problem.column) == position(path, '"24:00"')


def test_override_without_offset(tmp_path: Path) -> None:
    path = edited(tmp_path, ("from: 2026-10-01T08:30+08:00", "from: 2026-10-01T08:30"))
    problem = only(problems(path))
    assert problem.path == "$.rota.overrides[2].from"
    assert (problem.line, problem.column) == position(path, "2026-10-01T08:30")
    assert "with its UTC offset" in problem.message


def test_override_impossible_date(tmp_path: Path) -> None:
    path = edited(tmp_path, ("to: 2026-02-19T08:30+08:00", "to: 2026-02-30T08:30+08:00"))
    problem = only(problems(path))
    assert problem.path == "$.rota.overrides[0].to"
    assert (problem.line, problem.column) == position(path, "2026-02-30")
    assert problem.message.startswith("not a valid date and time")


def test_override_ending_before_it_starts(tmp_path: Path) -> None:
    path = edited(tmp_path, ("to: 2026-10-04T08:30+08:00", "to: 2026-09-04T08:30+08:00"))
    problem = only(problems(path))
    assert problem.path == "$.rota.overrides[2].to"
    assert problem.message.startswith("ends at 2026-09-04 08:30:00+08:00 before it starts")


def test_overlapping_overrides(tmp_path: Path) -> None:
    path = edited(tmp_path, ("from: 2026-10-04T08:30+08:00", "from: 2026-10-03T08:30+08:00"))
    problem = only(problems(path))
    assert problem.path == "$.rota.overrides[3].from"
    assert problem.message == "overlaps overrides[2]"
    assert (problem.line, problem.column) == position(path, "2026-10-03T08:30")


def test_unknown_calendar_and_unknown_key(tmp_path: Path) -> None:
    path = edited(tmp_path, ("    calendar: duty", "    calendar: night"))
    problem = only(problems(path))
    assert problem.path == "$.people[0].calendar"
    assert (
        problem.message == "unknown calendar 'night' (expected one of: 24x7, duty, working-hours)"
    )
    assert (problem.line, problem.column) == position(path, "night")
    path = edited(tmp_path, ("    locale: en", "    language: en"))
    problem = only(problems(path))
    assert problem.message.startswith("unknown key 'language' (expected one of: id, name, roles")
    assert (problem.line, problem.column) == position(path, "language")


def test_bad_mobile_or_email(tmp_path: Path) -> None:
    path = edited(tmp_path, ('mobile: "13963112311"', 'mobile: "1396311231"'))
    problem = only(problems(path))
    assert problem.path == "$.people[0].mobile"
    assert (problem.line, problem.column) == position(path, '"1396311231"')
    assert problem.message.startswith("'1396311231' is not a valid mainland number")
    path = edited(tmp_path, ("email: yu.tao@mingsheng", "email: yu.tao.mingsheng"))
    problem = only(problems(path))
    assert problem.path == "$.people[0].email"
    assert problem.message == "expected an e-mail address; got 'yu.tao.mingsheng.example.cn'"


@pytest.mark.parametrize(
    ("field", "value", "says"),
    [
        ("mobile", "0631-5187762", "is a mainland landline, not a mobile number"),
        ("mobile", "+852 2123 4567", "is a Hong Kong landline, not a mobile number"),
        ("mobile", "85261230001", "write the country code with +, e.g. +852 6123 0001"),
        ("phone", "5187762", "without area code"),
        ("phone", "0631-518-776x", "is not a phone number"),
    ],
)
def test_bad_phone_numbers_are_located(tmp_path: Path, field: str, value: str, says: str) -> None:
    old = 'mobile: "13963112311"' if field == "mobile" else "phone: 0631-5187762"
    path = edited(tmp_path, (old, f'{field}: "{value}"'))
    problem = only(problems(path))
    assert problem.path == f"$.people[0].{field}"
    assert (problem.line, problem.column) == position(path, f'"{value}"')
    assert says in problem.message


@pytest.mark.parametrize(
    "mobile",
    ["+852 6123 0001", "+85261230001", "+853 6612 3456", "139-6311-2311", "+1 415 555 0100"],
)
def test_mobiles_of_every_written_form_load(tmp_path: Path, mobile: str) -> None:
    path = edited(tmp_path, ('mobile: "13963112311"', f'mobile: "{mobile}"'))
    assert load_staff(path).person("yu-tao").mobile == mobile  # type: ignore[union-attr]


def test_unquoted_mobile_is_an_integer(tmp_path: Path) -> None:
    path = edited(tmp_path, ('mobile: "13963112311"', "mobile: 13963112311"))
    problem = only(problems(path))
    assert problem.path == "$.people[0].mobile"
    assert (problem.line, problem.column) == position(path, "13963112311")
    assert problem.message.startswith("expected `str | null`, got `int`")


def test_several_problems_are_all_reported_in_file_order(tmp_path: Path) -> None:
    path = edited(
        tmp_path,
        ("id: sun-hao", "id: yu-tao"),
        ("    calendar: duty", "    calendar: night"),
    )
    found = problems(path)
    assert [p.path for p in found][:2] == ["$.people[0].calendar", "$.people[1].id"]
    assert [p.line for p in found] == sorted(p.line or 0 for p in found)
    # sun-hao is gone, so the rota entries naming him are problems as well
    assert any(p.message == "unknown person 'sun-hao' (not in people)" for p in found)


def test_yaml_syntax_error_is_located(tmp_path: Path) -> None:
    path = tmp_path / "staff.yaml"
    path.write_text("people:\n  - id: a\n   name: b\n", "utf-8")
    problem = only(problems(path))
    assert problem.line == 3 and problem.message.startswith("YAML syntax")
