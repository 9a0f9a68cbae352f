"""The web pages (issue 14): server-rendered, on the API's litestar app (docs/web.md)."""
