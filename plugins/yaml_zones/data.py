"""A districts file: zone labels, the fallback zone and the districts with their names."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator
from typing import Annotated

import msgspec

from core.errors import Problem
from core.zones import Locate

Keyword = Annotated[str, msgspec.Meta(min_length=1)]


# Immutable; unknown keys are errors so a typo cannot silently drop a district.
class District(msgspec.Struct, frozen=True, forbid_unknown_fields=True, rename="kebab"):
    """A district's zone and the other names that recognise it (its key is one of them)."""

    zone: str
    names: list[Keyword] = []
    note: str | None = None


class DistrictsFile(msgspec.Struct, frozen=True, forbid_unknown_fields=True, rename="kebab"):
    """The whole file (docs/zones.md): ``zones`` (id → label), ``fallback``, ``districts``."""

    zones: dict[str, str]
    fallback: str
    districts: dict[str, District]


def normalize(text: str) -> str:
    """Case-, width-, space-, punctuation- and tone-mark-insensitive form used for matching:
    "Jiāozhōu Shì" → "jiaozhoushi", "胶州市，李哥庄" → "胶州市李哥庄"."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed.casefold() if ch.isalnum())


def check(data: DistrictsFile, locate: Locate) -> Iterator[Problem]:
    """Every semantic problem, located: unknown zones, a name listed twice, no zones."""
    if not data.zones:
        yield locate("$.zones", "no zones: list each zone id with its label")
    elif data.fallback not in data.zones:
        yield locate("$.fallback", f"unknown zone {data.fallback!r} (zones: {_ids(data)})")
    owner: dict[str, str] = {}
    for name, district in data.districts.items():
        at = f"$.districts.{name}"
        if district.zone not in data.zones:
            yield locate(f"{at}.zone", f"unknown zone {district.zone!r} (zones: {_ids(data)})")
        for where, word in [(at, name)] + [
            (f"{at}.names[{i}]", word) for i, word in enumerate(district.names)
        ]:
            text = normalize(word)
            if not text:
                yield locate(where, f"{word!r} has no letters or digits")
            elif text in owner:
                yield locate(where, f"{word!r} is already a name of {owner[text]}")
            else:
                owner[text] = name


def _ids(data: DistrictsFile) -> str:
    return ", ".join(data.zones)
