"""The holiday registry a deployment runs on: plugins' data and rules first, then the holiday
files admins drop into contracts/calendars/ (which override)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.errors import PluginError
from core.holidays import HolidayRegistry
from core.plugins import call_register_hook
from core.sources.holiday_files import load_holiday_dir

if TYPE_CHECKING:
    from pluggy import PluginManager

__all__ = ["build_registry"]


def build_registry(pm: PluginManager, calendar_dirs: Iterable[Path] = ()) -> HolidayRegistry:
    """Plugins' data first, then every ``*.yaml`` under ``calendar_dirs`` (which overrides)."""
    registry = HolidayRegistry()
    call_register_hook(pm, "register_holidays", lambda plugin: _guarded(registry, plugin))
    call_register_hook(pm, "register_holiday_rules", lambda plugin: _guarded_rule(registry, plugin))
    for directory in calendar_dirs:
        for year in load_holiday_dir(Path(directory)):
            registry.register(
                year.region, year.year, year.holidays, year.workdays, year.source, year.names
            )
    return registry


def _guarded(registry: HolidayRegistry, plugin: str) -> Callable[..., None]:
    """A ``register`` callback that blames ``plugin`` for data it got wrong."""

    def register(*args: Any, **kwargs: Any) -> None:
        try:
            registry.register(*args, **kwargs)
        except (TypeError, ValueError) as exc:
            raise PluginError(plugin, f"register_holidays: {exc}") from exc

    return register


def _guarded_rule(registry: HolidayRegistry, plugin: str) -> Callable[..., None]:
    """A ``register`` callback for rules that blames ``plugin`` for a wrong call."""

    def register(*args: Any, **kwargs: Any) -> None:
        try:
            registry.register_rule(*args, **kwargs)
        except (TypeError, ValueError) as exc:
            raise PluginError(plugin, f"register_holiday_rules: {exc}") from exc

    return register
