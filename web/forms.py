"""Reading a posted form: text fields only, and a ``next`` that stays on this site."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Request
from litestar.params import QueryParameter

# ``?next=/path``: where to go afterwards (checked by ``local_path``)
NextParam = Annotated[str | None, QueryParameter(max_length=2000)]


async def form_fields(request: Request[Any, Any, Any]) -> dict[str, str]:
    """The form's text fields (a file field or a repeated name: its first text value)."""
    form = await request.form()
    fields: dict[str, str] = {}
    for key, value in form.multi_items():
        if isinstance(value, str) and key not in fields:
            fields[key] = value
    return fields


def local_path(target: str | None, default: str = "/") -> str:
    """``target`` when it is a path on this site (``/console``), else ``default``: a sign-in
    link cannot send the browser elsewhere (``//evil.example``, ``https://...``)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    return target
