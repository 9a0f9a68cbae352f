"""When a time sent with a command is believable (docs/api.md, "Times"); pure, ``now`` injected.

A datetime can be well-formed and still impossible for the case: ``{"start": 0}`` is 1970, a
close confirmed in 2999, an offset of -23:59 on the last second of year 9999 that no UTC
column can hold. These checks run before anything is stored; each failure names its field.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from core import limits
from core.errors import ImplausibleTime


def check_appointment(start: datetime, end: datetime, *, now: datetime) -> None:
    """An appointment window, as the case opens at ``now``: it has not ended yet, began at most
    a day ago (a visit logged after it started) and ends within a year (contracts run a year)."""
    if end <= now:
        raise ImplausibleTime(
            "$.appointment.end", f"the window ended before the case opened ({_utc(end)})"
        )
    if start < now - limits.APPOINTMENT_PAST:
        raise ImplausibleTime(
            "$.appointment.start",
            f"the window starts more than {_days(limits.APPOINTMENT_PAST)} before the case "
            f"opened ({_utc(start)})",
        )
    if end > now + limits.APPOINTMENT_HORIZON:
        raise ImplausibleTime(
            "$.appointment.end",
            f"the window ends more than {_days(limits.APPOINTMENT_HORIZON)} ahead ({_utc(end)})",
        )


def check_reported(
    field: str, at: datetime, *, opened_at: datetime, now: datetime, skew: timedelta
) -> None:
    """Something the caller says happened at ``at`` (a confirmation, a consent): not before
    the case opened and not in the future; ``skew`` allows for clocks that disagree."""
    if at > now + skew:
        raise ImplausibleTime(
            field, f"{_utc(at)} is in the future (now {_utc(now)}, allowed skew {skew})"
        )
    if at < opened_at - skew:
        raise ImplausibleTime(field, f"{_utc(at)} is before the case opened ({_utc(opened_at)})")


def _utc(at: datetime) -> str:
    """``at`` in UTC when it has a UTC form, else as sent (year 1 at +23:59 has none)."""
    try:
        return at.astimezone(UTC).isoformat()
    except OverflowError:
        return at.isoformat()


def _days(span: timedelta) -> str:
    return "1 day" if span.days == 1 else f"{span.days} days"
