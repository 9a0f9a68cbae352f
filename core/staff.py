"""The staff directory (contracts/staff/staff.yaml): our people, their roles, the duty rota."""

from __future__ import annotations

import re
import threading
from bisect import bisect_right
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime
from itertools import pairwise
from pathlib import Path
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from msgspec import Meta
from msgspec import field as msgspec_field

from core.case import STAFF_ROLES, Role, StaffRoleName
from core.contract import Base, DaysText, Identifier, default_calendars
from core.contract_calendars import parse_days
from core.errors import ContractError, NaiveDatetimeError, Problem
from core.phones import contact_problems
from core.sources.yamlsource import YamlDoc, convert, parse

__all__ = [
    "STAFF_FILE",
    "STAFF_ROLES",
    "Override",
    "Person",
    "Rota",
    "Shift",
    "StaffDirectory",
    "StaffError",
    "cached_staff",
    "load_staff",
    "staff_path",
]

# Beside the contracts but in a folder of its own: every *.yaml directly in contracts/ is
# read as a contract (core.sources.contracts) and checked as one (tests/test_contract_files.py).
STAFF_FILE = Path("contracts") / "staff" / "staff.yaml"

ClockText = Annotated[
    str,
    Meta(
        pattern=r"^\s*(([01][0-9]|2[0-3]):[0-5][0-9]|24:00)\s*$",
        description="a time of day HH:MM (24:00 only as an end)",
        examples=["08:30", "17:30", "24:00"],
    ),
]
InstantText = Annotated[
    str,
    Meta(
        pattern=r"^\s*[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}(:[0-9]{2})?"
        r"(Z|[+-][0-9]{2}:[0-9]{2})\s*$",
        description="a date and time with its UTC offset, YYYY-MM-DDTHH:MM+08:00",
        examples=["2026-10-01T08:30+08:00"],
    ),
]
# Checked after decoding, so the message can say what was expected (msgspec's pattern errors on
# an optional field only quote the regex). Phone numbers: core.phones.
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")

WEEK_MINUTES = 7 * 24 * 60
_DAY_MINUTES = 24 * 60
_DAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
# Calendars every contract knows (core.contract.default_calendars); a person's calendar is
# looked up in the contract of the case at send time, so only these names are safe here.
KNOWN_CALENDARS: frozenset[str] = frozenset(default_calendars())


class StaffError(ContractError):
    """The staff directory file is invalid; ``problems`` lists every one found."""

    title = "invalid staff directory"


# --- the file's shape ------------------------------------------------------------------------


class Person(Base, kw_only=True):
    """One of our people: how to reach them, what they do, when they may be disturbed."""

    id: Identifier
    name: str
    roles: Annotated[list[StaffRoleName], Meta(min_length=1)]
    phone: str | None = None
    mobile: str | None = None  # quoted: an unquoted number is read as an integer
    email: str | None = None
    locale: Literal["zh", "en"] = "zh"
    # notices outside this calendar wait for its next opening unless urgent (docs/escalation.md)
    calendar: str = "working-hours"


class Shift(Base, kw_only=True):
    """A weekly rota entry: on ``days``, from ``from`` to ``to`` local time, ``engineer`` is on
    duty. A ``to`` not after ``from`` ends on the next day (17:30 → 08:30 is a night shift;
    08:30 → 08:30 a 24-hour shift)."""

    days: DaysText
    from_: ClockText = msgspec_field(name="from")
    to: ClockText
    engineer: Identifier
    note: str | None = None


class Override(Base, kw_only=True):
    """A dated exception to the weekly pattern (holiday duty, sick leave): [from, to)."""

    from_: InstantText = msgspec_field(name="from")
    to: InstantText
    engineer: Identifier
    note: str | None = None


class Rota(Base, kw_only=True):
    """Who is on duty: a weekly pattern that covers every minute, and dated overrides.

    ``zones``: on-site engineers by response zone (``rongcheng``: who goes to Rongcheng
    sites when). Each zone's shifts may leave gaps but not overlap; where a zone has no shift
    (or no entry), the on-duty engineer of ``weekly``/``overrides`` goes (docs/onsite.md).
    """

    tz: str = "Asia/Shanghai"
    weekly: Annotated[list[Shift], Meta(min_length=1)]
    overrides: list[Override] = msgspec_field(default_factory=list)
    zones: dict[Identifier, list[Shift]] = msgspec_field(default_factory=dict)


class StaffFile(Base, kw_only=True):
    """The whole directory file."""

    people: Annotated[list[Person], Meta(min_length=1)]
    rota: Rota


# --- the loaded directory --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Piece:
    """A stretch of the week in minutes since Monday 00:00, [start, end), from one entry."""

    start: int
    end: int
    entry: int
    engineer: str


@dataclass(frozen=True)
class StaffDirectory:
    """The checked directory: lookups by id, name and role, and who is on duty when."""

    file: str
    people: tuple[Person, ...]
    tz: ZoneInfo
    weekly: tuple[_Piece, ...]  # sorted, gap-free and non-overlapping over the whole week
    overrides: tuple[tuple[datetime, datetime, str], ...]  # sorted, non-overlapping
    # zone → its on-site shifts, sorted and non-overlapping (gaps allowed)
    zone_weekly: dict[str, tuple[_Piece, ...]] = field(default_factory=dict)
    _by_id: dict[str, Person] = field(init=False, repr=False, compare=False)
    _starts: list[int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_id", {p.id: p for p in self.people})
        object.__setattr__(self, "_starts", [piece.start for piece in self.weekly])

    def person(self, key: str) -> Person | None:
        """The person with id ``key``, else the only one named ``key`` (None if none/several)."""
        if key in self._by_id:
            return self._by_id[key]
        named = [p for p in self.people if p.name == key]
        return named[0] if len(named) == 1 else None

    def match(self, name: str, email: str | None = None) -> Person | None:
        """The directory entry for someone a contract names: by e-mail first, then by name."""
        if email:
            for person in self.people:
                if person.email and person.email.casefold() == email.casefold():
                    return person
        return self.person(name)

    def people_with(self, role: str) -> list[Person]:
        """Everyone holding ``role``, in file order."""
        return [p for p in self.people if role in p.roles]

    def zone_duty(self, at: datetime, zone: str) -> Person | None:
        """The on-site engineer of ``zone`` at ``at`` (the rota's ``zones``), or None when
        the zone has no shift then."""
        if at.tzinfo is None or at.utcoffset() is None:
            raise NaiveDatetimeError("zone_duty needs a datetime with a time zone")
        local = at.astimezone(self.tz)
        minute = local.weekday() * _DAY_MINUTES + local.hour * 60 + local.minute
        for piece in self.zone_weekly.get(zone, ()):
            if piece.start <= minute < piece.end:
                return self._by_id[piece.engineer]
        return None

    def on_duty(self, at: datetime, zone: str | None = None) -> Person:
        """The engineer on duty at ``at``: with ``zone``, that zone's on-site shift when one
        covers ``at``; else a dated override, else the weekly pattern in the rota's local
        time (the pattern covers every minute, checked at load)."""
        if at.tzinfo is None or at.utcoffset() is None:
            raise NaiveDatetimeError("on_duty needs a datetime with a time zone")
        if zone is not None and (field_engineer := self.zone_duty(at, zone)) is not None:
            return field_engineer
        local = at.astimezone(self.tz)
        minute = local.weekday() * _DAY_MINUTES + local.hour * 60 + local.minute
        for start, end, engineer in self.overrides:
            if start <= at < end:
                return self._by_id[engineer]
        piece = self.weekly[bisect_right(self._starts, minute) - 1]
        return self._by_id[piece.engineer]


# --- loading ---------------------------------------------------------------------------------


# msgspec builds a type's decoder on first use and can crash (SIGSEGV) when two threads do it
# at once: the directory is loaded one thread at a time, and parsed again only when it changed
_LOCK = threading.Lock()
_CACHE: dict[Path, tuple[tuple[int, int], StaffDirectory]] = {}


def staff_path(contracts_dir: str | Path) -> Path:
    """Where the staff directory lives beside a contracts folder."""
    return Path(contracts_dir) / "staff" / "staff.yaml"


def cached_staff(path: Path) -> StaffDirectory | None:
    """The directory at ``path``, re-read only when the file changed; None when there is no
    file. An invalid file raises StaffError."""
    if not path.is_file():
        return None
    with _LOCK:
        stat = path.stat()
        stamp = (stat.st_mtime_ns, stat.st_size)
        cached = _CACHE.get(path)
        if cached is None or cached[0] != stamp:
            cached = _CACHE[path] = (stamp, load_staff(path))
        return cached[1]


def load_staff(
    path: Path | str = STAFF_FILE, *, calendars: Collection[str] = KNOWN_CALENDARS
) -> StaffDirectory:
    """Read and check the directory; raises StaffError listing every problem with
    file:line:column. ``calendars`` are the names a person's ``calendar`` may use."""
    try:
        doc = parse(path)
        staff = convert(doc, StaffFile)
    except ContractError as exc:
        raise StaffError(exc.problems) from exc
    problems: list[Problem] = []
    people = _check_people(doc, staff.people, calendars, problems)
    tz = _zone(doc, staff.rota.tz, problems)
    weekly = _weekly(doc, staff.rota.weekly, people, problems)
    overrides = _overrides(doc, staff.rota.overrides, people, problems)
    zone_weekly = {
        zone: tuple(_zone_shifts(doc, zone, shifts, people, problems))
        for zone, shifts in staff.rota.zones.items()
    }
    if problems:
        problems.sort(key=lambda p: (p.line or 0, p.column or 0))
        raise StaffError(problems)
    return StaffDirectory(
        doc.file, tuple(staff.people), tz, tuple(weekly), tuple(overrides), zone_weekly
    )


def _check_people(
    doc: YamlDoc, people: list[Person], calendars: Collection[str], problems: list[Problem]
) -> dict[str, Person]:
    by_id: dict[str, Person] = {}
    for i, person in enumerate(people):
        if person.id in by_id:
            first = doc.locate(f"$.people[{people.index(by_id[person.id])}].id")[0]
            problems.append(
                doc.problem(
                    f"$.people[{i}].id",
                    f"duplicate person id {person.id!r} (first at line {first})",
                )
            )
        else:
            by_id[person.id] = person
        problems += _phone_problems(doc, f"$.people[{i}]", person)
        if person.email is not None and not EMAIL.match(person.email):
            message = f"expected an e-mail address; got {person.email!r}"
            problems.append(doc.problem(f"$.people[{i}].email", message))
        if person.calendar not in calendars:
            known = ", ".join(sorted(calendars))
            problems.append(
                doc.problem(
                    f"$.people[{i}].calendar",
                    f"unknown calendar {person.calendar!r} (expected one of: {known})",
                )
            )
    return by_id


def _phone_problems(doc: YamlDoc, path: str, person: Person) -> list[Problem]:
    """``phone`` must be a valid number, ``mobile`` one that can take an SMS (core.phones)."""
    pairs = contact_problems(person.phone, person.mobile)
    return [doc.problem(f"{path}.{key}", message) for key, message in pairs]


def _zone(doc: YamlDoc, name: str, problems: list[Problem]) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        problems.append(doc.problem("$.rota.tz", f"unknown time zone {name!r}"))
        return ZoneInfo("Asia/Shanghai")


def _engineer_message(key: str, people: dict[str, Person]) -> str | None:
    person = people.get(key)
    if person is None:
        return f"unknown person {key!r} (not in people)"
    if Role.ENGINEER not in person.roles:
        return f"{key!r} is not an engineer (roles: {', '.join(person.roles)})"
    return None


def _minutes(text: str) -> int:
    hours, _, minutes = text.strip().partition(":")
    return int(hours) * 60 + int(minutes)


def _zone_shifts(
    doc: YamlDoc,
    zone: str,
    shifts: list[Shift],
    people: dict[str, Person],
    problems: list[Problem],
) -> list[_Piece]:
    """One zone's on-site shifts: engineers known, no two shifts at once (gaps allowed)."""
    pieces = _pieces(doc, f"$.rota.zones.{zone}", shifts, people, problems)
    for earlier, later in pairwise(pieces):
        if later.start < earlier.end:
            other = shifts[earlier.entry]
            until = _when(min(earlier.end, later.end))
            problems.append(
                doc.problem(
                    f"$.rota.zones.{zone}[{later.entry}]",
                    f"overlaps {zone}[{earlier.entry}] ({other.days} {other.from_}-{other.to}, "
                    f"{other.engineer}) on {_when(later.start)}-{until}",
                )
            )
    return pieces


def _weekly(
    doc: YamlDoc, shifts: list[Shift], people: dict[str, Person], problems: list[Problem]
) -> list[_Piece]:
    """The week cut into pieces per entry; overlaps and gaps are problems."""
    pieces = _pieces(doc, "$.rota.weekly", shifts, people, problems)
    problems += _coverage_problems(doc, shifts, pieces)
    return pieces


def _pieces(
    doc: YamlDoc, at: str, shifts: list[Shift], people: dict[str, Person], problems: list[Problem]
) -> list[_Piece]:
    """Shifts cut into sorted pieces of the week; an unknown engineer or a 24:00 start is a
    problem at ``at[i]``."""
    pieces: list[_Piece] = []
    for i, shift in enumerate(shifts):
        base = f"{at}[{i}]"
        message = _engineer_message(shift.engineer, people)
        if message:
            problems.append(doc.problem(f"{base}.engineer", message))
        start, end = _minutes(shift.from_), _minutes(shift.to)
        if start == _DAY_MINUTES:
            problems.append(doc.problem(f"{base}.from", "a shift cannot start at 24:00"))
            continue
        length = (end - start) % _DAY_MINUTES or _DAY_MINUTES
        for day in parse_days(shift.days):
            first = day * _DAY_MINUTES + start
            last = first + length
            # a Sunday night shift runs into Monday morning: split it at the week's end
            if last > WEEK_MINUTES:
                pieces.append(_Piece(first, WEEK_MINUTES, i, shift.engineer))
                pieces.append(_Piece(0, last - WEEK_MINUTES, i, shift.engineer))
            else:
                pieces.append(_Piece(first, last, i, shift.engineer))
    pieces.sort(key=lambda p: (p.start, p.end))
    return pieces


def _coverage_problems(doc: YamlDoc, shifts: list[Shift], pieces: list[_Piece]) -> list[Problem]:
    """Every minute of the week needs exactly one engineer."""
    problems: list[Problem] = []
    reported: set[tuple[int, int]] = set()
    gaps: list[tuple[int, int, int | None]] = []  # start, end, entry ending at the gap
    cursor, last_entry, latest = 0, None, None
    for piece in pieces:
        if piece.start > cursor:
            gaps.append((cursor, piece.start, last_entry))
        elif piece.start < cursor and latest is not None:
            pair = (min(latest.entry, piece.entry), max(latest.entry, piece.entry))
            if pair not in reported:  # one report per pair of entries, not per day
                reported.add(pair)
                problems.append(_overlap(doc, shifts, latest, piece, min(cursor, piece.end)))
        if piece.end > cursor:
            cursor, last_entry, latest = piece.end, piece.entry, piece
    if cursor < WEEK_MINUTES:
        gaps.append((cursor, WEEK_MINUTES, last_entry))
    # a gap across Sunday midnight shows up at both ends of the week: report it once
    if len(gaps) >= 2 and gaps[0][0] == 0 and gaps[-1][1] == WEEK_MINUTES:
        head, tail = gaps.pop(0), gaps.pop()
        gaps.append((tail[0], head[1] + WEEK_MINUTES, tail[2]))
    for start, end, entry in gaps:
        path = "$.rota.weekly" if entry is None else f"$.rota.weekly[{entry}].to"
        problems.append(
            doc.problem(path, f"gap in the rota: nobody on duty {_when(start)}-{_when(end)}")
        )
    return problems


def _overlap(
    doc: YamlDoc, shifts: list[Shift], earlier: _Piece, later: _Piece, until: int
) -> Problem:
    other = shifts[earlier.entry]
    return doc.problem(
        f"$.rota.weekly[{later.entry}]",
        f"overlaps weekly[{earlier.entry}] ({other.days} {other.from_}-{other.to}, "
        f"{other.engineer}) on {_when(later.start)}-{_when(until)}",
    )


def _when(minute: int) -> str:
    minute %= WEEK_MINUTES
    day, rest = divmod(minute, _DAY_MINUTES)
    return f"{_DAY_NAMES[day]} {rest // 60:02d}:{rest % 60:02d}"


def _overrides(
    doc: YamlDoc, overrides: list[Override], people: dict[str, Person], problems: list[Problem]
) -> list[tuple[datetime, datetime, str]]:
    spans: list[tuple[datetime, datetime, str, int]] = []
    for i, override in enumerate(overrides):
        base = f"$.rota.overrides[{i}]"
        message = _engineer_message(override.engineer, people)
        if message:
            problems.append(doc.problem(f"{base}.engineer", message))
        try:
            start = datetime.fromisoformat(override.from_.strip().replace("Z", "+00:00"))
        except ValueError as exc:
            problems.append(doc.problem(f"{base}.from", f"not a valid date and time: {exc}"))
            continue
        try:
            end = datetime.fromisoformat(override.to.strip().replace("Z", "+00:00"))
        except ValueError as exc:
            problems.append(doc.problem(f"{base}.to", f"not a valid date and time: {exc}"))
            continue
        if end <= start:
            problems.append(doc.problem(f"{base}.to", f"ends at {end} before it starts at {start}"))
            continue
        spans.append((start, end, override.engineer, i))
    spans.sort()
    for (_s1, end1, _e1, i1), (start2, _e2, _n2, i2) in pairwise(spans):
        if start2 < end1:
            problems.append(
                doc.problem(f"$.rota.overrides[{i2}].from", f"overlaps overrides[{i1}]")
            )
    return [(start, end, engineer) for start, end, engineer, _i in spans]
