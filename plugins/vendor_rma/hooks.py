"""Registers the built-in RMA channels ``digital_china`` and ``cisco_tac`` (descriptors only).

Contracts name a channel per covered device; naming one that no plugin registered is an error
when the contract loads. The clients (Digital China's structured e-mail/web form, Cisco's
support API with OAuth2 client credentials) and the RMA status events come with their own
issue; until then these descriptors make no network calls.
"""

from __future__ import annotations

from collections.abc import Callable

from core import hookimpl
from plugins.vendor_rma.channels import BUILTIN_CHANNELS


@hookimpl
def register_rma_channels(register: Callable[..., None]) -> None:
    """``register(name, RmaChannel)`` for each built-in channel."""
    for channel in BUILTIN_CHANNELS:
        register(channel.name, channel)
