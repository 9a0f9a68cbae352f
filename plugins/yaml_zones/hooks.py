"""Registers the ``districts`` resolver: zones and their districts from a YAML file.

A regional partner defines its zones without code. The contract names the resolver and its
districts file (relative to the contract file's directory); the on-site tables price each
zone the file defines::

    zones:
      resolver: districts
      config:
        file: zones/qingdao.yaml
        default-zone: other        # optional: the file's fallback otherwise
    onsite:
      normal: {city: 2h, jiaozhou: 4h, pingdu: 6h, other: 12h}
      emergency: {city: 1h, jiaozhou: 2h, pingdu: 3h, other: 6h}

The address is searched for every district name (its key and ``names``; case, spaces,
punctuation and tone marks ignored); the longest match wins, then the earliest in the text.
Coordinates are not used: a partner who needs them (or other special logic) writes a plugin,
as ``weihai_zones`` does. Errors in the file are located (file:line:column). See docs/zones.md.
"""

from __future__ import annotations

from collections.abc import Callable

from core import hookimpl
from plugins.yaml_zones.resolver import NAME, Districts


@hookimpl
def register_zone_resolvers(register: Callable[..., None]) -> None:
    """``register("districts", Districts())``; each contract binds it to its own file."""
    register(NAME, Districts())
