"""The plugin manager: built-ins, blocking, duplicates, entry points, and the hook meta-tests."""

from __future__ import annotations

import inspect
import re
import sys
import textwrap
from datetime import UTC, date, datetime
from pathlib import Path

import msgspec
import pluggy
import pytest

from core import hookimpl, hookspecs
from core.errors import PluginError
from core.events import NoteAdded, RecordedEvent
from core.plugins import (
    BUILTIN_PLUGINS,
    call_register_hook,
    collect_named,
    make_plugin_manager,
    plugin_names,
)
from core.sources.registry import build_registry
from plugins.vendor_rma.channels import RmaChannel

ROOT = Path(__file__).resolve().parents[1]
HOOK_DOCS = ROOT / "docs" / "plugin_hooks.md"


def _spec_names() -> list[str]:
    pm = pluggy.PluginManager(hookspecs.PROJECT)
    pm.add_hookspecs(hookspecs)
    return sorted(name for name in dir(pm.hook) if not name.startswith("_"))


HOOKS = _spec_names()


def fresh_pm(**kwargs: object) -> pluggy.PluginManager:
    kwargs.setdefault("disabled", [])
    return make_plugin_manager(load_entrypoints=False, **kwargs)


# --- the manager -----------------------------------------------------------------------------


def test_builtin_plugins_are_registered_under_their_short_names() -> None:
    pm = fresh_pm()
    assert set(BUILTIN_PLUGINS) <= set(plugin_names(pm))
    for name, module in BUILTIN_PLUGINS.items():
        assert pm.get_plugin(name).__name__ == module


def test_check_pending_accepts_the_builtins() -> None:
    fresh_pm().check_pending()


def test_check_pending_rejects_a_misspelt_hookimpl() -> None:
    class Typo:
        @hookimpl
        def register_zone_resolver(self, register):  # missing "s": matches no spec
            register("x", object())

    pm = fresh_pm()
    pm.register(Typo(), name="typo")
    with pytest.raises(pluggy.PluginValidationError, match="register_zone_resolver"):
        pm.check_pending()


def test_disabled_plugins_are_blocked() -> None:
    pm = fresh_pm(disabled=["weihai_zones"])
    assert pm.is_blocked("weihai_zones")
    assert "weihai_zones" not in plugin_names(pm)
    assert "weihai_zones" not in collect_named(pm, "register_zone_resolvers")
    assert "cn_holidays" in plugin_names(pm)


def test_disabled_plugins_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CASETRACK_DISABLED_PLUGINS", " sms_notify , vendor_rma,")
    pm = make_plugin_manager(load_entrypoints=False)
    assert {"sms_notify", "vendor_rma"}.isdisjoint(plugin_names(pm))
    assert collect_named(pm, "register_rma_channels") == {}


def test_duplicate_registration_names_both_plugins() -> None:
    class Impostor:
        @hookimpl
        def register_zone_resolvers(self, register):
            register("weihai_zones", object())

    pm = fresh_pm()
    pm.register(Impostor(), name="impostor")
    with pytest.raises(PluginError) as caught:
        collect_named(pm, "register_zone_resolvers")
    assert caught.value.plugin == "impostor"
    assert "'weihai_zones'" in str(caught.value)
    assert "already registered by 'weihai_zones'" in str(caught.value)


def test_register_hooks_run_builtins_first_then_later_plugins() -> None:
    calls: list[tuple[str, str]] = []

    class Late:
        @hookimpl
        def register_rma_channels(self, register):
            register("hpe", object())

    pm = fresh_pm()
    pm.register(Late(), name="late")

    def make_register(plugin: str):
        return lambda name, channel: calls.append((plugin, name))

    call_register_hook(pm, "register_rma_channels", make_register)
    assert calls == [("vendor_rma", "digital_china"), ("vendor_rma", "cisco_tac"), ("late", "hpe")]


ACME_HOOKS = '''
"""A third-party casetrack plugin, installed through entry-point metadata only."""

from datetime import date

from core import hookimpl
from core.zones import ZoneMatch


class Everywhere:
    zones = ("acme",)

    def resolve(self, site, config=None):
        return ZoneMatch(zone="acme", reason="acme serves every site")


@hookimpl
def register_zone_resolvers(register):
    register("acme_zones", Everywhere())


@hookimpl
def register_holidays(register):
    register("ACME", 2030, holidays=[date(2030, 1, 1)], source="acme")
'''


@pytest.fixture
def acme_installed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A distribution ``acme-casetrack`` on sys.path declaring ``[casetrack] acme = ...``."""
    dist_info = tmp_path / "acme_casetrack-1.0.dist-info"
    dist_info.mkdir()
    (dist_info / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: acme-casetrack\nVersion: 1.0\n", encoding="utf-8"
    )
    (dist_info / "entry_points.txt").write_text(
        "[casetrack]\nacme = acme_casetrack_hooks\n", encoding="utf-8"
    )
    (tmp_path / "acme_casetrack_hooks.py").write_text(textwrap.dedent(ACME_HOOKS), "utf-8")
    # forget the module afterwards so other tests never see it
    monkeypatch.delitem(sys.modules, "acme_casetrack_hooks", raising=False)
    monkeypatch.syspath_prepend(tmp_path)  # also invalidates importlib's caches
    return tmp_path


def test_entry_point_plugin_is_discovered(acme_installed: Path) -> None:
    pm = make_plugin_manager(load_entrypoints=True, disabled=[])
    assert "acme" in plugin_names(pm)
    resolvers = collect_named(pm, "register_zone_resolvers")
    assert set(resolvers) >= {"acme_zones", "weihai_zones"}
    assert build_registry(pm).region("ACME").year(2030).holidays == {date(2030, 1, 1)}


def test_entry_point_plugin_can_be_disabled(acme_installed: Path) -> None:
    pm = make_plugin_manager(load_entrypoints=True, disabled=["acme"])
    assert "acme" not in plugin_names(pm)
    assert "acme_zones" not in collect_named(pm, "register_zone_resolvers")


# --- hooks without a plugin of their own -----------------------------------------------------


def test_hook_register_notifiers_builtin_email_and_sms() -> None:
    notifiers = collect_named(fresh_pm(), "register_notifiers")
    assert set(notifiers) == {"email", "sms"}
    assert all(callable(getattr(sender, "send", None)) for sender in notifiers.values())


def test_hook_register_notifiers_collects_a_plugin_sender() -> None:
    sender = object()

    class Wecom:
        @hookimpl
        def register_notifiers(self, register):
            register("wecom", sender)

    pm = fresh_pm()
    pm.register(Wecom(), name="wecom")
    assert collect_named(pm, "register_notifiers")["wecom"] is sender


def test_hook_register_rma_channels_builtin_descriptors() -> None:
    channels = collect_named(fresh_pm(), "register_rma_channels")
    assert sorted(channels) == ["cisco_tac", "digital_china"]
    assert all(isinstance(c, RmaChannel) and c.name == n for n, c in channels.items())
    assert "third business day" in channels["digital_china"].description
    assert "Beijing or Shanghai" in channels["digital_china"].description
    assert "hpe" not in channels  # a contract naming it must fail to load
    with pytest.raises(AttributeError):
        channels["cisco_tac"].vendor = "changed"  # descriptors are frozen
    encoded = msgspec.json.encode(channels["cisco_tac"])
    assert msgspec.json.decode(encoded, type=RmaChannel) == channels["cisco_tac"]


def test_hook_register_contract_checks_collects_named_checks() -> None:
    def no_empty_sites(contract, context):
        yield "$.devices[0].site", "a device needs a site"

    class Checks:
        @hookimpl
        def register_contract_checks(self, register):
            register("no_empty_sites", no_empty_sites)

    pm = fresh_pm()
    pm.register(Checks(), name="checks")
    checks = collect_named(pm, "register_contract_checks")
    assert list(checks["no_empty_sites"](None, None)) == [
        ("$.devices[0].site", "a device needs a site")
    ]


def test_hook_case_event_recorded_reaches_every_plugin_with_a_subset_of_args() -> None:
    seen: list[tuple[str, object]] = []

    class WithContract:
        @hookimpl
        def case_event_recorded(self, event, contract):
            seen.append(("both", (event, contract)))

    class EventOnly:
        @hookimpl
        def case_event_recorded(self, event):
            seen.append(("event", event))
            return "ignored"

    pm = fresh_pm()
    pm.register(WithContract(), name="with_contract")
    pm.register(EventOnly(), name="event_only")
    event = RecordedEvent(
        case_number="MS-2026-000001",
        seq=2,
        at=datetime(2026, 10, 14, 2, 0, tzinfo=UTC),
        actor="agent:li",
        visibility="internal",
        kind="note",
        body=NoteAdded(text="PSU LED amber"),
        hash="0" * 64,
    )
    pm.hook.case_event_recorded(event=event, contract=None)
    assert sorted(seen, key=str) == [("both", (event, None)), ("event", event)]
    # plugins get a frozen, typed record: no ORM row, nothing to change
    assert isinstance(event.body, NoteAdded) and event.body.text == "PSU LED amber"
    with pytest.raises(AttributeError):
        event.body.text = "edited"  # type: ignore[misc]


# --- meta: every hook is specified, documented and tested ------------------------------------


def test_there_are_hooks() -> None:
    assert "register_zone_resolvers" in HOOKS
    assert "register_holidays" in HOOKS


@pytest.mark.parametrize("hook", HOOKS)
def test_hookspec_has_a_docstring(hook: str) -> None:
    doc = inspect.getdoc(getattr(hookspecs, hook))
    assert doc, f"core.hookspecs.{hook} has no docstring"


def _doc_sections() -> dict[str, str]:
    """Heading line → section text of docs/plugin_hooks.md's level-2 sections."""
    text = HOOK_DOCS.read_text(encoding="utf-8")
    parts = re.split(r"^## ", text, flags=re.MULTILINE)[1:]
    return {part.splitlines()[0]: part for part in parts}


@pytest.mark.parametrize("hook", HOOKS)
def test_hook_is_documented_with_all_its_arguments(hook: str) -> None:
    pm = pluggy.PluginManager(hookspecs.PROJECT)
    pm.add_hookspecs(hookspecs)
    argnames = getattr(pm.hook, hook).spec.argnames
    signature = f"{hook}({', '.join(argnames)})"
    sections = _doc_sections()
    assert signature in sections, f"docs/plugin_hooks.md needs a heading '## {signature}'"
    body = sections[signature]
    for arg in argnames:
        assert re.search(rf"`{arg}`", body), f"{hook}: argument {arg!r} is not described"


@pytest.mark.parametrize("hook", HOOKS)
def test_hook_has_a_test(hook: str) -> None:
    tests = "\n".join(p.read_text(encoding="utf-8") for p in (ROOT / "tests").rglob("*.py"))
    assert re.search(rf"def test_hook_{hook}\w*\(", tests), f"no test_hook_{hook}_... test"
