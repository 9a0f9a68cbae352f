"""core.sources.holiday_files: the YAML holiday format, every error located by file:line:col."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from core.errors import ContractError
from core.sources.holiday_files import load_holiday_dir, load_holiday_file


def write(directory: Path, name: str, text: str) -> Path:
    path = directory / name
    path.write_text(text, encoding="utf-8")
    return path


def errors(path: Path) -> list[str]:
    """Each problem as "line:column: $.path: message", the file name checked and dropped."""
    with pytest.raises(ContractError) as caught:
        load_holiday_file(path)
    found = []
    for problem in caught.value.problems:
        assert problem.file == str(path)
        assert problem.line is not None and problem.column is not None, problem
        found.append(str(problem).removeprefix(f"{path}:"))
    return found


HEAD = "region: CN\nyear: 2027\nsource: test fixture\n"


# --- the format ------------------------------------------------------------------------------


def test_one_year_with_days_ranges_and_names(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "cn-2027.yaml",
        HEAD
        + "holidays:\n"
        + "  - 2027-01-01\n"
        + "  - {date: 2027-04-05, name: Tomb-sweeping Day 清明}\n"
        + "  - {from: 2027-02-06, to: 2027-02-08, name: Spring Festival 春节}\n"
        + "workdays:\n"
        + "  - 2027-02-14     # make-up workday\n",
    )
    [year] = load_holiday_file(path)
    assert (year.region, year.year) == ("CN", 2027)
    assert year.holidays == {
        date(2027, 1, 1),
        date(2027, 4, 5),
        date(2027, 2, 6),
        date(2027, 2, 7),
        date(2027, 2, 8),
    }
    assert year.workdays == {date(2027, 2, 14)}
    assert year.source == "test fixture [cn-2027.yaml]"
    assert year.name_of(date(2027, 2, 8)) == "Spring Festival 春节"
    assert year.name_of(date(2027, 1, 1)) is None  # a bare date has no name


def test_region_is_upper_cased_and_lists_may_be_empty(tmp_path: Path) -> None:
    path = write(tmp_path, "x.yaml", "region: cn-sd\nyear: 2027\nsource: s\n")
    [year] = load_holiday_file(path)
    assert year.region == "CN-SD"
    assert year.holidays == year.workdays == frozenset()


def test_a_list_holds_several_years(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "cn.yaml",
        "- {region: CN, year: 2027, source: a, holidays: [2027-01-01]}\n"
        "- {region: CN, year: 2028, source: b, workdays: [2028-01-02]}\n",
    )
    years = load_holiday_file(path)
    assert [(y.year, y.source) for y in years] == [(2027, "a [cn.yaml]"), (2028, "b [cn.yaml]")]
    assert years[1].workdays == {date(2028, 1, 2)}


def test_overlapping_named_entries_give_both_names(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "x.yaml",
        HEAD
        + "holidays:\n"
        + "  - {from: 2027-10-01, to: 2027-10-07, name: National Day 国庆节}\n"
        + "  - {date: 2027-10-05, name: Mid-autumn Festival 中秋}\n"
        + "workdays:\n"
        + "  - {date: 2027-10-09, name: make-up workday}\n",
    )
    [year] = load_holiday_file(path)
    assert year.name_of(date(2027, 10, 5)) == "National Day 国庆节 / Mid-autumn Festival 中秋"
    assert year.name_of(date(2027, 10, 9)) == "make-up workday"
    assert len(year.holidays) == 7


def test_quoted_dates_are_dates_too(tmp_path: Path) -> None:
    path = write(tmp_path, "x.yaml", HEAD + 'holidays: ["2027-01-01"]\n')
    assert load_holiday_file(path)[0].holidays == {date(2027, 1, 1)}


# --- errors, each with file:line:column ------------------------------------------------------


def test_unknown_key(tmp_path: Path) -> None:
    path = write(tmp_path, "x.yaml", HEAD + "holidays:\n  - {date: 2027-01-01, nam: x}\n")
    [error] = errors(path)
    assert error.startswith("5:24: $.holidays[0].nam: unknown key 'nam'")


def test_unknown_top_level_key(tmp_path: Path) -> None:
    path = write(tmp_path, "x.yaml", HEAD + "holiday:\n  - 2027-01-01\n")
    [error] = errors(path)
    assert error.startswith("4:1: $.holiday: unknown key 'holiday'")


def test_wrong_type(tmp_path: Path) -> None:
    path = write(tmp_path, "x.yaml", "region: CN\nyear: next\nsource: s\n")
    assert errors(path) == ["2:7: $.year: expected `int`, got `str`"]


def test_wrong_entry_type(tmp_path: Path) -> None:
    path = write(tmp_path, "x.yaml", HEAD + "holidays:\n  - 20270101\n")
    [error] = errors(path)
    assert error.startswith("5:5: $.holidays[0]: expected `date | object`, got `int`")


def test_invalid_date(tmp_path: Path) -> None:
    path = write(tmp_path, "x.yaml", HEAD + 'holidays:\n  - {date: "2027-02-30"}\n')
    [error] = errors(path)
    assert error.startswith("5:12: $.holidays[0].date: not a valid date: expected an existing day")


def test_unquoted_impossible_date_is_located(tmp_path: Path) -> None:
    path = write(tmp_path, "x.yaml", HEAD + "holidays:\n  - {date: 2027-02-30}\n")
    with pytest.raises(ContractError) as caught:
        load_holiday_file(path)
    [problem] = caught.value.problems
    assert (problem.file, problem.line, problem.column) == (str(path), 5, 12)
    assert problem.path == "$.holidays[0].date"
    assert "not a valid date" in problem.message


def test_missing_source(tmp_path: Path) -> None:
    path = write(tmp_path, "x.yaml", "region: CN\nyear: 2027\nholidays: []\n")
    assert errors(path) == ["1:1: $: missing required key `source`"]


def test_bad_region(tmp_path: Path) -> None:
    path = write(tmp_path, "x.yaml", "region: 中国\nyear: 2027\nsource: s\n")
    [error] = errors(path)
    assert error.startswith("1:9: $.region:")


def test_from_after_to(tmp_path: Path) -> None:
    path = write(tmp_path, "x.yaml", HEAD + "holidays:\n  - {from: 2027-02-12, to: 2027-02-06}\n")
    assert errors(path) == ["5:28: $.holidays[0].to: to 2027-02-06 is before from 2027-02-12"]


def test_dates_outside_the_year(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "x.yaml",
        HEAD + "holidays:\n  - 2026-12-31\n  - {from: 2027-12-31, to: 2028-01-01}\n",
    )
    assert errors(path) == [
        "5:5: $.holidays[0]: 2026-12-31 is not in 2027",
        "6:28: $.holidays[1].to: 2028-01-01 is not in 2027",
    ]


def test_a_day_both_holiday_and_workday(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "x.yaml",
        HEAD + "holidays:\n  - {from: 2027-02-06, to: 2027-02-12}\nworkdays:\n  - 2027-02-07\n",
    )
    assert errors(path) == [
        "7:5: $.workdays[0]: 2027-02-07 is both a workday and a holiday (at $.holidays[0])"
    ]


def test_malformed_entries(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "x.yaml",
        HEAD
        + "holidays:\n"
        + "  - {date: 2027-01-01, from: 2027-01-01, to: 2027-01-02}\n"
        + "  - {from: 2027-02-06}\n"
        + "  - {name: nameless}\n",
    )
    assert errors(path) == [
        "5:5: $.holidays[0]: give either date or from/to, not both",
        "6:5: $.holidays[1]: a range needs both from and to (to is missing)",
        "7:5: $.holidays[2]: needs date, or from and to",
    ]


def test_all_semantic_problems_of_a_file_are_reported(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "x.yaml",
        "- region: CN\n"
        "  year: 2027\n"
        "  source: a\n"
        "  holidays: [2026-01-01, {from: 2027-03-02, to: 2027-03-01}]\n"
        "- region: CN\n"
        "  year: 2028\n"
        "  source: b\n"
        "  workdays: [2027-12-31]\n"
        "- {region: cn, year: 2027, source: c}\n",
    )
    assert errors(path) == [
        "4:14: $[0].holidays[0]: 2026-01-01 is not in 2027",
        "4:49: $[0].holidays[1].to: to 2027-03-01 is before from 2027-03-02",
        "8:14: $[1].workdays[0]: 2027-12-31 is not in 2028",
    ]


def test_a_year_twice_in_one_file(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "x.yaml",
        "- {region: CN, year: 2027, source: a}\n- {region: cn, year: 2027, source: b}\n",
    )
    assert errors(path) == [f"2:22: $[1].year: CN 2027 is already defined in {path}:1"]


def test_not_a_year_document(tmp_path: Path) -> None:
    path = write(tmp_path, "x.yaml", "2027\n")
    assert errors(path) == [
        "1:1: $: expected a year mapping (region, year, source, holidays, workdays)"
        " or a list of them"
    ]


def test_empty_file(tmp_path: Path) -> None:
    path = write(tmp_path, "x.yaml", "# nothing yet\n")
    with pytest.raises(ContractError, match=r"\$: expected a year mapping"):
        load_holiday_file(path)


def test_list_item_that_is_not_a_year(tmp_path: Path) -> None:
    path = write(tmp_path, "x.yaml", "- {region: CN, year: 2027, source: a}\n- 2028\n")
    assert errors(path)[0].startswith("2:3: $[1]: expected a year mapping")


def test_yaml_syntax_error(tmp_path: Path) -> None:
    path = write(tmp_path, "x.yaml", HEAD + "holidays: [2027-01-01\n")
    [error] = errors(path)
    assert "YAML syntax" in error


def test_duplicate_key(tmp_path: Path) -> None:
    path = write(tmp_path, "x.yaml", HEAD + "year: 2028\n")
    assert errors(path) == ["4:1: $.year: duplicate key 'year' (first at line 2)"]


def test_multi_document_stream_is_rejected(tmp_path: Path) -> None:
    path = write(tmp_path, "x.yaml", HEAD + "---\n" + HEAD.replace("2027", "2028"))
    [error] = errors(path)
    assert error.startswith("4:1: $: YAML syntax")


# --- directories -----------------------------------------------------------------------------


def test_directory_loads_yaml_files_in_name_order(tmp_path: Path) -> None:
    write(tmp_path, "b.yml", "region: CN\nyear: 2028\nsource: b\n")
    write(tmp_path, "a.yaml", "region: CN\nyear: 2027\nsource: a\n")
    write(tmp_path, "README.md", "not: [yaml\n")
    (tmp_path / "sub").mkdir()
    write(tmp_path / "sub", "c.yaml", "broken: [\n")  # only files directly under it
    assert [y.year for y in load_holiday_dir(tmp_path)] == [2027, 2028]


def test_missing_directory_holds_no_years(tmp_path: Path) -> None:
    assert load_holiday_dir(tmp_path / "absent") == []


def test_directory_reports_every_files_problems(tmp_path: Path) -> None:
    bad = write(tmp_path, "a.yaml", HEAD + "holidays: [2026-01-01]\n")
    broken = write(tmp_path, "b.yaml", "region: [\n")
    first = write(tmp_path, "c.yaml", "region: CN\nyear: 2028\nsource: c\n")
    again = write(tmp_path, "d.yaml", "region: CN\nyear: 2028\nsource: d\n")
    with pytest.raises(ContractError) as caught:
        load_holiday_dir(tmp_path)
    found = [(p.file, p.line, p.message) for p in caught.value.problems]
    assert found[0] == (str(bad), 4, "2026-01-01 is not in 2027")
    assert found[1][0] == str(broken) and "YAML syntax" in found[1][2]
    assert found[2] == (str(again), 2, f"CN 2028 is already defined in {first}:2")
    assert len(found) == 3
