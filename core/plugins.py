"""The plugin manager and a typed facade over the registration hooks.

How to write a plugin: make a module with ``@core.hookimpl`` functions named after the specs
in ``core.hookspecs`` and declare it in your distribution's pyproject::

    [project.entry-points.casetrack]
    acme = "acme_casetrack.hooks"

In-tree plugins are listed in BUILTIN_PLUGINS and registered without installation.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from typing import Any

import pluggy

from core import hookspecs
from core.errors import PluginError

BUILTIN_PLUGINS: dict[str, str] = {
    "cn_holidays": "plugins.cn_holidays.hooks",
    "pyholidays": "plugins.pyholidays.hooks",
    "weihai_zones": "plugins.weihai_zones.hooks",
    "yaml_zones": "plugins.yaml_zones.hooks",
    "sms_notify": "plugins.sms_notify.hooks",
    "email_notify": "plugins.email_notify.hooks",
    "vendor_rma": "plugins.vendor_rma.hooks",
}


def make_plugin_manager(
    *, load_entrypoints: bool = True, disabled: Iterable[str] | None = None
) -> pluggy.PluginManager:
    """A new manager with the built-in plugins and (optionally) installed third-party ones."""
    import importlib

    pm = pluggy.PluginManager(hookspecs.PROJECT)
    pm.add_hookspecs(hookspecs)
    if disabled is None:
        disabled = _split(os.environ.get("CASETRACK_DISABLED_PLUGINS", ""))
    for name in disabled:
        pm.set_blocked(name)
    for name, module in BUILTIN_PLUGINS.items():
        if not pm.is_blocked(name):
            pm.register(importlib.import_module(module), name=name)
    if load_entrypoints:
        pm.load_setuptools_entrypoints(hookspecs.PROJECT)
    pm.check_pending()
    if os.environ.get("CASETRACK_TRACE_PLUGINS"):
        pm.trace.root.setwriter(print)
        pm.enable_tracing()
    return pm


def _split(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def call_register_hook(
    pm: pluggy.PluginManager, hook_name: str, make_register: Callable[[str], Callable[..., None]]
) -> None:
    """Call a ``register_*`` hook on each plugin in registration order (built-ins first).

    Each plugin gets its own callback from ``make_register(plugin_name)`` so that errors can
    name the plugin at fault.
    """
    hook = getattr(pm.hook, hook_name)
    for impl in hook.get_hookimpls():
        register = make_register(impl.plugin_name)
        impl.function(**{arg: register for arg in impl.argnames})


def collect_named(pm: pluggy.PluginManager, hook_name: str) -> dict[str, Any]:
    """``{name: value}`` from a hook whose plugins call ``register(name, value)``.

    A name registered twice is a PluginError naming both plugins.
    """
    owners: dict[str, str] = {}
    found: dict[str, Any] = {}

    def make_register(plugin: str) -> Callable[..., None]:
        def register(name: str, value: Any) -> None:
            if name in owners:
                raise PluginError(
                    plugin, f"{hook_name}: {name!r} is already registered by {owners[name]!r}"
                )
            owners[name] = plugin
            found[name] = value

        return register

    call_register_hook(pm, hook_name, make_register)
    return found


def plugin_names(pm: pluggy.PluginManager) -> list[str]:
    """Names of every registered plugin, for error messages and `casetrack plugins`."""
    # set_blocked() leaves a name → None entry: a blocked plugin is not registered
    return sorted(name for name, plugin in pm.list_name_plugin() if name and plugin is not None)
