"""Deadlines from a contract: pure functions returning the due time and the rule behind it."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta, tzinfo
from typing import TYPE_CHECKING, Any, get_args

from core.contract import (
    ArrivalRule,
    ClockKind,
    Device,
    Duration,
    ShipRule,
    SupportPlan,
    Target,
    TargetRule,
    parse_duration,
)
from core.errors import NaiveDatetimeError, SlaError

if TYPE_CHECKING:
    from core.calendar import Calendar
    from core.loaded import LoadedContract


@dataclass(frozen=True, slots=True)
class Deadline:
    """A clock's deadline: when it started, when it is due, and the readable rule behind it."""

    kind: str
    start: datetime
    due: datetime
    target: str  # e.g. "30m on duty"
    calendar: str
    rule: str  # e.g. "received Wed 10:15 while working-hours is open → 30m on duty"
    # years whose holidays were planned from the statutory rules (no published data yet):
    # the deadline is provisional and is re-planned when the real data arrives
    provisional: tuple[int, ...] = ()


# --- the target → deadline arithmetic ------------------------------------------------------------


def _aware(moment: datetime, what: str) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise NaiveDatetimeError(f"{what} must carry a time zone (got naive {moment.isoformat()})")
    return moment


def _fmt(moment: datetime, tz: tzinfo) -> str:
    """``moment`` as the wall time of ``tz`` (the rule's calendar zone): a rule text never mixes
    zones, whatever zone the caller's instant carries."""
    return moment.astimezone(tz).strftime("%Y-%m-%d %H:%M %a")


def due_after(
    lc: LoadedContract,
    calendar_name: str,
    duration: Duration,
    start: datetime,
    *,
    weekdays_only: bool = False,
) -> tuple[datetime, str]:
    """Apply one duration on a named calendar; returns (due, how it was counted)."""
    cal = lc.calendar(calendar_name, weekdays_only=weekdays_only)
    if duration.is_open_time:
        due = cal.add(start, duration.timedelta)
        note = f"{duration} of open time on {calendar_name}"
    elif duration.unit == "d":
        due = _calendar_days(cal, start, duration.amount)
        note = f"{duration.amount} calendar days"
    else:
        due = end_of_business_day(cal, cal.business_day(start, duration.amount))
        note = (
            f"end of business day {duration.amount} after {start.astimezone(cal.tz):%Y-%m-%d} "
            f"on {calendar_name}"
        )
    skipped = closed_days_note(
        lc,
        calendar_name,
        start.astimezone(cal.tz).date(),
        due.astimezone(cal.tz).date(),
        weekdays_only=weekdays_only,
    )
    return due, note + skipped


def _calendar_days(cal: Calendar, start: datetime, days: int) -> datetime:
    """The same local wall time ``days`` later (DST-safe through zoneinfo)."""
    local = start.astimezone(cal.tz)
    wall = local.replace(tzinfo=None) + timedelta(days=days)
    return wall.replace(tzinfo=cal.tz)


def end_of_business_day(cal: Calendar, day: date) -> datetime:
    """Close of the last open span that starts on ``day``."""
    spans = cal.spans_on(day)
    if not spans:
        raise SlaError(f"{day} is not a business day on calendar {cal.name}")
    return spans[-1][1]


def pick_target(lc: LoadedContract, rule: TargetRule, at: datetime) -> tuple[Target, str]:
    """First target of a rule whose arrival condition holds at ``at``; returns it and why."""
    passed: list[str] = []  # conditions that did not hold, to explain the fallback
    for target in rule if isinstance(rule, list) else [rule]:
        if target.when_open is not None:
            if not lc.calendar(target.when_open).is_open(at):
                passed.append(f"{target.when_open} is closed")
                continue
            return target, f"{target.when_open} is open"
        if target.when_closed is not None:
            if lc.calendar(target.when_closed).is_open(at):
                passed.append(f"{target.when_closed} is open")
                continue
            return target, f"{target.when_closed} is closed"
        return target, " and ".join(passed)
    raise SlaError(f"no target applies at {at.isoformat()}: every target has a condition")


def _conditions(rule: TargetRule, chosen: Target) -> tuple[str, ...]:
    """The calendars whose opening at the start decided which target applies."""
    names: list[str] = []
    for target in rule if isinstance(rule, list) else [rule]:
        condition = target.when_open or target.when_closed
        if condition is not None:
            names.append(condition)
        if target is chosen:
            break
    return tuple(names)


def _for_priority(table: Mapping[str, TargetRule], priority: str, what: str) -> TargetRule:
    rule = table.get(priority) or table.get("default")
    if rule is None:
        raise SlaError(f"the contract sets no {what} target for {priority} and no default")
    return rule


def deadline_from_rule(
    lc: LoadedContract, kind: str, rule: TargetRule, start: datetime, verb: str
) -> Deadline:
    """Pick the applicable target of ``rule`` at ``start`` and compute its deadline."""
    start = _aware(start, verb)
    target, condition = pick_target(lc, rule, start)
    due, counted = due_after(lc, target.calendar, target.duration, start)
    tz = lc.calendar(target.calendar).tz
    why = f"{verb} {_fmt(start, tz)}"
    if condition:
        why += f" while {condition}"
    found = Deadline(
        kind=kind,
        start=start,
        due=due,
        target=f"{target.within} on {target.calendar}",
        calendar=target.calendar,
        rule=f"{why} → {counted}: due {_fmt(due, tz)}",
    )
    return with_horizon(lc, found, asked_at_start=_conditions(rule, target))


# --- one function per clock ----------------------------------------------------------------------


AGREED_TIME = "the agreed time"  # the target of a request taken at a time agreed with the customer


def first_response(
    lc: LoadedContract,
    *,
    priority: str,
    received_at: datetime,
    request_type: str | None = None,
    agreed_at: datetime | None = None,
) -> Deadline:
    """Response: from receiving the request to agreeing the service content (R-RESP).

    A request type with its own rule in ``request-response`` (a consultation: "在工作时间或
    客户约定的时间内", R-CAT) is taken at the time agreed with the customer when there is one
    (``agreed_at``), else by its own rule (working hours); any other request runs on the
    priority table ``response``.
    """
    plan = active_plan(lc, _aware(received_at, "received"))
    if plan is not None and plan.response.first_response is not None:
        planned = Target(within=plan.response.first_response, calendar="duty")
        verb = f"support plan {plan.id} ({plan.from_}..{plan.to}): {priority} received"
        return deadline_from_rule(lc, "first_response", planned, received_at, verb)
    own = lc.contract.request_response.get(request_type) if request_type else None  # type: ignore[call-overload]
    if own is not None:
        verb = f"{priority} {request_type} received"
        if agreed_at is not None and agreed_at > received_at:
            return _agreed_response(lc, own, received_at, agreed_at, verb)
        return deadline_from_rule(lc, "first_response", own, received_at, verb)
    rule = _for_priority(lc.contract.response, priority, "response")
    return deadline_from_rule(lc, "first_response", rule, received_at, f"{priority} received")


def _agreed_response(
    lc: LoadedContract, rule: TargetRule, received_at: datetime, agreed_at: datetime, verb: str
) -> Deadline:
    """Taken at the time agreed with the customer: due then (shown in the rule's zone)."""
    received_at = _aware(received_at, verb)
    calendar = pick_target(lc, rule, received_at)[0].calendar
    tz = lc.calendar(calendar).tz
    return Deadline(
        kind="first_response",
        start=received_at,
        due=agreed_at,
        target=AGREED_TIME,
        calendar=calendar,
        rule=f"{verb} {_fmt(received_at, tz)}, to be taken at the time agreed with the "
        f"customer: respond by {_fmt(agreed_at, tz)}",
    )


def remote_access(lc: LoadedContract, *, agreed_at: datetime) -> Deadline:
    """Remote response: from agreeing phone help is not enough to the engineer logged in."""
    return deadline_from_rule(
        lc, "remote_access", lc.contract.remote_access, agreed_at, "remote access agreed"
    )


def diagnosis(lc: LoadedContract, *, fault_level: str, started_at: datetime) -> Deadline:
    """Diagnosis time limit of the fault level (contract table, our P1–P4 defaults)."""
    rule = _for_priority(lc.contract.diagnosis, fault_level, "diagnosis")
    return deadline_from_rule(lc, "diagnosis", rule, started_at, f"{fault_level} diagnosis started")


def resolution(lc: LoadedContract, *, priority: str, reported_at: datetime) -> Deadline:
    """Resolution: from the customer's report to the fault removed (R-RESP)."""
    rule = _for_priority(lc.contract.resolution, priority, "resolution")
    return deadline_from_rule(lc, "resolution", rule, reported_at, f"{priority} reported")


def complaint_first_reply(lc: LoadedContract, *, received_at: datetime) -> Deadline:
    """Complaint first reply (R-QUAL: within 2 hours by default)."""
    return deadline_from_rule(
        lc,
        "complaint_first_reply",
        lc.contract.complaint.first_reply,
        received_at,
        "complaint received",
    )


def complaint_resolution(lc: LoadedContract, *, received_at: datetime) -> Deadline:
    """Complaint resolution (R-QUAL: within half a month by default)."""
    return deadline_from_rule(
        lc,
        "complaint_resolution",
        lc.contract.complaint.resolution,
        received_at,
        "complaint received",
    )


def onsite_arrival(
    lc: LoadedContract, *, zone: str, emergency: bool, agreed_at: datetime
) -> Deadline:
    """On-site arrival by zone; emergency is a case attribute with its own table (R-RESP)."""
    agreed_at = _aware(agreed_at, "on-site agreed")
    label = "emergency" if emergency else "normal"
    plan = active_plan(lc, agreed_at)
    override = None
    if plan is not None:
        override = plan.response.emergency_arrival if emergency else plan.response.onsite_arrival
    if plan is not None and override is not None:
        head = (
            f"support plan {plan.id} ({plan.from_}..{plan.to}): {label} on-site, zone {zone}, "
            "agreed"
        )
        return _onsite_deadline(
            lc, "onsite_arrival", parse_duration(override), agreed_at, head, "arrive by"
        )
    within = onsite_time(lc, zone=zone, emergency=emergency)
    if within is None:
        table = lc.contract.onsite.emergency if emergency else lc.contract.onsite.normal
        priced = ", ".join(sorted(z for z, t in table.items() if t is not None)) or "none"
        raise SlaError(
            f"zone {zone!r} has no negotiated {label} on-site time in this contract "
            f"($.onsite.{label}.{zone}; priced: {priced})"
        )
    duration = parse_duration(within)
    head = f"{label} on-site, zone {zone}, agreed"
    return _onsite_deadline(lc, "onsite_arrival", duration, agreed_at, head, "arrive by")


def onsite_time(lc: LoadedContract, *, zone: str, emergency: bool) -> str | None:
    """The contract's on-site arrival time for ``zone`` (its table's text), or None when the
    contract names no value there (null: 双方协商, not yet negotiated)."""
    onsite = lc.contract.onsite
    return (onsite.emergency if emergency else onsite.normal).get(zone)


def onsite_priced(lc: LoadedContract, *, zone: str, emergency: bool, at: datetime) -> bool:
    """Whether an on-site arrival at ``zone`` has a time at ``at`` (a support plan's or the
    table's); False for a zone the contract left to negotiation (null)."""
    plan = active_plan(lc, at)
    if plan is not None:
        override = plan.response.emergency_arrival if emergency else plan.response.onsite_arrival
        if override is not None:
            return True
    return onsite_time(lc, zone=zone, emergency=emergency) is not None


def active_plan(lc: LoadedContract, at: datetime) -> SupportPlan | None:
    """The contract's support plan (R-EXTRA) running at ``at``, by the duty calendar's date."""
    if not lc.contract.support_plans:
        return None
    return lc.contract.plan_on(at.astimezone(lc.calendar("duty").tz).date())


def progress_report(lc: LoadedContract, *, since: datetime, verb: str = "on site") -> Deadline:
    """The next progress report of an emergency on-site visit (限时上报): the contract's
    ``onsite.progress-report-every`` after ``since`` (the arrival or the last report)."""
    since = _aware(since, verb)
    onsite = lc.contract.onsite
    interval = onsite.progress_interval
    if interval is None:
        raise SlaError("this contract turns progress reports off (onsite.progress-report-every)")
    head = f"emergency on-site progress report every {interval}: {verb}"
    return _onsite_deadline(lc, "progress_report", interval, since, head, "report by")


def _onsite_deadline(
    lc: LoadedContract, kind: str, duration: Duration, start: datetime, head: str, done: str
) -> Deadline:
    """``duration`` of open time on the on-site calendar after ``start``; the rule reads
    "<head> <start> → <what was counted>: <done> <due>"."""
    calendar = lc.contract.onsite.calendar
    due, counted = due_after(lc, calendar, duration, start)
    tz = lc.calendar(calendar).tz
    found = Deadline(
        kind=kind,
        start=start,
        due=due,
        target=f"{duration} on {calendar}",
        calendar=calendar,
        rule=f"{head} {_fmt(start, tz)} → {counted}: {done} {_fmt(due, tz)}",
    )
    return with_horizon(lc, found)


# --- spare parts (R-SPARE) -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SpareTerms:
    """What applies to one device's spare part: tier, ship and arrival rules, and why."""

    tier: str
    ship: ShipRule | None
    arrival: ArrivalRule | None
    source: str
    weekdays_only: bool


def spare_terms(lc: LoadedContract, device: Device, zone: str | None) -> SpareTerms:
    """The device's effective spare rules; a zone-restricted tier refuses other zones."""
    tier, ship, arrival, source = lc.effective_spare_rules(device)
    if tier.zones is not None and zone is not None and zone not in tier.zones:
        raise SlaError(
            f"tier {device.tier} is only offered in zones {', '.join(tier.zones)}; "
            f"device {device.serial} is in zone {zone!r}"
        )
    return SpareTerms(device.tier, ship, arrival, source, tier.weekdays_only)


def ship_date(cal: Calendar, diagnosed_at: datetime, cutoff: time) -> tuple[date, str]:
    """The seed's cut-off rule: before it on a business day → same day, else next one."""
    local = diagnosed_at.astimezone(cal.tz)
    today, stamp = local.date(), _fmt(local, cal.tz)
    if cal.is_business_day(today):
        if local.time() < cutoff:
            return today, f"diagnosed {stamp} before the {cutoff:%H:%M} cut-off; same day"
        day = cal.business_day(local, 1)
        return day, f"diagnosed {stamp} after the {cutoff:%H:%M} cut-off; next business day {day}"
    day = cal.business_day(local, 0)
    return day, f"diagnosed {stamp} on a closed day; next business day {day}"


def spare_ship(
    lc: LoadedContract, *, device: Device, diagnosed_at: datetime, zone: str | None = None
) -> Deadline:
    """Spare-part dispatch deadline: the close of the service window on the ship date."""
    diagnosed_at = _aware(diagnosed_at, "diagnosis confirmed")
    terms = spare_terms(lc, device, zone)
    if terms.ship is None:
        raise SlaError(
            f"{terms.source} ships at any hour and promises arrival only; ask for spare_arrival"
        )
    cal = lc.calendar(terms.ship.calendar, weekdays_only=terms.weekdays_only)
    day, why = ship_date(cal, diagnosed_at, _parse_time(terms.ship.cutoff))
    due = end_of_business_day(cal, day)
    skipped = closed_days_note(
        lc,
        terms.ship.calendar,
        diagnosed_at.astimezone(cal.tz).date(),
        day,
        weekdays_only=terms.weekdays_only,
    )
    found = Deadline(
        kind="spare_ship",
        start=diagnosed_at,
        due=due,
        target=f"{terms.tier}: ship by the {terms.ship.cutoff} cut-off on {terms.ship.calendar}",
        calendar=terms.ship.calendar,
        rule=f"{terms.source}: {why}{skipped}: ships by {_fmt(due, cal.tz)}",
    )
    return with_horizon(lc, found, weekdays_only=terms.weekdays_only)


def spare_arrival(
    lc: LoadedContract,
    *,
    device: Device,
    diagnosed_at: datetime,
    shipped_at: datetime | None = None,
    zone: str | None = None,
) -> Deadline:
    """Spare-part arrival deadline; from the actual shipment when known, else projected."""
    diagnosed_at = _aware(diagnosed_at, "diagnosis confirmed")
    terms = spare_terms(lc, device, zone)
    if terms.arrival is None:
        raise SlaError(f"{terms.source} promises shipping only, no arrival time")
    tz = lc.calendar(terms.arrival.calendar).tz
    base, base_note = _arrival_base(lc, terms, device, diagnosed_at, shipped_at, zone, tz)
    due, counted = due_after(lc, terms.arrival.calendar, terms.arrival.duration, base)
    found = Deadline(
        kind="spare_arrival",
        start=diagnosed_at,
        due=due,
        target=f"{terms.tier}: arrive within {terms.arrival.within} from {terms.arrival.from_}",
        calendar=terms.arrival.calendar,
        rule=f"{terms.source}: {base_note} → {counted}: arrives by {_fmt(due, tz)}",
    )
    # a projected ship date counted on the ship calendar is part of this deadline too
    also = (terms.ship.calendar,) if terms.ship is not None else ()
    return with_horizon(lc, found, also=also)


def _arrival_base(
    lc: LoadedContract,
    terms: SpareTerms,
    device: Device,
    diagnosed_at: datetime,
    shipped_at: datetime | None,
    zone: str | None,
    tz: tzinfo,
) -> tuple[datetime, str]:
    """Where the arrival clock starts and how the rule says it, in ``tz`` (the arrival
    calendar's zone: the ship time given in UTC reads as the local wall time)."""
    assert terms.arrival is not None
    if terms.arrival.from_ == "diagnosed" or terms.ship is None:
        return diagnosed_at, f"diagnosed {_fmt(diagnosed_at, tz)}"
    if shipped_at is not None:
        shipped_at = _aware(shipped_at, "shipped")
        return shipped_at, f"shipped {_fmt(shipped_at, tz)}"
    ship = spare_ship(lc, device=device, diagnosed_at=diagnosed_at, zone=zone)
    return ship.due, f"not shipped yet, projected from the ship deadline {_fmt(ship.due, tz)}"


RETURN_CLOCKS: dict[str, tuple[str, str]] = {
    "part_return": ("part_return", "faulty part"),
    "standby_return": ("standby_return", "standby unit (备机)"),
}
"""Return clock kind → (the contract's ``spares`` setting, what goes back)."""


def spare_return(lc: LoadedContract, *, kind: str, installed_at: datetime) -> Deadline:
    """When the faulty part (``part_return``) or the standby unit (``standby_return``) must
    be back: the contract's ``spares`` time after the installation (ours, docs/spares.md)."""
    if kind not in RETURN_CLOCKS:
        raise SlaError(f"unknown return clock {kind!r}; known: {', '.join(RETURN_CLOCKS)}")
    installed_at = _aware(installed_at, "installed")
    setting, what = RETURN_CLOCKS[kind]
    spares = lc.contract.spares
    duration = parse_duration(getattr(spares, setting))
    due, counted = due_after(lc, spares.calendar, duration, installed_at)
    tz = lc.calendar(spares.calendar).tz
    found = Deadline(
        kind=kind,
        start=installed_at,
        due=due,
        target=f"{what} back within {duration} on {spares.calendar}",
        calendar=spares.calendar,
        rule=f"installed {_fmt(installed_at, tz)}, {what} back within "
        f"spares.{setting.replace('_', '-')} {duration} → {counted}: due {_fmt(due, tz)}",
    )
    return with_horizon(lc, found)


def _parse_time(text: str) -> time:
    hours, minutes = (int(part) for part in text.split(":"))
    return time(0) if hours == 24 else time(hours, minutes)


# --- the holiday data horizon -------------------------------------------------------------------


def with_horizon(
    lc: LoadedContract,
    deadline: Deadline,
    *,
    also: tuple[str, ...] = (),
    asked_at_start: tuple[str, ...] = (),
    weekdays_only: bool = False,
) -> Deadline:
    """``deadline`` flagged provisional when a year between its start and due date had no
    published holiday data on its calendar(s) and was planned from the statutory rules.

    ``asked_at_start``: calendars only asked whether they were open at the start (a
    target's ``when-open`` condition), so only the start's year counts for them.
    """
    years: set[int] = set()
    for name in (deadline.calendar, *also, *asked_at_start):
        cal = lc.calendar(name, weekdays_only=weekdays_only and name == deadline.calendar)
        first = deadline.start.astimezone(cal.tz).date()
        last = first if name in asked_at_start else deadline.due.astimezone(cal.tz).date()
        years.update(cal.provisional_years(first, max(first, last)))
    if not years:
        return deadline
    shown = ", ".join(str(y) for y in sorted(years))
    note = (
        f" [provisional: {shown} holidays planned from the statutory rules, no make-up "
        "workdays; re-planned when the published schedule is loaded]"
    )
    return replace(deadline, rule=deadline.rule + note, provisional=tuple(sorted(years)))


# --- explanations --------------------------------------------------------------------------------


def closed_days_note(
    lc: LoadedContract, calendar_name: str, first: date, last: date, *, weekdays_only: bool = False
) -> str:
    """ " (National Day 10-01..10-07; make-up workday 2026-10-10)" for days between the two."""
    spec = lc.calendar_spec(calendar_name)
    if spec.region is None or last <= first:
        return ""
    parts: list[str] = []
    for year in range(first.year, last.year + 1):
        data = lc.registry.planned(spec.region, year)
        if data is None:
            continue
        parts += _holiday_runs(data.holidays, data.name_of, first, last)
        if spec.make_up_workdays and not weekdays_only:
            parts += [
                f"make-up workday {d} ({d:%a})" for d in sorted(data.workdays) if first <= d <= last
            ]
    return f" ({'; '.join(parts)})" if parts else ""


def _holiday_runs(
    holidays: frozenset[date], name_of: Callable[[date], str | None], first: date, last: date
) -> list[str]:
    """Group consecutive holidays inside [first, last] into "Name MM-DD..MM-DD"."""
    days = sorted(d for d in holidays if first <= d <= last)
    runs: list[list[date]] = []
    for day in days:
        if runs and day - runs[-1][-1] == timedelta(days=1):
            runs[-1].append(day)
        else:
            runs.append([day])
    notes = []
    for run in runs:
        name = name_of(run[0]) or "holiday"
        span = f"{run[0]:%m-%d}" if len(run) == 1 else f"{run[0]:%m-%d}..{run[-1]:%m-%d}"
        notes.append(f"{name} {span}")
    return notes


def period_note(lc: LoadedContract, at: datetime) -> str:
    """A warning when ``at`` falls outside the contract period (best effort, R-EXTRA)."""
    period = lc.contract.period
    day = at.astimezone(lc.calendar("duty").tz).date()
    if period.start <= day <= period.end:
        return ""
    return (
        f"{day} is outside the contract period {period.start}..{period.end}: "
        "the promise does not bind; handle best effort (R-EXTRA)"
    )


# --- one entry point for the CLI and the case store ----------------------------------------------

CLOCK_KINDS: tuple[str, ...] = get_args(ClockKind)


def due(
    lc: LoadedContract,
    kind: str,
    *,
    at: datetime,
    priority: str | None = None,
    zone: str | None = None,
    emergency: bool = False,
    device: Device | None = None,
    shipped_at: datetime | None = None,
    request_type: str | None = None,
) -> Deadline:
    """Dispatch on the clock kind, checking that the needed parameters are present."""
    if kind in ("first_response", "diagnosis", "resolution"):
        level = _need(priority, "priority", kind)
        if kind == "first_response":
            return first_response(lc, priority=level, received_at=at, request_type=request_type)
        if kind == "diagnosis":
            return diagnosis(lc, fault_level=level, started_at=at)
        return resolution(lc, priority=level, reported_at=at)
    if kind == "remote_access":
        return remote_access(lc, agreed_at=at)
    if kind == "onsite_arrival":
        return onsite_arrival(
            lc, zone=_need(zone, "zone or site", kind), emergency=emergency, agreed_at=at
        )
    if kind in ("spare_ship", "spare_arrival"):
        dev = _need(device, "device", kind)
        if kind == "spare_ship":
            return spare_ship(lc, device=dev, diagnosed_at=at, zone=zone)
        return spare_arrival(lc, device=dev, diagnosed_at=at, shipped_at=shipped_at, zone=zone)
    if kind == "complaint_first_reply":
        return complaint_first_reply(lc, received_at=at)
    if kind == "complaint_resolution":
        return complaint_resolution(lc, received_at=at)
    if kind == "progress_report":
        return progress_report(lc, since=at)
    if kind in RETURN_CLOCKS:
        return spare_return(lc, kind=kind, installed_at=at)
    raise SlaError(f"unknown clock kind {kind!r}; known: {', '.join(CLOCK_KINDS)}")


def _need(value: Any, what: str, kind: str) -> Any:
    if value is None:
        raise SlaError(f"{kind} needs a {what}")
    return value
