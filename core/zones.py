"""Sites and zones: where a device stands and which response-table row applies to it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

import msgspec


class Site(msgspec.Struct, frozen=True, kw_only=True):
    """A place to resolve: address text (Chinese or pinyin) and/or WGS-84 coordinates."""

    address: str | None = None
    lat: float | None = None
    lon: float | None = None


class ZoneMatch(msgspec.Struct, frozen=True, kw_only=True):
    """The zone a site is in and why (shown in SLA explanations)."""

    zone: str
    reason: str


class ZoneResolver(Protocol):
    """What a zone plugin registers: the zone ids it can return and the lookup itself."""

    zones: tuple[str, ...]
    """Every zone id ``resolve`` may return, the fallback (e.g. ``other``) included."""

    def resolve(self, site: Site, config: Mapping[str, Any] | None = None) -> ZoneMatch:
        """Resolve a site; ``config`` is the contract's override section for this resolver."""
        ...
