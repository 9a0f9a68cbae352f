"""casetrack.toml: precedence (default < file < environment < option), file:line errors,
`casetrack settings show` with sources and secrets masked, and the shipped example."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from cli.main import main
from core.settings import Settings, masked_url, shown_value
from core.sources.settings_file import (
    CONFIG_ENVIRONMENT,
    SettingsFileError,
    key_lines,
    load_settings,
    read_settings_file,
    resolve_settings,
)

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "docs" / "ops" / "casetrack.example.toml"
CASETRACK = Path(sys.executable).parent / "casetrack"


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No CASETRACK_* setting nor settings file from outside; cwd holds no casetrack.toml."""
    for name in list(os.environ):
        if name.startswith("CASETRACK_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def show(capsys: pytest.CaptureFixture[str], *argv: str) -> dict[str, dict[str, object]]:
    code = main([*argv, "settings", "show", "--json"])
    out, err = capsys.readouterr()
    assert code == 0, err
    return json.loads(out)["settings"]


def failing(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    code = main([*argv, "settings", "show"])
    out, err = capsys.readouterr()
    assert code == 2 and out == "" and "Traceback" not in err
    return err


# --- precedence -----------------------------------------------------------------------------


def test_file_then_environment_then_option(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    config = write(
        tmp_path / "site.toml",
        '# comment\nqueue = "from-file"\ntick_seconds = 3\n\nmax_attempts = 7\n',
    )
    monkeypatch.setenv("CASETRACK_TICK_SECONDS", "4")
    monkeypatch.setenv("CASETRACK_MAX_ATTEMPTS", "8")
    shown = show(capsys, "--config", str(config), "--set", "max_attempts=9")
    assert shown["queue"] == {"value": "from-file", "source": f"{config}:2"}
    assert shown["tick_seconds"] == {"value": 4.0, "source": "env CASETRACK_TICK_SECONDS"}
    assert shown["max_attempts"] == {"value": 9, "source": "option --set"}
    assert shown["case_prefix"] == {"value": "MS", "source": "default"}


def test_the_file_comes_from_config_env_or_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert resolve_settings(environ={}).path is None  # none: the defaults
    write(tmp_path / "casetrack.toml", 'queue = "cwd"\n')
    assert load_settings({}).queue == "cwd"
    named = write(tmp_path / "named.toml", 'queue = "named"\n')
    assert load_settings({CONFIG_ENVIRONMENT: str(named)}).queue == "named"
    given = write(tmp_path / "given.toml", 'queue = "given"\n')
    resolved = resolve_settings(config=str(given), environ={CONFIG_ENVIRONMENT: str(named)})
    assert resolved.settings.queue == "given"


def test_a_named_file_that_does_not_exist_is_an_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    err = failing(capsys, "--config", "nowhere.toml")
    assert "nowhere.toml: no such settings file (named by --config)" in err
    monkeypatch.setenv(CONFIG_ENVIRONMENT, "gone.toml")
    assert f"gone.toml: no such settings file (named by {CONFIG_ENVIRONMENT})" in failing(capsys)


def test_a_child_process_gets_the_file_and_the_options(tmp_path: Path) -> None:
    """What `serve --workers N` passes its worker processes: they resolve the same settings."""
    config = write(tmp_path / "casetrack.toml", 'queue = "file"\ntick_seconds = 2\n')
    parent = resolve_settings(config="casetrack.toml", environ={}, options={"tick_seconds": "5"})
    child_env = parent.child_environment()
    assert child_env == {CONFIG_ENVIRONMENT: str(config.resolve()), "CASETRACK_TICK_SECONDS": "5"}
    assert load_settings(child_env) == parent.settings


# --- errors at file:line --------------------------------------------------------------------


def test_an_unknown_key_is_file_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write(tmp_path / "casetrack.toml", 'queue = "q"\n\ntick_secs = 5\n')
    err = failing(capsys, "--config", str(config))
    assert f"error: {config}:3: unknown setting 'tick_secs' (did you mean tick_seconds?)" in err


def test_every_problem_is_listed_with_its_line(tmp_path: Path) -> None:
    config = write(
        tmp_path / "casetrack.toml",
        'max_attempts = "five"\n'  # wrong type
        "tick_seconds = 5\n"  # fine
        "db_connect_timeout = -1\n"  # below its minimum
        "[casetrack]\n"  # no sections
        'queue = "x"\n',
    )
    with pytest.raises(SettingsFileError) as caught:
        read_settings_file(config)
    lines = caught.value.detail.splitlines()
    assert lines == [
        f"{config}:1: max_attempts: Expected `int`, got `str`",
        f"{config}:3: db_connect_timeout: Expected `float` >= 0.0",
        f"{config}:4: unknown setting 'casetrack': a table the settings file does not know",
    ]


def test_a_wrong_type_stops_a_command_with_file_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write(tmp_path / "casetrack.toml", "\n\nbroker_url = 6379\n")
    err = failing(capsys, "--config", str(config), "db", "current")
    assert err == f"error: {config}:3: broker_url: Expected `str`, got `int`\n"


def test_a_toml_syntax_error_is_file_line_column(tmp_path: Path) -> None:
    config = write(tmp_path / "casetrack.toml", 'queue = "q"\ntick_seconds = 1.2.3\n')
    with pytest.raises(SettingsFileError, match=re.escape(f"{config}:2:")):
        read_settings_file(config)


def test_set_takes_known_names_and_values_of_their_kind(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert "--set tick_secons: unknown setting (did you mean tick_seconds?)" in failing(
        capsys, "--set", "tick_secons=5"
    )
    assert "--set max_attempts: Expected `int`, got `str`" in failing(
        capsys, "--set", "max_attempts=many"
    )
    assert "want NAME=VALUE" in failing(capsys, "--set", "queue")


def test_an_environment_value_of_the_wrong_kind_is_exit_2(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CASETRACK_MAX_ATTEMPTS", "many")
    assert "CASETRACK_MAX_ATTEMPTS: Expected `int`" in failing(capsys)


def test_key_lines_finds_quoted_dotted_and_table_keys() -> None:
    text = (
        "# header\n"
        'queue = "a = b"\n'
        '"case_prefix" = "X"\n'
        "  'timezone'= \"UTC\"\n"
        "var.dir = 1\n"
        "[db]\n"
        "database_url = 'inside a table: not top-level'\n"
        "[[jobs.x]]\n"
    )
    assert key_lines(text) == {
        "queue": 2,
        "case_prefix": 3,
        "timezone": 4,
        "var": 5,
        "db": 6,
        "jobs": 8,
    }


def test_a_bad_file_stops_a_real_process_without_a_trace(tmp_path: Path) -> None:
    write(tmp_path / "casetrack.toml", "queue = 1\nnope = 2\n")
    done = subprocess.run(
        [str(CASETRACK), "db", "current"], cwd=tmp_path, capture_output=True, text=True
    )
    assert done.returncode == 2, done.stderr
    assert done.stderr.splitlines() == [
        "error: casetrack.toml:1: queue: Expected `str`, got `int`",
        "error: casetrack.toml:2: unknown setting 'nope': a key the settings file does not know",
    ]


# --- settings show ----------------------------------------------------------------------------


def test_show_masks_secrets_and_url_passwords(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    config = write(
        tmp_path / "casetrack.toml",
        'database_url = "postgresql://casetrack:s3cret@db:5432/casetrack"\n'
        'audit_key = "an audit key of at least thirty-two characters"\n',
    )
    monkeypatch.setenv("CASETRACK_BROKER_URL", "amqp://guest:hunter2@mq:5672/")
    code = main(["--config", str(config), "settings", "show"])
    out, _ = capsys.readouterr()
    assert code == 0
    assert "s3cret" not in out and "thirty-two" not in out and "hunter2" not in out
    lines = {line.split(" = ")[0]: line for line in out.splitlines()[1:]}
    assert re.fullmatch(
        r'database_url = "postgresql://casetrack:\*\*\*@db:5432/casetrack" +'
        + re.escape(f"# {config}:1"),
        lines["database_url"],
    )
    assert re.fullmatch(rf'audit_key = "\*\*\*" +# {re.escape(str(config))}:2', lines["audit_key"])
    assert re.fullmatch(r"secret_key = \(unset\) +# default", lines["secret_key"])
    assert re.fullmatch(
        r'broker_url = "amqp://guest:\*\*\*@mq:5672/" +# env CASETRACK_BROKER_URL',
        lines["broker_url"],
    )
    assert out.splitlines()[0] == f"# settings file: {config}"


@pytest.mark.parametrize(
    ("name", "value", "shown"),
    [
        ("secret_key", "k", "***"),
        ("cisco_tac_client_secret", "s", "***"),  # any setting named like a secret
        ("smtp_password", "p", "***"),
        ("api_token", "t", "***"),
        ("audit_key", None, None),  # unset: nothing to hide
        ("broker_url", "redis://:pw@redis:6379/0", "redis://:***@redis:6379/0"),
        ("broker_url", "redis://redis:6379/0", "redis://redis:6379/0"),
        ("database_url", "sqlite:///var/casetrack.db", "sqlite:///var/casetrack.db"),
        ("tick_seconds", 15.0, 15.0),
    ],
)
def test_masking(name: str, value: object, shown: object) -> None:
    assert shown_value(name, value) == shown


def test_a_url_that_does_not_parse_is_left_alone() -> None:
    assert masked_url("http://[::1") == "http://[::1"


# --- the shipped example -----------------------------------------------------------------------


def test_the_example_file_loads_and_names_every_setting() -> None:
    """Every setting appears, as a key or (the keys that belong in the environment) as a
    commented-out line, so the example stays in step with core/settings.py."""
    data, _ = read_settings_file(EXAMPLE)
    assert load_settings({CONFIG_ENVIRONMENT: str(EXAMPLE)}).queue == "notifications"
    text = EXAMPLE.read_text(encoding="utf-8")
    commented = set(re.findall(r"^# (\w+) = ", text, flags=re.MULTILINE))
    assert commented <= {"secret_key", "audit_key"}
    assert set(data) | commented == set(Settings.__struct_fields__)
    assert tomllib.loads(text) == data


def test_config_is_spelled_in_full_and_before_the_command(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """It is read before the parser is built: an abbreviation or a place after the command
    would be taken by one reading and not the other, so the parser refuses both."""
    write(tmp_path / "x.toml", 'queue = "x"\n')
    with pytest.raises(SystemExit) as caught:
        main(["--conf", "x.toml", "settings", "show"])
    assert caught.value.code == 2
    with pytest.raises(SystemExit):
        main(["settings", "show", "--config", "x.toml"])
    capsys.readouterr()
