"""The HTTP layer: litestar controllers over the core's case desk (core imports none of it)."""
