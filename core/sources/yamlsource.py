"""YAML → msgspec with positions: every error names file:line:column and the YAML path."""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import UnionType
from typing import Annotated, Any, Literal, TypeVar, Union, cast, get_args, get_origin

import msgspec
import yaml

from core.errors import ContractError, Problem
from core.limits import YamlLimits

T = TypeVar("T")


DEFAULT_LIMITS = YamlLimits()
# longer numbers are refused (int() of 100,000 digits is slow, and Python refuses > 4,300)
MAX_NUMBER_CHARS = 100


class LimitExceeded(yaml.MarkedYAMLError):
    """A YAML file over one of the YamlLimits, with the position where it went over."""


class _Loader(yaml.SafeLoader):
    """SafeLoader without YAML 1.1's base-60 numbers, so ``15:00`` stays the string "15:00".

    Composing counts depth, aliases, expanded nodes and time against ``limits``.
    """

    def __init__(
        self,
        stream: str,
        limits: YamlLimits = DEFAULT_LIMITS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(stream)
        self.limits, self._clock = limits, clock
        self._deadline = clock() + limits.max_seconds
        self._depth = self._aliases = 0
        # id(node) -> (nodes it expands to, its height); only finished nodes are here
        self._sizes: dict[int, tuple[int, int]] = {}

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node:
        event = self.peek_event()
        mark = event.start_mark
        if self._clock() > self._deadline:
            raise LimitExceeded(
                problem=f"reading took longer than {self.limits.max_seconds:g} s "
                "(CASETRACK_YAML_MAX_SECONDS)",
                problem_mark=mark,
            )
        if isinstance(event, yaml.AliasEvent):
            return self._alias(parent, index, event)
        self._depth += 1
        if self._depth > self.limits.max_depth:
            raise LimitExceeded(
                problem=f"nested deeper than {self.limits.max_depth} levels "
                "(CASETRACK_YAML_MAX_DEPTH)",
                problem_mark=mark,
            )
        try:
            node = super().compose_node(parent, index)
        finally:
            self._depth -= 1
        assert node is not None  # PyYAML returns a node or raises; its stubs say Node | None
        self._measure(node)
        return node

    def _alias(self, parent: yaml.Node | None, index: Any, event: yaml.AliasEvent) -> yaml.Node:
        # the pure-Python loader makes yaml.Mark, never the C one the stubs also allow
        mark = cast("yaml.Mark | None", event.start_mark)
        self._aliases += 1
        if self._aliases > self.limits.max_aliases:
            raise LimitExceeded(
                problem=f"more than {self.limits.max_aliases} aliases (CASETRACK_YAML_MAX_ALIASES)",
                problem_mark=mark,
            )
        node = super().compose_node(parent, index)
        if id(node) not in self._sizes:  # its anchor is still open: a node inside itself
            raise LimitExceeded(
                problem=f"alias *{event.anchor} refers to a node that contains it",
                problem_mark=mark,
            )
        assert node is not None  # PyYAML returns a node or raises; its stubs say Node | None
        return node

    def _measure(self, node: yaml.Node) -> None:
        """Record the node's expanded size and height; refuse it over the limits."""
        if isinstance(node, yaml.SequenceNode):
            children = node.value
        elif isinstance(node, yaml.MappingNode):
            children = [item for pair in node.value for item in pair]
        else:
            children = []
        sizes = [self._sizes[id(child)] for child in children]
        count = 1 + sum(size for size, _ in sizes)
        height = 1 + max((h for _, h in sizes), default=0)
        if count > self.limits.max_nodes:
            raise LimitExceeded(
                problem=f"expands to more than {self.limits.max_nodes:,} nodes, aliases "
                "repeated (CASETRACK_YAML_MAX_NODES)",
                problem_mark=node.start_mark,
            )
        if height > self.limits.max_depth:
            raise LimitExceeded(
                problem=f"nested deeper than {self.limits.max_depth} levels through aliases "
                "(CASETRACK_YAML_MAX_DEPTH)",
                problem_mark=node.start_mark,
            )
        self._sizes[id(node)] = (count, height)


def _number(construct: Callable[[Any, yaml.ScalarNode], Any]) -> Callable[..., Any]:
    def guarded(loader: _Loader, node: yaml.ScalarNode) -> Any:
        if len(node.value) > MAX_NUMBER_CHARS:
            raise LimitExceeded(
                problem=f"a number of {len(node.value):,} characters; at most "
                f"{MAX_NUMBER_CHARS} (quote it if it is text)",
                problem_mark=node.start_mark,
            )
        return construct(loader, node)

    return guarded


_Loader.add_constructor("tag:yaml.org,2002:int", _number(yaml.SafeLoader.construct_yaml_int))
_Loader.add_constructor("tag:yaml.org,2002:float", _number(yaml.SafeLoader.construct_yaml_float))


_Loader.yaml_implicit_resolvers = {
    # timestamps too: msgspec converts the string later and locates an impossible date
    first: [
        (tag, rx) for tag, rx in resolvers if not tag.endswith((":int", ":float", ":timestamp"))
    ]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
for _tag, _rx, _first in (
    (
        "tag:yaml.org,2002:int",
        r"^(?:[-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)"
        r"|[-+]?0x[0-9a-fA-F_]+)$",
        list("-+0123456789"),
    ),
    (
        "tag:yaml.org,2002:float",
        r"^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?"
        r"|\.[0-9_]+(?:[eE][-+][0-9]+)?|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$",
        list("-+0123456789."),
    ),
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

    def locate_key(self, path: str) -> tuple[int | None, int | None]:
        """(line, column) of the *key* of the last step of ``path`` when it is a mapping key
        that exists; otherwise the same as ``locate``."""
        steps = list(_steps(path))
        if not steps or not isinstance(steps[-1], str):
            return self.locate(path)
        parent = self.root
        for step in steps[:-1]:
            parent = _child(parent, step) if parent is not None else None
        key = _key(parent, steps[-1]) if parent is not None else None
        if key is None:
            return self.locate(path)
        return key.start_mark.line + 1, key.start_mark.column + 1

    def problem(self, path: str, message: str) -> Problem:
        line, column = self.locate(path)
        return Problem(self.file, line, column, path, message)

    def problem_at_key(self, path: str, message: str) -> Problem:
        """A problem about a mapping key itself (unknown key, bad zone name...)."""
        line, column = self.locate_key(path)
        return Problem(self.file, line, column, path, message)


def parse(
    path: Path | str, text: str | None = None, *, limits: YamlLimits = DEFAULT_LIMITS
) -> YamlDoc:
    """Parse one YAML file within ``limits``; syntax errors, duplicate keys and files over a
    limit raise ContractError with position."""
    file = str(path)
    if text is None:
        text = _read(Path(path), limits)
    _check_size(file, text, limits)
    line: int | None  # None when the error carries no position
    col: int | None
    try:
        loader = _Loader(text, limits)
    except yaml.reader.ReaderError as exc:  # a control character: PyYAML refuses the text
        line, col = _position(text, exc.position)
        raise ContractError(
            [Problem(file, line, col, "$", f"YAML: character #x{exc.character:04x} not allowed")]
        ) from exc
    try:
        root = loader.get_single_node()
        problems = list(_duplicate_keys(file, root, "$"))
        if problems:
            raise ContractError(problems)
        data = loader.construct_document(root) if root is not None else None
    except LimitExceeded as exc:
        mark = exc.problem_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (None, None)
        raise ContractError([Problem(file, line, col, "$", f"YAML: {exc.problem}")]) from None
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


def _read(path: Path, limits: YamlLimits) -> str:
    """The file's text; one far over the size limit is not read at all."""
    file = str(path)
    try:
        size = path.stat().st_size
        if size > limits.max_bytes:
            raise ContractError([_too_big(file, 1, 1, size, limits)])
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ContractError([Problem(file, None, None, "$", f"cannot read: {exc}")]) from exc


def _check_size(file: str, text: str, limits: YamlLimits) -> None:
    """ContractError located at the first character past ``limits.max_bytes``."""
    if len(text) * 4 <= limits.max_bytes:  # UTF-8 takes at most 4 bytes a character
        return
    encoded = text.encode("utf-8", errors="surrogatepass")
    if len(encoded) <= limits.max_bytes:
        return
    within = len(encoded[: limits.max_bytes].decode("utf-8", errors="ignore"))
    line, col = _position(text, within)
    raise ContractError([_too_big(file, line, col, len(encoded), limits)])


def _too_big(file: str, line: int, col: int, size: int, limits: YamlLimits) -> Problem:
    return Problem(
        file,
        line,
        col,
        "$",
        f"YAML: the file has {size:,} bytes; at most {limits.max_bytes:,} are read "
        "(CASETRACK_YAML_MAX_BYTES)",
    )


_WHOLE = object()  # "convert the whole document" (None is a legitimate YAML value)


def _position(text: str, offset: int) -> tuple[int, int]:
    """1-based line and column of a character offset."""
    line = text.count("\n", 0, offset) + 1
    return line, offset - (text.rfind("\n", 0, offset) + 1) + 1


def convert(doc: YamlDoc, type_: type[T], *, path: str = "$", data: Any = _WHOLE) -> T:
    """msgspec-convert ``doc.data`` (or ``data`` found at ``path``) to ``type_``.

    A validation error becomes a ContractError located at the offending node.
    """
    value = doc.data if data is _WHOLE else data
    try:
        return msgspec.convert(value, type_, strict=False)
    except msgspec.ValidationError as exc:
        raise ContractError([validation_problem(doc, exc, base=path, type_=type_)]) from exc


_AT = re.compile(r" - at `(\$[^`]*)`$")
_AT_KEY = re.compile(r" - at `key` in `(\$[^`]*)`$")
_UNKNOWN = re.compile(r"^Object contains unknown field `([^`]+)`$")
_ELLIPSIS = "[...]"


def validation_problem(
    doc: YamlDoc, exc: msgspec.ValidationError, base: str = "$", type_: Any = None
) -> Problem:
    """Translate msgspec's "Expected X, got Y - at `$.a[0]`" into a located Problem.

    With ``type_`` (the type that was converted), msgspec's ``[...]`` (some mapping value)
    and ``key in $.x`` (some mapping key) are narrowed down to the offending entry, and
    pattern / enum mismatches say what was expected in words.
    """
    text = str(exc)
    value = _data_at(doc.data, base)
    key_match = _AT_KEY.search(text)
    match = key_match or _AT.search(text)
    rel = match.group(1) if match else "$"
    message = text[: match.start()] if match else text
    at_key = False
    if type_ is not None:
        rel = _pinpoint(value, type_, rel)
        if key_match:
            mapping_type = _type_at(type_, rel)
            bad_key = _bad_key(_data_at(value, rel), mapping_type)
            if bad_key is not None:
                rel, at_key = f"{rel}.{bad_key}", True
                message = _explain(message, bad_key, _dict_key_type(mapping_type))
        else:
            message = _explain(message, _data_at(value, rel), _type_at(type_, rel))
    full = base + rel[1:]
    unknown = _UNKNOWN.match(message)
    if unknown:
        # point at the unknown key itself, not at the mapping that holds it
        full = f"{full}.{unknown.group(1)}"
        known = _known_keys(_type_at(type_, rel)) if type_ is not None else []
        message = f"unknown key {unknown.group(1)!r}"
        if known:
            message += f" (expected one of: {', '.join(known)})"
        at_key = True
    if at_key:
        return doc.problem_at_key(full, _friendly(message))
    return doc.problem(full, _friendly(message))


def _friendly(message: str) -> str:
    message = message.replace("Object missing required field", "missing required key")
    message = message.replace(
        "Invalid RFC3339 encoded date", "not a valid date: expected an existing day as YYYY-MM-DD"
    )
    return message.replace("Expected `", "expected `")


# --- narrowing msgspec's paths with the Python types -------------------------------------------

_MISSING = object()


def _strip(tp: Any) -> tuple[Any, tuple[Any, ...]]:
    """(bare type, Annotated metadata) of ``tp``."""
    if get_origin(tp) is Annotated:
        bare, *meta = get_args(tp)
        inner, more = _strip(bare)
        return inner, (*meta, *more)
    return tp, ()


def _candidates(tp: Any) -> list[Any]:
    """The alternatives of a union (``Target | list[Target]``), else just the type."""
    bare, _ = _strip(tp)
    if get_origin(bare) in (Union, UnionType):
        return [arg for arg in get_args(bare) if arg is not type(None)]
    return [bare]


def _step_type(tp: Any, step: str | int) -> Any:
    """The type of ``step`` inside a value of type ``tp``, or None when unknown."""
    for candidate in _candidates(tp):
        bare, _ = _strip(candidate)
        origin = get_origin(bare)
        if isinstance(step, int) and origin in (list, tuple):
            return get_args(bare)[0]
        if isinstance(step, str) and origin is dict:
            return get_args(bare)[1]
        if isinstance(step, str) and isinstance(bare, type) and issubclass(bare, msgspec.Struct):
            for info in msgspec.structs.fields(bare):
                if info.encode_name == step:
                    return info.type
    return None


def _type_at(tp: Any, path: str) -> Any:
    for step in _steps(path):
        if tp is None:
            return None
        tp = _step_type(tp, step)
    return tp


def _data_at(data: Any, path: str) -> Any:
    for step in _steps(path):
        in_list = isinstance(step, int) and isinstance(data, list) and 0 <= step < len(data)
        if in_list or (isinstance(data, dict) and step in data):
            data = data[step]
        else:
            return _MISSING
    return data


def _pinpoint(data: Any, tp: Any, rel: str) -> str:
    """Replace each ``[...]`` in msgspec's path by the key whose value fails to convert."""
    head, ellipsis, _rest = rel.partition(_ELLIPSIS)
    if not ellipsis:
        return rel
    mapping = _data_at(data, head)
    value_type = _dict_value_type(_type_at(tp, head))
    if not isinstance(mapping, dict) or value_type is None:
        return head
    for key, item in mapping.items():
        try:
            msgspec.convert(item, value_type, strict=False)
        except msgspec.ValidationError as exc:
            # msgspec stops at the first bad entry, so this is the error we were given
            inner = _AT_KEY.search(str(exc)) or _AT.search(str(exc))
            sub = _pinpoint(item, value_type, inner.group(1) if inner else "$")
            return f"{head}.{key}{sub[1:]}"
    return head


def _dict_value_type(tp: Any) -> Any:
    for candidate in _candidates(tp) if tp is not None else []:
        bare, _ = _strip(candidate)
        if get_origin(bare) is dict:
            return get_args(bare)[1]
    return None


def _dict_key_type(tp: Any) -> Any:
    for candidate in _candidates(tp) if tp is not None else []:
        bare, _ = _strip(candidate)
        if get_origin(bare) is dict:
            return get_args(bare)[0]
    return None


def _bad_key(mapping: Any, tp: Any) -> str | None:
    key_type = _dict_key_type(tp)
    if not isinstance(mapping, dict) or key_type is None:
        return None
    for key in mapping:
        try:
            msgspec.convert(key, key_type, strict=False)
        except msgspec.ValidationError:
            return str(key)
    return None


def _known_keys(tp: Any) -> list[str]:
    for candidate in _candidates(tp) if tp is not None else []:
        bare, _ = _strip(candidate)
        if isinstance(bare, type) and issubclass(bare, msgspec.Struct):
            return [info.encode_name for info in msgspec.structs.fields(bare)]
    return []


def _explain(message: str, value: Any, tp: Any) -> str:
    """Say in words what a pattern or a fixed set of values expected, and what it got."""
    if tp is None or value is _MISSING:
        return message
    bare, meta = _strip(tp)
    got = f"got {value!r}"
    if message.startswith("Invalid enum value") and get_origin(bare) is Literal:
        return f"expected one of {', '.join(map(str, get_args(bare)))}; {got}"
    if "matching regex" in message:
        # an optional pattern (``DurationText | None``) carries its words on the member
        metas = [*meta, *(m for c in _candidates(tp) for m in _strip(c)[1])]
        for item in metas:
            description = getattr(item, "description", None)
            if description:
                examples = [str(e) for e in getattr(item, "examples", None) or []]
                hint = ""
                if examples and examples[0] not in description:
                    hint = f" (e.g. {', '.join(examples)})"
                return f"expected {description.rstrip('.')}{hint}; {got}"
    return message


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


def _key(node: yaml.Node, step: str) -> yaml.Node | None:
    if isinstance(node, yaml.MappingNode):
        for key, _value in node.value:
            if isinstance(key, yaml.ScalarNode) and key.value == step:
                return key
    return None


def key_node(doc: YamlDoc, path: str) -> tuple[int | None, int | None]:
    """Position of the *key* of the last step in ``path`` (for unknown / duplicate keys)."""
    return doc.locate_key(path)


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
