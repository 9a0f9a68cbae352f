"""Sites and zones: where a device stands and which response-table row applies to it."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Protocol, TypeVar

import msgspec

from core.errors import Problem

T = TypeVar("T")


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


Locate = Callable[[str, str], Problem]
"""``locate(yaml_path, message)``: a Problem at file:line:column of a data file's YAML path."""


class DataReader(Protocol):
    """Reads a YAML data file a contract names, for a resolver bound to that contract.

    ``name`` is relative to the contract file's directory (or absolute). Returns the file
    decoded as ``type_`` and a ``Locate`` for the resolver's own semantic problems. A file
    that is missing raises ValueError; one that is not valid YAML or not ``type_`` raises
    ContractError with located problems.
    """

    def __call__(self, name: str, type_: type[T]) -> tuple[T, Locate]: ...


def for_contract(
    resolver: ZoneResolver, config: Mapping[str, Any], read: DataReader
) -> ZoneResolver:
    """The resolver a contract uses: ``resolver.for_contract(config, read)`` when the plugin
    offers it (a resolver whose data is a file the contract names), else ``resolver``.

    ``for_contract`` raises ContractError with problems located in the data file, or
    PluginError/ValueError for the contract's config section.
    """
    bind = getattr(resolver, "for_contract", None)
    return resolver if bind is None else bind(config, read)
