"""How the console shows times: instants on the desk's time zone, business time left as
hours and minutes (negative: overdue), and the values a page's tables need."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from web.i18n import Translator

_INSTANT = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d(\.\d+)?)?(Z|[+-]\d\d:\d\d)")


class Formats:
    """Formatting helpers a console template gets as ``fmt``."""

    def __init__(self, tz: str, t: Translator) -> None:
        self.zone = ZoneInfo(tz)
        self.t = t

    def when(self, value: datetime | str | None) -> str:
        """``2026-12-05 14:30`` on the desk's time zone ("" for None)."""
        if value is None:
            return ""
        if isinstance(value, str):
            try:
                value = datetime.fromisoformat(value)
            except ValueError:
                return str(value)
        return value.astimezone(self.zone).strftime("%Y-%m-%d %H:%M")

    def left(self, seconds: int | None) -> str:
        """Business time left: ``3 h 05 min``, or ``overdue 1 h 10 min``; "" when unknown."""
        if seconds is None:
            return ""
        minutes = abs(seconds) // 60
        text = self.t("hours_minutes", h=minutes // 60, m=f"{minutes % 60:02d}")
        return self.t("overdue_by", time=text) if seconds < 0 else text

    def payload(self, payload: dict[str, Any]) -> list[tuple[str, str]]:
        """An event's payload as short ``key: value`` pairs for the timeline."""
        pairs: list[tuple[str, str]] = []
        for key, value in payload.items():
            if key in ("type", "planned", "skipped") or value in (None, "", [], {}):
                continue
            text = self._value(value)
            pairs.append((key, text if len(text) <= 200 else text[:199] + "…"))
        return pairs

    def _value(self, value: Any) -> str:
        """A payload value as text: instants on the desk's zone, a clock snapshot as its
        rule, other objects as their non-empty values."""
        if isinstance(value, dict):
            if "rule" in value:
                return f"{value.get('kind', '')} {value.get('state', '')}: {value['rule']}"
            return ", ".join(self._value(v) for v in value.values() if v not in (None, "", [], {}))
        if isinstance(value, list):
            return ", ".join(self._value(v) for v in value)
        if isinstance(value, str) and _INSTANT.fullmatch(value):
            return self.when(value)
        return str(value)
