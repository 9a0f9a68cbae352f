"""YAML → msgspec with positions: every error names file:line:column and the YAML path."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import msgspec
import yaml

from core.errors import ContractError, Problem

T = TypeVar("T")


class _Loader(yaml.SafeLoader):
    """SafeLoader without YAML 1.1's base-60 numbers, so ``15:00`` stays the string "15:00"."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if "60" not in rx.pattern and ":" not in rx.pattern]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
for _tag, _rx, _first in (
    ("tag:yaml.org,2002:int", r"^(?:[-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)"
     r"|[-+]?0x[0-9a-fA-F_]+)$", list("-+0123456789")),
    ("tag:yaml.org,2002:float", r"^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?"
     r"|\.[0-9_]+(?:[eE][-+][0-9]+)?|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$",
     list("-+0123456789.")),
):
    _Loader.add_implicit_resolver(_tag, re.compile(_rx, re.X), _first)


@dataclass
class YamlDoc:
    """A parsed YAML document: its data plus the node tree to locate any path in it."""

    file: str
    data: Any
    root: yaml.Node | None

    def locate(self, path: str) -> tuple[int | None, int | None]:
        """(line, column), 1-based, of the deepest node reachable along ``path``."""
        node = self.root
        if node is None:
            return None, None
        for step in _steps(path):
            child = _child(node, step)
            if child is None:
                break
            node = child
        return node.start_mark.line + 1, node.start_mark.column + 1

    def problem(self, path: str, message: str) -> Problem:
        line, column = self.locate(path)
        return Problem(self.file, line, column, path, message)


def parse(path: Path | str, text: str | None = None) -> YamlDoc:
    """Parse one YAML file; syntax errors and duplicate keys raise ContractError with position."""
    file = str(path)
    if text is None:
        try:
            text = Path(path).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ContractError([Problem(file, None, None, "$", f"cannot read: {exc}")]) from exc
    loader = _Loader(text)
    try:
        root = loader.get_single_node()
        problems = list(_duplicate_keys(file, root, "$"))
        if problems:
            raise ContractError(problems)
        data = loader.construct_document(root) if root is not None else None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (None, None)
        msg = " ".join(filter(None, [exc.context, exc.problem])) or str(exc)
        raise ContractError([Problem(file, line, col, "$", f"YAML syntax: {msg}")]) from exc
    except yaml.YAMLError as exc:
        raise ContractError([Problem(file, None, None, "$", f"YAML: {exc}")]) from exc
    finally:
        loader.dispose()
    return YamlDoc(file, data, root)


def convert(doc: YamlDoc, type_: type[T], *, path: str = "$", data: Any = None) -> T:
    """msgspec-convert ``doc.data`` (or ``data`` found at ``path``) to ``type_``.

    A validation error becomes a ContractError located at the offending node.
    """
    value = doc.data if data is None else data
    try:
        return msgspec.convert(value, type_, strict=False)
    except msgspec.ValidationError as exc:
        raise ContractError([validation_problem(doc, exc, base=path)]) from exc


_AT = re.compile(r" - at `(\$[^`]*)`$")
_UNKNOWN = re.compile(r"^Object contains unknown field `([^`]+)`$")


def validation_problem(doc: YamlDoc, exc: msgspec.ValidationError, base: str = "$") -> Problem:
    """Translate msgspec's "Expected X, got Y - at `$.a[0]`" into a located Problem."""
    text = str(exc)
    match = _AT.search(text)
    rel = match.group(1) if match else "$"
    message = text[: match.start()] if match else text
    full = base + rel[1:]
    unknown = _UNKNOWN.match(message)
    if unknown:
        # point at the unknown key itself, not at the mapping that holds it
        full = f"{full}.{unknown.group(1)}"
        message = f"unknown key {unknown.group(1)!r}"
    return doc.problem(full, _friendly(message))


def _friendly(message: str) -> str:
    message = message.replace("Object missing required field", "missing required key")
    return message.replace("Expected `", "expected `")


_STEP = re.compile(r"\.([^.\[\]]+)|\[(\d+|\.\.\.)\]|\[([^\]]*)\]")


def _steps(path: str) -> Iterator[str | int]:
    for m in _STEP.finditer(path.removeprefix("$")):
        if m.group(1) is not None:
            yield m.group(1)
        elif m.group(2) is not None:
            if m.group(2) == "...":
                return
            yield int(m.group(2))
        else:
            yield m.group(3).strip("'\"")


def _child(node: yaml.Node, step: str | int) -> yaml.Node | None:
    if isinstance(node, yaml.SequenceNode) and isinstance(step, int):
        return node.value[step] if 0 <= step < len(node.value) else None
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            if isinstance(key, yaml.ScalarNode) and key.value == str(step):
                return value
    return None


def key_node(doc: YamlDoc, path: str) -> tuple[int | None, int | None]:
    """Position of the *key* of the last step in ``path`` (for unknown / duplicate keys)."""
    return doc.locate(path)


def _duplicate_keys(file: str, node: yaml.Node | None, path: str) -> Iterator[Problem]:
    if isinstance(node, yaml.MappingNode):
        seen: dict[str, yaml.Node] = {}
        for key, value in node.value:
            name = key.value if isinstance(key, yaml.ScalarNode) else str(key)
            if name in seen:
                first = seen[name].start_mark.line + 1
                yield Problem(
                    file,
                    key.start_mark.line + 1,
                    key.start_mark.column + 1,
                    f"{path}.{name}",
                    f"duplicate key {name!r} (first at line {first})",
                )
            else:
                seen[name] = key
            yield from _duplicate_keys(file, value, f"{path}.{name}")
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            yield from _duplicate_keys(file, item, f"{path}[{i}]")
