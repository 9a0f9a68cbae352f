"""Strict JSON bodies: decoded once, straight into the handler's Struct, as the OpenAPI says.

litestar decodes a JSON body into plain Python objects and then converts them with msgspec's
``strict=False``, which accepts ``"emergency": "true"`` and ``"expected_version": "1"`` and
turns the number 0 into a 1970 datetime. ``StrictRequest`` decodes the body with the handler's
``data`` type and ``strict=True`` instead; litestar passes the decoded Struct through. Bodies
nested deeper than the decoder's stack allows are refused as 400, not a 500.
"""

from __future__ import annotations

import re
from typing import Any

import msgspec
from litestar import Request
from litestar.exceptions import ValidationException
from litestar.types import Empty

from api import explain

_PATH = re.compile(r" - at `(\$[^`]*)`$")


class StrictRequest(Request[Any, Any, Any]):
    """A request whose ``json()`` is the body decoded strictly into the handler's data type."""

    async def json(self) -> Any:
        if self._json is Empty:
            if self._connection_state.json is not Empty:
                self._json = self._connection_state.json
            else:
                body = await self.body()
                self._json = self._connection_state.json = decode_body(
                    body or b"null", self._data_type()
                )
        return self._json

    def _data_type(self) -> Any:
        field = self.route_handler.parsed_data_field
        return Any if field is None else field.annotation


def decode_body(body: bytes, data_type: Any) -> Any:
    """``body`` as ``data_type`` (strict), or a 400 naming the field path at fault."""
    try:
        return msgspec.json.decode(body, type=data_type, strict=True)
    except msgspec.ValidationError as exc:
        raise ValidationException(
            detail="invalid request",
            extra=[{"message": m} for m in complaints(exc, body, data_type)],
        ) from None
    except msgspec.DecodeError as exc:
        raise ValidationException(
            detail="invalid JSON", extra=[{"message": f"invalid JSON: {exc}"}]
        ) from None
    except RecursionError:
        # msgspec checks the interpreter's recursion limit while it descends; the depth it
        # reaches depends on the stack already in use, about 900 levels in a server thread
        raise ValidationException(
            detail="invalid JSON", extra=[{"message": "JSON nested too deeply"}]
        ) from None


def complaints(exc: msgspec.ValidationError, body: bytes, data_type: Any) -> list[str]:
    """msgspec's one complaint, an enum's allowed values added, then every other required
    field missing from the body: a caller fixes the body in one round, not one per field."""
    first = str(exc)
    match = _PATH.search(first)
    path = match.group(1) if match else "$"
    head = first[: match.start()] if match else first
    tail = first[match.start() :] if match else ""
    shown = explain.with_choices(head, explain.info(data_type), path) + tail
    missing = [m for m in explain.missing_fields(body, data_type) if m != first]
    return [shown, *missing]
