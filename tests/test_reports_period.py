"""Report periods: quarters, months and date ranges in the desk's zone; bad ones name the field."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from core.reports.period import InvalidPeriod, date_range, parse_period, previous_period

TZ = "Asia/Shanghai"


def test_a_month_and_a_quarter_are_local_calendar_spans() -> None:
    sept = parse_period("2026-09", TZ)
    assert (sept.first, sept.last) == (date(2026, 9, 1), date(2026, 9, 30))
    assert sept.start == datetime(2026, 8, 31, 16, tzinfo=UTC)
    q4 = parse_period("2026Q4", TZ)
    assert (q4.first, q4.last) == (date(2026, 10, 1), date(2026, 12, 31))
    assert q4.end == datetime(2026, 12, 31, 16, tzinfo=UTC)
    assert parse_period("2026-12", TZ).end == q4.end


def test_a_range_includes_its_last_day() -> None:
    span = date_range("2026-07-01", "2026-07-01", TZ)
    assert (span.end - span.start).total_seconds() == 86400
    assert span.label == "2026-07-01..2026-07-01"


def test_the_previous_period_ends_at_local_midnight() -> None:
    assert previous_period("quarter", datetime(2026, 9, 30, 15, 59, tzinfo=UTC), TZ).label == (
        "2026Q2"
    )
    assert previous_period("quarter", datetime(2026, 9, 30, 16, 0, tzinfo=UTC), TZ).label == (
        "2026Q3"
    )
    assert previous_period("month", datetime(2027, 1, 1, 0, 0, tzinfo=UTC), TZ).label == "2026-12"


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda: parse_period("2026Q0", TZ), "$.period"),
        (lambda: parse_period("2026-00", TZ), "$.period"),
        (lambda: parse_period("0000Q1", TZ), "$.period"),
        (lambda: parse_period("9999-12", TZ), "$.period"),
        (lambda: date_range("2026-02-30", "2026-03-01", TZ), "$.from"),
        (lambda: date_range("2026-03-01", "9999-12-31", TZ), "$.to"),
        (lambda: date_range("2026-03-01", "2026-02-01", TZ), "$.to"),
        (lambda: date_range("2020-01-01", "2026-02-01", TZ), "$.to"),
    ],
)
def test_a_bad_period_names_its_field(call: object, field: str) -> None:
    with pytest.raises(InvalidPeriod) as caught:
        call()  # type: ignore[operator]
    assert caught.value.field == field
