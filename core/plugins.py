"""The plugin manager and a typed facade over the registration hooks.

How to write a plugin: make a module with ``@core.hookimpl`` functions named after the specs
in ``core.hookspecs`` and declare it in your distribution's pyproject::

    [project.entry-points.casetrack]
    acme = "acme_casetrack.hooks"

In-tree plugins are listed in BUILTIN_PLUGINS and registered without installation.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from importlib import metadata
from typing import Any, Literal

import pluggy

from core import hookspecs
from core.errors import PluginError

DISABLED_VARIABLE = "CASETRACK_DISABLED_PLUGINS"  # names to block, comma-separated
TRACE_VARIABLE = "CASETRACK_TRACE_PLUGINS"  # set: one line per hook call on stderr

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
        disabled = _split(os.environ.get(DISABLED_VARIABLE, ""))
    for name in disabled:
        pm.set_blocked(name)
    for name, module in BUILTIN_PLUGINS.items():
        if not pm.is_blocked(name):
            pm.register(importlib.import_module(module), name=name)
    if load_entrypoints:
        _load_entrypoints(pm)
    try:
        pm.check_pending()
    except pluggy.PluginValidationError as exc:  # a misspelt hook name: say whose
        raise PluginError(pm.get_name(exc.plugin) or str(exc.plugin), str(exc)) from exc
    if os.environ.get(TRACE_VARIABLE):
        trace_hook_calls(pm)
    return pm


def _load_entrypoints(pm: pluggy.PluginManager) -> None:
    """Installed plugins; one that fails to import is a PluginError naming it (one line at
    start-up and in `casetrack check`, not a traceback)."""
    try:
        pm.load_setuptools_entrypoints(hookspecs.PROJECT)
    except Exception as exc:
        name = _failing_entrypoint(pm) or "an installed plugin"
        raise PluginError(name, f"cannot load: {type(exc).__name__}: {exc}") from exc


def _failing_entrypoint(pm: pluggy.PluginManager) -> str | None:
    """The first entry point of the group that is not registered and does not load."""
    for ep in metadata.entry_points(group=hookspecs.PROJECT):
        if pm.has_plugin(ep.name) or pm.is_blocked(ep.name):
            continue
        try:
            ep.load()
        except Exception:
            return ep.name
    return None


def _split(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def trace_hook_calls(
    pm: pluggy.PluginManager, write: Callable[[str], object] | None = None
) -> None:
    """One line per hook call on stderr: the hook, its arguments' names and the plugins it
    reaches (``register_*`` hooks included: ``call_register_hook`` calls through pluggy).

    Argument values are left out: an event carries a caller's phone and e-mail address."""
    out = write or sys.stderr.write
    out(f"plugin trace: registered {', '.join(plugin_names(pm)) or 'none'}\n")

    def before(hook: str, impls: Sequence[pluggy.HookImpl], kwargs: Mapping[str, object]) -> None:
        reached = ", ".join(impl.plugin_name for impl in impls) or "no plugin"
        out(f"plugin trace: {hook}({', '.join(kwargs)}) -> {reached}\n")

    def after(
        outcome: pluggy.Result[object],
        hook: str,
        impls: Sequence[pluggy.HookImpl],
        kwargs: Mapping[str, object],
    ) -> None:
        if outcome.exception is not None:
            out(f"plugin trace: {hook} raised {type(outcome.exception).__name__}\n")

    pm.add_hookcall_monitoring(before, after)


def call_register_hook(
    pm: pluggy.PluginManager, hook_name: str, make_register: Callable[[str], Callable[..., None]]
) -> None:
    """Call a ``register_*`` hook on each plugin in registration order (built-ins first).

    Each plugin gets its own callback from ``make_register(plugin_name)`` so that errors can
    name the plugin at fault.
    """
    hook = getattr(pm.hook, hook_name)
    impls = hook.get_hookimpls()
    argnames = hook.spec.argnames if hook.spec is not None else ("register",)
    for impl in impls:
        register = make_register(impl.plugin_name)
        # through pluggy, one plugin at a time (not impl.function directly): tracing and any
        # hook-call monitoring see registration hooks as they see every other hook
        others = [other.plugin for other in impls if other is not impl]
        pm.subset_hook_caller(hook_name, others)(**dict.fromkeys(argnames, register))


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


# --- introspection: `casetrack plugins list` ----------------------------------------------------


@dataclass(frozen=True, slots=True)
class PluginInfo:
    """A registered plugin: where it comes from and the hooks it implements."""

    name: str
    module: str
    distribution: str  # the installed package (distribution) that ships it
    version: str
    hooks: tuple[str, ...]
    source: Literal["built-in", "entry point", "registered in process"]


@dataclass(frozen=True, slots=True)
class BlockedPlugin:
    """A name blocked by CASETRACK_DISABLED_PLUGINS (or ``disabled=``) and what it would be."""

    name: str
    source: str  # "built-in", "entry point of acme-casetrack 1.0", "not installed"


def describe_plugins(pm: pluggy.PluginManager) -> list[PluginInfo]:
    """Every registered plugin in registration order (built-ins first, then entry points)."""
    installed = {id(plugin): dist for plugin, dist in pm.list_plugin_distributions()}
    found = []
    for name, plugin in pm.list_name_plugin():
        if plugin is None:  # blocked
            continue
        dist = installed.get(id(plugin))
        if dist is not None:
            distribution, version = dist.metadata["Name"], dist.version
            source: Literal["built-in", "entry point", "registered in process"] = "entry point"
        elif name in BUILTIN_PLUGINS:
            distribution, version, source = hookspecs.PROJECT, _own_version(), "built-in"
        else:
            distribution, version, source = "-", "-", "registered in process"
        hooks = sorted(caller.name for caller in pm.get_hookcallers(plugin) or ())
        module = getattr(plugin, "__name__", type(plugin).__module__)
        found.append(PluginInfo(name, module, distribution, version, tuple(hooks), source))
    return found


def blocked_plugins(pm: pluggy.PluginManager) -> list[BlockedPlugin]:
    """The blocked names, each with the built-in or installed plugin it keeps out."""
    entry_points = {ep.name: ep for ep in metadata.entry_points(group=hookspecs.PROJECT)}
    found = []
    for name, plugin in pm.list_name_plugin():
        if plugin is not None:
            continue
        if name in BUILTIN_PLUGINS:
            source = "built-in"
        elif (ep := entry_points.get(name)) is not None and ep.dist is not None:
            source = f"entry point of {ep.dist.metadata['Name']} {ep.dist.version}"
        else:
            source = "not installed"
        found.append(BlockedPlugin(name, source))
    return found


def _own_version() -> str:
    """casetrack's version: the built-in plugins ship with it."""
    try:
        return metadata.version(hookspecs.PROJECT)
    except metadata.PackageNotFoundError:  # run from a checkout that was never installed
        return "not installed"
