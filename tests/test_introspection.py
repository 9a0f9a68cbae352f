"""Introspection: `casetrack plugins list`, `casetrack check`, and plugin tracing."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import test_plugins

from cli.main import main
from core.plugins import (
    BUILTIN_PLUGINS,
    blocked_plugins,
    collect_named,
    describe_plugins,
    make_plugin_manager,
)

ROOT = Path(__file__).resolve().parent.parent
CONTRACTS = ROOT / "contracts"
CASETRACK = Path(sys.executable).with_name("casetrack")
acme_installed = test_plugins.acme_installed  # the fixture: a plugin installed as an entry point


@pytest.fixture(autouse=True)
def plain_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No CASETRACK_* from the outside: each test sets what it means."""
    for name in [k for k in os.environ if k.startswith("CASETRACK_")]:
        monkeypatch.delenv(name)


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


# --- plugins list ------------------------------------------------------------------------------


def test_plugins_list_shows_every_builtin_with_its_hooks(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, err = run(capsys, "plugins", "list")
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0].split() == ["PLUGIN", "VERSION", "DISTRIBUTION", "HOOKS"]
    rows = {line.split()[0]: line.split(None, 3) for line in lines[1:]}
    assert set(rows) >= set(BUILTIN_PLUGINS)
    assert rows["cn_holidays"][2] == "casetrack"
    assert rows["cn_holidays"][3] == "register_holiday_rules, register_holidays"
    assert rows["sms_notify"][3] == "register_notifiers"
    assert "blocked" not in out


@pytest.mark.usefixtures("acme_installed")
def test_plugins_list_json_names_an_entry_point_plugin_and_its_distribution(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, err = run(capsys, "plugins", "list", "--json")
    assert code == 0, err
    shown = json.loads(out)
    acme = next(p for p in shown["plugins"] if p["name"] == "acme")
    assert acme == {
        "name": "acme",
        "module": "acme_casetrack_hooks",
        "distribution": "acme-casetrack",
        "version": "1.0",
        "hooks": ["register_holidays", "register_zone_resolvers"],
        "source": "entry point",
    }
    builtin = next(p for p in shown["plugins"] if p["name"] == "weihai_zones")
    assert (builtin["source"], builtin["distribution"]) == ("built-in", "casetrack")
    assert builtin["hooks"] == ["register_zone_resolvers"]
    assert shown["blocked"] == []
    # built-ins first, then entry points
    assert [p["name"] for p in shown["plugins"]][-1] == "acme"


@pytest.mark.usefixtures("acme_installed")
def test_plugins_list_shows_blocked_plugins_and_what_they_are(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CASETRACK_DISABLED_PLUGINS", "sms_notify,acme,nosuch")
    code, out, err = run(capsys, "plugins", "list")
    assert code == 0, err
    assert "blocked: sms_notify (built-in; CASETRACK_DISABLED_PLUGINS)" in out
    assert "blocked: acme (entry point of acme-casetrack 1.0; CASETRACK_DISABLED_PLUGINS)" in out
    assert "blocked: nosuch (not installed; CASETRACK_DISABLED_PLUGINS)" in out
    listed = [line.split()[0] for line in out.splitlines()[1:] if not line.startswith("blocked")]
    assert "sms_notify" not in listed and "acme" not in listed
    code, out, _ = run(capsys, "plugins", "list", "--json")
    assert [b["name"] for b in json.loads(out)["blocked"]] == ["sms_notify", "acme", "nosuch"]


def test_a_plugin_registered_in_process_is_described_too() -> None:
    class Late:
        from core import hookimpl

        @hookimpl
        def register_notifiers(self, register: object) -> None:
            pass

    pm = make_plugin_manager(load_entrypoints=False, disabled=["vendor_rma"])
    pm.register(Late(), name="late")
    late = next(p for p in describe_plugins(pm) if p.name == "late")
    assert (late.source, late.distribution, late.hooks) == (
        "registered in process",
        "-",
        ("register_notifiers",),
    )
    assert [b.name for b in blocked_plugins(pm)] == ["vendor_rma"]


def install(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str, source: str) -> None:
    """A distribution ``<name>-casetrack`` declaring ``[casetrack] <name> = <name>_hooks``."""
    dist_info = tmp_path / f"{name}_casetrack-0.3.dist-info"
    dist_info.mkdir()
    metadata = f"Metadata-Version: 2.1\nName: {name}-casetrack\nVersion: 0.3\n"
    (dist_info / "METADATA").write_text(metadata, encoding="utf-8")
    entry_points = f"[casetrack]\n{name} = {name}_hooks\n"
    (dist_info / "entry_points.txt").write_text(entry_points, encoding="utf-8")
    (tmp_path / f"{name}_hooks.py").write_text(textwrap.dedent(source), "utf-8")
    monkeypatch.delitem(sys.modules, f"{name}_hooks", raising=False)
    monkeypatch.syspath_prepend(tmp_path)


def test_a_plugin_that_cannot_load_is_one_line_naming_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    install(tmp_path, monkeypatch, "broken", "import no_such_module_anywhere\n")
    code, out, err = run(capsys, "plugins", "list")
    assert (code, out) == (1, "")
    assert err.startswith("error: plugin 'broken': cannot load: ModuleNotFoundError: ")
    assert err.count("\n") == 1
    code, out, err = run(capsys, "check", "--contracts", str(CONTRACTS))
    assert code == 1
    assert "plugins: plugin 'broken': cannot load: ModuleNotFoundError" in err
    assert "plugins    1 problem: 7 registered" in out  # the built-ins, still checked
    assert "contracts  ok: 4 contracts" in out


def test_a_misspelt_hook_of_an_installed_plugin_names_the_plugin(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    source = """
        from core import hookimpl

        @hookimpl
        def register_notifier(register):
            pass
    """
    install(tmp_path, monkeypatch, "typo", source)
    code, _, err = run(capsys, "check", "--contracts", str(CONTRACTS))
    assert code == 1
    assert "plugins: plugin 'typo': unknown hook 'register_notifier'" in err


# --- tracing -----------------------------------------------------------------------------------


def test_tracing_covers_registration_hooks(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CASETRACK_TRACE_PLUGINS", "1")
    pm = make_plugin_manager(load_entrypoints=False, disabled=[])
    notifiers = collect_named(pm, "register_notifiers")
    out, err = capsys.readouterr()
    assert out == ""  # never mixed into a command's output
    assert set(notifiers) >= {"sms", "email"}  # each plugin still got its own callback
    lines = err.splitlines()
    assert lines[0].startswith("plugin trace: registered cn_holidays, email_notify")
    assert "plugin trace: register_notifiers(register) -> sms_notify" in lines
    assert "plugin trace: register_notifiers(register) -> email_notify" in lines


def test_tracing_names_arguments_never_their_values(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CASETRACK_TRACE_PLUGINS", "1")
    pm = make_plugin_manager(load_entrypoints=False, disabled=[])
    pm.hook.case_event_recorded(event="caller 13906310001", contract=None)
    err = capsys.readouterr().err
    assert "plugin trace: case_event_recorded(event, contract) -> " in err
    assert "13906310001" not in err


def test_without_the_variable_nothing_is_traced(capsys: pytest.CaptureFixture[str]) -> None:
    pm = make_plugin_manager(load_entrypoints=False, disabled=[])
    collect_named(pm, "register_notifiers")
    assert capsys.readouterr() == ("", "")


# --- check -------------------------------------------------------------------------------------


def contracts_copy(tmp_path: Path) -> Path:
    folder = tmp_path / "contracts"
    shutil.copytree(CONTRACTS, folder)
    return folder


def test_check_all_good_exits_0_with_a_line_per_part(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "check", "--contracts", str(CONTRACTS))
    assert code == 0, err
    lines = out.splitlines()
    assert [line.split()[0] for line in lines[:-1]] == [
        "settings",
        "plugins",
        "contracts",
        "staff",
        "holidays",
    ]
    assert all(line.split()[1].startswith("ok") for line in lines[:-1])
    assert "4 contracts, 19 devices" in out and "people (" in out and "CN 2004-" in out
    assert lines[-1] == "ok: no problems found"
    # stderr holds at most the holiday-horizon warning (wall-clock dependent: test_horizon)
    assert all(line.startswith("warning: calendar region ") for line in err.splitlines())


def test_check_reports_every_part_in_one_pass(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = contracts_copy(tmp_path)
    staff = folder / "staff" / "staff.yaml"
    staff.write_text(
        staff.read_text("utf-8").replace('mobile: "13963112311"', 'mobile: "0631-5187762"', 1),
        "utf-8",
    )
    school = folder / "rushan-no1-school.yaml"
    school.write_text(school.read_text("utf-8").replace("tier: 8x5xNBD", "tier: 9x9", 1), "utf-8")
    (folder / "calendars" / "broken.yaml").write_text(
        "region: CN\nyear: 2031\nsource: x\nholidays: [2030-01-01]\n", "utf-8"
    )
    monkeypatch.setenv("CASETRACK_CLOCK_SKEW_SECONDS", "soon")
    code, out, err = run(capsys, "check", "--contracts", str(folder))
    assert code == 1
    assert "settings: CASETRACK_CLOCK_SKEW_SECONDS: " in err
    assert f"{staff}:" in err and "is a mainland landline, not a mobile number" in err
    assert f"{school}:" in err and "9x9" in err
    assert f"{folder / 'calendars' / 'broken.yaml'}:4:" in err
    parts = {line.split()[0]: line for line in out.splitlines()[:5]}
    assert parts["settings"].startswith("settings   1 problem")
    assert parts["plugins"].startswith("plugins    ok")
    assert parts["staff"].startswith("staff      1 problem")
    assert "1 problem" in parts["holidays"]
    assert "problem" in parts["contracts"] and "ok" not in parts["contracts"].split()[1]
    assert out.splitlines()[-1].endswith("problems found")
    assert "Traceback" not in err


def test_check_defaults_to_the_settings_contracts_dir(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = contracts_copy(tmp_path)
    (folder / "staff" / "staff.yaml").unlink()
    monkeypatch.setenv("CASETRACK_CONTRACTS_DIR", str(folder))
    code, out, err = run(capsys, "check")
    assert code == 0, err
    assert "no " + str(folder / "staff" / "staff.yaml") in out  # a note, not a failure


def test_check_usage_error_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["check", "--no-such-option"])
    assert exit_.value.code == 2
    assert "unrecognized arguments: --no-such-option" in capsys.readouterr().err


def test_invalid_settings_still_stop_every_other_command(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CASETRACK_CLOCK_SKEW_SECONDS", "soon")
    code, out, err = run(capsys, "contracts", "check", str(CONTRACTS))
    assert (code, out) == (2, "")  # a settings problem is a usage error (cli/main.py)
    assert err.startswith("error: CASETRACK_CLOCK_SKEW_SECONDS: ")


def test_check_exit_status_as_ci_sees_it(tmp_path: Path) -> None:
    """The installed console script exits 1 with problems (0 and 2: in-process above)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CASETRACK_")}
    broken = contracts_copy(tmp_path)
    (broken / "staff" / "staff.yaml").write_text("people: []\n", "utf-8")
    done = subprocess.run(
        [str(CASETRACK), "check", "--contracts", str(broken)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1, done.stderr
    assert f"{broken / 'staff' / 'staff.yaml'}:1:" in done.stderr
