"""The zone data file (zones.yaml): its Structs, its semantic checks and the text normaliser."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Annotated

import msgspec

from core.errors import ContractError, Problem
from core.sources.yamlsource import YamlDoc, convert, parse

DATA_FILE = Path(__file__).with_name("zones.yaml")

Keyword = Annotated[str, msgspec.Meta(min_length=1)]
Lat = Annotated[float, msgspec.Meta(ge=-90, le=90)]
Lon = Annotated[float, msgspec.Meta(ge=-180, le=180)]


class _Base(msgspec.Struct, frozen=True, forbid_unknown_fields=True, rename="kebab"):
    """Immutable; unknown keys are errors so a typo cannot silently drop a district."""


class District(_Base):
    """A district (or development zone, or the 外地 pseudo-district) and how to recognise it.

    ``names`` are Weihai-only names; ``generic`` names also exist elsewhere in China and only
    count when no Weihai-only name matches. ``area`` is an approximate polygon of
    ``[lat, lon]`` corners (WGS-84), or empty when the district has no area of its own.
    """

    zone: str
    names: list[Keyword] = []
    generic: list[Keyword] = []
    area: list[tuple[Lat, Lon]] = []
    note: str | None = None


class ZoneData(_Base):
    """The whole file: zone labels, the fallback zone, Weihai's own names, the districts."""

    zones: dict[str, str]
    fallback: str
    districts: dict[str, District]
    weihai: list[Keyword] = []


def normalize(text: str) -> str:
    """Case-, width-, space-, punctuation- and tone-mark-insensitive form used for matching.

    "Róngchéng Shì" → "rongchengshi", "荣成市，石岛" → "荣成市石岛".
    """
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed.casefold() if ch.isalnum())


@cache
def load_data(path: Path = DATA_FILE) -> ZoneData:
    """Parse and check a zone file once per process; ContractError names file:line:column."""
    doc = parse(path)
    data = convert(doc, ZoneData)
    problems = list(check(doc, data))
    if problems:
        raise ContractError(problems)
    return data


def check(doc: YamlDoc, data: ZoneData) -> Iterator[Problem]:
    """Every semantic problem: unknown zones, degenerate areas, a keyword in two places."""
    if data.fallback not in data.zones:
        yield doc.problem("$.fallback", f"unknown zone {data.fallback!r}")
    owner: dict[str, str] = {}
    for name, district in data.districts.items():
        at = f"$.districts.{name}"
        if district.zone not in data.zones:
            yield doc.problem(f"{at}.zone", f"unknown zone {district.zone!r}")
        if 0 < len(district.area) < 3:
            yield doc.problem(f"{at}.area", "an area needs at least 3 corners")
        for key in ("names", "generic"):
            for i, word in enumerate(getattr(district, key)):
                text = normalize(word)
                where = f"{at}.{key}[{i}]"
                if not text:
                    yield doc.problem(where, f"{word!r} has no letters or digits")
                elif text in owner:
                    yield doc.problem(where, f"{word!r} is already a keyword of {owner[text]}")
                else:
                    owner[text] = name
