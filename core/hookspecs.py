"""Every hook a casetrack plugin can implement; the project name namespaces them.

Implementations may accept any subset of a hook's arguments (pluggy calls with keywords),
so new arguments are only ever appended.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    from core.events import RecordedEvent
    from core.loaded import LoadedContract

PROJECT = "casetrack"

hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


# --- registration hooks: the plugin calls `register(...)`, core owns the collection ----------


@hookspec
def register_holidays(register: Callable[..., None]) -> None:
    """Called when calendars are built: provide holiday and make-up workday data.

    Call ``register(region, year, holidays=[date...], workdays=[date...], source="...")``
    once per region and year. Later registrations for the same region and year replace
    earlier ones (YAML files under ``contracts/calendars/`` are registered last).
    Results are not combined; the hook returns None.
    """


@hookspec
def register_holiday_rules(register: Callable[..., None]) -> None:
    """Called when calendars are built: provide a region's provisional holiday rule.

    Call ``register(region, rule, source="...")``; ``rule(year)`` returns ``{date: name}``,
    the closed dates of ``year`` planned from the region's statutory rules, or None when it
    cannot plan that year. It is used only for years after the region's last published one
    (its horizon); those years have no make-up workdays and the clocks they touch are
    flagged provisional. A later registration for the same region replaces an earlier one.
    Results are not combined; the hook returns None.
    """


@hookspec
def register_zone_resolvers(register: Callable[..., None]) -> None:
    """Called once per plugin manager: provide site → zone resolvers.

    Call ``register(name, resolver)`` with an object satisfying ``core.zones.ZoneResolver``
    (``zones`` and ``resolve(site, config)``). A contract names the resolver it uses;
    duplicate names are an error naming both plugins. A resolver may also offer
    ``for_contract(config, read)`` to be bound to each contract's data files when it loads
    (``core.zones.for_contract``). Returns None.
    """


@hookspec
def register_notifiers(register: Callable[..., None]) -> None:
    """Called once per plugin manager: provide notification channels (``email``, ``sms``...).

    Call ``register(name, sender)``; escalation ladders name channels. Returns None.
    """


@hookspec
def register_rma_channels(register: Callable[..., None]) -> None:
    """Called once per plugin manager: provide vendor RMA channels (``digital_china``...).

    Call ``register(name, channel)`` with a ``core.rma.RmaChannel`` descriptor whose
    ``factory`` ("module:callable") builds the channel's ``core.rma.RmaClient`` from
    ``(Settings, RmaContext)`` when it is first used (``None``: descriptor only), or with a
    ready ``RmaClient``. Covered devices name their channel; duplicate names are an error
    naming both plugins. Returns None.
    """


@hookspec
def register_contract_checks(register: Callable[..., None]) -> None:
    """Called by the contract checker: provide extra semantic checks.

    Call ``register(name, check)`` where ``check(contract, context)`` yields
    ``(yaml_path, message)`` pairs for every problem found. Returns None.
    """


# --- events: past tense, return nothing, only enqueue work -----------------------------------


@hookspec
def case_event_recorded(event: RecordedEvent, contract: LoadedContract | None) -> None:
    """Fires after the transaction that appended an event to a case's history committed.

    :param event: a frozen ``core.events.RecordedEvent`` (case_number, seq, at, actor,
        visibility, kind, body, hash); ``body`` is the typed payload, e.g. ``core.events.Opened``.
    :param contract: the case's ``core.loaded.LoadedContract`` (None if unknown).

    Implementations must not block: enqueue work and return. Results are ignored.
    """
