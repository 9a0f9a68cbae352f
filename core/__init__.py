"""casetrack core: case, contract and clock primitives (no web framework, no queue)."""

from core.hookspecs import hookimpl

__all__ = ["hookimpl"]
