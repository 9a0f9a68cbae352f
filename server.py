"""The litestar application: ``create_app(settings)`` wires the API over the core runtime."""

from __future__ import annotations

import os
from typing import Any

from litestar import Litestar
from litestar.datastructures import State
from litestar.openapi import OpenAPIConfig
from litestar.routes import HTTPRoute

from api.auth import PrincipalCache
from api.decoding import StrictRequest
from api.deps import DEPENDENCIES
from api.docs_page import docs_assets, docs_plugins
from api.health import healthz, metrics, readyz
from api.metrics import HttpMetrics, metrics_middleware, process_ended
from api.onsite import attachment_route
from api.problems import EXCEPTION_HANDLERS
from api.request_ids import request_id_middleware
from api.routes import API_ROUTES
from core.runtime import Runtime, build_runtime
from core.settings import Settings
from core.sources.settings_file import load_settings
from core.store.migrate import upgrade
from web.routes import web_routers

MAX_BODY = 1_000_000  # bytes; a larger request body is answered with 413


def create_app(
    settings: Settings | None = None, *, runtime: Runtime | None = None, migrate: bool = False
) -> Litestar:
    """The API over a runtime built from ``settings`` (default: the settings file and the
    environment, core/sources/settings_file.py)."""
    settings = settings or load_settings(os.environ)
    runtime = runtime or build_runtime(settings)
    if migrate:
        upgrade(runtime.engine)
    http_metrics = HttpMetrics()
    allow = AllowHeader()
    app = Litestar(
        route_handlers=[
            healthz,
            readyz,
            metrics,
            *API_ROUTES,
            attachment_route(runtime.settings.attachment_max_bytes),
            *web_routers(),  # the pages: docs/web.md
            docs_assets(),
        ],
        exception_handlers=EXCEPTION_HANDLERS,
        dependencies=DEPENDENCIES,  # runtime, principal, session: api/deps.py
        openapi_config=_openapi(),
        state=State(
            {
                "runtime": runtime,
                "metrics": http_metrics,
                "principals": PrincipalCache(settings.token_cache_seconds),
            }
        ),
        middleware=[metrics_middleware(http_metrics)],
        before_send=[allow],
        request_max_body_size=MAX_BODY,
        request_class=StrictRequest,  # bodies decoded strictly, as the OpenAPI says
        on_shutdown=[runtime.close, process_ended],
        debug=False,
        logging_config=None,  # the process's logging is set up by its command (cli/logs.py)
    )
    allow.learn(app)
    # outermost, around litestar's router: 404s of unknown paths carry the id too
    app.asgi_handler = request_id_middleware(app.asgi_handler)
    return app


class AllowHeader:
    """``OPTIONS`` names every method of its path in ``Allow``.

    litestar 2.25 builds a path's OPTIONS handler with the route of the first handlers
    registered on the path; a controller's ``@post("/")`` and ``@get("/")`` then answer
    ``Allow: GET, OPTIONS`` without POST. This hook rewrites the header from the final routes.
    """

    def __init__(self) -> None:
        self._methods: dict[int, bytes] = {}  # id(OPTIONS handler) -> "GET, OPTIONS, POST"

    def learn(self, app: Litestar) -> None:
        for route in app.routes:
            if isinstance(route, HTTPRoute):
                allowed = ", ".join(sorted(route.methods)).encode("ascii")
                for handler in route.route_handlers:
                    if "OPTIONS" in handler.http_methods:
                        self._methods[id(handler)] = allowed

    async def __call__(self, message: Any, scope: Any) -> None:
        if message["type"] != "http.response.start" or scope.get("method") != "OPTIONS":
            return
        allowed = self._methods.get(id(scope.get("route_handler")))
        headers = list(message.get("headers", []))
        if allowed is None or not any(k.lower() == b"allow" for k, _ in headers):
            return  # not the OPTIONS handler's answer (a 401 from the guard, say)
        message["headers"] = [(k, v) for k, v in headers if k.lower() != b"allow"]
        message["headers"].append((b"allow", allowed))


def _openapi() -> OpenAPIConfig:
    return OpenAPIConfig(
        title="casetrack",
        version="1",
        description="Cases, SLA clocks and contracts of an IT service desk. Authenticate with "
        "`Authorization: Bearer ct_...` (tokens come from `casetrack tokens create`). Errors "
        "are RFC 9457 problem details.",
        path="/schema",
        use_handler_docstrings=True,
        render_plugins=docs_plugins(),  # vendored Swagger UI, no CDN: api/docs_page.py
    )
