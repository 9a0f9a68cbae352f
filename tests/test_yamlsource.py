"""YAML with positions: syntax errors, duplicate keys and type errors name file:line:column."""

from __future__ import annotations

from datetime import date

import msgspec
import pytest

from core.errors import ContractError
from core.yamlsource import convert, parse


class Window(msgspec.Struct, forbid_unknown_fields=True, rename="kebab", kw_only=True):
    cut_off: str
    days: list[int] = []


def problems(exc: pytest.ExceptionInfo[ContractError]) -> list[str]:
    return [str(p) for p in exc.value.problems]


def test_times_stay_strings_not_base_60_numbers() -> None:
    doc = parse("w.yaml", "cut-off: 15:00\nother: 9:30\nn: 12\nf: 1.5\nflag: true\n")
    assert doc.data == {"cut-off": "15:00", "other": "9:30", "n": 12, "f": 1.5, "flag": True}


def test_syntax_error_names_line_and_column() -> None:
    with pytest.raises(ContractError) as exc:
        parse("w.yaml", "cut-off: 15:00\ndays: [1, 2\nx: 3\n")
    [message] = problems(exc)
    assert message.startswith("w.yaml:3:2: $: YAML syntax:")


def test_duplicate_keys_are_reported_with_both_lines() -> None:
    with pytest.raises(ContractError) as exc:
        parse("w.yaml", "a:\n  b: 1\n  c: 2\n  b: 3\nd: 1\nd: 2\n")
    assert problems(exc) == [
        "w.yaml:4:3: $.a.b: duplicate key 'b' (first at line 2)",
        "w.yaml:6:1: $.d: duplicate key 'd' (first at line 5)",
    ]


def test_wrong_type_points_at_the_value() -> None:
    doc = parse("w.yaml", "cut-off: '15:00'\ndays:\n  - 1\n  - monday\n")
    with pytest.raises(ContractError) as exc:
        convert(doc, Window)
    assert problems(exc) == ["w.yaml:4:5: $.days[1]: expected `int`, got `str`"]


def test_unknown_key_points_at_the_key() -> None:
    doc = parse("w.yaml", "cut-off: '15:00'\n\ncutof: '16:00'\n")
    with pytest.raises(ContractError) as exc:
        convert(doc, Window)
    assert problems(exc) == [
        "w.yaml:3:1: $.cutof: unknown key 'cutof' (expected one of: cut-off, days)"
    ]


def test_missing_key_is_named() -> None:
    doc = parse("w.yaml", "days: [1]\n")
    with pytest.raises(ContractError) as exc:
        convert(doc, Window)
    assert problems(exc) == ["w.yaml:1:1: $: missing required key `cut-off`"]


def test_locate_walks_as_deep_as_the_document_goes() -> None:
    doc = parse("w.yaml", "a:\n  - x: 1\n    y: [5, 6]\n")
    assert doc.locate("$.a[0].y[1]") == (3, 12)
    assert doc.locate("$.a[0].missing") == (2, 5)
    assert doc.locate("$.a[7]") == (2, 3)


def test_unreadable_file_is_a_problem_not_a_traceback(tmp_path) -> None:
    with pytest.raises(ContractError) as exc:
        parse(tmp_path / "absent.yaml")
    assert "cannot read" in problems(exc)[0]


class Dated(msgspec.Struct, forbid_unknown_fields=True):
    start: date


def test_impossible_date_is_located() -> None:
    doc = parse("d.yaml", "# header\nstart: 2027-02-30\n")
    with pytest.raises(ContractError) as exc:
        convert(doc, Dated)
    [message] = problems(exc)
    assert message.startswith("d.yaml:2:8: $.start: ")
    assert "date" in message.lower()


def test_a_null_section_converts_as_null_not_as_the_whole_file() -> None:
    doc = parse("n.yaml", "a: ~\n")
    assert convert(doc, int | None, path="$.a", data=None) is None


def test_control_characters_are_a_located_problem_not_a_crash() -> None:
    with pytest.raises(ContractError) as exc:
        parse("c.yaml", "id: ok\nname: a\x94b\n")
    assert problems(exc) == ["c.yaml:2:8: $: YAML: character #x0094 not allowed"]
