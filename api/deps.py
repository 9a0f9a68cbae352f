"""What handlers may ask for by name (litestar dependency injection): ``runtime``, ``principal``
and ``session``. The app registers ``DEPENDENCIES``; a handler declares the parameter with its
type below (``runtime: RuntimeDep``): named, and not validated (they are ours, not input)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any, TypeAlias

from litestar import Request
from litestar.concurrency import sync_to_thread
from litestar.connection import ASGIConnection
from litestar.datastructures import State
from litestar.di import NamedDependency, Provide
from litestar.params import SkipValidation
from sqlalchemy.orm import Session

from core.runtime import Runtime
from core.store.tokens import Principal

RuntimeDep: TypeAlias = NamedDependency[SkipValidation[Runtime]]
PrincipalDep: TypeAlias = NamedDependency[SkipValidation[Principal]]
SessionDep: TypeAlias = NamedDependency[SkipValidation[Session]]


def runtime_of(connection: ASGIConnection[Any, Any, Any, Any]) -> Runtime:
    """The app's runtime, for guards (dependencies are not injected into guards)."""
    return connection.app.state.runtime


def provide_runtime(state: State) -> Runtime:
    """The runtime the app was built over."""
    return state.runtime


def provide_principal(request: Request[Any, Any, Any]) -> Principal:
    """The caller, as resolved by the ``authenticated`` guard."""
    return request.state.principal


async def provide_session(runtime: RuntimeDep) -> AsyncIterator[Session]:
    """A read session for one request, closed after the response is built.

    It connects on first use (in the handler's thread); closing returns the connection to the
    pool, off the event loop, since a connection lost under us may take a while to give up.
    """
    session = runtime.sessions()
    try:
        yield session
    finally:
        await sync_to_thread(session.close)


DEPENDENCIES = {
    "runtime": Provide(provide_runtime, sync_to_thread=False),
    "principal": Provide(provide_principal, sync_to_thread=False),
    "session": Provide(provide_session),
}
