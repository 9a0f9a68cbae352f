"""Semantic checks of contracts and the tier catalog: within a file, across files, by plugins."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from core.calendar import FIRST_YEAR, LAST_YEAR
from core.case import PRIORITIES
from core.contract import (
    ArrivalRule,
    CalendarSpec,
    Contract,
    Device,
    Person,
    ShipRule,
    Target,
    TargetRule,
    Tier,
    TierCatalog,
    device_model,
    parse_duration,
)
from core.contract_calendars import (
    build_calendar,
    first_overlap,
    parse_clock,
    parse_days,
    parse_span,
    visible_calendars,
)
from core.errors import CasetrackError, Problem
from core.holidays import HolidayRegistry
from core.loaded import NoResolver
from core.maintenance import parse_rule
from core.phones import contact_problems
from core.service_types import apply_override, duplicate_ids, load_service_types
from core.sources.yamlsource import YamlDoc
from core.zones import Site, ZoneResolver

if TYPE_CHECKING:
    from core.loaded import LoadedContract
    from core.sources.plugin_offers import Plugins

TARGET_TABLES = ("response", "diagnosis", "resolution")
OUR_STAFF_FIELDS = ("project_manager", "service_manager", "complaint_manager", "spare_manager")
TARGET_KEYS = (*PRIORITIES, "default")


# --- the tier catalog --------------------------------------------------------------------------


def catalog_problems(
    doc: YamlDoc, catalog: TierCatalog, registry: HolidayRegistry
) -> Iterator[Problem]:
    """The tier catalog's calendars, tiers and programs, each against the others."""
    for name, spec in catalog.calendars.items():
        yield from _calendar_spec_problems(doc, f"$.calendars.{name}", name, spec, registry)
    known = visible_calendars(None, catalog)
    for name, tier in catalog.tiers.items():
        yield from _tier_problems(doc, f"$.tiers.{name}", tier, known)
    for name, program in catalog.programs.items():
        for i, tier_name in enumerate(program.tiers):
            if tier_name not in catalog.tiers:
                yield doc.problem(
                    f"$.programs.{name}.tiers[{i}]",
                    f"unknown tier {tier_name!r} (tiers.yaml defines: "
                    f"{', '.join(catalog.tiers) or 'none'})",
                )


def _tier_problems(
    doc: YamlDoc, path: str, tier: Tier, calendars: Mapping[str, CalendarSpec] | None
) -> Iterator[Problem]:
    if tier.ship is None and tier.arrival is None:
        yield doc.problem(path, "a tier needs a ship rule, an arrival rule or both")
    if tier.ship is not None:
        yield from _ship_problems(doc, f"{path}.ship", tier.ship, calendars)
    if tier.arrival is not None:
        yield from _arrival_problems(doc, f"{path}.arrival", tier.arrival, calendars)
        if tier.ship is None and tier.arrival.from_ == "shipped":
            yield doc.problem(
                f"{path}.arrival.from",
                "arrival counts from the shipment but the tier has no ship rule: use "
                "from: diagnosed (24x7 levels ship at any hour)",
            )


def _ship_problems(
    doc: YamlDoc, path: str, ship: ShipRule, calendars: Mapping[str, CalendarSpec] | None
) -> Iterator[Problem]:
    yield from _calendar_ref(doc, f"{path}.calendar", ship.calendar, calendars)
    try:
        if ship.cutoff.strip().startswith("24"):
            raise ValueError("a cut-off of 24:00 never applies: use a time within the day")
        parse_clock(ship.cutoff)
    except ValueError as exc:
        yield doc.problem(f"{path}.cutoff", str(exc))


def _arrival_problems(
    doc: YamlDoc, path: str, arrival: ArrivalRule, calendars: Mapping[str, CalendarSpec] | None
) -> Iterator[Problem]:
    yield from _calendar_ref(doc, f"{path}.calendar", arrival.calendar, calendars)
    yield from _duration_problems(doc, f"{path}.within", arrival.within)


# --- one contract ------------------------------------------------------------------------------


@dataclass
class Checker:
    """The semantic checks of one contract against the catalog, holiday data and plugins."""

    catalog: TierCatalog
    catalog_ok: bool  # when tiers.yaml is broken, don't also flag every tier name
    registry: HolidayRegistry
    plugins: Plugins

    def contract_problems(self, doc: YamlDoc, lc: LoadedContract) -> list[Problem]:
        contract = lc.contract
        # with tiers.yaml broken its calendar names are unknown: don't flag references
        calendars = visible_calendars(contract, self.catalog) if self.catalog_ok else None
        found: list[Problem] = []
        found += _period_problems(doc, contract)
        for name, spec in contract.calendars.items():
            found += _calendar_spec_problems(doc, f"$.calendars.{name}", name, spec, self.registry)
        found += _target_problems(doc, contract, calendars)
        found += self._program_problems(doc, contract)
        found += self._zone_problems(doc, contract, lc.zone_resolver, calendars)
        found += self._device_problems(doc, lc, calendars)
        found += self._escalation_problems(doc, contract)
        found += _exclusion_problems(doc, contract)
        found += _service_type_problems(doc, contract)
        found += _contact_phone_problems(doc, contract)
        found += _spares_problems(doc, contract, calendars)
        found += _support_plan_problems(doc, contract)
        found += _maintenance_plan_problems(doc, contract, calendars)
        found += _model_problems(doc, contract)
        return found

    def _program_problems(self, doc: YamlDoc, contract: Contract) -> Iterator[Problem]:
        if self.catalog_ok and contract.program not in self.catalog.programs:
            yield doc.problem(
                "$.program",
                f"unknown program {contract.program!r} (tiers.yaml offers: "
                f"{', '.join(self.catalog.programs) or 'none'})",
            )

    def _zone_problems(
        self,
        doc: YamlDoc,
        contract: Contract,
        resolver: ZoneResolver,
        calendars: Mapping[str, CalendarSpec] | None,
    ) -> Iterator[Problem]:
        resolvers = self.plugins.zone_resolvers
        name = contract.zones.resolver
        yield from _calendar_ref(doc, "$.onsite.calendar", contract.onsite.calendar, calendars)
        tables = (("normal", contract.onsite.normal), ("emergency", contract.onsite.emergency))
        for label, table in tables:
            for zone, within in table.items():
                if within is not None:  # null: no negotiated value (refused at request)
                    yield from _duration_problems(doc, f"$.onsite.{label}.{zone}", within)
        every = contract.onsite.progress_report_every
        if every is not None:
            yield from _duration_problems(doc, "$.onsite.progress-report-every", every)
        if name not in resolvers:
            yield doc.problem(
                "$.zones.resolver",
                f"unknown zone resolver {name!r} (registered: {', '.join(resolvers) or 'none'})",
            )
            return
        if isinstance(resolver, NoResolver):
            return  # binding it to the contract's data files failed: those problems are listed
        try:
            # a dry run: the resolver validates its config section on every call
            resolver.resolve(Site(), contract.zones.config)
        except (CasetrackError, ValueError) as exc:
            detail = exc.detail if isinstance(exc, CasetrackError) else str(exc)
            yield doc.problem("$.zones.config", detail)
            return
        zones = tuple(resolver.zones)
        for label, table in tables:
            yield from _onsite_table_problems(doc, f"$.onsite.{label}", label, table, name, zones)

    def _device_problems(
        self, doc: YamlDoc, lc: LoadedContract, calendars: Mapping[str, CalendarSpec] | None
    ) -> Iterator[Problem]:
        seen: dict[str, int] = {}
        for i, device in enumerate(lc.contract.devices):
            path = f"$.devices[{i}]"
            if device.serial in seen:
                first, _ = doc.locate(f"$.devices[{seen[device.serial]}].serial")
                yield doc.problem(
                    f"{path}.serial",
                    f"serial {device.serial!r} is listed twice in this contract (first at "
                    f"line {first})",
                )
            seen.setdefault(device.serial, i)
            yield from self._device_tier(doc, lc, path, device)
            if device.rma not in self.plugins.rma_channels:
                known = ", ".join(sorted(self.plugins.rma_channels)) or "none"
                yield doc.problem(
                    f"{path}.rma", f"unknown RMA channel {device.rma!r} (registered: {known})"
                )
            yield from self._vendor_terms(doc, lc.contract, path, device, calendars)

    def _device_tier(
        self, doc: YamlDoc, lc: LoadedContract, path: str, device: Device
    ) -> Iterator[Problem]:
        if not self.catalog_ok:
            return
        tiers, programs = self.catalog.tiers, self.catalog.programs
        if device.tier not in tiers:
            yield doc.problem(
                f"{path}.tier",
                f"unknown tier {device.tier!r} (tiers.yaml defines: {', '.join(tiers) or 'none'})",
            )
            return
        program = programs.get(lc.contract.program)
        if program is not None and device.tier not in program.tiers:
            yield doc.problem(
                f"{path}.tier",
                f"tier {device.tier} is not offered by program {lc.contract.program} "
                f"(offers {', '.join(program.tiers)})",
            )
            return
        tier = tiers[device.tier]
        if tier.zones is not None and not isinstance(lc.zone_resolver, NoResolver):
            yield from _restricted_tier(doc, lc, path, device, tier)

    def _vendor_terms(
        self,
        doc: YamlDoc,
        contract: Contract,
        path: str,
        device: Device,
        calendars: Mapping[str, CalendarSpec] | None,
    ) -> Iterator[Problem]:
        terms = device.vendor_terms
        if terms is None:
            return
        path = f"{path}.vendor-terms"
        program = self.catalog.programs.get(contract.program)
        if program is not None and not program.vendor_terms_override:
            yield doc.problem(
                path,
                f"program {contract.program} does not let vendor terms override its tiers "
                "(only programs with vendor-terms-override: true do); remove them or move "
                "the device to such a program",
            )
        if terms.ship is None and terms.arrival is None and terms.note is None:
            yield doc.problem(path, "vendor terms need a note, a ship or an arrival rule")
        if terms.ship is not None:
            yield from _ship_problems(doc, f"{path}.ship", terms.ship, calendars)
        if terms.arrival is not None:
            yield from _arrival_problems(doc, f"{path}.arrival", terms.arrival, calendars)

    def _escalation_problems(self, doc: YamlDoc, contract: Contract) -> Iterator[Problem]:
        known = self.plugins.notifier_channels
        for i, step in enumerate(contract.escalation):
            for j, channel in enumerate(step.channels):
                if channel not in known:
                    yield doc.problem(
                        f"$.escalation[{i}].channels[{j}]",
                        f"unknown notification channel {channel!r} (known: "
                        f"{', '.join(sorted(known))})",
                    )
            if not step.notify:
                yield doc.problem(f"$.escalation[{i}].notify", "notify nobody: name a role")


def _restricted_tier(
    doc: YamlDoc, lc: LoadedContract, path: str, device: Device, tier: Tier
) -> Iterator[Problem]:
    """A zone-restricted tier (4-hour levels) must not cover a device outside its zones."""
    try:
        match = lc.resolve_site(device.site, device.lat, device.lon)
    except (CasetrackError, ValueError) as exc:
        yield doc.problem(f"{path}.site", f"cannot resolve the site to a zone: {exc}")
        return
    assert tier.zones is not None
    if match.zone not in tier.zones:
        yield doc.problem(
            f"{path}.tier",
            f"tier {device.tier} is only offered in zones {', '.join(tier.zones)}; this "
            f"device's site is in zone {match.zone!r} ({match.reason})",
        )


def _onsite_table_problems(
    doc: YamlDoc,
    path: str,
    label: str,
    table: Mapping[str, str | None],
    resolver: str,
    zones: Sequence[str],
) -> Iterator[Problem]:
    for zone in table:
        if zone not in zones:
            yield doc.problem_at_key(
                f"{path}.{zone}",
                f"unknown zone {zone!r} (resolver {resolver} returns: {', '.join(zones)})",
            )
    missing = [zone for zone in zones if zone not in table]
    if missing:
        yield doc.problem(
            path,
            f"no {label} on-site time for zone {', '.join(missing)}: price every zone resolver "
            f"{resolver} can return ({', '.join(zones)}); the handbook leaves 'elsewhere' to "
            "each contract",
        )


def _support_plan_problems(doc: YamlDoc, contract: Contract) -> Iterator[Problem]:
    """R-EXTRA support plans: dates in order and inside the period, unique ids, no two plans
    on one day, positive durations, an engineer named once, spares with a model."""
    seen: dict[str, int] = {}
    period = contract.period
    for i, plan in enumerate(contract.support_plans):
        path = f"$.support-plans[{i}]"
        if plan.id in seen:
            yield doc.problem(
                f"{path}.id",
                f"duplicate support plan id {plan.id!r} (support-plans[{seen[plan.id]}])",
            )
        seen.setdefault(plan.id, i)
        if plan.to < plan.from_:
            yield doc.problem(
                f"{path}.to", f"the plan ends on {plan.to}, before it starts on {plan.from_}"
            )
        elif plan.from_ < period.start or plan.to > period.end:
            yield doc.problem(
                f"{path}.from",
                f"the plan {plan.from_}..{plan.to} runs outside the contract period "
                f"{period.start}..{period.end}",
            )
        for j, other in enumerate(contract.support_plans[:i]):
            if other.from_ <= plan.to and plan.from_ <= other.to:
                yield doc.problem(
                    f"{path}.from",
                    f"overlaps support-plans[{j}] ({other.id}, {other.from_}..{other.to}): one "
                    "plan a day",
                )
        for key in ("first-response", "onsite-arrival", "emergency-arrival"):
            within = getattr(plan.response, key.replace("-", "_"))
            if within is not None:
                yield from _duration_problems(doc, f"{path}.response.{key}", within)
        for k, engineer in enumerate(plan.engineers):
            if engineer in plan.engineers[:k]:
                yield doc.problem(f"{path}.engineers[{k}]", f"{engineer!r} is named twice")


def _service_type_problems(doc: YamlDoc, contract: Contract) -> Iterator[Problem]:
    """Overrides must name a shipped service type and keep each item id unique."""
    types = load_service_types()
    for name, override in contract.service_types.items():
        path = f"$.service-types.{name}"
        if name not in types:
            yield doc.problem_at_key(
                path, f"unknown service type {name!r} (known: {', '.join(types)})"
            )
            continue
        # an id twice would make "confirmed" / "delivered" ambiguous when closing a case
        for message in duplicate_ids(apply_override(types[name], override)):
            yield doc.problem(path, message)


def _contact_phone_problems(doc: YamlDoc, contract: Contract) -> Iterator[Problem]:
    """Every phone must be a valid number and every mobile one that can take an SMS
    (core.phones): our staff's and the customer's contacts'."""
    people: list[tuple[str, Person | None]] = [
        (f"$.our-staff.{field.replace('_', '-')}", getattr(contract.our_staff, field))
        for field in OUR_STAFF_FIELDS
    ]
    people += [(f"$.customer.contacts[{i}]", c) for i, c in enumerate(contract.customer.contacts)]
    for path, person in people:
        if person is not None:
            for key, message in contact_problems(person.phone, person.mobile):
                yield doc.problem(f"{path}.{key}", message)


def _spares_problems(
    doc: YamlDoc, contract: Contract, calendars: Mapping[str, CalendarSpec] | None
) -> Iterator[Problem]:
    """The spare-part return times: durations on a known calendar."""
    spares = contract.spares
    yield from _calendar_ref(doc, "$.spares.calendar", spares.calendar, calendars)
    yield from _duration_problems(doc, "$.spares.part-return", spares.part_return)
    yield from _duration_problems(doc, "$.spares.standby-return", spares.standby_return)


def _period_problems(doc: YamlDoc, contract: Contract) -> Iterator[Problem]:
    period = contract.period
    if period.end < period.start:
        yield doc.problem(
            "$.period.end", f"the period ends ({period.end}) before it starts ({period.start})"
        )


def _calendar_spec_problems(
    doc: YamlDoc, path: str, name: str, spec: CalendarSpec, registry: HolidayRegistry
) -> list[Problem]:
    found: list[Problem] = []
    try:
        ZoneInfo(spec.tz)
    except (ZoneInfoNotFoundError, ValueError):
        found.append(
            doc.problem(
                f"{path}.tz",
                f"unknown time zone {spec.tz!r}: expected an IANA name such as Asia/Shanghai",
            )
        )
    if spec.region is not None and not registry.years(spec.region):
        found.append(
            doc.problem(
                f"{path}.region",
                f"no holiday data at all for region {spec.region!r} (regions with data: "
                f"{', '.join(registry.regions()) or 'none'})",
            )
        )
    for days, spans in spec.week.items():
        try:
            parse_days(days)
        except ValueError as exc:
            found.append(doc.problem_at_key(f"{path}.week.{days}", str(exc)))
        for i, span in enumerate(spans):
            try:
                parse_span(span)
            except ValueError as exc:
                found.append(doc.problem(f"{path}.week.{days}[{i}]", str(exc)))
    both = sorted(set(spec.holidays) & set(spec.workdays))
    if both:
        found.append(
            doc.problem(
                f"{path}.workdays",
                f"dates both holidays and workdays: {', '.join(map(str, both))}",
            )
        )
    found += _date_override_problems(doc, f"{path}.dates", spec)
    if not found:
        found += _build_problems(doc, path, name, spec, registry)
    return found


def _date_override_problems(doc: YamlDoc, path: str, spec: CalendarSpec) -> list[Problem]:
    """Each date override: a supported year, valid spans, no two spans sharing a moment."""
    found: list[Problem] = []
    for day, texts in spec.dates.items():
        where = f"{path}.{day.isoformat()}"
        if not FIRST_YEAR <= day.year <= LAST_YEAR:
            message = f"{day} is outside the supported years {FIRST_YEAR}-{LAST_YEAR}"
            found.append(doc.problem_at_key(where, message))
        spans = []
        for i, text in enumerate(texts):
            try:
                spans.append(parse_span(text))
            except ValueError as exc:
                found.append(doc.problem(f"{where}[{i}]", str(exc)))
        if len(spans) < len(texts):
            continue
        overlap = first_overlap(spans)
        if overlap is not None:
            i, j = overlap
            message = f"span {texts[j].strip()!r} overlaps [{i}] {texts[i].strip()!r} on {day}"
            found.append(doc.problem(f"{where}[{j}]", message))
    return found


def _build_problems(
    doc: YamlDoc, path: str, name: str, spec: CalendarSpec, registry: HolidayRegistry
) -> list[Problem]:
    """Whatever else the Calendar itself rejects (overlapping spans, no open time...)."""
    try:
        build_calendar(spec, registry, name=name)
    except (CasetrackError, ValueError, TypeError) as exc:
        detail = exc.detail if isinstance(exc, CasetrackError) else str(exc)
        return [doc.problem(f"{path}.week", f"calendar {name}: {detail}")]
    return []


def _maintenance_plan_problems(
    doc: YamlDoc, contract: Contract, calendars: Mapping[str, CalendarSpec] | None
) -> Iterator[Problem]:
    """R-MAINT plans: unique ids, a valid RRULE, a known calendar, a positive due time,
    sites and serials the contract covers (docs/maintenance.md)."""
    seen: dict[str, int] = {}
    sites = {device.site for device in contract.devices}
    serials = {device.serial for device in contract.devices}
    for i, plan in enumerate(contract.maintenance_plans):
        path = f"$.maintenance-plans[{i}]"
        if plan.id in seen:
            yield doc.problem(
                f"{path}.id",
                f"duplicate maintenance plan id {plan.id!r} (maintenance-plans[{seen[plan.id]}])",
            )
        seen.setdefault(plan.id, i)
        try:
            parse_rule(plan.rrule)
        except ValueError as exc:
            yield doc.problem(f"{path}.rrule", f"invalid RRULE {plan.rrule!r}: {exc}")
        yield from _calendar_ref(doc, f"{path}.calendar", plan.calendar, calendars)
        yield from _duration_problems(doc, f"{path}.due-within", plan.due_within)
        for j, site in enumerate(plan.sites):
            if site not in sites:
                yield doc.problem(
                    f"{path}.sites[{j}]",
                    f"no covered device is at site {site!r} ($.devices names: "
                    f"{', '.join(sorted(sites)) or 'none'})",
                )
        for j, serial in enumerate(plan.devices):
            if serial not in serials:
                yield doc.problem(
                    f"{path}.devices[{j}]", f"serial {serial!r} is not among $.devices"
                )


def _model_problems(doc: YamlDoc, contract: Contract) -> Iterator[Problem]:
    """The ``models`` catalogue (rule A6): each name a model of the contract's devices (as
    written, without a trailing note in brackets), the end of sale not after the end of
    support."""
    models = sorted({device_model(d.model) for d in contract.devices})
    for name, entry in contract.models.items():
        path = f"$.models[{name!r}]"
        if name not in models:
            yield doc.problem_at_key(
                path,
                f"no device of this contract is model {name!r} (the devices' models: "
                f"{', '.join(models) or 'none'})",
            )
        if entry.end_of_sale is not None and entry.end_of_sale > entry.end_of_support:
            yield doc.problem(
                f"{path}.end-of-sale",
                f"the end of sale ({entry.end_of_sale}) is after the end of support "
                f"({entry.end_of_support})",
            )


def _calendar_ref(
    doc: YamlDoc, path: str, name: str | None, calendars: Mapping[str, CalendarSpec] | None
) -> Iterator[Problem]:
    if name is not None and calendars is not None and name not in calendars:
        yield doc.problem(
            path, f"unknown calendar {name!r} (known: {', '.join(sorted(calendars))})"
        )


def _duration_problems(doc: YamlDoc, path: str, text: str) -> Iterator[Problem]:
    try:
        duration = parse_duration(text)
    except ValueError as exc:
        yield doc.problem(path, str(exc))
        return
    if duration.amount <= 0:
        yield doc.problem(path, f"duration {text!r} is zero: a target must be positive")


def _target_problems(
    doc: YamlDoc, contract: Contract, calendars: Mapping[str, CalendarSpec] | None
) -> Iterator[Problem]:
    for table in TARGET_TABLES:
        rules: dict[str, TargetRule] = getattr(contract, table)
        for key, rule in rules.items():
            if key not in TARGET_KEYS:
                yield doc.problem_at_key(
                    f"$.{table}.{key}",
                    f"unknown priority {key!r}: expected {', '.join(TARGET_KEYS)}",
                )
            yield from _rule_problems(doc, f"$.{table}.{key}", rule, calendars)
        missing = [p for p in PRIORITIES if p not in rules]
        if "default" not in rules and missing:
            yield doc.problem(
                f"$.{table}",
                f"no {table} target for {', '.join(missing)} and no default",
            )
    yield from _rule_problems(doc, "$.remote-access", contract.remote_access, calendars)
    for kind, rule in contract.request_response.items():
        yield from _rule_problems(doc, f"$.request-response.{kind}", rule, calendars)
    complaint = contract.complaint
    yield from _rule_problems(doc, "$.complaint.first-reply", complaint.first_reply, calendars)
    yield from _rule_problems(doc, "$.complaint.resolution", complaint.resolution, calendars)


def _rule_problems(
    doc: YamlDoc, path: str, rule: TargetRule, calendars: Mapping[str, CalendarSpec] | None
) -> Iterator[Problem]:
    targets = rule if isinstance(rule, list) else [rule]
    if not targets:
        yield doc.problem(path, "an empty list of targets: give at least one")
        return
    for i, target in enumerate(targets):
        where = f"{path}[{i}]" if isinstance(rule, list) else path
        yield from _target_fields(doc, where, target, calendars)
    last = targets[-1]
    if last.when_open is not None or last.when_closed is not None:
        where = f"{path}[{len(targets) - 1}]" if isinstance(rule, list) else path
        yield doc.problem(
            where,
            "every target here has a condition (when-open / when-closed), so some requests "
            "would have none: end with a target without one",
        )


def _target_fields(
    doc: YamlDoc, path: str, target: Target, calendars: Mapping[str, CalendarSpec] | None
) -> Iterator[Problem]:
    yield from _duration_problems(doc, f"{path}.within", target.within)
    yield from _calendar_ref(doc, f"{path}.calendar", target.calendar, calendars)
    yield from _calendar_ref(doc, f"{path}.when-open", target.when_open, calendars)
    yield from _calendar_ref(doc, f"{path}.when-closed", target.when_closed, calendars)
    if target.when_open is not None and target.when_closed is not None:
        yield doc.problem(f"{path}.when-closed", "give when-open or when-closed, not both")


def _exclusion_problems(doc: YamlDoc, contract: Contract) -> Iterator[Problem]:
    seen: set[str] = set()
    for i, cause in enumerate(contract.exclusions):
        if cause in seen:
            yield doc.problem(f"$.exclusions[{i}]", f"exclusion {cause!r} is listed twice")
        seen.add(cause)


# --- across files ------------------------------------------------------------------------------


def duplicate_problems(loaded: Sequence[LoadedContract]) -> Iterator[Problem]:
    """Contract ids must be unique over every file loaded together; a device serial may be
    covered by several contracts only if their periods do not overlap (a renewal: next
    year's contract lists the same devices)."""
    ids: dict[str, LoadedContract] = {}
    serials: dict[str, list[tuple[LoadedContract, int]]] = {}
    for lc in loaded:
        doc = _doc(lc)
        first = ids.setdefault(lc.id, lc)
        if first is not lc:
            yield doc.problem(
                "$.id", f"contract id {lc.id!r} is already used by {_where(first, '$.id')}"
            )
        for i, device in enumerate(lc.contract.devices):
            owners = serials.setdefault(device.serial, [])
            clash = next((o for o in owners if o[0] is not lc and _overlap(o[0], lc)), None)
            if clash is not None:
                owner, index = clash
                yield doc.problem(
                    f"$.devices[{i}].serial",
                    f"serial {device.serial!r} is also covered by contract {owner.id} "
                    f"({_where(owner, f'$.devices[{index}].serial')}) and the periods overlap "
                    f"({_period(owner)} and {_period(lc)}): a renewal must start after the "
                    "old period ends",
                )
            owners.append((lc, i))


def _overlap(a: LoadedContract, b: LoadedContract) -> bool:
    pa, pb = a.contract.period, b.contract.period
    return pa.start <= pb.end and pb.start <= pa.end


def _period(lc: LoadedContract) -> str:
    return f"{lc.contract.period.start}..{lc.contract.period.end}"


def _doc(lc: LoadedContract) -> YamlDoc:
    assert lc.doc is not None, "contracts loaded from files always keep their document"
    return lc.doc


def _where(lc: LoadedContract, path: str) -> str:
    line, column = _doc(lc).locate(path)
    return f"{lc.file}:{line}:{column}"


# --- plugin checks -----------------------------------------------------------------------------


def plugin_problems(
    loaded: Sequence[LoadedContract],
    checks: Mapping[str, Callable[..., Iterable[tuple[str, str]]]],
    problems: Sequence[Problem],
) -> list[Problem]:
    """Run every registered contract check; each yields (yaml_path, message) pairs."""
    broken = {p.file for p in problems}
    found: list[Problem] = []
    for lc in loaded:
        doc = _doc(lc)
        for name, check in checks.items():
            try:
                pairs = list(_call_check(check, lc))
            except Exception:
                # a check may trip over data core has already reported; only a clean
                # contract makes a crash the plugin's bug, which must surface loudly
                if lc.file in broken:
                    continue
                raise
            for path, message in pairs:
                path = path if path.startswith("$") else f"$.{path}"
                found.append(doc.problem(path, f"{message} (check {name})"))
    return found


def _call_check(
    check: Callable[..., Iterable[tuple[str, str]]], lc: LoadedContract
) -> Iterable[tuple[str, str]]:
    """``check(loaded_contract)``; also accepts the hookspec's ``check(contract, context)``."""
    try:
        params = inspect.signature(check).parameters.values()
    except (TypeError, ValueError):
        return check(lc)
    positional = [
        p
        for p in params
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) and p.default is p.empty
    ]
    if len(positional) >= 2:
        return check(lc.contract, lc)
    return check(lc)
