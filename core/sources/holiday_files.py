"""Holiday years from YAML files (``contracts/calendars/``), so admins add a year without a release.

One file holds one year document or a list of them (see docs/calendars.md)::

    region: CN
    year: 2027
    source: 国务院办公厅关于2027年部分节假日安排的通知
    holidays:
      - {date: 2027-01-01, name: New Year's Day 元旦}
      - {from: 2027-02-06, to: 2027-02-12, name: Spring Festival 春节}
    workdays:
      - 2027-02-14

Type errors (wrong types, unknown keys) stop at the first one per document, as msgspec does;
the semantic checks (entry shape, ``from`` after ``to``, dates outside the year, a day both
holiday and workday, a region-year defined twice) report every problem found.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import msgspec

from core.errors import ContractError, Problem
from core.holidays import HolidayYear
from core.sources.yamlsource import YamlDoc, convert, parse

SUFFIXES = (".yaml", ".yml")


class _Base(msgspec.Struct, frozen=True, forbid_unknown_fields=True, rename="kebab"):
    """Immutable; unknown keys are errors (a typo must not silently drop a holiday)."""


class DayEntry(_Base):
    """One day (``date``) or an inclusive range (``from`` .. ``to``), optionally named."""

    date: dt.date | None = None
    from_: dt.date | None = msgspec.field(default=None, name="from")
    to: dt.date | None = None
    name: Annotated[str, msgspec.Meta(min_length=1)] | None = None


# A bare date (``- 2027-02-14``) or a mapping.
Entry = dt.date | DayEntry


class CalendarYear(_Base):
    """One region's holidays and make-up workdays for one year.

    ``source`` is required: it cites the official notice and is shown in SLA explanations.
    """

    region: Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z][A-Za-z0-9_-]*$")]
    year: Annotated[int, msgspec.Meta(ge=1900, le=2999)]
    source: Annotated[str, msgspec.Meta(min_length=1)]
    holidays: list[Entry] = []
    workdays: list[Entry] = []


@dataclass(frozen=True, slots=True)
class _Loaded:
    """A validated year with where it came from (to report a duplicate region-year)."""

    year: HolidayYear
    doc: YamlDoc
    at: str


def load_holiday_file(path: Path | str) -> list[HolidayYear]:
    """Every year in one file; ContractError lists all problems with file:line:column."""
    loaded, problems = _read_file(Path(path))
    problems.extend(_duplicates(loaded))
    if problems:
        raise ContractError(problems)
    return [item.year for item in loaded]


def load_holiday_dir(directory: Path) -> list[HolidayYear]:
    """Every year in ``*.yaml``/``*.yml`` directly under ``directory``, in file-name order.

    A missing directory holds no years. Problems of all files are reported together; a
    region-year defined in two files is an error (which should win would be a guess).
    """
    directory = Path(directory)
    if not directory.exists():
        return []
    if not directory.is_dir():
        raise ContractError([Problem(str(directory), None, None, "$", "not a directory")])
    loaded: list[_Loaded] = []
    problems: list[Problem] = []
    for path in sorted(p for p in directory.iterdir() if p.suffix in SUFFIXES and p.is_file()):
        try:
            found, file_problems = _read_file(path)
        except ContractError as exc:  # unreadable file or YAML syntax error
            problems.extend(exc.problems)
            continue
        loaded.extend(found)
        problems.extend(file_problems)
    problems.extend(_duplicates(loaded))
    if problems:
        raise ContractError(problems)
    return [item.year for item in loaded]


def _read_file(path: Path) -> tuple[list[_Loaded], list[Problem]]:
    """The valid years of a file and the problems of the others (syntax errors raise)."""
    doc = parse(path)
    documents, problems = _documents(doc)
    loaded: list[_Loaded] = []
    for at, data in documents:
        try:
            spec = convert(doc, CalendarYear, path=at, data=data)
        except ContractError as exc:
            problems.extend(exc.problems)
            continue
        found = list(_check(doc, spec, at))
        if found:
            problems.extend(found)
        else:
            loaded.append(_Loaded(_to_year(spec, path), doc, at))
    return loaded, problems


def _documents(doc: YamlDoc) -> tuple[list[tuple[str, Any]], list[Problem]]:
    """``("$", mapping)`` for a one-year file, ``("$[i]", mapping)`` per item of a list."""
    shape = "expected a year mapping (region, year, source, holidays, workdays) or a list of them"
    if isinstance(doc.data, dict):
        return [("$", doc.data)], []
    if not isinstance(doc.data, list) or not doc.data:
        return [], [doc.problem("$", shape)]
    documents = [(f"$[{i}]", item) for i, item in enumerate(doc.data) if isinstance(item, dict)]
    problems = [
        doc.problem(f"$[{i}]", shape)
        for i, item in enumerate(doc.data)
        if not isinstance(item, dict)
    ]
    return documents, problems


def _check(doc: YamlDoc, spec: CalendarYear, at: str) -> Iterator[Problem]:
    """Every semantic problem of one year document."""
    holiday_at: dict[dt.date, str] = {}
    for i, entry in enumerate(spec.holidays):
        where = f"{at}.holidays[{i}]"
        yield from (doc.problem(p, m) for p, m in _entry_problems(entry, where, spec.year))
        for day in _days(entry):
            holiday_at.setdefault(day, where)
    for i, entry in enumerate(spec.workdays):
        where = f"{at}.workdays[{i}]"
        yield from (doc.problem(p, m) for p, m in _entry_problems(entry, where, spec.year))
        for day in _days(entry):
            if day in holiday_at:
                yield doc.problem(
                    where, f"{day} is both a workday and a holiday (at {holiday_at[day]})"
                )


def _entry_problems(entry: Entry, where: str, year: int) -> Iterator[tuple[str, str]]:
    """(yaml path, message) for a malformed entry or a date outside ``year``."""
    if isinstance(entry, dt.date):
        if entry.year != year:
            yield where, f"{entry} is not in {year}"
        return
    if entry.date is not None and (entry.from_ is not None or entry.to is not None):
        yield where, "give either date or from/to, not both"
        return
    if entry.date is None and entry.from_ is None and entry.to is None:
        yield where, "needs date, or from and to"
        return
    if entry.date is None and (entry.from_ is None or entry.to is None):
        missing = "to" if entry.to is None else "from"
        yield where, f"a range needs both from and to ({missing} is missing)"
        return
    for key, day in (("date", entry.date), ("from", entry.from_), ("to", entry.to)):
        if day is not None and day.year != year:
            yield f"{where}.{key}", f"{day} is not in {year}"
    if entry.from_ is not None and entry.to is not None and entry.from_ > entry.to:
        yield f"{where}.to", f"to {entry.to} is before from {entry.from_}"


def _days(entry: Entry) -> list[dt.date]:
    """The dates an entry covers; empty for a malformed one (already reported)."""
    if isinstance(entry, dt.date):
        return [entry]
    if entry.date is not None:
        return [entry.date]
    if entry.from_ is None or entry.to is None:
        return []
    span = (entry.to - entry.from_).days
    return [entry.from_ + dt.timedelta(days=n) for n in range(span + 1)]


def _to_year(spec: CalendarYear, path: Path) -> HolidayYear:
    return HolidayYear(
        region=spec.region.upper(),
        year=spec.year,
        holidays=frozenset(d for e in spec.holidays for d in _days(e)),
        workdays=frozenset(d for e in spec.workdays for d in _days(e)),
        source=f"{spec.source} [{path.name}]",
        names=_names([*spec.holidays, *spec.workdays]),
    )


def _names(entries: Iterable[Entry]) -> tuple[tuple[dt.date, str], ...]:
    # Overlapping named entries (中秋 inside 国庆) give one "A / B" name per day.
    names: dict[dt.date, list[str]] = {}
    for entry in entries:
        if isinstance(entry, DayEntry) and entry.name:
            for day in _days(entry):
                if entry.name not in names.setdefault(day, []):
                    names[day].append(entry.name)
    return tuple(sorted((day, " / ".join(parts)) for day, parts in names.items()))


def _duplicates(loaded: Iterable[_Loaded]) -> Iterator[Problem]:
    first: dict[tuple[str, int], _Loaded] = {}
    for item in loaded:
        key = (item.year.region, item.year.year)
        if key in first:
            earlier = first[key]
            line, _ = earlier.doc.locate(f"{earlier.at}.year")
            yield item.doc.problem(
                f"{item.at}.year",
                f"{key[0]} {key[1]} is already defined in {earlier.doc.file}:{line}",
            )
        else:
            first[key] = item
