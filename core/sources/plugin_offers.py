"""What the registered plugins offer the contract checks: RMA channels, zone resolvers,
notifier channels and plugin checks, collected once per check run."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from core.plugins import collect_named

if TYPE_CHECKING:
    from pluggy import PluginManager

__all__ = ["BUILTIN_NOTIFIER_CHANNELS", "Plugins"]

# Escalation ladders may always name these two (the built-in email_notify and sms_notify
# plugins provide them, and a deployment may disable either); any other channel must be
# registered through `register_notifiers`.
BUILTIN_NOTIFIER_CHANNELS = frozenset({"email", "sms"})


@dataclass
class Plugins:
    """What the registered plugins offer the checks: RMA channels, zone resolvers, notifiers."""

    rma_channels: dict[str, Any]
    zone_resolvers: dict[str, Any]
    notifier_channels: frozenset[str]
    checks: dict[str, Callable[..., Iterable[tuple[str, str]]]]

    @classmethod
    def collect(cls, pm: PluginManager) -> Plugins:
        notifiers = collect_named(pm, "register_notifiers")
        return cls(
            rma_channels=collect_named(pm, "register_rma_channels"),
            zone_resolvers=collect_named(pm, "register_zone_resolvers"),
            notifier_channels=BUILTIN_NOTIFIER_CHANNELS | frozenset(notifiers),
            checks=collect_named(pm, "register_contract_checks"),
        )
