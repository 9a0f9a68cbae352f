"""The settings file, ``casetrack.toml``, and where each effective setting came from.

Precedence, lowest first: the built-in default, the file, a ``CASETRACK_*`` environment
variable, a command-line option. The file is a flat TOML table whose keys are the
``Settings`` field names (no sections); an unknown key or a value of the wrong type is an
error at ``file:line``. Which file: ``--config PATH``, else ``CASETRACK_CONFIG``, else
``./casetrack.toml`` if it exists, else none. (docs/deploy.md, "Settings")

tomllib gives no positions, so ``key_lines`` finds each top-level key's line with a small
scan of the text.
"""

from __future__ import annotations

import difflib
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import msgspec

from core.settings import Settings, SettingsError

CONFIG_ENVIRONMENT = "CASETRACK_CONFIG"
DEFAULT_FILE = "casetrack.toml"
PREFIX = "CASETRACK_"

Kind = Literal["default", "file", "env", "option"]


class SettingsFileError(SettingsError):
    """The settings file cannot be read, or holds an unknown key or a value of the wrong type;
    also a ``--set`` option naming no setting."""

    title = "invalid settings file"


@dataclass(frozen=True, slots=True)
class Origin:
    """Where one effective setting came from."""

    kind: Kind
    where: str = ""  # "casetrack.toml:12", "CASETRACK_QUEUE", "--set"

    def __str__(self) -> str:
        if self.kind == "default":
            return "default"
        if self.kind == "file":
            return self.where
        return f"{self.kind} {self.where}"


DEFAULT = Origin("default")


@dataclass(frozen=True)
class ResolvedSettings:
    """The effective settings, each one's origin, the file read (if any) and the raw text of
    the options, for a child process to receive as environment variables."""

    settings: Settings
    origins: Mapping[str, Origin]
    path: Path | None = None
    option_texts: Mapping[str, str] = field(default_factory=dict)

    def child_environment(self) -> dict[str, str]:
        """What a subprocess needs in its environment to resolve the same settings: the
        file's absolute path and, as ``CASETRACK_*`` variables, what options overrode (the
        child has no command line; the environment ranks just below options, above the file).
        """
        child = {f"{PREFIX}{name.upper()}": text for name, text in self.option_texts.items()}
        if self.path is not None:
            child[CONFIG_ENVIRONMENT] = str(self.path.resolve())
        return child


# --- which file --------------------------------------------------------------------------------


def config_path(given: str | None, environ: Mapping[str, str]) -> Path | None:
    """``--config``, else ``CASETRACK_CONFIG``, else ``./casetrack.toml`` if it exists."""
    if given:
        return _existing(Path(given), "--config")
    named = environ.get(CONFIG_ENVIRONMENT, "").strip()
    if named:
        return _existing(Path(named), CONFIG_ENVIRONMENT)
    default = Path(DEFAULT_FILE)
    return default if default.is_file() else None


def _existing(path: Path, named_by: str) -> Path:
    if not path.is_file():
        raise SettingsFileError(f"{path}: no such settings file (named by {named_by})")
    return path


# --- reading the file ----------------------------------------------------------------------------

_POSITION = re.compile(r"\s*\(at line (\d+), column (\d+)\)\s*$")
_BARE_KEY = r"[A-Za-z0-9_-]+"
_KEY = rf"(?:\"(?P<dq>[^\"]*)\"|'(?P<sq>[^']*)'|(?P<bare>{_BARE_KEY}))"
_ASSIGNMENT = re.compile(rf"^\s*{_KEY}\s*[.=]")
_HEADER = re.compile(rf"^\s*\[\[?\s*{_KEY}")


def key_lines(text: str) -> dict[str, int]:
    """The 1-based line of each top-level key: an assignment before the first table header,
    or the header that opens a table (``[name]``, ``[[name]]``, ``[name.sub]``). The first
    occurrence wins; a key written only inside a multi-line string is not a key, but this
    scan does not parse strings, so such a line could be taken for one (good enough for an
    error's position)."""
    found: dict[str, int] = {}
    in_table = False
    for number, line in enumerate(text.splitlines(), start=1):
        header = _HEADER.match(line)
        if header:
            in_table = True
            found.setdefault(_key_of(header), number)
            continue
        assignment = None if in_table else _ASSIGNMENT.match(line)
        if assignment:
            found.setdefault(_key_of(assignment), number)
    return found


def _key_of(match: re.Match[str]) -> str:
    return next(g for g in (match["dq"], match["sq"], match["bare"]) if g is not None)


def read_settings_file(path: Path) -> tuple[dict[str, Any], dict[str, int]]:
    """The file's settings (checked: known keys, right types) and each key's line.
    SettingsFileError lists every problem, one ``file:line: ...`` per line."""
    try:
        text = path.read_bytes().decode("utf-8")
    except OSError as exc:
        raise SettingsFileError(f"{path}: cannot read: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise SettingsFileError(f"{path}: not UTF-8 text (byte {exc.start})") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SettingsFileError(_decode_error(path, str(exc))) from None
    lines = key_lines(text)
    problems = [
        f"{path}:{lines.get(key, 1)}: {problem}"
        for key, value in data.items()
        if (problem := _problem(key, value))
    ]
    if problems:
        raise SettingsFileError("\n".join(problems))
    return data, lines


def _decode_error(path: Path, message: str) -> str:
    """tomllib's "Invalid value (at line 3, column 9)" → "casetrack.toml:3:9: Invalid value"."""
    position = _POSITION.search(message)
    if position is None:
        return f"{path}: {message}"
    return f"{path}:{position[1]}:{position[2]}: {message[: position.start()]}"


def _problem(key: str, value: object) -> str | None:
    """Why ``key = value`` is not a setting, or None."""
    fields = Settings.__struct_fields__
    if key not in fields:
        close = difflib.get_close_matches(key, fields, n=1)
        hint = f" (did you mean {close[0]}?)" if close else ""
        kind = "a table" if isinstance(value, dict) else "a key"
        return f"unknown setting {key!r}{hint}: {kind} the settings file does not know"
    try:
        msgspec.convert({key: value}, Settings)  # strict: TOML values are typed
    except msgspec.ValidationError as exc:
        return f"{key}: {_without_path(str(exc))}"
    return None


def _without_path(message: str) -> str:
    """msgspec's "Expected `int`, got `str` - at `$.max_attempts`" → "Expected `int`, got `str`"."""
    return message.rpartition(" - at `$.")[0] or message


# --- the environment and options ---------------------------------------------------------------


def environment_values(environ: Mapping[str, str]) -> dict[str, str]:
    """The ``CASETRACK_*`` variables that name a setting (checked: SettingsError names the
    variable of a value of the wrong kind)."""
    values = {
        name: environ[f"{PREFIX}{name.upper()}"]
        for name in Settings.__struct_fields__
        if f"{PREFIX}{name.upper()}" in environ
    }
    Settings.from_env(environ)  # the existing check and its CASETRACK_X messages
    return values


def parse_assignments(assignments: list[str], option: str = "--set") -> dict[str, str]:
    """``["queue=night", ...]`` → ``{"queue": "night"}``, checked like environment values."""
    values: dict[str, str] = {}
    for assignment in assignments:
        name, sep, text = assignment.partition("=")
        name = name.strip()
        if not sep:
            raise SettingsFileError(f"{option} {assignment!r}: want NAME=VALUE")
        problem = _option_problem(name, text)
        if problem:
            raise SettingsFileError(f"{option} {name}: {problem}")
        values[name] = text
    return values


def _option_problem(name: str, text: str) -> str | None:
    fields = Settings.__struct_fields__
    if name not in fields:
        close = difflib.get_close_matches(name, fields, n=1)
        return "unknown setting" + (f" (did you mean {close[0]}?)" if close else "")
    try:
        msgspec.convert({name: text}, Settings, strict=False)  # text, as in the environment
    except msgspec.ValidationError as exc:
        return _without_path(str(exc))
    return None


# --- all together ------------------------------------------------------------------------------


def resolve_settings(
    *,
    config: str | None = None,
    environ: Mapping[str, str],
    options: Mapping[str, str] | None = None,
    option_name: str = "--set",
) -> ResolvedSettings:
    """The effective settings: defaults < the file < ``CASETRACK_*`` < ``options``
    (texts, e.g. from ``--set NAME=VALUE``, already checked by ``parse_assignments``)."""
    options = dict(options or {})
    path = config_path(config, environ)
    file_values, lines = read_settings_file(path) if path is not None else ({}, {})
    env_values = environment_values(environ)
    origins: dict[str, Origin] = {name: DEFAULT for name in Settings.__struct_fields__}
    origins.update({k: Origin("file", f"{path}:{lines.get(k, 1)}") for k in file_values})
    origins.update({k: Origin("env", f"{PREFIX}{k.upper()}") for k in env_values})
    origins.update({k: Origin("option", option_name) for k in options})
    merged: dict[str, Any] = {**file_values, **env_values, **options}
    try:
        # each source was checked on its own; text (env, options) must become numbers
        settings = msgspec.convert(merged, Settings, strict=False)
    except msgspec.ValidationError as exc:  # pragma: no cover - every source was checked
        raise SettingsFileError(str(exc)) from None
    return ResolvedSettings(settings, origins, path, options)


def load_settings(environ: Mapping[str, str]) -> Settings:
    """The settings of a process started without a command line (a server worker): the file
    named by ``CASETRACK_CONFIG`` (or ``./casetrack.toml``), then the environment."""
    return resolve_settings(environ=environ).settings
