"""What a rejected request should have said, read from the types it was decoded into.

msgspec stops at the first error and names an enum's bad value without the good ones. These
helpers walk the target type (``msgspec.inspect``) to add what a first-time caller needs: the
allowed values at a JSON path, and every required field missing from a body at once.
"""

from __future__ import annotations

import contextlib
import re
from typing import Any

import msgspec
from msgspec import inspect as mi

MAX_MISSING = 50  # a body missing more than this many fields is reported by its first 50 (ours)
_SEGMENT = re.compile(r"\.([^.\[]+)|\[(\d+)\]")


def info(annotation: Any) -> mi.Type | None:
    """``annotation`` as msgspec sees it, or None for a type msgspec cannot describe."""
    try:
        return mi.type_info(annotation)
    except (TypeError, ValueError):
        return None


def choices(node: mi.Type | None) -> list[str] | None:
    """The allowed values of the enum or literal inside ``node`` (through optional, list and
    metadata wrappers), or None when it holds none."""
    if isinstance(node, mi.Metadata):
        return choices(node.type)
    if isinstance(node, mi.EnumType):
        return [str(member.value) for member in node.cls]
    if isinstance(node, mi.LiteralType):
        return [str(value) for value in node.values]
    if isinstance(node, (mi.ListType, mi.SetType, mi.FrozenSetType, mi.VarTupleType)):
        return choices(node.item_type)
    if isinstance(node, mi.UnionType):
        for member in node.types:
            found = choices(member)
            if found is not None:
                return found
    return None


def at_path(node: mi.Type | None, path: str) -> mi.Type | None:
    """The type at a msgspec JSON path (``$.caller.name``, ``$.items[0].kind``) of ``node``."""
    for name, index in _SEGMENT.findall(path.removeprefix("$")):
        node = _child(node, name or None, index or None)
        if node is None:
            return None
    return node


def _child(node: mi.Type | None, name: str | None, index: str | None) -> mi.Type | None:
    if isinstance(node, mi.Metadata):
        return _child(node.type, name, index)
    if isinstance(node, mi.UnionType):
        found = [_child(member, name, index) for member in node.types]
        return next((f for f in found if f is not None), None)
    if name is not None and isinstance(node, mi.StructType):
        return next((f.type for f in node.fields if f.encode_name == name), None)
    if name is not None and isinstance(node, mi.DictType):
        return node.value_type
    if index is not None and isinstance(node, (mi.ListType, mi.VarTupleType)):
        return node.item_type
    return None


def with_choices(message: str, root: mi.Type | None, path: str) -> str:
    """msgspec's "Invalid enum value 'x'" with the allowed values at ``path`` appended."""
    if not message.startswith("Invalid enum value"):
        return message
    allowed = choices(at_path(root, path))
    return f"{message}; expected one of: {', '.join(allowed)}" if allowed else message


def missing_fields(body: bytes, data_type: Any) -> list[str]:
    """Every required field missing from ``body`` (top level and nested structs), worded as
    msgspec words its own first one, so both read and parse alike. Empty when the body is not
    JSON or holds no struct."""
    try:
        raw = msgspec.json.decode(body)
    except (msgspec.DecodeError, RecursionError):
        return []
    found: list[str] = []
    with contextlib.suppress(RecursionError):  # nested deeper than the stack: what was found
        _walk(info(data_type), raw, "$", found)
    return found[:MAX_MISSING]


def _walk(node: mi.Type | None, raw: Any, path: str, found: list[str]) -> None:
    if len(found) >= MAX_MISSING:
        return
    if isinstance(node, mi.Metadata):
        _walk(node.type, raw, path, found)
    elif isinstance(node, mi.UnionType):
        structs = [t for t in node.types if isinstance(_bare(t), mi.StructType)]
        if len(structs) == 1:  # one struct, e.g. `Caller | None`: never guess between two
            _walk(structs[0], raw, path, found)
    elif isinstance(node, mi.StructType) and isinstance(raw, dict) and not node.array_like:
        for field in node.fields:
            if field.encode_name in raw:
                _walk(field.type, raw[field.encode_name], f"{path}.{field.encode_name}", found)
            elif field.required and field.encode_name != node.tag_field:
                where = "" if path == "$" else f" - at `{path}`"
                found.append(f"Object missing required field `{field.encode_name}`{where}")
    elif isinstance(node, (mi.ListType, mi.VarTupleType)) and isinstance(raw, list):
        for i, item in enumerate(raw):
            _walk(node.item_type, item, f"{path}[{i}]", found)


def _bare(node: mi.Type) -> mi.Type:
    return _bare(node.type) if isinstance(node, mi.Metadata) else node
