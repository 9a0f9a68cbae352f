"""YAML with positions: syntax errors, duplicate keys and type errors name file:line:column."""

from __future__ import annotations

from datetime import date

import msgspec
import pytest

from core.errors import ContractError, Problem
from core.sources.yamlsource import DEFAULT_LIMITS, YamlLimits, convert, parse


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


# --- hostile input: every limit is a located problem, reached without walking the expansion ----

# nine levels of nine aliases: 342 bytes that stand for 9**9 (387 million) strings
BILLION_LAUGHS = 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n' + "".join(
    f"{c}: &{c} [{','.join([f'*{chr(ord(c) - 1)}'] * 9)}]\n" for c in "bcdefghi"
)


def refused(text: str, limits: YamlLimits = DEFAULT_LIMITS) -> Problem:
    with pytest.raises(ContractError) as caught:
        parse("hostile.yaml", text, limits=limits)
    (problem,) = caught.value.problems
    assert problem.file == "hostile.yaml" and problem.line is not None
    return problem


def test_a_billion_laughs_is_refused_where_it_expands_past_the_node_limit() -> None:
    assert len(BILLION_LAUGHS.encode()) == 342
    problem = refused(BILLION_LAUGHS)
    # a: 10 nodes, b: 91, c: 820, d: 7,381, e: 66,430, f: 597,871 > 250,000
    assert (problem.line, problem.column) == (6, 4)
    assert "more than 250,000 nodes" in problem.message
    assert "CASETRACK_YAML_MAX_NODES" in problem.message


def test_yaml_nested_a_thousand_deep_is_refused_at_the_limit() -> None:
    flow = refused("a: " + "[" * 1000 + "]" * 1000 + "\n")
    # the root mapping is level 1, so the 50th bracket (column 4 + 49) is level 51
    assert (flow.line, flow.column) == (1, 4 + 49) and "deeper than 50" in flow.message
    block = refused("".join("  " * i + f"k{i}:\n" for i in range(200)))
    assert block.line == 50 and "deeper than 50" in block.message  # at k49: its value


def test_aliases_cannot_nest_deeper_than_the_limit_either() -> None:
    limits = YamlLimits(max_depth=5)
    text = "a: &a [[[1]]]\nb: [[[*a]]]\n"  # each alone is 4 deep, together 7
    problem = refused(text, limits)
    assert problem.line == 2 and "through aliases" in problem.message
    assert parse("ok.yaml", "a: &a [[[1]]]\nb: *a\n", limits=limits).data["b"] == [[[1]]]


def test_a_hundred_thousand_digit_integer_is_refused_at_the_number() -> None:
    problem = refused("devices:\n  - count: " + "9" * 100_000 + "\n")
    assert (problem.line, problem.column) == (2, 12)
    assert "100,000 characters" in problem.message and "quote it" in problem.message
    assert parse("ok.yaml", "n: " + "9" * 100 + "\n").data["n"] == int("9" * 100)


def test_too_many_aliases_and_a_recursive_alias_are_refused() -> None:
    text = "a: &a 1\nb: [" + ", ".join(["*a"] * 101) + "]\n"
    problem = refused(text)
    assert problem.line == 2 and "more than 100 aliases" in problem.message
    cycle = refused("a: &a [1, *a]\n")
    assert (cycle.line, cycle.column) == (1, 11) and "contains it" in cycle.message


def test_a_file_over_the_size_limit_is_located_where_it_goes_over(tmp_path) -> None:
    limits = YamlLimits(max_bytes=100)
    text = "name: 荣成\n" + "note: " + "x" * 200 + "\n"  # 荣成 is 6 bytes in UTF-8
    problem = refused(text, limits)
    assert (problem.line, problem.column) == (2, 100 - 13 + 1)
    assert "at most 100 are read" in problem.message
    big = tmp_path / "big.yaml"
    big.write_text(text, encoding="utf-8")
    with pytest.raises(ContractError) as caught:
        parse(big, limits=limits)  # not read at all
    assert "CASETRACK_YAML_MAX_BYTES" in caught.value.problems[0].message


def test_reading_stops_at_the_time_limit() -> None:
    from core.sources import yamlsource

    ticks = iter(range(1000))  # a clock that advances one second per look
    loader = yamlsource._Loader("a: [1, 2, 3]\n", YamlLimits(max_seconds=2), lambda: next(ticks))
    with pytest.raises(yamlsource.LimitExceeded) as caught:
        loader.get_single_node()
    assert "longer than 2 s" in str(caught.value.problem)


def test_ordinary_anchors_and_merge_keys_still_work() -> None:
    doc = parse("ok.yaml", "base: &b {tier: 8x5xNBD, rma: x}\ndev: {<<: *b, serial: S1}\n")
    assert doc.data["dev"] == {"tier": "8x5xNBD", "rma": "x", "serial": "S1"}


def test_settings_carry_the_yaml_limits() -> None:
    from core.settings import Settings, SettingsError

    env = {"CASETRACK_YAML_MAX_NODES": "1000", "CASETRACK_YAML_MAX_SECONDS": "2.5"}
    settings = Settings.from_env(env)
    assert settings.yaml_limits == YamlLimits(max_nodes=1000, max_seconds=2.5)
    with pytest.raises(SettingsError, match="CASETRACK_YAML_MAX_DEPTH"):
        Settings.from_env({"CASETRACK_YAML_MAX_DEPTH": "0"})
