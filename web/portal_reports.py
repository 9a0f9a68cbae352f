"""The customer's reports on the portal (filled in once customer reports have landed)."""

from __future__ import annotations

from datetime import datetime

from core.runtime import Runtime


def report_links(runtime: Runtime, customer_id: str, now: datetime) -> list[dict[str, str]]:
    """The reports the customer may download: none yet."""
    return []


PORTAL_REPORT_ROUTES: list[object] = []
