"""Every /api/v1 route handler, in one list for the app factory."""

from __future__ import annotations

from typing import Any

API_ROUTES: list[Any] = []
