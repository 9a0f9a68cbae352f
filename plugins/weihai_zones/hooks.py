"""Registers the ``weihai_zones`` resolver: 市内 (city), 文登, 荣成, 乳山 or other for a site.

Resolution, most trusted first (the reason says which rule decided):

1. The address, when it names a district, town or development zone from ``zones.yaml``
   (Chinese or pinyin; case, spaces, punctuation and tone marks ignored). A Weihai-only name
   beats a generic one (``文登区经济开发区`` → wendeng), then the longest match wins
   (``荣成市石岛管理区`` → 石岛管理区), then the earliest in the text. The address wins over
   coordinates; the reason says whether the coordinates agree.
2. The coordinates (WGS-84 lat/lon) inside an approximate district outline; outside every
   outline → ``other``.
3. Otherwise ``default-zone`` (``other`` unless the contract says so). "山东省威海市" alone
   names the prefecture, not a district: it is *not* assumed to be city proper.

A contract overrides the shipped data with its section for this resolver (kebab-case keys)::

    default-zone: other          # zone of a site nothing recognises
    districts:                   # move a shipped district (keywords and area) to a zone
      临港区: other
    extra:                       # add Weihai-only keywords
      威海国际物流园: city

Unknown districts or zones in that section are a PluginError naming this plugin. See
docs/zones.md for the district lists and how approximate the outlines are.
"""

from __future__ import annotations

from collections.abc import Callable

from core import hookimpl
from plugins.weihai_zones.resolver import WeihaiZones


@hookimpl
def register_zone_resolvers(register: Callable[..., None]) -> None:
    """``register("weihai_zones", WeihaiZones)`` with the data shipped beside this module."""
    register("weihai_zones", WeihaiZones.load())
