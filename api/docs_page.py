"""The API docs page (`/schema`, `/schema/swagger`) with every asset served from the package.

litestar's render plugins load Swagger UI (and Scalar, and their favicon) from public CDNs, so
behind a firewall or in mainland China the page is blank. Here Swagger UI is vendored under
``api/static/swagger/`` (see its README) and served at ``ASSETS``; the page names only those
URLs, so it renders with no network beyond this server.
"""

from __future__ import annotations

from pathlib import Path

from litestar.openapi.plugins import SwaggerRenderPlugin
from litestar.router import Router
from litestar.static_files import create_static_files_router

SWAGGER_VERSION = "5.18.2"
ASSETS = "/schema-assets"
_FOLDER = Path(__file__).parent / "static"


def docs_plugins() -> list[SwaggerRenderPlugin]:
    """Swagger UI at `/schema` (the default page) and `/schema/swagger`, from local assets."""
    base = f"{ASSETS}/swagger"
    return [
        SwaggerRenderPlugin(
            version=SWAGGER_VERSION,
            js_url=f"{base}/swagger-ui-bundle.js",
            css_url=f"{base}/swagger-ui.css",
            standalone_preset_js_url=f"{base}/swagger-ui-standalone-preset.js",
            favicon=f"<link rel='icon' type='image/png' href='{base}/favicon-32x32.png'>",
            path=["/", "/swagger"],
        )
    ]


def docs_assets() -> Router:
    """The vendored files, cached for a day (their names carry no version: a release changes
    SWAGGER_VERSION and the files together)."""
    return create_static_files_router(
        path=ASSETS,
        directories=[_FOLDER],
        include_in_schema=False,
        cache_control=None,
        name="docs-assets",
    )
